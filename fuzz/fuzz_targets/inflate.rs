//! Whole-buffer inflate on arbitrary bytes: never panics, never writes past the buffer;
//! strict 4 KiB mode only ever rejects more, never decodes differently; the page decoder
//! either fills exactly one page or errors.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::page::decompress_page;
use pageflate_core::{Decompressor, InflateOptions};

thread_local! {
    // Reused between inputs: zeroing 256 KiB per input would be most of the work.
    static BUFS: std::cell::RefCell<(Decompressor, Vec<u8>, Vec<u8>)> =
        std::cell::RefCell::new((Decompressor::new(), vec![0u8; 1 << 17], vec![0u8; 1 << 17]));
}

fuzz_target!(|data: &[u8]| BUFS.with(|b| {
    let (d, out, strict_out) = &mut *b.borrow_mut();
    let standard = d.inflate(data, out, InflateOptions::STANDARD);
    let strict = d.inflate(data, strict_out, InflateOptions::STRICT_4K);
    if let Ok(s) = strict {
        let full = standard.expect("strict success implies standard success");
        assert_eq!(s, full);
        assert_eq!(out[..full.written], strict_out[..s.written]);
    }
    if let Ok(r) = standard {
        assert!(r.consumed <= data.len() && r.written <= out.len());
    }
    let mut page = [0u8; 4096];
    let _ = decompress_page(d, data, &mut page, InflateOptions::STANDARD);
}));
