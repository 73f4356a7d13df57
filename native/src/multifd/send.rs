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

use super::engine::{PageEngine, SoftwareEngine};
use super::sync::SyncPoint;
use super::zero::is_zero;
use super::ChannelStats;
use crate::ram::SourceRam;
use crate::transport::{connect, Conn, Endpoint};
use pageflate_core::deflate::Level;
use pageflate_core::migration::emit;
use pageflate_core::multifd::{
    ChannelInit, ChannelWriter, Method, OutPage, RamHeader, PACKET_SIZE_BYTES,
};
use std::fmt;
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
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
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            channels: 2,
            method: Method::Qpl,
            level: Level::Fast,
            record: None,
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

enum Job {
    /// `count` pages of block `block` from page `first`.
    Batch {
        block: usize,
        first: usize,
        count: usize,
    },
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

/// Send `ram` to `to`. `progress` is called with the number of pages each packet carried.
pub fn send(
    ram: &SourceRam,
    to: &Endpoint,
    opts: &SendOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SendReport, SendError> {
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
        sync: SyncPoint::new(opts.channels),
        queue: Mutex::new(rx),
        progress,
    };
    let results: Vec<Result<ChannelStats, SendError>> = std::thread::scope(|s| {
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
        dispatch(ram, &tx, &shared);
        drop(tx);
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(SendError {
                        channel: None,
                        what: "a channel thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut channels = Vec::with_capacity(results.len());
    for r in results {
        channels.push(r?);
    }
    let mut tail = Vec::new();
    emit::write_ram_flush(&mut tail);
    emit::write_ram_end(&mut tail);
    emit::write_eof(&mut tail);
    main.write_all(&tail)
        .and_then(|()| main.finish())
        .map_err(|e| main_err(format!("write: {e}")))?;
    main_bytes += tail.len() as u64;
    Ok(SendReport {
        method: opts.method,
        channels,
        main_bytes,
        ram_bytes: ram.total_bytes(),
        elapsed: start.elapsed(),
    })
}

fn open(to: &Endpoint, index: usize, opts: &SendOptions) -> std::io::Result<Conn> {
    let mut c = connect(to, index)?;
    if let Some(dir) = &opts.record {
        std::fs::create_dir_all(dir)?;
        c.record_to(&dir.join(format!("conn-{index}.bin")))?;
    }
    Ok(c)
}

/// Cut every block into packet-sized batches, then ask every channel for a SYNC.
fn dispatch(ram: &SourceRam, tx: &std::sync::mpsc::SyncSender<Job>, shared: &Shared<'_>) {
    let per_packet = PACKET_SIZE_BYTES / ram.page_size;
    for (block, b) in ram.blocks.iter().enumerate() {
        let pages = b.bytes().len() / ram.page_size;
        for first in (0..pages).step_by(per_packet) {
            let count = per_packet.min(pages - first);
            if shared.failed.load(Ordering::SeqCst)
                || tx
                    .send(Job::Batch {
                        block,
                        first,
                        count,
                    })
                    .is_err()
            {
                return;
            }
        }
    }
    for _ in 0..shared.opts.channels {
        if tx.send(Job::Sync).is_err() {
            return;
        }
    }
}

fn channel_thread(id: u8, mut conn: Conn, shared: &Shared<'_>) -> Result<ChannelStats, SendError> {
    let err = |what: String| SendError {
        channel: Some(id),
        what,
    };
    let ps = shared.ram.page_size;
    let method = shared.opts.method;
    let framer = ChannelWriter::new(Method::None, ps, Level::Fast);
    let mut engine = SoftwareEngine::new(method, ps, shared.opts.level);
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
            Job::Batch {
                block,
                first,
                count,
            } => {
                let b = &shared.ram.blocks[block];
                let data = b.bytes();
                normal.clear();
                zero.clear();
                for i in first..first + count {
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
                framer.sync(num, &mut header);
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
