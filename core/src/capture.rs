//! A capture: the recorded byte streams of one migration (a main channel and its multifd
//! channels, or one plain / mapped-ram file), turned into channels, packets, sections and
//! pages, and into the guest RAM they carry.
//!
//! Channels are told apart as QEMU does: by their first four bytes (`QEVM` is the main
//! channel, `0x11223344` a multifd channel) and multifd channels by the id in their init
//! record, whatever order the files come in. Pages are applied in stream order — multifd
//! packets in `packet_num` order across all channels, since the sender numbers them
//! globally and a live migration re-sends dirty pages on any channel — so the last write
//! wins, as on the destination.

use crate::container::ZlibDecoder;
use crate::inflate::{Decompressor, InflateOptions, StreamStatus};
use crate::migration::{self, MainPageData, MainStream, MigrationError};
use crate::multifd::{
    self, ChannelInit, FormatError, FormatErrorKind, Method, Packet, PacketReader, QplPages,
    RamPacket,
};
use crate::page::decompress_page;
use crate::InflateError;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// Why a capture cannot be read (or a page not decoded).
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureError {
    /// A file starts with neither `QEVM` nor the multifd magic.
    UnknownStream {
        /// Index of the file among those given.
        file: usize,
    },
    /// More than one main channel, or two channels with the same id.
    DuplicateChannel {
        /// Index of the file.
        file: usize,
    },
    /// Multifd channels but no main channel: block sizes are unknown.
    MissingMainChannel,
    /// Rebuilding RAM would need more memory than the caller allows.
    TooLarge {
        /// Bytes of RAM the stream announces.
        announced: u64,
        /// The caller's limit.
        limit: u64,
    },
    /// The main stream is malformed.
    Main(MigrationError),
    /// A multifd channel is malformed.
    Multifd {
        /// Channel id.
        channel: u8,
        /// The error.
        error: FormatError,
    },
    /// A page does not decode.
    Page {
        /// Channel id (`None` for the main stream).
        channel: Option<u8>,
        /// Byte offset of the page data (or packet) in its channel.
        at: u64,
        /// Why.
        error: PageErrorKind,
    },
}

/// Why a page did not decode.
#[derive(Debug, Clone, PartialEq)]
pub enum PageErrorKind {
    /// The deflate data is bad.
    Inflate(InflateError),
    /// zstd data is bad (the decoder's message).
    Zstd(String),
    /// The stream ended before the packet's pages.
    ShortStream,
    /// A page names a block the main stream did not announce, or lies outside it.
    OutsideBlock,
    /// An XBZRLE delta is malformed.
    BadXbzrle,
    /// A method this decoder does not handle.
    Unsupported(&'static str),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::UnknownStream { file } => {
                write!(
                    f,
                    "file {file} is neither a main channel (QEVM) nor a multifd channel"
                )
            }
            CaptureError::DuplicateChannel { file } => write!(f, "file {file} repeats a channel"),
            CaptureError::MissingMainChannel => {
                f.write_str("multifd channels without their main channel (block sizes unknown)")
            }
            CaptureError::TooLarge { announced, limit } => write!(
                f,
                "the stream announces {announced} bytes of RAM, more than the limit of {limit}"
            ),
            CaptureError::Main(e) => write!(f, "main channel: {e}"),
            CaptureError::Multifd { channel, error } => {
                write!(f, "multifd channel {channel}: {error}")
            }
            CaptureError::Page { channel, at, error } => {
                match channel {
                    Some(c) => write!(f, "multifd channel {c}, byte {at}: ")?,
                    None => write!(f, "main channel, byte {at}: ")?,
                }
                match error {
                    PageErrorKind::Inflate(e) => write!(f, "page does not inflate: {e}"),
                    PageErrorKind::Zstd(e) => write!(f, "zstd: {e}"),
                    PageErrorKind::ShortStream => {
                        f.write_str("compressed stream ends before the packet's pages")
                    }
                    PageErrorKind::OutsideBlock => f.write_str("page outside its RAM block"),
                    PageErrorKind::BadXbzrle => f.write_str("malformed XBZRLE delta"),
                    PageErrorKind::Unsupported(m) => write!(f, "method {m} is not supported"),
                }
            }
        }
    }
}

impl core::error::Error for CaptureError {}

/// How serious an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing (pages re-sent by a live migration).
    Info,
    /// Unusual but decodable.
    Warning,
    /// Malformed: part of the capture could not be read.
    Error,
}

/// Something found while reading a capture, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// How serious.
    pub severity: Severity,
    /// Multifd channel id (`None`: the main channel or the capture as a whole).
    pub channel: Option<u8>,
    /// Byte offset in that channel.
    pub offset: u64,
    /// What was found.
    pub message: String,
    /// For errors: the error a strict [`Capture::open`] reports.
    pub cause: Option<CaptureError>,
}

