//! Print the fingerprint (summary and page digests) of a capture, natively — how
//! `web-demo/sample/qpl-2ch.expected.json` is made:
//!
//!     cargo run -p pageflate-wasm --example fingerprint -- web-demo/sample/qpl-2ch > web-demo/sample/qpl-2ch.expected.json

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: fingerprint CAPTURE_DIR");
    let files = pageflate_wasm::read_dir_files(std::path::Path::new(&dir))
        .expect("read the capture directory");
    let view = pageflate_wasm::CaptureView::open(files).expect("open the capture");
    println!("{:#}", view.fingerprint());
}
