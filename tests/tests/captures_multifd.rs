//! The multifd parser against every real capture: each channel's init record names the
//! channel the manifest says, and the per-channel statistics computed from the parsed
//! packets equal the manifest's (packets, syncs, pages, payload bytes, methods, RAM
//! blocks, packet numbers, qpl raw/deflate pages). Missing captures fail the test.

use pageflate_conformance::shared;
use pageflate_core::multifd::{ChannelInit, Packet, PacketReader, QplPages, INIT_LEN};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn channel_stats(stream: &[u8]) -> (u8, Value) {
    let init = ChannelInit::parse(stream).expect("init record");
    let (mut packets, mut syncs, mut normal, mut zero, mut payload) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut raw, mut deflate) = (0u64, 0u64);
    let mut methods = BTreeSet::new();
    let mut blocks = BTreeSet::new();
    let (mut first, mut last) = (None, 0u64);
    for p in PacketReader::new(stream, INIT_LEN, 4096) {
        let Packet::Ram(p) = p.expect("packet parses") else {
            panic!("device state in a RAM capture")
        };
        packets += 1;
        syncs += u64::from(p.is_sync());
        normal += u64::from(p.normal_pages);
        zero += u64::from(p.zero_pages);
        payload += p.payload.len() as u64;
        methods.insert(p.method().name());
        if !p.block.is_empty() {
            blocks.insert(p.block.to_string());
        }
        first.get_or_insert(p.packet_num);
        last = p.packet_num;
        if p.method() == pageflate_core::multifd::Method::Qpl {
            for page in QplPages::parse(p).expect("qpl framing").iter() {
                if page.is_raw(4096) {
                    raw += 1;
                } else {
                    deflate += 1;
                }
            }
        }
    }
    let mut stats = json!({
        "packets": packets, "sync_packets": syncs, "normal_pages": normal, "zero_pages": zero,
        "payload_bytes": payload, "methods": methods, "ramblocks": blocks,
        "packet_num_first": first.unwrap_or(0), "packet_num_last": last,
    });
    if raw + deflate > 0 {
        stats["qpl_raw_pages"] = json!(raw);
        stats["qpl_deflate_pages"] = json!(deflate);
    }
    (init.id, stats)
}

#[test]
fn every_multifd_channel_matches_its_manifest() {
    let mut checked = 0;
    for capture in shared::captures() {
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(
                shared::dir()
                    .join("captures")
                    .join(&capture)
                    .join("manifest.json"),
            )
            .unwrap(),
        )
        .unwrap();
        for file in manifest["files"].as_array().unwrap() {
            if file["channel"] == "main" {
                continue;
            }
            let name = file["file"].as_str().unwrap();
            let stream = shared::read_zst(&format!("captures/{capture}/{name}"));
            assert_eq!(stream.len() as u64, file["bytes"].as_u64().unwrap());
            let (id, stats) = channel_stats(&stream);
            assert_eq!(
                Value::from(id),
                file["channel"],
                "{capture}/{name}: channel id"
            );
            let expected = &file["stats"];
            for (key, value) in stats.as_object().unwrap() {
                assert_eq!(value, &expected[key], "{capture}/{name}: {key}");
            }
            for key in ["packets", "normal_pages", "zero_pages", "payload_bytes"] {
                assert!(stats.get(key).is_some(), "{key} computed");
            }
            checked += 1;
        }
    }
    // none, zlib, zstd, qpl, qpl-live: two channels each.
    assert_eq!(checked, 10, "multifd channel files checked");
}
