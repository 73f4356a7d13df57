//! zlib (RFC 1950) and gzip (RFC 1952) wrappers around raw deflate.
//!
//! Whole-buffer functions ([`zlib_decompress`], [`gzip_decompress`]) decode into a caller
//! buffer; streaming decoders ([`ZlibDecoder`], [`GzipDecoder`]) take input and output in
//! pieces. Both verify the trailer checksums. Errors carry byte offsets into the container.

use crate::checksum::{Adler32, Crc32};
use crate::error::{InflateError, InflateErrorKind, Position};
use crate::inflate::{Decompressor, InflateOptions, Inflated, Inflater, StreamStatus};

/// Check a zlib header (CMF, FLG); returns the window size it declares.
pub fn parse_zlib_header(cmf: u8, flg: u8) -> Result<u32, InflateErrorKind> {
    let method = cmf & 0x0f;
    let window_log = u32::from(cmf >> 4) + 8;
    if method != 8 || window_log > 15 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
        return Err(InflateErrorKind::BadZlibHeader);
    }
    if flg & 0x20 != 0 {
        return Err(InflateErrorKind::ZlibDictionaryUnsupported);
    }
    Ok(1 << window_log)
}

/// Convert an error from the raw deflate data that starts at byte `base` of a container.
fn in_container(e: InflateError, base: usize) -> InflateError {
    match e.position {
        Position::Bit(_) => e.offset_by(base as u64),
        Position::Byte(b) => InflateError::at_byte(e.kind, b + base as u64),
    }
}

