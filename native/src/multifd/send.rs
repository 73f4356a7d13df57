//! The multifd sender: guest memory → a main stream and N multifd channels, framed exactly
//! as QEMU 10's source frames them (methods none, qpl, zlib).
//!
//! The calling thread writes the main stream and cuts every RAM block into batches of at
//! most 128 pages (one packet each), which it puts on a bounded queue: at most two batches
//! per channel wait, so memory stays bounded whatever the image size, and a slow channel
//! slows the producer rather than growing a backlog. One thread per channel takes batches,
//! finds zero pages, compresses the rest with its [`PageEngine`], numbers the packet from a
//! global counter and writes header and payload with one vectored write. At the end each
//! channel sends a SYNC packet (and waits for the others, as QEMU's sync does), then the
//! main stream gets its flush point, the RAM section's end and `EOF`.
//!
//! [`send`] sends a whole image once; [`session`] lets a VMM send rounds of dirty pages
//! with a [`Session::sync`] between them, as QEMU's precopy iterations do.

use super::engine::Engine;
use super::sync::SyncPoint;
use super::zero::is_zero;
use super::ChannelStats;
use crate::ram::SourceRam;
use crate::transport::{connect, Conn, Endpoint};
use pageflate_core::deflate::Level;
use pageflate_core::migration::emit;
use pageflate_core::multifd::{
    write_sync, ChannelInit, Method, OutPage, RamHeader, PACKET_SIZE_BYTES,
};
use std::fmt;
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to send.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Multifd channels (1..=255).
    pub channels: usize,
    /// `None`, `Qpl` or `Zlib`.
    pub method: Method,
    /// Compression level for qpl and zlib.
    pub level: Level,
    /// Also write every channel into this directory (`conn-K.bin`, a capture).
    pub record: Option<PathBuf>,
    /// The page engine (software, or IAA with software fallback).
    pub engine: Engine,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            channels: 2,
            method: Method::Qpl,
            level: Level::Fast,
            record: None,
            engine: Engine::Software,
        }
    }
}

/// What a send did.
#[derive(Debug, Clone)]
pub struct SendReport {
    /// Method used.
    pub method: Method,
    /// Per-channel counters, by channel id.
    pub channels: Vec<ChannelStats>,
    /// Bytes of the main stream.
    pub main_bytes: u64,
    /// Guest memory sent.
    pub ram_bytes: u64,
    /// Wall time from connecting to the last byte written.
    pub elapsed: Duration,
}

impl SendReport {
    /// Bytes on all channels, main included.
    pub fn wire_bytes(&self) -> u64 {
        self.main_bytes + self.channels.iter().map(|c| c.wire_bytes).sum::<u64>()
    }
}

/// Why a send failed, and on which channel.
#[derive(Debug)]
pub struct SendError {
    /// The multifd channel id, or `None` for the main channel.
    pub channel: Option<u8>,
    /// What happened.
    pub what: String,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.channel {
            Some(c) => write!(f, "multifd channel {c}: {}", self.what),
            None => write!(f, "main channel: {}", self.what),
        }
    }
}

impl std::error::Error for SendError {}

/// Pages of one block for one packet.
enum Pages {
    /// `count` pages from page `first`.
    Run { first: usize, count: usize },
    /// These page indices (dirty pages of a later round).
    List(Vec<usize>),
}

enum Job {
    Batch { block: usize, pages: Pages },
    Sync,
}

/// What the channel threads share.
struct Shared<'a> {
    ram: &'a SourceRam,
    opts: &'a SendOptions,
    packet_num: AtomicU64,
    failed: AtomicBool,
    sync: SyncPoint,
    queue: Mutex<Receiver<Job>>,
    progress: &'a (dyn Fn(u64) + Sync),
}

/// An open migration: the channels are connected and the RAM announced; pages go out as
/// they are asked for. See [`session`].
pub struct Session<'s> {
    tx: SyncSender<Job>,
    failed: &'s AtomicBool,
    barrier: &'s SyncPoint,
    ram: &'s SourceRam,
    channels: usize,
    main: &'s mut Conn,
    main_bytes: &'s mut u64,
}

