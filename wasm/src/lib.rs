//! pageflate-wasm: the browser's face of pageflate-core (wasm-bindgen).
//!
//! Thin by design: every format decision lives in the core; this crate converts types and
//! turns the core's errors into JavaScript exceptions carrying the core's message.
//! [`CaptureView`] opens a captured migration (files as the browser hands them over, `.zst`
//! decoded here) and answers the inspector's questions lazily, one view at a time; JSON
//! answers come from [`report`], which native tests call too.

pub mod report;

use pageflate_core::capture::{Capture, PageEvent};
use pageflate_core::page::{decompress_page, PAGE_SIZE};
use pageflate_core::{Decompressor, InflateOptions};
use wasm_bindgen::prelude::*;

/// Decode one page as QEMU's qpl method sends it: `data.length == 4096` means the page is
/// raw; otherwise `data` is raw deflate that must decode to exactly 4096 bytes.
///
/// Throws an `Error` whose message names the failure and its bit or byte offset.
#[wasm_bindgen(js_name = decodePage)]
pub fn decode_page(data: &[u8]) -> Result<Vec<u8>, JsError> {
    let mut out = vec![0u8; PAGE_SIZE];
    decompress_page(
        &mut Decompressor::new(),
        data,
        &mut out,
        InflateOptions::STANDARD,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}

/// The page size pageflate decodes ([`PAGE_SIZE`]).
#[wasm_bindgen(js_name = pageSize)]
pub fn page_size() -> usize {
    PAGE_SIZE
}

/// Decode many qpl pages in one call: `data` holds the pages back to back, `lengths` their
/// sizes (4096 = raw). Returns the bytes decoded. For throughput measurements: the loop
/// runs entirely inside WebAssembly, as the native one runs in native code.
#[wasm_bindgen(js_name = decodeAll)]
pub fn decode_all(data: &[u8], lengths: &[u32]) -> Result<f64, JsError> {
    decode_all_native(data, lengths).map_err(|e| JsError::new(&e))
}

/// [`decode_all`] without JavaScript types (the native side of the comparison).
pub fn decode_all_native(data: &[u8], lengths: &[u32]) -> Result<f64, String> {
    let mut d = Decompressor::new();
    let mut out = [0u8; PAGE_SIZE];
    let mut at = 0usize;
    for (i, &n) in lengths.iter().enumerate() {
        let page = data
            .get(at..at + n as usize)
            .ok_or_else(|| format!("page {i}: data ends"))?;
        decompress_page(&mut d, page, &mut out, InflateOptions::STANDARD)
            .map_err(|e| format!("page {i}: {e}"))?;
        at += n as usize;
    }
    Ok((lengths.len() * PAGE_SIZE) as f64)
}

/// Decode a zstd file (captures are stored as `conn-K.bin.zst`).
pub fn unzstd(data: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut dec = ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    dec.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Every file of a directory as (name, bytes), sorted by name — how native tests and tools
/// hand a capture directory to [`CaptureView::open`] (in a browser there is no file
/// system: this returns the platform's error there).
pub fn read_dir_files(dir: &std::path::Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            files.push((name, std::fs::read(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

/// Channel file names and their (decoded) bytes.
pub type LoadedFiles = (Vec<String>, Vec<Box<[u8]>>);

/// Open `files` (name, bytes) as a capture: `.zst` files are decoded, other names that
/// are not channel files (manifest.json, ram.bin...) are skipped.
pub fn load_files(files: Vec<(String, Vec<u8>)>) -> Result<LoadedFiles, String> {
    let mut names = Vec::new();
    let mut data = Vec::new();
    for (name, bytes) in files {
        let base = name.rsplit('/').next().unwrap_or(&name).to_string();
        if base.starts_with("ram.bin") || base.ends_with(".json") || base.ends_with(".md") {
            continue;
        }
        let bytes = if base.ends_with(".zst") {
            unzstd(&bytes).map_err(|e| format!("{base}: zstd: {e}"))?
        } else {
            bytes
        };
        names.push(base);
        data.push(bytes.into_boxed_slice());
    }
    if data.is_empty() {
        return Err("no channel files (conn-K.bin or .bin.zst) among the files given".into());
    }
    Ok((names, data))
}

/// An opened capture.
#[wasm_bindgen]
pub struct CaptureView {
    /// Borrows `files`. Declared first, so it is dropped before them.
    capture: Capture<'static>,
    events: Vec<PageEvent>,
    decoder: report::PageDecoder,
    names: Vec<String>,
    /// The files' bytes: boxed slices never move, whatever happens to this struct.
    _files: Vec<Box<[u8]>>,
}

#[wasm_bindgen]
impl CaptureView {
    /// Open a capture from an array of `{name, data: Uint8Array}`. Each file's bytes are
    /// copied once into WebAssembly memory (decoded first if `.zst`). Damaged captures
    /// open, with their anomalies listed; only unusable ones throw.
    #[wasm_bindgen(constructor)]
    pub fn new(files: js_sys::Array) -> Result<CaptureView, JsError> {
        let mut list = Vec::new();
        for f in files.iter() {
            let name = js_sys::Reflect::get(&f, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            let data = js_sys::Reflect::get(&f, &"data".into())
                .map_err(|_| JsError::new("each file needs {name, data}"))?;
            list.push((name, js_sys::Uint8Array::new(&data).to_vec()));
        }
        Self::open(list).map_err(|e| JsError::new(&e))
    }

    /// The channel files' names, in the order given.
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Summary JSON: kind, method, channels, page counts, ratio, blocks.
    pub fn summary(&self) -> String {
        report::summary(&self.capture).to_string()
    }

    /// Number of page events.
    #[wasm_bindgen(js_name = pageCount)]
    pub fn page_count(&self) -> usize {
        self.events.len()
    }

    /// Page events `start .. start + count` as JSON.
    pub fn pages(&self, start: usize, count: usize) -> String {
        serde_json::Value::Array(
            self.events
                .iter()
                .enumerate()
                .skip(start)
                .take(count)
                .map(|(i, e)| report::event_json(&self.capture, i, e))
                .collect(),
        )
        .to_string()
    }

    /// Compressed sizes of every page with bytes of its own (for the histogram).
    #[wasm_bindgen(js_name = wireSizes)]
    pub fn wire_sizes(&self) -> Vec<u32> {
        self.events
            .iter()
            .filter_map(|e| self.capture.page_wire(&e.source))
            .map(|w| w.bytes.len() as u32)
            .collect()
    }

    /// Packets `start .. start + count` of channel index `channel` as JSON.
    pub fn packets(&self, channel: usize, start: usize, count: usize) -> String {
        report::packets(&self.capture, channel, start, count).to_string()
    }

    /// Main-stream sections (device fields named by the VM description) as JSON.
    pub fn sections(&self) -> String {
        report::sections(&self.capture).to_string()
    }

    /// Anomalies as JSON.
    pub fn anomalies(&self) -> String {
        report::anomalies(&self.capture).to_string()
    }

    /// The decoded bytes of page event `index`.
    #[wasm_bindgen(js_name = decodePage)]
    pub fn decode_page(&mut self, index: usize) -> Result<Vec<u8>, JsError> {
        let e = *self
            .events
            .get(index)
            .ok_or_else(|| JsError::new(&format!("no page {index}")))?;
        self.decoder
            .decode(&self.capture, &e)
            .map_err(|m| JsError::new(&m))
    }

    /// The page's own bytes on the wire (empty for zero pages and stream methods).
    #[wasm_bindgen(js_name = pageWire)]
    pub fn page_wire(&self, index: usize) -> Vec<u8> {
        self.events
            .get(index)
            .and_then(|e| self.capture.page_wire(&e.source))
            .map(|w| w.bytes.to_vec())
            .unwrap_or_default()
    }

    /// The deflate structure of a page as JSON (`{"error": ...}` if it is not deflate).
    #[wasm_bindgen(js_name = pageTrace)]
    pub fn page_trace(&self, index: usize) -> String {
        match self
            .events
            .get(index)
            .and_then(|e| self.capture.page_wire(&e.source))
        {
            Some(w) if w.deflate => report::page_trace(w.bytes, self.capture.page_size),
            _ => serde_json::json!({"error": "this page is not a deflate page"}),
        }
        .to_string()
    }

    /// A RAM block rebuilt from the whole capture (for export).
    #[wasm_bindgen(js_name = ramBlock)]
    pub fn ram_block(&self, name: &str) -> Result<Vec<u8>, JsError> {
        let ram = self
            .capture
            .reconstruct_ram(4 << 30)
            .map_err(|e| JsError::new(&e.to_string()))?;
        ram.into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
            .ok_or_else(|| JsError::new(&format!("no RAM block {name}")))
    }
}

impl CaptureView {
    /// Open from (name, bytes) pairs (native tests use this directly).
    pub fn open(files: Vec<(String, Vec<u8>)>) -> Result<CaptureView, String> {
        let (names, data) = load_files(files)?;
        // SAFETY: the slices point into `data`'s boxed slices, which are moved into the
        // struct below and never mutated or dropped before `capture` (field order); moving
        // the struct moves the boxes, not the bytes they own.
        let slices: Vec<&'static [u8]> = data
            .iter()
            .map(|b| unsafe { &*(b.as_ref() as *const [u8]) })
            .collect();
        let capture = Capture::open_lenient(&slices, PAGE_SIZE).map_err(|e| e.to_string())?;
        let events = capture.page_events();
        Ok(CaptureView {
            capture,
            events,
            decoder: report::PageDecoder::default(),
            names,
            _files: data,
        })
    }

    /// The capture (borrowing this view: nothing of it outlives the view).
    pub fn capture<'s>(&'s self) -> &'s Capture<'s> {
        &self.capture
    }

    /// What the bundled-capture tests compare across targets: the summary, the number of
    /// page events, the first 64 page digests and one digest over every decoded page.
    pub fn fingerprint(&self) -> serde_json::Value {
        let (digests, all) = report::page_digests(&self.capture);
        serde_json::json!({
            "summary": report::summary(&self.capture),
            "pages": digests.len(),
            "first_page_digests": digests.iter().take(64).collect::<Vec<_>>(),
            "all_pages_sha256": all,
        })
    }
}
