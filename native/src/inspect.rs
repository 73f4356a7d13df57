//! `pageflate inspect` and `pageflate extract`: load a capture's files and report on it or
//! write its RAM blocks out.

use pageflate_core::capture::{Capture, CaptureKind};
use pageflate_core::migration::MainStream;
use pageflate_core::multifd::Packet;
use serde_json::{json, Value};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file of a capture, loaded (and zstd-decoded if it ends in `.zst`).
pub struct LoadedFile {
    /// Where it came from.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Why a capture could not be loaded or read.
#[derive(Debug)]
pub enum InspectError {
    /// A file could not be read.
    Io(PathBuf, std::io::Error),
    /// A `.zst` file is not valid zstd.
    Zstd(PathBuf, String),
    /// No stream files were found.
    Empty,
    /// The capture is malformed.
    Capture(pageflate_core::capture::CaptureError),
    /// A request about the capture cannot be answered (e.g. no such page).
    Request(String),
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InspectError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            InspectError::Zstd(p, e) => write!(f, "{} is not valid zstd: {e}", p.display()),
            InspectError::Empty => {
                f.write_str("no channel files given (pass the capture's files or its directory)")
            }
            InspectError::Capture(e) => write!(f, "malformed capture: {e}"),
            InspectError::Request(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for InspectError {}

/// Whether a directory entry is a channel stream (not a manifest or a RAM snapshot).
fn is_stream_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(name.ends_with(".json")
        || name.starts_with("ram.")
        || name.starts_with('.')
        || name.contains(".rev."))
}

/// Load the files of a capture: each path is a file or a directory of channel files.
pub fn load(paths: &[PathBuf]) -> Result<Vec<LoadedFile>, InspectError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| InspectError::Io(path.clone(), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_stream_file(p))
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(InspectError::Empty);
    }
    files.into_iter().map(read_file).collect()
}

fn read_file(path: PathBuf) -> Result<LoadedFile, InspectError> {
    let raw = std::fs::read(&path).map_err(|e| InspectError::Io(path.clone(), e))?;
    let bytes = if path.extension().is_some_and(|e| e == "zst") {
        let mut out = Vec::new();
        ruzstd::decoding::StreamingDecoder::new(raw.as_slice())
            .map_err(|e| InspectError::Zstd(path.clone(), e.to_string()))?
            .read_to_end(&mut out)
            .map_err(|e| InspectError::Zstd(path.clone(), e.to_string()))?;
        out
    } else {
        raw
    };
    Ok(LoadedFile { path, bytes })
}

/// Open the loaded files as a capture, keeping whatever is readable (problems become
/// the capture's anomalies).
pub fn open(files: &[LoadedFile]) -> Result<Capture<'_>, InspectError> {
    let refs: Vec<&[u8]> = files.iter().map(|f| f.bytes.as_slice()).collect();
    Capture::open_lenient(&refs, 4096).map_err(InspectError::Capture)
}

