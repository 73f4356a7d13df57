//! The token mix of the dense level on the benchmark corpus: pages sent compressed and
//! raw, literals and matches per compressed page, the average match length, a histogram
//! of match lengths 3..8+, and the dynamic header's bits per compressed page — the
//! numbers docs/profile.md's dense-level account works from.
//!
//! `cargo run --release -p pageflate --example dense_stats`

use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::trace::{trace_deflate, TokenKind};
#[path = "../tests/common/mod.rs"]
mod common;
fn main() {
    let ram = common::corpus(4096);
    let pages = common::nonzero_pages(&ram, 4096);
    let mut c = Compressor::new(Level::Dense);
    let mut out = vec![0u8; 8192];
    let (mut lits, mut matches, mut mlen, mut comp, mut raw, mut hdr) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut lh = [0u64; 9];
    for p in &pages {
        match compress_page(&mut c, p, &mut out) {
            PageEncoding::Compressed(n) => {
                comp += 1;
                let t = trace_deflate(&out[..n], 4096).unwrap();
                for tok in &t.tokens {
                    match tok.kind {
                        TokenKind::Literal(_) => lits += 1,
                        TokenKind::Match { length, .. } => {
                            matches += 1;
                            mlen += length as u64;
                            lh[(length as usize).min(8)] += 1;
                        }
                        _ => {}
                    }
                }
                for b in &t.blocks {
                    hdr += b.header_bits.end - b.header_bits.start;
                }
            }
            _ => raw += 1,
        }
    }
    println!("pages {} compressed {} raw {}", pages.len(), comp, raw);
    println!(
        "per compressed page: lits {:.0} matches {:.0} avg len {:.1}",
        lits as f64 / comp as f64,
        matches as f64 / comp as f64,
        mlen as f64 / matches as f64
    );
    println!(
        "header bits per compressed page {:.0}",
        hdr as f64 / comp as f64
    );
    println!("len hist 3..8+: {:?}", &lh[3..]);
}