impl Session<'_> {
    fn queue(&self, job: Job) -> Result<(), SendError> {
        if self.failed.load(Ordering::SeqCst) || self.tx.send(job).is_err() {
            return Err(SendError {
                channel: None,
                what: "a channel failed (see its error)".into(),
            });
        }
        Ok(())
    }

    fn block(&self, block: usize) -> Result<usize, SendError> {
        let b = self.ram.blocks.get(block).ok_or_else(|| SendError {
            channel: None,
            what: format!("no RAM block {block}"),
        })?;
        Ok(b.bytes().len() / self.ram.page_size)
    }

    /// Send pages `first .. first + count` of block `block` (in packets of ≤ 128 pages).
    /// Blocks while every channel has two packets waiting (back-pressure).
    pub fn send_range(
        &mut self,
        block: usize,
        first: usize,
        count: usize,
    ) -> Result<(), SendError> {
        let pages = self.block(block)?;
        let end = first.saturating_add(count).min(pages);
        let per_packet = PACKET_SIZE_BYTES / self.ram.page_size;
        for start in (first..end).step_by(per_packet) {
            let count = per_packet.min(end - start);
            self.queue(Job::Batch {
                block,
                pages: Pages::Run {
                    first: start,
                    count,
                },
            })?;
        }
        Ok(())
    }

    /// Send the listed pages of block `block` (e.g. the dirty pages of a later round).
    pub fn send_pages(&mut self, block: usize, pages: &[usize]) -> Result<(), SendError> {
        let limit = self.block(block)?;
        if let Some(&bad) = pages.iter().find(|&&p| p >= limit) {
            return Err(SendError {
                channel: None,
                what: format!("page {bad} is outside block {block} ({limit} pages)"),
            });
        }
        for chunk in pages.chunks(PACKET_SIZE_BYTES / self.ram.page_size) {
            self.queue(Job::Batch {
                block,
                pages: Pages::List(chunk.to_vec()),
            })?;
        }
        Ok(())
    }

    /// Send every page of every block.
    pub fn send_all(&mut self) -> Result<(), SendError> {
        for block in 0..self.ram.blocks.len() {
            let pages = self.block(block)?;
            self.send_range(block, 0, pages)?;
        }
        Ok(())
    }

    /// A synchronisation point (QEMU's `multifd_send_sync_main`): every channel sends a
    /// SYNC packet after the pages queued so far and waits for the others, and the main
    /// stream gets a `MULTIFD_FLUSH`. Pages re-sent after it can never be overtaken by
    /// their older copies at the receiver. Call it between rounds of dirty pages.
    ///
    /// Returns once every channel has written all pages queued before it, so the
    /// memory they came from may change again.
    pub fn sync(&mut self) -> Result<(), SendError> {
        for _ in 0..self.channels {
            self.queue(Job::Sync)?;
        }
        if self.barrier.wait(Duration::from_secs(3600)).is_err() {
            return Err(SendError {
                channel: None,
                what: "a channel failed during a sync (see its error)".into(),
            });
        }
        let mut flush = Vec::new();
        emit::write_ram_flush(&mut flush);
        self.main.write_all(&flush).map_err(|e| SendError {
            channel: None,
            what: format!("write: {e}"),
        })?;
        *self.main_bytes += flush.len() as u64;
        Ok(())
    }
}

