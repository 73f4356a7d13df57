//! The browser inspector's views, computed natively (the same code the wasm build runs):
//! the bundled capture's fingerprint file is current, every page the inspector decodes
//! equals the guest's RAM snapshot, its counts equal the manifest's, and the deflate
//! structure it shows decodes to the same page.

use pageflate_conformance::shared;
use pageflate_wasm::{report, CaptureView};
use serde_json::Value;
use std::path::PathBuf;

fn open_dir(dir: &std::path::Path) -> CaptureView {
    CaptureView::open(pageflate_wasm::read_dir_files(dir).unwrap()).expect("open")
}

#[test]
fn bundled_fingerprint_file_is_current() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let view = open_dir(&repo.join("web-demo/sample/qpl-2ch"));
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("web-demo/sample/qpl-2ch.expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        view.fingerprint(),
        expected,
        "regenerate with the command in wasm/examples/fingerprint.rs"
    );
}

#[test]
fn inspector_pages_equal_the_snapshot_and_counts_equal_the_manifest() {
    let vga = 0xA0000u64..0xC0000;
    for name in ["qpl-2ch", "zlib-2ch", "none-2ch"] {
        let dir = shared::dir().join("captures").join(name);
        let view = open_dir(&dir);
        let c = view.capture();
        let ram = shared::read_zst(&format!("captures/{name}/ram.bin.zst"));
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        let s = report::summary(c);
        let totals = &manifest["stats"]["totals"];
        assert_eq!(s["normal_pages"], totals["normal_pages"], "{name}");
        assert_eq!(s["zero_pages"], totals["zero_pages"], "{name}");
        if name == "qpl-2ch" {
            assert_eq!(s["raw_pages"], totals["qpl_raw_pages"]);
            assert_eq!(s["deflate_pages"], totals["qpl_deflate_pages"]);
        }
        let mut dec = report::PageDecoder::default();
        let mut checked = 0;
        for e in c.page_events() {
            let block = c.main.blocks[e.block].name;
            let page = dec.decode(c, &e).expect("decode");
            if block == "pc.ram" && !vga.contains(&e.offset) {
                let want = &ram[e.offset as usize..e.offset as usize + 4096];
                // A page sent twice (a later copy wins) is only checked at its last copy
                // by the RAM tests; the paused captures send each page once.
                assert!(page == want, "{name}: pc.ram {:#x}", e.offset);
                checked += 1;
            }
            if let Some(w) = c.page_wire(&e.source) {
                if w.deflate && checked % 7 == 0 {
                    let t: Value =
                        serde_json::from_str(&report::page_trace(w.bytes, 4096).to_string())
                            .unwrap();
                    assert!(t.get("error").is_none(), "{t}");
                    let last = t["tokens"].as_array().unwrap().last().unwrap().clone();
                    assert_eq!(last[0], "eob");
                    assert_eq!(last[6], 4096);
                }
            }
        }
        assert!(checked > 4000, "{name}: {checked} pages checked");
    }
}
