//! pageflate-wasm: the browser's face of pageflate-core (wasm-bindgen).
//!
//! Thin by design: every format decision lives in the core; this crate converts types and
//! turns the core's errors into JavaScript exceptions carrying the core's message.

use pageflate_core::page::{decompress_page, PAGE_SIZE};
use pageflate_core::{Decompressor, InflateOptions};
use wasm_bindgen::prelude::*;

/// Decode one page as QEMU's qpl method sends it: `data.length == 4096` means the page is
/// raw; otherwise `data` is raw deflate that must decode to exactly 4096 bytes.
///
/// Throws an `Error` whose message names the failure and its bit or byte offset.
#[wasm_bindgen(js_name = decodePage)]
pub fn decode_page(data: &[u8]) -> Result<Vec<u8>, JsError> {
    let mut out = vec![0u8; PAGE_SIZE];
    decompress_page(
        &mut Decompressor::new(),
        data,
        &mut out,
        InflateOptions::STANDARD,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}

/// The page size pageflate decodes ([`PAGE_SIZE`]).
#[wasm_bindgen(js_name = pageSize)]
pub fn page_size() -> usize {
    PAGE_SIZE
}
