//! `pageflate bench`: pageflate against its peers, measured in the same run, on the
//! non-zero 4 KiB pages of a guest-memory corpus, each page compressed on its own.
//!
//! Compress: ratio (compressed / original, a page that does not fit below 4 KiB counted as
//! 4096 — QEMU sends it raw) and MB/s of input, for pageflate fast and dense, miniz_oxide
//! level 1 (state reused), libdeflate level 1, zlib-rs level 1 with a 4 KiB window, ISA-L
//! levels 0 and 1 with a 4 KiB window (when built with ISA-L, see [`isal_status`]), Intel
//! QPL's software path in QEMU's mode (fixed Huffman) and with dynamic Huffman (when built
//! with QPL, see [`qpl_status`]), and zstd level 1 (context reused) — not deflate, a
//! reference for ratio and speed.
//! Decompress: MB/s of output for every decoder on two page sets — pageflate fast output, and
//! the QPL-format pages of a real QEMU qpl capture when one is given. Also the zero-page scan
//! and memcpy, and optionally the end-to-end send → recv rate with 1 and 2 channels.
//! Every figure is the median of `runs` rounds; the codecs of a round run back to back, so
//! machine drift hits all of them alike. The codec measurements run pinned to one CPU
//! (Linux); send → recv afterwards uses every core.

use crate::cpu::{decompress_page, DecoderBuild};
use crate::multifd::zero::is_zero;
use pageflate_core::deflate::{Compressor, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::{Decompressor, InflateOptions};
use serde_json::{json, Value};
use std::time::Instant;

#[cfg(pageflate_isal)]
mod isal;
#[cfg(pageflate_qpl)]
mod qpl;
mod vector_state;

const PAGE: usize = 4096;

/// Whether this build measures ISA-L, and if not, why: `Ok(())` when built in (the C shim
/// and `libisal` linked by `build.rs`), else the reason `build.rs` recorded.
pub fn isal_status() -> Result<(), &'static str> {
    match option_env!("PAGEFLATE_ISAL_MISSING") {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Whether this build measures Intel QPL, and if not, why: `Ok(version)` when built in
/// (the C shim and Debian's `libqpl.a` linked by `build.rs`, see `scripts/fetch-qpl.sh`),
/// else the reason `build.rs` recorded.
pub fn qpl_status() -> Result<String, &'static str> {
    #[cfg(pageflate_qpl)]
    return Ok(qpl::version());
    #[cfg(not(pageflate_qpl))]
    Err(option_env!("PAGEFLATE_QPL_MISSING").unwrap_or("not built in"))
}

/// The CPU the figures come from, as Linux describes it: model name, vendor, family and
/// model (`/proc/cpuinfo`'s first processor), e.g. "AMD EPYC (AuthenticAMD family 26 model
/// 2)". Peers do not all speed up alike from one CPU generation to the next, so a figure
/// means little without it. `None` where `/proc/cpuinfo` cannot be read.
pub fn cpu_description() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let first = info.split("\n\n").next()?;
    let field = |key: &str| {
        first.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let name = field("model name")?;
    Some(
        match (field("vendor_id"), field("cpu family"), field("model")) {
            (Some(vendor), Some(family), Some(model)) => {
                format!("{name} ({vendor} family {family} model {model})")
            }
            _ => name,
        },
    )
}

/// A page compressor under test.
trait Codec {
    fn name(&self) -> &'static str;
    /// Compress `page` into `out`; `None` when it does not fit below a page.
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize>;
}

/// A page decoder under test: `data` must decode to exactly one page.
trait Decoder {
    fn name(&self) -> &'static str;
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool;
}

struct Pageflate(Compressor, &'static str);

impl Codec for Pageflate {
    fn name(&self) -> &'static str {
        self.1
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        match compress_page(&mut self.0, page, out) {
            PageEncoding::Compressed(n) => Some(n),
            PageEncoding::Raw => None,
        }
    }
}

#[cfg(pageflate_isal)]
struct Isal(isal::IsalDeflate, &'static str);

#[cfg(pageflate_isal)]
impl Codec for Isal {
    fn name(&self) -> &'static str {
        self.1
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        self.0.compress(page, &mut out[..PAGE - 1])
    }
}

#[cfg(pageflate_isal)]
struct IsalDec(isal::IsalInflate);

#[cfg(pageflate_isal)]
impl Decoder for IsalDec {
    fn name(&self) -> &'static str {
        "ISA-L"
    }
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        self.0.decode(data, out)
    }
}

