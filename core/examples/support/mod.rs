//! Shared by the core's benches and examples: reading the shared data set.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

/// `$PAGEFLATE_SHARED`, else `shared/` beside the workspace.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("PAGEFLATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Read and zstd-decode `relative` below the shared directory (panics with the path).
pub fn read_zst(relative: &str) -> Vec<u8> {
    let path = shared_dir().join(relative);
    let file =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    let mut out = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{} is not zstd: {e}", path.display()))
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()));
    out
}

/// The benchmark corpus, uncompressed (64 MiB).
pub fn corpus() -> Vec<u8> {
    read_zst("corpus/guest-ram-a-64M.bin.zst")
}

/// The non-zero 4 KiB pages of `memory`.
pub fn nonzero_pages(memory: &[u8]) -> Vec<&[u8]> {
    memory
        .chunks(4096)
        .filter(|p| p.iter().any(|&b| b != 0))
        .collect()
}
