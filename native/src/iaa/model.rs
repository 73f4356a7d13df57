//! A software model of an IAA device, faithful to `../shared/docs/iaa.md`, behind the same
//! [`Portal`] trait as the hardware: no machine here has IAA, so this is how the hardware
//! path is exercised.
//!
//! What it does, by iaa.md section:
//! - §1.3/§2.2: per-queue capacity; a full shared queue answers "retry" (ZF = 1), a full
//!   dedicated queue silently drops the descriptor (UNCONFIRMED in iaa.md; the safe
//!   assumption for the driver, which must bound its in-flight count).
//! - §3/§4: descriptors checked in a plausible hardware order (completion-record alignment,
//!   opcode, reserved fields, flags, AECS alignment, sizes, overlap), then executed by the
//!   core codec: compress with the AECS tables and accumulator bits (error 30 for a symbol
//!   without a code, error 25 when the output does not fit), the statistics pass, decompress
//!   with a 4 KiB history (error 17 beyond it), output overflow (0x0B) with the state written
//!   to the other AECS half and resumable from it, CRC-32/CRC-32C and XOR checksums.
//! - §4.1: the completion record is written bytes 1..63 first, then the status (release
//!   store), from the engine thread, after a configurable delay.
//! - §7: injections — queue full N times or forever, page faults (BOF 0: status 0x03/0x83;
//!   BOF 1: resolved, or 0x04 when told it cannot be), forced overflow, any status/error
//!   pair, watchdog (0x24), jobs that never complete; IAA 1.0 or 2.0.
//!
//! Engine-private state: a decompress job's inflater is kept beside the AECS half it wrote
//! (keyed by that half's address), as the hardware keeps its decoder tables in the AECS's
//! opaque region; the AECS's visible fields (state, history pointer, 4 KiB history) are
//! written as iaa.md §5.4 lays them out.
//!
//! Memory: the model runs in the submitting process and reads and writes the addresses in
//! descriptors directly, as a device with shared virtual memory does. The contract is the
//! hardware's: every buffer a descriptor names stays valid and untouched by the submitter
//! until its completion record shows a non-zero status.

use super::aecs;
use super::desc::{
    comp_flag, decomp_flag, error_code, op_flag, opcode, Completion, Descriptor, Status,
};
use super::portal::{Portal, Submit};
use super::sysfs::Mode;
use pageflate_core::checksum::{crc32c, Crc32};
use pageflate_core::deflate::{BlockCodes, CodesError, Compressor, Histogram, Level};
use pageflate_core::{InflateErrorKind, InflateOptions, Inflater, StreamStatus};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One modelled work queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Entries.
    pub size: u32,
    /// Shared or dedicated.
    pub mode: Mode,
    /// The queue's `block_on_fault`.
    pub block_on_fault: bool,
}

/// The modelled device.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// 1 (IAA 1.0) or 2 (IAA 2.0).
    pub version: u8,
    /// Its queues.
    pub queues: Vec<QueueConfig>,
    /// Largest transfer.
    pub max_transfer_size: u32,
    /// Time the engine takes per descriptor before completing it.
    pub delay: Duration,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            version: 2,
            queues: vec![QueueConfig {
                size: 128,
                mode: Mode::Shared,
                block_on_fault: false,
            }],
            max_transfer_size: 1 << 31,
            delay: Duration::ZERO,
        }
    }
}

/// Which buffer an injected page fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOn {
    /// The input.
    Src1,
    /// The output (a write fault: status 0x83).
    Dst,
}

/// Something to make happen to upcoming descriptors (in submission order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// The next `n` submissions to any queue are refused as if the queue were full.
    QueueFull(u32),
    /// A page fault on the next executed descriptor. With block-on-fault the device
    /// resolves it (and the job succeeds) unless `resolvable` is false (status 0x04).
    Fault {
        /// Which buffer.
        on: FaultOn,
        /// Whether the OS can resolve it (block-on-fault queues only).
        resolvable: bool,
    },
    /// The next executed descriptor completes with this status and error code.
    Status(u8, u8),
    /// The next compress runs out of output (0x0A/25) or decompress overflows (0x0B) as if
    /// its destination were `n` bytes.
    OutputLimit(u32),
    /// The next executed descriptor hits the watchdog (0x24).
    Watchdog,
    /// The next executed descriptor never completes.
    NeverComplete,
}