/// What [`qpl_interop`] checked: pages in each direction, and how many of them were sent
/// raw instead (did not fit below a page, so there was nothing to decode).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct QplInterop {
    /// QPL (QEMU's mode: fixed Huffman) compressed, pageflate decoded.
    pub qpl_fixed_to_pageflate: usize,
    /// QPL with dynamic Huffman compressed, pageflate decoded.
    pub qpl_dynamic_to_pageflate: usize,
    /// pageflate's fast level compressed, QPL decoded (what a QEMU destination runs).
    pub pageflate_fast_to_qpl: usize,
    /// pageflate's dense level compressed, QPL decoded.
    pub pageflate_dense_to_qpl: usize,
    /// Pages a codec sent raw, over all four directions.
    pub raw: usize,
}

/// Check that Intel QPL's software path and pageflate read each other's pages: every
/// page of `pages` compressed by QPL (fixed and dynamic Huffman) decodes with pageflate to
/// the same bytes, and every page pageflate compresses (fast and dense) decodes with QPL's
/// own decoder — the one QEMU's qpl receiver calls — to the same bytes. `Err` names the
/// first page and direction that failed, or why QPL is not built in.
pub fn qpl_interop(pages: &[&[u8]]) -> Result<QplInterop, String> {
    #[cfg(not(pageflate_qpl))]
    {
        let _ = pages;
        Err(format!(
            "Intel QPL {}",
            qpl_status().err().unwrap_or("not built in")
        ))
    }
    #[cfg(pageflate_qpl)]
    {
        let no_job = || "Intel QPL could not set up a job".to_string();
        let mut job = qpl::QplJob::new().ok_or_else(no_job)?;
        let mut ours = Decompressor::new();
        let mut levels = [Compressor::new(Level::Fast), Compressor::new(Level::Dense)];
        let (mut packed, mut page) = (vec![0u8; PAGE], vec![0u8; PAGE]);
        let mut seen = QplInterop::default();
        for (n, original) in pages.iter().enumerate() {
            if original.len() != PAGE {
                return Err(format!("page {n} is {} bytes, not {PAGE}", original.len()));
            }
            for dynamic in [false, true] {
                let Some(len) = job.compress(original, &mut packed[..PAGE - 1], dynamic) else {
                    seen.raw += 1;
                    continue;
                };
                let decoded = decompress_page(
                    &mut ours,
                    &packed[..len],
                    &mut page,
                    InflateOptions::STANDARD,
                );
                if decoded.is_err() || page != *original {
                    return Err(format!(
                        "page {n}: QPL's {} output does not decode to the page with pageflate ({decoded:?})",
                        if dynamic { "dynamic" } else { "fixed" }
                    ));
                }
                if dynamic {
                    seen.qpl_dynamic_to_pageflate += 1;
                } else {
                    seen.qpl_fixed_to_pageflate += 1;
                }
            }
            for (level, c) in levels.iter_mut().enumerate() {
                let PageEncoding::Compressed(len) = compress_page(c, original, &mut packed) else {
                    seen.raw += 1;
                    continue;
                };
                if !job.decode(&packed[..len], &mut page) || page != *original {
                    return Err(format!(
                        "page {n}: pageflate's {} output does not decode to the page with QPL",
                        if level == 0 { "fast" } else { "dense" }
                    ));
                }
                if level == 0 {
                    seen.pageflate_fast_to_qpl += 1;
                } else {
                    seen.pageflate_dense_to_qpl += 1;
                }
            }
        }
        Ok(seen)
    }
}