/// The QEMU releases whose multifd layout matches what the capture shows.
fn layout_guess(capture: &Capture<'_>) -> &'static str {
    let ram = || capture.channels.iter().flat_map(|c| &c.packets);
    if ram().any(|p| matches!(p, Packet::DeviceState(_))) {
        return "QEMU 10.0 or later (device-state packets)";
    }
    let method = capture.method();
    if method == Some(pageflate_core::multifd::Method::Qatzip) {
        return "QEMU 9.2 or later (qatzip)";
    }
    if matches!(
        method,
        Some(pageflate_core::multifd::Method::Qpl | pageflate_core::multifd::Method::Uadk)
    ) {
        return "QEMU 9.1 or later (qpl/uadk method bits)";
    }
    let zero_pages = ram().any(|p| matches!(p, Packet::Ram(r) if r.zero_pages > 0));
    if capture
        .main
        .config_subsections
        .iter()
        .any(|s| s.capabilities.contains(&"mapped-ram"))
    {
        "QEMU 9.0 or later (mapped-ram)"
    } else if zero_pages {
        "QEMU 9.0 or later (zero pages in multifd packets)"
    } else if capture.channels.is_empty() {
        "any QEMU with stream version 3"
    } else {
        "QEMU 7.2 or later"
    }
}

/// The inspection report as JSON.
pub fn report(capture: &Capture<'_>, files: &[LoadedFile]) -> Result<Value, InspectError> {
    let mut channels = Vec::new();
    let mut totals = json!({"packets": 0, "sync_packets": 0, "normal_pages": 0, "zero_pages": 0,
        "payload_bytes": 0, "raw_pages": 0, "deflate_pages": 0});
    for c in &capture.channels {
        let s = capture.channel_stats(c).map_err(InspectError::Capture)?;
        let mut blocks: Vec<&str> = c
            .packets
            .iter()
            .filter_map(|p| match p {
                Packet::Ram(r) if !r.block.is_empty() => Some(r.block),
                _ => None,
            })
            .collect();
        blocks.sort_unstable();
        blocks.dedup();
        let entry = json!({
            "channel": c.init.id,
            "file": files[c.file].path.display().to_string(),
            "bytes": c.stream.len(),
            "packets": s.packets, "sync_packets": s.sync_packets,
            "normal_pages": s.normal_pages, "zero_pages": s.zero_pages,
            "payload_bytes": s.payload_bytes, "raw_pages": s.raw_pages, "deflate_pages": s.deflate_pages,
            "packet_num_first": s.packet_num_range.map(|r| r.0),
            "packet_num_last": s.packet_num_range.map(|r| r.1),
            "ramblocks": blocks,
            "ratio": if s.normal_pages > 0 { s.payload_bytes as f64 / (s.normal_pages * 4096) as f64 } else { 0.0 },
        });
        for key in [
            "packets",
            "sync_packets",
            "normal_pages",
            "zero_pages",
            "payload_bytes",
            "raw_pages",
            "deflate_pages",
        ] {
            totals[key] =
                json!(totals[key].as_u64().unwrap_or(0) + entry[key].as_u64().unwrap_or(0));
        }
        channels.push(entry);
    }
    let m = &capture.main;
    let main_pages = m.pages.len();
    let blocks: Vec<Value> = m
        .blocks
        .iter()
        .map(|b| json!({"name": b.name, "used_length": b.used_length,
            "mapped_ram": b.mapped_ram.map(|h| json!({"bitmap_offset": h.bitmap_offset, "pages_offset": h.pages_offset}))}))
        .collect();
    let devices: Vec<Value> = m
        .device_sections()
        .map(|s| {
            json!({"idstr": s.idstr, "instance_id": s.instance_id, "version_id": s.version_id,
            "offset": s.range.start, "bytes": s.data.len()})
        })
        .collect();
    Ok(json!({
        "kind": match capture.kind { CaptureKind::Multifd => "multifd", CaptureKind::Plain => "plain", CaptureKind::MappedRam => "mapped-ram" },
        "method": capture.method().map(|m| m.name()),
        "machine": m.machine,
        "stream_version": 3,
        "channels": channels,
        "totals": totals,
        "main": {
            "bytes": capture.main_bytes.len(),
            "mem_size": m.mem_size,
            "pages_in_main_stream": main_pages,
            "ram_items": {"mem_size": m.ram_items.mem_size, "zero": m.ram_items.zero, "page": m.ram_items.page,
                "eos": m.ram_items.eos, "continue": m.ram_items.continued, "xbzrle": m.ram_items.xbzrle,
                "multifd_flush": m.ram_items.multifd_flush},
            "commands": m.commands.iter().map(|c| c.cmd).collect::<Vec<_>>(),
            "vmdesc": m.vmdesc.as_ref().map(|v| json!({"offset": v.at, "json_bytes": v.json.len(), "devices": v.devices.len()})),
        },
        "ramblocks": blocks,
        "device_sections": devices,
        "qemu_layout": layout_guess(capture),
        "anomalies": capture.anomalies.iter().map(|a| json!({
            "severity": format!("{:?}", a.severity).to_lowercase(),
            "channel": a.channel.map_or_else(|| json!("main"), |c| json!(c)),
            "offset": a.offset,
            "message": a.message,
        })).collect::<Vec<_>>(),
        "damaged": capture.is_damaged(),
    }))
}

/// The report as text for people.
pub fn render_text(r: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let _ = writeln!(
        out,
        "capture: {} migration, method {}, machine {}",
        text(&r["kind"]),
        text(&r["method"]),
        text(&r["machine"])
    );
    let _ = writeln!(
        out,
        "{:>8} {:>9} {:>6} {:>8} {:>8} {:>12} {:>6} {:>7}",
        "channel", "packets", "syncs", "normal", "zero", "payload", "raw", "ratio"
    );
    for c in r["channels"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{:>8} {:>9} {:>6} {:>8} {:>8} {:>12} {:>6} {:>7.3}",
            n(&c["channel"]),
            n(&c["packets"]),
            n(&c["sync_packets"]),
            n(&c["normal_pages"]),
            n(&c["zero_pages"]),
            n(&c["payload_bytes"]),
            n(&c["raw_pages"]),
            c["ratio"].as_f64().unwrap_or(0.0)
        );
    }
    let t = &r["totals"];
    let _ = writeln!(
        out,
        "{:>8} {:>9} {:>6} {:>8} {:>8} {:>12} {:>6}",
        "total",
        n(&t["packets"]),
        n(&t["sync_packets"]),
        n(&t["normal_pages"]),
        n(&t["zero_pages"]),
        n(&t["payload_bytes"]),
        n(&t["raw_pages"])
    );
    let _ = writeln!(
        out,
        "main channel: {} bytes, {} pages in the main stream, commands {}",
        n(&r["main"]["bytes"]),
        n(&r["main"]["pages_in_main_stream"]),
        r["main"]["commands"]
    );
    let _ = writeln!(out, "RAM blocks:");
    for b in r["ramblocks"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<28} {:>12} bytes",
            text(&b["name"]),
            n(&b["used_length"])
        );
    }
    let _ = writeln!(out, "layout: {}", text(&r["qemu_layout"]));
    let devices = r["device_sections"].as_array().map_or(0, |d| d.len());
    let _ = writeln!(
        out,
        "device sections: {devices} (VM description lists {})",
        n(&r["main"]["vmdesc"]["devices"])
    );
    let anomalies = r["anomalies"].as_array().cloned().unwrap_or_default();
    if anomalies.is_empty() {
        let _ = writeln!(out, "anomalies: none");
    }
    for a in anomalies {
        let where_ = match a["channel"].as_u64() {
            Some(c) => format!("multifd channel {c}"),
            None => "main channel".into(),
        };
        let _ = writeln!(
            out,
            "{}: {where_}, byte {}: {}",
            text(&a["severity"]),
            n(&a["offset"]),
            text(&a["message"])
        );
    }
    out
}

