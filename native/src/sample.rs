//! The bundled sample: real qpl pages cut from a QEMU 10.0.2 capture (`web-demo/sample/`,
//! made by `scripts/make-sample.py`), with the SHA-256 each page must decode to.

use std::fmt;

/// The sample's page records (big-endian: u64 pc.ram offset, u32 length, bytes).
pub const SAMPLE_PAGES: &[u8] = include_bytes!("../../web-demo/sample/qpl-pages.bin");
/// The sample's manifest: expected digests.
pub const SAMPLE_MANIFEST: &str = include_str!("../../web-demo/sample/qpl-pages.json");

/// One page as QEMU sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplePage<'a> {
    /// Offset of the page in RAM block `pc.ram`.
    pub offset: u64,
    /// The page's bytes on the wire: raw deflate, or the raw page if 4096 bytes long.
    pub data: &'a [u8],
}

/// A malformed sample record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleError {
    /// Byte offset of the record that is cut short.
    pub at: usize,
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sample page record truncated at byte {}", self.at)
    }
}

impl std::error::Error for SampleError {}

/// Split sample records into pages.
pub fn parse_pages(mut bytes: &[u8]) -> Result<Vec<SamplePage<'_>>, SampleError> {
    let mut pages = Vec::new();
    let total = bytes.len();
    while !bytes.is_empty() {
        let at = total - bytes.len();
        let header = bytes.get(..12).ok_or(SampleError { at })?;
        let offset = u64::from_be_bytes(header[..8].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(header[8..12].try_into().unwrap_or_default()) as usize;
        let data = bytes.get(12..12 + len).ok_or(SampleError { at })?;
        pages.push(SamplePage { offset, data });
        bytes = &bytes[12 + len..];
    }
    Ok(pages)
}

/// The expected SHA-256 (hex) of each decoded sample page, in record order.
pub fn expected_digests() -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_str(SAMPLE_MANIFEST).expect("bundled manifest is JSON");
    manifest["pages"]
        .as_array()
        .map(|pages| {
            pages
                .iter()
                .filter_map(|p| p["sha256"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_sample_parses() {
        let pages = parse_pages(SAMPLE_PAGES).unwrap();
        assert_eq!(pages.len(), expected_digests().len());
        assert!(pages.len() >= 32);
    }

    #[test]
    fn truncated_records_are_errors() {
        assert_eq!(parse_pages(&SAMPLE_PAGES[..5]), Err(SampleError { at: 0 }));
        let first_len = 12 + parse_pages(SAMPLE_PAGES).unwrap()[0].data.len();
        assert_eq!(
            parse_pages(&SAMPLE_PAGES[..first_len + 20]),
            Err(SampleError { at: first_len })
        );
    }
}
