//! Parsing a main stream into its parts.

use super::error::{MigrationError, MigrationErrorKind as K};
use super::{ram_flag, record, MAGIC, VERSION};
use alloc::vec::Vec;
use core::ops::Range;

/// A byte cursor that turns every short read into a [`K::Truncated`] error at its offset.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MigrationError> {
        let bytes =
            self.data
                .get(self.pos..self.pos.saturating_add(n))
                .ok_or(MigrationError::new(
                    K::Truncated,
                    self.data.len() as u64,
                    n as u64,
                ))?;
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, MigrationError> {
        Ok(self.take(1)?[0])
    }

    fn be16(&mut self) -> Result<u16, MigrationError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn be32(&mut self) -> Result<u32, MigrationError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn be64(&mut self) -> Result<u64, MigrationError> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// A string with a one-byte length (QEMU's `qemu_put_counted_string`).
    fn counted_str(&mut self) -> Result<&'a str, MigrationError> {
        let at = self.pos;
        let len = self.u8()? as usize;
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| MigrationError::new(K::BadName, at as u64, 0))
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }
}

/// A configuration subsection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSubsection<'a> {
    /// Its name (`configuration/capabilities`, ...).
    pub name: &'a str,
    /// Capabilities listed by `configuration/capabilities`.
    pub capabilities: Vec<&'a str>,
}

/// mapped-ram's per-block header (`MappedRamHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedRamHeader {
    /// Header version (1).
    pub version: u32,
    /// Page size of the block.
    pub page_size: u64,
    /// File offset of the bitmap of present pages (little-endian bit order).
    pub bitmap_offset: u64,
    /// File offset of page 0 (1 MiB aligned).
    pub pages_offset: u64,
}

/// A RAM block announced by the RAM section's setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RamBlockInfo<'a> {
    /// The block's id string.
    pub name: &'a str,
    /// Bytes in use.
    pub used_length: u64,
    /// With mapped-ram: where its pages are in the file.
    pub mapped_ram: Option<MappedRamHeader>,
}

/// What a page item of the main stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainPageData {
    /// `RAM_SAVE_FLAG_PAGE`: the page's bytes are at this range of the stream.
    Page(Range<usize>),
    /// `RAM_SAVE_FLAG_ZERO`: every byte equals this fill byte.
    Fill(u8),
    /// `RAM_SAVE_FLAG_XBZRLE`: a delta against the previous copy, at this range.
    Xbzrle(Range<usize>),
}

/// A page carried in the main stream (migrations without multifd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainPage {
    /// Index into [`MainStream::blocks`].
    pub block: usize,
    /// Offset of the page in its block.
    pub offset: u64,
    /// The item's byte offset in the stream.
    pub at: u64,
    /// The data.
    pub data: MainPageData,
}

/// Counts of RAM section items by flag (an item with several flags counts once per flag).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RamItemCounts {
    /// `MEM_SIZE` items.
    pub mem_size: u64,
    /// `ZERO` items.
    pub zero: u64,
    /// `PAGE` items.
    pub page: u64,
    /// `EOS` items.
    pub eos: u64,
    /// `CONTINUE` items.
    pub continued: u64,
    /// `XBZRLE` items.
    pub xbzrle: u64,
    /// `HOOK` items.
    pub hook: u64,
    /// `MULTIFD_FLUSH` items.
    pub multifd_flush: u64,
}

/// What kind of section record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// `SECTION_START`.
    Start,
    /// `SECTION_PART`.
    Part,
    /// `SECTION_END`.
    End,
    /// `SECTION_FULL`.
    Full,
}

/// A section record of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// Record kind.
    pub kind: SectionKind,
    /// Section id.
    pub id: u32,
    /// The device's id string (from its START/FULL record).
    pub idstr: &'a str,
    /// Instance id.
    pub instance_id: u32,
    /// vmstate version.
    pub version_id: u32,
    /// The record's byte range (header to footer inclusive).
    pub range: Range<usize>,
    /// The state bytes (between header and footer).
    pub data: Range<usize>,
}

