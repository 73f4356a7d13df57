//! The main-stream parser on arbitrary bytes (after a valid QEVM header, so the fuzzer
//! reaches the records): no panic, errors point inside the input, ranges stay inside it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::migration::{parse_main_stream, MainPageData};

fuzz_target!(|data: &[u8]| {
    let mut stream = b"QEVM\x00\x00\x00\x03".to_vec();
    stream.extend_from_slice(data);
    match parse_main_stream(&stream, 4096) {
        Ok(m) => {
            for p in &m.pages {
                if let MainPageData::Page(r) | MainPageData::Xbzrle(r) = &p.data {
                    assert!(r.end <= stream.len());
                }
            }
            for s in &m.sections {
                assert!(s.range.end <= stream.len() && s.data.end <= s.range.end);
            }
        }
        Err(e) => assert!(e.offset <= stream.len() as u64),
    }
});
