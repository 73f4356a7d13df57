//! Differential: pageflate and miniz_oxide agree on every input — both fail, or both
//! decode to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::{Decompressor, InflateOptions};

fuzz_target!(|data: &[u8]| {
    let limit = 1 << 17;
    let mut out = vec![0u8; limit];
    let ours = Decompressor::new().inflate(data, &mut out, InflateOptions::STANDARD);
    let theirs = miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit);
    match (ours, theirs) {
        (Ok(a), Ok(b)) => assert!(out[..a.written] == b[..], "outputs differ"),
        (Err(_), Err(_)) => {}
        // At the output limit the two report differently (full buffer vs limit): not a disagreement.
        (Err(e), Ok(_)) if e.kind == pageflate_core::InflateErrorKind::OutputFull => {}
        (Ok(a), Err(_)) if a.written == limit => {}
        (a, b) => panic!("pageflate {a:?} vs miniz_oxide {:?}", b.map(|v| v.len())),
    }
});
