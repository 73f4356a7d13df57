//! The pageflate command-line tool.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pageflate::core::deflate::Level;
use pageflate::core::multifd::Method;
use pageflate::demo::{run_demo, DemoOptions};
use pageflate::multifd::{
    channels_json, receive, render_channels, send, Received, RecvOptions, SendOptions,
};
use pageflate::ram::{Backing, SourceRam};
use pageflate::transport::{Endpoint, Listener};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "pageflate",
    version,
    about = "QEMU multifd page codec (qpl method) in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate a realistic 64 MiB guest image over loopback (2 channels, qpl), verify it
    /// bit for bit and record the capture (the default command).
    Demo {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Migrate this image instead of the generated one (file, .zst file or block directory).
        #[arg(long)]
        image: Option<PathBuf>,
        /// Multifd channels.
        #[arg(long, default_value_t = 2)]
        channels: usize,
        /// Compression method.
        #[arg(long, value_enum, default_value_t = SendMethod::Qpl)]
        method: SendMethod,
        /// Where to record the capture (for `pageflate inspect` and the web inspector).
        #[arg(long, default_value = "pageflate-demo-capture")]
        record: PathBuf,
        /// Page engine.
        #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
        engine: EngineArg,
    },
    /// Send a guest-memory image to a receiver (`pageflate recv`) as QEMU's multifd does.
    Send {
        /// The image: a raw file (one block, pc.ram), a .zst file, or a directory of
        /// `<block>.bin` files as `extract` and `recv --out` write.
        image: PathBuf,
        /// Receiver address: tcp:HOST:PORT, unix:PATH or file:DIR.
        #[arg(long)]
        to: String,
        /// Multifd channels (1-255).
        #[arg(long, default_value_t = 2)]
        channels: usize,
        /// Compression method.
        #[arg(long, value_enum, default_value_t = SendMethod::Qpl)]
        method: SendMethod,
        /// Compression level for qpl and zlib.
        #[arg(long, value_enum, default_value_t = SendLevel::Fast)]
        level: SendLevel,
        /// Also record every channel into this directory (a capture).
        #[arg(long)]
        record: Option<PathBuf>,
        /// Page engine.
        #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
        engine: EngineArg,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Receive a migration (from `pageflate send` or a QEMU source with multifd) and write
    /// its RAM blocks and device state into a directory.
    Recv {
        /// Address to listen on: tcp:HOST:PORT, unix:PATH, or file:DIR to replay recorded
        /// channel files (conn-K.bin or .bin.zst).
        #[arg(long)]
        listen: String,
        /// Output directory: `<block>.bin` per RAM block, device-state/, vmdesc.json.
        #[arg(long)]
        out: PathBuf,
        /// Multifd channels to expect (the source's multifd-channels).
        #[arg(long)]
        channels: Option<usize>,
        /// Also record every channel into this directory (a capture).
        #[arg(long)]
        record: Option<PathBuf>,
        /// Largest RAM the source may announce, in MiB.
        #[arg(long, default_value_t = 65536)]
        max_ram_mib: u64,
        /// Seconds a channel may stay silent (and to wait for a source).
        #[arg(long, default_value_t = 60)]
        idle_timeout: u64,
        /// Do not touch destination memory before receiving into it.
        #[arg(long)]
        no_prefault: bool,
        /// Page engine for qpl pages.
        #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
        engine: EngineArg,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Describe a captured migration: method, channels, packets, pages, RAM blocks, devices.
    Inspect {
        /// The capture's channel files (any order; `.zst` is decoded) or its directory.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// Describe only page N (the inspector's page numbering): block, offset, source
        /// and the SHA-256 of its decoded bytes.
        #[arg(long)]
        page: Option<usize>,
    },
    /// Measure pageflate against miniz_oxide, libdeflate, zlib-rs, ISA-L and Intel QPL's
    /// software path (each when built with it: `scripts/setup.sh` sets both up) and zstd
    /// level 1 in one run (ratio, compress and decompress MB/s per page), plus zero-page
    /// scan and send → recv.
    Bench {
        /// Guest-memory image (a file or .zst) whose non-zero pages are measured.
        #[arg(long, default_value = "../shared/corpus/guest-ram-a-64M.bin.zst")]
        corpus: PathBuf,
        /// A QEMU qpl capture whose pages are also decoded (QPL's fixed-Huffman output).
        #[arg(long, default_value = "../shared/captures/qpl-2ch")]
        qpl_capture: PathBuf,
        /// Rounds (median reported; at least 5).
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Skip the send → recv measurement.
        #[arg(long)]
        no_end_to_end: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Intel IAA: list devices and queues, set them up, self-test.
    Iaa {
        #[command(subcommand)]
        command: IaaCommand,
    },
    /// Write a capture's RAM blocks (`DIR/<block>.bin`), device state and VM description.
    Extract {
        /// The capture's channel files or its directory.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output directory.
        #[arg(short, long)]
        out: PathBuf,
    },
}

/// Page engines.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    /// IAA when a usable work queue exists, else software.
    Auto,
    /// IAA, or fail saying why not.
    Iaa,
    /// Software only.
    Software,
}

impl EngineArg {
    fn choice(self) -> pageflate::iaa::Choice {
        match self {
            EngineArg::Auto => pageflate::iaa::Choice::Auto,
            EngineArg::Iaa => pageflate::iaa::Choice::Iaa,
            EngineArg::Software => pageflate::iaa::Choice::Software,
        }
    }
}

/// IAA commands.
#[derive(Subcommand)]
enum IaaCommand {
    /// List IAA devices and work queues, and why each queue can or cannot be used here.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Configure each IAA device with one shared user work queue (as accel-config would).
    Setup {
        /// Print the accel-config commands instead of running them.
        #[arg(long)]
        dry_run: bool,
        /// Work-queue size.
        #[arg(long, default_value_t = 128)]
        wq_size: u32,
    },
    /// No-op, then compress/decompress round trips through IAA; fails without IAA.
    Selftest,
}

/// Methods pageflate sends.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SendMethod {
    /// No compression.
    None,
    /// One raw deflate stream per 4 KiB page (QEMU's qpl method).
    Qpl,
    /// One zlib stream per channel (QEMU's zlib method).
    Zlib,
}

