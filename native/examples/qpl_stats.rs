//! The token mix of the QPL pages in the `qpl-2ch` capture (what `pageflate bench` decodes
//! as "QEMU qpl capture pages"): literal and match counts, how often the kind switches,
//! match lengths and distances by class, and the lengths of the literal runs before a
//! match. The decoder's fast loop is tuned to this mix (see docs/profile.md).
//!
//! `cargo run --release -p pageflate --example qpl_stats`

use pageflate_core::trace::{trace_deflate, TokenKind};
#[path = "../tests/common/mod.rs"]
mod common;
fn main() {
    let pages = pageflate::bench::capture_deflate_pages(
        &common::shared_with("corpus").join("captures/qpl-2ch"),
    )
    .unwrap();
    let (mut lits, mut matches) = (0u64, 0u64);
    let mut dcls = [0u64; 4];
    let mut lcls = [0u64; 4];
    let mut runs = std::collections::BTreeMap::new();
    let mut switches = 0u64;
    for p in &pages {
        let t = trace_deflate(p, 4096).unwrap();
        let mut run = 0;
        let mut prev_lit = None;
        for tok in &t.tokens {
            match tok.kind {
                TokenKind::Literal(_) => {
                    lits += 1;
                    run += 1;
                    if prev_lit == Some(false) {
                        switches += 1;
                    }
                    prev_lit = Some(true);
                }
                TokenKind::Match { length, distance } => {
                    matches += 1;
                    if prev_lit == Some(true) {
                        switches += 1;
                        *runs.entry(run.min(16)).or_insert(0u64) += 1;
                    }
                    run = 0;
                    prev_lit = Some(false);
                    dcls[if distance < 8 {
                        0
                    } else if distance < 16 {
                        1
                    } else if distance < 64 {
                        2
                    } else {
                        3
                    }] += 1;
                    lcls[if length <= 8 {
                        0
                    } else if length <= 16 {
                        1
                    } else if length <= 32 {
                        2
                    } else {
                        3
                    }] += 1;
                }
                _ => {}
            }
        }
    }
    println!(
        "pages {} lits {lits} matches {matches} switches {switches}",
        pages.len()
    );
    println!("dist <8 / <16 / <64 / >=64: {dcls:?}");
    println!("len <=8 / <=16 / <=32 / >32: {lcls:?}");
    println!("literal runs before a match: {runs:?}");
}
