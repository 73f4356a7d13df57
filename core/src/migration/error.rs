//! Errors of the main-stream parser.

use core::fmt;

/// What is wrong with a main stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationErrorKind {
    /// The stream ends inside a record.
    Truncated,
    /// The stream does not start with "QEVM".
    BadMagic,
    /// A stream version other than 3.
    BadVersion,
    /// A record type byte no QEMU writes.
    UnknownRecord,
    /// A section id that was never started.
    UnknownSection,
    /// A section footer is missing or names another section.
    BadFooter,
    /// A RAM item with flags this parser does not know, or in the wrong place.
    BadRamItem,
    /// A RAM item names a block the stream never announced, or an offset outside it.
    UnknownBlock,
    /// A configuration subsection this parser cannot size.
    UnknownSubsection,
    /// A name that is not UTF-8.
    BadName,
    /// The VM description is not valid JSON (or not an object).
    BadVmDescription,
    /// A mapped-ram header is malformed.
    BadMappedRam,
}

impl MigrationErrorKind {
    /// A short description.
    pub const fn describe(self) -> &'static str {
        use MigrationErrorKind::*;
        match self {
            Truncated => "stream ends inside a record",
            BadMagic => "not a migration stream (no QEVM magic)",
            BadVersion => "unsupported stream version",
            UnknownRecord => "unknown record type",
            UnknownSection => "section id was never started",
            BadFooter => "missing or mismatched section footer",
            BadRamItem => "malformed RAM section item",
            UnknownBlock => "unknown RAM block or offset outside it",
            UnknownSubsection => "unknown configuration subsection",
            BadName => "name is not UTF-8",
            BadVmDescription => "malformed VM description JSON",
            BadMappedRam => "malformed mapped-ram header",
        }
    }
}

/// A malformed main stream: what, and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MigrationError {
    /// What is wrong.
    pub kind: MigrationErrorKind,
    /// Byte offset in the stream.
    pub offset: u64,
    /// The offending value, where one applies.
    pub value: u64,
}

impl MigrationError {
    pub(crate) const fn new(kind: MigrationErrorKind, offset: u64, value: u64) -> Self {
        Self {
            kind,
            offset,
            value,
        }
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (value {:#x}) at byte {}",
            self.kind.describe(),
            self.value,
            self.offset
        )
    }
}

impl core::error::Error for MigrationError {}