/// Where a page of a capture comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSource {
    /// `MainStream::pages[index]` (migrations without multifd).
    Main {
        /// Index into the main stream's pages.
        index: usize,
    },
    /// A mapped-ram file page at byte `at`.
    File {
        /// Byte offset in the file.
        at: u64,
    },
    /// Normal page `page` of packet `packet` (index into the channel's packets) of channel
    /// `channel` (index into [`Capture::channels`]).
    Multifd {
        /// Channel index.
        channel: usize,
        /// Packet index within the channel.
        packet: usize,
        /// Page index within the packet's normal pages.
        page: usize,
    },
    /// A zero page listed by a multifd packet.
    MultifdZero {
        /// Channel index.
        channel: usize,
        /// Packet index within the channel.
        packet: usize,
    },
}

/// One page of a capture: which block, where, and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEvent {
    /// Index into the main stream's blocks.
    pub block: usize,
    /// Offset of the page in its block.
    pub offset: u64,
    /// Where the data is.
    pub source: PageSource,
}

/// A page's own bytes on the wire (see [`Capture::page_wire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWire<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Their byte offset in their file (channel stream or main stream).
    pub at: u64,
    /// Whether they are raw deflate (else the page as it is).
    pub deflate: bool,
}

/// What kind of migration a capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureKind {
    /// Main channel plus multifd channels.
    Multifd,
    /// One stream with the pages in the main channel (`exec:`, plain `tcp:` without multifd).
    Plain,
    /// A `file:` migration with mapped-ram.
    MappedRam,
}

/// One multifd channel of a capture.
#[derive(Debug, Clone)]
pub struct Channel<'a> {
    /// Index of the file it came from.
    pub file: usize,
    /// Its init record.
    pub init: ChannelInit,
    /// Its bytes.
    pub stream: &'a [u8],
    /// Its packets, in stream order.
    pub packets: Vec<Packet<'a>>,
}

/// Per-channel statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Packets, SYNC packets included.
    pub packets: u64,
    /// SYNC packets.
    pub sync_packets: u64,
    /// Pages whose data was sent.
    pub normal_pages: u64,
    /// Zero pages.
    pub zero_pages: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// qpl/uadk pages sent raw.
    pub raw_pages: u64,
    /// qpl/uadk pages sent as deflate.
    pub deflate_pages: u64,
    /// Lowest and highest packet number.
    pub packet_num_range: Option<(u64, u64)>,
}

/// A capture opened from its files.
#[derive(Debug, Clone)]
pub struct Capture<'a> {
    /// What kind.
    pub kind: CaptureKind,
    /// The main stream, parsed.
    pub main: MainStream<'a>,
    /// The main stream's bytes.
    pub main_bytes: &'a [u8],
    /// Multifd channels, sorted by id.
    pub channels: Vec<Channel<'a>>,
    /// Page size.
    pub page_size: usize,
    /// Everything unusual found while opening, in the order found.
    pub anomalies: Vec<Anomaly>,
}

