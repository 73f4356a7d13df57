//! The conformance vector set (`tests/vectors/manifest.json`), run natively and — the same
//! file compiled for wasm32 — under Node and in headless Chromium. Every vector's outcome
//! must equal the manifest's; a mismatch names the vector, the target and both results.
//! The set must hold at least one vector per error kind the core can return.

use pageflate_conformance::vectors::{run, unzstd, OPS};
use std::collections::BTreeSet;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_vectors.rs"));
}

const TARGET: &str = if cfg!(target_arch = "wasm32") {
    "wasm32 (wasm-bindgen-test: Node or headless Chromium)"
} else {
    "native"
};

fn input(path: &str) -> Vec<u8> {
    let (_, bytes) = embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .unwrap_or_else(|| panic!("input {path} is not embedded"));
    if path.ends_with(".zst") {
        unzstd(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
    } else {
        bytes.to_vec()
    }
}

fn manifest() -> Vec<serde_json::Value> {
    let m: serde_json::Value = serde_json::from_str(embedded::MANIFEST).expect("manifest");
    m["vectors"].as_array().expect("vectors").clone()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_vector_gives_its_expected_outcome() {
    let vectors = manifest();
    let mut mismatches = Vec::new();
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let op = v["op"].as_str().unwrap();
        assert!(OPS.contains(&op), "vector {name}: unknown operation {op}");
        let inputs: Vec<Vec<u8>> = v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| input(p.as_str().unwrap()))
            .collect();
        let refs: Vec<&[u8]> = inputs.iter().map(|b| b.as_slice()).collect();
        let got = run(op, &refs, v["out_len"].as_u64().unwrap() as usize);
        let expect = v["expect"].as_str().unwrap();
        if got != expect {
            mismatches.push(format!(
                "vector {name} ({op}) on {TARGET}: expected {expect}, got {got}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} vectors differ:\n{}",
        mismatches.len(),
        vectors.len(),
        mismatches.join("\n")
    );
    println!("{} vectors agree on {TARGET}", vectors.len());
}

/// Every error kind the core can return, as the outcomes name them.
const ERROR_KINDS: &[&str] = &[
    // InflateErrorKind (inflate, zlib, gzip, page)
    "UnexpectedEof",
    "ReservedBlockType",
    "StoredLengthMismatch",
    "TooManyLengthCodes",
    "TooManyDistanceCodes",
    "OversubscribedCode",
    "IncompleteCode",
    "RepeatWithoutPrevious",
    "CodeLengthsOverflow",
    "MissingEndOfBlock",
    "InvalidSymbol",
    "DistanceTooFarBack",
    "DistanceBeyondWindow",
    "OutputFull",
    "PageSizeMismatch",
    "BadZlibHeader",
    "ZlibDictionaryUnsupported",
    "Adler32Mismatch",
    "BadGzipHeader",
    "Crc32Mismatch",
    "SizeMismatch",
    "TrailingData",
    // FormatErrorKind (init, packet; channel ids and uuids come from opening a capture)
    "fmt:Truncated",
    "fmt:BadMagic",
    "fmt:BadVersion",
    "fmt:UnknownFlags",
    "fmt:BadPageCount",
    "fmt:BadOffset",
    "fmt:BadPayloadLength",
    "fmt:BadPageLength",
    "fmt:BadBlockName",
    "Multifd/BadChannelId",
    "Multifd/UuidMismatch",
    // MigrationErrorKind (main_stream)
    "main:Truncated",
    "main:BadMagic",
    "main:BadVersion",
    "main:UnknownRecord",
    "main:UnknownSection",
    "main:BadFooter",
    "main:BadRamItem",
    "main:UnknownBlock",
    "main:UnknownSubsection",
    "main:BadName",
    "main:BadVmDescription",
    "main:BadMappedRam",
    // CaptureError and PageErrorKind (capture, ram, payload, main_page)
    "UnknownStream",
    "DuplicateChannel",
    "MissingMainChannel",
    "TooLarge",
    "Main/BadVersion",
    "Page/Inflate/ReservedBlockType",
    "Page/Zstd",
    "Page/ShortStream",
    "Page/OutsideBlock",
    "Page/BadXbzrle",
    "Page/Unsupported",
];

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_error_kind_has_a_vector() {
    let mut seen = BTreeSet::new();
    for v in manifest() {
        let Some(kind) = v["expect"].as_str().unwrap().strip_prefix("err:") else {
            continue;
        };
        let prefix = match v["op"].as_str().unwrap() {
            "init" | "packet" => "fmt:",
            "main_stream" => "main:",
            _ => "",
        };
        seen.insert(format!("{prefix}{kind}"));
    }
    let missing: Vec<_> = ERROR_KINDS.iter().filter(|k| !seen.contains(**k)).collect();
    assert!(missing.is_empty(), "no vector for {missing:?}");
}
