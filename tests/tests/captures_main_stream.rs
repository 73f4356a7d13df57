//! The main-stream parser against every real capture's main channel (and the mapped-ram
//! file): machine, RAM item counts, block list, commands, configuration subsections,
//! mapped-ram headers and bitmaps, and the VM description equal the manifest's; the device
//! sections found match the VM description's device list one for one.

use pageflate_conformance::shared;
use pageflate_core::migration::{parse_main_stream, MainPageData};
use serde_json::{json, Value};

#[test]
fn every_main_channel_matches_its_manifest() {
    let mut checked = 0;
    for capture in shared::captures() {
        let dir = shared::dir().join("captures").join(&capture);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        let file = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["channel"] == "main")
            .unwrap();
        let stream = shared::read_zst(&format!(
            "captures/{capture}/{}",
            file["file"].as_str().unwrap()
        ));
        let m = parse_main_stream(&stream, 4096).unwrap_or_else(|e| panic!("{capture}: {e}"));
        let want = &file["stats"];
        let n = m.ram_items;
        let mut entries = serde_json::Map::new();
        for (k, v) in [
            ("mem_size", n.mem_size),
            ("zero", n.zero),
            ("page", n.page),
            ("eos", n.eos),
            ("continue", n.continued),
            ("xbzrle", n.xbzrle),
            ("multifd_flush", n.multifd_flush),
        ] {
            if v > 0 {
                entries.insert(k.into(), v.into());
            }
        }
        assert_eq!(
            Value::Object(entries),
            want["ram_entries"],
            "{capture}: ram_entries"
        );
        assert_eq!(json!(m.machine), want["machine"], "{capture}");
        assert_eq!(json!(m.mem_size), want["mem_size"], "{capture}");
        let pages = m
            .pages
            .iter()
            .filter(|p| matches!(p.data, MainPageData::Page(_)))
            .count();
        let zeros = m
            .pages
            .iter()
            .filter(|p| matches!(p.data, MainPageData::Fill(_)))
            .count();
        assert_eq!(json!(pages), want["pages_page"], "{capture}");
        assert_eq!(json!(zeros), want["pages_zero"], "{capture}");
        let blocks: serde_json::Map<String, Value> = m
            .blocks
            .iter()
            .map(|b| (b.name.to_string(), json!(b.used_length)))
            .collect();
        assert_eq!(Value::Object(blocks), want["blocks"], "{capture}: blocks");
        let commands: Vec<u16> = m.commands.iter().map(|c| c.cmd).collect();
        assert_eq!(json!(commands), want["commands"], "{capture}");
        let subs: Vec<Value> = m
            .config_subsections
            .iter()
            .map(|s| json!({"name": s.name, "capabilities": s.capabilities}))
            .collect();
        assert_eq!(json!(subs), want["config_subsections"], "{capture}");
        let vd = m.vmdesc.as_ref().expect("vmdesc");
        assert_eq!(json!(vd.at), want["vmdesc"]["offset"], "{capture}");
        assert_eq!(
            json!(vd.json.len()),
            want["vmdesc"]["json_bytes"],
            "{capture}"
        );
        assert_eq!(
            json!(vd.page_size),
            want["vmdesc"]["page_size"],
            "{capture}"
        );
        assert_eq!(
            json!(vd.devices.len()),
            want["vmdesc"]["devices"],
            "{capture}"
        );
        assert_eq!(
            m.eof_at.map(|e| e + 1),
            Some(vd.at),
            "{capture}: EOF byte right before vmdesc"
        );
        // Device sections found by footer: one per VM description device, same names, same order.
        let found: Vec<(String, u64)> = m
            .device_sections()
            .map(|s| (s.idstr.to_string(), u64::from(s.instance_id)))
            .collect();
        assert_eq!(
            found, vd.devices,
            "{capture}: device sections vs VM description"
        );
        if let Some(mr) = want.get("mapped_ram") {
            for b in &m.blocks {
                let h = b.mapped_ram.expect("mapped-ram header");
                let w = &mr[b.name];
                assert_eq!(json!(h.version), w["version"]);
                assert_eq!(json!(h.bitmap_offset), w["bitmap_offset"]);
                assert_eq!(json!(h.pages_offset), w["pages_offset"]);
                let bits = (b.used_length / 4096) as usize;
                let bitmap =
                    &stream[h.bitmap_offset as usize..h.bitmap_offset as usize + bits.div_ceil(8)];
                let set: u32 = (0..bits)
                    .map(|i| u32::from(bitmap[i / 8] >> (i % 8) & 1))
                    .sum();
                assert_eq!(json!(set), w["bitmap_set_pages"], "{capture}: {}", b.name);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 7);
}
