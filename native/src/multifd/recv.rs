//! The multifd receiver: accepts a main channel and N multifd channels (from pageflate or a
//! real QEMU source), tells them apart by their first four bytes as QEMU does (`QEVM` or
//! the multifd magic), and decompresses every page straight into destination memory.
//!
//! Safety against a hostile peer:
//! - every header is validated before its payload is read, and a payload larger than any
//!   packet can carry is refused before anything is allocated for it (≤ 1 MiB per channel);
//! - pages land only in blocks the main channel announced, at page-aligned offsets inside
//!   them ([`DestRam::with_page`] checks again), and the announced RAM is capped;
//! - a channel that stays silent longer than the idle timeout, waits at a SYNC forever, or
//!   keeps its connection open after the migration ended is an error;
//! - the first error cancels the rest: every socket is shut down, every thread returns,
//!   and all memory is freed before [`receive`] returns that error.

use super::engine::{Engine, PageEngine};
use super::sync::{SyncFailed, SyncPoint};
use super::ChannelStats;
use crate::ram::{Backing, DestRam};
use crate::transport::{Conn, Listener, ShutdownHandle};
use pageflate_core::container::ZlibDecoder;
use pageflate_core::deflate::Level;
use pageflate_core::migration::{self, parse_main_stream, parse_main_stream_partial, MainPageData};
use pageflate_core::multifd::{
    self, header_len, parse_packet, ChannelInit, Method, Packet, QplPages, RamPacket,
    FLAG_DEVICE_STATE, INIT_LEN, PACKET_SIZE_BYTES,
};
use pageflate_core::InflateOptions;
use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How to receive.
#[derive(Debug, Clone)]
pub struct RecvOptions {
    /// Multifd channels to expect (`None`: whatever connects before the main stream ends).
    pub channels: Option<usize>,
    /// Page size of the guest.
    pub page_size: usize,
    /// Where the destination RAM lives.
    pub backing: Backing,
    /// Also write every channel into this directory (`conn-K.bin`, a capture).
    pub record: Option<PathBuf>,
    /// Largest RAM a sender may announce.
    pub max_ram: u64,
    /// A channel silent for this long is an error (also: no sender at all).
    pub idle_timeout: Duration,
    /// How long multifd channels may stay open after the main stream ended.
    pub end_grace: Duration,
    /// Touch destination memory before receiving into it.
    pub prefault: bool,
    /// The page engine for qpl pages (software, or IAA with software fallback).
    pub engine: Engine,
}

impl Default for RecvOptions {
    fn default() -> Self {
        Self {
            channels: None,
            page_size: 4096,
            backing: Backing::Memory,
            record: None,
            max_ram: 64 << 30,
            idle_timeout: Duration::from_secs(60),
            end_grace: Duration::from_secs(10),
            prefault: true,
            engine: Engine::Software,
        }
    }
}

/// Which connection an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The main channel.
    Main,
    /// A multifd channel, by id.
    Channel(u8),
    /// A connection not yet identified (accept order).
    Connection(usize),
    /// The receiver as a whole (timeouts, counts).
    Receiver,
}

/// Why a receive failed: where, at which byte of that channel, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvError {
    /// The connection.
    pub origin: Origin,
    /// Byte offset in that connection's stream, when it is about a byte.
    pub offset: Option<u64>,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Main => write!(f, "main channel")?,
            Origin::Channel(c) => write!(f, "multifd channel {c}")?,
            Origin::Connection(k) => write!(f, "connection {k}")?,
            Origin::Receiver => write!(f, "receiver")?,
        }
        if let Some(o) = self.offset {
            write!(f, ", byte {o}")?;
        }
        write!(f, ": {}", self.what)
    }
}

impl std::error::Error for RecvError {}

fn error(origin: Origin, offset: Option<u64>, what: impl Into<String>) -> RecvError {
    RecvError {
        origin,
        offset,
        what: what.into(),
    }
}

