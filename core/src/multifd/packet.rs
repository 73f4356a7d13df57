//! Multifd packets: RAM packets and device-state packets, and a reader over a channel.

use super::error::{FormatError, FormatErrorKind};
use super::{be32, be64, Method, FLAGS_KNOWN, FLAG_DEVICE_STATE, FLAG_SYNC, MAGIC, VERSION};

/// Bytes of pages a RAM packet can describe (`MULTIFD_PACKET_SIZE`).
pub const PACKET_SIZE_BYTES: usize = 512 * 1024;
/// Offset of the RAM block name in a RAM packet.
const NAME_AT: usize = 64;
const NAME_LEN: usize = 256;
/// Offset of the page offset array.
const OFFSETS_AT: usize = NAME_AT + NAME_LEN;
/// Device-state packet header: 12-byte header, id string, instance id, payload size.
const DEVICE_HEADER_LEN: usize = 12 + 256 + 4 + 4;

/// Header length of a RAM packet for `page_size` (1344 bytes for 4 KiB pages).
pub const fn header_len(page_size: usize) -> usize {
    OFFSETS_AT + 8 * (PACKET_SIZE_BYTES / page_size)
}

/// A RAM packet (possibly a SYNC packet with no pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamPacket<'a> {
    /// Byte offset of the packet in the channel stream.
    pub at: u64,
    /// Flags (SYNC, method bits).
    pub flags: u32,
    /// Capacity of the offset array the sender allocated.
    pub pages_alloc: u32,
    /// Pages whose data travels in the payload.
    pub normal_pages: u32,
    /// Pages that are all zero (offsets listed after the normal ones).
    pub zero_pages: u32,
    /// Payload bytes after the header.
    pub next_packet_size: u32,
    /// Global packet number (counted across all channels).
    pub packet_num: u64,
    /// The RAM block's id string (`pc.ram`); empty for SYNC packets.
    pub block: &'a str,
    /// The offset array as sent (big-endian u64s).
    offsets: &'a [u8],
    /// The payload.
    pub payload: &'a [u8],
    /// Page size the packet was parsed with.
    pub page_size: usize,
}

impl<'a> RamPacket<'a> {
    /// Whether this is a synchronisation packet.
    pub fn is_sync(&self) -> bool {
        self.flags & FLAG_SYNC != 0
    }

    /// The compression method of the payload.
    pub fn method(&self) -> Method {
        Method::from_flags(self.flags).unwrap_or(Method::None)
    }

    /// Offset within the RAM block of page `i` (normal pages first, then zero pages).
    pub fn offset(&self, i: usize) -> Option<u64> {
        be64(self.offsets, 8 * i)
    }

    /// Offsets of the normal pages.
    pub fn normal_offsets(&self) -> impl Iterator<Item = u64> + 'a {
        let offsets = self.offsets;
        (0..self.normal_pages as usize).filter_map(move |i| be64(offsets, 8 * i))
    }

    /// Offsets of the zero pages.
    pub fn zero_offsets(&self) -> impl Iterator<Item = u64> + 'a {
        let offsets = self.offsets;
        let n = self.normal_pages as usize;
        (n..n + self.zero_pages as usize).filter_map(move |i| be64(offsets, 8 * i))
    }

    /// Check every used offset lies inside a block of `block_len` bytes.
    pub fn check_offsets_within(&self, block_len: u64) -> Result<(), FormatError> {
        let used = (self.normal_pages + self.zero_pages) as usize;
        for i in 0..used {
            let off = self.offset(i).unwrap_or(u64::MAX);
            if off
                .checked_add(self.page_size as u64)
                .is_none_or(|end| end > block_len)
            {
                let at = self.at + (OFFSETS_AT + 8 * i) as u64;
                return Err(FormatError::new(
                    FormatErrorKind::BadOffset,
                    at,
                    "offset",
                    off,
                ));
            }
        }
        Ok(())
    }
}

/// A device-state packet (QEMU 10.0; VFIO device state sent over multifd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStatePacket<'a> {
    /// Byte offset of the packet in the channel stream.
    pub at: u64,
    /// Flags.
    pub flags: u32,
    /// The device's id string.
    pub idstr: &'a str,
    /// The device's instance id.
    pub instance_id: u32,
    /// The opaque device-state bytes.
    pub payload: &'a [u8],
}

