//! A real QEMU 10.0.2 (Debian's qemu-system-x86 from bookworm-backports; `scripts/setup.sh`
//! installs it) boots the tiny guest of `../shared/guest/` and migrates it, multifd with 2
//! channels and methods none, zlib and zstd, into `pageflate recv`. QEMU must report
//! `completed`, and the RAM `recv` wrote must equal a `pmemsave` of the paused source,
//! except the VGA window (guest-physical 0xA0000–0xBFFFF shows VGA memory, not RAM).
//!
//! One guest serves all three migrations: after each, the source is resumed and paused
//! again (QEMU refuses to migrate a VM still paused by its previous migration), and a new
//! snapshot is taken.

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RAM_BYTES: usize = 40 << 20;
const VGA_WINDOW: std::ops::Range<usize> = 0xA0000..0xC0000;

fn shared() -> PathBuf {
    common::shared_with("guest/bzImage")
}

/// Kills the process when the test ends, however it ends.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    fn connect(path: &Path) -> Self {
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("QMP socket {}: {e}", path.display()),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut q = Qmp {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        q.reply(); // greeting
        q.run("qmp_capabilities", json!({}));
        q
    }

    fn reply(&mut self) -> Value {
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("QMP read");
            assert!(n > 0, "QEMU closed its QMP socket");
            let v: Value = serde_json::from_str(&line).expect("QMP JSON");
            if v.get("event").is_none() {
                return v;
            }
        }
    }

    fn run(&mut self, cmd: &str, args: Value) -> Value {
        let msg = json!({"execute": cmd, "arguments": args});
        writeln!(self.writer, "{msg}").unwrap();
        let r = self.reply();
        assert!(r.get("error").is_none(), "QMP {cmd} {args}: {r}");
        r["return"].clone()
    }
}

fn wait_for_serial(log: &Path, text: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let s = std::fs::read_to_string(log).unwrap_or_default();
        if s.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the guest did not print {text:?} within {timeout:?}; serial log:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start `pageflate recv` and wait until it listens.
fn start_recv(port: u16, out: &Path) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pageflate"))
        .args([
            "recv",
            "--listen",
            &format!("tcp:127.0.0.1:{port}"),
            "--channels",
            "2",
        ])
        .args(["--idle-timeout", "60", "--json", "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pageflate recv");
    // It says so on stderr once it listens; the rest of stderr is read after it ends.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("listening") {
        line.clear();
        let n = stderr.read_line(&mut line).expect("read recv's stderr");
        assert!(n > 0, "pageflate recv ended before listening");
    }
    (child, stderr)
}

