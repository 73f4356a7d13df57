//! Errors of the multifd parsers.

use core::fmt;

/// What is wrong with multifd data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormatErrorKind {
    /// The data ends inside a record (init, header or payload).
    Truncated,
    /// A magic number is not `0x11223344`.
    BadMagic,
    /// A version is not 1.
    BadVersion,
    /// Flags hold bits no QEMU release defines, or an unknown method combination.
    UnknownFlags,
    /// `normal_pages + zero_pages > pages_alloc`, or `pages_alloc` above the page count.
    BadPageCount,
    /// A page offset is not a multiple of the page size (or past the RAM block's end).
    BadOffset,
    /// `next_packet_size` does not fit the payload framing of the method.
    BadPayloadLength,
    /// A qpl/uadk page length is 0 or larger than the page size.
    BadPageLength,
    /// The RAM block name is not NUL-terminated UTF-8.
    BadBlockName,
    /// A channel id is not below the number of channels, or appears twice.
    BadChannelId,
    /// Channels disagree about the source's uuid.
    UuidMismatch,
}

impl FormatErrorKind {
    /// A short description.
    pub const fn describe(self) -> &'static str {
        use FormatErrorKind::*;
        match self {
            Truncated => "data ends inside a record",
            BadMagic => "bad magic (expected 0x11223344)",
            BadVersion => "bad version (expected 1)",
            UnknownFlags => "unknown flag bits",
            BadPageCount => "inconsistent page counts",
            BadOffset => "page offset not aligned or outside the RAM block",
            BadPageLength => "page length out of range",
            BadPayloadLength => "payload length does not match its framing",
            BadBlockName => "RAM block name is not NUL-terminated UTF-8",
            BadChannelId => "bad channel id",
            UuidMismatch => "channels disagree about the source uuid",
        }
    }
}

/// A malformed multifd record: what, and at which byte of the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FormatError {
    /// What is wrong.
    pub kind: FormatErrorKind,
    /// Byte offset in the channel's stream of the offending field.
    pub offset: u64,
    /// The field's name (`"flags"`, `"offset[3]"` has index 3 in `index`, ...).
    pub field: &'static str,
    /// The offending value, where one applies.
    pub value: u64,
}

impl FormatError {
    pub(crate) const fn new(
        kind: FormatErrorKind,
        offset: u64,
        field: &'static str,
        value: u64,
    ) -> Self {
        Self {
            kind,
            offset,
            field,
            value,
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in field {} (value {:#x}) at byte {}",
            self.kind.describe(),
            self.field,
            self.value,
            self.offset
        )
    }
}

impl core::error::Error for FormatError {}