/// Intel QPL's software path with QEMU's job flags, fixed Huffman (what QEMU sends) or
/// dynamic.
#[cfg(pageflate_qpl)]
struct Qpl {
    job: qpl::QplJob,
    dynamic: bool,
}

#[cfg(pageflate_qpl)]
impl Codec for Qpl {
    fn name(&self) -> &'static str {
        if self.dynamic {
            "Intel QPL, dynamic Huffman"
        } else {
            "Intel QPL, QEMU's mode (fixed Huffman)"
        }
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        // QEMU's multifd-qpl.c gives the job room for page_size - 1 bytes.
        self.job.compress(page, &mut out[..PAGE - 1], self.dynamic)
    }
}

#[cfg(pageflate_qpl)]
struct QplDec(qpl::QplJob);

#[cfg(pageflate_qpl)]
impl Decoder for QplDec {
    fn name(&self) -> &'static str {
        "Intel QPL"
    }
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        self.0.decode(data, out)
    }
}

/// zstd level 1 with its context reused: not deflate (QEMU's zstd method sends it in its
/// own framing), measured as the reference the table gives for ratio and speed.
struct Zstd(zstd::bulk::Compressor<'static>);

impl Codec for Zstd {
    fn name(&self) -> &'static str {
        "zstd level 1 (not deflate)"
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        self.0.compress_to_buffer(page, &mut out[..PAGE - 1]).ok()
    }
}

struct Miniz(Box<miniz_oxide::deflate::core::CompressorOxide>);

impl Codec for Miniz {
    fn name(&self) -> &'static str {
        "miniz_oxide level 1"
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        use miniz_oxide::deflate::core::{compress, TDEFLFlush, TDEFLStatus};
        self.0.reset();
        let (status, _, n) = compress(&mut self.0, page, &mut out[..PAGE - 1], TDEFLFlush::Finish);
        (status == TDEFLStatus::Done).then_some(n)
    }
}

struct Libdeflate(libdeflater::Compressor);

impl Codec for Libdeflate {
    fn name(&self) -> &'static str {
        "libdeflate level 1"
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        self.0.deflate_compress(page, &mut out[..PAGE - 1]).ok()
    }
}

struct ZlibRs(flate2::Compress);

impl Codec for ZlibRs {
    fn name(&self) -> &'static str {
        "zlib-rs level 1 (4 KiB window)"
    }
    fn compress(&mut self, page: &[u8], out: &mut [u8]) -> Option<usize> {
        // zlib-rs 0.6.8's level-1 path panics when the output buffer runs out mid-block
        // ("buf.len() must fit in remaining()"), so it gets room for a whole stored page
        // and the page-size cap is applied afterwards.
        self.0.reset();
        match self.0.compress(page, out, flate2::FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) if (self.0.total_out() as usize) < PAGE => {
                Some(self.0.total_out() as usize)
            }
            _ => None,
        }
    }
}

struct PageflateDec(Decompressor);

impl Decoder for PageflateDec {
    fn name(&self) -> &'static str {
        "pageflate"
    }
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        decompress_page(&mut self.0, data, out, InflateOptions::STANDARD).is_ok()
    }
}

struct LibdeflateDec(libdeflater::Decompressor);

impl Decoder for LibdeflateDec {
    fn name(&self) -> &'static str {
        "libdeflate"
    }
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        self.0.deflate_decompress(data, out) == Ok(PAGE)
    }
}

struct MinizDec;

impl Decoder for MinizDec {
    fn name(&self) -> &'static str {
        "miniz_oxide"
    }
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        miniz_oxide::inflate::decompress_slice_iter_to_slice(
            out,
            std::iter::once(data),
            false,
            false,
        ) == Ok(PAGE)
    }
}