impl<'a> Capture<'a> {
    /// Open a capture from its files' bytes, in any order, reading as much as is
    /// well-formed: malformed parts become [`Anomaly`]s of [`Severity::Error`] instead of
    /// failing (a channel keeps its packets up to the first bad one; the main stream keeps
    /// what came before its first bad record). Fails only without a main channel.
    pub fn open_lenient(files: &[&'a [u8]], page_size: usize) -> Result<Self, CaptureError> {
        let mut anomalies = Vec::new();
        let mut main: Option<&'a [u8]> = None;
        let mut channels: Vec<Channel<'a>> = Vec::new();
        let mut note = |severity, channel, offset, message: String, cause: CaptureError| {
            anomalies.push(Anomaly {
                severity,
                channel,
                offset,
                message,
                cause: Some(cause),
            })
        };
        for (file, &bytes) in files.iter().enumerate() {
            match bytes.get(..4) {
                Some(m) if m == migration::MAGIC.to_be_bytes() => {
                    if main.is_some() {
                        note(Severity::Error, None, 0, alloc::format!("file {file}: a second main channel (ignored)"), CaptureError::DuplicateChannel { file });
                    } else {
                        main = Some(bytes);
                    }
                }
                Some(m) if m == multifd::MAGIC.to_be_bytes() => {
                    let init = match ChannelInit::parse(bytes) {
                        Ok(init) => init,
                        Err(e) => {
                            note(Severity::Error, None, e.offset, alloc::format!("file {file}: {e}"), CaptureError::Multifd { channel: 0, error: e });
                            continue;
                        }
                    };
                    if channels.iter().any(|c| c.init.id == init.id) {
                        note(Severity::Error, Some(init.id), 24, alloc::format!("file {file}: channel id {} appears twice (ignored)", init.id), CaptureError::DuplicateChannel { file });
                        continue;
                    }
                    let mut packets = Vec::new();
                    for p in PacketReader::new(bytes, multifd::INIT_LEN, page_size) {
                        match p {
                            Ok(p) => packets.push(p),
                            Err(e) => note(Severity::Error, Some(init.id), e.offset, alloc::format!("{e}; the rest of the channel is unreadable"), CaptureError::Multifd { channel: init.id, error: e }),
                        }
                    }
                    channels.push(Channel { file, init, stream: bytes, packets });
                }
                _ => note(Severity::Error, None, 0, alloc::format!("file {file} is neither a main channel (QEVM) nor a multifd channel (ignored)"), CaptureError::UnknownStream { file }),
            }
        }
        let main_bytes = main.ok_or(CaptureError::MissingMainChannel)?;
        let (main, error) = migration::parse_main_stream_partial(main_bytes, page_size);
        if let Some(e) = error {
            note(
                Severity::Error,
                None,
                e.offset,
                alloc::format!("{e}; the rest of the main channel is unreadable"),
                CaptureError::Main(e),
            );
        }
        channels.sort_by_key(|c| c.init.id);
        let kind = if main.mapped_ram {
            CaptureKind::MappedRam
        } else if channels.is_empty() {
            CaptureKind::Plain
        } else {
            CaptureKind::Multifd
        };
        let mut capture = Self {
            kind,
            main,
            main_bytes,
            channels,
            page_size,
            anomalies,
        };
        capture.review();
        Ok(capture)
    }

    /// Open a capture and require it to be well-formed: the first [`Severity::Error`]
    /// anomaly fails the open.
    pub fn open(files: &[&'a [u8]], page_size: usize) -> Result<Self, CaptureError> {
        let capture = Self::open_lenient(files, page_size)?;
        match capture
            .anomalies
            .iter()
            .find(|a| a.severity == Severity::Error)
        {
            Some(a) => Err(a.cause.clone().unwrap_or(CaptureError::MissingMainChannel)),
            None => Ok(capture),
        }
    }

    /// Cross-checks that find anomalies in an opened capture: channel ids and uuids,
    /// page offsets outside their blocks, packet numbers, re-sent pages, device sections
    /// against the VM description.
    fn review(&mut self) {
        let mut found = Vec::new();
        // An error in multifd channel `channel` at the field `e` names.
        let error = |channel: u8, e: FormatError, message: String| Anomaly {
            severity: Severity::Error,
            channel: Some(channel),
            offset: e.offset,
            message,
            cause: Some(CaptureError::Multifd { channel, error: e }),
        };
        let warning = |channel: Option<u8>, offset: u64, message: String| Anomaly {
            severity: Severity::Warning,
            channel,
            offset,
            message,
            cause: None,
        };
        if let Err(CaptureError::Multifd { channel, error: e }) =
            Self::check_channels(&self.channels)
        {
            found.push(error(channel, e, alloc::format!("{e}")));
        }
        let mut numbers: Vec<u64> = Vec::new();
        let mut sent: alloc::collections::BTreeMap<(&str, u64), u32> = Default::default();
        for c in &self.channels {
            let id = c.init.id;
            let mut last = None;
            for p in &c.packets {
                let Packet::Ram(r) = p else { continue };
                numbers.push(r.packet_num);
                if last.is_some_and(|l| r.packet_num <= l) {
                    let msg = alloc::format!(
                        "packet_num {} does not increase on its channel",
                        r.packet_num
                    );
                    found.push(warning(Some(id), r.at + 24, msg));
                }
                last = Some(r.packet_num);
                if r.normal_pages + r.zero_pages == 0 {
                    continue;
                }
                match self.main.block(r.block) {
                    None => {
                        let e = FormatError {
                            kind: FormatErrorKind::BadOffset,
                            offset: r.at + 64,
                            field: "ramblock",
                            value: 0,
                        };
                        let msg = alloc::format!(
                            "RAM block {:?} was never announced by the main channel",
                            r.block
                        );
                        found.push(error(id, e, msg));
                    }
                    Some(b) => {
                        if let Err(e) = r.check_offsets_within(b.used_length) {
                            let msg = alloc::format!(
                                "{e} (block {} is {} bytes)",
                                r.block,
                                b.used_length
                            );
                            found.push(error(id, e, msg));
                        }
                    }
                }
                for off in r.normal_offsets().chain(r.zero_offsets()) {
                    *sent.entry((r.block, off)).or_default() += 1;
                }
            }
        }
        numbers.sort_unstable();
        if numbers.windows(2).any(|w| w[0] == w[1]) {
            found.push(warning(
                None,
                0,
                "the same packet_num appears more than once across channels".into(),
            ));
        }
        let resent = sent.values().filter(|&&n| n > 1).count();
        if resent > 0 {
            found.push(Anomaly {
                severity: Severity::Info,
                channel: None,
                offset: 0,
                message: alloc::format!("{resent} pages were sent more than once (a live migration re-sends dirtied pages)"),
                cause: None,
            });
        }
        if let Some(v) = &self.main.vmdesc {
            let devices = self.main.device_sections().count();
            if devices != v.devices.len() {
                let msg = alloc::format!(
                    "{devices} device sections found, the VM description lists {}",
                    v.devices.len()
                );
                found.push(warning(None, v.at, msg));
            }
        } else if self.main.eof_at.is_some() {
            let msg = "no VM description after the end of the device state".into();
            found.push(warning(None, self.main_bytes.len() as u64, msg));
        }
        self.anomalies.extend(found);
    }

    /// Whether any anomaly is an error.
    pub fn is_damaged(&self) -> bool {
        self.anomalies.iter().any(|a| a.severity == Severity::Error)
    }

    /// Channel ids are 0..n and every channel names the same source uuid.
    fn check_channels(channels: &[Channel<'_>]) -> Result<(), CaptureError> {
        for (i, c) in channels.iter().enumerate() {
            let fail = |kind, offset, value: u64| CaptureError::Multifd {
                channel: c.init.id,
                error: FormatError {
                    kind,
                    offset,
                    field: "init",
                    value,
                },
            };
            if usize::from(c.init.id) != i {
                return Err(fail(FormatErrorKind::BadChannelId, 24, c.init.id.into()));
            }
            if c.init.uuid != channels[0].init.uuid {
                return Err(fail(FormatErrorKind::UuidMismatch, 8, 0));
            }
        }
        Ok(())
    }

    /// The compression method of the multifd packets (the first non-SYNC packet's).
    pub fn method(&self) -> Option<Method> {
        self.channels
            .iter()
            .flat_map(|c| &c.packets)
            .find_map(|p| match p {
                Packet::Ram(r) if !r.is_sync() || r.normal_pages > 0 => Some(r.method()),
                _ => None,
            })
    }

    /// Every page the capture carries, in stream order, with where it came from; the data
    /// is not decoded here (see [`Capture::decode_page`]). Multifd pages come in global
    /// `packet_num` order, so applying the events in order rebuilds RAM (last write wins).
    pub fn page_events(&self) -> Vec<PageEvent> {
        let mut events = Vec::new();
        match self.kind {
            CaptureKind::MappedRam => {
                for (b, info) in self.main.blocks.iter().enumerate() {
                    let Some(h) = info.mapped_ram else { continue };
                    for i in 0..(info.used_length as usize / self.page_size) {
                        let byte = self
                            .main_bytes
                            .get(h.bitmap_offset as usize + i / 8)
                            .copied()
                            .unwrap_or(0);
                        if byte >> (i % 8) & 1 != 0 {
                            let at = h.pages_offset + (i * self.page_size) as u64;
                            events.push(PageEvent {
                                block: b,
                                offset: (i * self.page_size) as u64,
                                source: PageSource::File { at },
                            });
                        }
                    }
                }
            }
            _ => {
                for (k, p) in self.main.pages.iter().enumerate() {
                    events.push(PageEvent {
                        block: p.block,
                        offset: p.offset,
                        source: PageSource::Main { index: k },
                    });
                }
            }
        }
        let mut multifd: Vec<(u64, usize, usize)> = Vec::new();
        for (c, ch) in self.channels.iter().enumerate() {
            for (k, p) in ch.packets.iter().enumerate() {
                if let Packet::Ram(r) = p {
                    multifd.push((r.packet_num, c, k));
                }
            }
        }
        multifd.sort_unstable();
        for (_, c, k) in multifd {
            let Packet::Ram(r) = &self.channels[c].packets[k] else {
                continue;
            };
            let Some(block) = self.main.blocks.iter().position(|b| b.name == r.block) else {
                continue;
            };
            for (i, offset) in r.normal_offsets().enumerate() {
                events.push(PageEvent {
                    block,
                    offset,
                    source: PageSource::Multifd {
                        channel: c,
                        packet: k,
                        page: i,
                    },
                });
            }
            for offset in r.zero_offsets() {
                events.push(PageEvent {
                    block,
                    offset,
                    source: PageSource::MultifdZero {
                        channel: c,
                        packet: k,
                    },
                });
            }
        }
        events
    }

    /// Decode one page of the capture. Random access for pages sent raw, as none or qpl
    /// (and uadk, qatzip); zlib and zstd keep one stream per channel, so their pages are
    /// decoded by running the channel's stream from its start up to the page's packet.
    pub fn decode_page(&self, source: &PageSource) -> Result<Vec<u8>, CaptureError> {
        let ps = self.page_size;
        match *source {
            PageSource::Main { index } => {
                let p = self.main.pages.get(index).ok_or(CaptureError::Page {
                    channel: None,
                    at: 0,
                    error: PageErrorKind::OutsideBlock,
                })?;
                let mut page = vec![0u8; ps];
                match &p.data {
                    MainPageData::Page(r) => page.copy_from_slice(&self.main_bytes[r.clone()]),
                    MainPageData::Fill(b) => page.fill(*b),
                    // A delta needs the page's earlier content: rebuild up to here.
                    MainPageData::Xbzrle(_) => {
                        for q in &self.main.pages[..=index] {
                            if q.block == p.block && q.offset == p.offset {
                                match &q.data {
                                    MainPageData::Page(r) => {
                                        page.copy_from_slice(&self.main_bytes[r.clone()])
                                    }
                                    MainPageData::Fill(b) => page.fill(*b),
                                    MainPageData::Xbzrle(r) => {
                                        xbzrle_apply(&self.main_bytes[r.clone()], &mut page)
                                            .map_err(|()| CaptureError::Page {
                                                channel: None,
                                                at: q.at,
                                                error: PageErrorKind::BadXbzrle,
                                            })?
                                    }
                                }
                            }
                        }
                    }
                }
                Ok(page)
            }
            PageSource::File { at } => self
                .main_bytes
                .get(at as usize..at as usize + ps)
                .map(<[u8]>::to_vec)
                .ok_or(CaptureError::Page {
                    channel: None,
                    at,
                    error: PageErrorKind::ShortStream,
                }),
            PageSource::MultifdZero { .. } => Ok(vec![0u8; ps]),
            PageSource::Multifd {
                channel,
                packet,
                page,
            } => {
                let pages = self.decode_packet(channel, packet)?;
                let at = match self.channels[channel].packets.get(packet) {
                    Some(p) => p.at(),
                    None => 0,
                };
                pages
                    .get(page * ps..(page + 1) * ps)
                    .map(<[u8]>::to_vec)
                    .ok_or(CaptureError::Page {
                        channel: Some(self.channels[channel].init.id),
                        at,
                        error: PageErrorKind::ShortStream,
                    })
            }
        }
    }

    /// Decode all normal pages of packet `packet` of channel `channel` (indices), in
    /// order. Random access for none/qpl/uadk/qatzip packets; zlib and zstd run the
    /// channel's stream from its start.
    pub fn decode_packet(&self, channel: usize, packet: usize) -> Result<Vec<u8>, CaptureError> {
        let ps = self.page_size;
        let ch = self
            .channels
            .get(channel)
            .ok_or(CaptureError::MissingMainChannel)?;
        let fail = |at, error| CaptureError::Page {
            channel: Some(ch.init.id),
            at,
            error,
        };
        let Some(Packet::Ram(r)) = ch.packets.get(packet) else {
            return Err(fail(0, PageErrorKind::OutsideBlock));
        };
        match r.method() {
            Method::Zlib | Method::Zstd => {
                // Sequential: decode the channel's packets up to this one.
                let upto: Vec<RamPacket<'_>> = ch.packets[..=packet]
                    .iter()
                    .filter_map(|p| match p {
                        Packet::Ram(r) => Some(*r),
                        _ => None,
                    })
                    .collect();
                if r.method() == Method::Zstd {
                    let payloads: Vec<&[u8]> = upto.iter().map(|r| r.payload).collect();
                    let all = decode_zstd_channel(&payloads).map_err(|e| fail(r.at, e))?;
                    let before: usize = upto[..upto.len() - 1]
                        .iter()
                        .map(|r| r.normal_pages as usize * ps)
                        .sum();
                    all.get(before..before + r.normal_pages as usize * ps)
                        .map(<[u8]>::to_vec)
                        .ok_or(fail(r.at, PageErrorKind::ShortStream))
                } else {
                    let mut dec = PayloadDecoder::new(ps);
                    let mut last = Vec::new();
                    for q in &upto {
                        last = dec.decode(q).map_err(|e| fail(q.at, e))?;
                    }
                    Ok(last)
                }
            }
            _ => PayloadDecoder::new(ps).decode(r).map_err(|e| fail(r.at, e)),
        }
    }

    /// The bytes a page occupies on the wire, when it has bytes of its own: a qpl/uadk
    /// page (deflate, or raw when as long as a page), a page of a method-none packet, a
    /// page of the main stream or of a mapped-ram file. `None` for zero pages and for
    /// zlib/zstd/qatzip pages (their packets share one compressed stream).
    pub fn page_wire(&self, source: &PageSource) -> Option<PageWire<'a>> {
        let ps = self.page_size;
        match *source {
            PageSource::Main { index } => match &self.main.pages.get(index)?.data {
                MainPageData::Page(r) => Some(PageWire {
                    bytes: self.main_bytes.get(r.clone())?,
                    at: r.start as u64,
                    deflate: false,
                }),
                _ => None,
            },
            PageSource::File { at } => Some(PageWire {
                bytes: self.main_bytes.get(at as usize..at as usize + ps)?,
                at,
                deflate: false,
            }),
            PageSource::MultifdZero { .. } => None,
            PageSource::Multifd {
                channel,
                packet,
                page,
            } => {
                let ch = self.channels.get(channel)?;
                let Some(Packet::Ram(r)) = ch.packets.get(packet) else {
                    return None;
                };
                let payload_at = |bytes: &'a [u8]| {
                    (bytes.as_ptr() as usize).wrapping_sub(ch.stream.as_ptr() as usize) as u64
                };
                match r.method() {
                    Method::None => {
                        let bytes = r.payload.get(page * ps..(page + 1) * ps)?;
                        Some(PageWire {
                            bytes,
                            at: payload_at(bytes),
                            deflate: false,
                        })
                    }
                    Method::Qpl | Method::Uadk => {
                        let pages = QplPages::parse(*r).ok()?;
                        let p = pages.iter().nth(page)?;
                        Some(PageWire {
                            bytes: p.data,
                            at: payload_at(p.data),
                            deflate: !p.is_raw(ps),
                        })
                    }
                    _ => None,
                }
            }
        }
    }

    /// Statistics of one channel.
    pub fn channel_stats(&self, channel: &Channel<'_>) -> Result<ChannelStats, CaptureError> {
        let mut s = ChannelStats::default();
        for p in &channel.packets {
            let Packet::Ram(r) = p else { continue };
            s.packets += 1;
            s.sync_packets += u64::from(r.is_sync());
            s.normal_pages += u64::from(r.normal_pages);
            s.zero_pages += u64::from(r.zero_pages);
            s.payload_bytes += r.payload.len() as u64;
            let (lo, hi) = s.packet_num_range.unwrap_or((r.packet_num, r.packet_num));
            s.packet_num_range = Some((lo.min(r.packet_num), hi.max(r.packet_num)));
            if matches!(r.method(), Method::Qpl | Method::Uadk) && r.normal_pages > 0 {
                let pages = QplPages::parse(*r).map_err(|error| CaptureError::Multifd {
                    channel: channel.init.id,
                    error,
                })?;
                for page in pages.iter() {
                    if page.is_raw(self.page_size) {
                        s.raw_pages += 1;
                    } else {
                        s.deflate_pages += 1;
                    }
                }
            }
        }
        Ok(s)
    }

    /// Rebuild guest RAM: one buffer per announced block (zero-filled, then every page
    /// applied in stream order). Returns `(block name, contents)` in announcement order.
    ///
    /// Memory: the announced RAM (refused above `max_bytes`, so a hostile stream cannot
    /// make this allocate more), one packet's decoded pages (≤ 512 KiB) at a time, and for
    /// zstd the decoded stream of each channel.
    pub fn reconstruct_ram(&self, max_bytes: u64) -> Result<Vec<(String, Vec<u8>)>, CaptureError> {
        let announced: u64 = self.main.blocks.iter().map(|b| b.used_length).sum();
        if announced > max_bytes {
            return Err(CaptureError::TooLarge {
                announced,
                limit: max_bytes,
            });
        }
        let mut ram: Vec<(String, Vec<u8>)> = self
            .main
            .blocks
            .iter()
            .map(|b| (String::from(b.name), vec![0u8; b.used_length as usize]))
            .collect();
        match self.kind {
            CaptureKind::MappedRam => self.apply_mapped_ram(&mut ram)?,
            _ => self.apply_main_pages(&mut ram)?,
        }
        self.apply_multifd(&mut ram)?;
        Ok(ram)
    }

    fn apply_main_pages(&self, ram: &mut [(String, Vec<u8>)]) -> Result<(), CaptureError> {
        let ps = self.page_size;
        for page in &self.main.pages {
            let fail = |error| CaptureError::Page {
                channel: None,
                at: page.at,
                error,
            };
            let dst = ram
                .get_mut(page.block)
                .and_then(|(_, b)| b.get_mut(page.offset as usize..page.offset as usize + ps))
                .ok_or(fail(PageErrorKind::OutsideBlock))?;
            match &page.data {
                MainPageData::Page(r) => dst.copy_from_slice(&self.main_bytes[r.clone()]),
                MainPageData::Fill(b) => dst.fill(*b),
                MainPageData::Xbzrle(r) => xbzrle_apply(&self.main_bytes[r.clone()], dst)
                    .map_err(|()| fail(PageErrorKind::BadXbzrle))?,
            }
        }
        Ok(())
    }

    fn apply_mapped_ram(&self, ram: &mut [(String, Vec<u8>)]) -> Result<(), CaptureError> {
        let ps = self.page_size;
        for (info, (_, dst)) in self.main.blocks.iter().zip(ram.iter_mut()) {
            let Some(h) = info.mapped_ram else { continue };
            let pages = dst.len() / ps;
            for i in 0..pages {
                let byte = self
                    .main_bytes
                    .get(h.bitmap_offset as usize + i / 8)
                    .copied()
                    .unwrap_or(0);
                if byte >> (i % 8) & 1 == 0 {
                    continue;
                }
                let at = h.pages_offset as usize + i * ps;
                let src = self.main_bytes.get(at..at + ps).ok_or(CaptureError::Page {
                    channel: None,
                    at: at as u64,
                    error: PageErrorKind::ShortStream,
                })?;
                dst[i * ps..(i + 1) * ps].copy_from_slice(src);
            }
        }
        Ok(())
    }

    /// Decode every channel's packets, then apply them in global `packet_num` order.
    /// Apply the multifd packets in global `packet_num` order, decoding each as it is
    /// applied: a channel's packets come in its own order within the global one, so one
    /// decoder per channel keeps zlib streams sequential without holding decoded packets.
    /// zstd channels are decoded whole first (see [`decode_zstd_channel`]).
    fn apply_multifd(&self, ram: &mut [(String, Vec<u8>)]) -> Result<(), CaptureError> {
        let ps = self.page_size;
        let mut order: Vec<(u64, usize, RamPacket<'a>)> = Vec::new();
        for (c, ch) in self.channels.iter().enumerate() {
            for p in &ch.packets {
                if let Packet::Ram(r) = p {
                    order.push((r.packet_num, c, *r));
                }
            }
        }
        // Stable: equal packet numbers keep channel order.
        order.sort_by_key(|o| o.0);
        let mut decoders: Vec<PayloadDecoder> = self
            .channels
            .iter()
            .map(|_| PayloadDecoder::new(ps))
            .collect();
        let mut zstd: Vec<Option<(Vec<u8>, usize)>> = self.channels.iter().map(|_| None).collect();
        for (_, c, r) in order {
            let id = self.channels[c].init.id;
            let fail = |at, error| CaptureError::Page {
                channel: Some(id),
                at,
                error,
            };
            let decoded;
            let pages: &[u8] = if r.method() == Method::Zstd {
                if zstd[c].is_none() {
                    let payloads: Vec<&[u8]> = self.channels[c]
                        .packets
                        .iter()
                        .filter_map(|p| match p {
                            Packet::Ram(r) => Some(r.payload),
                            _ => None,
                        })
                        .collect();
                    zstd[c] = Some((decode_zstd_channel(&payloads).map_err(|e| fail(0, e))?, 0));
                }
                let (all, pos) = zstd[c]
                    .as_mut()
                    .ok_or(fail(r.at, PageErrorKind::ShortStream))?;
                let len = r.normal_pages as usize * ps;
                let slice = all
                    .get(*pos..*pos + len)
                    .ok_or(fail(r.at, PageErrorKind::ShortStream))?;
                *pos += len;
                slice
            } else {
                decoded = decoders[c].decode(&r).map_err(|e| fail(r.at, e))?;
                &decoded
            };
            let Some((_, block)) = ram.iter_mut().find(|(name, _)| name == r.block) else {
                continue;
            };
            for (i, off) in r.normal_offsets().enumerate() {
                let o = off as usize;
                if let (Some(dst), Some(src)) =
                    (block.get_mut(o..o + ps), pages.get(i * ps..(i + 1) * ps))
                {
                    dst.copy_from_slice(src);
                }
            }
            for off in r.zero_offsets() {
                let o = off as usize;
                if let Some(dst) = block.get_mut(o..o + ps) {
                    dst.fill(0);
                }
            }
        }
        Ok(())
    }
}

/// Decodes the payloads of one channel, packet after packet (zlib and zstd keep one stream
/// per channel, so packets must come in channel order).
pub struct PayloadDecoder {
    page_size: usize,
    inflate: Decompressor,
    zlib: Option<ZlibDecoder>,
}

impl PayloadDecoder {
    /// A decoder for a channel with pages of `page_size` bytes.
    pub fn new(page_size: usize) -> Self {
        Self {
            page_size,
            inflate: Decompressor::new(),
            zlib: None,
        }
    }

    /// The packet's normal pages, decoded and concatenated.
    pub fn decode(&mut self, r: &RamPacket<'_>) -> Result<Vec<u8>, PageErrorKind> {
        let ps = self.page_size;
        let n = r.normal_pages as usize;
        let mut out = vec![0u8; n * ps];
        if n == 0 {
            return Ok(out);
        }
        match r.method() {
            Method::None => {
                let src = r.payload.get(..n * ps).ok_or(PageErrorKind::ShortStream)?;
                out.copy_from_slice(src);
            }
            Method::Qpl | Method::Uadk => {
                let uadk = r.method() == Method::Uadk;
                let pages = QplPages::parse(*r).map_err(|_| PageErrorKind::ShortStream)?;
                for (page, dst) in pages.iter().zip(out.chunks_mut(ps)) {
                    if uadk && page.data.len() < ps && is_zlib_header(page.data) {
                        // UADK's "zlib" jobs may carry a zlib wrapper (wire-format.md asks
                        // to verify on real data; no capture has one): accept both forms.
                        let done = crate::container::zlib_decompress(
                            page.data,
                            dst,
                            InflateOptions::STANDARD,
                        )
                        .map_err(PageErrorKind::Inflate)?;
                        if done.written != ps {
                            return Err(PageErrorKind::ShortStream);
                        }
                        continue;
                    }
                    decompress_page(&mut self.inflate, page.data, dst, InflateOptions::STANDARD)
                        .map_err(PageErrorKind::Inflate)?;
                }
            }
            Method::Zlib => {
                let dec = self
                    .zlib
                    .get_or_insert_with(|| ZlibDecoder::new(InflateOptions::STANDARD));
                let p = dec
                    .decode(r.payload, &mut out)
                    .map_err(PageErrorKind::Inflate)?;
                if p.written != out.len()
                    || (p.consumed != r.payload.len() && p.status != StreamStatus::Done)
                {
                    return Err(PageErrorKind::ShortStream);
                }
            }
            // A channel's zstd stream decodes as a whole: see [`decode_zstd_channel`].
            Method::Zstd => return Err(PageErrorKind::Unsupported("zstd (per packet)")),
            Method::Qatzip => {
                // One qzCompress call per packet: gzip member(s) with QATzip's FEXTRA
                // field, decoding to exactly the packet's pages.
                let r = crate::container::gzip_decompress(
                    r.payload,
                    &mut out,
                    InflateOptions::STANDARD,
                )
                .map_err(PageErrorKind::Inflate)?;
                if r.written != out.len() {
                    return Err(PageErrorKind::ShortStream);
                }
            }
        }
        Ok(out)
    }
}

/// Whether `data` starts with a valid zlib header (a raw deflate stream can start with the
/// same bytes only by chance: the check bits make that 1 in 31 for a deflate-method byte).
fn is_zlib_header(data: &[u8]) -> bool {
    matches!(data, [cmf, flg, ..] if crate::container::parse_zlib_header(*cmf, *flg).is_ok())
}

/// Decode a channel's zstd stream: the payloads of all its packets, in order.
///
/// QEMU keeps one zstd frame open for the channel's whole life and never ends it (the
/// stream stops after a flush), and a decoder must hold back a window's worth of output
/// until a frame ends. So the payloads are decoded together, with an empty last block
/// appended (3 bytes: last-block flag, raw, size 0) to end the frame and release all output.
pub fn decode_zstd_channel(payloads: &[&[u8]]) -> Result<Vec<u8>, PageErrorKind> {
    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
    let zerr = |e: &dyn fmt::Display| PageErrorKind::Zstd(alloc::format!("{e}"));
    let mut data: Vec<u8> = payloads.iter().flat_map(|p| p.iter().copied()).collect();
    data.extend_from_slice(&[0x01, 0x00, 0x00]);
    // A frame with a content checksum expects 4 more bytes; they are not checked.
    data.extend_from_slice(&[0, 0, 0, 0]);
    let mut src: &[u8] = &data;
    let mut dec = FrameDecoder::new();
    dec.reset(&mut src).map_err(|e| zerr(&e))?;
    dec.decode_blocks(&mut src, BlockDecodingStrategy::All)
        .map_err(|e| zerr(&e))?;
    dec.collect().ok_or(PageErrorKind::ShortStream)
}

/// Apply an XBZRLE delta (`migration/xbzrle.c`): pairs of ULEB128 run lengths, an
/// unchanged run then a run of new bytes that follow, until the data ends.
fn xbzrle_apply(delta: &[u8], page: &mut [u8]) -> Result<(), ()> {
    fn uleb(d: &[u8], pos: &mut usize) -> Result<usize, ()> {
        let mut v = 0usize;
        for shift in (0..21).step_by(7) {
            let b = *d.get(*pos).ok_or(())?;
            *pos += 1;
            v |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(())
    }
    let (mut pos, mut at) = (0usize, 0usize);
    while pos < delta.len() {
        at += uleb(delta, &mut pos)?;
        if pos >= delta.len() {
            break;
        }
        let n = uleb(delta, &mut pos)?;
        let src = delta.get(pos..pos + n).ok_or(())?;
        page.get_mut(at..at + n).ok_or(())?.copy_from_slice(src);
        pos += n;
        at += n;
    }
    Ok(())
}
