//! Offline study of the dense level's dynamic headers (docs/profile.md, session 14): how
//! many bits a header would save with its run-length items chosen by their price under
//! the precode (a shortest path over the code lengths, the precode rebuilt from the chosen
//! items and the path searched again) instead of greedily, and with the lengths of
//! equally frequent symbols handed out in the other order (the block's body costs the
//! same). Each compressed page's code lengths and symbol counts come from tracing its
//! output.
//!
//! `cargo run --release -p pageflate --example header_study`
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::huffman::build_code_lengths;
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::trace::trace_deflate;
#[path = "../tests/common/mod.rs"]
mod common;

/// Precode symbols in the order a header lists their code lengths (RFC 1951).
const ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
/// Extra bits of each precode symbol (16: 2, 17: 3, 18: 7).
const EXTRA: [u64; 19] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];

/// Greedy (zlib-style) items: (symbol, count covered).
fn greedy(x: &[u8]) -> Vec<(usize, usize)> {
    let mut items = Vec::new();
    let mut i = 0;
    while i < x.len() {
        let v = x[i];
        let mut run = 1;
        while i + run < x.len() && x[i + run] == v {
            run += 1;
        }
        if v == 0 {
            let mut r = run;
            while r >= 11 {
                let k = r.min(138);
                items.push((18, k));
                r -= k;
            }
            if r >= 3 {
                items.push((17, r));
                r = 0;
            }
            for _ in 0..r {
                items.push((0, 1));
            }
        } else {
            items.push((v as usize, 1));
            let mut r = run - 1;
            while r >= 3 {
                let k = r.min(6);
                items.push((16, k));
                r -= k;
            }
            for _ in 0..r {
                items.push((v as usize, 1));
            }
        }
        i += run;
    }
    items
}

/// Cheapest items under precode lengths `pl` (0 = unusable).
fn dp(x: &[u8], pl: &[u8; 19]) -> Vec<(usize, usize)> {
    let m = x.len();
    let inf = u64::MAX / 4;
    let c = |s: usize| {
        if pl[s] == 0 {
            inf
        } else {
            u64::from(pl[s]) + EXTRA[s]
        }
    };
    let mut best = vec![inf; m + 1];
    let mut from = vec![(0usize, 0usize); m + 1];
    best[0] = 0;
    for i in 0..m {
        if best[i] >= inf {
            continue;
        }
        let b = best[i];
        let mut relax = |j: usize, cost: u64, item: (usize, usize), best: &mut Vec<u64>| {
            if cost < inf && b + cost < best[j] {
                best[j] = b + cost;
                from[j] = item;
            }
        };
        relax(i + 1, c(x[i] as usize), (x[i] as usize, 1), &mut best);
        if i >= 1 {
            let p = x[i - 1];
            let mut k = 0;
            while k < 6 && i + k < m && x[i + k] == p {
                k += 1;
                if k >= 3 {
                    relax(i + k, c(16), (16, k), &mut best);
                }
            }
        }
        let mut z = 0;
        while z < 138 && i + z < m && x[i + z] == 0 {
            z += 1;
            if (3..=10).contains(&z) {
                relax(i + z, c(17), (17, z), &mut best);
            }
            if z >= 11 {
                relax(i + z, c(18), (18, z), &mut best);
            }
        }
    }
    let mut items = Vec::new();
    let mut j = m;
    while j > 0 {
        let it = from[j];
        items.push(it);
        j -= it.1;
    }
    items.reverse();
    items
}

/// Bits of a header with `items`, the precode built from them: (bits, precode lengths).
fn price(items: &[(usize, usize)]) -> (u64, [u8; 19]) {
    let mut f = [0u32; 19];
    for &(s, _) in items {
        f[s] += 1;
    }
    let mut pl = [0u8; 19];
    build_code_lengths(&f, 7, &mut pl);
    let hclen = 4.max(19 - ORDER.iter().rev().take_while(|&&s| pl[s] == 0).count());
    let body: u64 = items
        .iter()
        .map(|&(s, _)| u64::from(pl[s]) + EXTRA[s])
        .sum();
    (14 + 3 * hclen as u64 + body, pl)
}

