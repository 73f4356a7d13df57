//! The `pageflate` binary on the real captures: `inspect --json` totals equal each
//! manifest's, `extract` writes pc.ram equal to the snapshot outside the VGA window, and a
//! corrupted capture makes inspect fail with a message that names the channel and byte.

mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

use common::shared;

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

#[test]
fn demo_migrates_verifies_and_records_an_inspectable_capture() {
    let record = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-capture");
    let out = pageflate(&["demo", "--json", "--record", record.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["mismatched_pages"], 0);
    assert_eq!(r["sha256"]["source"], r["sha256"]["destination"]);
    assert_eq!(r["sender"], r["receiver"], "sender and receiver counters");
    assert_eq!(r["method"], "qpl");
    let inspect = pageflate(&["inspect", "--json", record.to_str().unwrap()]);
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let i: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(i["method"], "qpl", "{i}");
}

#[test]
fn send_and_recv_processes_migrate_an_image_directory_over_tcp() {
    // The image: the zstd-2ch capture's RAM blocks, extracted.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-send-recv");
    let _ = std::fs::remove_dir_all(&tmp);
    let image = tmp.join("image");
    let capture = shared().join("captures/zstd-2ch");
    let ex = pageflate(&[
        "extract",
        capture.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    assert!(
        ex.status.success(),
        "{}",
        String::from_utf8_lossy(&ex.stderr)
    );
    // Only the block images: send takes every *.bin of the directory.
    let _ = std::fs::remove_dir_all(image.join("device-state"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tmp.join("received");
    let mut recv = Command::new(env!("CARGO_BIN_EXE_pageflate"))
        .args([
            "recv",
            "--listen",
            &format!("tcp:127.0.0.1:{port}"),
            "--channels",
            "4",
        ])
        .args(["--json", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(recv.stderr.take().unwrap());
    // The first line that says it listens (other notes may come first).
    let mut line = String::new();
    while !line.contains("listening") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "recv ended"
        );
    }
    let sent = pageflate(&[
        "send",
        image.to_str().unwrap(),
        "--to",
        &format!("tcp:127.0.0.1:{port}"),
        "--channels",
        "4",
        "--method",
        "zlib",
        "--json",
    ]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let got = recv.wait_with_output().unwrap();
    assert!(got.status.success(), "recv failed");
    let r: Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(r["method"], "zlib");
    assert_eq!(r["channels"].as_array().unwrap().len(), 4);
    let mut blocks = 0;
    for entry in std::fs::read_dir(&image).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "bin") {
            let name = p.file_name().unwrap();
            assert!(
                std::fs::read(&p).unwrap() == std::fs::read(out.join(name)).unwrap(),
                "{name:?} differs after send → recv"
            );
            blocks += 1;
        }
    }
    assert!(blocks >= 5, "only {blocks} blocks");
}

#[test]
fn send_without_a_receiver_says_what_to_do() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let corpus = shared().join("corpus/guest-ram-a-64M.bin.zst");
    let out = pageflate(&[
        "send",
        corpus.to_str().unwrap(),
        "--to",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("main channel: cannot connect"), "{err}");
    assert!(err.contains("pageflate recv"), "{err}");
    let out = pageflate(&["send", "/nonexistent.img", "--to", "127.0.0.1:1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.img"));
}

#[test]
fn inspect_page_reports_the_digest_of_the_guest_page() {
    use sha2::{Digest, Sha256};
    let dir = shared().join("captures/zlib-2ch");
    let out = pageflate(&["inspect", dir.to_str().unwrap(), "--page", "5000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["block"], "pc.ram");
    let ram =
        zstd::stream::decode_all(std::fs::File::open(dir.join("ram.bin.zst")).unwrap()).unwrap();
    let at = r["offset"].as_u64().unwrap() as usize;
    let want: String = Sha256::digest(&ram[at..at + 4096])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(r["sha256"], want.as_str());
    let bad = pageflate(&["inspect", dir.to_str().unwrap(), "--page", "99999999"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("pages (0.."));
}

#[test]
fn iaa_commands_say_plainly_what_this_machine_has() {
    let list = pageflate(&["iaa", "list"]);
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("ENQCMD") && text.contains("cannot submit"),
        "{text}"
    );
    let selftest = pageflate(&["iaa", "selftest"]);
    assert_eq!(
        selftest.status.code(),
        Some(2),
        "no IAA here: selftest must fail"
    );
    assert!(String::from_utf8_lossy(&selftest.stderr).contains("no IAA"));
    let setup = pageflate(&["iaa", "setup", "--dry-run"]);
    assert_eq!(setup.status.code(), Some(2));
    // With the device model (tests and demos only) the self test and the demo run on "IAA".
    let model = Command::new(env!("CARGO_BIN_EXE_pageflate"))
        .args(["iaa", "selftest"])
        .env("PAGEFLATE_IAA_MODEL", "1")
        .output()
        .unwrap();
    assert!(
        model.status.success(),
        "{}",
        String::from_utf8_lossy(&model.stdout)
    );
    let record = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-iaa");
    let demo = Command::new(env!("CARGO_BIN_EXE_pageflate"))
        .args([
            "demo",
            "--json",
            "--engine",
            "iaa",
            "--record",
            record.to_str().unwrap(),
        ])
        .env("PAGEFLATE_IAA_MODEL", "2")
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let r: Value = serde_json::from_slice(&demo.stdout).unwrap();
    assert_eq!(r["verified"], true);
    assert!(r["iaa"]["hw_compressed"].as_u64().unwrap() > 1000, "{r}");
    assert!(r["iaa"]["hw_decompressed"].as_u64().unwrap() > 1000, "{r}");
    let no_iaa = pageflate(&[
        "demo",
        "--engine",
        "iaa",
        "--record",
        record.to_str().unwrap(),
    ]);
    assert_eq!(
        no_iaa.status.code(),
        Some(2),
        "--engine iaa without IAA is an error"
    );
}

#[test]
fn bench_measures_every_codec_and_decoder_in_one_run() {
    let ram = shared().join("captures/qpl-2ch/ram.bin.zst");
    let qpl = shared().join("captures/qpl-2ch");
    let out = pageflate(&[
        "bench",
        "--corpus",
        ram.to_str().unwrap(),
        "--qpl-capture",
        qpl.to_str().unwrap(),
        "--runs",
        "5",
        "--no-end-to-end",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["runs"], 5);
    // The figures name the CPU they come from (Linux: /proc/cpuinfo).
    #[cfg(target_os = "linux")]
    assert!(
        r["cpu"].as_str().is_some_and(|c| c.contains("family")),
        "{}",
        r["cpu"]
    );
    // ISA-L is a peer here, not an option: scripts/setup.sh installs libisal-dev, and a
    // build without it must not pass this test unnoticed.
    assert_eq!(
        r["isal"], "built in",
        "the ISA-L peer is missing: install libisal-dev (scripts/setup.sh does) and rebuild"
    );
    // So is Intel QPL, what QEMU runs: scripts/setup.sh fetches it (scripts/fetch-qpl.sh).
    assert!(
        r["qpl"].as_str().is_some_and(|s| s.starts_with("built in (")),
        "the Intel QPL peer is missing ({}): run scripts/fetch-qpl.sh (scripts/setup.sh does) and rebuild",
        r["qpl"]
    );
    let compress = r["compress"].as_array().unwrap();
    assert_eq!(
        compress.len(),
        10,
        "pageflate ×2, miniz_oxide, libdeflate, zlib-rs, ISA-L ×2, QPL ×2, zstd"
    );
    let ratio = |name: &str| {
        compress.iter().find(|c| c["codec"] == name).unwrap()["ratio"]
            .as_f64()
            .unwrap()
    };
    assert!(ratio("pageflate dense") < ratio("pageflate fast"));
    assert!(ratio("pageflate fast") < 0.6 && ratio("libdeflate level 1") < 0.6);
    // QEMU's mode is fixed Huffman; the dynamic row really builds codes.
    assert!(ratio("Intel QPL, dynamic Huffman") < ratio("Intel QPL, QEMU's mode (fixed Huffman)"));
    // Every peer compressed the pages (a peer that failed on all would count each as 4096).
    for c in compress {
        assert!(c["ratio"].as_f64().unwrap() < 0.6, "{c}");
    }
    let dec = r["decompress"].as_array().unwrap();
    assert_eq!(dec.len(), 12, "6 decoders × 2 page sets");
    for d in dec {
        assert_eq!(d["all_decoded"], true, "{d}");
        assert!(d["mb_per_s"].as_f64().unwrap() > 1.0);
    }
    assert!(r["zero_scan_mb_per_s"].as_f64().unwrap() > 100.0);
    assert_eq!(
        r["decoder_build"],
        pageflate::cpu::DecoderBuild::detect().name(),
        "the bench names the decoder build it measured"
    );
    // Pinned to a CPU this process may use (Linux), reported in the output.
    #[cfg(target_os = "linux")]
    {
        let cpu = r["pinned_cpu"]
            .as_u64()
            .expect("bench pins itself on Linux");
        assert!(cpu < std::thread::available_parallelism().map_or(1024, |n| n.get() as u64 * 64));
    }
}
