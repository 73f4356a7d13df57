//! A fake sender speaks to the real receiver over real TCP sockets and breaks the rules:
//! bad offsets, lengths, counts, unknown blocks, corrupt payloads, truncated packets, a
//! silent channel and a never-ending one. Every time the receiver must return an error
//! that names the channel and byte, write nothing outside the destination RAM, shut the
//! other (well-behaved) channel down, and free its memory.

use pageflate::core::migration::emit;
use pageflate::core::multifd::{ChannelInit, Method, RamHeader};
use pageflate::multifd::{receive, Received, RecvError, RecvOptions};
use pageflate::ram::Backing;
use pageflate::transport::{Endpoint, Listener};
use std::io::Write;
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PS: usize = 4096;
/// The one RAM block every fake migration announces.
const BLOCK_LEN: u64 = 1 << 20;

fn main_stream_head(block_len: u64) -> Vec<u8> {
    let mut m = Vec::new();
    emit::write_header(&mut m);
    emit::write_configuration("pc-q35-10.0", &mut m);
    emit::write_ram_setup(&[("pc.ram", block_len)], &mut m);
    m
}

fn main_stream_tail() -> Vec<u8> {
    let mut m = Vec::new();
    emit::write_ram_flush(&mut m);
    emit::write_ram_end(&mut m);
    emit::write_eof(&mut m);
    m
}

fn init(id: u8) -> Vec<u8> {
    ChannelInit { uuid: [0; 16], id }.to_bytes().to_vec()
}

/// A RAM packet header.
fn header(method: Method, normal: &[u64], zero: &[u64], payload_len: usize, num: u64) -> Vec<u8> {
    let mut h = Vec::new();
    RamHeader {
        method,
        page_size: PS,
        packet_num: num,
        block: "pc.ram",
        normal,
        zero,
        payload_len,
    }
    .write(&mut h);
    h
}

fn sync_packet(num: u64) -> Vec<u8> {
    let mut h = Vec::new();
    pageflate::core::multifd::ChannelWriter::new(
        Method::None,
        PS,
        pageflate::core::deflate::Level::Fast,
    )
    .sync(num, &mut h);
    h
}

/// A well-formed packet of two pages with method none (pages filled with `fill`).
fn good_packet(num: u64, at: u64, fill: u8) -> Vec<u8> {
    let mut p = header(
        Method::None,
        &[at, at.wrapping_add(PS as u64)],
        &[],
        2 * PS,
        num,
    );
    p.extend(std::iter::repeat_n(fill, 2 * PS));
    p
}

/// Tests share the process: most run side by side (read lock), the memory test alone.
static EXCLUSIVE: std::sync::RwLock<()> = std::sync::RwLock::new(());

thread_local! {
    /// Set on the thread that holds [`EXCLUSIVE`] for writing.
    static ALONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A read lock, unless this thread already runs alone.
fn side_by_side() -> Option<std::sync::RwLockReadGuard<'static, ()>> {
    (!ALONE.with(|a| a.get())).then(|| EXCLUSIVE.read().unwrap_or_else(|p| p.into_inner()))
}

fn options() -> RecvOptions {
    RecvOptions {
        channels: Some(2),
        backing: Backing::Memory,
        idle_timeout: Duration::from_secs(2),
        end_grace: Duration::from_secs(1),
        max_ram: 64 << 20,
        ..RecvOptions::default()
    }
}

struct Peer {
    /// Writer threads; each returns whether the receiver closed its connection (a write
    /// failed) rather than the peer finishing on its own.
    writers: Vec<JoinHandle<bool>>,
}

/// Connect a main channel and channels 0 and 1, each writing its bytes; channel 1 is the
/// well-behaved one unless told otherwise, and `endless` channels keep writing packets
/// until the receiver cuts them off.
fn peer(
    to: &Endpoint,
    main: Vec<u8>,
    ch0: Vec<u8>,
    ch1: Vec<u8>,
    keep_open: bool,
    endless_ch0: bool,
) -> Peer {
    let Endpoint::Tcp(addr) = to.clone() else {
        panic!("tcp expected")
    };
    let conn = |bytes: Vec<u8>, endless: bool, addr: String| {
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).expect("connect");
            if s.write_all(&bytes).is_err() {
                return true;
            }
            if endless {
                let mut num = 1000;
                loop {
                    num += 1;
                    if s.write_all(&good_packet(num, 0, 7)).is_err() {
                        return true;
                    }
                }
            }
            if keep_open {
                // Hold the connection until the receiver closes it (or 30 s pass).
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let mut b = [0u8; 1];
                return matches!(std::io::Read::read(&mut s, &mut b), Ok(0) | Err(_));
            }
            false
        })
    };
    Peer {
        writers: vec![
            conn(main, false, addr.clone()),
            conn(ch0, endless_ch0, addr.clone()),
            conn(ch1, false, addr),
        ],
    }
}

