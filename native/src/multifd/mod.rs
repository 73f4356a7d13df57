//! Multifd migration over real channels: a sender thread pool that turns guest memory into
//! QEMU's main stream plus N multifd channels, and a receiver that accepts them (from
//! pageflate or from a real QEMU source) and decompresses straight into destination memory.
//!
//! - [`send`]: one thread per channel, ≤128-page batches from a bounded queue, zero-page
//!   detection, a [`PageEngine`] per channel, vectored writes, SYNC packets, global packet
//!   numbers.
//! - [`recv`]: tells channels apart by their first bytes (as QEMU does), validates every
//!   header before reading its payload, writes only inside the announced RAM blocks, and
//!   synchronises channels at SYNC packets so re-sent pages land in order.

pub mod engine;
pub mod recv;
pub mod send;
mod sync;
pub mod zero;

pub use engine::{IaaEngine, PageEngine, SoftwareEngine};
pub use recv::{receive, Received, RecvError, RecvOptions, RecvReport};
pub use send::{send, session, SendError, SendOptions, SendReport, Session};

/// Per-channel counters, on either side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Channel id (byte 24 of the init record).
    pub id: u8,
    /// Packets, SYNC packets included.
    pub packets: u64,
    /// SYNC packets.
    pub sync_packets: u64,
    /// Pages whose data was sent.
    pub normal_pages: u64,
    /// Zero pages (offset only).
    pub zero_pages: u64,
    /// qpl pages sent raw (did not compress below page size − 1).
    pub raw_pages: u64,
    /// Bytes on the wire, headers included.
    pub wire_bytes: u64,
    /// Payload bytes (pages after compression).
    pub payload_bytes: u64,
}

/// Send `ram` to a receiver in this process over `at` (`tcp:127.0.0.1:0`, `unix:PATH`):
/// the receiver listens, the sender connects, both run at once. For demos, tests and
/// benchmarks of the whole pipeline.
pub fn loopback(
    ram: &crate::ram::SourceRam,
    at: &crate::transport::Endpoint,
    send_opts: &SendOptions,
    recv_opts: &RecvOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(SendReport, Received), String> {
    let listener =
        crate::transport::Listener::bind(at).map_err(|e| format!("listen on {at}: {e}"))?;
    let to = listener.local_addr();
    let mut recv_opts = recv_opts.clone();
    recv_opts.channels = Some(send_opts.channels);
    std::thread::scope(|s| {
        let receiver = s.spawn(|| receive(listener, &recv_opts, &|_| {}));
        let sent = send(ram, &to, send_opts, progress);
        let received = receiver
            .join()
            .map_err(|_| "the receiver thread panicked".to_string())?;
        match (sent, received) {
            (Ok(s), Ok(r)) => Ok((s, r)),
            (Err(e), _) => Err(format!("send: {e}")),
            (_, Err(e)) => Err(format!("receive: {e}")),
        }
    })
}

/// A text table of per-channel counters, with a total row.
pub fn render_channels(channels: &[ChannelStats], page_size: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  channel  packets   sync    pages  zero pages  raw pages    wire bytes   ratio"
    );
    let mut total = ChannelStats::default();
    let row = |name: &str, c: &ChannelStats, out: &mut String| {
        let pages = c.normal_pages + c.zero_pages;
        let ratio = c.wire_bytes as f64 / (pages.max(1) as f64 * page_size as f64);
        let _ = writeln!(
            out,
            "  {name:>7} {:>8} {:>6} {:>8} {:>11} {:>10} {:>13} {:>7.3}",
            c.packets, c.sync_packets, pages, c.zero_pages, c.raw_pages, c.wire_bytes, ratio
        );
    };
    for c in channels {
        row(&c.id.to_string(), c, &mut out);
        total.packets += c.packets;
        total.sync_packets += c.sync_packets;
        total.normal_pages += c.normal_pages;
        total.zero_pages += c.zero_pages;
        total.raw_pages += c.raw_pages;
        total.wire_bytes += c.wire_bytes;
        total.payload_bytes += c.payload_bytes;
    }
    row("total", &total, &mut out);
    out
}

/// Per-channel counters as JSON.
pub fn channels_json(channels: &[ChannelStats]) -> serde_json::Value {
    channels
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id, "packets": c.packets, "sync_packets": c.sync_packets,
                "normal_pages": c.normal_pages, "zero_pages": c.zero_pages,
                "raw_pages": c.raw_pages, "wire_bytes": c.wire_bytes,
                "payload_bytes": c.payload_bytes,
            })
        })
        .collect()
}
