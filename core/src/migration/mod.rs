//! The main migration channel ("QEVM" stream, `migration/savevm.c`, `ram.c`) and mapped-ram
//! files: the configuration, the RAM section (block list and, without multifd, the pages
//! themselves), device-state sections as byte ranges, commands, and the VM description
//! JSON at the end.
//!
//! Device-state sections have no length field: their contents are described only by the
//! VM description at the end of the stream. This parser finds a section's end by its
//! footer (`0x7e` + section id) followed by a plausible next record, and cross-checks the
//! device sections it found against the VM description's device list.

pub mod emit;
mod error;
mod stream;
pub mod vmstate;

pub use error::{MigrationError, MigrationErrorKind};
pub use stream::{
    parse_main_stream, parse_main_stream_partial, Command, ConfigSubsection, MainPage,
    MainPageData, MainStream, MappedRamHeader, RamBlockInfo, RamItemCounts, Section, SectionKind,
    VmDescription,
};

/// First word of a migration stream ("QEVM").
pub const MAGIC: u32 = 0x5145_564d;
/// Stream version QEMU writes.
pub const VERSION: u32 = 3;

/// Record types of the main stream.
pub mod record {
    /// End of the device state.
    pub const EOF: u8 = 0x00;
    /// Start of an iterative section (RAM, ...).
    pub const SECTION_START: u8 = 0x01;
    /// A part of an iterative section.
    pub const SECTION_PART: u8 = 0x02;
    /// The last part of an iterative section.
    pub const SECTION_END: u8 = 0x03;
    /// A complete device section.
    pub const SECTION_FULL: u8 = 0x04;
    /// A subsection inside a section's state.
    pub const SUBSECTION: u8 = 0x05;
    /// The VM description JSON.
    pub const VMDESCRIPTION: u8 = 0x06;
    /// The configuration section.
    pub const CONFIGURATION: u8 = 0x07;
    /// A command (`MIG_CMD_*`).
    pub const COMMAND: u8 = 0x08;
    /// Section footer.
    pub const SECTION_FOOTER: u8 = 0x7e;
}

/// RAM section item flags (low bits of each be64 item).
pub mod ram_flag {
    /// A page whose bytes all equal one fill byte.
    pub const ZERO: u64 = 0x02;
    /// The total RAM size and block list follow.
    pub const MEM_SIZE: u64 = 0x04;
    /// A whole page follows.
    pub const PAGE: u64 = 0x08;
    /// End of this section part.
    pub const EOS: u64 = 0x10;
    /// Same block as the previous item (no name sent).
    pub const CONTINUE: u64 = 0x20;
    /// An XBZRLE-encoded page follows.
    pub const XBZRLE: u64 = 0x40;
    /// RDMA hook.
    pub const HOOK: u64 = 0x80;
    /// Old compressed page (removed in QEMU 9.1).
    pub const COMPRESS_PAGE: u64 = 0x100;
    /// Multifd synchronisation point.
    pub const MULTIFD_FLUSH: u64 = 0x200;
}
