//! Resumable deflate decoding: input and output in pieces of any size.
//!
//! Decoded bytes go to a 64 KiB ring that holds the 32 KiB history and the bytes not yet
//! handed to the caller. Decoding pauses when the undelivered bytes would crowd out the
//! history (`MAX_PENDING`), and resumes once the caller has taken them.
//!
//! Input may end anywhere, even inside a codeword. Each unit of work — a block header with
//! its code descriptions, or one symbol with its extra bits — either completes or is rolled
//! back to its start, with the unread tail of the input staged for the next call (see
//! [`crate::bits::StreamBits`]). So the decoder holds no half-decoded symbol, and the only
//! states are "between units".

use alloc::boxed::Box;
use alloc::vec;

use super::block::{
    decode_symbol, read_block_header, read_stored_header, BlockType, DecodeTables, Stop, Symbol,
};
use super::InflateOptions;
use crate::bits::{BitInput, StreamBitState, StreamBits};
use crate::error::{InflateError, InflateErrorKind};

const RING_SIZE: usize = 1 << 16;
const RING_MASK: usize = RING_SIZE - 1;
/// Undelivered bytes allowed in the ring: the rest keeps 32 KiB of history plus one match.
const MAX_PENDING: usize = RING_SIZE - 32768 - 258;

/// Where a call to [`Inflater::inflate`] left the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// All input given was consumed; the stream is not finished. Call again with more input.
    NeedsInput,
    /// The output buffer is full and decoded bytes are waiting. Call again with more room
    /// (and the input not yet consumed).
    NeedsOutput,
    /// The final block was decoded and every byte delivered.
    Done,
}

/// What one call of [`Inflater::inflate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamProgress {
    /// Input bytes consumed (the rest must be passed again).
    pub consumed: usize,
    /// Output bytes written.
    pub written: usize,
    /// Whether more input, more output room, or nothing is needed.
    pub status: StreamStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    BlockHeader,
    Stored { remaining: usize, is_final: bool },
    Huffman { is_final: bool },
    Done,
}

/// A resumable raw deflate decoder (about 80 KiB of heap: ring and tables).
pub struct Inflater {
    bits: StreamBitState,
    tables: Box<DecodeTables>,
    ring: Box<[u8]>,
    /// Bytes decoded into the ring since the start.
    produced: u64,
    /// Bytes handed to the caller since the start.
    delivered: u64,
    state: State,
    options: InflateOptions,
    /// Sticky error: once the stream is bad, every later call reports it.
    failed: Option<InflateError>,
}

impl Inflater {
    /// A decoder for one raw deflate stream.
    pub fn new(options: InflateOptions) -> Self {
        Self {
            bits: StreamBitState::new(),
            tables: Box::new(DecodeTables::new()),
            ring: vec![0u8; RING_SIZE].into_boxed_slice(),
            produced: 0,
            delivered: 0,
            state: State::BlockHeader,
            options,
            failed: None,
        }
    }

    /// Start over for a new stream, keeping the allocations.
    pub fn reset(&mut self) {
        self.bits = StreamBitState::new();
        self.produced = 0;
        self.delivered = 0;
        self.state = State::BlockHeader;
        self.failed = None;
    }

    /// Whether the final block has been decoded and all output delivered.
    pub fn is_done(&self) -> bool {
        self.state == State::Done && self.pending() == 0
    }

    /// Total bytes delivered so far.
    pub fn total_out(&self) -> u64 {
        self.delivered
    }

    fn pending(&self) -> usize {
        (self.produced - self.delivered) as usize
    }

    /// Decode from `input` into `output`. See [`StreamProgress`] for what the call did.
    pub fn inflate(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<StreamProgress, InflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut bits = StreamBits::new(&mut self.bits, input);
        let mut core = Core {
            tables: &mut self.tables,
            ring: &mut self.ring,
            produced: &mut self.produced,
            delivered: &mut self.delivered,
            output,
            written: 0,
            max_distance: u64::from(self.options.max_distance.min(32768)),
        };
        core.flush();
        let outcome = core.run(&mut self.state, &mut bits);
        core.flush();
        let written = core.written;
        let consumed = match outcome {
            Ok(Ran::Stalled) => input.len(),
            Ok(Ran::Paused) => bits.finish(),
            Err(e) => {
                self.failed = Some(e);
                return Err(e);
            }
        };
        let status = if self.state == State::Done && self.pending() == 0 {
            StreamStatus::Done
        } else if self.pending() > 0 || consumed < input.len() {
            StreamStatus::NeedsOutput
        } else {
            StreamStatus::NeedsInput
        };
        Ok(StreamProgress {
            consumed,
            written,
            status,
        })
    }
}

/// How a decoding run ended (errors aside).
enum Ran {
    /// The input ran out inside a unit of work; its tail is staged.
    Stalled,
    /// Stopped between units: the stream is done, or the ring is full of undelivered bytes.
    Paused,
}

/// The parts of an [`Inflater`] a run needs, borrowed apart from its bit state.
struct Core<'a> {
    tables: &'a mut DecodeTables,
    ring: &'a mut [u8],
    produced: &'a mut u64,
    delivered: &'a mut u64,
    output: &'a mut [u8],
    /// Bytes of `output` filled in this call.
    written: usize,
    max_distance: u64,
}

