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
    };
    match cli.command.unwrap_or(default) {
        Command::Demo {
            json,
            image,
            channels,
            method,
            record,
        } => demo(json, image, channels, method.method(), &record),
        Command::Send {
            image,
            to,
            channels,
            method,
            level,
            record,
            json,
        } => {
            let level = match level {
                SendLevel::Fast => Level::Fast,
                SendLevel::Dense => Level::Dense,
            };
            let opts = SendOptions {
                channels,
                method: method.method(),
                level,
                record,
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
            json,
        } => {
            let opts = RecvOptions {
                channels,
                backing: Backing::Dir(out),
                record,
                max_ram: max_ram_mib << 20,
                idle_timeout: Duration::from_secs(idle_timeout.max(1)),
                prefault: !no_prefault,
                ..RecvOptions::default()
            };
            recv_cmd(&listen, &opts, json)
        }
        Command::Inspect { paths, json, page } => match page {
            Some(n) => inspect_page(&paths, n),
            None => inspect(&paths, json),
        },
        Command::Extract { paths, out } => extract(&paths, &out),
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
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(
            "send",
            &format!("{e}\n  (is `pageflate recv --listen ...` running at {to}?)"),
        ),
    }
}

fn recv_cmd(listen: &str, opts: &RecvOptions, json: bool) -> ExitCode {
    let at = match Endpoint::parse(listen) {
        Ok(t) => t,
        Err(e) => return fail("recv", &e),
    };
    let listener = match Listener::bind(&at) {
        Ok(l) => l,
        Err(e) => return fail("recv", &format!("cannot listen on {at}: {e}")),
    };
    eprintln!("pageflate recv: listening on {}", listener.local_addr());
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
) -> ExitCode {
    let opts = DemoOptions {
        image,
        channels,
        method,
        record: record.to_path_buf(),
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