/// What a receive did.
#[derive(Debug, Clone)]
pub struct RecvReport {
    /// The compression method of the RAM packets (`None` before any page arrived).
    pub method: Option<Method>,
    /// RAM blocks (name, bytes) as announced.
    pub blocks: Vec<(String, u64)>,
    /// Per multifd channel, by id.
    pub channels: Vec<ChannelStats>,
    /// Bytes of the main stream.
    pub main_bytes: u64,
    /// Pages carried by the main stream itself (migrations without multifd).
    pub main_pages: u64,
    /// Device-state sections in the main stream.
    pub device_sections: usize,
    /// From the first connection to the end.
    pub elapsed: Duration,
    /// Files written (RAM blocks, device state, VM description).
    pub files: Vec<PathBuf>,
}

/// A finished receive: its report and the destination memory.
#[derive(Debug)]
pub struct Received {
    /// What happened.
    pub report: RecvReport,
    /// The guest memory received.
    pub ram: DestRam,
}

/// Payloads above this are refused before reading them: a packet carries at most 512 KiB
/// of pages, and no method expands them by half.
const MAX_PAYLOAD: usize = PACKET_SIZE_BYTES + PACKET_SIZE_BYTES / 2;
/// Device-state packets (VFIO state over multifd) above this are refused.
const MAX_DEVICE_STATE: usize = 256 << 20;
/// Device-state packet header: 12 bytes, id string, instance id, payload size.
const DEVICE_HEADER_LEN: usize = 12 + 256 + 4 + 4;