/// Zero pages 64 and 65 (no payload, so no method to disagree with), then a SYNC.
fn well_behaved_channel(id: u8) -> Vec<u8> {
    let mut c = init(id);
    c.extend(header(
        Method::None,
        &[],
        &[64 * PS as u64, 65 * PS as u64],
        0,
        1,
    ));
    c.extend(sync_packet(2));
    c
}

/// Run the receiver against the peer; returns its result and how long it took.
fn run(
    main: Vec<u8>,
    ch0: Vec<u8>,
    keep_open: bool,
    endless: bool,
    opts: RecvOptions,
) -> (Result<Received, RecvError>, Duration, Vec<bool>) {
    let _shared = side_by_side();
    let listener = Listener::bind(&Endpoint::Tcp("127.0.0.1:0".into())).unwrap();
    let to = listener.local_addr();
    let peer = peer(&to, main, ch0, well_behaved_channel(1), keep_open, endless);
    let start = Instant::now();
    let r = receive(listener, &opts, &|_| {});
    let took = start.elapsed();
    let closed = peer
        .writers
        .into_iter()
        .map(|w| w.join().unwrap())
        .collect();
    (r, took, closed)
}

/// Expect an error about multifd channel 0 whose text contains `needle`.
fn expect_channel0_error(ch0: Vec<u8>, needle: &str) -> RecvError {
    let mut main = main_stream_head(BLOCK_LEN);
    main.extend(main_stream_tail());
    let (r, took, _) = run(main, ch0, true, false, options());
    let e = r.expect_err("the receiver accepted a hostile channel");
    assert!(
        e.to_string().contains(needle),
        "error {e:?} does not mention {needle:?}"
    );
    assert_eq!(
        e.origin,
        pageflate::multifd::recv::Origin::Channel(0),
        "{e}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    e
}

#[test]
fn offset_beyond_the_block_is_refused() {
    let mut c = init(0);
    c.extend(good_packet(1, BLOCK_LEN, 1)); // first page just past the end
    let e = expect_channel0_error(c, "offset");
    assert!(e.offset.is_some(), "{e}");
}

#[test]
fn huge_offset_that_would_wrap_is_refused() {
    let mut c = init(0);
    c.extend(good_packet(1, u64::MAX - 4095, 1));
    expect_channel0_error(c, "offset");
}

#[test]
fn unaligned_offset_is_refused() {
    let mut c = init(0);
    c.extend(good_packet(1, 100, 1));
    expect_channel0_error(c, "offset");
}

#[test]
fn oversized_payload_length_is_refused_before_reading() {
    let mut c = init(0);
    let mut p = good_packet(1, 0, 1);
    p[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
    c.extend(p);
    let e = expect_channel0_error(c, "next_packet_size");
    assert_eq!(e.offset, Some(64 + 20), "{e}");
}

#[test]
fn page_counts_beyond_the_packet_are_refused() {
    let mut c = init(0);
    let mut p = good_packet(1, 0, 1);
    p[12..16].copy_from_slice(&129u32.to_be_bytes()); // pages_alloc > 128
    c.extend(p);
    expect_channel0_error(c, "pages_alloc");

    let mut c = init(0);
    let mut p = good_packet(1, 0, 1);
    p[16..20].copy_from_slice(&200u32.to_be_bytes()); // normal_pages > pages_alloc
    c.extend(p);
    expect_channel0_error(c, "normal_pages");
}

#[test]
fn payload_shorter_than_its_pages_is_refused() {
    let mut c = init(0);
    let mut p = header(Method::None, &[0, 4096], &[], PS, 1); // 2 pages, 1 page of data
    p.extend(std::iter::repeat_n(1u8, PS));
    c.extend(p);
    expect_channel0_error(c, "payload bytes");
}

#[test]
fn unknown_block_is_refused() {
    let mut c = init(0);
    let mut p = good_packet(1, 0, 1);
    p[64..70].copy_from_slice(b"xx.ram");
    c.extend(p);
    expect_channel0_error(c, "not announced");
}

#[test]
fn corrupt_qpl_page_is_refused_with_its_offset() {
    let mut c = init(0);
    let garbage = [0xffu8; 100];
    let mut p = header(Method::Qpl, &[8192], &[], 4 + garbage.len(), 1);
    p.extend((garbage.len() as u32).to_be_bytes());
    p.extend(garbage);
    c.extend(p);
    expect_channel0_error(c, "offset 0x2000");
}

#[test]
fn corrupt_zlib_stream_is_refused() {
    let mut c = init(0);
    let garbage = [0x78u8, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let mut p = header(Method::Zlib, &[0], &[], garbage.len(), 1);
    p.extend(garbage);
    c.extend(p);
    expect_channel0_error(c, "page at offset 0x0");
}

#[test]
fn truncated_packet_is_refused() {
    let mut c = init(0);
    let p = good_packet(1, 0, 1);
    c.extend(&p[..p.len() - 100]);
    let mut main = main_stream_head(BLOCK_LEN);
    main.extend(main_stream_tail());
    // Channel 0 closes mid-packet.
    let (r, _, _) = run(main, c, false, false, options());
    let e = r.expect_err("accepted a truncated packet");
    assert!(e.to_string().contains("ended"), "{e}");
    assert_eq!(e.origin, pageflate::multifd::recv::Origin::Channel(0));
}

#[test]
fn silent_channel_hits_the_idle_timeout() {
    // Channel 0 sends its init record and then nothing, keeping the socket open; the
    // main stream never ends either.
    let (r, took, closed) = run(main_stream_head(BLOCK_LEN), init(0), true, false, options());
    let e = r.expect_err("a silent peer was waited for forever");
    assert!(
        e.to_string().contains("idle timeout") || e.to_string().contains("SYNC"),
        "{e}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        closed[0] && closed[1],
        "the receiver left connections open: {closed:?}"
    );
}

#[test]
fn never_ending_channel_is_cut_off_after_the_migration_ends() {
    let mut main = main_stream_head(BLOCK_LEN);
    main.extend(main_stream_tail());
    // Idle timeout well above the end grace, so the grace is what ends it whatever the
    // machine's load (channel 1 waits at its SYNC for channel 0 meanwhile).
    let opts = RecvOptions {
        idle_timeout: Duration::from_secs(8),
        ..options()
    };
    let (r, took, closed) = run(main, init(0), false, true, opts);
    let e = r.expect_err("a never-ending channel was read forever");
    assert!(e.to_string().contains("still open"), "{e}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(closed[1], "the endless writer was not cut off");
}

#[test]
fn wrong_magic_duplicate_ids_and_huge_ram_are_refused() {
    // A connection that is neither stream kind.
    let mut main = main_stream_head(BLOCK_LEN);
    main.extend(main_stream_tail());
    let (r, _, _) = run(
        main.clone(),
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        true,
        false,
        options(),
    );
    let e = r.expect_err("accepted an HTTP request as a channel");
    assert!(
        e.to_string().contains("neither a main migration stream"),
        "{e}"
    );

    // Channel id 1 twice (the well-behaved peer is channel 1 as well).
    let (r, _, _) = run(
        main.clone(),
        well_behaved_channel(1),
        true,
        false,
        options(),
    );
    let e = r.expect_err("accepted a channel id twice");
    assert!(e.to_string().contains("connected twice"), "{e}");

    // More RAM than allowed.
    let mut big = main_stream_head(1 << 40);
    big.extend(main_stream_tail());
    let (r, _, _) = run(big, init(0), true, false, options());
    let e = r.expect_err("accepted 1 TiB of RAM");
    assert!(e.to_string().contains("above the limit"), "{e}");
}

#[test]
fn good_pages_land_and_nothing_else_changes() {
    // The control case: the same peer without a fault completes, and only the pages it
    // sent are non-zero.
    let mut main = main_stream_head(BLOCK_LEN);
    main.extend(main_stream_tail());
    let mut c = init(0);
    c.extend(good_packet(1, 200 * PS as u64, 0x55));
    c.extend(sync_packet(3));
    let (r, _, _) = run(main, c, false, false, options());
    let mut got = r.expect("a well-formed migration");
    let ram = got.ram.block_bytes(0).to_vec();
    assert_eq!(ram.len() as u64, BLOCK_LEN);
    // Channel 0 wrote pages 200 and 201 (0x55), everything else is zero.
    for (i, page) in ram.chunks(PS).enumerate() {
        let expect = if i == 200 || i == 201 { 0x55 } else { 0 };
        assert!(page.iter().all(|&b| b == expect), "page {i}");
    }
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn failed_receives_free_their_memory() {
    // Resident memory is process-wide: no other test of this file may run meanwhile.
    let _alone = EXCLUSIVE.write().unwrap_or_else(|p| p.into_inner());
    ALONE.with(|a| a.set(true));
    // 20 failed receives, each announcing (and prefaulting) 32 MiB, must not accumulate.
    let opts = RecvOptions {
        prefault: true,
        ..options()
    };
    let before = resident_bytes();
    for _ in 0..20 {
        let mut main = main_stream_head(32 << 20);
        main.extend(main_stream_tail());
        let mut c = init(0);
        c.extend(good_packet(1, 1 << 40, 1));
        let (r, _, _) = run(main, c, true, false, opts.clone());
        assert!(r.is_err());
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "resident memory grew by {} MiB over 20 failed receives",
        grown >> 20
    );
}
