//! QEMU's multifd wire format (`migration/multifd.h`, `multifd.c`; facts in
//! `shared/docs/wire-format.md`, checked against QEMU 10.0.2 captures).
//!
//! A multifd channel carries a 64-byte [`ChannelInit`], then packets. Every packet starts
//! with a 12-byte header (magic, version, flags). RAM packets continue with counts, the
//! global packet number, the RAM block name and an array of page offsets — always sent at
//! full size, `320 + 8 × (512 KiB / page_size)` bytes, whatever `pages_alloc` says — and
//! `next_packet_size` payload bytes. Device-state packets (QEMU 10.0) carry an id string,
//! an instance id and an opaque payload.
//!
//! Parsing is zero-copy over the channel's bytes and never panics: every malformed field
//! is a [`FormatError`] naming the field and its byte offset in the channel.

mod emit;
mod error;
mod init;
mod packet;
mod payload;

pub use emit::{write_sync, ChannelWriter, OutPage, RamHeader};
pub use error::{FormatError, FormatErrorKind};
pub use init::{ChannelInit, INIT_LEN};
pub use packet::{
    header_len, parse_packet, DeviceStatePacket, Packet, PacketReader, RamPacket, PACKET_SIZE_BYTES,
};
pub use payload::{QplPage, QplPages};

/// Magic of channel init records and packets (`MULTIFD_MAGIC`).
pub const MAGIC: u32 = 0x1122_3344;
/// The only version QEMU has used (`MULTIFD_VERSION`).
pub const VERSION: u32 = 1;

/// Packet flag: synchronisation point (`MULTIFD_FLAG_SYNC`).
pub const FLAG_SYNC: u32 = 0x01;
/// Mask of the compression-method bits (QEMU 9.1+; older releases used `0x0e`).
pub const FLAG_METHOD_MASK: u32 = 0x3e;
/// Packet flag: device state instead of RAM (QEMU 10.0, `MULTIFD_FLAG_DEVICE_STATE`).
pub const FLAG_DEVICE_STATE: u32 = 0x40;
/// Every flag bit any QEMU release up to 10.x defines.
pub const FLAGS_KNOWN: u32 = FLAG_SYNC | FLAG_METHOD_MASK | FLAG_DEVICE_STATE;

/// The compression method a packet's flags name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// No compression (`MULTIFD_FLAG_NOCOMP`, 0).
    None,
    /// zlib: one stream per channel, sync-flushed per packet (0x02).
    Zlib,
    /// zstd: one stream per channel, flushed per packet (0x04).
    Zstd,
    /// Intel QPL: one raw-deflate stream per page, or the raw page (0x08, QEMU 9.1).
    Qpl,
    /// Huawei UADK: per-page framing like qpl (0x10, QEMU 9.1).
    Uadk,
    /// Intel QATzip: one gzip stream per packet (0x20, QEMU 9.2).
    Qatzip,
}

impl Method {
    /// The method named by `flags`, or `None` for a combination of method bits no QEMU uses.
    pub const fn from_flags(flags: u32) -> Option<Self> {
        Some(match flags & FLAG_METHOD_MASK {
            0x00 => Method::None,
            0x02 => Method::Zlib,
            0x04 => Method::Zstd,
            0x08 => Method::Qpl,
            0x10 => Method::Uadk,
            0x20 => Method::Qatzip,
            _ => return None,
        })
    }

    /// The flag bits of this method.
    pub const fn flag(self) -> u32 {
        match self {
            Method::None => 0x00,
            Method::Zlib => 0x02,
            Method::Zstd => 0x04,
            Method::Qpl => 0x08,
            Method::Uadk => 0x10,
            Method::Qatzip => 0x20,
        }
    }

    /// QEMU's name for the method (`multifd-compression`).
    pub const fn name(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::Zlib => "zlib",
            Method::Zstd => "zstd",
            Method::Qpl => "qpl",
            Method::Uadk => "uadk",
            Method::Qatzip => "qatzip",
        }
    }
}

/// Big-endian reads that report a truncation as an error at `base + at`.
pub(crate) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)
        .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}