impl SendMethod {
    fn method(self) -> Method {
        match self {
            SendMethod::None => Method::None,
            SendMethod::Qpl => Method::Qpl,
            SendMethod::Zlib => Method::Zlib,
        }
    }
}

/// Compression levels.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SendLevel {
    /// Greedy parsing, one probe: QEMU's level-1 role.
    Fast,
    /// Lazy parsing with hash chains: smaller output.
    Dense,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = Command::Demo {
        json: false,
        image: None,
        channels: 2,
        method: SendMethod::Qpl,
        record: "pageflate-demo-capture".into(),
        engine: EngineArg::Auto,
    };
    match cli.command.unwrap_or(default) {
        Command::Demo {
            json,
            image,
            channels,
            method,
            record,
            engine,
        } => demo(json, image, channels, method.method(), &record, engine),
        Command::Send {
            image,
            to,
            channels,
            method,
            level,
            record,
            engine,
            json,
        } => {
            let level = match level {
                SendLevel::Fast => Level::Fast,
                SendLevel::Dense => Level::Dense,
            };
            let engine = match pageflate::iaa::engine(engine.choice()) {
                Ok((e, what)) => {
                    if !json {
                        eprintln!("pageflate send: page engine: {what}");
                    }
                    e
                }
                Err(e) => return fail("send", &e),
            };
            let opts = SendOptions {
                channels,
                method: method.method(),
                level,
                record,
                engine,
            };
            send_cmd(&image, &to, &opts, json)
        }
        Command::Recv {
            listen,
            out,
            channels,
            record,
            max_ram_mib,
            idle_timeout,
            no_prefault,
            engine,
            json,
        } => {
            let (engine, what) = match pageflate::iaa::engine(engine.choice()) {
                Ok(e) => e,
                Err(e) => return fail("recv", &e),
            };
            let opts = RecvOptions {
                engine,
                channels,
                backing: Backing::Dir(out),
                record,
                max_ram: max_ram_mib << 20,
                idle_timeout: Duration::from_secs(idle_timeout.max(1)),
                prefault: !no_prefault,
                ..RecvOptions::default()
            };
            recv_cmd(&listen, &opts, json, &what)
        }
        Command::Inspect { paths, json, page } => match page {
            Some(n) => inspect_page(&paths, n),
            None => inspect(&paths, json),
        },
        Command::Extract { paths, out } => extract(&paths, &out),
        Command::Bench {
            corpus,
            qpl_capture,
            runs,
            no_end_to_end,
            json,
        } => bench(&corpus, &qpl_capture, runs, !no_end_to_end, json),
        Command::Iaa { command } => match command {
            IaaCommand::List { json } => iaa_list(json),
            IaaCommand::Setup { dry_run, wq_size } => iaa_setup(dry_run, wq_size),
            IaaCommand::Selftest => iaa_selftest(),
        },
    }
}

