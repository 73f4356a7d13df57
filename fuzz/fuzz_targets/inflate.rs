//! Whole-buffer inflate on arbitrary bytes: never panics, never writes past the buffer;
//! strict 4 KiB mode only ever rejects more, never decodes differently; the page decoder
//! either fills exactly one page or errors.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::page::decompress_page;
use pageflate_core::{Decompressor, InflateOptions};

fuzz_target!(|data: &[u8]| {
    let mut d = Decompressor::new();
    let mut out = vec![0u8; 1 << 17];
    let standard = d.inflate(data, &mut out, InflateOptions::STANDARD);
    let mut strict_out = vec![0u8; 1 << 17];
    let strict = d.inflate(data, &mut strict_out, InflateOptions::STRICT_4K);
    if let Ok(s) = strict {
        let full = standard.expect("strict success implies standard success");
        assert_eq!(s, full);
        assert_eq!(out[..full.written], strict_out[..s.written]);
    }
    if let Ok(r) = standard {
        assert!(r.consumed <= data.len() && r.written <= out.len());
    }
    let mut page = [0u8; 4096];
    let _ = decompress_page(&mut d, data, &mut page, InflateOptions::STANDARD);
});
