//! What the native integration tests share: the shared data set's location.

use std::path::PathBuf;

/// `../shared/` (or `$PAGEFLATE_SHARED`); fails loudly when `needed` is not inside it.
pub fn shared_with(needed: &str) -> PathBuf {
    let dir = std::env::var_os("PAGEFLATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join(needed).exists(),
        "shared data missing: {} (set PAGEFLATE_SHARED)",
        dir.join(needed).display()
    );
    dir
}

/// `../shared/` with its captures.
#[allow(dead_code)] // not every test file uses both helpers
pub fn shared() -> PathBuf {
    shared_with("captures")
}

/// The benchmark corpus, `corpus/guest-ram-a-64M.bin.zst` of the shared data set, in
/// `page_size` pages.
#[allow(dead_code)] // not every test file uses it
pub fn corpus(page_size: usize) -> pageflate::ram::SourceRam {
    let path = shared_with("corpus").join("corpus/guest-ram-a-64M.bin.zst");
    pageflate::ram::SourceRam::open(&path, page_size).expect("the benchmark corpus opens")
}

/// The non-zero pages of a guest-memory image's first block, in order: the pages a
/// migration compresses (zero pages go as flags alone).
#[allow(dead_code)] // not every test file uses it
pub fn nonzero_pages(ram: &pageflate::ram::SourceRam, page_size: usize) -> Vec<&[u8]> {
    ram.blocks[0]
        .bytes()
        .chunks_exact(page_size)
        .filter(|p| !pageflate::multifd::zero::is_zero(p))
        .collect()
}
