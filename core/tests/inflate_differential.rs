//! Differential tests: pageflate's decoders against miniz_oxide on ≥ 100k cases —
//! valid streams of every level, raw and zlib, page-sized and multi-MiB, many sync
//! flushes — and corrupted streams, where both must agree on success and output.

mod common;

use common::{sample, sample_len, Rng};
use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};
use miniz_oxide::inflate::{decompress_to_vec_with_limit, decompress_to_vec_zlib_with_limit};
use pageflate_core::container::{zlib_decompress, ZlibDecoder};
use pageflate_core::{Decompressor, InflateOptions, Inflater, StreamStatus};

/// Decode `input` with the streaming decoder, feeding input and output in random pieces.
fn stream_decode(input: &[u8], rng: &mut Rng, limit: usize) -> Result<Vec<u8>, String> {
    let mut inflater = Inflater::new(InflateOptions::STANDARD);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut buf = vec![0u8; 70000];
    loop {
        let in_max = if rng.below(4) == 0 { 8 } else { 5000 };
        let in_piece = 1 + rng.below(in_max);
        let out_max = if rng.below(4) == 0 { 8 } else { 70000 };
        let out_piece = 1 + rng.below(out_max);
        let end = (pos + in_piece).min(input.len());
        let p = inflater
            .inflate(&input[pos..end], &mut buf[..out_piece])
            .map_err(|e| e.to_string())?;
        pos += p.consumed;
        out.extend_from_slice(&buf[..p.written]);
        if out.len() > limit {
            return Err("output limit".into());
        }
        match p.status {
            StreamStatus::Done => return Ok(out),
            StreamStatus::NeedsInput if pos >= input.len() => {
                return Err("unexpected end of input".into())
            }
            _ => {}
        }
    }
}

fn whole_decode(input: &[u8], cap: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; cap];
    let done = Decompressor::new()
        .inflate(input, &mut out, InflateOptions::STANDARD)
        .map_err(|e| e.to_string())?;
    out.truncate(done.written);
    Ok(out)
}

#[test]
fn valid_streams_match_miniz_oxide() {
    let mut rng = Rng::new(1);
    let mut decompressor = Decompressor::new();
    let mut cases = 0;
    for i in 0..70_000u32 {
        let len = sample_len(&mut rng);
        let data = sample(
            &mut rng,
            if len > 100_000 && i % 50 != 0 {
                len / 20
            } else {
                len
            },
        );
        let level = (i % 11) as u8;
        let zlib = i % 3 == 0;
        let compressed = if zlib {
            compress_to_vec_zlib(&data, level)
        } else {
            compress_to_vec(&data, level)
        };
        let mut out = vec![0u8; data.len()];
        let got = if zlib {
            zlib_decompress(&compressed, &mut out, InflateOptions::STANDARD)
        } else {
            decompressor.inflate(&compressed, &mut out, InflateOptions::STANDARD)
        };
        let got = got.unwrap_or_else(|e| panic!("case {i} level {level} zlib {zlib}: {e}"));
        assert_eq!(got.written, data.len(), "case {i}");
        assert_eq!(got.consumed, compressed.len(), "case {i}");
        assert!(out == data, "case {i}: output differs");
        // A too-small buffer is a clean error, never a panic.
        if !data.is_empty() && i % 7 == 0 {
            let mut short = vec![0u8; data.len() - 1];
            assert!(
                decompressor
                    .inflate(&compressed, &mut short, InflateOptions::STANDARD)
                    .is_err()
                    || zlib
            );
        }
        if i % 5 == 0 && !zlib {
            assert!(
                stream_decode(&compressed, &mut rng, data.len()).unwrap() == data,
                "stream case {i}"
            );
        }
        cases += 1;
    }
    assert_eq!(cases, 70_000);
}

/// Compress with miniz_oxide's streaming API, sync-flushing every `flush_every` bytes.
fn compress_sync_flushed(data: &[u8], level: u8, flush_every: usize, zlib: bool) -> Vec<u8> {
    use miniz_oxide::deflate::core::CompressorOxide;
    use miniz_oxide::deflate::stream::deflate;
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let mut state = Box::<CompressorOxide>::default();
    state.set_format_and_level(
        if zlib {
            DataFormat::Zlib
        } else {
            DataFormat::Raw
        },
        level,
    );
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let chunks: Vec<&[u8]> = data.chunks(flush_every.max(1)).collect();
    for (k, chunk) in chunks.iter().enumerate() {
        let flush = if k + 1 == chunks.len() {
            MZFlush::Finish
        } else {
            MZFlush::Sync
        };
        let mut input = *chunk;
        loop {
            let r = deflate(&mut state, input, &mut buf, flush);
            out.extend_from_slice(&buf[..r.bytes_written]);
            input = &input[r.bytes_consumed..];
            if matches!(r.status, Ok(MZStatus::StreamEnd))
                || (input.is_empty() && r.bytes_written < buf.len() && flush != MZFlush::Finish)
            {
                break;
            }
        }
    }
    out
}

