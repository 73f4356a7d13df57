//! `send` → `recv` through real sockets and files: every method pageflate sends, 1, 2 and
//! 4 channels, TCP, Unix sockets and channel files; the received RAM must equal the image
//! bit for bit, and both ends must count the same packets and pages. Also: every real QEMU
//! capture replayed into `recv` from its files gives the snapshot's RAM.

mod common;

use pageflate::core::deflate::Level;
use pageflate::core::multifd::Method;
use pageflate::demo::generate_image;
use pageflate::multifd::{loopback, receive, send, RecvOptions, SendOptions};
use pageflate::ram::{Backing, SourceBlock, SourceRam};
use pageflate::transport::{Endpoint, Listener};
use std::path::PathBuf;
use std::sync::Arc;

use common::shared;

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn image(bytes: usize) -> SourceRam {
    let blocks = vec![
        SourceBlock {
            name: "pc.ram".into(),
            data: Arc::new(generate_image(bytes)),
        },
        // A second, small block as QEMU has (ROMs, ACPI tables).
        SourceBlock {
            name: "/rom@etc/acpi/tables".into(),
            data: Arc::new(generate_image(128 << 10)),
        },
    ];
    SourceRam::from_blocks(4096, blocks).unwrap()
}

fn check_round_trip(ram: &SourceRam, at: &Endpoint, opts: &SendOptions) {
    let (sent, mut got) = loopback(ram, at, opts, &RecvOptions::default(), &|_| {})
        .unwrap_or_else(|e| panic!("{} × {}: {e}", opts.method.name(), opts.channels));
    let what = format!("{} × {} over {at}", opts.method.name(), opts.channels);
    for (i, block) in ram.blocks.iter().enumerate() {
        assert!(
            got.ram.block_bytes(i) == block.bytes(),
            "{what}: block {} differs",
            block.name
        );
    }
    assert_eq!(sent.channels.len(), opts.channels, "{what}");
    assert_eq!(got.report.channels.len(), opts.channels, "{what}");
    for (s, r) in sent.channels.iter().zip(&got.report.channels) {
        assert_eq!(s, r, "{what}: sender and receiver counters differ");
    }
    let pages: u64 = sent
        .channels
        .iter()
        .map(|c| c.normal_pages + c.zero_pages)
        .sum();
    assert_eq!(pages * 4096, ram.total_bytes(), "{what}");
    assert_eq!(got.report.method, Some(opts.method), "{what}");
}

#[test]
fn every_method_and_channel_count_round_trips_over_tcp() {
    let ram = image(8 << 20);
    for method in [Method::None, Method::Qpl, Method::Zlib] {
        for channels in [1, 2, 4] {
            let opts = SendOptions {
                channels,
                method,
                ..SendOptions::default()
            };
            check_round_trip(&ram, &Endpoint::Tcp("127.0.0.1:0".into()), &opts);
        }
    }
}

#[test]
fn dense_level_over_a_unix_socket_round_trips() {
    let ram = image(4 << 20);
    let sock = tmp("unix").join("recv.sock");
    for method in [Method::Qpl, Method::Zlib] {
        let opts = SendOptions {
            channels: 2,
            method,
            level: Level::Dense,
            ..SendOptions::default()
        };
        check_round_trip(&ram, &Endpoint::Unix(sock.clone()), &opts);
    }
}

#[test]
fn the_corpus_round_trips_and_the_recording_is_a_capture() {
    let ram = common::corpus(4096);
    let record = tmp("corpus-record");
    let opts = SendOptions {
        channels: 2,
        method: Method::Qpl,
        record: Some(record.clone()),
        ..SendOptions::default()
    };
    check_round_trip(&ram, &Endpoint::Tcp("127.0.0.1:0".into()), &opts);
    // The sender's recording opens as a capture and rebuilds the same RAM.
    let files: Vec<Vec<u8>> = (0..3)
        .map(|k| std::fs::read(record.join(format!("conn-{k}.bin"))).unwrap())
        .collect();
    let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
    let capture = pageflate::core::capture::Capture::open(&refs, 4096).expect("capture");
    let rebuilt = capture.reconstruct_ram(1 << 30).unwrap();
    assert_eq!(rebuilt.len(), 1);
    assert!(
        rebuilt[0].1 == ram.blocks[0].bytes(),
        "replayed capture differs"
    );
}