/// A RAM block name made safe as a file name (`/rom@etc/acpi/tables` → `rom@etc_acpi_tables`).
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

/// Largest guest RAM `extract` rebuilds in memory (a hostile stream may announce any size).
pub const MAX_EXTRACT_RAM: u64 = 64 << 30;

/// Write every RAM block, the device state and the VM description into `dir`.
pub fn extract(
    capture: &Capture<'_>,
    dir: &Path,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, data) in capture.reconstruct_ram(MAX_EXTRACT_RAM)? {
        let path = dir.join(format!("{}.bin", file_safe(&name)));
        std::fs::write(&path, data)?;
        written.push(path);
    }
    written.extend(write_device_state(&capture.main, capture.main_bytes, dir)?);
    Ok(written)
}

/// Write a main stream's device state into `dir`: `vmdesc.json`, `device-state/<id>.<instance>.bin`
/// per section, and `device-state.json` with the fields the VM description names.
pub fn write_device_state(
    main: &MainStream<'_>,
    main_bytes: &[u8],
    dir: &Path,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let mut written = Vec::new();
    if let Some(v) = &main.vmdesc {
        let path = dir.join("vmdesc.json");
        std::fs::write(&path, &main_bytes[v.json.clone()])?;
        written.push(path);
    }
    let state_dir = dir.join("device-state");
    std::fs::create_dir_all(&state_dir)?;
    let desc: Option<Value> = main
        .vmdesc
        .as_ref()
        .and_then(|v| serde_json::from_slice(&main_bytes[v.json.clone()]).ok());
    let described = desc.as_ref().and_then(|d| d["devices"].as_array());
    let mut named = serde_json::Map::new();
    for (i, s) in main.device_sections().enumerate() {
        let data = &main_bytes[s.data.clone()];
        let path = state_dir.join(format!("{}.{}.bin", file_safe(s.idstr), s.instance_id));
        std::fs::write(&path, data)?;
        written.push(path);
        // Fields named by the VM description, as analyze-migration.py shows them.
        if let Some(device) = described.and_then(|d| d.get(i)) {
            let value = match pageflate_core::migration::vmstate::split_fields(device, data) {
                Ok(fields) => Value::Object(
                    fields
                        .into_iter()
                        .map(|f| {
                            (
                                f.path,
                                json!({"type": f.kind, "hex": crate::demo::hex(&data[f.range])}),
                            )
                        })
                        .collect(),
                ),
                Err(e) => json!({"error": format!("byte {}: {}", e.offset, e.message)}),
            };
            named.insert(format!("{}.{}", s.idstr, s.instance_id), value);
        }
    }
    if !named.is_empty() {
        let path = dir.join("device-state.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&Value::Object(named))?)?;
        written.push(path);
    }
    Ok(written)
}

/// One page event of a capture (the inspector's numbering: `Capture::page_events` order):
/// its block, offset, where it came from, and the SHA-256 of its decoded bytes.
pub fn page_report(capture: &Capture<'_>, index: usize) -> Result<Value, InspectError> {
    let events = capture.page_events();
    let e = events.get(index).ok_or_else(|| {
        InspectError::Request(format!(
            "page {index}: the capture has {} pages (0..{})",
            events.len(),
            events.len().saturating_sub(1)
        ))
    })?;
    let page = capture
        .decode_page(&e.source)
        .map_err(|err| InspectError::Request(format!("page {index}: {err}")))?;
    let block = capture.main.blocks.get(e.block).map_or("?", |b| b.name);
    Ok(json!({
        "index": index, "block": block, "offset": e.offset,
        "source": format!("{:?}", e.source),
        "sha256": crate::demo::hex(&<sha2::Sha256 as sha2::Digest>::digest(&page)),
    }))
}