#[test]
fn sync_flushed_multi_mib_streams() {
    let mut rng = Rng::new(2);
    for i in 0..24u32 {
        let len = if i % 4 == 0 {
            3 << 20
        } else {
            1 + rng.below(600_000)
        };
        let data = sample(&mut rng, len);
        let level = [1u8, 6, 9, 0][i as usize % 4];
        let zlib = i % 2 == 0;
        let flush_every = [4096usize, 128 * 4096, 1, 777][i as usize % 4];
        let flush_every = if flush_every == 1 { 64 } else { flush_every };
        let compressed = compress_sync_flushed(&data, level, flush_every, zlib);
        if zlib {
            let mut dec = ZlibDecoder::new(InflateOptions::STANDARD);
            let mut out = vec![0u8; data.len() + 10];
            let (mut pos, mut written) = (0, 0);
            loop {
                let end = (pos + 1 + rng.below(100_000)).min(compressed.len());
                let p = dec
                    .decode(&compressed[pos..end], &mut out[written..])
                    .unwrap();
                pos += p.consumed;
                written += p.written;
                if p.status == StreamStatus::Done {
                    break;
                }
                assert!(
                    pos < compressed.len() || p.status != StreamStatus::NeedsInput,
                    "case {i}"
                );
            }
            assert!(dec.is_done());
            assert!(out[..written] == data[..], "zlib case {i}");
            let mut whole = vec![0u8; data.len()];
            zlib_decompress(&compressed, &mut whole, InflateOptions::STANDARD).unwrap();
            assert!(whole == data);
        } else {
            assert!(
                stream_decode(&compressed, &mut rng, data.len()).unwrap() == data,
                "raw case {i}"
            );
            assert!(whole_decode(&compressed, data.len()).unwrap() == data);
        }
    }
}

/// Apply a random corruption: bit flips, byte overwrites, truncation or garbage appended.
fn corrupt(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    match rng.below(4) {
        0 if !d.is_empty() => {
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
        }
        1 if !d.is_empty() => {
            let i = rng.below(d.len());
            d[i] = rng.next_u64() as u8;
        }
        2 => d.truncate(rng.below(d.len() + 1)),
        _ => {
            let n = rng.below(64);
            let i = rng.below(d.len() + 1);
            let junk = rng.bytes(n);
            d.splice(i..i, junk);
        }
    }
    d
}

#[test]
fn corrupted_and_random_inputs_agree_with_miniz_oxide() {
    let mut rng = Rng::new(3);
    let limit = 1 << 20;
    let (mut both_ok, mut both_err) = (0u32, 0u32);
    for i in 0..40_000u32 {
        let input = if i % 4 == 0 {
            let n = rng.below(600);
            rng.bytes(n)
        } else {
            let n = rng.below(6000);
            let data = sample(&mut rng, n);
            corrupt(&mut rng, &compress_to_vec(&data, (i % 10) as u8))
        };
        let ours = whole_decode(&input, limit);
        let theirs = decompress_to_vec_with_limit(&input, limit).map_err(|e| format!("{e:?}"));
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                assert!(a == b, "case {i}: outputs differ");
                both_ok += 1;
            }
            (Err(_), Err(_)) => both_err += 1,
            _ => panic!(
                "case {i}: pageflate {:?} vs miniz_oxide {:?}; input {:02x?}",
                ours.as_ref().map(|v| v.len()),
                theirs.as_ref().map(|v| v.len()),
                &input[..input.len().min(64)]
            ),
        }
        // The streaming decoder agrees with the whole-buffer one.
        if i % 4 == 1 {
            let streamed = stream_decode(&input, &mut rng, limit);
            assert_eq!(
                streamed.is_ok(),
                ours.is_ok(),
                "case {i}: stream {streamed:?}"
            );
            if let (Ok(a), Ok(b)) = (&streamed, &ours) {
                assert!(a == b);
            }
        }
        // zlib wrapper: a corrupted zlib stream is an error or identical output.
        if i % 8 == 2 {
            let plain = rng.bytes(100);
            let zin = corrupt(&mut rng, &compress_to_vec_zlib(&plain, 6));
            let mut out = vec![0u8; limit];
            let ours = zlib_decompress(&zin, &mut out, InflateOptions::STANDARD);
            let theirs = decompress_to_vec_zlib_with_limit(&zin, limit);
            if let (Ok(a), Ok(b)) = (&ours, &theirs) {
                assert!(out[..a.written] == b[..]);
            }
        }
    }
    eprintln!("corrupted/random: {both_ok} decoded identically, {both_err} rejected by both");
    assert!(both_ok > 1000 && both_err > 1000);
}
