//! Writing multifd channels the way QEMU's sender does: the init record, RAM packets with
//! the full-size header, SYNC packets, and the payload of each method (none, qpl, zlib).

use super::{header_len, ChannelInit, Method, FLAG_SYNC, MAGIC, PACKET_SIZE_BYTES, VERSION};
use crate::deflate::{Compressor, Deflater, Flush, Level};
use crate::page::{compress_page, PageEncoding};
use alloc::vec;
use alloc::vec::Vec;

/// Writes one multifd channel into a byte vector.
pub struct ChannelWriter {
    method: Method,
    page_size: usize,
    compressor: Compressor,
    zlib: Option<Deflater>,
    page_buf: Vec<u8>,
}

/// A page to send: its offset in the block and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct OutPage<'a> {
    /// Offset of the page in its RAM block.
    pub offset: u64,
    /// The page (`page_size` bytes).
    pub data: &'a [u8],
}

impl ChannelWriter {
    /// A writer for `method` (`None`, `Qpl` or `Zlib`) with pages of `page_size` bytes.
    /// Panics for other methods, which pageflate does not send.
    pub fn new(method: Method, page_size: usize, level: Level) -> Self {
        assert!(
            matches!(method, Method::None | Method::Qpl | Method::Zlib),
            "pageflate does not send {}",
            method.name()
        );
        Self {
            method,
            page_size,
            compressor: Compressor::new(level),
            zlib: (method == Method::Zlib).then(|| Deflater::new(level)),
            page_buf: vec![0u8; page_size],
        }
    }

    /// Append the channel's init record.
    pub fn init(&self, init: &ChannelInit, out: &mut Vec<u8>) {
        out.extend_from_slice(&init.to_bytes());
    }

    /// Append a SYNC packet (see [`write_sync`]).
    pub fn sync(&self, packet_num: u64, out: &mut Vec<u8>) {
        write_sync(self.page_size, packet_num, out);
    }

