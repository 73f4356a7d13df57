//! Encoding with caller-given codes (IAA's AECS mode): header bits from `BlockCodes::header`
//! plus `encode_with_codes` must be a valid deflate block for fixed and dynamic codes, and a
//! needed symbol without a code is an error, not bad output.

mod common;

use common::{sample, Rng};
use pageflate_core::deflate::{BlockCodes, CodesError, Compressor, Histogram, Level};
use pageflate_core::{Decompressor, InflateOptions};

fn round_trip(level: Level, data: &[u8], codes: &BlockCodes) -> Vec<u8> {
    let mut c = Compressor::new(level);
    let (header, bits) = codes.header(true);
    let mut out = vec![0u8; data.len() * 2 + 512];
    let (n, total) = c
        .encode_with_codes(data, codes, &header, bits, true, &mut out)
        .expect("encode");
    assert!(total > bits && total.div_ceil(8) == n as u64);
    let mut back = vec![0u8; data.len()];
    let r = Decompressor::new()
        .inflate(&out[..n], &mut back, InflateOptions::STRICT_4K)
        .expect("inflate");
    assert_eq!(r.written, data.len());
    back
}

#[test]
fn fixed_and_histogram_codes_round_trip() {
    let mut rng = Rng::new(5);
    for k in 0..200 {
        let len = [1, 100, 4096, 20000][k % 4];
        let data = if k % 5 == 0 {
            rng.bytes(len)
        } else {
            sample(&mut rng, len)
        };
        for level in [Level::Fast, Level::Dense] {
            assert_eq!(round_trip(level, &data, &BlockCodes::fixed()), data);
            let mut hist = Histogram::default();
            Compressor::new(level).histogram(&data, &mut hist);
            let codes = BlockCodes::from_histogram(&hist);
            assert!(codes.litlen.iter().all(|&l| l <= 15));
            assert_eq!(round_trip(level, &data, &codes), data);
        }
    }
}

#[test]
fn a_needed_symbol_without_a_code_is_an_error() {
    let data = b"abcabcabcabc zzzz".repeat(10);
    let mut hist = Histogram::default();
    Compressor::new(Level::Fast).histogram(b"abc", &mut hist);
    let codes = BlockCodes::from_histogram(&hist); // no code for 'z' or ' '
    let mut out = vec![0u8; 4096];
    let r = Compressor::new(Level::Fast).encode_with_codes(&data, &codes, &[], 0, true, &mut out);
    assert!(matches!(r, Err(CodesError::MissingLitLen(_))), "{r:?}");
    let mut tiny = [0u8; 4];
    let r = Compressor::new(Level::Fast).encode_with_codes(
        &data,
        &BlockCodes::fixed(),
        &[],
        0,
        true,
        &mut tiny,
    );
    assert_eq!(r, Err(CodesError::OutputFull));
}

#[test]
fn fixed_header_is_three_bits() {
    assert_eq!(BlockCodes::fixed().header(true), (vec![0x03], 3));
    assert_eq!(BlockCodes::fixed().header(false), (vec![0x02], 3));
}
