//! The tracer decodes exactly what the fast decoder decodes (stored, fixed and dynamic
//! blocks, from pageflate and from miniz_oxide), its tokens cover the output without gaps,
//! and bad streams are errors.

mod common;

use common::{sample, Rng};
use pageflate_core::deflate::{deflate_to_vec, Level};
use pageflate_core::trace::{trace_deflate, TokenKind};
use pageflate_core::{Decompressor, InflateOptions};

fn check(stream: &[u8], original: &[u8]) {
    let t = trace_deflate(stream, 1 << 20).expect("trace");
    let mut fast = vec![0u8; original.len()];
    let r = Decompressor::new()
        .inflate(stream, &mut fast, InflateOptions::STANDARD)
        .unwrap();
    assert_eq!(r.written, original.len());
    assert_eq!(t.output, original);
    assert_eq!(t.output, fast);
    // Tokens tile the output and the input bits in order.
    let mut out = 0;
    let mut bit = 0;
    for (b, block) in t.blocks.iter().enumerate() {
        assert_eq!(block.header_bits.start, bit, "block {b}");
        bit = block.header_bits.end;
        for tok in &t.tokens[block.first_token..block.first_token + block.token_count] {
            assert_eq!(tok.output.start, out);
            out = tok.output.end;
            if !matches!(tok.kind, TokenKind::Stored { .. }) {
                assert_eq!(tok.bits.start, bit);
            }
            bit = tok.bits.end;
        }
    }
    assert_eq!(out, original.len());
    assert_eq!(bit, t.bits_used);
}

#[test]
fn traces_agree_with_the_fast_decoder() {
    let mut rng = Rng::new(9);
    for k in 0..300 {
        let len = [0, 1, 4096, 30000][k % 4];
        let data = if k % 7 == 0 {
            rng.bytes(len)
        } else {
            sample(&mut rng, len)
        };
        for level in [Level::Fast, Level::Dense] {
            check(&deflate_to_vec(&data, level), &data);
        }
        for l in [0u8, 1, 6] {
            check(&miniz_oxide::deflate::compress_to_vec(&data, l), &data);
        }
    }
}

#[test]
fn bad_streams_are_errors_with_a_bit_offset() {
    assert_eq!(
        trace_deflate(&[0x07], 100).unwrap_err().what,
        "block type 3"
    );
    let e = trace_deflate(&[0x01, 0x05, 0x00, 0x00, 0x00], 100).unwrap_err();
    assert!(e.what.contains("NLEN"), "{e}");
    let e = trace_deflate(&[0x03], 100).unwrap_err();
    assert_eq!(e.what, "input ended");
    let data = vec![7u8; 10000];
    let e = trace_deflate(&deflate_to_vec(&data, Level::Fast), 4096).unwrap_err();
    assert_eq!(e.what, "output larger than allowed");
}