struct ZlibRsDec(flate2::Decompress);

impl Decoder for ZlibRsDec {
    fn name(&self) -> &'static str {
        "zlib-rs"
    }
    fn decode(&mut self, data: &[u8], out: &mut [u8]) -> bool {
        self.0.reset(false);
        matches!(
            self.0
                .decompress(data, out, flate2::FlushDecompress::Finish),
            Ok(flate2::Status::StreamEnd)
        ) && self.0.total_out() as usize == PAGE
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs.max(1e-12) / 1e6
}

/// The deflate pages of a captured QEMU qpl migration (`dir`: its channel files), as
/// QEMU's QPL produced them. The error names what could not be read.
pub fn capture_deflate_pages(dir: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    let files = crate::inspect::load(&[dir.to_path_buf()]).map_err(|e| e.to_string())?;
    let capture = crate::inspect::open(&files).map_err(|e| e.to_string())?;
    Ok(capture
        .page_events()
        .iter()
        .filter_map(|e| capture.page_wire(&e.source))
        .filter(|w| w.deflate)
        .map(|w| w.bytes.to_vec())
        .collect())
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Rounds (the median is reported; at least 5).
    pub runs: usize,
    /// Also measure send → recv over loopback TCP with 1 and 2 channels.
    pub end_to_end: bool,
}