#[test]
fn qemu_migrates_into_pageflate_recv_with_none_zlib_zstd() {
    let qemu = "qemu-system-x86_64";
    let version = Command::new(qemu)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| {
            panic!("{qemu} not found ({e}): scripts/setup.sh installs qemu-system-x86 from bookworm-backports")
        });
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    assert!(
        version.contains("10.0.2"),
        "need QEMU 10.0.2 (bookworm-backports), found: {version}"
    );
    let guest = shared().join("guest");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("qemu-migration");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let initrd = tmp.join("initrd.cpio");
    let packed = std::fs::File::open(guest.join("initrd.cpio.zst")).expect("initrd.cpio.zst");
    let cpio = zstd::stream::decode_all(packed).expect("decompress the initramfs");
    std::fs::write(&initrd, cpio).unwrap();
    let (serial, qmp_path) = (tmp.join("serial.log"), tmp.join("qmp.sock"));
    let _source = Kill(
        Command::new(qemu)
            .args([
                "-machine", "q35", "-accel", "tcg", "-cpu", "qemu64", "-smp", "1",
            ])
            .args([
                "-m", "40M", "-display", "none", "-vga", "std", "-nic", "none",
            ])
            .args(["-monitor", "none", "-serial"])
            .arg(format!("file:{}", serial.display()))
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp_path.display()))
            .arg("-kernel")
            .arg(guest.join("bzImage"))
            .arg("-initrd")
            .arg(&initrd)
            .args([
                "-append",
                "console=ttyS0 quiet panic=-1 wl=s seed=1 init_on_free=1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start QEMU"),
    );
    let mut qmp = Qmp::connect(&qmp_path);
    wait_for_serial(&serial, "tick 2", Duration::from_secs(120));
    qmp.run(
        "migrate-set-capabilities",
        json!({"capabilities": [{"capability": "multifd", "state": true}]}),
    );

    for (i, method) in ["none", "zlib", "zstd"].into_iter().enumerate() {
        if i > 0 {
            // A VM paused by a finished migration cannot migrate again until it ran.
            qmp.run("cont", json!({}));
            std::thread::sleep(Duration::from_millis(300));
        }
        qmp.run("stop", json!({}));
        let snapshot = tmp.join(format!("ram-{method}.bin"));
        qmp.run(
            "pmemsave",
            json!({"val": 0, "size": RAM_BYTES, "filename": snapshot.display().to_string()}),
        );
        let out = tmp.join(format!("recv-{method}"));
        let port = free_port();
        let (recv, mut recv_stderr) = start_recv(port, &out);
        qmp.run(
            "migrate-set-parameters",
            json!({"multifd-channels": 2, "multifd-compression": method}),
        );
        qmp.run("migrate", json!({"uri": format!("tcp:127.0.0.1:{port}")}));
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            let q = qmp.run("query-migrate", json!({}));
            let s = q["status"].as_str().unwrap_or("").to_string();
            if ["completed", "failed", "cancelled"].contains(&s.as_str()) {
                break q;
            }
            assert!(Instant::now() < deadline, "migration did not end: {q}");
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = recv.wait_with_output().expect("wait for pageflate recv");
        let mut stderr = String::new();
        recv_stderr.read_to_string(&mut stderr).unwrap();
        assert_eq!(
            status["status"], "completed",
            "{method}: QEMU reports {status}; recv said: {stderr}"
        );
        assert!(
            output.status.success(),
            "{method}: pageflate recv failed: {stderr}"
        );
        let report: Value = serde_json::from_slice(&output.stdout).expect("recv --json");
        assert_eq!(report["method"], method, "{report}");
        assert_eq!(report["channels"].as_array().map(Vec::len), Some(2));
        assert!(
            report["device_sections"].as_u64().unwrap_or(0) > 10,
            "{report}"
        );
        assert!(out.join("vmdesc.json").is_file());

        let mut expected = Vec::new();
        std::fs::File::open(&snapshot)
            .unwrap()
            .read_to_end(&mut expected)
            .unwrap();
        let got = std::fs::read(out.join("pc.ram.bin")).expect("recv wrote pc.ram.bin");
        assert_eq!(got.len(), RAM_BYTES, "{method}: pc.ram size");
        let mut differing = Vec::new();
        for (p, (a, b)) in expected.chunks(4096).zip(got.chunks(4096)).enumerate() {
            if a != b {
                differing.push(p * 4096);
            }
        }
        let outside: Vec<_> = differing
            .iter()
            .filter(|&&o| !VGA_WINDOW.contains(&o))
            .collect();
        assert!(
            outside.is_empty(),
            "{method}: {} pages differ outside the VGA window, first at {:#x}",
            outside.len(),
            outside[0]
        );
        let nonzero = got
            .chunks(4096)
            .filter(|p| p.iter().any(|&b| b != 0))
            .count();
        assert!(
            nonzero > 3000,
            "{method}: only {nonzero} non-zero pages received"
        );
        eprintln!(
            "{method}: QEMU completed in {} ms; pageflate recv wrote {} pages equal to the source ({} in the VGA window differ)",
            status["total-time"],
            RAM_BYTES / 4096 - differing.len(),
            differing.len()
        );
    }
    qmp.run("quit", json!({}));
}