/// One packet of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Pages of guest RAM (or a SYNC).
    Ram(RamPacket<'a>),
    /// Device state.
    DeviceState(DeviceStatePacket<'a>),
}

impl<'a> Packet<'a> {
    /// Byte offset in the channel.
    pub fn at(&self) -> u64 {
        match self {
            Packet::Ram(p) => p.at,
            Packet::DeviceState(p) => p.at,
        }
    }

    /// Total bytes the packet occupies (header and payload).
    pub fn wire_len(&self, page_size: usize) -> usize {
        match self {
            Packet::Ram(p) => header_len(page_size) + p.payload.len(),
            Packet::DeviceState(p) => DEVICE_HEADER_LEN + p.payload.len(),
        }
    }
}

/// A NUL-terminated name field as UTF-8.
fn name_field<'a>(bytes: &'a [u8], at: u64, field: &'static str) -> Result<&'a str, FormatError> {
    let bad = || FormatError::new(FormatErrorKind::BadBlockName, at, field, 0);
    let end = bytes.iter().position(|&b| b == 0).ok_or_else(bad)?;
    core::str::from_utf8(&bytes[..end]).map_err(|_| bad())
}

/// Parse the packet at the start of `bytes`, which sits at byte `at` of the channel.
pub fn parse_packet(bytes: &[u8], at: u64, page_size: usize) -> Result<Packet<'_>, FormatError> {
    let err =
        |kind, off: usize, field, value: u64| FormatError::new(kind, at + off as u64, field, value);
    let truncated = |len: usize| {
        err(
            FormatErrorKind::Truncated,
            bytes.len(),
            "packet",
            len as u64,
        )
    };
    if bytes.len() < 12 {
        return Err(truncated(12));
    }
    let magic = be32(bytes, 0).unwrap_or(0);
    if magic != MAGIC {
        return Err(err(FormatErrorKind::BadMagic, 0, "magic", magic.into()));
    }
    let version = be32(bytes, 4).unwrap_or(0);
    if version != VERSION {
        return Err(err(
            FormatErrorKind::BadVersion,
            4,
            "version",
            version.into(),
        ));
    }
    let flags = be32(bytes, 8).unwrap_or(0);
    if flags & !FLAGS_KNOWN != 0 || Method::from_flags(flags).is_none() {
        return Err(err(FormatErrorKind::UnknownFlags, 8, "flags", flags.into()));
    }
    if flags & FLAG_DEVICE_STATE != 0 {
        let header = bytes
            .get(..DEVICE_HEADER_LEN)
            .ok_or_else(|| truncated(DEVICE_HEADER_LEN))?;
        let idstr = name_field(&header[12..268], at + 12, "idstr")?;
        let instance_id = be32(header, 268).unwrap_or(0);
        let size = be32(header, 272).unwrap_or(0) as usize;
        let payload = bytes
            .get(DEVICE_HEADER_LEN..DEVICE_HEADER_LEN + size)
            .ok_or_else(|| truncated(DEVICE_HEADER_LEN + size))?;
        return Ok(Packet::DeviceState(DeviceStatePacket {
            at,
            flags,
            idstr,
            instance_id,
            payload,
        }));
    }
    let hlen = header_len(page_size);
    let header = bytes.get(..hlen).ok_or_else(|| truncated(hlen))?;
    let field = |off| be32(header, off).unwrap_or(0);
    let (pages_alloc, normal_pages, next_packet_size) = (field(12), field(16), field(20));
    let packet_num = be64(header, 24).unwrap_or(0);
    let zero_pages = field(32);
    let page_count = (PACKET_SIZE_BYTES / page_size) as u64;
    if u64::from(pages_alloc) > page_count {
        return Err(err(
            FormatErrorKind::BadPageCount,
            12,
            "pages_alloc",
            pages_alloc.into(),
        ));
    }
    let used = u64::from(normal_pages) + u64::from(zero_pages);
    if used > u64::from(pages_alloc) {
        return Err(err(
            FormatErrorKind::BadPageCount,
            16,
            "normal_pages + zero_pages",
            used,
        ));
    }
    let block = if used == 0 {
        ""
    } else {
        name_field(
            &header[NAME_AT..OFFSETS_AT],
            at + NAME_AT as u64,
            "ramblock",
        )?
    };
    let offsets = &header[OFFSETS_AT..];
    for i in 0..used as usize {
        let off = be64(offsets, 8 * i).unwrap_or(0);
        if off % page_size as u64 != 0 {
            return Err(err(
                FormatErrorKind::BadOffset,
                OFFSETS_AT + 8 * i,
                "offset",
                off,
            ));
        }
    }
    let size = next_packet_size as usize;
    let payload = bytes
        .get(hlen..hlen + size)
        .ok_or_else(|| truncated(hlen + size))?;
    Ok(Packet::Ram(RamPacket {
        at,
        flags,
        pages_alloc,
        normal_pages,
        zero_pages,
        next_packet_size,
        packet_num,
        block,
        offsets,
        payload,
        page_size,
    }))
}

/// Reads the packets of one channel stream (after its init record).
///
/// Yields each packet, or one error and then nothing: after a malformed packet the reader
/// cannot know where the next one starts.
pub struct PacketReader<'a> {
    stream: &'a [u8],
    pos: usize,
    page_size: usize,
    failed: bool,
}

impl<'a> PacketReader<'a> {
    /// Read packets from `stream[start..]` (`start` is usually [`super::INIT_LEN`]).
    pub fn new(stream: &'a [u8], start: usize, page_size: usize) -> Self {
        Self {
            stream,
            pos: start,
            page_size,
            failed: false,
        }
    }

    /// Byte offset of the next packet.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for PacketReader<'a> {
    type Item = Result<Packet<'a>, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.stream.len() {
            return None;
        }
        match parse_packet(&self.stream[self.pos..], self.pos as u64, self.page_size) {
            Ok(p) => {
                self.pos += p.wire_len(self.page_size);
                Some(Ok(p))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
