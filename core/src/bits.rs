//! Bit input for the deflate decoder (LSB-first, as deflate packs bits).
//!
//! Two readers implement [`BitInput`]:
//!
//! * [`SliceBits`] reads a whole buffer. Past its end it supplies a few zero bytes, so a
//!   decoder never needs a bounds branch per symbol; whoever consumes those padding bits
//!   has met the end of the input, which [`SliceBits::overran`] reports.
//! * [`StreamBits`] reads input that arrives in pieces. It loads one byte at a time and
//!   never more than asked, supports checkpoints, and when a unit of work (a block header,
//!   a symbol) runs out of input it is rolled back and the unused tail is staged in
//!   [`StreamBitState`] until the next piece arrives.

/// A source of bits for the decoder.
pub(crate) trait BitInput {
    /// Make at least `n` (≤ 32) bits available. `false`: the input cannot supply them now.
    fn ensure(&mut self, n: u32) -> bool;
    /// Load one more byte if possible (used to complete a Huffman codeword).
    fn load_byte(&mut self) -> bool;
    /// Hint: buffer up to `n` bits now if that is cheap. Readers that must not read ahead
    /// (streaming) ignore it.
    fn prefetch(&mut self, _n: u32) {}
    /// The buffered bits, next bit in bit 0.
    fn peek(&self) -> u64;
    /// Number of buffered bits.
    fn available(&self) -> u32;
    /// Drop `n` buffered bits (`n <= available()`).
    fn consume(&mut self, n: u32);
    /// Bit offset of the next unread bit from the start of the deflate data.
    fn bit_position(&self) -> u64;
    /// Drop bits up to the next byte boundary.
    fn align_to_byte(&mut self) {
        let n = self.available() % 8;
        self.consume(n);
    }
}

/// Zero bytes [`SliceBits`] may supply past the end of its input.
const MAX_PADDING_BYTES: u32 = 8;

/// Bit reader over a complete input buffer.
pub(crate) struct SliceBits<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load.
    pos: usize,
    buf: u64,
    count: u32,
    /// Zero bytes loaded past the end of `data`.
    padding: u32,
}

impl<'a> SliceBits<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            buf: 0,
            count: 0,
            padding: 0,
        }
    }

    /// The state a fast loop keeps in registers: (input, next byte, buffer, bit count).
    /// The fast loop refills 8 bytes at a time without a per-byte branch (libdeflate's
    /// branchless refill), which leaves bits above `count` holding the true next bits of
    /// the input; every refill ORs in the same bytes, so they stay correct.
    #[inline(always)]
    pub(crate) fn fast_state(&self) -> (&'a [u8], usize, u64, u32) {
        (self.data, self.pos, self.buf, self.count)
    }

    /// Write back the state a fast loop advanced (it never loads padding).
    #[inline(always)]
    pub(crate) fn set_fast_state(&mut self, pos: usize, buf: u64, count: u32) {
        self.pos = pos;
        self.buf = buf;
        self.count = count;
    }

    /// Refill byte by byte, padding with zeros past the end.
    #[inline(never)]
    pub(crate) fn refill_careful(&mut self) {
        // Stop at ≥ 56 bits so `count` stays ≤ 63 (the fast refill shifts by `count`).
        while self.count < 56 {
            if let Some(&b) = self.data.get(self.pos) {
                self.buf |= u64::from(b) << self.count;
                self.pos += 1;
            } else if self.padding < MAX_PADDING_BYTES {
                self.padding += 1;
            } else {
                break;
            }
            self.count += 8;
        }
    }

    /// Whether padding bits past the end of the input have been consumed.
    #[inline]
    pub(crate) fn overran(&self) -> bool {
        self.padding * 8 > self.count
    }

    /// Bytes of input consumed so far (after the final block: rounded up to a whole byte).
    pub(crate) fn bytes_consumed(&self) -> usize {
        let bit = self.bit_position();
        (bit.div_ceil(8) as usize).min(self.data.len())
    }

    /// The input bytes not yet loaded into the bit buffer, when the buffer holds only
    /// whole bytes that are also returned (used by stored blocks after alignment).
    /// Returns the unread tail of the input at the current (byte-aligned) position.
    pub(crate) fn take_aligned_bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        debug_assert_eq!(self.count % 8, 0);
        let start = self.byte_position()?;
        let bytes = self.data.get(start..start.checked_add(n)?)?;
        // Reset the buffer to just past the taken bytes.
        self.pos = start + n;
        self.buf = 0;
        self.count = 0;
        self.padding = 0;
        Some(bytes)
    }

    fn byte_position(&self) -> Option<usize> {
        let bit = self.bit_position();
        if bit % 8 != 0 || bit > self.data.len() as u64 * 8 {
            return None;
        }
        Some((bit / 8) as usize)
    }

    /// Continue reading at input bit `bit` (≤ the input's length in bits).
    pub(crate) fn seek_to_bit(&mut self, bit: u64) {
        debug_assert!(bit <= self.input_bits());
        self.pos = (bit / 8) as usize;
        self.buf = 0;
        self.count = 0;
        self.padding = 0;
        self.refill_careful();
        self.consume((bit % 8) as u32);
    }

    /// Length of the input in bits.
    pub(crate) fn input_bits(&self) -> u64 {
        self.data.len() as u64 * 8
    }
}