    /// Append a RAM packet for `block` with `normal` pages (data sent) and `zero` page
    /// offsets. At most `512 KiB / page_size` pages in all.
    pub fn ram_packet(
        &mut self,
        packet_num: u64,
        block: &str,
        normal: &[OutPage<'_>],
        zero: &[u64],
        out: &mut Vec<u8>,
    ) {
        let mut payload = Vec::new();
        if self.method == Method::None {
            for p in normal {
                payload.extend_from_slice(p.data);
            }
        } else {
            self.compress_payload(normal, &mut payload);
        }
        self.ram_header(packet_num, block, normal, zero, payload.len(), out);
        out.extend_from_slice(&payload);
    }

    /// Append just the header of a RAM packet whose payload is `payload_len` bytes (for
    /// writers that send header and payload as separate slices).
    pub fn ram_header(
        &self,
        packet_num: u64,
        block: &str,
        normal: &[OutPage<'_>],
        zero: &[u64],
        payload_len: usize,
        out: &mut Vec<u8>,
    ) {
        let offsets: Vec<u64> = normal.iter().map(|p| p.offset).collect();
        let h = RamHeader {
            method: self.method,
            page_size: self.page_size,
            packet_num,
            block,
            normal: &offsets,
            zero,
            payload_len,
        };
        h.write(out);
    }

    /// The method this writer sends.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Append the payload of a packet carrying `normal` (method none: the pages
    /// themselves; qpl: be32 lengths then the pages; zlib: the channel stream's next part,
    /// ending in a sync flush).
    pub fn compress_payload(&mut self, normal: &[OutPage<'_>], out: &mut Vec<u8>) {
        match self.method {
            Method::Qpl => {
                // be32 lengths first, then the pages: raw when they do not compress below
                // page_size - 1 (QEMU's rule), else one raw deflate stream each.
                let lens_at = out.len();
                out.resize(lens_at + 4 * normal.len(), 0);
                for (i, p) in normal.iter().enumerate() {
                    let len = match compress_page(&mut self.compressor, p.data, &mut self.page_buf)
                    {
                        PageEncoding::Compressed(n) => {
                            out.extend_from_slice(&self.page_buf[..n]);
                            n
                        }
                        PageEncoding::Raw => {
                            out.extend_from_slice(p.data);
                            self.page_size
                        }
                    };
                    let at = lens_at + 4 * i;
                    out[at..at + 4].copy_from_slice(&(len as u32).to_be_bytes());
                }
            }
            // A packet of zero pages only carries no zlib bytes at all (as QEMU's: it
            // calls deflate once per page), so the stream header waits for a real page.
            Method::Zlib if normal.is_empty() => {}
            Method::Zlib => {
                let d = self.zlib.get_or_insert_with(|| Deflater::new(Level::Fast));
                if !d.has_output() {
                    // The stream opens with a zlib header declaring the 4 KiB window.
                    out.extend_from_slice(&crate::container::zlib_header(self.compressor.level()));
                }
                for (i, p) in normal.iter().enumerate() {
                    let flush = if i + 1 == normal.len() {
                        Flush::Sync
                    } else {
                        Flush::None
                    };
                    d.compress(p.data, flush, out);
                }
            }
            _ => {
                for p in normal {
                    out.extend_from_slice(p.data);
                }
            }
        }
    }
}

/// Append a SYNC packet for pages of `page_size` bytes (QEMU 10: flags 0x01, no method
/// bits, no pages). Needs no compressor, so writers that frame packets themselves call it.
pub fn write_sync(page_size: usize, packet_num: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + header_len(page_size), 0);
    put_header(
        &mut out[start..],
        FLAG_SYNC,
        0,
        0,
        0,
        0,
        packet_num,
        "",
        core::iter::empty(),
    );
}

/// The fields of a RAM packet header, for writers that frame packets themselves.
#[derive(Debug, Clone, Copy)]
pub struct RamHeader<'a> {
    /// Compression method (its flag goes into `flags`).
    pub method: Method,
    /// Page size.
    pub page_size: usize,
    /// Global packet number.
    pub packet_num: u64,
    /// RAM block id string.
    pub block: &'a str,
    /// Offsets of the pages whose data is in the payload.
    pub normal: &'a [u64],
    /// Offsets of zero pages.
    pub zero: &'a [u64],
    /// Payload bytes that follow the header.
    pub payload_len: usize,
}

impl RamHeader<'_> {
    /// Append the header (`header_len(page_size)` bytes). Panics if more pages are given
    /// than one packet holds (`512 KiB / page_size`).
    pub fn write(&self, out: &mut Vec<u8>) {
        let capacity = PACKET_SIZE_BYTES / self.page_size;
        assert!(
            self.normal.len() + self.zero.len() <= capacity,
            "too many pages for one packet"
        );
        let start = out.len();
        out.resize(start + header_len(self.page_size), 0);
        put_header(
            &mut out[start..],
            self.method.flag(),
            capacity as u32,
            self.normal.len() as u32,
            self.zero.len() as u32,
            self.payload_len as u32,
            self.packet_num,
            self.block,
            self.normal.iter().chain(self.zero.iter()).copied(),
        );
    }
}

/// Fill a RAM packet header (all fields big-endian; the offset array at full size).
#[allow(clippy::too_many_arguments)]
fn put_header(
    h: &mut [u8],
    flags: u32,
    pages_alloc: u32,
    normal: u32,
    zero: u32,
    size: u32,
    packet_num: u64,
    block: &str,
    offsets: impl Iterator<Item = u64>,
) {
    h[0..4].copy_from_slice(&MAGIC.to_be_bytes());
    h[4..8].copy_from_slice(&VERSION.to_be_bytes());
    h[8..12].copy_from_slice(&flags.to_be_bytes());
    h[12..16].copy_from_slice(&pages_alloc.to_be_bytes());
    h[16..20].copy_from_slice(&normal.to_be_bytes());
    h[20..24].copy_from_slice(&size.to_be_bytes());
    h[24..32].copy_from_slice(&packet_num.to_be_bytes());
    h[32..36].copy_from_slice(&zero.to_be_bytes());
    let name = block.as_bytes();
    let n = name.len().min(255);
    h[64..64 + n].copy_from_slice(&name[..n]);
    for (i, off) in offsets.enumerate() {
        h[320 + 8 * i..328 + 8 * i].copy_from_slice(&off.to_be_bytes());
    }
}
