//! Hostile multifd input: truncation at every packet boundary and at random points, bit
//! flips in every header field, and absurd counts/lengths/offsets give errors with byte
//! offsets — never a panic, never a read past the input.

use pageflate_conformance::shared;
use pageflate_core::multifd::{
    header_len, parse_packet, FormatErrorKind, Packet, PacketReader, QplPages, INIT_LEN,
};

/// Parse a whole channel; returns packets read and the error, if any.
fn parse_all(stream: &[u8]) -> (usize, Option<pageflate_core::multifd::FormatError>) {
    let mut n = 0;
    for p in PacketReader::new(stream, INIT_LEN.min(stream.len()), 4096) {
        match p {
            Ok(Packet::Ram(p)) => {
                n += 1;
                if p.method() == pageflate_core::multifd::Method::Qpl {
                    if let Err(e) = QplPages::parse(p) {
                        return (n, Some(e));
                    }
                }
            }
            Ok(Packet::DeviceState(_)) => n += 1,
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

#[test]
fn truncation_at_every_packet_boundary_and_inside_is_an_error() {
    let stream = shared::read_zst("captures/qpl-2ch/conn-1.bin.zst");
    let boundaries: Vec<usize> = PacketReader::new(&stream, INIT_LEN, 4096)
        .map(|p| p.unwrap().at() as usize)
        .collect();
    for &b in &boundaries {
        // Cut just inside the header, inside the payload, and one byte short of the next packet.
        for cut in [
            b + 1,
            b + 12,
            b + header_len(4096) - 1,
            b + header_len(4096) + 1,
        ] {
            if cut >= stream.len() {
                continue;
            }
            let (_, err) = parse_all(&stream[..cut]);
            let err = err.unwrap_or_else(|| panic!("cut at {cut} parsed clean"));
            assert_eq!(err.kind, FormatErrorKind::Truncated, "cut at {cut}");
            assert_eq!(
                err.offset as usize,
                cut.min(err.offset as usize),
                "offset within input"
            );
        }
    }
}

#[test]
fn truncation_at_random_points_is_an_error_or_a_clean_prefix() {
    let stream = shared::read_zst("captures/zlib-2ch/conn-1.bin.zst");
    let boundaries: std::collections::HashSet<usize> = PacketReader::new(&stream, INIT_LEN, 4096)
        .map(|p| p.unwrap().at() as usize)
        .collect();
    let mut x = 99u64;
    for _ in 0..500 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let cut = INIT_LEN + (x >> 33) as usize % (stream.len() - INIT_LEN);
        let (_, err) = parse_all(&stream[..cut]);
        match err {
            // A cut exactly between packets leaves a valid, shorter channel.
            None => assert!(boundaries.contains(&cut), "cut at {cut} parsed clean"),
            Some(e) => {
                assert_eq!(e.kind, FormatErrorKind::Truncated, "cut at {cut}");
                assert!(e.offset as usize <= cut);
            }
        }
    }
}

#[test]
fn every_header_field_flipped_is_caught_or_harmless() {
    let stream = shared::read_zst("captures/qpl-2ch/conn-2.bin.zst");
    let first = PacketReader::new(&stream, INIT_LEN, 4096)
        .filter_map(|p| p.ok())
        .find(|p| matches!(p, Packet::Ram(r) if r.normal_pages > 4))
        .unwrap();
    let at = first.at() as usize;
    let packet = &stream[at..at + first.wire_len(4096)];
    let mut errors = 0;
    // Every bit of the fixed fields and of the first offsets and page lengths.
    for byte in (0..40)
        .chain(320..360)
        .chain(header_len(4096)..header_len(4096) + 16)
    {
        for bit in 0..8 {
            let mut bad = packet.to_vec();
            bad[byte] ^= 1 << bit;
            match parse_packet(&bad, 0, 4096) {
                Err(e) => {
                    errors += 1;
                    assert!((e.offset as usize) <= bad.len());
                }
                Ok(Packet::Ram(p)) => {
                    if p.method() == pageflate_core::multifd::Method::Qpl
                        && QplPages::parse(p).is_err()
                    {
                        errors += 1;
                    }
                }
                Ok(_) => {}
            }
        }
    }
    assert!(errors > 100, "only {errors} flips detected");
}

#[test]
fn absurd_values_are_rejected_with_the_field_named() {
    let stream = shared::read_zst("captures/qpl-2ch/conn-1.bin.zst");
    let p = PacketReader::new(&stream, INIT_LEN, 4096)
        .nth(2)
        .unwrap()
        .unwrap();
    let at = p.at() as usize;
    let packet = stream[at..at + p.wire_len(4096)].to_vec();
    let set32 = |off: usize, v: u32| {
        let mut b = packet.clone();
        b[off..off + 4].copy_from_slice(&v.to_be_bytes());
        b
    };
    let cases = [
        (set32(0, 0xdead_beef), FormatErrorKind::BadMagic, "magic"),
        (set32(4, 2), FormatErrorKind::BadVersion, "version"),
        (set32(8, 0x80), FormatErrorKind::UnknownFlags, "flags"),
        (set32(8, 0x0a), FormatErrorKind::UnknownFlags, "flags"),
        (set32(12, 129), FormatErrorKind::BadPageCount, "pages_alloc"),
        (
            set32(16, 1 << 31),
            FormatErrorKind::BadPageCount,
            "normal_pages + zero_pages",
        ),
        (set32(20, u32::MAX), FormatErrorKind::Truncated, "packet"),
        (
            set32(320 + 4, 0x0000_0123),
            FormatErrorKind::BadOffset,
            "offset",
        ),
    ];
    for (bytes, kind, field) in cases {
        let e = parse_packet(&bytes, 1000, 4096).unwrap_err();
        assert_eq!((e.kind, e.field), (kind, field), "{e}");
        assert!(e.offset >= 1000);
        assert!(!e.to_string().is_empty());
    }
    // A page length beyond the page size.
    let mut b = packet.clone();
    b[header_len(4096)..header_len(4096) + 4].copy_from_slice(&5000u32.to_be_bytes());
    let Ok(Packet::Ram(r)) = parse_packet(&b, 0, 4096) else {
        panic!()
    };
    assert_eq!(
        QplPages::parse(r).unwrap_err().kind,
        FormatErrorKind::BadPageLength
    );
}
