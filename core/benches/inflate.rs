//! Inflate throughput on real guest pages: pageflate vs miniz_oxide, same run.
//!
//! Input: the non-zero 4 KiB pages of `../shared/corpus/guest-ram-a-64M.bin.zst`, each
//! compressed on its own with miniz_oxide level 1 as raw deflate (so every distance is
//! within the page: a 4 KiB window). Both decoders reuse their state across pages.
//! Throughput is counted in decompressed bytes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use pageflate_core::{Decompressor, InflateOptions};
#[path = "../examples/support/mod.rs"]
mod support;

const PAGE: usize = 4096;

fn corpus_pages() -> Vec<Vec<u8>> {
    support::nonzero_pages(&support::corpus())
        .into_iter()
        .map(|p| miniz_oxide::deflate::compress_to_vec(p, 1))
        .collect()
}

fn bench_inflate(c: &mut Criterion) {
    let pages = corpus_pages();
    let mut group = c.benchmark_group("inflate_corpus_pages_miniz_l1");
    group.throughput(Throughput::Bytes((pages.len() * PAGE) as u64));
    group.sample_size(20);

    let mut ours = Decompressor::new();
    let mut out = [0u8; PAGE];
    group.bench_function("pageflate", |b| {
        b.iter(|| {
            for p in &pages {
                let r = ours.inflate(p, &mut out, InflateOptions::STANDARD).unwrap();
                assert_eq!(r.written, PAGE);
            }
        })
    });

    let mut theirs = Box::<DecompressorOxide>::default();
    group.bench_function("miniz_oxide", |b| {
        b.iter(|| {
            for p in &pages {
                theirs.init();
                let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
                let (status, _, written) = decompress(&mut theirs, p, &mut out, 0, flags);
                assert_eq!((status as i32, written), (0, PAGE));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_inflate);
criterion_main!(benches);
