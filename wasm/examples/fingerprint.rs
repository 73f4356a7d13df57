//! Print the fingerprint (summary and page digests) of a capture, natively — how
//! `web-demo/sample/qpl-2ch.expected.json` is made:
//!
//!     cargo run -p pageflate-wasm --example fingerprint -- web-demo/sample/qpl-2ch > web-demo/sample/qpl-2ch.expected.json

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: fingerprint CAPTURE_DIR");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("read the capture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    let view = pageflate_wasm::CaptureView::open(files).expect("open the capture");
    println!("{:#}", view.fingerprint());
}