/// Run the benchmark on `memory` (a guest-memory image) and, if given, the qpl pages of a
/// real capture. Returns the report as JSON.
pub fn run(
    memory: &[u8],
    qpl_pages: &[Vec<u8>],
    opts: &BenchOptions,
    progress: &dyn Fn(&str),
) -> Value {
    let runs = opts.runs.max(5);
    // Codec figures are single-core: pin to one CPU while they run (on a 2-core VM an
    // unpinned thread hops between cores and its figures spread by ±10 %).
    let pin = CpuPin::last_allowed();
    let pages: Vec<&[u8]> = memory.chunks_exact(PAGE).filter(|p| !is_zero(p)).collect();
    let input_bytes = pages.len() * PAGE;
    let mut codecs: Vec<Box<dyn Codec>> = vec![
        Box::new(Pageflate(Compressor::new(Level::Fast), "pageflate fast")),
        Box::new(Pageflate(Compressor::new(Level::Dense), "pageflate dense")),
        Box::new(Miniz(Box::new(
            miniz_oxide::deflate::core::CompressorOxide::new(
                miniz_oxide::deflate::core::create_comp_flags_from_zip_params(1, -15, 0),
            ),
        ))),
        Box::new(Libdeflate(libdeflater::Compressor::new(
            libdeflater::CompressionLvl::new(1).unwrap_or_default(),
        ))),
        Box::new(ZlibRs(flate2::Compress::new_with_window_bits(
            flate2::Compression::new(1),
            false,
            12,
        ))),
    ];
    #[cfg(pageflate_isal)]
    for (level, name) in [
        (0, "ISA-L level 0 (4 KiB window)"),
        (1, "ISA-L level 1 (4 KiB window)"),
    ] {
        if let Some(c) = isal::IsalDeflate::new(level) {
            codecs.push(Box::new(Isal(c, name)));
        }
    }
    #[cfg(pageflate_qpl)]
    for dynamic in [false, true] {
        if let Some(job) = qpl::QplJob::new() {
            codecs.push(Box::new(Qpl { job, dynamic }));
        }
    }
    if let Ok(z) = zstd::bulk::Compressor::new(1) {
        codecs.push(Box::new(Zstd(z)));
    }
    // Compress: sizes once, speeds per round.
    let mut out = vec![0u8; 2 * PAGE];
    let mut sizes = vec![0usize; codecs.len()];
    let mut fast_output: Vec<Vec<u8>> = Vec::new();
    for (i, c) in codecs.iter_mut().enumerate() {
        for p in &pages {
            match c.compress(p, &mut out) {
                Some(n) => {
                    sizes[i] += n;
                    if i == 0 {
                        fast_output.push(out[..n].to_vec());
                    }
                }
                None => {
                    sizes[i] += PAGE;
                    if i == 0 {
                        fast_output.push(p.to_vec());
                    }
                }
            }
        }
    }
    let mut times = vec![Vec::new(); codecs.len()];
    for round in 0..runs {
        progress(&format!("compress round {}/{runs}", round + 1));
        for (i, c) in codecs.iter_mut().enumerate() {
            vector_state::clear_upper_halves();
            let t = Instant::now();
            for p in &pages {
                std::hint::black_box(c.compress(p, &mut out));
            }
            times[i].push(mb_per_s(input_bytes, t.elapsed().as_secs_f64()));
        }
    }
    let compress: Vec<Value> = codecs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"codec": c.name(), "ratio": sizes[i] as f64 / input_bytes as f64,
                   "mb_per_s": median(times[i].clone())})
        })
        .collect();

    // Decompress the same page sets with every decoder.
    let mut decoders: Vec<Box<dyn Decoder>> = vec![
        Box::new(PageflateDec(Decompressor::new())),
        Box::new(LibdeflateDec(libdeflater::Decompressor::new())),
        Box::new(MinizDec),
        Box::new(ZlibRsDec(flate2::Decompress::new(false))),
    ];
    #[cfg(pageflate_isal)]
    if let Some(d) = isal::IsalInflate::new() {
        decoders.push(Box::new(IsalDec(d)));
    }
    #[cfg(pageflate_qpl)]
    if let Some(job) = qpl::QplJob::new() {
        decoders.push(Box::new(QplDec(job)));
    }
    let mut sets: Vec<(&str, Vec<&[u8]>)> = vec![(
        "pageflate fast output",
        fast_output
            .iter()
            .filter(|p| p.len() < PAGE)
            .map(|p| p.as_slice())
            .collect(),
    )];
    if !qpl_pages.is_empty() {
        sets.push((
            "QEMU qpl capture pages (QPL fixed Huffman)",
            qpl_pages
                .iter()
                .filter(|p| p.len() < PAGE)
                .map(|p| p.as_slice())
                .collect(),
        ));
    }
    let mut page = vec![0u8; PAGE];
    let mut decompress = Vec::new();
    for (set, data) in &sets {
        let mut t = vec![Vec::new(); decoders.len()];
        let mut ok = vec![true; decoders.len()];
        for round in 0..runs {
            progress(&format!("decompress {set} round {}/{runs}", round + 1));
            for (i, d) in decoders.iter_mut().enumerate() {
                vector_state::clear_upper_halves();
                let start = Instant::now();
                for p in data {
                    ok[i] &= d.decode(p, &mut page);
                }
                t[i].push(mb_per_s(data.len() * PAGE, start.elapsed().as_secs_f64()));
            }
        }
        for (i, d) in decoders.iter().enumerate() {
            decompress.push(
                json!({"pages": set, "count": data.len(), "decoder": d.name(),
                                   "mb_per_s": median(t[i].clone()), "all_decoded": ok[i]}),
            );
        }
    }

    // Zero-page scan and memcpy over the whole image.
    let mut scan = Vec::new();
    let mut copy = Vec::new();
    let mut dst = vec![0u8; memory.len()];
    for _ in 0..runs {
        vector_state::clear_upper_halves();
        let t = Instant::now();
        std::hint::black_box(memory.chunks_exact(PAGE).filter(|p| is_zero(p)).count());
        scan.push(mb_per_s(memory.len(), t.elapsed().as_secs_f64()));
        let t = Instant::now();
        dst.copy_from_slice(memory);
        std::hint::black_box(&dst);
        copy.push(mb_per_s(memory.len(), t.elapsed().as_secs_f64()));
    }
    let pinned_cpu = pin.as_ref().map(|p| p.cpu);
    drop(pin); // send → recv uses every core
    let mut report = json!({
        "pages": pages.len(),
        "runs": runs,
        "pinned_cpu": pinned_cpu,
        "decoder_build": DecoderBuild::detect().name(),
        "cpu": cpu_description(),
        "isal": match isal_status() {
            Ok(()) => "built in".to_string(),
            Err(why) => why.to_string(),
        },
        "qpl": match qpl_status() {
            Ok(version) => format!("built in ({version})"),
            Err(why) => why.to_string(),
        },
        "compress": compress,
        "decompress": decompress,
        "zero_scan_mb_per_s": median(scan),
        "memcpy_mb_per_s": median(copy),
    });
    if opts.end_to_end {
        report["end_to_end"] = end_to_end(memory, runs, progress);
    }
    report
}

