//! The pageflate command-line tool.

use clap::{Parser, Subcommand};
use pageflate::demo::decode_sample;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Demo { json: false }) {
        Command::Demo { json } => demo(json),
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