/// Counters of what the model saw.
#[derive(Debug, Default)]
pub struct ModelStats {
    /// Descriptors accepted.
    pub accepted: AtomicU64,
    /// Submissions refused (retry).
    pub refused: AtomicU64,
    /// Descriptors dropped (dedicated queue over capacity).
    pub dropped: AtomicU64,
    /// Completion records written.
    pub completed: AtomicU64,
}

struct Job {
    desc: Descriptor,
    queue: usize,
}

struct Shared {
    config: ModelConfig,
    occupancy: Vec<AtomicU32>,
    submit_injections: Mutex<u32>,
    exec_injections: Mutex<VecDeque<Inject>>,
    forever_full: std::sync::atomic::AtomicBool,
    stats: ModelStats,
    /// Decompress state left in an AECS half, by the half's address: the decoder, and how
    /// many input bytes it already read but reported as not completed (the hardware keeps
    /// such bits in the AECS input accumulator; the resubmitted input starts with them).
    inflaters: Mutex<HashMap<u64, (Box<Inflater>, usize)>>,
}

/// The model: create it, take a [`ModelPortal`] per queue, inject, inspect counters.
pub struct IaaModel {
    shared: Arc<Shared>,
    engine: Sender<Job>,
}

impl IaaModel {
    /// Start a model (one engine thread).
    pub fn new(config: ModelConfig) -> Self {
        let shared = Arc::new(Shared {
            occupancy: config.queues.iter().map(|_| AtomicU32::new(0)).collect(),
            config,
            submit_injections: Mutex::new(0),
            exec_injections: Mutex::new(VecDeque::new()),
            forever_full: std::sync::atomic::AtomicBool::new(false),
            stats: ModelStats::default(),
            inflaters: Mutex::new(HashMap::new()),
        });
        let (tx, rx) = channel::<Job>();
        let engine = shared.clone();
        std::thread::Builder::new()
            .name("iaa-model".into())
            .spawn(move || {
                for job in rx {
                    if !engine.config.delay.is_zero() {
                        std::thread::sleep(engine.config.delay);
                    }
                    engine.execute(&job);
                    engine.occupancy[job.queue].fetch_sub(1, Ordering::AcqRel);
                }
            })
            .expect("start the IAA model's engine thread");
        Self { shared, engine: tx }
    }

    /// The portal of queue `queue`.
    pub fn portal(&self, queue: usize) -> ModelPortal {
        ModelPortal {
            shared: self.shared.clone(),
            engine: Mutex::new(self.engine.clone()),
            queue,
        }
    }

    /// Portals of every queue.
    pub fn portals(&self) -> Vec<Arc<dyn Portal>> {
        (0..self.shared.config.queues.len())
            .map(|q| Arc::new(self.portal(q)) as Arc<dyn Portal>)
            .collect()
    }

    /// Queue an injection.
    pub fn inject(&self, what: Inject) {
        match what {
            Inject::QueueFull(n) => *lock(&self.shared.submit_injections) += n,
            other => lock(&self.shared.exec_injections).push_back(other),
        }
    }

    /// Refuse every submission (`true`) or stop refusing (`false`).
    pub fn set_always_full(&self, on: bool) {
        self.shared.forever_full.store(on, Ordering::SeqCst);
    }

    /// Counters.
    pub fn stats(&self) -> &ModelStats {
        &self.shared.stats
    }