/// A `QEMU_VM_COMMAND` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command (`MIG_CMD_*`; 11 = switchover start).
    pub cmd: u16,
    /// Its byte offset.
    pub at: u64,
    /// Its payload range.
    pub data: Range<usize>,
}

/// The VM description at the end of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VmDescription {
    /// Byte offset of the `VMDESCRIPTION` record.
    pub at: u64,
    /// The JSON's byte range.
    pub json: Range<usize>,
    /// Its `page_size`, if given.
    pub page_size: Option<u64>,
    /// Device names, in order (the `devices` array's `name` fields).
    pub devices: Vec<(alloc::string::String, u64)>,
}

/// A parsed main stream.
#[derive(Debug, Clone, PartialEq)]
pub struct MainStream<'a> {
    /// Machine type from the configuration section (`pc-q35-10.0`).
    pub machine: Option<&'a str>,
    /// Configuration subsections.
    pub config_subsections: Vec<ConfigSubsection<'a>>,
    /// Total RAM the setup announced.
    pub mem_size: u64,
    /// RAM blocks, in announcement order.
    pub blocks: Vec<RamBlockInfo<'a>>,
    /// RAM item counts.
    pub ram_items: RamItemCounts,
    /// Pages carried in the main stream, in stream order.
    pub pages: Vec<MainPage>,
    /// Every section record.
    pub sections: Vec<Section<'a>>,
    /// Commands.
    pub commands: Vec<Command>,
    /// Offset of the `EOF` record.
    pub eof_at: Option<u64>,
    /// The VM description, if present.
    pub vmdesc: Option<VmDescription>,
    /// Whether mapped-ram was on (from the configuration's capabilities).
    pub mapped_ram: bool,
}

impl MainStream<'_> {
    /// The block named `name`.
    pub fn block(&self, name: &str) -> Option<&RamBlockInfo<'_>> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// Device-state sections (FULL records other than RAM).
    pub fn device_sections(&self) -> impl Iterator<Item = &Section<'_>> {
        self.sections.iter().filter(|s| s.kind == SectionKind::Full)
    }
}

/// Parse a main stream (or a mapped-ram file) with pages of `page_size` bytes.
pub fn parse_main_stream(data: &[u8], page_size: usize) -> Result<MainStream<'_>, MigrationError> {
    match parse_main_stream_partial(data, page_size) {
        (m, None) => Ok(m),
        (_, Some(e)) => Err(e),
    }
}

/// Parse as much of a main stream as is well-formed: everything before the first error,
/// and that error (for inspecting damaged captures).
pub fn parse_main_stream_partial(
    data: &[u8],
    page_size: usize,
) -> (MainStream<'_>, Option<MigrationError>) {
    let mut parser = Parser::new(data, page_size);
    let error = parser.run().err();
    (parser.out, error)
}

struct Parser<'a> {
    c: Cursor<'a>,
    page_size: usize,
    out: MainStream<'a>,
    /// Section ids started with START/FULL: (id, idstr, instance, version).
    started: Vec<(u32, &'a str, u32, u32)>,
    ram_section: Option<u32>,
    /// Block of the previous RAM item, for CONTINUE.
    last_block: Option<usize>,
}

impl<'a> Parser<'a> {
    fn new(data: &'a [u8], page_size: usize) -> Self {
        Self {
            c: Cursor { data, pos: 0 },
            page_size,
            out: MainStream {
                machine: None,
                config_subsections: Vec::new(),
                mem_size: 0,
                blocks: Vec::new(),
                ram_items: RamItemCounts::default(),
                pages: Vec::new(),
                sections: Vec::new(),
                commands: Vec::new(),
                eof_at: None,
                vmdesc: None,
                mapped_ram: false,
            },
            started: Vec::new(),
            ram_section: None,
            last_block: None,
        }
    }

