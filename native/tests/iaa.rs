//! Every branch of the IAA path, driven through the device model exactly as hardware would
//! be: queue full → rotation → software; page faults (read and write) → touch + resubmit;
//! a second fault → software; block-on-fault queues; compress overflow → raw page;
//! decompress overflow → AECS resume equal to one shot; analytics error 17 → software;
//! watchdog and never-completing jobs → timeout → software; dedicated-queue in-flight bound;
//! IAA 1.0 dynamic Huffman (statistics pass); and a send → recv migration with random
//! injections on both sides that must stay bit-exact. Plus golden descriptor bytes.

use pageflate::core::deflate::Level;
use pageflate::core::multifd::Method;
use pageflate::core::{Decompressor, InflateOptions};
use pageflate::iaa::desc::{comp_flag, decomp_flag, op_flag, Descriptor};
use pageflate::iaa::driver::{Fallback, Iaa, JobMem, Outcome, Policy};
use pageflate::iaa::model::{FaultOn, IaaModel, Inject, ModelConfig, QueueConfig};
use pageflate::iaa::sysfs::Mode;
use pageflate::multifd::engine::Engine;
use pageflate::multifd::{loopback, RecvOptions, SendOptions};
use pageflate::ram::{SourceBlock, SourceRam};
use pageflate::transport::Endpoint;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn text_page(seed: u8) -> Vec<u8> {
    b"guest kernel text, page tables and file cache: a page of memory to migrate. "
        .iter()
        .cycle()
        .enumerate()
        .map(|(i, &b)| if i % 97 == 0 { b.wrapping_add(seed) } else { b })
        .take(4096)
        .collect()
}