impl BitInput for SliceBits<'_> {
    #[inline(always)]
    fn prefetch(&mut self, n: u32) {
        if self.count < n {
            self.refill_careful();
        }
    }

    #[inline(always)]
    fn ensure(&mut self, n: u32) -> bool {
        if self.count < n {
            self.refill_careful();
        }
        self.count >= n
    }

    #[inline(always)]
    fn load_byte(&mut self) -> bool {
        let before = self.count;
        self.refill_careful();
        self.count > before
    }

    #[inline(always)]
    fn peek(&self) -> u64 {
        self.buf
    }

    #[inline(always)]
    fn available(&self) -> u32 {
        self.count
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.count);
        self.buf >>= n;
        self.count -= n;
    }

    fn bit_position(&self) -> u64 {
        (self.pos as u64 + u64::from(self.padding)) * 8 - u64::from(self.count)
    }
}

/// Bytes [`StreamBitState`] can stage: more than the largest dynamic block header
/// (3 + 14 + 19·3 + 316·14 bits < 600 bytes).
pub(crate) const STAGE_CAPACITY: usize = 640;

/// Bit-reader state that persists between calls of a streaming decoder.
pub(crate) struct StreamBitState {
    buf: u64,
    count: u32,
    /// Total bytes loaded into `buf` since the stream started.
    loaded: u64,
    /// Bytes kept from earlier input because a unit of work could not finish with them.
    stage: [u8; STAGE_CAPACITY],
    stage_len: usize,
}

impl StreamBitState {
    pub(crate) const fn new() -> Self {
        Self {
            buf: 0,
            count: 0,
            loaded: 0,
            stage: [0; STAGE_CAPACITY],
            stage_len: 0,
        }
    }
}

/// A checkpoint of a [`StreamBits`] to roll back to.
#[derive(Clone, Copy)]
pub(crate) struct Checkpoint {
    buf: u64,
    count: u32,
    loaded: u64,
    stage_pos: usize,
    input_pos: usize,
}

/// Streaming bit reader: the persisted state, then the staged bytes, then the current input.
pub(crate) struct StreamBits<'s, 'i> {
    state: &'s mut StreamBitState,
    stage_pos: usize,
    input: &'i [u8],
    input_pos: usize,
}

