//! Intel QPL's software path as a peer of `pageflate bench`: what QEMU's
//! `multifd-compression qpl` runs on a page when no IAA device takes it, with QEMU's job
//! flags (`FIRST | LAST | OMIT_VERIFY`, the default level, room for `page_size - 1`
//! bytes): fixed Huffman, as QEMU sends it, and dynamic Huffman for reference. Also QPL's
//! software decoder.
//!
//! The C side is `csrc/qpl_peer.c`, built by `build.rs` only when `scripts/fetch-qpl.sh`
//! has unpacked Debian's libqpl-dev (`cfg(pageflate_qpl)`); it owns QPL's job struct, so
//! nothing here mirrors its layout.

use std::ffi::{c_char, c_void, CStr};

extern "C" {
    fn pf_qpl_job_new() -> *mut c_void;
    fn pf_qpl_job_free(job: *mut c_void);
    fn pf_qpl_version() -> *const c_char;
    fn pf_qpl_compress(
        job: *mut c_void,
        input: *const u8,
        in_len: u32,
        out: *mut u8,
        out_cap: u32,
        dynamic: i32,
    ) -> u32;
    fn pf_qpl_decompress(
        job: *mut c_void,
        input: *const u8,
        in_len: u32,
        out: *mut u8,
        out_len: u32,
    ) -> i32;
}

/// The linked QPL's version, e.g. "1.9.0".
pub(super) fn version() -> String {
    // SAFETY: QPL returns a pointer to a static NUL-terminated string (or NULL, checked).
    unsafe {
        let v = pf_qpl_version();
        if v.is_null() {
            return "unknown".into();
        }
        CStr::from_ptr(v).to_string_lossy().into_owned()
    }
}

/// A QPL software-path job, reused page after page (as a multifd thread reuses its job).
pub(super) struct QplJob(*mut c_void);

impl QplJob {
    /// `None` if QPL cannot allocate or initialize the job.
    pub(super) fn new() -> Option<Self> {
        // SAFETY: the shim allocates and initializes a job (NULL on failure); it reads
        // nothing of ours.
        let job = unsafe { pf_qpl_job_new() };
        (!job.is_null()).then_some(Self(job))
    }

    /// Compress `page` into `out` as one raw deflate stream (dynamic Huffman if
    /// `dynamic`, else fixed); `None` when it does not fit in `out`.
    pub(super) fn compress(&mut self, page: &[u8], out: &mut [u8], dynamic: bool) -> Option<usize> {
        let (in_len, out_cap) = (
            u32::try_from(page.len()).ok()?,
            u32::try_from(out.len()).ok()?,
        );
        // SAFETY: the job is the shim's, used by one thread (`&mut self`); QPL reads
        // `in_len` bytes of `page` and writes at most `out_cap` bytes of `out`, keeping
        // neither pointer after the call.
        let n = unsafe {
            pf_qpl_compress(
                self.0,
                page.as_ptr(),
                in_len,
                out.as_mut_ptr(),
                out_cap,
                i32::from(dynamic),
            )
        };
        (n != 0).then_some(n as usize)
    }

    /// Whether `data` decodes to exactly `out.len()` bytes (written to `out`).
    pub(super) fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        let (Ok(in_len), Ok(out_len)) = (u32::try_from(data.len()), u32::try_from(out.len()))
        else {
            return false;
        };
        // SAFETY: as in `compress`: QPL reads `in_len` bytes of `data` and writes at most
        // `out_len` bytes of `out`.
        unsafe { pf_qpl_decompress(self.0, data.as_ptr(), in_len, out.as_mut_ptr(), out_len) == 1 }
    }
}

impl Drop for QplJob {
    fn drop(&mut self) {
        // SAFETY: allocated by the shim in `new` and freed only here.
        unsafe { pf_qpl_job_free(self.0) }
    }
}