    /// Whether this models IAA 2.0.
    pub fn is_iaa2(&self) -> bool {
        self.shared.config.version >= 2
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A modelled queue's portal.
pub struct ModelPortal {
    shared: Arc<Shared>,
    engine: Mutex<Sender<Job>>,
    queue: usize,
}

impl Portal for ModelPortal {
    fn submit(&self, desc: &Descriptor) -> Submit {
        let s = &self.shared;
        let q = s.config.queues[self.queue];
        {
            let mut full = lock(&s.submit_injections);
            if *full > 0 || s.forever_full.load(Ordering::SeqCst) {
                *full = full.saturating_sub(1);
                s.stats.refused.fetch_add(1, Ordering::Relaxed);
                return Submit::Retry;
            }
        }
        let occupied = s.occupancy[self.queue].fetch_add(1, Ordering::AcqRel);
        if occupied >= q.size {
            s.occupancy[self.queue].fetch_sub(1, Ordering::AcqRel);
            return match q.mode {
                Mode::Shared => {
                    s.stats.refused.fetch_add(1, Ordering::Relaxed);
                    Submit::Retry
                }
                Mode::Dedicated => {
                    // MOVDIR64B to a full dedicated queue: posted, then lost.
                    s.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    Submit::Accepted
                }
            };
        }
        s.stats.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = lock(&self.engine).send(Job {
            desc: *desc,
            queue: self.queue,
        });
        Submit::Accepted
    }

    fn mode(&self) -> Mode {
        self.shared.config.queues[self.queue].mode
    }

    fn capacity(&self) -> u32 {
        self.shared.config.queues[self.queue].size
    }

    fn block_on_fault(&self) -> bool {
        self.shared.config.queues[self.queue].block_on_fault
    }

    fn name(&self) -> String {
        format!("model wq{}", self.queue)
    }
}

/// Device memory access: the addresses a descriptor names.
///
/// # Safety
/// `addr..addr + len` must be valid for reads (and writes for `mem_mut`) and not accessed
/// by anyone else until the job completes — the contract every IAA submitter keeps.
unsafe fn mem<'a>(addr: u64, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(addr as usize as *const u8, len) }
}

/// # Safety
/// As [`mem`], for writing.
unsafe fn mem_mut<'a>(addr: u64, len: usize) -> &'a mut [u8] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts_mut(addr as usize as *mut u8, len) }
}

/// Write a completion record as the hardware does: bytes 1..63, then the status byte with
/// release ordering, so a poller that sees the status sees the whole record.
///
/// # Safety
/// `addr` is the 64 writable bytes of a completion record the submitter polls with
/// atomic loads.
unsafe fn write_completion(addr: u64, c: &Completion) {
    let bytes = c.to_bytes();
    let cells = addr as usize as *const AtomicU8;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        // SAFETY: inside the record (the caller's contract); atomics, so the poller's
        // concurrent loads are not data races.
        unsafe { (*cells.add(i)).store(b, Ordering::Relaxed) };
    }
    // SAFETY: as above.
    unsafe { (*cells).store(bytes[0], Ordering::Release) };
}

fn status(s: Status) -> Completion {
    Completion {
        status_byte: s.to_byte(),
        ..Completion::default()
    }
}

fn analytics(error: u8) -> Completion {
    Completion {
        status_byte: Status::AnalyticsError.to_byte(),
        error,
        ..Completion::default()
    }
}

impl Shared {
    fn execute(&self, job: &Job) {
        let d = &job.desc;
        let cr = d.completion_addr();
        if cr == 0 {
            return; // nowhere to report: the hardware would fault on the CR address
        }
        let injected = lock(&self.exec_injections).pop_front();
        let c = match injected {
            Some(Inject::NeverComplete) => return,
            Some(Inject::Watchdog) => status(Status::Watchdog),
            Some(Inject::Status(st, err)) => Completion {
                status_byte: st,
                error: err,
                ..Completion::default()
            },
            other => self.run(d, job.queue, other),
        };
        // SAFETY: the submitter's contract (module docs).
        unsafe { write_completion(cr, &c) };
        self.stats.completed.fetch_add(1, Ordering::Relaxed);
    }