/// Decode a zlib stream from `input` into `out`. `consumed` includes the Adler-32 trailer.
pub fn zlib_decompress(
    input: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<Inflated, InflateError> {
    let eof = |at: usize| InflateError::at_byte(InflateErrorKind::UnexpectedEof, at as u64);
    let (&cmf, &flg) = match input {
        [a, b, ..] => (a, b),
        _ => return Err(eof(input.len())),
    };
    parse_zlib_header(cmf, flg).map_err(|k| InflateError::at_byte(k, 0))?;
    let body = Decompressor::new()
        .inflate(&input[2..], out, options)
        .map_err(|e| in_container(e, 2))?;
    let trailer_at = 2 + body.consumed;
    let trailer = input
        .get(trailer_at..trailer_at + 4)
        .ok_or(eof(input.len()))?;
    let expected = u32::from_be_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if crate::checksum::adler32(&out[..body.written]) != expected {
        return Err(InflateError::at_byte(
            InflateErrorKind::Adler32Mismatch,
            trailer_at as u64,
        ));
    }
    Ok(Inflated {
        consumed: trailer_at + 4,
        written: body.written,
    })
}

const GZIP_FTEXT: u8 = 1;
const GZIP_FHCRC: u8 = 2;
const GZIP_FEXTRA: u8 = 4;
const GZIP_FNAME: u8 = 8;
const GZIP_FCOMMENT: u8 = 16;

/// Length of the gzip member header at the start of `input` (validating it).
fn gzip_header_len(input: &[u8]) -> Result<usize, InflateError> {
    let eof = || InflateError::at_byte(InflateErrorKind::UnexpectedEof, input.len() as u64);
    let bad = |at: usize| InflateError::at_byte(InflateErrorKind::BadGzipHeader, at as u64);
    let fixed = input.get(..10).ok_or_else(eof)?;
    if fixed[0] != 0x1f || fixed[1] != 0x8b {
        return Err(bad(0));
    }
    if fixed[2] != 8 {
        return Err(bad(2));
    }
    let flags = fixed[3];
    if flags & !(GZIP_FTEXT | GZIP_FHCRC | GZIP_FEXTRA | GZIP_FNAME | GZIP_FCOMMENT) != 0 {
        return Err(bad(3));
    }
    let mut pos = 10;
    if flags & GZIP_FEXTRA != 0 {
        let xlen = input.get(pos..pos + 2).ok_or_else(eof)?;
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for flag in [GZIP_FNAME, GZIP_FCOMMENT] {
        if flags & flag != 0 {
            let rest = input.get(pos..).ok_or_else(eof)?;
            let nul = rest.iter().position(|&b| b == 0).ok_or_else(eof)?;
            pos += nul + 1;
        }
    }
    if flags & GZIP_FHCRC != 0 {
        let stored = input.get(pos..pos + 2).ok_or_else(eof)?;
        let crc = crate::checksum::crc32(&input[..pos]) as u16;
        if crc != u16::from_le_bytes([stored[0], stored[1]]) {
            return Err(bad(pos));
        }
        pos += 2;
    }
    if pos > input.len() {
        return Err(eof());
    }
    Ok(pos)
}

/// Decode a gzip file (one or more members) from `input` into `out`.
/// Anything after the last member other than another member is [`InflateErrorKind::TrailingData`].
pub fn gzip_decompress(
    input: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<Inflated, InflateError> {
    let mut decompressor = Decompressor::new();
    let (mut pos, mut written) = (0usize, 0usize);
    loop {
        let member = &input[pos..];
        let header = gzip_header_len(member).map_err(|e| in_container(e, pos))?;
        let body = decompressor
            .inflate(&member[header..], &mut out[written..], options)
            .map_err(|e| in_container(e, pos + header))?;
        let trailer_at = pos + header + body.consumed;
        let trailer = input
            .get(trailer_at..trailer_at + 8)
            .ok_or(InflateError::at_byte(
                InflateErrorKind::UnexpectedEof,
                input.len() as u64,
            ))?;
        let data = &out[written..written + body.written];
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if crate::checksum::crc32(data) != crc {
            return Err(InflateError::at_byte(
                InflateErrorKind::Crc32Mismatch,
                trailer_at as u64,
            ));
        }
        if body.written as u32 != isize {
            return Err(InflateError::at_byte(
                InflateErrorKind::SizeMismatch,
                trailer_at as u64 + 4,
            ));
        }
        written += body.written;
        pos = trailer_at + 8;
        if pos == input.len() {
            return Ok(Inflated {
                consumed: pos,
                written,
            });
        }
        if input[pos] != 0x1f {
            return Err(InflateError::at_byte(
                InflateErrorKind::TrailingData,
                pos as u64,
            ));
        }
    }
}

/// Progress of a streaming container decoder call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerProgress {
    /// Input bytes consumed.
    pub consumed: usize,
    /// Output bytes written.
    pub written: usize,
    /// Whether more input, more output room, or nothing is needed.
    pub status: StreamStatus,
}

/// A fixed-size field read across calls.
#[derive(Clone, Copy)]
struct Field<const N: usize> {
    bytes: [u8; N],
    have: usize,
}

impl<const N: usize> Field<N> {
    const fn new() -> Self {
        Self {
            bytes: [0; N],
            have: 0,
        }
    }

    /// Take bytes from `input`; returns how many were taken.
    fn fill(&mut self, input: &[u8]) -> usize {
        let n = (N - self.have).min(input.len());
        self.bytes[self.have..self.have + n].copy_from_slice(&input[..n]);
        self.have += n;
        n
    }

    fn full(&self) -> bool {
        self.have == N
    }
}

#[derive(Clone, Copy)]
enum ZlibState {
    Header(Field<2>),
    Body,
    Trailer(Field<4>),
    Done,
}

/// Streaming zlib decoder.
pub struct ZlibDecoder {
    inflater: Inflater,
    state: ZlibState,
    adler: Adler32,
    /// Container bytes consumed so far (for error offsets).
    total_in: u64,
    failed: Option<InflateError>,
}

impl ZlibDecoder {
    /// A decoder for one zlib stream.
    pub fn new(options: InflateOptions) -> Self {
        Self {
            inflater: Inflater::new(options),
            state: ZlibState::Header(Field::new()),
            adler: Adler32::new(),
            total_in: 0,
            failed: None,
        }
    }

    /// Total output bytes so far.
    pub fn total_out(&self) -> u64 {
        self.inflater.total_out()
    }

    /// Whether the stream (trailer included) is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.state, ZlibState::Done)
    }

    /// Decode from `input` into `output`.
    pub fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<ContainerProgress, InflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.step(input, output);
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<ContainerProgress, InflateError> {
        let (mut consumed, mut written) = (0, 0);
        loop {
            let rest = &input[consumed..];
            match &mut self.state {
                ZlibState::Header(field) => {
                    consumed += field.fill(rest);
                    if !field.full() {
                        break;
                    }
                    let [cmf, flg] = field.bytes;
                    parse_zlib_header(cmf, flg)
                        .map_err(|k| InflateError::at_byte(k, self.total_in))?;
                    self.state = ZlibState::Body;
                }
                ZlibState::Body => {
                    // Inflater positions count from the start of the deflate data, byte 2.
                    let p = self
                        .inflater
                        .inflate(rest, &mut output[written..])
                        .map_err(|e| in_container(e, 2))?;
                    self.adler.update(&output[written..written + p.written]);
                    consumed += p.consumed;
                    written += p.written;
                    match p.status {
                        StreamStatus::Done => self.state = ZlibState::Trailer(Field::new()),
                        _ => {
                            self.total_in += consumed as u64;
                            return Ok(ContainerProgress {
                                consumed,
                                written,
                                status: p.status,
                            });
                        }
                    }
                }
                ZlibState::Trailer(field) => {
                    consumed += field.fill(rest);
                    if !field.full() {
                        break;
                    }
                    if u32::from_be_bytes(field.bytes) != self.adler.finish() {
                        let at = self.total_in + consumed as u64 - 4;
                        return Err(InflateError::at_byte(InflateErrorKind::Adler32Mismatch, at));
                    }
                    self.state = ZlibState::Done;
                }
                ZlibState::Done => {
                    self.total_in += consumed as u64;
                    return Ok(ContainerProgress {
                        consumed,
                        written,
                        status: StreamStatus::Done,
                    });
                }
            }
        }
        self.total_in += consumed as u64;
        Ok(ContainerProgress {
            consumed,
            written,
            status: StreamStatus::NeedsInput,
        })
    }
}

#[derive(Clone, Copy)]
enum GzipState {
    /// Collecting the member header (it is at most a few KiB; longer names are refused).
    Header,
    Body,
    Trailer(Field<8>),
    /// Between members: done unless more input follows.
    MemberEnd,
}

/// Largest gzip header the streaming decoder buffers (name and comment included).
const GZIP_MAX_HEADER: usize = 4096;

/// Streaming gzip decoder (multi-member).
pub struct GzipDecoder {
    inflater: Inflater,
    state: GzipState,
    header: alloc::vec::Vec<u8>,
    crc: Crc32,
    member_out: u32,
    total_in: u64,
    member_start: u64,
    body_start: u64,
    failed: Option<InflateError>,
}

impl GzipDecoder {
    /// A decoder for a gzip file.
    pub fn new(options: InflateOptions) -> Self {
        Self {
            inflater: Inflater::new(options),
            state: GzipState::Header,
            header: alloc::vec::Vec::new(),
            crc: Crc32::new(),
            member_out: 0,
            total_in: 0,
            member_start: 0,
            body_start: 0,
            failed: None,
        }
    }

    /// Whether at least one member is complete and no partial member follows.
    pub fn is_done(&self) -> bool {
        matches!(self.state, GzipState::MemberEnd)
    }

    /// Decode from `input` into `output`. Status `Done` means a member just ended and the
    /// input is used up; more input starts another member.
    pub fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<ContainerProgress, InflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.step(input, output);
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }

    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<ContainerProgress, InflateError> {
        let (mut consumed, mut written) = (0, 0);
        let progress = |consumed, written, status| ContainerProgress {
            consumed,
            written,
            status,
        };
        loop {
            let rest = &input[consumed..];
            let here = self.total_in + consumed as u64;
            match &mut self.state {
                GzipState::MemberEnd => {
                    if rest.is_empty() {
                        self.total_in = here;
                        return Ok(progress(consumed, written, StreamStatus::Done));
                    }
                    if rest[0] != 0x1f {
                        return Err(InflateError::at_byte(InflateErrorKind::TrailingData, here));
                    }
                    self.inflater.reset();
                    self.crc = Crc32::new();
                    self.member_out = 0;
                    self.header.clear();
                    self.member_start = here;
                    self.state = GzipState::Header;
                }
                GzipState::Header => {
                    // Append input until the header parses; the parser reports EOF otherwise.
                    let take = rest.len().min(GZIP_MAX_HEADER - self.header.len());
                    let before = self.header.len();
                    self.header.extend_from_slice(&rest[..take]);
                    match gzip_header_len(&self.header) {
                        Ok(len) => {
                            consumed += len - before;
                            self.body_start = self.member_start + len as u64;
                            self.state = GzipState::Body;
                        }
                        Err(e) if e.kind == InflateErrorKind::UnexpectedEof => {
                            consumed += take;
                            if self.header.len() >= GZIP_MAX_HEADER {
                                return Err(InflateError::at_byte(
                                    InflateErrorKind::BadGzipHeader,
                                    self.member_start,
                                ));
                            }
                            break;
                        }
                        Err(e) => return Err(in_container(e, self.member_start as usize)),
                    }
                }
                GzipState::Body => {
                    let p = self
                        .inflater
                        .inflate(rest, &mut output[written..])
                        .map_err(|e| in_container(e, self.body_start as usize))?;
                    self.crc.update(&output[written..written + p.written]);
                    self.member_out = self.member_out.wrapping_add(p.written as u32);
                    consumed += p.consumed;
                    written += p.written;
                    if p.status == StreamStatus::Done {
                        self.state = GzipState::Trailer(Field::new());
                    } else {
                        self.total_in += consumed as u64;
                        return Ok(progress(consumed, written, p.status));
                    }
                }
                GzipState::Trailer(field) => {
                    consumed += field.fill(rest);
                    if !field.full() {
                        break;
                    }
                    let b = field.bytes;
                    let at = self.total_in + consumed as u64 - 8;
                    if u32::from_le_bytes([b[0], b[1], b[2], b[3]]) != self.crc.finish() {
                        return Err(InflateError::at_byte(InflateErrorKind::Crc32Mismatch, at));
                    }
                    if u32::from_le_bytes([b[4], b[5], b[6], b[7]]) != self.member_out {
                        return Err(InflateError::at_byte(
                            InflateErrorKind::SizeMismatch,
                            at + 4,
                        ));
                    }
                    self.state = GzipState::MemberEnd;
                }
            }
        }
        self.total_in += consumed as u64;
        Ok(progress(consumed, written, StreamStatus::NeedsInput))
    }
}

