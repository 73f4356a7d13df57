//! Embed the conformance vectors (manifest and every input file, including the real QEMU
//! captures from `../shared/`) into the vector test, so the native, Node and Chromium runs
//! read exactly the same bytes. A missing file fails the build, loudly.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let vectors = here.join("vectors");
    let shared = std::env::var_os("PAGEFLATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("..").join("..").join("shared"));
    println!("cargo:rerun-if-env-changed=PAGEFLATE_SHARED");
    let list = vectors.join("files.txt");
    let manifest = vectors.join("manifest.json");
    println!("cargo:rerun-if-changed={}", list.display());
    println!("cargo:rerun-if-changed={}", manifest.display());
    let files = std::fs::read_to_string(&list).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `cargo run -p pageflate-conformance --example generate_vectors`)",
            list.display()
        )
    });
    let mut out = String::new();
    writeln!(
        out,
        "/// The vector manifest.\npub static MANIFEST: &str = include_str!({:?});",
        manifest.display().to_string()
    )
    .unwrap();
    out.push_str(
        "/// Every input file, by its manifest path.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for line in files.lines().filter(|l| !l.is_empty()) {
        let path = match line.strip_prefix("shared:") {
            Some(rest) => shared.join(rest),
            None => vectors.join(line),
        };
        assert!(
            path.is_file(),
            "conformance input {} is missing (shared data at {}; set PAGEFLATE_SHARED)",
            path.display(),
            shared.display()
        );
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({line:?}, include_bytes!({:?})),",
            path.canonicalize().unwrap().display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded_vectors.rs");
    std::fs::write(dest, out).unwrap();
}
