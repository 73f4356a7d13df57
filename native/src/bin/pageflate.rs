//! The pageflate command-line tool.

use clap::{Parser, Subcommand};
use pageflate::demo::decode_sample;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Decode the bundled real QEMU qpl pages and verify them against the guest's RAM (default).
    Demo {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Demo { json: false }) {
        Command::Demo { json } => demo(json),
        Command::Inspect { paths, json } => inspect(&paths, json),
        Command::Extract { paths, out } => extract(&paths, &out),
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

fn demo(json: bool) -> ExitCode {
    let r = decode_sample();
    if json {
        let failures: Vec<_> = r
            .failures
            .iter()
            .map(|(offset, e)| serde_json::json!({"offset": offset, "error": e}))
            .collect();
        let doc = serde_json::json!({
            "pages": r.pages, "raw_pages": r.raw_pages, "wire_bytes": r.wire_bytes,
            "verified": r.verified, "decode_mb_per_s": r.decode_mb_per_s, "failures": failures,
        });
        println!("{doc:#}");
    } else {
        println!("pageflate demo: bundled sample of real QEMU 10.0.2 qpl pages (captures/qpl-2ch, channel 0)");
        println!("  pages decoded        {:>10}", r.pages);
        println!("  raw pages            {:>10}", r.raw_pages);
        println!("  bytes on the wire    {:>10}", r.wire_bytes);
        println!("  bytes decoded        {:>10}", r.pages * 4096);
        println!(
            "  ratio (wire/decoded) {:>10.3}",
            r.wire_bytes as f64 / (r.pages * 4096) as f64
        );
        println!(
            "  decode speed         {:>10.0} MB/s (one core, best of 20 passes)",
            r.decode_mb_per_s
        );
        println!(
            "  verified vs guest RAM{:>10} of {} pages (SHA-256)",
            r.verified, r.pages
        );
        for (offset, e) in &r.failures {
            eprintln!("  FAILED page at pc.ram 0x{offset:x}: {e}");
        }
    }
    if r.failures.is_empty() && r.verified == r.pages {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