fn bench(corpus: &Path, qpl: &Path, runs: usize, e2e: bool, json: bool) -> ExitCode {
    let memory = match SourceRam::open(corpus, 4096) {
        Ok(r) => r.blocks[0].bytes().to_vec(),
        Err(e) => return fail("bench", &format!("{e} (pass --corpus FILE)")),
    };
    // The qpl capture's deflate pages, as QEMU's QPL produced them.
    let mut qpl_pages = Vec::new();
    if qpl.exists() {
        match pageflate::bench::capture_deflate_pages(qpl) {
            Ok(pages) => qpl_pages = pages,
            Err(e) => return fail("bench", &format!("{}: {e}", qpl.display())),
        }
    } else if !json {
        eprintln!(
            "pageflate bench: {} not found: QPL-format pages skipped",
            qpl.display()
        );
    }
    let bar = if json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(200));
        b
    };
    let opts = pageflate::bench::BenchOptions {
        runs,
        end_to_end: e2e,
    };
    let r = pageflate::bench::run(&memory, &qpl_pages, &opts, &|m| {
        bar.set_message(m.to_string())
    });
    bar.finish_and_clear();
    if json {
        emit(&format!("{r:#}\n"))
    } else {
        emit(&pageflate::bench::render(&r))
    }
}

fn iaa_list(json: bool) -> ExitCode {
    use pageflate::iaa::sysfs::{discover, CpuFeatures, Roots};
    let cpu = CpuFeatures::detect();
    let devices = discover(&Roots::default(), cpu);
    let model = std::env::var(pageflate::iaa::MODEL_ENV).ok();
    if json {
        let doc = json!({
            "cpu": {"enqcmd": cpu.enqcmd, "movdir64b": cpu.movdir64b},
            "model": model,
            "devices": devices.iter().map(|d| json!({
                "name": d.name, "version": format!("{:#x}", d.version), "state": d.state,
                "iaa2": d.is_iaa2(), "numa_node": d.numa_node,
                "queues": d.queues.iter().map(|q| json!({
                    "name": q.name, "mode": format!("{:?}", q.mode), "type": q.wq_type,
                    "state": q.state, "size": q.size, "priority": q.priority,
                    "block_on_fault": q.block_on_fault, "dev_node": q.dev_node.display().to_string(),
                    "usable": q.unusable.is_none(),
                    "why_not": q.unusable.as_ref().map(|u| u.to_string()),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        return emit(&format!("{doc:#}\n"));
    }
    println!(
        "CPU: ENQCMD {} · MOVDIR64B {}",
        if cpu.enqcmd { "yes" } else { "no" },
        if cpu.movdir64b { "yes" } else { "no" }
    );
    if devices.is_empty() {
        println!("No IAA device under /sys/bus/dsa/devices: this machine has no IAA (or the idxd driver is not loaded; `lspci -d 8086:0cfe` shows IAA devices).");
    }
    for d in &devices {
        println!(
            "{}: IAA {}.{} ({:#x}), {}, NUMA node {}",
            d.name,
            d.version >> 8,
            d.version & 0xff,
            d.version,
            d.state,
            d.numa_node
        );
        for q in &d.queues {
            let status = match &q.unusable {
                None => "usable".to_string(),
                Some(u) => format!("not usable: {u}"),
            };
            println!(
                "  {} {:?} {} size {} priority {}: {status}",
                q.name, q.mode, q.wq_type, q.size, q.priority
            );
        }
    }
    if let Some(m) = model {
        println!(
            "{}={m}: the IAA device model stands in for hardware (tests and demos only).",
            pageflate::iaa::MODEL_ENV
        );
    }
    match pageflate::iaa::engine(pageflate::iaa::Choice::Iaa) {
        Ok((_, what)) => println!("This process can submit: {what}."),
        Err(why) => println!("This process cannot submit to IAA: {why}."),
    }
    ExitCode::SUCCESS
}

fn iaa_setup(dry_run: bool, wq_size: u32) -> ExitCode {
    use pageflate::iaa::sysfs::{discover, CpuFeatures, Roots};
    let devices = discover(&Roots::default(), CpuFeatures::detect());
    if devices.is_empty() {
        return fail(
            "iaa setup",
            "no IAA device under /sys/bus/dsa/devices: nothing to set up on this machine",
        );
    }
    let mut cmds = Vec::new();
    for d in &devices {
        let n = d.id;
        cmds.push(format!("accel-config disable-device {}", d.name));
        cmds.push(format!(
            "accel-config config-engine {}/engine{n}.0 --group-id=0",
            d.name
        ));
        cmds.push(format!(
            "accel-config config-wq {}/wq{n}.0 --group-id=0 --mode=shared --type=user --name=pageflate --driver-name=user --priority=10 --wq-size={wq_size} --threshold={wq_size} --block-on-fault=1 --max-transfer-size=2147483648",
            d.name
        ));
        cmds.push(format!("accel-config enable-device {}", d.name));
        cmds.push(format!("accel-config enable-wq {}/wq{n}.0", d.name));
    }
    if dry_run {
        for c in &cmds {
            println!("{c}");
        }
        return ExitCode::SUCCESS;
    }
    for c in &cmds {
        eprintln!("+ {c}");
        let parts: Vec<&str> = c.split_whitespace().collect();
        match std::process::Command::new(parts[0]).args(&parts[1..]).status() {
            Ok(s) if s.success() || c.contains("disable-device") => {}
            Ok(s) => return fail("iaa setup", &format!("`{c}` failed ({s})")),
            Err(e) => {
                return fail(
                    "iaa setup",
                    &format!("cannot run accel-config ({e}): install it (Debian: accel-config) or run the commands from `pageflate iaa setup --dry-run`"),
                )
            }
        }
    }
    ExitCode::SUCCESS
}

fn iaa_selftest() -> ExitCode {
    use pageflate::iaa::driver::{Iaa, JobMem, Outcome};
    let (iaa, what) = match pageflate::iaa::model_from_env()
        .map(Ok)
        .unwrap_or_else(pageflate::iaa::open_hardware)
    {
        Ok(x) => x,
        Err(why) => return fail("iaa selftest", &why),
    };
    println!("pageflate iaa selftest on {what}");
    if let Err(e) = iaa.noop() {
        return fail("iaa selftest", &format!("no-op descriptor: {e:?}"));
    }
    println!("  no-op: ok");
    let text: Vec<u8> = b"pageflate IAA self test: guest memory page, compressed on the device. "
        .iter()
        .copied()
        .cycle()
        .take(4096)
        .collect();
    let mut noise = vec![0u8; 4096];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut failures = 0;
    for (name, page) in [
        ("text", &text),
        ("zeros", &vec![0u8; 4096]),
        ("random", &noise),
    ] {
        let mut jobs = vec![JobMem::boxed()];
        let outcome = iaa.compress_pages(&mut jobs, &[page.as_slice()])[0];
        let line = match outcome {
            Outcome::Compressed(n) => {
                let data = Iaa::output(&jobs[0], n).to_vec();
                match iaa.decompress_page(&mut jobs[0], &data) {
                    Outcome::Decompressed if Iaa::output(&jobs[0], 4096) == page.as_slice() => {
                        format!("compress {n} bytes, decompress: round trip ok")
                    }
                    other => {
                        failures += 1;
                        format!("decompress FAILED: {other:?}")
                    }
                }
            }
            Outcome::Raw => "does not compress below a page: sent raw (as QEMU does)".to_string(),
            other => {
                failures += 1;
                format!("compress FAILED: {other:?}")
            }
        };
        println!("  {name}: {line}");
    }
    println!("  counters: {}", iaa.counters.to_json());
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn page_bar(pages: u64, json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(pages);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} pages, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn send_cmd(image: &Path, to: &str, opts: &SendOptions, json: bool) -> ExitCode {
    let to = match Endpoint::parse(to) {
        Ok(t) => t,
        Err(e) => return fail("send", &e),
    };
    let ram = match SourceRam::open(image, 4096) {
        Ok(r) => r,
        Err(e) => return fail("send", &e.to_string()),
    };
    let bar = page_bar(ram.total_bytes() / 4096, json);
    bar.set_message(format!("sending to {to}"));
    let result = send(&ram, &to, opts, &|n| bar.inc(n));
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            let secs = r.elapsed.as_secs_f64().max(1e-9);
            if json {
                let doc = json!({
                    "method": r.method.name(), "ram_bytes": r.ram_bytes,
                    "wire_bytes": r.wire_bytes(), "main_bytes": r.main_bytes,
                    "seconds": secs, "mb_per_s": r.ram_bytes as f64 / secs / 1e6,
                    "channels": channels_json(&r.channels),
                    "iaa": opts.engine.counters(),
                });
                emit(&format!("{doc:#}\n"))
            } else {
                println!(
                    "pageflate send: {} bytes of RAM to {to}, method {}, {} channels",
                    r.ram_bytes,
                    r.method.name(),
                    r.channels.len()
                );
                print!("{}", render_channels(&r.channels, 4096));
                println!(
                    "  {:.0} ms, {:.0} MB/s of RAM, {} bytes on the wire (ratio {:.3})",
                    secs * 1e3,
                    r.ram_bytes as f64 / secs / 1e6,
                    r.wire_bytes(),
                    r.wire_bytes() as f64 / r.ram_bytes.max(1) as f64
                );
                if let Some(c) = opts.engine.counters() {
                    println!("  IAA counters: {c}");
                }
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(
            "send",
            &format!("{e}\n  (is `pageflate recv --listen ...` running at {to}?)"),
        ),
    }
}

fn recv_cmd(listen: &str, opts: &RecvOptions, json: bool, engine: &str) -> ExitCode {
    let at = match Endpoint::parse(listen) {
        Ok(t) => t,
        Err(e) => return fail("recv", &e),
    };
    let listener = match Listener::bind(&at) {
        Ok(l) => l,
        Err(e) => return fail("recv", &format!("cannot listen on {at}: {e}")),
    };
    eprintln!("pageflate recv: listening on {}", listener.local_addr());
    eprintln!("pageflate recv: page engine: {engine}");
    let bar = if json {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} received {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b
    };
    let result = receive(listener, opts, &|n| bar.inc(n));
    bar.finish_and_clear();
    match result {
        Ok(Received { report: r, .. }) => {
            let ram: u64 = r.blocks.iter().map(|b| b.1).sum();
            let secs = r.elapsed.as_secs_f64().max(1e-9);
            if json {
                let doc = json!({
                    "method": r.method.map(|m| m.name()),
                    "blocks": r.blocks.iter().map(|(n, l)| json!({"name": n, "bytes": l})).collect::<Vec<_>>(),
                    "main_bytes": r.main_bytes, "main_pages": r.main_pages,
                    "device_sections": r.device_sections, "seconds": secs,
                    "channels": channels_json(&r.channels),
                    "files": r.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                    "iaa": opts.engine.counters(),
                });
                emit(&format!("{doc:#}\n"))
            } else {
                println!(
                    "pageflate recv: migration complete, method {}, {} RAM blocks ({ram} bytes), {} device sections, {:.0} ms",
                    r.method.map_or("(no pages)", |m| m.name()),
                    r.blocks.len(),
                    r.device_sections,
                    secs * 1e3
                );
                if !r.channels.is_empty() {
                    print!("{}", render_channels(&r.channels, 4096));
                }
                if r.main_pages > 0 {
                    println!("  pages in the main stream: {}", r.main_pages);
                }
                println!("  {} files written", r.files.len());
                if let Some(c) = opts.engine.counters() {
                    println!("  IAA counters: {c}");
                }
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail("recv", &e.to_string()),
    }
}

fn fail(cmd: &str, what: &str) -> ExitCode {
    eprintln!("pageflate {cmd}: {what}");
    ExitCode::from(2)
}

fn inspect_page(paths: &[PathBuf], index: usize) -> ExitCode {
    let result = pageflate::inspect::load(paths).and_then(|files| {
        let capture = pageflate::inspect::open(&files)?;
        pageflate::inspect::page_report(&capture, index)
    });
    match result {
        Ok(r) => emit(&format!("{r:#}\n")),
        Err(e) => fail("inspect", &e.to_string()),
    }
}

fn inspect(paths: &[PathBuf], json: bool) -> ExitCode {
    let result = pageflate::inspect::load(paths).and_then(|files| {
        let capture = pageflate::inspect::open(&files)?;
        pageflate::inspect::report(&capture, &files)
    });
    match result {
        Ok(r) => {
            let code = if json {
                emit(&format!("{r:#}\n"))
            } else {
                emit(&pageflate::inspect::render_text(&r))
            };
            if r["damaged"] == true {
                eprintln!("pageflate inspect: the capture is malformed (see the anomalies above)");
                return ExitCode::from(1);
            }
            code
        }
        Err(e) => {
            eprintln!("pageflate inspect: {e}");
            ExitCode::from(2)
        }
    }
}

fn extract(paths: &[PathBuf], out: &std::path::Path) -> ExitCode {
    let files = match pageflate::inspect::load(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pageflate extract: {e}");
            return ExitCode::from(2);
        }
    };
    let result = pageflate::inspect::open(&files)
        .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
        .and_then(|c| pageflate::inspect::extract(&c, out));
    match result {
        Ok(written) => {
            for p in &written {
                println!("{}", p.display());
            }
            eprintln!(
                "pageflate extract: {} files written to {}",
                written.len(),
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pageflate extract: {e}");
            ExitCode::from(2)
        }
    }
}

fn demo(
    json: bool,
    image: Option<PathBuf>,
    channels: usize,
    method: Method,
    record: &Path,
    engine: EngineArg,
) -> ExitCode {
    let (engine, engine_name) = match pageflate::iaa::engine(engine.choice()) {
        Ok(e) => e,
        Err(e) => return fail("demo", &e),
    };
    let opts = DemoOptions {
        image,
        channels,
        method,
        record: record.to_path_buf(),
        engine,
        engine_name,
    };
    let bar = page_bar(0, json);
    bar.set_message("migrating");
    let result = run_demo(&opts, &|total, n| {
        bar.set_length(total);
        bar.inc(n)
    });
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            if json {
                emit(&format!("{:#}\n", r.to_json()));
            } else {
                emit(&r.render());
            }
            if r.is_verified() {
                ExitCode::SUCCESS
            } else {
                eprintln!("pageflate demo: verification FAILED (see above)");
                ExitCode::FAILURE
            }
        }
        Err(e) => fail("demo", &e),
    }
}

/// Write `text` to stdout; a closed pipe (`pageflate inspect | head`) is not an error.
fn emit(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pageflate: cannot write output: {e}");
            ExitCode::FAILURE
        }
    }
}
