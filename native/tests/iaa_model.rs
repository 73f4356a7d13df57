//! The IAA device model checked against iaa.md directly — hand-built descriptors and
//! completion records, no driver code: validation statuses (§4.2, §7.3), compress with AECS
//! tables and the fixed-code recipe (§3.6 A, §5.2), error 30 for a symbol without a code,
//! error 25 for a full output, the statistics layout (§5.3), decompress with its 4 KiB
//! history (§5.5, error 17), overflow into the other AECS half and resume (§5.1, §4.4),
//! CRC-32, queue capacity (§7.2) and the completion-record write order (§4.1).

use pageflate::core::checksum::crc32;
use pageflate::core::deflate::{BlockCodes, Histogram};
use pageflate::core::{Decompressor, InflateOptions};
use pageflate::iaa::aecs;
use pageflate::iaa::desc::{comp_flag, decomp_flag, op_flag, Completion, Descriptor, Status};
use pageflate::iaa::model::{IaaModel, ModelConfig, QueueConfig};
use pageflate::iaa::portal::{Portal, Submit};
use pageflate::iaa::sysfs::Mode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// A completion record the test polls with atomic loads, as a real submitter does.
#[repr(C, align(64))]
struct Record([AtomicU8; 64]);

/// A 32-byte aligned buffer (for AECS).
#[repr(C, align(64))]
struct Aligned<const N: usize>([u8; N]);

impl Record {
    fn new() -> Box<Self> {
        Box::new(Record(std::array::from_fn(|_| AtomicU8::new(0))))
    }
    /// Status 0 again, before reusing the record for another descriptor.
    fn reset(&self) {
        for c in &self.0 {
            c.store(0, Ordering::Relaxed);
        }
    }
    fn addr(&self) -> u64 {
        self.0.as_ptr() as u64
    }
    fn wait(&self) -> Completion {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let s = self.0[0].load(Ordering::Acquire);
            if s != 0 {
                let mut b = [0u8; 64];
                for (d, c) in b.iter_mut().zip(&self.0) {
                    *d = c.load(Ordering::Relaxed);
                }
                return Completion::parse(&b);
            }
            assert!(Instant::now() < deadline, "the model never completed");
            std::thread::yield_now();
        }
    }
}

fn device(size: u32, mode: Mode) -> (IaaModel, impl Portal) {
    let m = IaaModel::new(ModelConfig {
        queues: vec![QueueConfig {
            size,
            mode,
            block_on_fault: false,
        }],
        ..ModelConfig::default()
    });
    let p = m.portal(0);
    (m, p)
}

fn run(p: &impl Portal, d: &Descriptor, cr: &Record) -> Completion {
    assert_eq!(p.submit(d), Submit::Accepted);
    cr.wait()
}

fn text() -> Vec<u8> {
    b"IAA model test: every page of a guest is compressed on its own. "
        .iter()
        .cycle()
        .take(4096)
        .copied()
        .collect()
}

#[test]
fn validation_statuses() {
    let (_m, p) = device(8, Mode::Shared);
    let cr = Record::new();
    let src = text();
    let mut dst = vec![0u8; 8192];
    let dst_at = dst.as_mut_ptr() as u64;
    let base = || {
        Descriptor::compress(
            cr.addr(),
            src.as_ptr() as u64,
            4096,
            dst_at,
            4096,
            0,
            0,
            comp_flag::FLUSH_OUTPUT | comp_flag::APPEND_EOB,
            0,
        )
    };
    let check = |d: Descriptor, want: Status| {
        cr.reset();
        let got = run(&p, &d, &cr);
        assert_eq!(got.status(), want, "{d:?}");
        got
    };
    check(base(), Status::Success);
    let mut d = base();
    d.set_flags_word(0x7F << 24 | d.op_flags());
    check(d, Status::UnsupportedOpcode);
    let mut d = base();
    d.set_pasid_word(1);
    check(d, Status::NonZeroReserved);
    let mut d = base();
    d.set_int_handle(5);
    check(d, Status::NonZeroReserved);
    let mut d = base();
    d.set_flags_word(d.flags_word() | 1 << 23);
    assert_eq!(check(d, Status::InvalidOpFlags).invalid_flags, 1 << 23);
    let mut d = base();
    d.set_aux_flags(1 << 15);
    check(d, Status::InvalidAuxFlags);
    let aecs = Aligned::<0x700>([0; 0x700]);
    let mut d = base();
    d.set_flags_word(d.flags_word() | op_flag::READ_AECS)
        .set_src2(aecs.0.as_ptr() as u64 + 8)
        .set_src2_size(0x620);
    check(d, Status::MisalignedAecs);
    let mut d = base();
    d.set_src1_size(0);
    check(d, Status::InvalidSize);
    let mut d = base();
    d.set_dst(src.as_ptr() as u64 + 100);
    check(d, Status::Overlap);
    // A misaligned completion record is reported (at that address).
    let cells: Vec<AtomicU8> = (0..160).map(|_| AtomicU8::new(0)).collect();
    let at = (cells.as_ptr() as u64).div_ceil(64) * 64 + 8;
    let mut d = base();
    d.set_completion_addr(at);
    assert_eq!(p.submit(&d), Submit::Accepted);
    let deadline = Instant::now() + Duration::from_secs(5);
    let idx = (at - cells.as_ptr() as u64) as usize;
    while cells[idx].load(Ordering::Acquire) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    assert_eq!(cells[idx].load(Ordering::Acquire), 0x1B);
}