struct Shared<'a> {
    opts: &'a RecvOptions,
    ram: Mutex<Option<Arc<DestRam>>>,
    ram_ready: Condvar,
    cancelled: AtomicBool,
    first_error: Mutex<Option<RecvError>>,
    sync: SyncPoint,
    handles: Mutex<Vec<ShutdownHandle>>,
    channel_ids: Mutex<Vec<u8>>,
    method: Mutex<Option<Method>>,
    main_done: Mutex<Option<Instant>>,
    /// Connections that closed without sending anything (not counted as channels).
    empty_connections: AtomicUsize,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl Shared<'_> {
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Record the first error and stop everything.
    fn fail(&self, e: RecvError) {
        {
            let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
            if first.is_none() {
                *first = Some(e);
            }
        }
        self.cancel();
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.sync.cancel();
        self.ram_ready.notify_all();
        for h in self
            .handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            h.shutdown();
        }
    }

    /// The destination RAM, once the main channel has announced it.
    fn wait_ram(&self, origin: Origin) -> Result<Arc<DestRam>, RecvError> {
        let deadline = Instant::now() + self.opts.idle_timeout;
        let mut ram = self.ram.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = ram.as_ref() {
                return Ok(r.clone());
            }
            if self.is_cancelled() {
                return Err(stopped(origin));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(error(
                    origin,
                    None,
                    format!(
                        "pages arrived but the main channel announced no RAM within {:?}",
                        self.opts.idle_timeout
                    ),
                ));
            }
            ram = self
                .ram_ready
                .wait_timeout(ram, (deadline - now).min(Duration::from_millis(100)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

fn stopped(origin: Origin) -> RecvError {
    error(origin, None, "stopped because another channel failed")
}

enum Outcome {
    Main {
        bytes: Vec<u8>,
    },
    Channel(ChannelStats),
    /// Connected and closed without a byte (a port probe): not a channel.
    Empty,
}

/// Receive one migration from `listener`. `progress` is called with bytes as they arrive.
pub fn receive(
    mut listener: Listener,
    opts: &RecvOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Received, RecvError> {
    let out_dir = match &opts.backing {
        Backing::Dir(dir) => Some(dir),
        Backing::Memory => None,
    };
    for dir in opts.record.iter().chain(out_dir) {
        std::fs::create_dir_all(dir).map_err(|e| {
            error(
                Origin::Receiver,
                None,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
    }
    let shared = Shared {
        opts,
        ram: Mutex::new(None),
        ram_ready: Condvar::new(),
        cancelled: AtomicBool::new(false),
        first_error: Mutex::new(None),
        sync: SyncPoint::new(opts.channels.unwrap_or(0)),
        handles: Mutex::new(Vec::new()),
        channel_ids: Mutex::new(Vec::new()),
        method: Mutex::new(None),
        main_done: Mutex::new(None),
        empty_connections: AtomicUsize::new(0),
        progress,
    };
    let start = Instant::now();
    let outcomes = std::thread::scope(|s| {
        let mut threads = Vec::new();
        let limit = opts.channels.map(|n| n + 1);
        let mut accepting = true;
        loop {
            if shared.is_cancelled() {
                break;
            }
            let all_done = threads
                .iter()
                .all(|t: &std::thread::ScopedJoinHandle<'_, _>| t.is_finished());
            let main_done = *shared.main_done.lock().unwrap_or_else(|p| p.into_inner());
            let counted = threads.len() - shared.empty_connections.load(Ordering::SeqCst);
            // With a known channel count, a main stream that ends first (a fast sender) must
            // not stop the accepting: its channels may still be in the listen queue.
            let all_in = !accepting || limit.is_none_or(|l| counted >= l);
            if let Some(t) = main_done {
                if all_done && all_in {
                    break;
                }
                if t.elapsed() > opts.end_grace {
                    if all_done {
                        break; // `finish` reports how many channels came
                    }
                    shared.fail(error(
                        Origin::Receiver,
                        None,
                        format!(
                            "a multifd channel was still open {:?} after the main stream ended",
                            opts.end_grace
                        ),
                    ));
                    break;
                }
            } else if !accepting && all_done {
                break;
            } else if threads.is_empty() && start.elapsed() > opts.idle_timeout {
                shared.fail(error(
                    Origin::Receiver,
                    None,
                    format!("no sender connected within {:?}", opts.idle_timeout),
                ));
                break;
            }
            if accepting && limit.is_some_and(|l| counted >= l) {
                accepting = false;
            }
            if !accepting {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            let index = threads.len();
            match listener.try_accept(index) {
                Ok(Some(conn)) => match prepare(conn, &shared) {
                    Ok(conn) => {
                        let shared = &shared;
                        threads.push(s.spawn(move || {
                            let r = connection_thread(conn, shared);
                            if let Err(e) = &r {
                                shared.fail(e.clone());
                            }
                            r
                        }));
                    }
                    Err(e) => {
                        shared.fail(e);
                        break;
                    }
                },
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => accepting = false,
                Err(e) => {
                    shared.fail(error(Origin::Receiver, None, format!("accept: {e}")));
                    break;
                }
            }
        }
        shared.cancel_if_failed();
        threads
            .into_iter()
            .map(|t| {
                t.join().unwrap_or_else(|_| {
                    Err(error(Origin::Receiver, None, "a channel thread panicked"))
                })
            })
            .collect::<Vec<_>>()
    });
    if let Some(e) = shared
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e);
    }
    finish(outcomes, shared, start)
}

impl Shared<'_> {
    fn cancel_if_failed(&self) {
        if self
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            self.cancel();
        }
    }
}

/// Recording, timeouts and the shutdown handle of a new connection.
fn prepare(mut conn: Conn, shared: &Shared<'_>) -> Result<Conn, RecvError> {
    let origin = Origin::Connection(conn.index);
    let io = |e: io::Error| error(origin, None, e.to_string());
    if let Some(dir) = &shared.opts.record {
        conn.record_to(&dir.join(format!("conn-{}.bin", conn.index)))
            .map_err(io)?;
    }
    conn.set_read_timeout(Some(shared.opts.idle_timeout))
        .map_err(io)?;
    let handle = conn.shutdown_handle().map_err(io)?;
    shared
        .handles
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(handle);
    if shared.is_cancelled() {
        // Cancelled between the check and the registration: shut this one too.
        shared.cancel();
    }
    Ok(conn)
}

fn finish(
    outcomes: Vec<Result<Outcome, RecvError>>,
    shared: Shared<'_>,
    start: Instant,
) -> Result<Received, RecvError> {
    let opts = shared.opts;
    let mut main = None;
    let mut channels = Vec::new();
    for o in outcomes {
        match o? {
            Outcome::Main { bytes } => main = Some(bytes),
            Outcome::Channel(c) => channels.push(c),
            Outcome::Empty => {}
        }
    }
    let main = main.ok_or_else(|| error(Origin::Receiver, None, "no main channel connected"))?;
    channels.sort_by_key(|c| c.id);
    if let Some(n) = opts.channels {
        if channels.len() != n {
            return Err(error(
                Origin::Receiver,
                None,
                format!(
                    "expected {n} multifd channels, {} connected (check the source's multifd-channels)",
                    channels.len()
                ),
            ));
        }
    }
    let ram = shared
        .ram
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| error(Origin::Main, None, "the main stream announced no RAM"))?;
    let ram = Arc::try_unwrap(ram).map_err(|_| {
        error(
            Origin::Receiver,
            None,
            "RAM still in use after every channel ended",
        )
    })?;
    let fail = |what: String| error(Origin::Receiver, None, what);
    let m = parse_main_stream(&main, opts.page_size)
        .map_err(|e| error(Origin::Main, Some(e.offset), e.to_string()))?;
    let mut files = ram.flush().map_err(|e| fail(e.to_string()))?;
    if let Backing::Dir(dir) = &opts.backing {
        files.extend(
            crate::inspect::write_device_state(&m, &main, dir).map_err(|e| fail(e.to_string()))?,
        );
    }
    let method = *shared.method.lock().unwrap_or_else(|p| p.into_inner());
    Ok(Received {
        report: RecvReport {
            method,
            blocks: ram.layout(),
            channels,
            main_bytes: main.len() as u64,
            main_pages: m.pages.len() as u64,
            device_sections: m.device_sections().count(),
            elapsed: start.elapsed(),
            files,
        },
        ram,
    })
}

/// Read exactly `buf`; `Ok(false)` when the stream ended cleanly before its first byte.
fn read_record(
    conn: &mut Conn,
    buf: &mut [u8],
    origin: Origin,
    at: u64,
    idle: Duration,
) -> Result<bool, RecvError> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_some(conn, &mut buf[filled..], origin, at + filled as u64, idle)? {
            0 if filled == 0 => return Ok(false),
            0 => {
                return Err(error(
                    origin,
                    Some(at + filled as u64),
                    format!(
                        "the stream ended inside a record ({filled} of {} bytes)",
                        buf.len()
                    ),
                ))
            }
            n => filled += n,
        }
    }
    Ok(true)
}

/// One `read`: retried on EINTR; a read timeout is the idle timeout, named as such.
fn read_some(
    conn: &mut Conn,
    buf: &mut [u8],
    origin: Origin,
    at: u64,
    idle: Duration,
) -> Result<usize, RecvError> {
    loop {
        match conn.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(error(
                    origin,
                    Some(at),
                    format!("no data for {idle:?} (idle timeout)"),
                ))
            }
            Err(e) => return Err(error(origin, Some(at), e.to_string())),
        }
    }
}