impl<'s, 'i> StreamBits<'s, 'i> {
    pub(crate) fn new(state: &'s mut StreamBitState, input: &'i [u8]) -> Self {
        Self {
            state,
            stage_pos: 0,
            input,
            input_pos: 0,
        }
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            buf: self.state.buf,
            count: self.state.count,
            loaded: self.state.loaded,
            stage_pos: self.stage_pos,
            input_pos: self.input_pos,
        }
    }

    pub(crate) fn restore(&mut self, cp: Checkpoint) {
        self.state.buf = cp.buf;
        self.state.count = cp.count;
        self.state.loaded = cp.loaded;
        self.stage_pos = cp.stage_pos;
        self.input_pos = cp.input_pos;
    }

    /// Roll back to `cp` and keep everything after it for the next call. Returns false if
    /// that would not fit in the stage (cannot happen for deflate's units of work).
    pub(crate) fn stall(&mut self, cp: Checkpoint) -> bool {
        self.restore(cp);
        let staged = &self.state.stage[self.stage_pos..self.state.stage_len];
        let rest = &self.input[self.input_pos..];
        let total = staged.len() + rest.len();
        if total > STAGE_CAPACITY {
            return false;
        }
        self.state
            .stage
            .copy_within(self.stage_pos..self.state.stage_len, 0);
        let kept = self.state.stage_len - self.stage_pos;
        self.state.stage[kept..kept + rest.len()].copy_from_slice(rest);
        self.state.stage_len = total;
        self.stage_pos = 0;
        self.input_pos = self.input.len();
        true
    }

    /// Drop the consumed part of the stage at the end of a call that did not stall.
    pub(crate) fn finish(self) -> usize {
        let st = self.state;
        st.stage.copy_within(self.stage_pos..st.stage_len, 0);
        st.stage_len -= self.stage_pos;
        self.input_pos
    }

    fn next_byte(&mut self) -> Option<u8> {
        if self.stage_pos < self.state.stage_len {
            let b = self.state.stage[self.stage_pos];
            self.stage_pos += 1;
            Some(b)
        } else if let Some(&b) = self.input.get(self.input_pos) {
            self.input_pos += 1;
            Some(b)
        } else {
            None
        }
    }

    /// Copy up to `out.len()` byte-aligned bytes (bit buffer first, then stage, then input).
    /// Returns the number copied.
    pub(crate) fn copy_aligned(&mut self, out: &mut [u8]) -> usize {
        debug_assert_eq!(self.state.count % 8, 0);
        let mut n = 0;
        while n < out.len() && self.state.count >= 8 {
            out[n] = self.state.buf as u8;
            self.consume(8);
            n += 1;
        }
        while n < out.len() && self.stage_pos < self.state.stage_len {
            out[n] = self.state.stage[self.stage_pos];
            self.stage_pos += 1;
            self.state.loaded += 1;
            n += 1;
        }
        let take = (out.len() - n).min(self.input.len() - self.input_pos);
        out[n..n + take].copy_from_slice(&self.input[self.input_pos..self.input_pos + take]);
        self.input_pos += take;
        self.state.loaded += take as u64;
        n + take
    }
}

impl BitInput for StreamBits<'_, '_> {
    #[inline]
    fn ensure(&mut self, n: u32) -> bool {
        while self.state.count < n {
            if !self.load_byte() {
                return false;
            }
        }
        true
    }

    #[inline]
    fn load_byte(&mut self) -> bool {
        if self.state.count > 56 {
            return false;
        }
        match self.next_byte() {
            Some(b) => {
                self.state.buf |= u64::from(b) << self.state.count;
                self.state.count += 8;
                self.state.loaded += 1;
                true
            }
            None => false,
        }
    }

    #[inline]
    fn peek(&self) -> u64 {
        self.state.buf
    }

    #[inline]
    fn available(&self) -> u32 {
        self.state.count
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.state.count);
        self.state.buf >>= n;
        self.state.count -= n;
    }

    fn bit_position(&self) -> u64 {
        self.state.loaded * 8 - u64::from(self.state.count)
    }
}

/// Bit output into a caller's buffer (LSB-first). Writing past the buffer's end does not
/// panic: the writer stops storing and remembers that it overflowed ([`BitWriter::finish`]
/// then reports `None`), which is how the page codec learns a page does not fit.
pub(crate) struct BitWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