#[test]
fn compress_with_the_fixed_recipe_and_with_statistics_codes() {
    let (_m, p) = device(8, Mode::Shared);
    let cr = Record::new();
    let src = text();
    let mut dst = vec![0u8; 4096];
    let mut a = Box::new(Aligned::<0x640>([0; 0x640]));
    aecs::fill_compress(
        &mut a.0[..aecs::COMPRESS_AECS_LEN],
        &BlockCodes::fixed(),
        true,
    );
    let d = Descriptor::compress(
        cr.addr(),
        src.as_ptr() as u64,
        4096,
        dst.as_mut_ptr() as u64,
        4095,
        a.0.as_ptr() as u64,
        0x620,
        comp_flag::FLUSH_OUTPUT | comp_flag::APPEND_EOB,
        0,
    );
    let c = run(&p, &d, &cr);
    assert_eq!(c.status(), Status::Success);
    assert_eq!(c.crc, crc32(&src), "CRC-32 of the input");
    assert_eq!(
        dst[0] & 7,
        0b011,
        "BFINAL=1, BTYPE=01 from the accumulator bits"
    );
    let mut back = vec![0u8; 4096];
    let r = Decompressor::new()
        .inflate(
            &dst[..c.output_size as usize],
            &mut back,
            InflateOptions::STRICT_4K,
        )
        .unwrap();
    assert_eq!((r.written, &back[..]), (4096, &src[..]));

    // Statistics pass (§5.3): counts in the histogram layout.
    cr.reset();
    let mut hist = vec![0u8; aecs::HISTOGRAM_LEN];
    let d = Descriptor::compress(
        cr.addr(),
        src.as_ptr() as u64,
        4096,
        hist.as_mut_ptr() as u64,
        aecs::HISTOGRAM_LEN as u32,
        0,
        0,
        comp_flag::STATS_MODE,
        0,
    );
    let c = run(&p, &d, &cr);
    assert_eq!((c.status(), c.output_size), (Status::Success, 0x500));
    let h: Histogram = aecs::read_histogram(&hist);
    // iaa.md: software must not assume any EOB count, so only the literals are checked.
    assert!(h.litlen[..256].iter().sum::<u32>() > 0);
    // A missing symbol: codes from a histogram of other data → error 30.
    let mut other = Histogram::default();
    other.litlen[b'z' as usize] = 10;
    other.litlen[b'y' as usize] = 3;
    aecs::fill_compress(
        &mut a.0[..aecs::COMPRESS_AECS_LEN],
        &BlockCodes::from_histogram(&other),
        true,
    );
    cr.reset();
    let d = Descriptor::compress(
        cr.addr(),
        src.as_ptr() as u64,
        4096,
        dst.as_mut_ptr() as u64,
        4095,
        a.0.as_ptr() as u64,
        0x620,
        comp_flag::FLUSH_OUTPUT | comp_flag::APPEND_EOB,
        0,
    );
    let c = run(&p, &d, &cr);
    assert_eq!((c.status(), c.error), (Status::AnalyticsError, 30));
    // Output too small → error 25.
    aecs::fill_compress(
        &mut a.0[..aecs::COMPRESS_AECS_LEN],
        &BlockCodes::fixed(),
        true,
    );
    cr.reset();
    let d = Descriptor::compress(
        cr.addr(),
        src.as_ptr() as u64,
        4096,
        dst.as_mut_ptr() as u64,
        8,
        a.0.as_ptr() as u64,
        0x620,
        comp_flag::FLUSH_OUTPUT | comp_flag::APPEND_EOB,
        0,
    );
    let c = run(&p, &d, &cr);
    assert_eq!((c.status(), c.error), (Status::AnalyticsError, 25));
}

