//! Intel QPL's software path and pageflate read each other's pages, on a real guest's
//! memory: QPL's output (QEMU's fixed-Huffman mode, and dynamic) decodes with pageflate,
//! and pageflate's (fast and dense) decodes with QPL's own decoder, the one a QEMU
//! destination calls for `multifd-compression qpl`. QPL comes from Debian's libqpl-dev,
//! which scripts/fetch-qpl.sh unpacks (scripts/setup.sh runs it); without it this test
//! fails, saying so.

mod common;

use pageflate::bench::qpl_interop;
use pageflate::ram::SourceRam;

#[test]
fn qpl_and_pageflate_decode_each_others_pages() {
    let path =
        common::shared_with("captures/qpl-2ch/ram.bin.zst").join("captures/qpl-2ch/ram.bin.zst");
    let ram = SourceRam::open(&path, 4096).unwrap();
    let pages = common::nonzero_pages(&ram, 4096);
    assert!(pages.len() > 1000, "{} non-zero pages", pages.len());
    let seen = qpl_interop(&pages).unwrap_or_else(|e| panic!("{e}"));
    // Most pages of a guest compress, in every direction.
    for n in [
        seen.qpl_fixed_to_pageflate,
        seen.qpl_dynamic_to_pageflate,
        seen.pageflate_fast_to_qpl,
        seen.pageflate_dense_to_qpl,
    ] {
        assert!(n > pages.len() / 2, "{seen:?} of {} pages", pages.len());
    }
}