/// Send all of `ram` to `to`. `progress` is called with the number of pages each packet
/// carried.
pub fn send(
    ram: &SourceRam,
    to: &Endpoint,
    opts: &SendOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SendReport, SendError> {
    session(ram, to, opts, progress, |s| s.send_all()).map(|((), r)| r)
}

/// Open a migration to `to` and let `work` send pages and syncs through the [`Session`];
/// when it returns `Ok`, a last SYNC is sent and the stream is ended (`EOF`). When it
/// returns an error (or a channel fails), every channel is closed without ending the
/// stream — the receiver sees an incomplete migration — and the error is returned.
pub fn session<R>(
    ram: &SourceRam,
    to: &Endpoint,
    opts: &SendOptions,
    progress: &(dyn Fn(u64) + Sync),
    work: impl FnOnce(&mut Session<'_>) -> Result<R, SendError>,
) -> Result<(R, SendReport), SendError> {
    if !(1..=255).contains(&opts.channels) {
        return Err(SendError {
            channel: None,
            what: format!("{} channels: use 1 to 255", opts.channels),
        });
    }
    if !matches!(opts.method, Method::None | Method::Qpl | Method::Zlib) {
        return Err(SendError {
            channel: None,
            what: format!(
                "method {}: pageflate sends none, qpl or zlib",
                opts.method.name()
            ),
        });
    }
    let start = Instant::now();
    let main_err = |what: String| SendError {
        channel: None,
        what,
    };
    let mut main =
        open(to, 0, opts).map_err(|e| main_err(format!("cannot connect to {to}: {e}")))?;
    let mut head = Vec::new();
    emit::write_header(&mut head);
    emit::write_configuration("pageflate", &mut head);
    let layout: Vec<(&str, u64)> = ram
        .blocks
        .iter()
        .map(|b| (b.name.as_str(), b.bytes().len() as u64))
        .collect();
    emit::write_ram_setup(&layout, &mut head);
    main.write_all(&head)
        .map_err(|e| main_err(format!("write: {e}")))?;
    let mut main_bytes = head.len() as u64;

    let mut conns = Vec::with_capacity(opts.channels);
    for id in 0..opts.channels {
        let c = open(to, id + 1, opts).map_err(|e| SendError {
            channel: Some(id as u8),
            what: format!("cannot connect to {to}: {e}"),
        })?;
        conns.push(c);
    }

    let (tx, rx) = sync_channel::<Job>(2 * opts.channels);
    let shared = Shared {
        ram,
        opts,
        packet_num: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        // The channels and the session's thread: `Session::sync` returns once every
        // channel has written everything queued before it.
        sync: SyncPoint::new(opts.channels + 1),
        queue: Mutex::new(rx),
        progress,
    };
    let (outcome, results) = std::thread::scope(|s| {
        let workers: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(id, conn)| {
                let shared = &shared;
                s.spawn(move || {
                    let r = channel_thread(id as u8, conn, shared);
                    if r.is_err() {
                        shared.failed.store(true, Ordering::SeqCst);
                        shared.sync.cancel();
                    }
                    r
                })
            })
            .collect();
        let mut session = Session {
            tx,
            failed: &shared.failed,
            barrier: &shared.sync,
            ram,
            channels: opts.channels,
            main: &mut main,
            main_bytes: &mut main_bytes,
        };
        let outcome = work(&mut session).and_then(|r| session.sync().map(|()| r));
        if outcome.is_err() {
            // Stop the channels where they are: no more jobs, no waiting at a SYNC.
            shared.failed.store(true, Ordering::SeqCst);
            shared.sync.cancel();
        }
        drop(session);
        let results: Vec<_> = workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(SendError {
                        channel: None,
                        what: "a channel thread panicked".into(),
                    })
                })
            })
            .collect();
        (outcome, results)
    });
    let mut channels = Vec::with_capacity(results.len());
    for r in results {
        channels.push(r?);
    }
    let outcome = outcome?;
    let mut tail = Vec::new();
    emit::write_ram_end(&mut tail);
    emit::write_eof(&mut tail);
    main.write_all(&tail)
        .and_then(|()| main.finish())
        .map_err(|e| main_err(format!("write: {e}")))?;
    main_bytes += tail.len() as u64;
    Ok((
        outcome,
        SendReport {
            method: opts.method,
            channels,
            main_bytes,
            ram_bytes: ram.total_bytes(),
            elapsed: start.elapsed(),
        },
    ))
}

fn open(to: &Endpoint, index: usize, opts: &SendOptions) -> std::io::Result<Conn> {
    let mut c = connect(to, index)?;
    if let Some(dir) = &opts.record {
        std::fs::create_dir_all(dir)?;
        c.record_to(&dir.join(format!("conn-{index}.bin")))?;
    }
    Ok(c)
}

