//! The capture's page events with lazy decoding: applying every event in order, each page
//! decoded on its own (random access for none/qpl/plain/mapped-ram), gives the same RAM as
//! the bulk rebuild; for zlib/zstd (sequential per channel) a sample of pages matches.

use pageflate_conformance::shared;
use pageflate_core::capture::{Capture, PageSource};
use std::collections::HashMap;

#[test]
fn page_events_decode_to_the_rebuilt_ram() {
    for name in shared::captures() {
        let files: Vec<Vec<u8>> = (0..3)
            .map(|k| format!("captures/{name}/conn-{k}.bin.zst"))
            .filter(|p| shared::dir().join(p).exists())
            .map(|p| shared::read_zst(&p))
            .collect();
        let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
        let capture = Capture::open(&refs, 4096).unwrap();
        let ram = capture.reconstruct_ram(1 << 30).unwrap();
        let events = capture.page_events();
        assert!(events.len() > 4000, "{name}: {} events", events.len());
        let sequential = capture
            .method()
            .is_some_and(|m| matches!(m.name(), "zlib" | "zstd"));
        // The last event for each location is what the rebuilt RAM holds.
        let mut last: HashMap<(usize, u64), usize> = HashMap::new();
        for (k, e) in events.iter().enumerate() {
            last.insert((e.block, e.offset), k);
        }
        let mut checked = 0;
        for (k, e) in events.iter().enumerate() {
            if last[&(e.block, e.offset)] != k {
                continue;
            }
            let nonzero_multifd = matches!(e.source, PageSource::Multifd { .. });
            if sequential && (!nonzero_multifd || k % 401 != 0) {
                continue;
            }
            let page = capture
                .decode_page(&e.source)
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            let at = e.offset as usize;
            assert!(
                page[..] == ram[e.block].1[at..at + 4096],
                "{name}: event {k} ({:?})",
                e.source
            );
            checked += 1;
        }
        assert!(
            checked >= if sequential { 5 } else { 4000 },
            "{name}: {checked} checked"
        );
        eprintln!(
            "{name}: {} events, {checked} decoded one by one and equal to the rebuilt RAM",
            events.len()
        );
    }
}