fn read_exact_at(
    conn: &mut Conn,
    buf: &mut [u8],
    origin: Origin,
    at: u64,
    idle: Duration,
) -> Result<(), RecvError> {
    if buf.is_empty() || read_record(conn, buf, origin, at, idle)? {
        Ok(())
    } else {
        Err(error(
            origin,
            Some(at),
            format!("the stream ended where {} more bytes were due", buf.len()),
        ))
    }
}

fn connection_thread(mut conn: Conn, shared: &Shared<'_>) -> Result<Outcome, RecvError> {
    let origin = Origin::Connection(conn.index);
    let idle = shared.opts.idle_timeout;
    let mut magic = [0u8; 4];
    if !read_record(&mut conn, &mut magic, origin, 0, idle)? {
        shared.empty_connections.fetch_add(1, Ordering::SeqCst);
        return Ok(Outcome::Empty);
    }
    (shared.progress)(4);
    match u32::from_be_bytes(magic) {
        migration::MAGIC => main_thread(conn, magic, shared).map(|bytes| Outcome::Main { bytes }),
        multifd::MAGIC => {
            let mut init = [0u8; INIT_LEN];
            init[..4].copy_from_slice(&magic);
            read_exact_at(&mut conn, &mut init[4..], origin, 4, idle)?;
            let init =
                ChannelInit::parse(&init).map_err(|e| error(origin, Some(e.offset), e.to_string()))?;
            register_channel(init.id, conn.index, shared)?;
            let r = channel_thread(conn, init.id, shared);
            shared.sync.leave();
            r.map(Outcome::Channel)
        }
        other => Err(error(
            origin,
            Some(0),
            format!(
                "starts with {other:#010x}: neither a main migration stream (QEVM, {:#010x}) nor a multifd channel ({:#010x})",
                migration::MAGIC,
                multifd::MAGIC
            ),
        )),
    }
}