    fn run(&mut self) -> Result<(), MigrationError> {
        let magic = self.c.be32()?;
        if magic != MAGIC {
            return Err(MigrationError::new(K::BadMagic, 0, magic.into()));
        }
        let version = self.c.be32()?;
        if version != VERSION {
            return Err(MigrationError::new(K::BadVersion, 4, version.into()));
        }
        loop {
            let at = self.c.pos;
            let kind = self.c.u8()?;
            match kind {
                record::CONFIGURATION => self.configuration()?,
                record::SECTION_START | record::SECTION_FULL => self.section_start(at, kind)?,
                record::SECTION_PART | record::SECTION_END => self.section_part(at, kind)?,
                record::COMMAND => {
                    let cmd = self.c.be16()?;
                    let len = self.c.be16()? as usize;
                    let start = self.c.pos;
                    self.c.take(len)?;
                    self.out.commands.push(Command {
                        cmd,
                        at: at as u64,
                        data: start..start + len,
                    });
                }
                record::EOF => {
                    self.out.eof_at = Some(at as u64);
                    return self.vmdescription();
                }
                other => {
                    return Err(MigrationError::new(
                        K::UnknownRecord,
                        at as u64,
                        other.into(),
                    ))
                }
            }
        }
    }

    /// The configuration section: machine name, then subsections.
    fn configuration(&mut self) -> Result<(), MigrationError> {
        let len = self.c.be32()? as usize;
        let at = self.c.pos;
        let name = self.c.take(len)?;
        self.out.machine = Some(
            core::str::from_utf8(name)
                .map_err(|_| MigrationError::new(K::BadName, at as u64, 0))?,
        );
        while self.c.peek() == Some(record::SUBSECTION) {
            self.c.u8()?;
            let sub_at = self.c.pos;
            let name = self.c.counted_str()?;
            let _version = self.c.be32()?;
            let mut sub = ConfigSubsection {
                name,
                capabilities: Vec::new(),
            };
            match name {
                "configuration/capabilities" => {
                    let count = self.c.be32()?;
                    for _ in 0..count {
                        let cap = self.c.counted_str()?;
                        if cap == "mapped-ram" {
                            self.out.mapped_ram = true;
                        }
                        sub.capabilities.push(cap);
                    }
                }
                "configuration/target-page-bits" => {
                    self.c.be32()?;
                }
                "configuration/uuid" => {
                    self.c.take(16)?;
                }
                _ => return Err(MigrationError::new(K::UnknownSubsection, sub_at as u64, 0)),
            }
            self.out.config_subsections.push(sub);
        }
        Ok(())
    }

    fn section_start(&mut self, at: usize, kind: u8) -> Result<(), MigrationError> {
        let id = self.c.be32()?;
        let idstr = self.c.counted_str()?;
        let instance_id = self.c.be32()?;
        let version_id = self.c.be32()?;
        self.started.push((id, idstr, instance_id, version_id));
        if idstr == "ram" {
            self.ram_section = Some(id);
        }
        let kind = if kind == record::SECTION_START {
            SectionKind::Start
        } else {
            SectionKind::Full
        };
        self.section_body(at, kind, (id, idstr, instance_id, version_id))
    }

    fn section_part(&mut self, at: usize, kind: u8) -> Result<(), MigrationError> {
        let id = self.c.be32()?;
        let started = *self
            .started
            .iter()
            .find(|s| s.0 == id)
            .ok_or(MigrationError::new(
                K::UnknownSection,
                (at + 1) as u64,
                id.into(),
            ))?;
        let kind = if kind == record::SECTION_PART {
            SectionKind::Part
        } else {
            SectionKind::End
        };
        self.section_body(at, kind, started)
    }

