//! ISA-L (Intel's igzip) as a peer of `pageflate bench`: raw deflate of one page with a
//! 4 KiB window at levels 0 and 1, and its decoder. ISA-L is the software deflate of
//! Intel's storage libraries and what QPL's software path grew from; the reference
//! table measured ISA-L 2.30, the version Debian ships (`libisal-dev`).
//!
//! The C side is `csrc/isal_peer.c`, built by `build.rs` only when ISA-L is installed
//! (`cfg(pageflate_isal)`); it owns ISA-L's structs, so nothing here mirrors their layout.

use std::ffi::c_void;

extern "C" {
    fn pf_isal_stream_new() -> *mut c_void;
    fn pf_isal_inflate_new() -> *mut c_void;
    fn pf_isal_free(p: *mut c_void);
    fn pf_isal_level_buf_size(level: u32) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn pf_isal_deflate(
        stream: *mut c_void,
        input: *const u8,
        in_len: u32,
        out: *mut u8,
        out_cap: u32,
        level: u32,
        level_buf: *mut u8,
        level_buf_size: u32,
        hist_bits: u16,
    ) -> u32;
    fn pf_isal_inflate(
        state: *mut c_void,
        input: *const u8,
        in_len: u32,
        out: *mut u8,
        out_len: u32,
    ) -> i32;
}

/// Window of the compressed pages: 2^12 = 4 KiB, as QEMU's qpl method uses.
const HIST_BITS: u16 = 12;

/// An ISA-L compression stream at one level, with its level buffer, reused page after
/// page (as a migration thread would).
pub(super) struct IsalDeflate {
    stream: *mut c_void,
    level: u32,
    level_buf: Vec<u8>,
}

impl IsalDeflate {
    /// A stream at `level` (0 or 1); `None` if ISA-L's state cannot be allocated.
    pub(super) fn new(level: u32) -> Option<Self> {
        // SAFETY: the shim allocates a zeroed struct isal_zstream (NULL on failure) and
        // reports a level's buffer size; neither reads anything of ours.
        let (stream, size) = unsafe { (pf_isal_stream_new(), pf_isal_level_buf_size(level)) };
        if stream.is_null() {
            return None;
        }
        Some(Self {
            stream,
            level,
            level_buf: vec![0; size as usize],
        })
    }

    /// Compress `page` into `out` as one raw deflate stream; `None` when it does not fit.
    pub(super) fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        let (in_len, out_cap) = (
            u32::try_from(page.len()).ok()?,
            u32::try_from(out.len()).ok()?,
        );
        // SAFETY: `stream` is the shim's allocation, used by one thread (`&mut self`); ISA-L
        // reads `in_len` bytes of `page`, writes at most `out_cap` bytes of `out`, and uses
        // `level_buf` within the size given; none of them is kept after the call.
        let n = unsafe {
            pf_isal_deflate(
                self.stream,
                page.as_ptr(),
                in_len,
                out.as_mut_ptr(),
                out_cap,
                self.level,
                self.level_buf.as_mut_ptr(),
                self.level_buf.len() as u32,
                HIST_BITS,
            )
        };
        (n != 0).then_some(n as usize)
    }
}

impl Drop for IsalDeflate {
    fn drop(&mut self) {
        // SAFETY: allocated by the shim in `new` and freed only here.
        unsafe { pf_isal_free(self.stream) }
    }
}

/// An ISA-L inflate state, reused page after page.
pub(super) struct IsalInflate(*mut c_void);

impl IsalInflate {
    /// `None` if ISA-L's state cannot be allocated.
    pub(super) fn new() -> Option<Self> {
        // SAFETY: the shim allocates a zeroed struct inflate_state, NULL on failure.
        let state = unsafe { pf_isal_inflate_new() };
        (!state.is_null()).then_some(Self(state))
    }

    /// Whether `data` decodes to exactly `out.len()` bytes (written to `out`).
    pub(super) fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        let (Ok(in_len), Ok(out_len)) = (u32::try_from(data.len()), u32::try_from(out.len()))
        else {
            return false;
        };
        // SAFETY: the state is the shim's allocation, used by one thread; ISA-L reads
        // `in_len` bytes of `data` and writes at most `out_len` bytes of `out`.
        unsafe { pf_isal_inflate(self.0, data.as_ptr(), in_len, out.as_mut_ptr(), out_len) == 1 }
    }
}

impl Drop for IsalInflate {
    fn drop(&mut self) {
        // SAFETY: allocated by the shim in `new` and freed only here.
        unsafe { pf_isal_free(self.0) }
    }
}
