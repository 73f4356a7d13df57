//! Offline study (docs/profile.md, session 16): could the dense level skip building a
//! Huffman code for a page by reusing the code it built for the page before? Consecutive
//! guest pages are often of one kind, and code construction is about a fifth of a
//! compressible page's time.
//!
//! For each compressed page of the corpus, in order, it takes the dense parse's symbol
//! counts and reports:
//! - for how many pages the previous page's code can write this page at all (every symbol
//!   the page uses has a codeword), and how many bits that costs over the page's own code;
//! - a rule that needs no code built to decide: reuse when the previous code's size
//!   (header and body) is at most this page's entropy plus the redundancy the previous
//!   page's own code had over its entropy, plus a slack `T` bits. How many pages it
//!   reuses for, and the bytes it costs.
//!
//! `cargo run --release -p pageflate --example code_reuse_study`
use pageflate_core::deflate::{BlockCodes, Compressor, Histogram, Level};
#[path = "../tests/common/mod.rs"]
mod common;

/// Bits of the symbols counted in `hist` under `codes`, or `None` if a counted symbol has
/// no codeword (the code cannot write the page).
fn body_bits(hist: &Histogram, codes: &BlockCodes) -> Option<u64> {
    let litlen = hist.litlen.iter().zip(&codes.litlen);
    let dist = hist.dist.iter().zip(&codes.dist);
    litlen.chain(dist).try_fold(0u64, |sum, (&f, &len)| {
        (f == 0 || len != 0).then(|| sum + u64::from(f) * u64::from(len))
    })
}

/// The order-0 entropy of the counted symbols, in bits (a lower bound on any code's body).
fn entropy_bits(hist: &Histogram) -> f64 {
    [&hist.litlen[..], &hist.dist[..]]
        .iter()
        .map(|counts| {
            let total: f64 = counts.iter().map(|&f| f64::from(f)).sum();
            counts
                .iter()
                .filter(|&&f| f > 0)
                .map(|&f| f64::from(f) * (total / f64::from(f)).log2())
                .sum::<f64>()
        })
        .sum()
}

/// One compressed page: its counts, its own code, and the sizes they give.
struct Page {
    hist: Histogram,
    codes: BlockCodes,
    header_bits: u64,
    /// Header and body with its own code.
    own_bits: u64,
    /// Body with the fixed code (and the 3 block-header bits).
    fixed_bits: u64,
    entropy: f64,
}

fn main() {
    let ram = common::corpus(4096);
    let pages = common::nonzero_pages(&ram, 4096);
    let mut compressor = Compressor::new(Level::Dense);
    let fixed = BlockCodes::fixed();
    let mut study = Vec::new();
    for page in &pages {
        let mut hist = Histogram::default();
        compressor.histogram(page, &mut hist);
        hist.litlen[256] = 1; // the end-of-block symbol
        let codes = BlockCodes::from_histogram(&hist);
        let header_bits = codes.header(true).1;
        let (Some(own_body), Some(fixed_body)) =
            (body_bits(&hist, &codes), body_bits(&hist, &fixed))
        else {
            continue;
        };
        let (own_bits, fixed_bits) = (header_bits + own_body, 3 + fixed_body);
        if own_bits.min(fixed_bits) > 8 * 4000 {
            continue; // goes raw
        }
        let entropy = entropy_bits(&hist);
        study.push(Page {
            hist,
            codes,
            header_bits,
            own_bits,
            fixed_bits,
            entropy,
        });
    }
    let best: u64 = study.iter().map(|p| p.own_bits.min(p.fixed_bits)).sum();
    println!(
        "{} compressed pages, {} bytes with their own codes",
        study.len(),
        best / 8
    );

    // How often the previous page's code can write a page at all, and at what cost.
    const EDGES: [i64; 7] = [0, 8, 16, 32, 64, 128, 256];
    let mut loss = [0usize; EDGES.len() + 1];
    let mut writable = 0;
    let same_counts = study.windows(2).filter(|w| w[0].hist == w[1].hist).count();
    println!("{same_counts} pages have the previous page's symbol counts exactly");
    for pair in study.windows(2) {
        let [prev, page] = pair else { continue };
        if let Some(body) = body_bits(&page.hist, &prev.codes) {
            writable += 1;
            let extra = (prev.header_bits + body) as i64 - page.own_bits as i64;
            loss[EDGES
                .iter()
                .position(|&e| extra <= e)
                .unwrap_or(EDGES.len())] += 1;
        }
    }
    println!(
        "the previous page's code can write {writable} of {} pages; bits over the page's own code \
         (≤ 0, ≤ 8, ≤ 16, ≤ 32, ≤ 64, ≤ 128, ≤ 256, more): {loss:?}",
        study.len() - 1
    );

    // The decision rule, with slack T bits.
    for slack in [0.0, 20.0, 40.0, 80.0, 160.0] {
        let (mut total, mut reused) = (0u64, 0usize);
        let mut last_built: Option<(usize, f64)> = None; // page, its code's redundancy
        for (i, page) in study.iter().enumerate() {
            let mut bits = page.own_bits.min(page.fixed_bits);
            let reuse = last_built.and_then(|(j, redundancy)| {
                let prev = &study[j];
                let size = prev.header_bits + body_bits(&page.hist, &prev.codes)?;
                (size as f64 <= page.entropy + redundancy + slack).then_some(size)
            });
            match reuse {
                Some(size) => {
                    bits = size.min(page.fixed_bits);
                    reused += 1;
                }
                None => last_built = Some((i, page.own_bits as f64 - page.entropy)),
            }
            total += bits;
        }
        println!(
            "slack {slack:>3} bits: reused for {reused} pages ({:.1} %), {} bytes more ({:+.5} of ratio)",
            100.0 * reused as f64 / study.len() as f64,
            (total - best) / 8,
            (total - best) as f64 / 8.0 / (pages.len() * 4096) as f64
        );
    }
}
