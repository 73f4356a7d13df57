//! Everything above the portal: job memory, submission across queues, completion polling,
//! page faults, overflows, and the software fallback — QEMU's policy (iaa.md §4.4):
//!
//! | outcome | reaction |
//! |---|---|
//! | every queue refuses (ZF = 1) for a few rounds | run that page in software |
//! | page fault 0x03/0x83 (block-on-fault off) | touch the address, resubmit once; a second fault → software |
//! | 0x04 (fault the OS could not resolve) | software |
//! | compress output overflow (0x0A/25) | send the page raw, as QEMU does |
//! | decompress overflow (0x0B) | resume from the AECS half the device wrote |
//! | other analytics errors (e.g. 17: distance beyond 4 KiB) | software inflate |
//! | watchdog 0x24, no completion within the timeout, anything else | software |
//!
//! A job that timed out may still be written by the device later, so its memory is never
//! reused or freed (it is quarantined), and outputs always land in job memory first and are
//! copied out only after a successful completion: a late device write cannot corrupt a
//! packet or guest memory.

use super::aecs::{self, COMPRESS_AECS_LEN, DECOMPRESS_AECS_LEN};
use super::desc::{comp_flag, decomp_flag, op_flag, Completion, Descriptor, Status, DESC_LEN};
use super::portal::{Portal, Submit};
use super::sysfs::Mode;
use pageflate_core::deflate::{BlockCodes, Histogram};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Page size the IAA engine handles.
pub const PAGE: usize = 4096;

/// Memory for one job: the completion record (64-byte aligned), a double AECS (32-byte
/// aligned), and the output staging buffer.
#[repr(C, align(64))]
pub struct JobMem {
    cr: [AtomicU8; DESC_LEN],
    aecs: [u8; 2 * DECOMPRESS_AECS_LEN],
    out: [u8; PAGE + 64],
}

impl JobMem {
    /// Zeroed job memory on the heap.
    pub fn boxed() -> Box<Self> {
        Box::new(Self {
            cr: std::array::from_fn(|_| AtomicU8::new(0)),
            aecs: [0; 2 * DECOMPRESS_AECS_LEN],
            out: [0; PAGE + 64],
        })
    }

    fn cr_addr(&self) -> u64 {
        self.cr.as_ptr() as u64
    }

    fn reset(&self) {
        for c in &self.cr {
            c.store(0, Ordering::Relaxed);
        }
        std::sync::atomic::fence(Ordering::Release);
    }

    /// The record, once the device has written its status.
    fn completion(&self) -> Option<Completion> {
        let status = self.cr[0].load(Ordering::Acquire);
        if status == 0 {
            return None;
        }
        let mut b = [0u8; DESC_LEN];
        for (d, c) in b.iter_mut().zip(&self.cr) {
            *d = c.load(Ordering::Relaxed);
        }
        b[0] = status;
        Some(Completion::parse(&b))
    }
}

/// Why a page ran in software.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Every queue refused the descriptor.
    Busy,
    /// A page fault happened twice.
    Fault,
    /// A page fault the OS could not resolve (0x04).
    Unresolved,
    /// No completion within the timeout.
    Timeout,
    /// An analytics error (the code).
    Analytics(u8),
    /// Any other status (the byte).
    Status(u8),
}

/// What happened to a page on the hardware path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Compressed: this many bytes in the job's output.
    Compressed(usize),
    /// Did not fit below the page size: send it raw.
    Raw,
    /// Decompressed into the job's output.
    Decompressed,
    /// Run it in software, for this reason.
    Software(Fallback),
}

/// Counters (all pages that reached the IAA path).
#[derive(Debug, Default)]
pub struct Counters {
    /// Pages compressed by the device.
    pub hw_compressed: AtomicU64,
    /// Pages the device could not compress below a page (sent raw).
    pub hw_raw: AtomicU64,
    /// Pages decompressed by the device.
    pub hw_decompressed: AtomicU64,
    /// Decompress jobs resumed from the AECS after an output overflow.
    pub resumed: AtomicU64,
    /// Page faults resolved by touching and resubmitting.
    pub faults_resolved: AtomicU64,
    /// Submissions refused by a queue (ZF = 1) and retried elsewhere.
    pub retries: AtomicU64,
    /// Software fallbacks: every queue busy.
    pub fallback_busy: AtomicU64,
    /// Software fallbacks: faults.
    pub fallback_fault: AtomicU64,
    /// Software fallbacks: timeouts (and watchdog).
    pub fallback_timeout: AtomicU64,
    /// Software fallbacks: analytics errors (e.g. 17).
    pub fallback_analytics: AtomicU64,
    /// Software fallbacks: any other status.
    pub fallback_other: AtomicU64,
}