    /// Validate, then execute, in the order iaa.md §7.3 suggests.
    fn run(&self, d: &Descriptor, queue: usize, inject: Option<Inject>) -> Completion {
        let q = self.config.queues[queue];
        if d.completion_addr() % 64 != 0 {
            return status(Status::MisalignedCompletion);
        }
        let op = d.opcode();
        if !matches!(op, opcode::NOOP | opcode::COMPRESS | opcode::DECOMPRESS) {
            return status(Status::UnsupportedOpcode);
        }
        let flags = d.op_flags();
        if (q.mode == Mode::Shared && d.pasid_word() != 0)
            || (d.int_handle() != 0 && flags & op_flag::RCI == 0)
        {
            return status(Status::NonZeroReserved);
        }
        if flags & !op_flag::DEFINED != 0 {
            return Completion {
                invalid_flags: flags & !op_flag::DEFINED,
                ..status(Status::InvalidOpFlags)
            };
        }
        if op == opcode::NOOP {
            return status(Status::Success);
        }
        let defined = if op == opcode::COMPRESS {
            comp_flag::DEFINED
        } else {
            decomp_flag::DEFINED
        };
        if d.aux_flags() & !defined != 0 {
            return Completion {
                invalid_flags: u32::from(d.aux_flags() & !defined),
                ..status(Status::InvalidAuxFlags)
            };
        }
        let uses_aecs = flags & (3 << 16 | 3 << 18) != 0;
        if uses_aecs && (d.src2() % 32 != 0 || d.src2_size() % 32 != 0 || d.src2_size() == 0) {
            return status(Status::MisalignedAecs);
        }
        let stats_mode = op == opcode::COMPRESS && d.aux_flags() & comp_flag::STATS_MODE != 0;
        if d.src1_size() == 0
            || d.src1_size() > self.config.max_transfer_size
            || d.max_dst() > self.config.max_transfer_size
            || (stats_mode && (d.max_dst() as usize) < aecs::HISTOGRAM_LEN)
        {
            return status(Status::InvalidSize);
        }
        let (s1, s1e) = (d.src1(), d.src1() + u64::from(d.src1_size()));
        let (ds, de) = (d.dst(), d.dst() + u64::from(d.max_dst()));
        if s1 < de && ds < s1e {
            return status(Status::Overlap);
        }
        if let Some(Inject::Fault { on, resolvable }) = inject {
            let (addr, write) = match on {
                FaultOn::Src1 => (s1, false),
                FaultOn::Dst => (ds, true),
            };
            let bof = flags & op_flag::BOF != 0;
            if !bof {
                return Completion {
                    fault_address: addr,
                    ..status(Status::PageFault { write })
                };
            }
            if !resolvable {
                return Completion {
                    fault_address: addr,
                    ..status(Status::PageFaultUnresolved)
                };
            }
            // Block-on-fault: the OS resolves it and the job carries on.
        }
        let limit = match inject {
            Some(Inject::OutputLimit(n)) => n.min(d.max_dst()),
            _ => d.max_dst(),
        };
        if op == opcode::COMPRESS {
            self.compress(d, limit)
        } else {
            self.decompress(d, limit)
        }
    }

    fn aecs_halves(d: &Descriptor) -> (u64, u64) {
        let size = u64::from(d.src2_size());
        let toggle = u64::from(d.op_flags() & op_flag::AECS_TOGGLE != 0);
        (d.src2() + size * toggle, d.src2() + size * (1 - toggle))
    }

    fn checksums(d: &Descriptor, seed: (u32, u32), data: &[u8]) -> (u32, u16) {
        let crc = if d.op_flags() & op_flag::CRC32C != 0 {
            crc32c(seed.0, data)
        } else {
            let mut c = Crc32::resume(seed.0);
            c.update(data);
            c.finish()
        };
        // XOR checksum: 16-bit little-endian words XORed together (UNCONFIRMED in iaa.md;
        // nothing in pageflate depends on its exact definition).
        let mut x = seed.1 as u16;
        for w in data.chunks(2) {
            x ^= u16::from_le_bytes([w[0], *w.get(1).unwrap_or(&0)]);
        }
        (crc, x)
    }

