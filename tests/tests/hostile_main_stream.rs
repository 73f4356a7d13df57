//! Hostile main streams and captures: truncation at every record boundary and at random
//! points, bit flips across the header region, and absurd sizes give errors with offsets —
//! never a panic — and a damaged capture still opens leniently with its anomalies listed.

use pageflate_conformance::shared;
use pageflate_core::capture::{Capture, Severity};
use pageflate_core::migration::{parse_main_stream, MigrationErrorKind};

#[test]
fn truncated_main_streams_fail_with_offsets() {
    let stream = shared::read_zst("captures/plain-exec/conn-0.bin.zst");
    let m = parse_main_stream(&stream, 4096).unwrap();
    let mut cuts: Vec<usize> = m
        .sections
        .iter()
        .flat_map(|s| [s.range.start, s.range.start + 3, s.range.end - 1])
        .collect();
    cuts.extend(m.pages.iter().step_by(97).map(|p| p.at as usize + 5));
    let mut x = 12345u64;
    for _ in 0..300 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        cuts.push((x >> 33) as usize % stream.len());
    }
    for cut in cuts {
        let e = parse_main_stream(&stream[..cut], 4096).unwrap_err();
        assert!(
            e.offset as usize <= cut,
            "cut {cut}: offset {} past the input",
            e.offset
        );
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn flipped_bytes_in_the_main_stream_never_panic() {
    let stream = shared::read_zst("captures/qpl-2ch/conn-0.bin.zst");
    let mut errors = 0;
    for at in (0..1200).chain((stream.len() - 48000..stream.len()).step_by(61)) {
        for bit in [0, 3, 7] {
            let mut bad = stream.clone();
            bad[at] ^= 1 << bit;
            if let Err(e) = parse_main_stream(&bad, 4096) {
                errors += 1;
                assert!((e.offset as usize) <= bad.len());
            }
        }
    }
    assert!(errors > 500, "{errors} flips detected");
}

#[test]
fn absurd_sizes_are_rejected() {
    let stream = shared::read_zst("captures/qpl-2ch/conn-0.bin.zst");
    // The RAM setup's total size (be64 at byte 0x29) announcing 2^60 bytes: the block list
    // no longer adds up, and nothing is allocated for it.
    let mut bad = stream.clone();
    bad[0x29..0x31].copy_from_slice(&((1u64 << 60) | 4).to_be_bytes());
    assert!(parse_main_stream(&bad, 4096).is_err());
    // A block claiming more than the total.
    let mut bad = stream.clone();
    bad[0x38..0x40].copy_from_slice(&u64::MAX.to_be_bytes());
    let e = parse_main_stream(&bad, 4096).unwrap_err();
    assert_eq!(e.kind, MigrationErrorKind::UnknownBlock);
    // The VM description length pointing past the end.
    let m = parse_main_stream(&stream, 4096).unwrap();
    let at = m.vmdesc.as_ref().unwrap().at as usize;
    let mut bad = stream.clone();
    bad[at + 1..at + 5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        parse_main_stream(&bad, 4096).unwrap_err().kind,
        MigrationErrorKind::Truncated
    );
}

#[test]
fn damaged_capture_opens_leniently_with_anomalies() {
    let main = shared::read_zst("captures/zlib-2ch/conn-0.bin.zst");
    let c1 = shared::read_zst("captures/zlib-2ch/conn-1.bin.zst");
    let mut c2 = shared::read_zst("captures/zlib-2ch/conn-2.bin.zst");
    c2.truncate(c2.len() / 2);
    let files: Vec<&[u8]> = vec![&main, &c1, &c2];
    assert!(Capture::open(&files, 4096).is_err());
    let capture = Capture::open_lenient(&files, 4096).unwrap();
    assert!(capture.is_damaged());
    let errors: Vec<_> = capture
        .anomalies
        .iter()
        .filter(|a| a.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("ends inside a record"));
    // What is readable still rebuilds (the truncated channel's later pages are missing).
    let ram = capture.reconstruct_ram(1 << 30).unwrap();
    assert_eq!(ram.len(), 8);
}