/// zlib header for a stream with a 4 KiB window (CINFO 4), FLEVEL from the level.
pub(crate) fn zlib_header(level: crate::deflate::Level) -> [u8; 2] {
    let cmf = 0x48u8; // CM 8 (deflate), CINFO 4: window 2^(4+8) = 4096
    let flevel = match level {
        crate::deflate::Level::Fast => 0u8,
        crate::deflate::Level::Dense => 2u8,
    };
    let mut flg = flevel << 6;
    let rem = (u16::from(cmf) << 8 | u16::from(flg)) % 31;
    flg += ((31 - rem) % 31) as u8;
    [cmf, flg]
}

/// Compress `input` as a zlib stream whose header declares the 4 KiB window it uses.
pub fn zlib_compress(input: &[u8], level: crate::deflate::Level) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec::Vec::from(zlib_header(level));
    let mut d = crate::deflate::Deflater::new(level);
    d.compress(input, crate::deflate::Flush::Finish, &mut out);
    out.extend_from_slice(&crate::checksum::adler32(input).to_be_bytes());
    out
}

/// Compress `input` as a single-member gzip file (no name, mtime 0, OS "unknown").
pub fn gzip_compress(input: &[u8], level: crate::deflate::Level) -> alloc::vec::Vec<u8> {
    let xfl = match level {
        crate::deflate::Level::Fast => 4,
        crate::deflate::Level::Dense => 2,
    };
    let mut out = alloc::vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255];
    let mut d = crate::deflate::Deflater::new(level);
    d.compress(input, crate::deflate::Flush::Finish, &mut out);
    out.extend_from_slice(&crate::checksum::crc32(input).to_le_bytes());
    out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    out
}
