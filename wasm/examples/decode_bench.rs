//! The native half of the Node-vs-native decode comparison (`scripts/bench-wasm.sh`):
//! compresses the corpus's non-zero pages with pageflate's fast level (QEMU's qpl framing:
//! a page that does not fit stays raw), writes them to OUT (`lengths.u32le` then the data),
//! and prints the native decode rate over them (median of 7 passes) as JSON.
//!
//!     cargo run --release -p pageflate-wasm --example decode_bench -- CORPUS.zst OUT

use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (corpus, out) = (&args[1], &args[2]);
    let packed = std::fs::read(corpus).expect("read the corpus");
    let ram = pageflate_wasm::unzstd(&packed).expect("decompress the corpus");
    let mut c = Compressor::new(Level::Fast);
    let mut buf = vec![0u8; 4096];
    let (mut lengths, mut data) = (Vec::new(), Vec::new());
    for page in ram.chunks_exact(4096).filter(|p| p.iter().any(|&b| b != 0)) {
        match compress_page(&mut c, page, &mut buf) {
            PageEncoding::Compressed(n) => {
                lengths.push(n as u32);
                data.extend_from_slice(&buf[..n]);
            }
            PageEncoding::Raw => {
                lengths.push(4096);
                data.extend_from_slice(page);
            }
        }
    }
    let mut file = Vec::new();
    file.extend_from_slice(&(lengths.len() as u32).to_le_bytes());
    for l in &lengths {
        file.extend_from_slice(&l.to_le_bytes());
    }
    file.extend_from_slice(&data);
    std::fs::write(out, file).expect("write the pages");
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            let bytes = pageflate_wasm::decode_all_native(&data, &lengths).expect("decode");
            bytes / t.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "{{\"pages\": {}, \"wire_bytes\": {}, \"native_mb_per_s\": {:.1}}}",
        lengths.len(),
        data.len(),
        rates[3]
    );
}