impl<'a> BitWriter<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            pos: 0,
            buf: 0,
            count: 0,
        }
    }

    /// Start a fresh writer with the first `n_bits` bits of `bits` (LSB-first; `bits` holds
    /// at least `n_bits.div_ceil(8)` bytes): whole bytes copied at once. Output that does not
    /// fit counts as overflow, as with every write.
    pub(crate) fn start_with(&mut self, bits: &[u8], n_bits: u64) {
        debug_assert!(self.pos == 0 && self.count == 0);
        let bytes = (n_bits / 8) as usize;
        if let Some(dst) = self.out.get_mut(..bytes) {
            dst.copy_from_slice(&bits[..bytes]);
        }
        self.pos = bytes;
        self.count = (n_bits % 8) as u32;
        self.buf = if self.count == 0 {
            0
        } else {
            u64::from(bits[bytes]) & ((1 << self.count) - 1)
        };
    }

    /// Append the low `n` bits of `bits` (`n <= 32`, higher bits of `bits` zero).
    #[inline(always)]
    pub(crate) fn put(&mut self, bits: u32, n: u32) {
        debug_assert!(n <= 32 && (n == 32 || bits >> n == 0));
        self.put_wide(u64::from(bits), n);
    }

    /// Append the low `n` bits of `bits` (`n <= 56`, higher bits zero).
    ///
    /// Every put ends with a flush, so fewer than 8 bits stay buffered and `8 + 56` fits
    /// the 64-bit buffer. The flush has no data-dependent branch (libdeflate's bit writer
    /// does the same): whether a put completes a byte is as random as the codeword
    /// lengths, and a branch on it mispredicts.
    #[inline(always)]
    pub(crate) fn put_wide(&mut self, bits: u64, n: u32) {
        debug_assert!(n <= 56 && self.count < 8);
        self.buf |= bits << self.count;
        self.count += n;
        self.flush_bytes();
    }

    /// [`Self::put_wide`] the bits `bits_of` gives for each of `items` in turn (each at
    /// most 56 bits). The writer's state is held in locals while 16 bytes of room remain, so
    /// the loop carries it in registers instead of through memory.
    ///
    /// Items go two at a time: when a pair's bits fit one put (at most 56 together, as two
    /// literals or a literal and a short match do), they go in one, so the writer's serial
    /// chain through its bit count (shift, or, add, shift: the bound on a token writer's
    /// speed) runs once for the pair instead of once per item. A pair that does not fit
    /// (two long-distance matches) takes two puts.
    #[inline(always)]
    pub(crate) fn put_each<T: Copy>(
        &mut self,
        items: &[T],
        mut bits_of: impl FnMut(T) -> (u64, u32),
    ) {
        let out = &mut *self.out;
        let (mut pos, mut buf, mut count) = (self.pos, self.buf, self.count);
        let mut done = 0;
        // Room for two 8-byte stores, the second at most 7 bytes past the first.
        let last_store = out.len().checked_sub(16);
        for pair in items.chunks_exact(2) {
            if last_store.is_none_or(|last| pos > last) {
                break;
            }
            let Some(dst) = out.get_mut(pos..).and_then(|r| r.first_chunk_mut::<16>()) else {
                break;
            };
            let (a, na) = bits_of(pair[0]);
            let (b, nb) = bits_of(pair[1]);
            debug_assert!(na <= 56 && nb <= 56);
            let mut at = 0;
            if na + nb <= 56 {
                buf |= (a | b << na) << count;
                count += na + nb;
            } else {
                // Rare: the first item alone, then the second from where it ended (at
                // most 7 bytes on, inside the 16 bytes of room).
                buf |= a << count;
                count += na;
                dst[..8].copy_from_slice(&buf.to_le_bytes());
                let bytes = count / 8;
                at = bytes as usize;
                buf >>= 8 * bytes;
                count &= 7;
                buf |= b << count;
                count += nb;
            }
            if let Some(store) = dst.get_mut(at..at + 8) {
                store.copy_from_slice(&buf.to_le_bytes());
            }
            let bytes = count / 8;
            pos += at + bytes as usize;
            buf >>= 8 * bytes;
            count &= 7;
            done += 2;
        }
        (self.pos, self.buf, self.count) = (pos, buf, count);
        for &item in &items[done..] {
            let (bits, n) = bits_of(item);
            self.put_wide(bits, n);
        }
    }

    /// Move whole bytes from the bit buffer to the output (fewer than 8 bits remain).
    #[inline(always)]
    fn flush_bytes(&mut self) {
        let bytes = self.count / 8;
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + 8) {
            // Store 8 bytes at once; only `bytes` of them count (the rest is rewritten
            // later). `bytes <= 7`: at most 63 bits are ever buffered.
            dst.copy_from_slice(&self.buf.to_le_bytes());
            self.pos += bytes as usize;
            self.buf >>= 8 * bytes;
            self.count &= 7;
            return;
        }
        self.flush_near_end(bytes as usize);
    }

    /// [`Self::flush_bytes`] within 8 bytes of the buffer's end: byte by byte, noting
    /// overflow.
    #[cold]
    #[inline(never)]
    fn flush_near_end(&mut self, bytes: usize) {
        let le = self.buf.to_le_bytes();
        // Bytes past the end are not stored; `pos` below still says how far they reached.
        for (i, &b) in le.iter().enumerate().take(bytes) {
            if let Some(slot) = self.out.get_mut(self.pos + i) {
                *slot = b;
            }
        }
        self.pos += bytes;
        self.buf = if bytes == 8 {
            0
        } else {
            self.buf >> (8 * bytes)
        };
        self.count -= 8 * bytes as u32;
    }

    /// Pad with zero bits to a byte boundary.
    pub(crate) fn align_to_byte(&mut self) {
        let pad = (8 - self.count % 8) % 8;
        self.put(0, pad);
        self.flush_bytes();
    }

    /// Append whole bytes (the writer must be byte-aligned).
    pub(crate) fn put_bytes(&mut self, data: &[u8]) {
        self.flush_bytes();
        debug_assert_eq!(self.count, 0);
        // Data that does not fit is not stored; `pos` below still says how far it reached.
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + data.len()) {
            dst.copy_from_slice(data);
        }
        self.pos += data.len();
    }

    /// Bits written so far.
    pub(crate) fn bit_len(&self) -> u64 {
        self.pos as u64 * 8 + u64::from(self.count)
    }

    /// Whether everything written so far fits in the buffer.
    pub(crate) fn overflowed(&self) -> bool {
        // Every write that does not fit still advances `pos` past the end.
        self.pos > self.out.len()
    }

    /// Flush the last partial byte; returns the bytes written, or `None` if they did not fit.
    pub(crate) fn finish(mut self) -> Option<usize> {
        if self.count > 0 {
            let pad = (8 - self.count % 8) % 8;
            self.put(0, pad);
            self.flush_bytes();
        }
        (!self.overflowed()).then_some(self.pos)
    }

    /// Carry the unfinished bits out (for a streaming writer that continues in another buffer).
    pub(crate) fn into_parts(mut self) -> (Option<usize>, u64, u32) {
        self.flush_bytes();
        let ok = (!self.overflowed()).then_some(self.pos);
        (ok, self.buf, self.count)
    }

    /// Start with pending bits from an earlier writer.
    pub(crate) fn with_pending(out: &'a mut [u8], buf: u64, count: u32) -> Self {
        Self {
            out,
            pos: 0,
            buf,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BitWriter;
    use alloc::vec;
    use alloc::vec::Vec;

    use crate::test_support::xorshift;

    /// Bits packed LSB-first, as the writer packs them.
    fn to_bytes(bits: &[bool]) -> Vec<u8> {
        bits.chunks(8)
            .map(|c| c.iter().rev().fold(0u8, |b, &bit| b << 1 | u8::from(bit)))
            .collect()
    }

    /// Random widths 0..=56 into buffers of every size around the output's length: the
    /// bytes must equal a bit-by-bit reference, and overflow must be reported exactly when
    /// the output does not fit (never a write past the buffer).
    #[test]
    fn writer_matches_a_bit_by_bit_reference_at_every_buffer_size() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..40 {
            let puts: Vec<(u64, u32)> = (0..next() % 60)
                .map(|_| {
                    let n = (next() % 57) as u32;
                    (next() & ((1u64 << n) - 1), n)
                })
                .collect();
            let mut bits = Vec::new();
            for &(v, n) in &puts {
                bits.extend((0..n).map(|i| (v >> i) & 1 == 1));
            }
            let expect = to_bytes(&bits);
            for size in expect.len().saturating_sub(10)..expect.len() + 10 {
                let mut out = vec![0xAAu8; size + 16];
                let (buf, guard) = out.split_at_mut(size);
                let mut w = BitWriter::new(buf);
                for &(v, n) in &puts {
                    if n <= 32 && v >> 32 == 0 && next() % 2 == 0 {
                        w.put(v as u32, n);
                    } else {
                        w.put_wide(v, n);
                    }
                }
                let got = w.finish();
                assert!(guard.iter().all(|&b| b == 0xAA), "wrote past the buffer");
                if size >= expect.len() {
                    assert_eq!(got, Some(expect.len()));
                    assert_eq!(&out[..expect.len()], &expect[..]);
                } else {
                    assert_eq!(got, None, "{} bytes cannot fit in {size}", expect.len());
                }
            }
        }
    }

    /// `put_each` over random items (odd and even counts, pairs both within and past 56
    /// bits, after a first put that leaves 0..=7 bits buffered), into buffers of every
    /// size around the output's length: the same bytes as the bit-by-bit reference,
    /// overflow exactly when they do not fit, nothing written past the buffer. Fails if a
    /// pair's second item lands at the wrong offset.
    #[test]
    fn put_each_matches_a_bit_by_bit_reference() {
        let mut next = xorshift(0xD1B5_4A32_D192_ED03);
        let mut pairs_past_56 = 0;
        for _ in 0..60 {
            let lead = (next() % 8) as u32;
            let items: Vec<(u64, u32)> = (0..next() % 80)
                .map(|_| {
                    // Mostly literal-sized, sometimes match-sized (up to 48 bits).
                    let n = if next() % 4 == 0 {
                        20 + next() % 29
                    } else {
                        next() % 16
                    } as u32;
                    (next() & ((1u64 << n) - 1), n)
                })
                .collect();
            pairs_past_56 += items
                .chunks_exact(2)
                .filter(|p| p[0].1 + p[1].1 > 56)
                .count();
            let mut bits: Vec<bool> = (0..lead).map(|i| i % 3 == 0).collect();
            for &(v, n) in &items {
                bits.extend((0..n).map(|i| (v >> i) & 1 == 1));
            }
            let expect = to_bytes(&bits);
            let lead_bits = (0..lead).fold(0u32, |v, i| v | u32::from(i % 3 == 0) << i);
            for size in expect.len().saturating_sub(20)..expect.len() + 20 {
                let mut out = vec![0xAAu8; size + 16];
                let (buf, guard) = out.split_at_mut(size);
                let mut w = BitWriter::new(buf);
                w.put(lead_bits, lead);
                w.put_each(&items, |item| item);
                let got = w.finish();
                assert!(guard.iter().all(|&b| b == 0xAA), "wrote past the buffer");
                if size >= expect.len() {
                    assert_eq!(got, Some(expect.len()), "room {size}");
                    assert_eq!(&out[..expect.len()], &expect[..]);
                } else {
                    assert_eq!(got, None, "{} bytes cannot fit in {size}", expect.len());
                }
            }
        }
        assert!(
            pairs_past_56 > 50,
            "the two-put path ran {pairs_past_56} times"
        );
    }

    /// `start_with` a prefix of every length, then the rest in random puts: the same bytes
    /// as the bits put one by one, and overflow exactly when they do not fit.
    #[test]
    fn start_with_a_prefix_matches_a_bit_by_bit_reference() {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let bits: Vec<bool> = (0..300).map(|_| next() % 2 == 1).collect();
        let expect = to_bytes(&bits);
        for prefix in 0..=bits.len() {
            // Bits past the prefix in its last byte must not leak into the output.
            let mut prefix_bytes = to_bytes(&bits[..prefix]);
            if prefix % 8 != 0 {
                *prefix_bytes.last_mut().unwrap() |= 0xFF << (prefix % 8);
            }
            for size in [expect.len() - 1, expect.len(), expect.len() + 9] {
                let mut out = vec![0xAAu8; size + 16];
                let (buf, guard) = out.split_at_mut(size);
                let mut w = BitWriter::new(buf);
                w.start_with(&prefix_bytes, prefix as u64);
                let mut at = prefix;
                while at < bits.len() {
                    let n = ((next() % 57) as usize).min(bits.len() - at);
                    let v = bits[at..at + n]
                        .iter()
                        .rev()
                        .fold(0u64, |v, &bit| v << 1 | u64::from(bit));
                    w.put_wide(v, n as u32);
                    at += n;
                }
                let got = w.finish();
                assert!(guard.iter().all(|&b| b == 0xAA), "wrote past the buffer");
                if size >= expect.len() {
                    assert_eq!(got, Some(expect.len()), "prefix {prefix}");
                    assert_eq!(&out[..expect.len()], &expect[..], "prefix {prefix}");
                } else {
                    assert_eq!(got, None, "prefix {prefix}, size {size}");
                }
            }
        }
    }
}