    fn compress(&self, d: &Descriptor, limit: u32) -> Completion {
        // SAFETY: the submitter's contract (module docs).
        let input = unsafe { mem(d.src1(), d.src1_size() as usize) };
        let flags = d.aux_flags();
        let config = if d.op_flags() & op_flag::READ_AECS != 0 {
            let (read, _) = Self::aecs_halves(d);
            // SAFETY: as above; the AECS is at least src2_size bytes (checked ≥ 32 and
            // aligned); a compress AECS must be at least the table layout.
            if (d.src2_size() as usize) < aecs::COMPRESS_AECS_LEN {
                return analytics(22);
            }
            match aecs::read_compress(unsafe { mem(read, aecs::COMPRESS_AECS_LEN) }) {
                Some(c) => Some(c),
                None => return analytics(22),
            }
        } else {
            None
        };
        let seeds = config.as_ref().map_or((0, 0), |c| (c.crc_seed, c.xor_seed));
        let (crc, xor) = Self::checksums(d, seeds, input);
        let mut engine = Compressor::new(Level::Fast);
        if flags & comp_flag::STATS_MODE != 0 {
            let mut h = Histogram::default();
            engine.histogram(input, &mut h);
            // SAFETY: as above; max_dst ≥ the histogram size was checked.
            aecs::write_histogram(&h, unsafe { mem_mut(d.dst(), aecs::HISTOGRAM_LEN) });
            return Completion {
                output_size: aecs::HISTOGRAM_LEN as u32,
                crc,
                xor_checksum: xor,
                ..status(Status::Success)
            };
        }
        let (codes, prefix, prefix_bits) = match config {
            Some(c) => (c.codes, c.accumulator.0, u64::from(c.accumulator.1)),
            None => (BlockCodes::fixed(), Vec::new(), 0),
        };
        let end_proc = (flags >> 2) & 3;
        let mut out = vec![0u8; limit as usize + 8];
        let encoded = engine.encode_with_codes(
            input,
            &codes,
            &prefix,
            prefix_bits,
            end_proc >= 1,
            &mut out[..limit as usize],
        );
        let (mut bytes, mut bits) = match encoded {
            Ok(r) => r,
            Err(CodesError::OutputFull) => return analytics(error_code::OUTPUT_OVERFLOW),
            Err(CodesError::MissingLitLen(_) | CodesError::MissingDist(_)) => {
                return analytics(error_code::MISSING_SYMBOL)
            }
        };
        if end_proc >= 2 {
            // An empty stored block (final with END_PROC 3): 3 header bits, pad, 00 00 FF FF.
            let header = u8::from(end_proc == 3);
            out[(bits / 8) as usize] |= header << (bits % 8);
            if bits % 8 > 5 {
                out[(bits / 8) as usize + 1] |= header >> (8 - bits % 8);
            }
            bits = (bits + 3).div_ceil(8) * 8;
            let at = (bits / 8) as usize;
            if at + 4 > limit as usize {
                return analytics(error_code::OUTPUT_OVERFLOW);
            }
            out[at..at + 4].copy_from_slice(&[0, 0, 0xff, 0xff]);
            bits += 32;
            bytes = at + 4;
        }
        // SAFETY: as above; `bytes ≤ limit ≤ max_dst`.
        unsafe { mem_mut(d.dst(), bytes) }.copy_from_slice(&out[..bytes]);
        Completion {
            output_size: bytes as u32,
            output_bits: (bits % 8) as u8,
            crc,
            xor_checksum: xor,
            ..status(Status::Success)
        }
    }

    fn decompress(&self, d: &Descriptor, limit: u32) -> Completion {
        // SAFETY: the submitter's contract (module docs).
        let input = unsafe { mem(d.src1(), d.src1_size() as usize) };
        let flags = d.aux_flags();
        let opf = d.op_flags();
        if flags & decomp_flag::ENABLE == 0 {
            return Completion {
                bytes_completed: d.src1_size(),
                ..status(Status::Success)
            };
        }
        let (read_half, write_half) = Self::aecs_halves(d);
        let (mut inflater, skip) = if opf & op_flag::READ_AECS != 0 {
            // SAFETY: as above (AECS alignment and size were checked).
            let half = unsafe { mem(read_half, aecs::DECOMPRESS_AECS_LEN) };
            // The AECS format must match the generation (Format-2 on IAA 2.0, iaa.md §6).
            if (half[aecs::D_FORMAT_AT] != 0) != (self.config.version >= 2) {
                return analytics(22);
            }
            match aecs::decompress_state(half) {
                aecs::state::HEADER => (Box::new(Inflater::new(InflateOptions::STRICT_4K)), 0),
                _ => match lock(&self.inflaters).remove(&read_half) {
                    Some(saved) => saved,
                    None => return analytics(22), // state this engine never wrote
                },
            }
        } else {
            (Box::new(Inflater::new(InflateOptions::STRICT_4K)), 0)
        };
        if skip > input.len() {
            return analytics(22);
        }
        let suppress = flags & decomp_flag::SUPPRESS_OUTPUT != 0;
        let mut out = vec![0u8; limit as usize];
        let (mut consumed, mut written) = (skip, 0usize);
        let mut finished = false;
        loop {
            let room = if suppress {
                &mut out[..]
            } else {
                &mut out[written..]
            };
            match inflater.inflate(&input[consumed..], room) {
                Ok(p) => {
                    consumed += p.consumed;
                    if !suppress {
                        written += p.written;
                    }
                    match p.status {
                        StreamStatus::Done => {
                            finished = true;
                            break;
                        }
                        StreamStatus::NeedsInput => break,
                        StreamStatus::NeedsOutput if suppress => continue,
                        StreamStatus::NeedsOutput => {
                            // Exactly full: the stream may end without another byte.
                            match inflater.inflate(&input[consumed..], &mut []) {
                                Ok(q) if q.status == StreamStatus::Done => {
                                    consumed += q.consumed;
                                    finished = true;
                                    break;
                                }
                                Ok(q) => consumed += q.consumed,
                                Err(e) => return analytics(inflate_error_code(e.kind)),
                            }
                            return self.overflow(
                                d,
                                inflater,
                                write_half,
                                consumed,
                                &out[..written],
                            );
                        }
                    }
                }
                Err(e) => return analytics(inflate_error_code(e.kind)),
            }
        }
        if !finished && flags & decomp_flag::CHECK_FOR_EOB != 0 {
            return analytics(error_code::EOB_EXPECTED);
        }
        // SAFETY: as above; written ≤ limit ≤ max_dst.
        unsafe { mem_mut(d.dst(), written) }.copy_from_slice(&out[..written]);
        let (crc, xor) = Self::checksums(d, (0, 0), &out[..written]);
        if !finished && opf & (3 << 18) == op_flag::WRITE_AECS_ALWAYS {
            self.save_state(write_half, inflater, 0, &out[..written]);
        }
        Completion {
            bytes_completed: consumed as u32,
            output_size: written as u32,
            crc,
            xor_checksum: xor,
            ..status(Status::Success)
        }
    }

