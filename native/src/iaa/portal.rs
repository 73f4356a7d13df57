//! Submitting descriptors: the [`Portal`] trait (64 bytes in → accepted or retry), and the
//! real portal of a work queue (iaa.md §2): the WQ's char device opened read-write, one page
//! mapped, ENQCMD for shared queues (ZF = 1 → retry), MOVDIR64B for dedicated ones (no
//! feedback: the caller keeps in-flight descriptors ≤ the queue size), or `write(2)` when the
//! kernel refuses the mapping. Inline assembly lives only here.
//!
//! The device model ([`super::model`]) implements the same trait, so everything above the
//! portal — descriptors, AECS, polling, faults, fallback — runs the same code on both.

use super::desc::Descriptor;
use super::sysfs::{Mode, WorkQueue};

/// What a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submit {
    /// The queue took the descriptor.
    Accepted,
    /// The queue was full or busy: try another queue, or later.
    Retry,
}

/// One work queue's submission path.
pub trait Portal: Send + Sync {
    /// Submit one descriptor.
    fn submit(&self, desc: &Descriptor) -> Submit;
    /// Shared or dedicated (dedicated queues give no feedback: bound the in-flight count).
    fn mode(&self) -> Mode;
    /// Queue entries.
    fn capacity(&self) -> u32;
    /// Whether the device resolves page faults itself for this queue (descriptor BOF bit).
    fn block_on_fault(&self) -> bool;
    /// A name for reports (`wq1.0`, `model wq0`).
    fn name(&self) -> String;
}

cfg_if::cfg_if! {
    if #[cfg(all(target_arch = "x86_64", target_os = "linux"))] {
        pub use hw::HwPortal;
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod hw {
    use super::{Descriptor, Mode, Portal, Submit, WorkQueue};
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The real portal of a user work queue.
    pub struct HwPortal {
        name: String,
        mode: Mode,
        capacity: u32,
        block_on_fault: bool,
        fd: OwnedFd,
        /// The mapped portal page, or `None` when submissions go through `write(2)`.
        page: Option<*mut u8>,
        /// QPL's habit: cycle through the page's 64 portal slots.
        slot: AtomicUsize,
    }

    // SAFETY: the portal page is device memory written only with ENQCMD/MOVDIR64B, which
    // are atomic 64-byte stores; sharing the pointer between threads is what QPL does.
    unsafe impl Send for HwPortal {}
    // SAFETY: as above; no Rust reference to the page ever exists.
    unsafe impl Sync for HwPortal {}

    impl HwPortal {
        /// Open `wq`'s char device and map its portal; when the mapping is refused
        /// (EPERM on kernels that require CAP_SYS_RAWIO), keep the file for `write(2)`.
        pub fn open(wq: &WorkQueue) -> io::Result<Self> {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&wq.dev_node)?;
            let fd: OwnedFd = file.into();
            // SAFETY: mapping one page of a file we own; the result is checked.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_POPULATE,
                    fd.as_raw_fd(),
                    0,
                )
            };
            let page = (p != libc::MAP_FAILED).then_some(p.cast::<u8>());
            Ok(Self {
                name: wq.name.clone(),
                mode: wq.mode,
                capacity: wq.size,
                block_on_fault: wq.block_on_fault,
                fd,
                page,
                slot: AtomicUsize::new(0),
            })
        }

        /// Whether submissions go through `write(2)`.
        pub fn uses_write(&self) -> bool {
            self.page.is_none()
        }
    }

    impl Drop for HwPortal {
        fn drop(&mut self) {
            if let Some(p) = self.page {
                // SAFETY: unmapping the page mapped in `open`.
                unsafe { libc::munmap(p.cast(), 4096) };
            }
        }
    }

    impl Portal for HwPortal {
        fn submit(&self, desc: &Descriptor) -> Submit {
            let Some(page) = self.page else {
                // SAFETY: `desc` is 64 readable bytes; write(2) copies them.
                let n = unsafe {
                    libc::write(self.fd.as_raw_fd(), desc.0.as_ptr().cast(), desc.0.len())
                };
                // UNCONFIRMED (iaa.md §2.4): the errno of a full shared queue; any refusal
                // is treated as "retry", which ends in the software fallback if it persists.
                return if n == 64 {
                    Submit::Accepted
                } else {
                    Submit::Retry
                };
            };
            let slot = (self.slot.fetch_add(1, Ordering::Relaxed) & 63) * 64;
            // SAFETY: `page + slot` is a 64-byte-aligned address inside the mapped portal
            // page; `desc` is a 64-byte-aligned, initialised descriptor. SFENCE orders the
            // descriptor and the zeroed completion record before the enqueue store.
            unsafe {
                let dst = page.add(slot);
                match self.mode {
                    Mode::Shared => {
                        let zf: u8;
                        core::arch::asm!(
                            "sfence",
                            // ENQCMD rax, [rdx]
                            ".byte 0xf2, 0x0f, 0x38, 0xf8, 0x02",
                            "setz {zf}",
                            zf = out(reg_byte) zf,
                            in("rax") dst,
                            in("rdx") desc.0.as_ptr(),
                            options(nostack),
                        );
                        if zf == 0 {
                            Submit::Accepted
                        } else {
                            Submit::Retry
                        }
                    }
                    Mode::Dedicated => {
                        core::arch::asm!(
                            "sfence",
                            // MOVDIR64B rax, [rdx]
                            ".byte 0x66, 0x0f, 0x38, 0xf8, 0x02",
                            in("rax") dst,
                            in("rdx") desc.0.as_ptr(),
                            options(nostack),
                        );
                        Submit::Accepted
                    }
                }
            }
        }

        fn mode(&self) -> Mode {
            self.mode
        }

        fn capacity(&self) -> u32 {
            self.capacity
        }

        fn block_on_fault(&self) -> bool {
            self.block_on_fault
        }

        fn name(&self) -> String {
            self.name.clone()
        }
    }
}