impl Counters {
    /// A JSON snapshot.
    pub fn to_json(&self) -> serde_json::Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "hw_compressed": g(&self.hw_compressed), "hw_raw": g(&self.hw_raw),
            "hw_decompressed": g(&self.hw_decompressed), "resumed": g(&self.resumed),
            "faults_resolved": g(&self.faults_resolved), "retries": g(&self.retries),
            "fallback": {
                "busy": g(&self.fallback_busy), "fault": g(&self.fallback_fault),
                "timeout": g(&self.fallback_timeout), "analytics": g(&self.fallback_analytics),
                "other": g(&self.fallback_other),
            },
        })
    }

    fn count(&self, f: Fallback) {
        let c = match f {
            Fallback::Busy => &self.fallback_busy,
            Fallback::Fault | Fallback::Unresolved => &self.fallback_fault,
            Fallback::Timeout | Fallback::Status(0x24) => &self.fallback_timeout,
            Fallback::Analytics(_) => &self.fallback_analytics,
            Fallback::Status(_) => &self.fallback_other,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Rounds over all queues before a refused page runs in software.
    pub rounds: u32,
    /// How long to wait for a completion before falling back.
    pub timeout: Duration,
    /// Build dynamic Huffman codes per page (statistics pass, software code build, then
    /// compress) instead of the fixed code QEMU's QPL mode uses.
    pub dynamic: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            rounds: 3,
            timeout: Duration::from_millis(200),
            dynamic: false,
        }
    }
}

struct Queue {
    portal: Arc<dyn Portal>,
    in_flight: AtomicU32,
}

/// An IAA context: its queues, the shared fixed-code AECS, policy and counters.
pub struct Iaa {
    queues: Vec<Queue>,
    next: AtomicUsize,
    policy: Policy,
    iaa2: bool,
    fixed_aecs: Box<JobMem>,
    /// What happened, for reports.
    pub counters: Counters,
    quarantine: Mutex<Vec<Box<JobMem>>>,
}

/// A descriptor in flight: its queue, for in-flight accounting.
struct Pending {
    queue: usize,
    deadline: Instant,
}

