//! Ratio and interleaved A/B compress throughput on the corpus pages: pageflate's levels
//! vs miniz_oxide level 1 (reused state), each page on its own with QEMU's page contract
//! (a page that does not fit in 4095 bytes counts as 4096).
//!
//! `cargo run --release -p pageflate-core --example deflate_ratio [ROUNDS [fast|dense]]`

use miniz_oxide::deflate::core::{
    compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
};
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
mod support;
use std::time::Instant;

const PAGE: usize = 4096;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let raw = support::corpus();
    let pages = support::nonzero_pages(&raw);
    let total = (pages.len() * PAGE) as f64;
    let mut out = [0u8; PAGE];

    let mut miniz = Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
        1, -15, 0,
    )));
    let mut run_miniz = |out: &mut [u8; PAGE]| -> usize {
        let mut bytes = 0;
        for p in &pages {
            miniz.reset();
            let (status, _, n) = compress(&mut miniz, p, &mut out[..PAGE - 1], TDEFLFlush::Finish);
            bytes += if status == miniz_oxide::deflate::core::TDEFLStatus::Done {
                n
            } else {
                PAGE
            };
        }
        bytes
    };
    let only = std::env::args().nth(2);
    let mut levels: Vec<(Level, Compressor)> = [Level::Fast, Level::Dense]
        .into_iter()
        .filter(|l| {
            only.as_deref()
                .is_none_or(|o| format!("{l:?}").eq_ignore_ascii_case(o))
        })
        .map(|l| (l, Compressor::new(l)))
        .collect();
    let run_ours = |c: &mut Compressor, out: &mut [u8; PAGE]| -> usize {
        let mut bytes = 0;
        for p in &pages {
            bytes += match compress_page(c, p, out) {
                PageEncoding::Compressed(n) => n,
                PageEncoding::Raw => PAGE,
            };
        }
        bytes
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    if std::env::var_os("PROFILE_OURS_ONLY").is_some() {
        for (_, c) in levels.iter_mut() {
            for _ in 0..rounds {
                run_ours(c, &mut out);
            }
        }
        return;
    }
    let miniz_bytes = run_miniz(&mut out);
    println!("{} non-zero pages", pages.len());
    println!(
        "miniz_oxide level 1: ratio {:.4}",
        miniz_bytes as f64 / total
    );
    for (level, c) in levels.iter_mut() {
        let bytes = run_ours(c, &mut out);
        let (mut ours, mut theirs, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            run_ours(c, &mut out);
            let a = t.elapsed().as_secs_f64();
            let t = Instant::now();
            run_miniz(&mut out);
            let b = t.elapsed().as_secs_f64();
            ours.push(total / a / 1e6);
            theirs.push(total / b / 1e6);
            ratio.push(b / a);
        }
        println!(
            "pageflate {level:?}: ratio {:.4}, {:.0} MB/s vs miniz_oxide {:.0} MB/s: {:.2}x (median of {rounds})",
            bytes as f64 / total,
            median(ours),
            median(theirs),
            median(ratio)
        );
    }
}
