//! Multifd channel parsing on arbitrary bytes: init record, packets, qpl framing and page
//! decoding never panic, and every reported error offset lies within the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::multifd::{ChannelInit, Packet, PacketReader, QplPages, INIT_LEN};
use pageflate_core::page::decompress_page;
use pageflate_core::{Decompressor, InflateOptions};

fuzz_target!(|data: &[u8]| {
    let _ = ChannelInit::parse(data);
    let mut d = Decompressor::new();
    let mut page = [0u8; 4096];
    for p in PacketReader::new(data, INIT_LEN.min(data.len()), 4096) {
        match p {
            Ok(Packet::Ram(r)) => {
                let _ = r.check_offsets_within(1 << 20);
                if let Ok(pages) = QplPages::parse(r) {
                    for q in pages.iter() {
                        assert!(q.data.len() <= 4096);
                        let _ =
                            decompress_page(&mut d, q.data, &mut page, InflateOptions::STRICT_4K);
                    }
                }
            }
            Ok(Packet::DeviceState(s)) => assert!(s.payload.len() <= data.len()),
            Err(e) => assert!(e.offset <= data.len() as u64),
        }
    }
});
