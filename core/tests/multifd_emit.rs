//! Emitted multifd channels (none, qpl, zlib) parse back with pageflate's own parser and
//! decode to the pages that were sent; zlib payloads also decode with miniz_oxide.

mod common;

use common::{sample, Rng};
use pageflate_core::capture::PayloadDecoder;
use pageflate_core::deflate::Level;
use pageflate_core::multifd::{
    ChannelInit, ChannelWriter, Method, OutPage, Packet, PacketReader, INIT_LEN,
};

#[test]
fn emitted_channels_round_trip() {
    let mut rng = Rng::new(21);
    let pages: Vec<Vec<u8>> = (0..300)
        .map(|k| {
            if k % 7 == 0 {
                rng.bytes(4096)
            } else {
                sample(&mut rng, 4096)
            }
        })
        .collect();
    for method in [Method::None, Method::Qpl, Method::Zlib] {
        for level in [Level::Fast, Level::Dense] {
            let mut w = ChannelWriter::new(method, 4096, level);
            let mut stream = Vec::new();
            w.init(
                &ChannelInit {
                    uuid: [7; 16],
                    id: 1,
                },
                &mut stream,
            );
            let mut sent = Vec::new();
            for (num, chunk) in pages.chunks(100).enumerate() {
                let normal: Vec<OutPage<'_>> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, p)| OutPage {
                        offset: ((num * 128 + i) * 4096) as u64,
                        data: p,
                    })
                    .collect();
                let zero = [((num * 128 + 120) * 4096) as u64];
                w.ram_packet(2 * num as u64, "pc.ram", &normal, &zero, &mut stream);
                w.sync(2 * num as u64 + 1, &mut stream);
                sent.extend(chunk.iter().cloned());
            }
            assert_eq!(ChannelInit::parse(&stream).unwrap().id, 1);
            let mut dec = PayloadDecoder::new(4096);
            let mut got: Vec<u8> = Vec::new();
            let mut zlib_payload = Vec::new();
            let mut packets = 0;
            for p in PacketReader::new(&stream, INIT_LEN, 4096) {
                let Packet::Ram(r) = p.expect("emitted packet parses") else {
                    panic!()
                };
                packets += 1;
                if r.is_sync() {
                    assert_eq!(r.normal_pages, 0);
                    continue;
                }
                assert_eq!(r.method(), method);
                assert_eq!(r.zero_pages, 1);
                assert_eq!(r.block, "pc.ram");
                got.extend(dec.decode(&r).expect("payload decodes"));
                zlib_payload.extend_from_slice(r.payload);
            }
            assert_eq!(packets, 6);
            let want: Vec<u8> = sent.concat();
            assert!(got == want, "{method:?} {level:?}: pages differ");
            if method == Method::Zlib {
                // miniz_oxide decodes the sync-flushed stream too.
                use miniz_oxide::inflate::stream::{inflate, InflateState};
                let mut state = InflateState::new_boxed(miniz_oxide::DataFormat::Zlib);
                let mut out = vec![0u8; want.len() + 16];
                let r = inflate(
                    &mut state,
                    &zlib_payload,
                    &mut out,
                    miniz_oxide::MZFlush::Sync,
                );
                assert_eq!(r.bytes_written, want.len(), "{:?}", r.status);
                assert!(out[..want.len()] == want[..]);
            }
        }
    }
}
