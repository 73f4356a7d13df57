//! pageflate-conformance: the inputs every target must decode the same way.
//!
//! For now: access to the shared data set (`../shared/`: real QEMU captures, the corpus)
//! for the native tests. Missing data is an error, never a silent skip.

#[cfg(not(target_arch = "wasm32"))]
pub mod shared {
    //! Locating and reading `../shared/`.
    use std::io::Read;
    use std::path::PathBuf;

    /// The shared data directory: `$PAGEFLATE_SHARED`, else `shared/` beside the workspace.
    ///
    /// Panics with instructions if it does not exist: tests that need it must fail loudly.
    pub fn dir() -> PathBuf {
        let dir = std::env::var_os("PAGEFLATE_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join("..")
                    .join("shared")
            });
        assert!(
            dir.join("captures").is_dir(),
            "shared data not found at {} (set PAGEFLATE_SHARED to the directory holding captures/ and corpus/)",
            dir.display()
        );
        dir
    }

    /// Read and zstd-decode a `.zst` file below [`dir`].
    pub fn read_zst(relative: &str) -> Vec<u8> {
        let path = dir().join(relative);
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(file))
            .unwrap_or_else(|e| panic!("{} is not zstd: {e}", path.display()));
        let mut out = Vec::new();
        decoder
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()));
        out
    }

    /// The capture directories (`captures/*/` with a manifest), sorted by name.
    pub fn captures() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir().join("captures"))
            .expect("captures directory")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("manifest.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