impl Iaa {
    /// A context over `portals` (at least one).
    pub fn new(portals: Vec<Arc<dyn Portal>>, iaa2: bool, policy: Policy) -> Self {
        let fixed_aecs = JobMem::boxed();
        // SAFETY-free: the AECS lives in a boxed JobMem (32-byte aligned at offset 64).
        let mut f = fixed_aecs;
        aecs::fill_compress(&mut f.aecs[..COMPRESS_AECS_LEN], &BlockCodes::fixed(), true);
        Self {
            queues: portals
                .into_iter()
                .map(|portal| Queue {
                    portal,
                    in_flight: AtomicU32::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
            policy,
            iaa2,
            fixed_aecs: f,
            counters: Counters::default(),
            quarantine: Mutex::new(Vec::new()),
        }
    }

    /// Queue names, for reports.
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.iter().map(|q| q.portal.name()).collect()
    }

    /// Submit `desc` to some queue: rotate through them, a few rounds, as QEMU/QPL do.
    fn submit(&self, desc: &Descriptor) -> Option<Pending> {
        let n = self.queues.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for _ in 0..self.policy.rounds {
            for k in 0..n {
                let qi = (start + k) % n;
                let q = &self.queues[qi];
                if q.portal.mode() == Mode::Dedicated
                    && q.in_flight.fetch_add(1, Ordering::AcqRel) >= q.portal.capacity()
                {
                    // A dedicated queue gives no feedback: never exceed its size.
                    q.in_flight.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
                let d = desc.with_block_on_fault(q.portal.block_on_fault());
                match q.portal.submit(&d) {
                    Submit::Accepted => {
                        return Some(Pending {
                            queue: qi,
                            deadline: Instant::now() + self.policy.timeout,
                        })
                    }
                    Submit::Retry => {
                        self.counters.retries.fetch_add(1, Ordering::Relaxed);
                        if q.portal.mode() == Mode::Dedicated {
                            q.in_flight.fetch_sub(1, Ordering::AcqRel);
                        }
                    }
                }
            }
            std::hint::spin_loop();
        }
        None
    }

    /// Poll the job's record until it completes or the deadline passes.
    fn wait(&self, job: &JobMem, p: &Pending) -> Option<Completion> {
        let mut spins = 0u32;
        let done = loop {
            if let Some(c) = job.completion() {
                break Some(c);
            }
            if Instant::now() >= p.deadline {
                break None;
            }
            spins += 1;
            if spins < 256 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        };
        if done.is_some() && self.queues[p.queue].portal.mode() == Mode::Dedicated {
            self.queues[p.queue]
                .in_flight
                .fetch_sub(1, Ordering::AcqRel);
        }
        done
    }

    /// A job that timed out may still be written: replace its memory, never free the old.
    fn quarantine(&self, job: &mut Box<JobMem>) {
        let old = std::mem::replace(job, JobMem::boxed());
        self.quarantine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(old);
    }

    /// Finish a submitted job: wait, resolve one page fault by touching and resubmitting.
    fn finish(
        &self,
        job: &mut Box<JobMem>,
        desc: &Descriptor,
        pending: Option<Pending>,
    ) -> Result<Completion, Fallback> {
        let Some(p) = pending else {
            return Err(Fallback::Busy);
        };
        let Some(c) = self.wait(job, &p) else {
            self.quarantine(job);
            return Err(Fallback::Timeout);
        };
        match c.status() {
            Status::PageFault { write } => {
                if !touch(desc, c.fault_address, write) {
                    return Err(Fallback::Fault);
                }
                job.reset();
                let again = self.submit(desc).ok_or(Fallback::Busy)?;
                let Some(c2) = self.wait(job, &again) else {
                    self.quarantine(job);
                    return Err(Fallback::Timeout);
                };
                match c2.status() {
                    Status::PageFault { .. } | Status::PageFaultUnresolved => Err(Fallback::Fault),
                    _ => {
                        self.counters
                            .faults_resolved
                            .fetch_add(1, Ordering::Relaxed);
                        Ok(c2)
                    }
                }
            }
            Status::PageFaultUnresolved => Err(Fallback::Unresolved),
            _ => Ok(c),
        }
    }

    /// Run one descriptor to completion (no-op self test, statistics pass).
    fn run(&self, job: &mut Box<JobMem>, desc: &Descriptor) -> Result<Completion, Fallback> {
        job.reset();
        let p = self.submit(desc);
        self.finish(job, desc, p)
    }

    /// A no-op through some queue: checks that submission and completion work.
    pub fn noop(&self) -> Result<(), Fallback> {
        let mut job = JobMem::boxed();
        let d = Descriptor::noop(job.cr_addr());
        match self.run(&mut job, &d)?.status() {
            Status::Success => Ok(()),
            _ => Err(Fallback::Status(job.cr[0].load(Ordering::Acquire))),
        }
    }

    fn compress_desc(&self, job: &JobMem, page: &[u8], aecs_at: u64) -> Descriptor {
        Descriptor::compress(
            job.cr_addr(),
            page.as_ptr() as u64,
            page.len() as u32,
            job.out.as_ptr() as u64,
            // QEMU's rule: a page that does not fit in page_size - 1 bytes goes raw.
            (page.len() - 1) as u32,
            aecs_at,
            COMPRESS_AECS_LEN as u32,
            comp_flag::FLUSH_OUTPUT | comp_flag::APPEND_EOB,
            0,
        )
    }

    /// Compress pages: submit them all, then wait for each (QEMU's batch: a packet's
    /// pages go to the device together). Outputs land in `jobs[i].out`.
    pub fn compress_pages(&self, jobs: &mut [Box<JobMem>], pages: &[&[u8]]) -> Vec<Outcome> {
        let mut descs = Vec::with_capacity(pages.len());
        let mut pending = Vec::with_capacity(pages.len());
        for (job, page) in jobs.iter_mut().zip(pages) {
            let aecs_at = if self.policy.dynamic {
                match self.prepare_dynamic(job, page) {
                    Ok(at) => at,
                    Err(f) => {
                        descs.push(None);
                        pending.push(Err(f));
                        continue;
                    }
                }
            } else {
                self.fixed_aecs.aecs.as_ptr() as u64
            };
            let d = self.compress_desc(job, page, aecs_at);
            job.reset();
            pending.push(Ok(self.submit(&d)));
            descs.push(Some(d));
        }
        let mut out = Vec::with_capacity(pages.len());
        for ((job, d), p) in jobs.iter_mut().zip(descs).zip(pending) {
            let result = match (d, p) {
                (Some(d), Ok(p)) => self.finish(job, &d, p),
                (_, Err(f)) => Err(f),
                (None, Ok(_)) => Err(Fallback::Busy),
            };
            out.push(match result {
                Ok(c) if c.status() == Status::Success => {
                    self.counters.hw_compressed.fetch_add(1, Ordering::Relaxed);
                    Outcome::Compressed(c.output_size as usize)
                }
                Ok(c) if c.status() == Status::AnalyticsError && c.error == 25 => {
                    self.counters.hw_raw.fetch_add(1, Ordering::Relaxed);
                    Outcome::Raw
                }
                Ok(c) => self.fallback(classify(&c)),
                Err(f) => self.fallback(f),
            });
        }
        out
    }

    fn fallback(&self, f: Fallback) -> Outcome {
        self.counters.count(f);
        Outcome::Software(f)
    }

    /// IAA 1.0's dynamic Huffman (iaa.md §3.6 C): statistics pass into the job's output,
    /// codes built in software, written with their header into the job's AECS.
    fn prepare_dynamic(&self, job: &mut Box<JobMem>, page: &[u8]) -> Result<u64, Fallback> {
        let d = Descriptor::compress(
            job.cr_addr(),
            page.as_ptr() as u64,
            page.len() as u32,
            job.out.as_ptr() as u64,
            aecs::HISTOGRAM_LEN as u32,
            0,
            0,
            comp_flag::STATS_MODE,
            0,
        );
        let c = self.run(job, &d)?;
        if c.status() != Status::Success {
            return Err(classify(&c));
        }
        let hist: Histogram = aecs::read_histogram(&job.out[..aecs::HISTOGRAM_LEN]);
        let codes = BlockCodes::from_histogram(&hist);
        aecs::fill_compress(&mut job.aecs[..COMPRESS_AECS_LEN], &codes, true);
        Ok(job.aecs.as_ptr() as u64)
    }

    /// Decompress one qpl page (deflate shorter than a page) into `job.out[..4096]`,
    /// resuming from the AECS if the device's output overflowed.
    pub fn decompress_page(&self, job: &mut Box<JobMem>, data: &[u8]) -> Outcome {
        aecs::init_decompress(&mut job.aecs, self.iaa2);
        let (mut consumed, mut written, mut toggle) = (0usize, 0usize, 0u32);
        let mut read = 0;
        loop {
            let d = Descriptor::decompress(
                job.cr_addr(),
                data[consumed..].as_ptr() as u64,
                (data.len() - consumed) as u32,
                job.out[written..].as_ptr() as u64,
                (PAGE - written) as u32,
                job.aecs.as_ptr() as u64,
                DECOMPRESS_AECS_LEN as u32,
                decomp_flag::QPL_SINGLE_SHOT,
                read | op_flag::WRITE_AECS_ON_OVERFLOW | toggle,
            );
            let c = match self.run(job, &d) {
                Ok(c) => c,
                Err(f) => return self.fallback(f),
            };
            match c.status() {
                Status::Success if written + c.output_size as usize == PAGE => {
                    self.counters
                        .hw_decompressed
                        .fetch_add(1, Ordering::Relaxed);
                    return Outcome::Decompressed;
                }
                Status::Success => return self.fallback(Fallback::Analytics(0)),
                Status::OutputOverflow
                    if c.output_size > 0 && written + (c.output_size as usize) < PAGE =>
                {
                    // The state went to the other half: read it next, write the first.
                    written += c.output_size as usize;
                    consumed += c.bytes_completed as usize;
                    toggle ^= op_flag::AECS_TOGGLE;
                    read = op_flag::READ_AECS;
                    self.counters.resumed.fetch_add(1, Ordering::Relaxed);
                }
                _ => return self.fallback(classify(&c)),
            }
        }
    }

    /// The job's output bytes.
    pub fn output(job: &JobMem, len: usize) -> &[u8] {
        &job.out[..len.min(job.out.len())]
    }
}

fn classify(c: &Completion) -> Fallback {
    match c.status() {
        Status::AnalyticsError => Fallback::Analytics(c.error),
        Status::PageFault { .. } => Fallback::Fault,
        Status::PageFaultUnresolved => Fallback::Unresolved,
        _ => Fallback::Status(c.status_byte),
    }
}

/// Touch the faulting byte so the OS maps it in: read it, or read and rewrite it for a
/// write fault. Only addresses inside the descriptor's own buffers are touched.
fn touch(d: &Descriptor, addr: u64, write: bool) -> bool {
    let inside = |start: u64, len: u32| addr >= start && addr < start + u64::from(len);
    let in_src = inside(d.src1(), d.src1_size());
    let in_dst = inside(d.dst(), d.max_dst());
    // A write fault can only be on the destination; a read fault on either buffer.
    let known = if write { in_dst } else { in_src || in_dst };
    if !known {
        return false;
    }
    // SAFETY: `addr` lies in a buffer this descriptor names, which the submitter owns and
    // keeps alive (src: readable; dst: writable job memory) until the job completes.
    unsafe {
        let p = addr as usize as *mut u8;
        let v = std::ptr::read_volatile(p);
        if write {
            std::ptr::write_volatile(p, v);
        }
    }
    true
}