fn length_sym(len: usize) -> usize {
    const BASE: [usize; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    257 + BASE.iter().rposition(|&b| b <= len).unwrap()
}
fn dist_sym(d: usize) -> usize {
    const BASE: [usize; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    BASE.iter().rposition(|&b| b <= d).unwrap()
}

/// Within each frequency, the longer lengths moved to the other end of the symbol order
/// (the body's cost is the same).
fn reversed_ties(lens: &[u8], freq: &[u32]) -> Vec<u8> {
    let mut out = lens.to_vec();
    let mut fs: Vec<u32> = freq.iter().copied().filter(|&f| f > 0).collect();
    fs.sort();
    fs.dedup();
    for f in fs {
        let idx: Vec<usize> = (0..lens.len())
            .filter(|&s| freq[s] == f && lens[s] > 0)
            .collect();
        let mut l: Vec<u8> = idx.iter().map(|&s| lens[s]).collect();
        l.reverse();
        for (k, &s) in idx.iter().enumerate() {
            out[s] = l[k];
        }
    }
    out
}

/// Header bits of the lengths `x` with greedy items, and with items chosen by price (the
/// precode rebuilt from the last choice, four rounds; the cheapest header seen).
fn header_bits(x: &[u8]) -> (u64, u64) {
    let (greedy_bits, mut pl) = price(&greedy(x));
    let mut best = greedy_bits;
    for _ in 0..4 {
        let (bits, next) = price(&dp(x, &pl));
        best = best.min(bits);
        pl = next;
    }
    (greedy_bits, best)
}

/// How many of `lens` a header describes: up to the last used one, at least `min`.
fn described(lens: &[u8], min: usize) -> usize {
    min.max(lens.iter().rposition(|&v| v > 0).map_or(0, |k| k + 1))
}

/// The literal/length and distance symbol counts of a block's tokens.
fn symbol_counts(tokens: &[pageflate_core::trace::Token]) -> (Vec<u32>, [u32; 30]) {
    use pageflate_core::trace::TokenKind;
    let mut litlen = vec![0u32; 286];
    let mut dist = [0u32; 30];
    for tok in tokens {
        match tok.kind {
            TokenKind::Literal(v) => litlen[usize::from(v)] += 1,
            TokenKind::Match { length, distance } => {
                litlen[length_sym(usize::from(length))] += 1;
                dist[dist_sym(usize::from(distance))] += 1;
            }
            _ => {}
        }
    }
    litlen[256] += 1;
    (litlen, dist)
}

fn main() {
    let ram = common::corpus(4096);
    let pages = common::nonzero_pages(&ram, 4096);
    let mut c = Compressor::new(Level::Dense);
    let mut out = vec![0u8; 8192];
    let (mut actual, mut mine, mut best_total, mut n) = (0u64, 0u64, 0u64, 0u64);
    let mut tie_total = 0u64;
    for p in &pages {
        let PageEncoding::Compressed(len) = compress_page(&mut c, p, &mut out) else {
            continue;
        };
        let t = trace_deflate(&out[..len], 4096).unwrap();
        for b in &t.blocks {
            if b.kind != pageflate_core::trace::BlockType::Dynamic {
                continue;
            }
            n += 1;
            // Header bits after the 3 block-header bits.
            actual += b.header_bits.end - b.header_bits.start - 3;
            // The lengths the header describes: HLIT and HDIST trim trailing zeros.
            let (hlit, hdist) = (
                described(&b.litlen_lengths, 257),
                described(&b.dist_lengths, 1),
            );
            let mut x = b.litlen_lengths[..hlit].to_vec();
            x.extend_from_slice(&b.dist_lengths[..hdist]);
            let (greedy_bits, best) = header_bits(&x);
            mine += greedy_bits;
            best_total += best;
            let (lf, df) = symbol_counts(&t.tokens[b.first_token..b.first_token + b.token_count]);
            let mut y = reversed_ties(&b.litlen_lengths[..hlit], &lf[..hlit]);
            y.extend(reversed_ties(&b.dist_lengths[..hdist], &df[..hdist]));
            let (_, alt) = header_bits(&y);
            tie_total += best.min(alt);
        }
    }
    let input = (pages.len() * 4096) as f64;
    let per_block = |bits: u64| bits as f64 / n as f64;
    let saved = |bits: u64| (actual as f64 - bits as f64) / 8.0 / input;
    println!("{n} dynamic blocks, header bits a block (after the 3 block-header bits):");
    println!(
        "  the encoder's                      {:.1}",
        per_block(actual)
    );
    println!(
        "  greedy run-length items (model)    {:.1}",
        per_block(mine)
    );
    println!(
        "  items chosen by price              {:.1}  (ratio {:+.5} against the encoder's)",
        per_block(best_total),
        -saved(best_total)
    );
    println!(
        "  … and the better tie order         {:.1}  (ratio {:+.5})",
        per_block(tie_total),
        -saved(tie_total)
    );
}
