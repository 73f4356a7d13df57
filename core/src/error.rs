//! Errors of the deflate decoder and its containers.
//!
//! Every malformed input yields an [`InflateError`] that names *what* went wrong
//! ([`InflateErrorKind`]) and *where* (the bit offset into the deflate stream, or
//! the byte offset into a zlib/gzip container). Nothing in the decoder panics on
//! input bytes.

use core::fmt;

/// What went wrong while decoding a deflate, zlib or gzip stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InflateErrorKind {
    /// The input ended before the final block was complete.
    UnexpectedEof,
    /// Block type 3, which RFC 1951 reserves.
    ReservedBlockType,
    /// A stored block's LEN is not the one's complement of its NLEN.
    StoredLengthMismatch,
    /// A dynamic block declares more than 286 literal/length codes.
    TooManyLengthCodes,
    /// A dynamic block declares more than 30 distance codes (RFC 1951 allows 30; 32 fit the field).
    TooManyDistanceCodes,
    /// The code-length code, the literal/length code or the distance code assigns more
    /// codewords than the code space holds.
    OversubscribedCode,
    /// A code leaves part of the code space unused while using more than one symbol.
    IncompleteCode,
    /// Code-length symbol 16 ("repeat previous") appears before any length was read.
    RepeatWithoutPrevious,
    /// A run of code lengths runs past the number of codes the header declared.
    CodeLengthsOverflow,
    /// The literal/length code gives end-of-block (256) no codeword.
    MissingEndOfBlock,
    /// The bits read do not form a codeword of the current code (or form one of the
    /// reserved symbols 286, 287, 30, 31).
    InvalidSymbol,
    /// A match refers further back than the data decoded so far.
    DistanceTooFarBack,
    /// A match refers further back than the configured window (4096 bytes in strict mode).
    DistanceBeyondWindow,
    /// The output buffer is full but the stream goes on.
    OutputFull,
    /// A page did not decode to exactly one page of output.
    PageSizeMismatch,
    /// The zlib header is malformed (compression method, window size or check bits).
    BadZlibHeader,
    /// The zlib stream asks for a preset dictionary, which is not supported.
    ZlibDictionaryUnsupported,
    /// The zlib trailer's Adler-32 does not match the decoded data.
    Adler32Mismatch,
    /// The gzip header is malformed (magic, method, reserved flags, header CRC).
    BadGzipHeader,
    /// The gzip trailer's CRC-32 does not match the decoded data.
    Crc32Mismatch,
    /// The gzip trailer's ISIZE does not match the decoded length.
    SizeMismatch,
    /// Data follows the end of the stream where none is allowed.
    TrailingData,
}

impl InflateErrorKind {
    /// A short human-readable description.
    pub const fn describe(self) -> &'static str {
        use InflateErrorKind::*;
        match self {
            UnexpectedEof => "input ends before the final block is complete",
            ReservedBlockType => "reserved block type 3",
            StoredLengthMismatch => "stored block LEN does not match the complement of NLEN",
            TooManyLengthCodes => "more than 286 literal/length codes",
            TooManyDistanceCodes => "more than 30 distance codes",
            OversubscribedCode => "over-subscribed Huffman code",
            IncompleteCode => "incomplete Huffman code",
            RepeatWithoutPrevious => "code length repeat with no previous length",
            CodeLengthsOverflow => "code length run exceeds the declared number of codes",
            MissingEndOfBlock => "literal/length code has no end-of-block symbol",
            InvalidSymbol => "invalid Huffman codeword",
            DistanceTooFarBack => "match distance reaches before the start of the output",
            DistanceBeyondWindow => "match distance exceeds the window",
            OutputFull => "output buffer is full but the stream continues",
            PageSizeMismatch => "page did not decode to exactly one page",
            BadZlibHeader => "malformed zlib header",
            ZlibDictionaryUnsupported => "zlib preset dictionary is not supported",
            Adler32Mismatch => "Adler-32 checksum mismatch",
            BadGzipHeader => "malformed gzip header",
            Crc32Mismatch => "CRC-32 checksum mismatch",
            SizeMismatch => "gzip ISIZE does not match the decoded length",
            TrailingData => "unexpected data after the end of the stream",
        }
    }
}

/// Where an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// Bit offset from the start of the raw deflate data (bit 0 = least significant bit of byte 0).
    Bit(u64),
    /// Byte offset from the start of the container (zlib/gzip) or page data.
    Byte(u64),
}

/// A decoding failure: what, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InflateError {
    /// What went wrong.
    pub kind: InflateErrorKind,
    /// Where it was detected.
    pub position: Position,
}

impl InflateError {
    /// An error at a bit offset of the deflate data.
    pub const fn at_bit(kind: InflateErrorKind, bit: u64) -> Self {
        Self {
            kind,
            position: Position::Bit(bit),
        }
    }

    /// An error at a byte offset of the container.
    pub const fn at_byte(kind: InflateErrorKind, byte: u64) -> Self {
        Self {
            kind,
            position: Position::Byte(byte),
        }
    }

    /// Shift the error's position by `bytes` (used when raw deflate data sits inside a container).
    pub const fn offset_by(self, bytes: u64) -> Self {
        let position = match self.position {
            Position::Bit(b) => Position::Bit(b + bytes * 8),
            Position::Byte(b) => Position::Byte(b + bytes),
        };
        Self {
            kind: self.kind,
            position,
        }
    }
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::Bit(bit) => write!(
                f,
                "{} at bit {} (byte {}, bit {})",
                self.kind.describe(),
                bit,
                bit / 8,
                bit % 8
            ),
            Position::Byte(byte) => write!(f, "{} at byte {}", self.kind.describe(), byte),
        }
    }
}

impl core::error::Error for InflateError {}
