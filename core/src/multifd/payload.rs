//! Payload framing of the qpl and uadk methods: `normal_pages` big-endian u32 lengths,
//! then the pages back to back. A length equal to the page size means the page is raw.

use super::error::{FormatError, FormatErrorKind};
use super::{be32, RamPacket};

/// One page of a qpl/uadk payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QplPage<'a> {
    /// Offset of the page in its RAM block.
    pub offset: u64,
    /// The page's bytes on the wire.
    pub data: &'a [u8],
    /// Byte offset of `data` in the channel stream.
    pub at: u64,
}

impl QplPage<'_> {
    /// Whether the page was sent raw (its length is the page size).
    pub fn is_raw(&self, page_size: usize) -> bool {
        self.data.len() == page_size
    }
}

/// The pages of a qpl/uadk RAM packet, validated.
#[derive(Debug, Clone)]
pub struct QplPages<'a> {
    packet: RamPacket<'a>,
    /// Offset in the payload of the first page's bytes.
    data_start: usize,
}

impl<'a> QplPages<'a> {
    /// Validate the framing: every length in `1..=page_size` and
    /// `next_packet_size == 4·normal_pages + Σ lengths`.
    pub fn parse(packet: RamPacket<'a>) -> Result<Self, FormatError> {
        let n = packet.normal_pages as usize;
        let payload_at = packet.at + super::header_len(packet.page_size) as u64;
        let data_start = 4 * n;
        if packet.payload.len() < data_start {
            return Err(FormatError::new(
                FormatErrorKind::BadPayloadLength,
                packet.at + 20,
                "next_packet_size",
                packet.payload.len() as u64,
            ));
        }
        let mut total = data_start as u64;
        for i in 0..n {
            let len = be32(packet.payload, 4 * i).unwrap_or(0);
            if len == 0 || len as usize > packet.page_size {
                return Err(FormatError::new(
                    FormatErrorKind::BadPageLength,
                    payload_at + 4 * i as u64,
                    "page length",
                    len.into(),
                ));
            }
            total += u64::from(len);
        }
        if total != packet.payload.len() as u64 {
            return Err(FormatError::new(
                FormatErrorKind::BadPayloadLength,
                packet.at + 20,
                "next_packet_size",
                packet.payload.len() as u64,
            ));
        }
        Ok(Self { packet, data_start })
    }

    /// The pages in order.
    pub fn iter(&self) -> impl Iterator<Item = QplPage<'a>> + '_ {
        let payload = self.packet.payload;
        let payload_at = self.packet.at + super::header_len(self.packet.page_size) as u64;
        let mut pos = self.data_start;
        (0..self.packet.normal_pages as usize).map(move |i| {
            let len = be32(payload, 4 * i).unwrap_or(0) as usize;
            let data = payload.get(pos..pos + len).unwrap_or(&[]);
            let at = payload_at + pos as u64;
            pos += len;
            QplPage {
                offset: self.packet.offset(i).unwrap_or(0),
                data,
                at,
            }
        })
    }
}