/// Pins the calling thread to one CPU until dropped, then restores its affinity.
struct CpuPin {
    cpu: usize,
    #[cfg(target_os = "linux")]
    saved: libc::cpu_set_t,
}

impl CpuPin {
    /// Pin to the highest-numbered CPU the thread may run on (CPU 0 usually takes the
    /// most interrupts). `None` where affinity cannot be read or set.
    #[cfg(target_os = "linux")]
    fn last_allowed() -> Option<Self> {
        // SAFETY: cpu_set_t is plain data (all-zero is an empty set); sched_getaffinity and
        // sched_setaffinity get its size and only read/write within it; pid 0 = this thread.
        unsafe {
            let mut saved: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut saved) != 0 {
                return None;
            }
            let cpu = (0..libc::CPU_SETSIZE as usize)
                .rev()
                .find(|&c| libc::CPU_ISSET(c, &saved))?;
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            if libc::sched_setaffinity(0, size, &one) != 0 {
                return None;
            }
            Some(Self { cpu, saved })
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn last_allowed() -> Option<Self> {
        None
    }
}

#[cfg(target_os = "linux")]
impl Drop for CpuPin {
    fn drop(&mut self) {
        // SAFETY: restores the set read in `last_allowed`, of the size it was read with.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.saved);
        }
    }
}

/// send → recv over loopback TCP, qpl, 1 and 2 channels: MB/s of guest memory, median.
fn end_to_end(memory: &[u8], runs: usize, progress: &dyn Fn(&str)) -> Value {
    use crate::multifd::{loopback, RecvOptions, SendOptions};
    use crate::ram::{SourceBlock, SourceRam};
    let ram = match SourceRam::from_blocks(
        PAGE,
        vec![SourceBlock {
            name: "pc.ram".into(),
            data: std::sync::Arc::new(memory.to_vec()),
        }],
    ) {
        Ok(r) => r,
        Err(e) => return json!({"error": e.to_string()}),
    };
    let mut out = Vec::new();
    for channels in [1, 2] {
        let mut rates = Vec::new();
        for round in 0..runs {
            progress(&format!(
                "send → recv, {channels} channel(s), round {}/{runs}",
                round + 1
            ));
            let opts = SendOptions {
                channels,
                ..SendOptions::default()
            };
            let t = Instant::now();
            match loopback(
                &ram,
                &crate::transport::Endpoint::Tcp("127.0.0.1:0".into()),
                &opts,
                &RecvOptions::default(),
                &|_| {},
            ) {
                Ok(_) => rates.push(mb_per_s(memory.len(), t.elapsed().as_secs_f64())),
                Err(e) => return json!({"error": e}),
            }
        }
        out.push(json!({"channels": channels, "method": "qpl", "mb_per_s": median(rates)}));
    }
    Value::Array(out)
}