    /// Output full: hand back what fits, and (if asked) the state to resume from. At least
    /// one input byte is reported as not completed, so the resubmission is never empty
    /// (the decoder already holds it, as the hardware's input accumulator would).
    fn overflow(
        &self,
        d: &Descriptor,
        inflater: Box<Inflater>,
        write_half: u64,
        consumed: usize,
        out: &[u8],
    ) -> Completion {
        // SAFETY: the submitter's contract; out.len() ≤ max_dst.
        unsafe { mem_mut(d.dst(), out.len()) }.copy_from_slice(out);
        let held = usize::from(consumed > 0);
        let consumed = consumed - held;
        if d.op_flags() & (3 << 18) != 0 {
            self.save_state(write_half, inflater, held, out);
        }
        let (crc, xor) = Self::checksums(d, (0, 0), out);
        Completion {
            bytes_completed: consumed as u32,
            output_size: out.len() as u32,
            crc,
            xor_checksum: xor,
            ..status(Status::OutputOverflow)
        }
    }

    /// Write the AECS half's visible state (iaa.md §5.4) and keep the decoder beside it.
    fn save_state(&self, half_addr: u64, inflater: Box<Inflater>, held: usize, recent: &[u8]) {
        // SAFETY: the submitter's contract (the AECS is 2 × DECOMPRESS_AECS_LEN).
        let half = unsafe { mem_mut(half_addr, aecs::DECOMPRESS_AECS_LEN) };
        half[aecs::D_STATE_AT..aecs::D_STATE_AT + 2]
            .copy_from_slice(&aecs::state::BODY.to_le_bytes());
        let keep = recent.len().min(4096);
        let hist = &recent[recent.len() - keep..];
        half[aecs::D_HISTORY_AT..aecs::D_HISTORY_AT + keep].copy_from_slice(hist);
        let ptr = (keep as u16 & 0x7FFF) | if recent.len() >= 4096 { 0x8000 } else { 0 };
        half[aecs::D_HISTORY_PTR_AT..aecs::D_HISTORY_PTR_AT + 2]
            .copy_from_slice(&ptr.to_le_bytes());
        lock(&self.inflaters).insert(half_addr, (inflater, held));
    }
}

/// The analytics error code (iaa.md §4.3) for a decoder error.
fn inflate_error_code(kind: InflateErrorKind) -> u8 {
    use InflateErrorKind as K;
    match kind {
        K::DistanceBeyondWindow => error_code::DISTANCE_BEYOND_HISTORY,
        K::DistanceTooFarBack => error_code::DISTANCE_BEFORE_START,
        K::StoredLengthMismatch => error_code::STORED_LEN,
        K::ReservedBlockType => 13,
        K::TooManyLengthCodes => 35,
        K::TooManyDistanceCodes => 36,
        K::OversubscribedCode => 7,
        K::IncompleteCode | K::RepeatWithoutPrevious | K::CodeLengthsOverflow => 2,
        K::MissingEndOfBlock => 4,
        K::InvalidSymbol => 11,
        K::UnexpectedEof => error_code::HEADER_TRUNCATED,
        _ => 22,
    }
}