fn register_channel(id: u8, index: usize, shared: &Shared<'_>) -> Result<(), RecvError> {
    let origin = Origin::Connection(index);
    if let Some(n) = shared.opts.channels {
        if usize::from(id) >= n {
            return Err(error(
                origin,
                Some(24),
                format!("channel id {id}, but only {n} channels are expected (ids 0..{n})"),
            ));
        }
    }
    let mut ids = shared.channel_ids.lock().unwrap_or_else(|p| p.into_inner());
    if ids.contains(&id) {
        return Err(error(
            origin,
            Some(24),
            format!("channel id {id} connected twice"),
        ));
    }
    ids.push(id);
    if shared.opts.channels.is_none() {
        shared.sync.join();
    }
    Ok(())
}

/// Read the main channel to its end; announce the RAM as soon as its block list arrived.
fn main_thread(mut conn: Conn, magic: [u8; 4], shared: &Shared<'_>) -> Result<Vec<u8>, RecvError> {
    let origin = Origin::Main;
    let opts = shared.opts;
    let cap = opts.max_ram.saturating_add(256 << 20);
    let mut buf = magic.to_vec();
    let mut chunk = vec![0u8; 256 << 10];
    let mut announced = false;
    loop {
        let n = read_some(
            &mut conn,
            &mut chunk,
            origin,
            buf.len() as u64,
            opts.idle_timeout,
        )?;
        if shared.is_cancelled() {
            return Err(stopped(origin));
        }
        if n == 0 {
            break;
        }
        if buf.len() as u64 + n as u64 > cap {
            return Err(error(
                origin,
                Some(buf.len() as u64),
                format!("the main stream exceeds {cap} bytes (RAM limit plus 256 MiB)"),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        (shared.progress)(n as u64);
        if !announced {
            announced = announce_ram(&buf, shared)?;
        }
    }
    let m = parse_main_stream(&buf, opts.page_size)
        .map_err(|e| error(origin, Some(e.offset), e.to_string()))?;
    if !announced && !announce_ram(&buf, shared)? {
        return Err(error(
            origin,
            None,
            "the main stream announced no RAM blocks",
        ));
    }
    let ram = shared.wait_ram(origin)?;
    for page in &m.pages {
        let ps = opts.page_size;
        let written = ram.with_page(page.block, page.offset, |dst| match &page.data {
            MainPageData::Page(r) => {
                dst.copy_from_slice(&buf[r.clone()]);
                true
            }
            MainPageData::Fill(b) => {
                dst.fill(*b);
                true
            }
            MainPageData::Xbzrle(_) => false,
        });
        if written != Some(true) {
            return Err(error(
                origin,
                Some(page.at),
                format!(
                    "page at offset {:#x} (block {}): XBZRLE or outside the block ({ps}-byte pages)",
                    page.offset, page.block
                ),
            ));
        }
    }
    *shared.main_done.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    Ok(buf)
}

/// Create the destination RAM once the stream so far holds the complete block list.
fn announce_ram(buf: &[u8], shared: &Shared<'_>) -> Result<bool, RecvError> {
    let opts = shared.opts;
    let (m, _) = parse_main_stream_partial(buf, opts.page_size);
    let listed: u64 = m.blocks.iter().map(|b| b.used_length).sum();
    if m.blocks.is_empty() || listed != m.mem_size {
        return Ok(false);
    }
    if m.mapped_ram {
        return Err(error(
            Origin::Main,
            None,
            "a mapped-ram migration file: open it with `pageflate extract` instead",
        ));
    }
    if listed > opts.max_ram {
        return Err(error(
            Origin::Main,
            None,
            format!(
                "the source announces {listed} bytes of RAM, above the limit of {} (--max-ram)",
                opts.max_ram
            ),
        ));
    }
    let layout: Vec<(String, u64)> = m
        .blocks
        .iter()
        .map(|b| (b.name.to_string(), b.used_length))
        .collect();
    let ram = DestRam::create(&layout, opts.page_size, &opts.backing, opts.prefault)
        .map_err(|e| error(Origin::Main, None, e.to_string()))?;
    *shared.ram.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(ram));
    shared.ram_ready.notify_all();
    Ok(true)
}

/// Per-channel decoding state: zlib and zstd keep one stream per channel.
struct Decoders {
    engine: Box<dyn PageEngine>,
    zlib: Option<ZlibDecoder>,
    zstd: Option<zstd::stream::raw::Decoder<'static>>,
}

fn channel_thread(mut conn: Conn, id: u8, shared: &Shared<'_>) -> Result<ChannelStats, RecvError> {
    let origin = Origin::Channel(id);
    let opts = shared.opts;
    let ps = opts.page_size;
    let idle = opts.idle_timeout;
    let hlen = header_len(ps);
    let mut stats = ChannelStats {
        id,
        wire_bytes: INIT_LEN as u64,
        ..ChannelStats::default()
    };
    let mut dec = Decoders {
        engine: opts.engine.build(Method::Qpl, ps, Level::Fast),
        zlib: None,
        zstd: None,
    };
    let mut pos = INIT_LEN as u64;
    let mut buf = vec![0u8; hlen];
    loop {
        if shared.is_cancelled() {
            return Err(stopped(origin));
        }
        buf.resize(12, 0);
        if !read_record(&mut conn, &mut buf, origin, pos, idle)? {
            break;
        }
        let flags = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let len = if flags & FLAG_DEVICE_STATE != 0 {
            buf.resize(DEVICE_HEADER_LEN, 0);
            read_exact_at(&mut conn, &mut buf[12..], origin, pos + 12, idle)?;
            let size = u32::from_be_bytes([buf[272], buf[273], buf[274], buf[275]]) as usize;
            if size > MAX_DEVICE_STATE {
                return Err(error(
                    origin,
                    Some(pos + 272),
                    format!("device-state packet of {size} bytes (limit {MAX_DEVICE_STATE})"),
                ));
            }
            buf.resize(DEVICE_HEADER_LEN + size, 0);
            read_exact_at(
                &mut conn,
                &mut buf[DEVICE_HEADER_LEN..],
                origin,
                pos + DEVICE_HEADER_LEN as u64,
                idle,
            )?;
            parse_packet(&buf, pos, ps)
                .map_err(|e| error(origin, Some(e.offset), e.to_string()))?;
            stats.packets += 1;
            buf.len()
        } else {
            buf.resize(hlen, 0);
            read_exact_at(&mut conn, &mut buf[12..], origin, pos + 12, idle)?;
            let size = u32::from_be_bytes([buf[20], buf[21], buf[22], buf[23]]) as usize;
            if size > MAX_PAYLOAD {
                return Err(error(
                    origin,
                    Some(pos + 20),
                    format!(
                        "next_packet_size {size}: larger than any packet can carry ({MAX_PAYLOAD})"
                    ),
                ));
            }
            buf.resize(hlen + size, 0);
            read_exact_at(&mut conn, &mut buf[hlen..], origin, pos + hlen as u64, idle)?;
            let packet = parse_packet(&buf, pos, ps)
                .map_err(|e| error(origin, Some(e.offset), e.to_string()))?;
            let Packet::Ram(r) = packet else {
                return Err(error(
                    origin,
                    Some(pos),
                    "device-state flag changed while reading",
                ));
            };
            apply(&r, &mut dec, &mut stats, shared, origin)?;
            if r.is_sync() {
                stats.sync_packets += 1;
                match shared.sync.wait(idle) {
                    Ok(()) => {}
                    Err(SyncFailed::Cancelled) => return Err(stopped(origin)),
                    Err(SyncFailed::TimedOut) => {
                        return Err(error(
                            origin,
                            Some(pos),
                            format!("waited {idle:?} at a SYNC packet for the other channels"),
                        ))
                    }
                }
            }
            buf.len()
        };
        pos += len as u64;
        stats.wire_bytes += len as u64;
        (shared.progress)(len as u64);
    }
    Ok(stats)
}

/// Write a RAM packet's pages into the destination.
fn apply(
    r: &RamPacket<'_>,
    dec: &mut Decoders,
    stats: &mut ChannelStats,
    shared: &Shared<'_>,
    origin: Origin,
) -> Result<(), RecvError> {
    stats.packets += 1;
    let used = r.normal_pages + r.zero_pages;
    if used == 0 {
        return Ok(());
    }
    let at = Some(r.at);
    let fail = |what: String| error(origin, at, what);
    let ram = shared.wait_ram(origin)?;
    let block = ram.block_index(r.block).ok_or_else(|| {
        fail(format!(
            "RAM block {:?} was not announced by the main channel",
            r.block
        ))
    })?;
    r.check_offsets_within(ram.block_len(block))
        .map_err(|e| error(origin, Some(e.offset), e.to_string()))?;
    let method = r.method();
    if r.normal_pages > 0 {
        let mut m = shared.method.lock().unwrap_or_else(|p| p.into_inner());
        match *m {
            Some(prev) if prev != method => {
                return Err(fail(format!(
                    "method {} after {} packets (one method per migration)",
                    method.name(),
                    prev.name()
                )))
            }
            _ => *m = Some(method),
        }
    }
    let ps = ram.page_size();
    let page_at = |off: u64, f: &mut dyn FnMut(&mut [u8]) -> Result<(), String>| {
        ram.with_page(block, off, |dst| f(dst))
            .unwrap_or_else(|| Err(format!("offset {off:#x} is outside block {}", r.block)))
            .map_err(|e| fail(format!("page at offset {off:#x} of {}: {e}", r.block)))
    };
    match method {
        Method::None => {
            if r.payload.len() != r.normal_pages as usize * ps {
                return Err(fail(format!(
                    "{} payload bytes for {} pages",
                    r.payload.len(),
                    r.normal_pages
                )));
            }
            for (i, off) in r.normal_offsets().enumerate() {
                let src = &r.payload[i * ps..(i + 1) * ps];
                page_at(off, &mut |dst| {
                    dst.copy_from_slice(src);
                    Ok(())
                })?;
            }
        }
        Method::Qpl | Method::Uadk => {
            let pages =
                QplPages::parse(*r).map_err(|e| error(origin, Some(e.offset), e.to_string()))?;
            for (page, off) in pages.iter().zip(r.normal_offsets()) {
                if page.is_raw(ps) {
                    stats.raw_pages += 1;
                }
                page_at(off, &mut |dst| {
                    if page.is_raw(ps) {
                        dst.copy_from_slice(page.data);
                        Ok(())
                    } else {
                        dec.engine
                            .decompress_page(page.data, dst)
                            .map_err(|e| e.to_string())
                    }
                })?;
            }
        }
        Method::Zlib => {
            let z = dec
                .zlib
                .get_or_insert_with(|| ZlibDecoder::new(InflateOptions::STANDARD));
            let mut input = r.payload;
            for off in r.normal_offsets() {
                page_at(off, &mut |dst| {
                    let mut filled = 0;
                    while filled < dst.len() {
                        let p = z
                            .decode(input, &mut dst[filled..])
                            .map_err(|e| e.to_string())?;
                        input = &input[p.consumed..];
                        filled += p.written;
                        if p.consumed == 0 && p.written == 0 {
                            return Err("the packet's zlib data ends inside this page".into());
                        }
                    }
                    Ok(())
                })?;
            }
            // The sync flush's empty block (and, at a stream's end, the trailer) remain.
            while !input.is_empty() {
                let p = z
                    .decode(input, &mut [])
                    .map_err(|e| fail(format!("zlib stream: {e}")))?;
                if p.consumed == 0 {
                    return Err(fail(format!(
                        "{} zlib bytes left after the packet's pages",
                        input.len()
                    )));
                }
                input = &input[p.consumed..];
            }
        }
        Method::Zstd => zstd_pages(r, dec, &page_at, fail)?,
        Method::Qatzip => {
            let mut out = vec![0u8; r.normal_pages as usize * ps];
            let done = pageflate_core::container::gzip_decompress(
                r.payload,
                &mut out,
                InflateOptions::STANDARD,
            )
            .map_err(|e| fail(format!("qatzip (gzip) payload: {e}")))?;
            if done.written != out.len() {
                return Err(fail("qatzip payload is short of its pages".into()));
            }
            for (i, off) in r.normal_offsets().enumerate() {
                let src = &out[i * ps..(i + 1) * ps];
                page_at(off, &mut |dst| {
                    dst.copy_from_slice(src);
                    Ok(())
                })?;
            }
        }
    }
    for off in r.zero_offsets() {
        page_at(off, &mut |dst| {
            dst.fill(0);
            Ok(())
        })?;
    }
    stats.normal_pages += u64::from(r.normal_pages);
    stats.zero_pages += u64::from(r.zero_pages);
    stats.payload_bytes += r.payload.len() as u64;
    Ok(())
}

type PageAt<'a> =
    dyn Fn(u64, &mut dyn FnMut(&mut [u8]) -> Result<(), String>) -> Result<(), RecvError> + 'a;

/// zstd: one stream per channel, flushed at the end of each packet; decoded page by page
/// straight into guest memory.
fn zstd_pages(
    r: &RamPacket<'_>,
    dec: &mut Decoders,
    page_at: &PageAt<'_>,
    fail: impl Fn(String) -> RecvError,
) -> Result<(), RecvError> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
    if dec.zstd.is_none() {
        dec.zstd = Some(
            zstd::stream::raw::Decoder::new().map_err(|e| fail(format!("zstd decoder: {e}")))?,
        );
    }
    let z = dec
        .zstd
        .as_mut()
        .ok_or_else(|| fail("zstd decoder".into()))?;
    let mut input = InBuffer::around(r.payload);
    for off in r.normal_offsets() {
        page_at(off, &mut |dst| {
            let mut filled = 0;
            while filled < dst.len() {
                let before = input.pos();
                let mut out = OutBuffer::around(&mut dst[filled..]);
                z.run(&mut input, &mut out)
                    .map_err(|e| format!("zstd: {e}"))?;
                let written = out.pos();
                filled += written;
                if written == 0 && input.pos() == before {
                    return Err("the packet's zstd data ends inside this page".into());
                }
            }
            Ok(())
        })?;
    }
    // What remains (block headers of the flush) must decode to nothing.
    let mut scratch = [0u8; 1];
    while input.pos() < r.payload.len() {
        let before = input.pos();
        let mut out = OutBuffer::around(&mut scratch[..]);
        z.run(&mut input, &mut out)
            .map_err(|e| fail(format!("zstd: {e}")))?;
        if out.pos() > 0 {
            return Err(fail(
                "zstd data decodes to more than the packet's pages".into(),
            ));
        }
        if input.pos() == before {
            break;
        }
    }
    Ok(())
}