impl Core<'_> {
    /// Ring bytes that may still be decoded before the caller must take some, after
    /// handing the caller what fits in its output buffer.
    fn room(&mut self) -> usize {
        let pending = (*self.produced - *self.delivered) as usize;
        if pending >= MAX_PENDING {
            self.flush();
        }
        MAX_PENDING.saturating_sub((*self.produced - *self.delivered) as usize)
    }

    /// Copy undelivered ring bytes to the output.
    fn flush(&mut self) {
        while self.written < self.output.len() && *self.delivered < *self.produced {
            let start = (*self.delivered as usize) & RING_MASK;
            let pending = (*self.produced - *self.delivered) as usize;
            let n = (RING_SIZE - start)
                .min(pending)
                .min(self.output.len() - self.written);
            self.output[self.written..self.written + n]
                .copy_from_slice(&self.ring[start..start + n]);
            self.written += n;
            *self.delivered += n as u64;
        }
    }

    fn run(
        &mut self,
        state: &mut State,
        bits: &mut StreamBits<'_, '_>,
    ) -> Result<Ran, InflateError> {
        loop {
            match *state {
                State::Done => return Ok(Ran::Paused),
                State::BlockHeader => {
                    let cp = bits.checkpoint();
                    match self.start_block(bits) {
                        Ok(next) => *state = next,
                        Err(Stop::NeedInput) => return stall(bits, cp),
                        Err(Stop::Fail(e)) => return Err(e),
                    }
                }
                State::Stored {
                    remaining,
                    is_final,
                } => {
                    let room = self.room();
                    if room == 0 {
                        return Ok(Ran::Paused);
                    }
                    let start = (*self.produced as usize) & RING_MASK;
                    let chunk = remaining.min(room).min(RING_SIZE - start);
                    let n = bits.copy_aligned(&mut self.ring[start..start + chunk]);
                    *self.produced += n as u64;
                    let remaining = remaining - n;
                    *state = if remaining > 0 {
                        State::Stored {
                            remaining,
                            is_final,
                        }
                    } else if is_final {
                        State::Done
                    } else {
                        State::BlockHeader
                    };
                    if remaining > 0 && n < chunk {
                        return Ok(Ran::Paused); // input exhausted mid-block
                    }
                }
                State::Huffman { is_final } => match self.decode_symbols(bits)? {
                    Some(ran) => return Ok(ran),
                    None => {
                        *state = if is_final {
                            State::Done
                        } else {
                            State::BlockHeader
                        }
                    }
                },
            }
        }
    }

    /// Read a block header (and a dynamic block's code descriptions): the state it leads to.
    fn start_block(&mut self, bits: &mut StreamBits<'_, '_>) -> Result<State, Stop> {
        let (is_final, block_type) = read_block_header(bits)?;
        Ok(match block_type {
            BlockType::Stored => {
                let remaining = read_stored_header(bits)?;
                if remaining == 0 && is_final {
                    State::Done
                } else if remaining == 0 {
                    State::BlockHeader
                } else {
                    State::Stored {
                        remaining,
                        is_final,
                    }
                }
            }
            BlockType::Fixed => {
                self.tables.load_fixed();
                State::Huffman { is_final }
            }
            BlockType::Dynamic => {
                self.tables.read_dynamic(bits)?;
                State::Huffman { is_final }
            }
        })
    }

    /// Decode symbols until end of block (`None`), a full ring or the end of input.
    fn decode_symbols(
        &mut self,
        bits: &mut StreamBits<'_, '_>,
    ) -> Result<Option<Ran>, InflateError> {
        loop {
            if self.room() == 0 {
                return Ok(Some(Ran::Paused));
            }
            let cp = bits.checkpoint();
            let start = bits.bit_position();
            match decode_symbol(bits, self.tables) {
                Ok(Symbol::Literal(byte)) => {
                    self.ring[(*self.produced as usize) & RING_MASK] = byte;
                    *self.produced += 1;
                }
                Ok(Symbol::Match { length, distance }) => {
                    let distance = u64::from(distance);
                    let kind = if distance > self.max_distance {
                        Some(InflateErrorKind::DistanceBeyondWindow)
                    } else if distance > *self.produced {
                        Some(InflateErrorKind::DistanceTooFarBack)
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        return Err(InflateError::at_bit(kind, start));
                    }
                    self.copy_match(length as usize, distance as usize);
                }
                Ok(Symbol::EndOfBlock) => return Ok(None),
                Err(Stop::NeedInput) => return stall(bits, cp).map(Some),
                Err(Stop::Fail(e)) => return Err(e),
            }
        }
    }

    fn copy_match(&mut self, length: usize, distance: usize) {
        let start = *self.produced as usize;
        for dst in start..start + length {
            self.ring[dst & RING_MASK] = self.ring[(dst - distance) & RING_MASK];
        }
        *self.produced += length as u64;
    }
}

/// Roll back to `cp` and stage the rest of the input.
fn stall(bits: &mut StreamBits<'_, '_>, cp: crate::bits::Checkpoint) -> Result<Ran, InflateError> {
    if bits.stall(cp) {
        Ok(Ran::Stalled)
    } else {
        // The stage holds more than any unit of work can need; reaching here means the
        // input is not deflate data we can make sense of.
        Err(InflateError::at_bit(
            InflateErrorKind::InvalidSymbol,
            bits.bit_position(),
        ))
    }
}