fn noise_page(seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn model(queues: Vec<QueueConfig>, version: u8, delay: Duration) -> IaaModel {
    IaaModel::new(ModelConfig {
        version,
        queues,
        delay,
        ..ModelConfig::default()
    })
}

fn shared(size: u32, bof: bool) -> QueueConfig {
    QueueConfig {
        size,
        mode: Mode::Shared,
        block_on_fault: bof,
    }
}

fn iaa(m: &IaaModel, policy: Policy) -> Iaa {
    Iaa::new(m.portals(), m.is_iaa2(), policy)
}

/// Compress one page on the device; check it inflates back (strict 4 KiB window).
fn compress_one(iaa: &Iaa, page: &[u8]) -> Outcome {
    let mut jobs = vec![JobMem::boxed()];
    let o = iaa.compress_pages(&mut jobs, &[page])[0];
    if let Outcome::Compressed(n) = o {
        let mut back = vec![0u8; 4096];
        let r = Decompressor::new()
            .inflate(
                Iaa::output(&jobs[0], n),
                &mut back,
                InflateOptions::STRICT_4K,
            )
            .expect("device output inflates");
        assert_eq!(r.written, 4096);
        assert_eq!(back, page);
    }
    o
}

fn decompress_one(iaa: &Iaa, data: &[u8], page: &[u8]) -> Outcome {
    let mut job = JobMem::boxed();
    let o = iaa.decompress_page(&mut job, data);
    if o == Outcome::Decompressed {
        assert_eq!(Iaa::output(&job, 4096), page);
    }
    o
}

fn deflated(page: &[u8]) -> Vec<u8> {
    pageflate::core::deflate::deflate_to_vec(page, Level::Fast)
}

#[test]
fn noop_compress_decompress_round_trip_on_both_generations() {
    for version in [1, 2] {
        let m = model(vec![shared(16, false)], version, Duration::ZERO);
        let iaa = iaa(&m, Policy::default());
        iaa.noop().expect("no-op completes");
        assert!(matches!(
            compress_one(&iaa, &text_page(1)),
            Outcome::Compressed(_)
        ));
        assert_eq!(
            compress_one(&iaa, &noise_page(3)),
            Outcome::Raw,
            "random page: raw, as QEMU"
        );
        let page = text_page(2);
        assert_eq!(
            decompress_one(&iaa, &deflated(&page), &page),
            Outcome::Decompressed
        );
        let dynamic = Iaa::new(
            m.portals(),
            version >= 2,
            Policy {
                dynamic: true,
                ..Policy::default()
            },
        );
        assert!(matches!(
            compress_one(&dynamic, &text_page(4)),
            Outcome::Compressed(_)
        ));
        assert_eq!(iaa.counters.hw_raw.load(Ordering::Relaxed), 1);
    }
}

#[test]
fn a_full_queue_rotates_to_the_next_and_all_full_falls_back() {
    let m = model(
        vec![shared(16, false), shared(16, false)],
        2,
        Duration::ZERO,
    );
    let iaa = iaa(&m, Policy::default());
    m.inject(Inject::QueueFull(1));
    assert!(matches!(
        compress_one(&iaa, &text_page(5)),
        Outcome::Compressed(_)
    ));
    assert_eq!(
        iaa.counters.retries.load(Ordering::Relaxed),
        1,
        "one refusal, then the other queue"
    );
    m.set_always_full(true);
    assert_eq!(
        compress_one(&iaa, &text_page(6)),
        Outcome::Software(Fallback::Busy)
    );
    assert_eq!(iaa.counters.fallback_busy.load(Ordering::Relaxed), 1);
    // 3 rounds over 2 queues, then software.
    assert_eq!(iaa.counters.retries.load(Ordering::Relaxed), 1 + 6);
    m.set_always_full(false);
    assert!(matches!(
        compress_one(&iaa, &text_page(7)),
        Outcome::Compressed(_)
    ));
}

#[test]
fn page_faults_are_touched_and_resubmitted_once() {
    let m = model(vec![shared(16, false)], 2, Duration::ZERO);
    let iaa = iaa(&m, Policy::default());
    // Read fault on the source, then a write fault on the destination: each resolved.
    m.inject(Inject::Fault {
        on: FaultOn::Src1,
        resolvable: true,
    });
    assert!(matches!(
        compress_one(&iaa, &text_page(8)),
        Outcome::Compressed(_)
    ));
    m.inject(Inject::Fault {
        on: FaultOn::Dst,
        resolvable: true,
    });
    let page = text_page(9);
    assert_eq!(
        decompress_one(&iaa, &deflated(&page), &page),
        Outcome::Decompressed
    );
    assert_eq!(iaa.counters.faults_resolved.load(Ordering::Relaxed), 2);
    // Faulting again after the touch: software.
    m.inject(Inject::Fault {
        on: FaultOn::Src1,
        resolvable: true,
    });
    m.inject(Inject::Fault {
        on: FaultOn::Src1,
        resolvable: true,
    });
    assert_eq!(
        compress_one(&iaa, &text_page(10)),
        Outcome::Software(Fallback::Fault)
    );
}

#[test]
fn block_on_fault_queues_resolve_faults_or_report_0x04() {
    let m = model(vec![shared(16, true)], 2, Duration::ZERO);
    let iaa = iaa(&m, Policy::default());
    m.inject(Inject::Fault {
        on: FaultOn::Dst,
        resolvable: true,
    });
    assert!(matches!(
        compress_one(&iaa, &text_page(11)),
        Outcome::Compressed(_)
    ));
    assert_eq!(
        iaa.counters.faults_resolved.load(Ordering::Relaxed),
        0,
        "the device resolved it"
    );
    m.inject(Inject::Fault {
        on: FaultOn::Src1,
        resolvable: false,
    });
    assert_eq!(
        compress_one(&iaa, &text_page(12)),
        Outcome::Software(Fallback::Unresolved)
    );
}

#[test]
fn decompress_overflow_resumes_from_the_aecs_and_equals_one_shot() {
    let m = model(vec![shared(16, false)], 2, Duration::ZERO);
    let iaa = iaa(&m, Policy::default());
    let page = text_page(13);
    let data = deflated(&page);
    m.inject(Inject::OutputLimit(1000));
    assert_eq!(decompress_one(&iaa, &data, &page), Outcome::Decompressed);
    assert_eq!(iaa.counters.resumed.load(Ordering::Relaxed), 1);
    // IAA 1.0 (Format-1 AECS) resumes the same way.
    let m1 = model(vec![shared(16, false)], 1, Duration::ZERO);
    let iaa1 = Iaa::new(m1.portals(), false, Policy::default());
    m1.inject(Inject::OutputLimit(333));
    assert_eq!(decompress_one(&iaa1, &data, &page), Outcome::Decompressed);
}

#[test]
fn analytics_errors_watchdog_and_silence_fall_back_to_software() {
    let m = model(vec![shared(16, false)], 2, Duration::ZERO);
    let iaa = iaa(
        &m,
        Policy {
            timeout: Duration::from_millis(50),
            ..Policy::default()
        },
    );
    let page = text_page(14);
    let data = deflated(&page);
    // Error 17 (distance beyond the 4 KiB history): software inflate.
    m.inject(Inject::Status(0x0A, 17));
    assert_eq!(
        decompress_one(&iaa, &data, &page),
        Outcome::Software(Fallback::Analytics(17))
    );
    // A real big-window stream: the model's engine refuses it with 17 by itself.
    let mut big = text_page(15);
    big.extend(noise_page(16));
    big.extend(text_page(15));
    let wide = miniz_oxide::deflate::compress_to_vec(&big[..], 6);
    let mut job = JobMem::boxed();
    assert!(matches!(
        iaa.decompress_page(&mut job, &wide),
        Outcome::Software(_)
    ));
    m.inject(Inject::Watchdog);
    assert_eq!(
        compress_one(&iaa, &page),
        Outcome::Software(Fallback::Status(0x24))
    );
    m.inject(Inject::NeverComplete);
    assert_eq!(
        compress_one(&iaa, &page),
        Outcome::Software(Fallback::Timeout)
    );
    assert_eq!(iaa.counters.fallback_timeout.load(Ordering::Relaxed), 2);
    // The context keeps working afterwards.
    assert!(matches!(compress_one(&iaa, &page), Outcome::Compressed(_)));
}

#[test]
fn dedicated_queues_never_get_more_than_their_size_in_flight() {
    let dq = QueueConfig {
        size: 2,
        mode: Mode::Dedicated,
        block_on_fault: false,
    };
    let m = model(vec![dq], 2, Duration::from_millis(5));
    let iaa = iaa(
        &m,
        Policy {
            rounds: 1000,
            ..Policy::default()
        },
    );
    let pages: Vec<Vec<u8>> = (0..8).map(text_page).collect();
    let refs: Vec<&[u8]> = pages.iter().map(|p| p.as_slice()).collect();
    let mut jobs: Vec<Box<JobMem>> = (0..8).map(|_| JobMem::boxed()).collect();
    let outcomes = iaa.compress_pages(&mut jobs, &refs);
    assert_eq!(
        m.stats().dropped.load(Ordering::Relaxed),
        0,
        "no descriptor was lost"
    );
    for o in outcomes {
        assert!(
            matches!(
                o,
                Outcome::Compressed(_) | Outcome::Software(Fallback::Busy)
            ),
            "{o:?}"
        );
    }
}

#[test]
fn golden_descriptor_bytes_follow_iaa_md() {
    // Recipe A (iaa.md §3.6): fixed-Huffman single-shot compress.
    let d = Descriptor::compress(
        0x1000,
        0x2000,
        4096,
        0x3000,
        4095,
        0x4000,
        0x620,
        comp_flag::FLUSH_OUTPUT | comp_flag::APPEND_EOB,
        0,
    );
    let b = d.0;
    assert_eq!(&b[0..4], &[0, 0, 0, 0], "PASID dword 0 for shared queues");
    assert_eq!(
        &b[4..8],
        &[0x0C, 0x01, 0x01, 0x43],
        "CRAV|RCR|CC|RdSrc2=AECS (0x1010C), opcode 0x43"
    );
    assert_eq!(&b[0x08..0x10], &0x1000u64.to_le_bytes());
    assert_eq!(&b[0x10..0x18], &0x2000u64.to_le_bytes());
    assert_eq!(&b[0x18..0x20], &0x3000u64.to_le_bytes());
    assert_eq!(&b[0x20..0x24], &4096u32.to_le_bytes());
    assert_eq!(&b[0x24..0x26], &[0, 0], "no interrupt handle");
    assert_eq!(&b[0x26..0x28], &[0x06, 0x00], "flush + append EOB");
    assert_eq!(&b[0x28..0x30], &0x4000u64.to_le_bytes());
    assert_eq!(&b[0x30..0x34], &4095u32.to_le_bytes());
    assert_eq!(&b[0x34..0x38], &0x620u32.to_le_bytes());
    assert_eq!(&b[0x38..0x40], &[0; 8]);
    // Decompress with QPL's single-shot rule and write-AECS-on-overflow.
    let d = Descriptor::decompress(
        0x1000,
        0x2000,
        300,
        0x3000,
        4096,
        0x4000,
        0x1500,
        decomp_flag::QPL_SINGLE_SHOT,
        op_flag::WRITE_AECS_ON_OVERFLOW,
    );
    assert_eq!(
        &d.0[4..8],
        &[0x0C, 0x01, 0x08, 0x42],
        "CRAV|RCR|CC|WrSrc2=2, opcode 0x42"
    );
    assert_eq!(&d.0[0x26..0x28], &[0x1F, 0x00]);
    // No-op: opcode, CRAV|RCR and the completion address only.
    let n = Descriptor::noop(0x1040);
    let mut want = [0u8; 64];
    want[4] = 0x0C;
    want[8..16].copy_from_slice(&0x1040u64.to_le_bytes());
    assert_eq!(n.0, want);
    assert_eq!(
        n.with_block_on_fault(true).0[4],
        0x0E,
        "BOF is op-flag bit 1"
    );
}

#[test]
fn send_recv_with_random_injections_on_both_sides_is_bit_exact() {
    let mut image = Vec::new();
    for k in 0..1024u64 {
        match k % 5 {
            0 => image.extend(vec![0u8; 4096]),
            1 => image.extend(noise_page(k)),
            _ => image.extend(text_page(k as u8)),
        }
    }
    let ram = SourceRam::from_blocks(
        4096,
        vec![SourceBlock {
            name: "pc.ram".into(),
            data: Arc::new(image.clone()),
        }],
    )
    .unwrap();
    let sender = model(vec![shared(32, false), shared(32, true)], 2, Duration::ZERO);
    let receiver = model(vec![shared(32, false)], 1, Duration::ZERO);
    let policy = Policy {
        timeout: Duration::from_millis(100),
        ..Policy::default()
    };
    let send_iaa = Arc::new(Iaa::new(sender.portals(), true, policy.clone()));
    let recv_iaa = Arc::new(Iaa::new(receiver.portals(), false, policy));
    // Random injections, fed while the migration runs.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let injector = {
        let stop = stop.clone();
        let models = [Arc::new(sender), Arc::new(receiver)];
        std::thread::spawn(move || {
            let mut x = 0x1234_5678u64;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 400 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let what = match x % 7 {
                    0 => Inject::QueueFull(3),
                    1 => Inject::Fault {
                        on: FaultOn::Src1,
                        resolvable: true,
                    },
                    2 => Inject::Fault {
                        on: FaultOn::Dst,
                        resolvable: x % 2 == 0,
                    },
                    3 => Inject::OutputLimit(500),
                    4 => Inject::Status(0x0A, 17),
                    5 => Inject::Watchdog,
                    _ => Inject::NeverComplete,
                };
                models[(x >> 8) as usize % 2].inject(what);
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let send_opts = SendOptions {
        channels: 2,
        method: Method::Qpl,
        engine: Engine::Iaa(send_iaa.clone()),
        ..SendOptions::default()
    };
    let recv_opts = RecvOptions {
        engine: Engine::Iaa(recv_iaa.clone()),
        ..RecvOptions::default()
    };
    let (_, mut got) = loopback(
        &ram,
        &Endpoint::Tcp("127.0.0.1:0".into()),
        &send_opts,
        &recv_opts,
        &|_| {},
    )
    .expect("migration with faults");
    stop.store(true, Ordering::Relaxed);
    injector.join().unwrap();
    assert!(
        got.ram.block_bytes(0) == image.as_slice(),
        "a page was lost or corrupted"
    );
    let s = send_iaa.counters.to_json();
    let r = recv_iaa.counters.to_json();
    eprintln!("sender IAA counters {s}\nreceiver IAA counters {r}");
    // How many pages the sender's model takes depends on how much CPU its engine thread
    // gets: a page finding the queue busy goes to software. Alone this gives 250–350 of
    // the ~820 compressible pages; under `scripts/test.sh`'s parallel load, with the
    // faster software path of issue 9, a run gave 84 — so the bar is "a real share".
    assert!(s["hw_compressed"].as_u64().unwrap() > 25, "{s}");
    assert!(r["hw_decompressed"].as_u64().unwrap() > 100, "{r}");
    let fallbacks = |v: &serde_json::Value| {
        v["fallback"]
            .as_object()
            .unwrap()
            .values()
            .map(|x| x.as_u64().unwrap())
            .sum::<u64>()
    };
    assert!(
        fallbacks(&s) + fallbacks(&r) > 0,
        "injections caused no fallback: {s} {r}"
    );
}
