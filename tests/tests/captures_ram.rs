//! Every capture, opened from its files in any order, rebuilds the guest's RAM: pc.ram equals
//! the RAM snapshot on every page outside the VGA window (the manifest's known exception),
//! and the capture's per-channel statistics equal the manifest's.

use pageflate_conformance::shared;
use pageflate_core::capture::{Capture, CaptureKind};
use serde_json::Value;

const VGA: std::ops::Range<usize> = 0xA0000..0xC0000;

#[test]
fn every_capture_rebuilds_the_snapshot() {
    for name in shared::captures() {
        let dir = shared::dir().join("captures").join(&name);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        // Files in reverse accept order: the capture must not depend on it.
        let mut files: Vec<Vec<u8>> = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| shared::read_zst(&format!("captures/{name}/{}", f["file"].as_str().unwrap())))
            .collect();
        files.reverse();
        let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
        let capture = Capture::open(&refs, 4096).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected_kind = match name.as_str() {
            "plain-exec" => CaptureKind::Plain,
            "mapped-ram-2ch" => CaptureKind::MappedRam,
            _ => CaptureKind::Multifd,
        };
        assert_eq!(capture.kind, expected_kind, "{name}");
        assert_eq!(
            capture.channels.len() as u64,
            manifest["channels"].as_u64().unwrap()
                * u64::from(expected_kind == CaptureKind::Multifd)
        );
        for c in &capture.channels {
            let s = capture.channel_stats(c).unwrap();
            let want = manifest["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["channel"] == c.init.id)
                .unwrap();
            let w = &want["stats"];
            assert_eq!(s.packets, w["packets"].as_u64().unwrap(), "{name}");
            assert_eq!(
                s.normal_pages,
                w["normal_pages"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(s.zero_pages, w["zero_pages"].as_u64().unwrap(), "{name}");
        }
        let ram = capture
            .reconstruct_ram(1 << 30)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (_, pc_ram) = ram.iter().find(|(n, _)| n == "pc.ram").expect("pc.ram");
        let snapshot = shared::read_zst(&format!("captures/{name}/ram.bin.zst"));
        assert_eq!(pc_ram.len(), snapshot.len());
        let mut mismatched = 0;
        for (i, (a, b)) in pc_ram.chunks(4096).zip(snapshot.chunks(4096)).enumerate() {
            if a != b {
                assert!(
                    VGA.contains(&(i * 4096)),
                    "{name}: pc.ram page 0x{:x} differs",
                    i * 4096
                );
                mismatched += 1;
            }
        }
        assert_eq!(
            mismatched,
            manifest["ram_check"]["mismatch"].as_u64().unwrap(),
            "{name}"
        );
        eprintln!("{name}: {:?}, {} blocks, pc.ram matches the snapshot outside the VGA window ({mismatched} pages there)", capture.kind, ram.len());
    }
}
