//! The encoder on real guest memory: every non-zero page of the benchmark corpus and of the
//! captures' RAM snapshot, at both levels, through the page codec, decodes back exactly with
//! pageflate (strict 4 KiB mode) and with miniz_oxide; the whole snapshot compressed as one
//! zlib stream decodes with both too.

use pageflate_conformance::shared;
use pageflate_core::container::{zlib_compress, zlib_decompress};
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, decompress_page, PageEncoding, PAGE_SIZE};
use pageflate_core::{Decompressor, InflateOptions};

fn round_trip_pages(name: &str, memory: &[u8]) {
    let mut d = Decompressor::new();
    for level in [Level::Fast, Level::Dense] {
        let mut c = Compressor::new(level);
        let (mut pages, mut raw, mut bytes) = (0usize, 0usize, 0usize);
        let mut out = [0u8; PAGE_SIZE];
        let mut back = [0u8; PAGE_SIZE];
        for page in memory
            .chunks(PAGE_SIZE)
            .filter(|p| p.iter().any(|&b| b != 0))
        {
            pages += 1;
            match compress_page(&mut c, page, &mut out) {
                PageEncoding::Compressed(len) => {
                    bytes += len;
                    decompress_page(&mut d, &out[..len], &mut back, InflateOptions::STRICT_4K)
                        .unwrap_or_else(|e| panic!("{name} {level:?} page {pages}: {e}"));
                    assert!(back[..] == *page, "{name} {level:?} page {pages}: differs");
                    let theirs = miniz_oxide::inflate::decompress_to_vec(&out[..len]).unwrap();
                    assert!(
                        theirs == page,
                        "{name} {level:?} page {pages}: miniz_oxide differs"
                    );
                }
                PageEncoding::Raw => {
                    raw += 1;
                    bytes += PAGE_SIZE;
                }
            }
        }
        assert!(pages > 4000);
        eprintln!(
            "{name} {level:?}: {pages} non-zero pages, {raw} raw, ratio {:.4}",
            bytes as f64 / (pages * PAGE_SIZE) as f64
        );
    }
}

#[test]
fn corpus_pages_round_trip_at_every_level() {
    round_trip_pages(
        "corpus",
        &shared::read_zst("corpus/guest-ram-a-64M.bin.zst"),
    );
}

#[test]
fn capture_ram_pages_round_trip_and_whole_image_as_zlib() {
    let ram = shared::read_zst("captures/qpl-2ch/ram.bin.zst");
    round_trip_pages("qpl-2ch ram", &ram);
    for level in [Level::Fast, Level::Dense] {
        let z = zlib_compress(&ram, level);
        let mut back = vec![0u8; ram.len()];
        let r = zlib_decompress(&z, &mut back, InflateOptions::STRICT_4K).unwrap();
        assert_eq!(r.written, ram.len());
        assert!(back == ram);
        assert!(miniz_oxide::inflate::decompress_to_vec_zlib(&z).unwrap() == ram);
        eprintln!(
            "qpl-2ch ram as zlib, {level:?}: {} -> {} bytes",
            ram.len(),
            z.len()
        );
    }
}