/// The report as text, with pageflate's ratio to each peer.
pub fn render(r: &Value) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let core = match r["pinned_cpu"].as_u64() {
        Some(cpu) => format!("one core: pinned to CPU {cpu}"),
        None => "one thread, not pinned".to_string(),
    };
    let _ = writeln!(
        o,
        "{} non-zero pages, median of {} rounds ({core})",
        r["pages"], r["runs"]
    );
    if let Some(cpu) = r["cpu"].as_str() {
        let _ = writeln!(o, "CPU: {cpu}");
    }
    let _ = writeln!(
        o,
        "\ncompress (each page on its own)            ratio      MB/s"
    );
    let rows = r["compress"].as_array().cloned().unwrap_or_default();
    for c in &rows {
        let _ = writeln!(
            o,
            "  {:<40} {:>6.4} {:>9.0}",
            c["codec"].as_str().unwrap_or(""),
            c["ratio"].as_f64().unwrap_or(0.0),
            c["mb_per_s"].as_f64().unwrap_or(0.0)
        );
    }
    let speed = |name: &str| {
        rows.iter()
            .find(|c| c["codec"] == name)
            .and_then(|c| c["mb_per_s"].as_f64())
            .unwrap_or(f64::NAN)
    };
    for ours in ["pageflate fast", "pageflate dense"] {
        let peers: Vec<String> = rows
            .iter()
            .filter(|c| !c["codec"].as_str().unwrap_or("").starts_with("pageflate"))
            .map(|c| {
                format!(
                    "{:.2}× {}",
                    speed(ours) / c["mb_per_s"].as_f64().unwrap_or(f64::NAN),
                    c["codec"].as_str().unwrap_or("")
                )
            })
            .collect();
        let _ = writeln!(o, "  {ours}: {}", peers.join(", "));
    }
    if let Some(why) = r["isal"].as_str().filter(|s| *s != "built in") {
        let _ = writeln!(o, "  ISA-L: {why}");
    }
    match r["qpl"].as_str() {
        Some(s) if s.starts_with("built in") => {
            let version = s.trim_start_matches("built in (").trim_end_matches(')');
            let _ = writeln!(
                o,
                "  (Intel QPL {version}, software path: what QEMU runs without an IAA device)"
            );
        }
        Some(why) => {
            let _ = writeln!(o, "  Intel QPL: {why}");
        }
        None => {}
    }
    let _ = writeln!(
        o,
        "\ndecompress                                        MB/s"
    );
    let _ = writeln!(
        o,
        "  (pageflate decoder build for this CPU: {})",
        r["decoder_build"].as_str().unwrap_or("?")
    );
    let dec = r["decompress"].as_array().cloned().unwrap_or_default();
    let mut last_set = String::new();
    for d in &dec {
        let set = d["pages"].as_str().unwrap_or("").to_string();
        if set != last_set {
            let _ = writeln!(o, "  {set} ({} pages):", d["count"]);
            last_set = set.clone();
        }
        let ours = dec
            .iter()
            .find(|x| x["pages"] == d["pages"] && x["decoder"] == "pageflate")
            .and_then(|x| x["mb_per_s"].as_f64())
            .unwrap_or(f64::NAN);
        let v = d["mb_per_s"].as_f64().unwrap_or(f64::NAN);
        let _ = writeln!(
            o,
            "    {:<20} {:>9.0}   pageflate {:.2}×{}",
            d["decoder"].as_str().unwrap_or(""),
            v,
            ours / v,
            if d["all_decoded"] == true {
                ""
            } else {
                "  (SOME PAGES FAILED)"
            }
        );
    }
    let _ = writeln!(
        o,
        "\nzero-page scan {:.0} MB/s, memcpy {:.0} MB/s",
        r["zero_scan_mb_per_s"].as_f64().unwrap_or(0.0),
        r["memcpy_mb_per_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(e) = r["end_to_end"].as_array() {
        for x in e {
            let _ = writeln!(
                o,
                "send → recv, loopback TCP, qpl, {} channel(s): {:.0} MB/s of guest memory",
                x["channels"],
                x["mb_per_s"].as_f64().unwrap_or(0.0)
            );
        }
    }
    o
}
