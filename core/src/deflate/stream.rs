//! Streaming compression of long inputs (whole guest images, QEMU's per-channel zlib
//! streams): input in any pieces, many blocks, still a 4 KiB window.
//!
//! Input collects in a buffer behind up to 4 KiB of history; every [`CHUNK`] bytes are
//! parsed (matching into the history) and written as non-final blocks. The bits of a
//! block that do not fill a byte are carried to the next call, so blocks pack tightly
//! until a [`Flush::Sync`] byte-aligns the stream with an empty stored block, the way
//! zlib's `Z_SYNC_FLUSH` does.

use super::{Compressor, Level, WINDOW};
use crate::bits::BitWriter;
use alloc::vec;
use alloc::vec::Vec;

/// Input bytes compressed per round (a round may hold several blocks).
const CHUNK: usize = 64 * 1024;

/// What to do after taking the input of a [`Deflater::compress`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Keep buffering; emit blocks only as full chunks accumulate.
    None,
    /// Emit everything so far and byte-align the output with an empty stored block
    /// (`00 00 ff ff`), so a receiver can decode all input given so far.
    Sync,
    /// Emit everything and end the stream with a final block.
    Finish,
}

/// A streaming raw deflate compressor.
pub struct Deflater {
    compressor: Compressor,
    /// History (the first `history` bytes) followed by input not yet compressed.
    buf: Vec<u8>,
    history: usize,
    scratch: Vec<u8>,
    /// Bits written but not yet a whole byte, carried between calls.
    bits: u64,
    bit_count: u32,
    finished: bool,
    started: bool,
}

impl Deflater {
    /// A compressor for one raw deflate stream.
    pub fn new(level: Level) -> Self {
        Self {
            compressor: Compressor::new(level),
            buf: Vec::with_capacity(WINDOW + CHUNK),
            history: 0,
            scratch: Vec::new(),
            bits: 0,
            bit_count: 0,
            finished: false,
            started: false,
        }
    }

    /// Start a new stream, keeping the allocations.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.history = 0;
        self.bits = 0;
        self.bit_count = 0;
        self.finished = false;
        self.started = false;
    }

    /// Whether any input has been taken since the start (or the last reset).
    pub fn has_output(&self) -> bool {
        self.started
    }

    /// Whether [`Flush::Finish`] has been done.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Take `input`, compress what `flush` asks for, and append the output to `out`.
    /// Calls after [`Flush::Finish`] add nothing.
    pub fn compress(&mut self, mut input: &[u8], flush: Flush, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.started = true;
        while !input.is_empty() {
            let room = CHUNK - (self.buf.len() - self.history);
            let take = room.min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.buf.len() - self.history == CHUNK && (!input.is_empty() || flush == Flush::None)
            {
                self.compress_pending(false, out);
            }
        }
        match flush {
            Flush::None => {}
            Flush::Sync => {
                if self.buf.len() > self.history {
                    self.compress_pending(false, out);
                }
                self.write_with(out, 8, |w| {
                    // An empty non-final stored block: 3 header bits, pad, LEN 0, NLEN ffff.
                    w.put(0, 3);
                    w.align_to_byte();
                    w.put(0xffff_0000, 32);
                });
            }
            Flush::Finish => {
                self.compress_pending(true, out);
                self.write_with(out, 8, |w| w.align_to_byte());
                self.finished = true;
            }
        }
    }

    /// Compress the buffered input as blocks (the last one final if `is_final`), then keep
    /// the last 4 KiB as history.
    fn compress_pending(&mut self, is_final: bool, out: &mut Vec<u8>) {
        let (start, end) = (self.history, self.buf.len());
        // Stored blocks bound the output: 5 bytes per 64 KiB plus a header's worth.
        let bound = (end - start) + 5 * ((end - start) / 65535 + 1) + 1024;
        let mut scratch = core::mem::take(&mut self.scratch);
        scratch.resize(bound, 0);
        let mut w = BitWriter::with_pending(&mut scratch, self.bits, self.bit_count);
        self.compressor.finder.start(end);
        self.compressor
            .finder
            .prime(&self.buf, start.saturating_sub(WINDOW), start);
        self.compressor
            .compress_range(&mut w, &self.buf, start, end, is_final);
        let (written, bits, count) = w.into_parts();
        // The bound holds for every block kind the writer picks, so this cannot fail.
        let written = written.unwrap_or(0);
        out.extend_from_slice(&scratch[..written]);
        self.scratch = scratch;
        self.bits = bits;
        self.bit_count = count;
        let keep = self.buf.len().min(WINDOW);
        self.buf.drain(..self.buf.len() - keep);
        self.history = keep;
    }

    /// Run `f` on a writer that continues the carried bits; append the whole bytes.
    fn write_with(&mut self, out: &mut Vec<u8>, bound: usize, f: impl FnOnce(&mut BitWriter<'_>)) {
        let mut tmp = vec![0u8; bound + 16];
        let mut w = BitWriter::with_pending(&mut tmp, self.bits, self.bit_count);
        f(&mut w);
        let (written, bits, count) = w.into_parts();
        out.extend_from_slice(&tmp[..written.unwrap_or(0)]);
        self.bits = bits;
        self.bit_count = count;
    }
}

/// Compress `input` as one raw deflate stream (convenience over [`Deflater`]).
pub fn deflate_to_vec(input: &[u8], level: Level) -> Vec<u8> {
    let mut d = Deflater::new(level);
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    d.compress(input, Flush::Finish, &mut out);
    out
}
