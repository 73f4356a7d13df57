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
            // A packet of zero pages only: no payload bytes in any method (for zlib, the
            // stream header must wait for the first real page).
            w.ram_packet(99, "pc.ram", &[], &[1 << 30], &mut stream);
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
                if r.normal_pages == 0 {
                    assert!(r.payload.is_empty(), "{method:?}: payload without pages");
                }
                assert_eq!(r.block, "pc.ram");
                got.extend(dec.decode(&r).expect("payload decodes"));
                zlib_payload.extend_from_slice(r.payload);
            }
            assert_eq!(packets, 7);
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

#[test]
fn uadk_pages_decode_with_and_without_a_zlib_wrapper() {
    use pageflate_core::container::zlib_compress;
    use pageflate_core::deflate::deflate_to_vec;
    let mut rng = Rng::new(22);
    let pages: Vec<Vec<u8>> = (0..3).map(|_| sample(&mut rng, 4096)).collect();
    let mut w = ChannelWriter::new(Method::None, 4096, Level::Fast);
    let mut stream = Vec::new();
    let out: Vec<OutPage<'_>> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| OutPage {
            offset: (i * 4096) as u64,
            data: p,
        })
        .collect();
    w.ram_packet(0, "pc.ram", &out, &[], &mut stream);
    // Re-frame the payload the uadk way: lengths, then zlib-wrapped, raw-deflate and raw pages.
    let bodies = [
        zlib_compress(&pages[0], Level::Fast),
        deflate_to_vec(&pages[1], Level::Dense),
        pages[2].clone(),
    ];
    let mut payload = Vec::new();
    for b in &bodies {
        payload.extend_from_slice(&(b.len() as u32).to_be_bytes());
    }
    for b in &bodies {
        payload.extend_from_slice(b);
    }
    stream.truncate(1344);
    stream[8..12].copy_from_slice(&0x10u32.to_be_bytes());
    stream[20..24].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    stream.extend_from_slice(&payload);
    let Packet::Ram(r) = pageflate_core::multifd::parse_packet(&stream, 0, 4096).unwrap() else {
        panic!()
    };
    assert_eq!(r.method(), Method::Uadk);
    let got = PayloadDecoder::new(4096).decode(&r).unwrap();
    assert!(got == pages.concat());
}
