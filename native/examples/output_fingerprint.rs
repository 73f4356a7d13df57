//! A fingerprint of what both compression levels produce for every page of the corpus:
//! total bytes and a hash of each page's output in order. A speed change that must not
//! change the output (most of issue 9's) shows the same two lines before and after.
//!
//! `cargo run --release -p pageflate --example output_fingerprint`

use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use std::hash::Hasher;
#[path = "../tests/common/mod.rs"]
mod common;
fn main() {
    let ram = common::corpus(4096);
    for level in [Level::Fast, Level::Dense] {
        let mut c = Compressor::new(level);
        let mut out = vec![0u8; 8192];
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut total = 0usize;
        for p in ram.blocks[0].bytes().chunks_exact(4096) {
            match compress_page(&mut c, p, &mut out) {
                PageEncoding::Compressed(n) => {
                    h.write(&out[..n]);
                    total += n;
                }
                other => {
                    h.write(format!("{other:?}").as_bytes());
                    total += 4096;
                }
            }
        }
        println!("{level:?}: {total} bytes, hash {:016x}", h.finish());
    }
}
