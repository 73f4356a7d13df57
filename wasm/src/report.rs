//! Plain-Rust views of a capture as JSON (no JavaScript types), so native tests can
//! compute exactly what the browser shows and compare.

use pageflate_core::capture::{Capture, PageEvent, PageSource, Severity};
use pageflate_core::migration::vmstate::split_fields;
use pageflate_core::multifd::Packet;
use pageflate_core::trace::{trace_deflate, BlockType, TokenKind};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Method, kind, channels with statistics, page counts, ratio, blocks, anomalies count.
pub fn summary(c: &Capture<'_>) -> Value {
    let mut channels = Vec::new();
    let (mut normal, mut zero, mut raw, mut deflate, mut payload) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for ch in &c.channels {
        let s = c.channel_stats(ch).unwrap_or_default();
        normal += s.normal_pages;
        zero += s.zero_pages;
        raw += s.raw_pages;
        deflate += s.deflate_pages;
        payload += s.payload_bytes;
        channels.push(json!({
            "id": ch.init.id, "bytes": ch.stream.len(), "packets": s.packets,
            "sync_packets": s.sync_packets, "normal_pages": s.normal_pages,
            "zero_pages": s.zero_pages, "raw_pages": s.raw_pages,
            "deflate_pages": s.deflate_pages, "payload_bytes": s.payload_bytes,
        }));
    }
    let ps = c.page_size as u64;
    json!({
        "kind": format!("{:?}", c.kind),
        "method": c.method().map(|m| m.name()),
        "machine": c.main.machine,
        "page_size": c.page_size,
        "main_bytes": c.main_bytes.len(),
        "main_pages": c.main.pages.len(),
        "channels": channels,
        "normal_pages": normal, "zero_pages": zero, "raw_pages": raw, "deflate_pages": deflate,
        "payload_bytes": payload,
        "ratio": if normal > 0 { payload as f64 / (normal * ps) as f64 } else { 0.0 },
        "blocks": c.main.blocks.iter().map(|b| json!({"name": b.name, "bytes": b.used_length})).collect::<Vec<_>>(),
        "sections": c.main.sections.len(),
        "device_sections": c.main.device_sections().count(),
        "anomalies": c.anomalies.len(),
        "damaged": c.is_damaged(),
    })
}

/// One page event as JSON (index, block, offset, where its data is).
pub fn event_json(c: &Capture<'_>, index: usize, e: &PageEvent) -> Value {
    let block = c.main.blocks.get(e.block).map_or("?", |b| b.name);
    let wire = c.page_wire(&e.source);
    let (source, channel, packet) = match e.source {
        PageSource::Main { .. } => ("main".to_string(), Value::Null, Value::Null),
        PageSource::File { .. } => ("file".to_string(), Value::Null, Value::Null),
        PageSource::Multifd {
            channel, packet, ..
        } => (
            "multifd".into(),
            json!(c.channels[channel].init.id),
            json!(packet),
        ),
        PageSource::MultifdZero { channel, packet } => (
            "zero".into(),
            json!(c.channels[channel].init.id),
            json!(packet),
        ),
    };
    json!({
        "index": index, "block": block, "offset": e.offset, "source": source,
        "channel": channel, "packet": packet,
        "wire_bytes": wire.map(|w| w.bytes.len()), "wire_at": wire.map(|w| w.at),
        "deflate": wire.is_some_and(|w| w.deflate),
    })
}

/// The packets of channel `channel` (index), `start..start + count`.
pub fn packets(c: &Capture<'_>, channel: usize, start: usize, count: usize) -> Value {
    let Some(ch) = c.channels.get(channel) else {
        return json!([]);
    };
    ch.packets
        .iter()
        .enumerate()
        .skip(start)
        .take(count)
        .map(|(i, p)| match p {
            Packet::Ram(r) => json!({
                "index": i, "at": r.at, "kind": if r.is_sync() { "sync" } else { "ram" },
                "packet_num": r.packet_num, "block": r.block, "method": r.method().name(),
                "normal_pages": r.normal_pages, "zero_pages": r.zero_pages,
                "payload_bytes": r.payload.len(), "wire_bytes": p.wire_len(c.page_size),
            }),
            Packet::DeviceState(d) => json!({
                "index": i, "at": d.at, "kind": "device-state", "idstr": d.idstr,
                "payload_bytes": d.payload.len(), "wire_bytes": p.wire_len(c.page_size),
            }),
        })
        .collect()
}