    /// A section's state (RAM items, or device state up to its footer), its footer, and
    /// the record for [`MainStream::sections`].
    fn section_body(
        &mut self,
        at: usize,
        kind: SectionKind,
        (id, idstr, instance_id, version_id): (u32, &'a str, u32, u32),
    ) -> Result<(), MigrationError> {
        let data_start = self.c.pos;
        if Some(id) == self.ram_section {
            self.ram_items()?;
        } else {
            self.skip_to_footer(id)?;
        }
        let data_end = self.c.pos;
        self.footer(id)?;
        self.out.sections.push(Section {
            kind,
            id,
            idstr,
            instance_id,
            version_id,
            range: at..self.c.pos,
            data: data_start..data_end,
        });
        Ok(())
    }

    fn footer(&mut self, id: u32) -> Result<(), MigrationError> {
        let at = self.c.pos as u64;
        if self.c.u8()? != record::SECTION_FOOTER || self.c.be32()? != id {
            return Err(MigrationError::new(K::BadFooter, at, id.into()));
        }
        Ok(())
    }

    /// Move to the footer of section `id`: the first `0x7e, be32 id` followed by something
    /// that can start the next record (device state has no length of its own).
    fn skip_to_footer(&mut self, id: u32) -> Result<(), MigrationError> {
        let data = self.c.data;
        let mut q = self.c.pos;
        let id_bytes = id.to_be_bytes();
        while let Some(rel) = data
            .get(q..)
            .and_then(|d| d.iter().position(|&b| b == record::SECTION_FOOTER))
        {
            q += rel;
            if data.get(q + 1..q + 5) == Some(&id_bytes[..]) && self.plausible_record(q + 5) {
                self.c.pos = q;
                return Ok(());
            }
            q += 1;
        }
        Err(MigrationError::new(
            K::BadFooter,
            self.c.pos as u64,
            id.into(),
        ))
    }

    /// Whether a record can start at `at`.
    fn plausible_record(&self, at: usize) -> bool {
        let data = self.c.data;
        let Some(&kind) = data.get(at) else {
            return false;
        };
        let be32 = |o: usize| {
            data.get(o..o + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        match kind {
            record::EOF => matches!(data.get(at + 1), None | Some(&record::VMDESCRIPTION)),
            record::SECTION_START | record::SECTION_FULL => {
                let len = data.get(at + 5).copied().unwrap_or(0) as usize;
                len > 0
                    && data
                        .get(at + 6..at + 6 + len)
                        .is_some_and(|n| n.iter().all(|b| b.is_ascii_graphic()))
            }
            record::SECTION_PART | record::SECTION_END => {
                be32(at + 1).is_some_and(|id| self.started.iter().any(|s| s.0 == id))
            }
            record::COMMAND => data.get(at + 1..at + 5).is_some(),
            _ => false,
        }
    }

    /// RAM section items up to and including `EOS`.
    fn ram_items(&mut self) -> Result<(), MigrationError> {
        let page_mask = self.page_size as u64 - 1;
        loop {
            let at = self.c.pos;
            let word = self.c.be64()?;
            let (addr, flags) = (word & !page_mask, word & page_mask);
            self.count_flags(flags);
            if flags & ram_flag::MEM_SIZE != 0 {
                self.block_list(addr)?;
            } else if flags & (ram_flag::ZERO | ram_flag::PAGE | ram_flag::XBZRLE) != 0 {
                self.page_item(at, addr, flags)?;
            } else if flags & (ram_flag::EOS | ram_flag::MULTIFD_FLUSH | ram_flag::HOOK) == 0 {
                return Err(MigrationError::new(K::BadRamItem, at as u64, word));
            }
            if flags & ram_flag::EOS != 0 {
                return Ok(());
            }
        }
    }

    fn count_flags(&mut self, flags: u64) {
        let n = &mut self.out.ram_items;
        for (bit, counter) in [
            (ram_flag::MEM_SIZE, &mut n.mem_size),
            (ram_flag::ZERO, &mut n.zero),
            (ram_flag::PAGE, &mut n.page),
            (ram_flag::EOS, &mut n.eos),
            (ram_flag::CONTINUE, &mut n.continued),
            (ram_flag::XBZRLE, &mut n.xbzrle),
            (ram_flag::HOOK, &mut n.hook),
            (ram_flag::MULTIFD_FLUSH, &mut n.multifd_flush),
        ] {
            *counter += u64::from(flags & bit != 0);
        }
    }

    /// The setup's block list: names and used lengths adding up to `total`.
    fn block_list(&mut self, total: u64) -> Result<(), MigrationError> {
        self.out.mem_size = total;
        let mut left = total;
        while left > 0 {
            let at = self.c.pos;
            let name = self.c.counted_str()?;
            let used_length = self.c.be64()?;
            if used_length > left {
                return Err(MigrationError::new(K::UnknownBlock, at as u64, used_length));
            }
            left -= used_length;
            let mapped_ram = if self.out.mapped_ram {
                Some(self.mapped_ram_header(used_length)?)
            } else {
                None
            };
            self.out.blocks.push(RamBlockInfo {
                name,
                used_length,
                mapped_ram,
            });
        }
        Ok(())
    }

    /// A mapped-ram header; the stream resumes after the block's pages in the file.
    fn mapped_ram_header(&mut self, used_length: u64) -> Result<MappedRamHeader, MigrationError> {
        let at = self.c.pos as u64;
        let h = MappedRamHeader {
            version: self.c.be32()?,
            page_size: self.c.be64()?,
            bitmap_offset: self.c.be64()?,
            pages_offset: self.c.be64()?,
        };
        let resume = h.pages_offset.checked_add(used_length);
        match resume {
            Some(r)
                if h.version == 1
                    && h.page_size == self.page_size as u64
                    && r <= self.c.data.len() as u64 =>
            {
                self.c.pos = r as usize;
                Ok(h)
            }
            _ => Err(MigrationError::new(K::BadMappedRam, at, h.pages_offset)),
        }
    }

    fn page_item(&mut self, at: usize, offset: u64, flags: u64) -> Result<(), MigrationError> {
        let block = if flags & ram_flag::CONTINUE != 0 {
            self.last_block
                .ok_or(MigrationError::new(K::UnknownBlock, at as u64, offset))?
        } else {
            let name_at = self.c.pos;
            let name = self.c.counted_str()?;
            self.out
                .blocks
                .iter()
                .position(|b| b.name == name)
                .ok_or(MigrationError::new(K::UnknownBlock, name_at as u64, 0))?
        };
        let len = self.out.blocks[block].used_length;
        if offset
            .checked_add(self.page_size as u64)
            .is_none_or(|end| end > len)
        {
            return Err(MigrationError::new(K::UnknownBlock, at as u64, offset));
        }
        self.last_block = Some(block);
        let data = if flags & ram_flag::PAGE != 0 {
            let start = self.c.pos;
            self.c.take(self.page_size)?;
            MainPageData::Page(start..start + self.page_size)
        } else if flags & ram_flag::ZERO != 0 {
            MainPageData::Fill(self.c.u8()?)
        } else {
            let enc_at = self.c.pos;
            if self.c.u8()? != 1 {
                return Err(MigrationError::new(K::BadRamItem, enc_at as u64, flags));
            }
            let n = self.c.be16()? as usize;
            let start = self.c.pos;
            self.c.take(n)?;
            MainPageData::Xbzrle(start..start + n)
        };
        self.out.pages.push(MainPage {
            block,
            offset,
            at: at as u64,
            data,
        });
        Ok(())
    }

    /// After `EOF`: an optional `VMDESCRIPTION` record with the JSON.
    fn vmdescription(&mut self) -> Result<(), MigrationError> {
        if self.c.peek() != Some(record::VMDESCRIPTION) {
            return Ok(());
        }
        let at = self.c.pos;
        self.c.u8()?;
        let len = self.c.be32()? as usize;
        let start = self.c.pos;
        let json = self.c.take(len)?;
        let value: serde_json::Value = serde_json::from_slice(json)
            .map_err(|_| MigrationError::new(K::BadVmDescription, start as u64, len as u64))?;
        let devices = value
            .get("devices")
            .and_then(|d| d.as_array())
            .map(|list| {
                list.iter()
                    .map(|d| {
                        let name = d.get("name").and_then(|n| n.as_str()).unwrap_or("");
                        let instance = d.get("instance_id").and_then(|n| n.as_u64()).unwrap_or(0);
                        (alloc::string::String::from(name), instance)
                    })
                    .collect()
            })
            .ok_or(MigrationError::new(K::BadVmDescription, start as u64, 0))?;
        self.out.vmdesc = Some(VmDescription {
            at: at as u64,
            json: start..start + len,
            page_size: value.get("page_size").and_then(|p| p.as_u64()),
            devices,
        });
        Ok(())
    }
}
