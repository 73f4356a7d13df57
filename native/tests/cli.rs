//! The `pageflate` binary on the real captures: `inspect --json` totals equal each
//! manifest's, `extract` writes pc.ram equal to the snapshot outside the VGA window, and a
//! corrupted capture makes inspect fail with a message that names the channel and byte.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn shared() -> PathBuf {
    let dir = std::env::var_os("PAGEFLATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("captures").is_dir(),
        "shared data missing at {}",
        dir.display()
    );
    dir
}

fn pageflate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pageflate"))
        .args(args)
        .output()
        .expect("run pageflate")
}

#[test]
fn inspect_json_totals_equal_every_manifest() {
    for entry in std::fs::read_dir(shared().join("captures")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("manifest.json").exists() {
            continue;
        }
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let out = pageflate(&["inspect", "--json", dir.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let totals = &manifest["stats"]["totals"];
        if manifest["channels"].as_u64() == Some(2) && r["kind"] == "multifd" {
            for key in ["packets", "sync_packets", "normal_pages", "zero_pages"] {
                assert_eq!(r["totals"][key], totals[key], "{}: {key}", dir.display());
            }
            if let Some(raw) = totals.get("qpl_raw_pages") {
                assert_eq!(&r["totals"]["raw_pages"], raw);
                assert_eq!(&r["totals"]["deflate_pages"], &totals["qpl_deflate_pages"]);
            }
            assert_eq!(r["method"], manifest["method"]);
        }
        assert_eq!(r["main"]["vmdesc"]["devices"], 32);
        assert_eq!(r["damaged"], false, "{}", dir.display());
        let live = dir.ends_with("qpl-2ch-live");
        let infos = r["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["severity"] == "info")
            .count();
        assert_eq!(
            infos,
            usize::from(live),
            "{}: re-sent pages reported only for the live capture",
            dir.display()
        );
        assert_eq!(r["device_sections"].as_array().unwrap().len(), 32);
    }
}

#[test]
fn extract_writes_the_guest_ram_of_every_capture() {
    for entry in std::fs::read_dir(shared().join("captures")).unwrap() {
        let capture = entry.unwrap().path();
        if !capture.join("manifest.json").exists() {
            continue;
        }
        let out_dir =
            std::env::temp_dir().join(format!("pageflate-extract-{}", std::process::id()));
        let out = pageflate(&[
            "extract",
            capture.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}: {}",
            capture.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let pc_ram = std::fs::read(out_dir.join("pc.ram.bin")).unwrap();
        let mut snapshot = Vec::new();
        let f = std::fs::File::open(capture.join("ram.bin.zst")).unwrap();
        std::io::Read::read_to_end(
            &mut ruzstd::decoding::StreamingDecoder::new(f).unwrap(),
            &mut snapshot,
        )
        .unwrap();
        assert_eq!(pc_ram.len(), snapshot.len());
        for (i, (a, b)) in pc_ram.chunks(4096).zip(snapshot.chunks(4096)).enumerate() {
            // The manifest's known exception: pmemsave reads the VGA window there.
            assert!(
                a == b || (0xA0000..0xC0000).contains(&(i * 4096)),
                "{}: page 0x{:x}",
                capture.display(),
                i * 4096
            );
        }
        for block in ["vga.vram", "pc.bios", "rom@etc_acpi_tables"] {
            assert!(out_dir.read_dir().unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(block)));
        }
        assert!(out_dir.join("vmdesc.json").exists());
        let named: Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("device-state.json")).unwrap())
                .unwrap();
        assert_eq!(named.as_object().unwrap().len(), 32);
        assert_eq!(
            named["timer.0"]["timer.cpu_ticks_offset"]["hex"]
                .as_str()
                .unwrap()
                .len(),
            16
        );
        std::fs::remove_dir_all(&out_dir).ok();
    }
}

#[test]
fn corrupted_capture_fails_with_channel_and_offset() {
    let capture = shared().join("captures/qpl-2ch");
    let tmp = std::env::temp_dir().join(format!("pageflate-bad-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = pageflate(&[
        "extract",
        capture.to_str().unwrap(),
        "-o",
        tmp.join("x").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    // Rebuild raw channel files and flip a byte inside the second packet's header flags.
    for name in ["conn-0", "conn-1", "conn-2"] {
        let f = std::fs::File::open(capture.join(format!("{name}.bin.zst"))).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut ruzstd::decoding::StreamingDecoder::new(f).unwrap(),
            &mut bytes,
        )
        .unwrap();
        if name == "conn-2" {
            // Set an undefined bit in the flags of the channel's third packet.
            let at = pageflate::core::multifd::PacketReader::new(&bytes, 64, 4096)
                .nth(2)
                .unwrap()
                .unwrap()
                .at() as usize;
            bytes[at + 10] ^= 0x80;
        }
        std::fs::write(tmp.join(format!("{name}.bin")), bytes).unwrap();
    }
    std::fs::remove_dir_all(tmp.join("x")).ok();
    let out = pageflate(&["inspect", tmp.to_str().unwrap()]);
    assert!(!out.status.success());
    // Everything readable is still reported, then the anomaly with channel and byte.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("method qpl") && text.contains("RAM blocks:"),
        "{text}"
    );
    assert!(
        text.contains("error: multifd channel 1, byte") && text.contains("flags"),
        "{text}"
    );
    let json = pageflate(&["inspect", "--json", tmp.to_str().unwrap()]);
    assert!(!json.status.success());
    let r: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(r["damaged"], true);
    assert_eq!(r["anomalies"][0]["channel"], 1);
    std::fs::remove_dir_all(&tmp).ok();
}
