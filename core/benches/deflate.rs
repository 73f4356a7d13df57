//! Page compression throughput on real guest pages: pageflate's levels vs miniz_oxide
//! level 1 (reused state, raw deflate), same run. Input: the non-zero 4 KiB pages of
//! `../shared/corpus/guest-ram-a-64M.bin.zst`, each compressed on its own with QEMU's cap.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use miniz_oxide::deflate::core::{
    compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
};
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::compress_page;
#[path = "../examples/support/mod.rs"]
mod support;

const PAGE: usize = 4096;

fn bench_deflate(c: &mut Criterion) {
    let raw = support::corpus();
    let pages = support::nonzero_pages(&raw);
    let mut group = c.benchmark_group("compress_corpus_pages");
    group.throughput(Throughput::Bytes((pages.len() * PAGE) as u64));
    group.sample_size(10);
    let mut out = [0u8; PAGE];
    for level in [Level::Fast, Level::Dense] {
        let mut comp = Compressor::new(level);
        group.bench_function(format!("pageflate_{level:?}").to_lowercase(), |b| {
            b.iter(|| {
                for p in &pages {
                    std::hint::black_box(compress_page(&mut comp, p, &mut out));
                }
            })
        });
    }
    let mut miniz = Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
        1, -15, 0,
    )));
    group.bench_function("miniz_oxide_level1", |b| {
        b.iter(|| {
            for p in &pages {
                miniz.reset();
                std::hint::black_box(compress(
                    &mut miniz,
                    p,
                    &mut out[..PAGE - 1],
                    TDEFLFlush::Finish,
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_deflate);
criterion_main!(benches);
