//! Runs under Node and under headless Chromium (wasm-bindgen-test-runner; the browser run
//! sets WASM_BINDGEN_USE_BROWSER=1 and CHROMEDRIVER).

use pageflate_wasm::{decode_page, page_size};
use wasm_bindgen_test::wasm_bindgen_test;

fn sample_page() -> Vec<u8> {
    (0..4096u32)
        .map(|i| ((i * 31) % 251) as u8 ^ (i / 512) as u8)
        .collect()
}

#[wasm_bindgen_test]
fn decodes_a_deflated_page() {
    let page = sample_page();
    let compressed = miniz_oxide::deflate::compress_to_vec(&page, 1);
    assert!(compressed.len() < 4096);
    assert_eq!(decode_page(&compressed).unwrap(), page);
    assert_eq!(page_size(), 4096);
}

#[wasm_bindgen_test]
fn raw_pages_pass_through() {
    let page = sample_page();
    assert_eq!(decode_page(&page).unwrap(), page);
}

#[wasm_bindgen_test]
fn truncated_page_is_an_error_not_a_panic() {
    let compressed = miniz_oxide::deflate::compress_to_vec(&sample_page(), 1);
    for cut in [0, 1, compressed.len() / 2, compressed.len() - 1] {
        assert!(decode_page(&compressed[..cut]).is_err(), "cut at {cut}");
    }
}

/// The bundled real capture, opened in WebAssembly, gives exactly the statistics and page
/// digests the native build computed (`web-demo/sample/qpl-2ch.expected.json`, kept current
/// by `tests/tests/inspector_views.rs`).
#[wasm_bindgen_test]
fn bundled_capture_matches_the_native_fingerprint() {
    let files = vec![
        (
            "conn-0.bin.zst".to_string(),
            include_bytes!("../../web-demo/sample/qpl-2ch/conn-0.bin.zst").to_vec(),
        ),
        (
            "conn-1.bin.zst".to_string(),
            include_bytes!("../../web-demo/sample/qpl-2ch/conn-1.bin.zst").to_vec(),
        ),
        (
            "conn-2.bin.zst".to_string(),
            include_bytes!("../../web-demo/sample/qpl-2ch/conn-2.bin.zst").to_vec(),
        ),
    ];
    let view = pageflate_wasm::CaptureView::open(files).expect("open");
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("../../web-demo/sample/qpl-2ch.expected.json")).unwrap();
    assert_eq!(view.fingerprint(), expected);
}
