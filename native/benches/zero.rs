//! Zero-page detection throughput on zero pages (the scan's worst case: every byte read),
//! in memory (not cache), against the plain byte loop and `memcmp` with a zero page, in the same run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pageflate::multifd::zero::is_zero;
use std::hint::black_box;

fn zero_pages(c: &mut Criterion) {
    // Real memory, larger than the caches: a fresh zeroed allocation would map every page
    // to the kernel's one shared zero page and measure L1 instead.
    let mut buf = vec![1u8; 256 << 20];
    buf.fill(0);
    let zero_page = [0u8; 4096];
    let mut g = c.benchmark_group("zero-page scan, 256 MiB of zero pages");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("pageflate is_zero", |b| {
        b.iter(|| {
            black_box(&buf)
                .chunks_exact(4096)
                .filter(|p| is_zero(p))
                .count()
        })
    });
    g.bench_function("memcmp with a zero page", |b| {
        b.iter(|| {
            black_box(&buf)
                .chunks_exact(4096)
                .filter(|p| *p == &zero_page[..])
                .count()
        })
    });
    g.bench_function("iter().all(== 0)", |b| {
        b.iter(|| {
            black_box(&buf)
                .chunks_exact(4096)
                .filter(|p| p.iter().all(|&x| x == 0))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, zero_pages);
criterion_main!(benches);