/// Main-stream sections, with device state fields named by the VM description.
pub fn sections(c: &Capture<'_>) -> Value {
    let desc: Option<Value> = c
        .main
        .vmdesc
        .as_ref()
        .and_then(|v| serde_json::from_slice(&c.main_bytes[v.json.clone()]).ok());
    let described = desc.as_ref().and_then(|d| d["devices"].as_array());
    let mut device_index = 0;
    c.main
        .sections
        .iter()
        .map(|s| {
            let data = &c.main_bytes[s.data.clone()];
            let mut v = json!({
                "kind": format!("{:?}", s.kind), "id": s.id, "idstr": s.idstr,
                "instance": s.instance_id, "version": s.version_id,
                "at": s.range.start, "bytes": s.range.len(),
            });
            if s.kind == pageflate_core::migration::SectionKind::Full {
                if let Some(device) = described.and_then(|d| d.get(device_index)) {
                    v["fields"] = match split_fields(device, data) {
                        Ok(fields) => fields
                            .into_iter()
                            .take(200)
                            .map(|f| json!({"path": f.path, "type": f.kind, "hex": hex(&data[f.range])}))
                            .collect(),
                        Err(e) => json!([{"path": "(error)", "type": "", "hex": format!("byte {}: {}", e.offset, e.message)}]),
                    };
                }
                device_index += 1;
            }
            v
        })
        .collect()
}

/// Anomalies as JSON.
pub fn anomalies(c: &Capture<'_>) -> Value {
    c.anomalies
        .iter()
        .map(|a| {
            json!({
                "severity": match a.severity { Severity::Error => "error", _ => "warning" },
                "channel": a.channel, "offset": a.offset, "message": a.message,
            })
        })
        .collect()
}

/// The deflate structure of a page's wire bytes (blocks, code lengths, tokens).
pub fn page_trace(data: &[u8], page_size: usize) -> Value {
    match trace_deflate(data, page_size) {
        Ok(t) => json!({
            "bits_used": t.bits_used,
            "blocks": t.blocks.iter().map(|b| json!({
                "type": match b.kind { BlockType::Stored => "stored", BlockType::Fixed => "fixed", BlockType::Dynamic => "dynamic" },
                "final": b.is_final, "header_bits": [b.header_bits.start, b.header_bits.end],
                "litlen_lengths": b.litlen_lengths, "dist_lengths": b.dist_lengths,
                "first_token": b.first_token, "token_count": b.token_count,
            })).collect::<Vec<_>>(),
            "tokens": t.tokens.iter().map(|k| {
                let (kind, a, b) = match k.kind {
                    TokenKind::Literal(x) => ("lit", u32::from(x), 0),
                    TokenKind::Match { length, distance } => ("match", u32::from(length), u32::from(distance)),
                    TokenKind::Stored { length } => ("stored", u32::from(length), 0),
                    TokenKind::EndOfBlock => ("eob", 0, 0),
                };
                json!([kind, a, b, k.bits.start, k.bits.end, k.output.start, k.output.end])
            }).collect::<Vec<_>>(),
        }),
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// Decodes pages, keeping the last decoded packet (pages are listed packet by packet, so
/// walking them in order decodes each packet once).
#[derive(Default)]
pub struct PageDecoder {
    last: Option<((usize, usize), Vec<u8>)>,
}

impl PageDecoder {
    /// The decoded bytes of a page event.
    pub fn decode(&mut self, c: &Capture<'_>, e: &PageEvent) -> Result<Vec<u8>, String> {
        let ps = c.page_size;
        if let PageSource::Multifd {
            channel,
            packet,
            page,
        } = e.source
        {
            if self
                .last
                .as_ref()
                .is_none_or(|(k, _)| *k != (channel, packet))
            {
                let pages = c
                    .decode_packet(channel, packet)
                    .map_err(|e| e.to_string())?;
                self.last = Some(((channel, packet), pages));
            }
            let (_, pages) = self.last.as_ref().ok_or("no packet")?;
            return pages
                .get(page * ps..(page + 1) * ps)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "page beyond its packet".to_string());
        }
        c.decode_page(&e.source).map_err(|e| e.to_string())
    }
}

/// SHA-256 of each page event's decoded bytes (in event order; pages that fail to decode
/// give "error"), and one SHA-256 over all decoded pages.
pub fn page_digests(c: &Capture<'_>) -> (Vec<String>, String) {
    let mut all = Sha256::new();
    let mut dec = PageDecoder::default();
    let digests = c
        .page_events()
        .iter()
        .map(|e| match dec.decode(c, e) {
            Ok(page) => {
                all.update(&page);
                hex(&Sha256::digest(&page))
            }
            Err(_) => "error".to_string(),
        })
        .collect();
    (digests, hex(&all.finalize()))
}