#[test]
fn decompress_history_limit_overflow_and_resume() {
    let (_m, p) = device(8, Mode::Shared);
    let cr = Record::new();
    // A stored block of 4,097 bytes then a match 4,097 bytes back (a conformance vector):
    // valid deflate, beyond IAA's 4 KiB history.
    let s = include_bytes!("../../tests/vectors/data/distance-4097-standard.bin").to_vec();
    let mut out = vec![0u8; 8192];
    let mut a = Box::new(Aligned::<{ 2 * 0x1500 }>([0; 2 * 0x1500]));
    aecs::init_decompress(&mut a.0, true);
    let d = Descriptor::decompress(
        cr.addr(),
        s.as_ptr() as u64,
        s.len() as u32,
        out.as_mut_ptr() as u64,
        8192,
        a.0.as_ptr() as u64,
        0x1500,
        decomp_flag::QPL_SINGLE_SHOT,
        op_flag::WRITE_AECS_ON_OVERFLOW,
    );
    let c = run(&p, &d, &cr);
    assert_eq!(
        (c.status(), c.error),
        (Status::AnalyticsError, 17),
        "distance beyond the 4 KiB history"
    );

    // Overflow: a 4 KiB page into 1,000 bytes, state to the other half, then resume.
    let page = text();
    let data =
        pageflate::core::deflate::deflate_to_vec(&page, pageflate::core::deflate::Level::Dense);
    aecs::init_decompress(&mut a.0, true);
    let mut got = Vec::new();
    let (mut consumed, mut toggle, mut read) = (0usize, 0u32, 0u32);
    for round in 0.. {
        assert!(round < 10);
        cr.reset();
        let room = 1000.min(4096 - got.len()).max(1);
        let d = Descriptor::decompress(
            cr.addr(),
            data[consumed..].as_ptr() as u64,
            (data.len() - consumed) as u32,
            out.as_mut_ptr() as u64,
            room as u32,
            a.0.as_ptr() as u64,
            0x1500,
            decomp_flag::QPL_SINGLE_SHOT,
            read | op_flag::WRITE_AECS_ON_OVERFLOW | toggle,
        );
        let c = run(&p, &d, &cr);
        got.extend_from_slice(&out[..c.output_size as usize]);
        match c.status() {
            Status::Success => break,
            Status::OutputOverflow => {
                assert!(c.bytes_completed > 0 || round > 0);
                consumed += c.bytes_completed as usize;
                // The written half (the other one) now says "in a block" and holds history.
                let written_half = if toggle == 0 { 0x1500 } else { 0 };
                assert_ne!(
                    aecs::decompress_state(&a.0[written_half..]),
                    aecs::state::HEADER
                );
                toggle ^= op_flag::AECS_TOGGLE;
                read = op_flag::READ_AECS;
            }
            other => panic!("{other:?} {c:?}"),
        }
    }
    assert_eq!(got, page, "resumed output equals the one-shot output");
}

#[test]
fn queue_capacity_and_record_order() {
    let crs: Vec<Box<Record>> = (0..4).map(|_| Record::new()).collect();
    // A slow engine: the queue fills.
    let slow = IaaModel::new(ModelConfig {
        queues: vec![QueueConfig {
            size: 2,
            mode: Mode::Shared,
            block_on_fault: false,
        }],
        delay: Duration::from_millis(50),
        ..ModelConfig::default()
    });
    let sp = slow.portal(0);
    let results: Vec<Submit> = crs
        .iter()
        .map(|c| sp.submit(&Descriptor::noop(c.addr())))
        .collect();
    assert_eq!(
        results,
        [
            Submit::Accepted,
            Submit::Accepted,
            Submit::Retry,
            Submit::Retry
        ]
    );
    for c in &crs[..2] {
        assert_eq!(c.wait().status(), Status::Success);
    }
    // A dedicated queue answers "accepted" even when full, and drops the descriptor.
    let d1 = Record::new();
    let d2 = Record::new();
    let slow_d = IaaModel::new(ModelConfig {
        queues: vec![QueueConfig {
            size: 1,
            mode: Mode::Dedicated,
            block_on_fault: false,
        }],
        delay: Duration::from_millis(50),
        ..ModelConfig::default()
    });
    let dp = slow_d.portal(0);
    assert_eq!(dp.submit(&Descriptor::noop(d1.addr())), Submit::Accepted);
    assert_eq!(dp.submit(&Descriptor::noop(d2.addr())), Submit::Accepted);
    assert_eq!(d1.wait().status(), Status::Success);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        d2.0[0].load(Ordering::Acquire),
        0,
        "the second descriptor was lost"
    );
    assert_eq!(slow_d.stats().dropped.load(Ordering::Relaxed), 1);
}