fn channel_thread(id: u8, mut conn: Conn, shared: &Shared<'_>) -> Result<ChannelStats, SendError> {
    let err = |what: String| SendError {
        channel: Some(id),
        what,
    };
    let ps = shared.ram.page_size;
    let method = shared.opts.method;
    let mut engine = shared.opts.engine.build(method, ps, shared.opts.level);
    let mut stats = ChannelStats {
        id,
        ..ChannelStats::default()
    };
    let init = ChannelInit { uuid: [0; 16], id };
    let init = init.to_bytes();
    conn.write_all_vectored(&mut [IoSlice::new(&init)])
        .map_err(|e| err(format!("write: {e}")))?;
    stats.wire_bytes += init.len() as u64;
    let (mut header, mut payload) = (Vec::new(), Vec::new());
    let mut normal: Vec<OutPage<'_>> = Vec::new();
    let mut zero: Vec<u64> = Vec::new();
    let mut offsets: Vec<u64> = Vec::new();
    loop {
        let job = match shared.queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => break,
        };
        let Ok(job) = job else { break };
        if shared.failed.load(Ordering::SeqCst) {
            break;
        }
        header.clear();
        match job {
            Job::Batch { block, pages } => {
                let b = &shared.ram.blocks[block];
                let data = b.bytes();
                normal.clear();
                zero.clear();
                let indices: Box<dyn Iterator<Item = usize> + '_> = match &pages {
                    Pages::Run { first, count } => Box::new(*first..first + count),
                    Pages::List(list) => Box::new(list.iter().copied()),
                };
                let count = match &pages {
                    Pages::Run { count, .. } => *count,
                    Pages::List(list) => list.len(),
                };
                for i in indices {
                    let page = &data[i * ps..(i + 1) * ps];
                    let offset = (i * ps) as u64;
                    if is_zero(page) {
                        zero.push(offset);
                    } else {
                        normal.push(OutPage { offset, data: page });
                    }
                }
                payload.clear();
                if method != Method::None {
                    engine.compress(&normal, &mut payload);
                }
                let payload_len = if method == Method::None {
                    normal.len() * ps
                } else {
                    payload.len()
                };
                offsets.clear();
                offsets.extend(normal.iter().map(|p| p.offset));
                RamHeader {
                    method,
                    page_size: ps,
                    packet_num: shared.packet_num.fetch_add(1, Ordering::SeqCst),
                    block: &b.name,
                    normal: &offsets,
                    zero: &zero,
                    payload_len,
                }
                .write(&mut header);
                // Method none sends the pages straight from guest memory (no copy).
                let mut slices = Vec::with_capacity(2 + normal.len());
                slices.push(IoSlice::new(&header));
                if method == Method::None {
                    slices.extend(normal.iter().map(|p| IoSlice::new(p.data)));
                } else {
                    slices.push(IoSlice::new(&payload));
                }
                conn.write_all_vectored(&mut slices)
                    .map_err(|e| err(format!("write: {e}")))?;
                stats.packets += 1;
                stats.normal_pages += normal.len() as u64;
                stats.zero_pages += zero.len() as u64;
                stats.payload_bytes += payload_len as u64;
                stats.wire_bytes += (header.len() + payload_len) as u64;
                if method == Method::Qpl {
                    stats.raw_pages += payload
                        .chunks_exact(4)
                        .take(normal.len())
                        .filter(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize == ps)
                        .count() as u64;
                }
                (shared.progress)(count as u64);
            }
            Job::Sync => {
                let num = shared.packet_num.fetch_add(1, Ordering::SeqCst);
                write_sync(ps, num, &mut header);
                conn.write_all_vectored(&mut [IoSlice::new(&header)])
                    .map_err(|e| err(format!("write: {e}")))?;
                stats.packets += 1;
                stats.sync_packets += 1;
                stats.wire_bytes += header.len() as u64;
                if shared.sync.wait(Duration::from_secs(3600)).is_err() {
                    break;
                }
            }
        }
    }
    conn.finish().map_err(|e| err(format!("close: {e}")))?;
    Ok(stats)
}