#[test]
fn channel_files_round_trip_and_block_directories_send() {
    // send to file:DIR, then recv from file:DIR into an output directory…
    let ram = image(2 << 20);
    let files = tmp("files");
    let opts = SendOptions {
        channels: 2,
        method: Method::Zlib,
        ..SendOptions::default()
    };
    send(&ram, &Endpoint::Dir(files.clone()), &opts, &|_| {}).expect("send to files");
    let out = tmp("files-out");
    let recv_opts = RecvOptions {
        channels: Some(2),
        backing: Backing::Dir(out.clone()),
        ..RecvOptions::default()
    };
    let listener = Listener::bind(&Endpoint::Dir(files)).unwrap();
    let got = receive(listener, &recv_opts, &|_| {}).expect("recv from files");
    assert_eq!(got.report.blocks.len(), 2);
    // …whose block files are an image directory `send` accepts again.
    let again = SourceRam::open(&out, 4096).expect("open the received directory");
    for b in &ram.blocks {
        let safe = pageflate::inspect::file_safe(&b.name);
        let r = again
            .blocks
            .iter()
            .find(|x| x.name == safe)
            .expect("block file");
        assert!(r.bytes() == b.bytes(), "block {} differs", b.name);
    }
}

#[test]
fn every_qemu_capture_replays_into_recv() {
    let vga = 0xA0000..0xC0000;
    for name in [
        "none-2ch",
        "zlib-2ch",
        "zstd-2ch",
        "qpl-2ch",
        "qpl-2ch-live",
        "plain-exec",
    ] {
        let dir = shared().join("captures").join(name);
        let out = tmp(&format!("replay-{name}"));
        let opts = RecvOptions {
            backing: Backing::Dir(out.clone()),
            ..RecvOptions::default()
        };
        let listener = Listener::bind(&Endpoint::Dir(dir.clone())).unwrap();
        let got = receive(listener, &opts, &|_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected =
            zstd::stream::decode_all(std::fs::File::open(dir.join("ram.bin.zst")).unwrap())
                .unwrap();
        let ram = std::fs::read(out.join("pc.ram.bin")).unwrap();
        let bad: Vec<usize> = expected
            .chunks(4096)
            .zip(ram.chunks(4096))
            .enumerate()
            .filter(|(p, (a, b))| a != b && !vga.contains(&(p * 4096)))
            .map(|(p, _)| p)
            .collect();
        assert!(
            bad.is_empty(),
            "{name}: {} pages differ, first {:?}",
            bad.len(),
            bad.first()
        );
        assert!(got.report.device_sections > 10, "{name}");
        assert!(out.join("vmdesc.json").is_file(), "{name}");
    }
}

/// Guest memory the test changes between rounds, as a VMM's guest does while it runs.
struct GuestMemory(std::cell::UnsafeCell<Vec<u8>>);

// SAFETY (test only): the memory is written only between `Session::sync` calls, when no
// channel thread reads it.
unsafe impl Sync for GuestMemory {}

impl AsRef<[u8]> for GuestMemory {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see the `Sync` impl.
        unsafe { &*self.0.get() }
    }
}

#[test]
fn a_session_sends_rounds_of_dirty_pages_and_the_newest_copy_wins() {
    let mem = Arc::new(GuestMemory(std::cell::UnsafeCell::new(generate_image(
        4 << 20,
    ))));
    let ram = SourceRam::from_blocks(
        4096,
        vec![SourceBlock {
            name: "pc.ram".into(),
            data: mem.clone(),
        }],
    )
    .unwrap();
    let listener = Listener::bind(&Endpoint::Tcp("127.0.0.1:0".into())).unwrap();
    let to = listener.local_addr();
    let recv_opts = RecvOptions {
        channels: Some(4),
        ..RecvOptions::default()
    };
    let opts = SendOptions {
        channels: 4,
        method: Method::Qpl,
        ..SendOptions::default()
    };
    std::thread::scope(|s| {
        let receiver = s.spawn(|| receive(listener, &recv_opts, &|_| {}));
        let rounds = pageflate::multifd::session(&ram, &to, &opts, &|_| {}, |session| {
            session.send_all()?;
            // Three more rounds: the guest rewrites some pages, they are sent again.
            for round in 1..=3u8 {
                session.sync()?;
                let dirty: Vec<usize> = (0..1024)
                    .filter(|p| p % (3 + round as usize) == 0)
                    .collect();
                // SAFETY: after `sync` no channel reads the memory until the next send.
                let bytes = unsafe { &mut *mem.0.get() };
                for &p in &dirty {
                    bytes[p * 4096..(p + 1) * 4096].fill(round.wrapping_mul(37));
                }
                session.send_pages(0, &dirty)?;
            }
            Ok(3)
        });
        let (rounds, report) = rounds.expect("session");
        assert_eq!(rounds, 3);
        let mut got = receiver.join().unwrap().expect("receive");
        assert!(
            got.ram.block_bytes(0) == (*mem).as_ref(),
            "the destination does not hold the newest copy of every page"
        );
        let syncs: u64 = report.channels.iter().map(|c| c.sync_packets).sum();
        assert_eq!(syncs, 4 * 4, "one SYNC per channel and round");
        assert_eq!(
            got.report
                .channels
                .iter()
                .map(|c| c.sync_packets)
                .sum::<u64>(),
            syncs
        );
    });
}
