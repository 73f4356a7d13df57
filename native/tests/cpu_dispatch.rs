//! The decoder builds `pageflate::cpu` dispatches between (portable, BMI2) are one source
//! compiled twice: they must return the same pages and the same errors on every input —
//! real QEMU qpl pages, pageflate's own fast and dense pages, every conformance vector, and
//! corrupted and truncated pages. On a CPU without BMI2 both runs take the portable build
//! (the test then checks nothing new, and says so).

use pageflate::cpu::{decompress_page_with, DecoderBuild};
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::{Decompressor, InflateOptions};

mod common;

const PAGE: usize = 4096;

/// Decode `data` with both builds and require the same result (bytes when it decodes).
fn assert_builds_agree(data: &[u8], what: &str) -> bool {
    let (mut a, mut b) = (Decompressor::new(), Decompressor::new());
    let (mut pa, mut pb) = ([0u8; PAGE], [0u8; PAGE]);
    let opts = InflateOptions::STANDARD;
    let ra = decompress_page_with(DecoderBuild::Portable, &mut a, data, &mut pa, opts);
    let rb = decompress_page_with(DecoderBuild::Bmi2, &mut b, data, &mut pb, opts);
    assert_eq!(ra, rb, "{what}: the builds disagree on the result");
    if ra.is_ok() {
        assert!(pa == pb, "{what}: the builds decoded different bytes");
    }
    ra.is_ok()
}

fn corpus_pages(n: usize) -> Vec<Vec<u8>> {
    let ram = common::corpus(PAGE);
    common::nonzero_pages(&ram, PAGE)
        .into_iter()
        .step_by(3)
        .take(n)
        .map(<[u8]>::to_vec)
        .collect()
}

fn compressed(pages: &[Vec<u8>], level: Level) -> Vec<Vec<u8>> {
    let mut c = Compressor::new(level);
    let mut out = [0u8; PAGE];
    pages
        .iter()
        .filter_map(|p| match compress_page(&mut c, p, &mut out) {
            PageEncoding::Compressed(n) => Some(out[..n].to_vec()),
            PageEncoding::Raw => None,
        })
        .collect()
}

#[test]
fn detect_names_a_build_this_cpu_runs() {
    let build = DecoderBuild::detect();
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        build == DecoderBuild::Bmi2,
        std::arch::is_x86_feature_detected!("bmi2")
    );
    eprintln!("decoder build on this CPU: {}", build.name());
}

#[test]
fn builds_agree_on_qemu_qpl_pages() {
    let dir = common::shared().join("captures/qpl-2ch");
    let pages = pageflate::bench::capture_deflate_pages(&dir).expect("qpl-2ch capture");
    let deflated: Vec<_> = pages.iter().filter(|p| p.len() < PAGE).collect();
    assert!(deflated.len() > 1000, "the capture has deflate pages");
    for (i, p) in deflated.iter().enumerate() {
        assert!(assert_builds_agree(p, &format!("qpl-2ch page {i}")));
    }
}

#[test]
fn builds_agree_on_pageflate_pages_and_their_corruptions() {
    let pages = corpus_pages(1500);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut ok, mut failed) = (0, 0);
    for level in [Level::Fast, Level::Dense] {
        let deflated = compressed(&pages, level);
        assert!(
            deflated.len() > 400,
            "{level:?}: {} of 1500 pages compress",
            deflated.len()
        );
        for (i, d) in deflated.iter().enumerate() {
            assert!(assert_builds_agree(d, &format!("{level:?} page {i}")));
            // One to three flipped bits anywhere, and a cut at a random length.
            let mut bad = d.clone();
            for _ in 0..1 + next() % 3 {
                let bit = (next() % (8 * bad.len() as u64)) as usize;
                bad[bit / 8] ^= 1 << (bit % 8);
            }
            let cut = (next() % d.len() as u64) as usize;
            for (what, input) in [("flipped", &bad[..]), ("cut", &d[..cut])] {
                match assert_builds_agree(input, &format!("{level:?} page {i} {what}")) {
                    true => ok += 1,
                    false => failed += 1,
                }
            }
        }
    }
    // Both outcomes were exercised: errors (the bulk) and corruptions that still decode.
    assert!(failed > 500 && ok > 0, "ok {ok}, failed {failed}");
}

#[test]
fn builds_agree_on_every_conformance_vector_input() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/data");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("conformance vectors") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        assert_builds_agree(&data, &path.display().to_string());
        n += 1;
    }
    assert!(n > 100, "found {n} vector inputs in {}", dir.display());
}
