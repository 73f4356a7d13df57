//! The encoder against three decoders (pageflate, pageflate strict 4 KiB, miniz_oxide):
//! every level round-trips random, zero, run-heavy and real-memory-like inputs of 0 bytes to
//! 1 MiB, every match distance is ≤ 4096 (checked by parsing the output), and the page codec
//! keeps QEMU's contract.

mod common;

use common::{sample, Rng};
use pageflate_core::container::{gzip_decompress, zlib_decompress};
use pageflate_core::deflate::{deflate_to_vec, Compressor, Deflater, Flush, Level};
use pageflate_core::page::{compress_page, decompress_page, PageEncoding};
use pageflate_core::{Decompressor, InflateOptions};

const LEVELS: [Level; 2] = [Level::Fast, Level::Dense];

/// Decode with all three decoders and check they agree with `original`.
fn check_roundtrip(compressed: &[u8], original: &[u8], what: &str) {
    let mut out = vec![0u8; original.len()];
    let mut d = Decompressor::new();
    let r = d.inflate(compressed, &mut out, InflateOptions::STRICT_4K);
    let r = r.unwrap_or_else(|e| panic!("{what}: strict 4 KiB decode failed: {e}"));
    assert_eq!(r.written, original.len(), "{what}");
    assert_eq!(r.consumed, compressed.len(), "{what}");
    assert!(out == original, "{what}: pageflate output differs");
    let theirs = miniz_oxide::inflate::decompress_to_vec(compressed)
        .unwrap_or_else(|e| panic!("{what}: miniz_oxide failed: {e:?}"));
    assert!(theirs == original, "{what}: miniz_oxide output differs");
}

#[test]
fn every_level_round_trips_varied_inputs() {
    let mut rng = Rng::new(11);
    let mut sizes: Vec<usize> = vec![
        0, 1, 2, 3, 4, 5, 7, 8, 9, 100, 4095, 4096, 4097, 65535, 65536, 70000,
    ];
    sizes.extend((0..400).map(|_| rng.below(20000)));
    sizes.extend([1 << 20, 3 * 100_000]);
    for level in LEVELS {
        let mut c = Compressor::new(level);
        for (k, &len) in sizes.iter().enumerate() {
            let data = match k % 5 {
                0 => vec![0u8; len],
                1 => rng.bytes(len),
                _ => sample(&mut rng, len),
            };
            let mut out = vec![0u8; len + len / 8 + 64];
            let r = c.compress(&data, &mut out).expect("bound is enough");
            check_roundtrip(
                &out[..r.len],
                &data,
                &format!("{level:?} len {len} kind {}", k % 5),
            );
            // Deterministic: the same input gives the same bytes.
            let mut again = vec![0u8; out.len()];
            let r2 = c.compress(&data, &mut again).unwrap();
            assert_eq!(out[..r.len], again[..r2.len]);
        }
    }
}

/// Walk a raw deflate stream and return the largest match distance (panics on bad data).
fn max_distance(stream: &[u8]) -> usize {
    // Decoding in strict mode already rejects any distance > 4096; additionally verify by
    // decoding with a window limit of 4096 and with 4095 to see the largest distance used.
    let mut d = Decompressor::new();
    let mut out = vec![0u8; 1 << 21];
    let mut lo = 1usize;
    let mut hi = 32768usize;
    if d.inflate(stream, &mut out, InflateOptions { max_distance: 1 })
        .is_ok()
    {
        return 1;
    }
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if d.inflate(
            stream,
            &mut out,
            InflateOptions {
                max_distance: mid as u32,
            },
        )
        .is_ok()
        {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[test]
fn distances_never_exceed_4096_even_on_long_periodic_input() {
    let mut rng = Rng::new(12);
    // Data that repeats with periods just above and below 4 KiB tempts a matcher to reach further.
    for period in [4095usize, 4096, 4097, 5000, 8192] {
        let unit = rng.bytes(period);
        let data: Vec<u8> = unit.iter().cycle().take(200_000).copied().collect();
        for level in LEVELS {
            let stream = deflate_to_vec(&data, level);
            let max = max_distance(&stream);
            assert!(max <= 4096, "{level:?} period {period}: distance {max}");
            check_roundtrip(&stream, &data, &format!("{level:?} period {period}"));
        }
    }
}

#[test]
fn page_codec_keeps_qemus_contract() {
    let mut rng = Rng::new(13);
    let mut d = Decompressor::new();
    for level in LEVELS {
        let mut c = Compressor::new(level);
        let mut out = [0u8; 4096];
        for k in 0..3000 {
            let page = match k % 4 {
                0 => rng.bytes(4096),
                1 => vec![(k % 256) as u8; 4096],
                _ => sample(&mut rng, 4096),
            };
            let mut decoded = [0u8; 4096];
            match compress_page(&mut c, &page, &mut out) {
                PageEncoding::Compressed(len) => {
                    assert!(len <= 4095);
                    decompress_page(&mut d, &out[..len], &mut decoded, InflateOptions::STRICT_4K)
                        .unwrap();
                    check_roundtrip(&out[..len], &page, &format!("{level:?} page {k}"));
                }
                PageEncoding::Raw => {
                    assert_ne!(k % 4, 1, "{level:?} page {k}: a constant page went raw");
                    decompress_page(&mut d, &page, &mut decoded, InflateOptions::STRICT_4K)
                        .unwrap();
                }
            }
            assert!(decoded == page[..]);
        }
    }
}

#[test]
fn streaming_with_sync_flushes_and_wrappers() {
    let mut rng = Rng::new(14);
    for level in LEVELS {
        let data = sample(&mut rng, 700_000);
        let mut d = Deflater::new(level);
        let mut out = Vec::new();
        let mut pos = 0;
        let mut flushed_at = Vec::new();
        while pos < data.len() {
            let n = (1 + rng.below(50_000)).min(data.len() - pos);
            let flush = if rng.below(3) == 0 {
                Flush::Sync
            } else {
                Flush::None
            };
            d.compress(&data[pos..pos + n], flush, &mut out);
            pos += n;
            if flush == Flush::Sync {
                // Everything so far is decodable: the stream ends with 00 00 ff ff.
                assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
                flushed_at.push((out.len(), pos));
            }
        }
        d.compress(&[], Flush::Finish, &mut out);
        check_roundtrip(&out, &data, &format!("{level:?} stream"));
        assert!(max_distance(&out) <= 4096);
        let z = pageflate_core::container::zlib_compress(&data, level);
        assert_eq!(z[0], 0x48, "zlib header declares a 4 KiB window");
        let mut back = vec![0u8; data.len()];
        zlib_decompress(&z, &mut back, InflateOptions::STRICT_4K).unwrap();
        assert!(back == data);
        assert_eq!(
            miniz_oxide::inflate::decompress_to_vec_zlib(&z).unwrap(),
            data
        );
        let g = pageflate_core::container::gzip_compress(&data, level);
        gzip_decompress(&g, &mut back, InflateOptions::STRICT_4K).unwrap();
        assert!(back == data);
    }
}

/// One decoder over a mix of pages: runs with the same dynamic code (the decoder keeps its
/// tables), then other codes, fixed blocks and stored blocks in between, must all decode.
#[test]
fn a_reused_decoder_keeps_or_rebuilds_its_tables_correctly() {
    let mut rng = Rng::new(77);
    let mut d = Decompressor::new();
    let mut fast = Compressor::new(Level::Fast);
    let mut buf = vec![0u8; 4096];
    let mut out = vec![0u8; 4096];
    for k in 0..400 {
        let page = sample(&mut rng, 4096);
        let stream = match k % 7 {
            0 => miniz_oxide::deflate::compress_to_vec(&page, 6),
            1 => miniz_oxide::deflate::compress_to_vec(&page, 0),
            2 => deflate_to_vec(&page, Level::Dense),
            _ => match compress_page(&mut fast, &page, &mut buf) {
                PageEncoding::Compressed(n) => buf[..n].to_vec(),
                PageEncoding::Raw => continue,
            },
        };
        let r = d
            .inflate(&stream, &mut out, InflateOptions::STRICT_4K)
            .unwrap_or_else(|e| panic!("page {k}: {e}"));
        assert_eq!(r.written, 4096);
        assert!(out == page, "page {k} (kind {}) differs", k % 7);
    }
    // A stream whose second block repeats the first block's code: decoded in one call.
    let long = sample(&mut rng, 200_000);
    let stream = miniz_oxide::deflate::compress_to_vec(&long, 1);
    let mut back = vec![0u8; long.len()];
    let r = d
        .inflate(&stream, &mut back, InflateOptions::STANDARD)
        .unwrap();
    assert_eq!(r.written, long.len());
    assert!(back == long);
}

/// Pages of other sizes than 4 KiB: the dense level's page path (page-local two-entry
/// buckets, up to 16 KiB pages), the general path above it, and tiny pages; both levels, pages whose
/// matches reach back across the 4 KiB window (a periodic page with a period above it).
#[test]
fn page_codec_round_trips_every_page_size() {
    let mut rng = Rng::new(17);
    let mut d = Decompressor::new();
    for level in LEVELS {
        let mut c = Compressor::new(level);
        for size in [
            1, 3, 4, 5, 100, 257, 4095, 4096, 4097, 8192, 16384, 16385, 65536,
        ] {
            let period: Vec<u8> = sample(&mut rng, 5000);
            let pages = [
                sample(&mut rng, size),
                period.iter().cycle().take(size).copied().collect(),
                vec![7u8; size],
            ];
            for (k, page) in pages.iter().enumerate() {
                let mut out = vec![0u8; size];
                let mut decoded = vec![0u8; size];
                let what = format!("{level:?} size {size} page {k}");
                match compress_page(&mut c, page, &mut out) {
                    PageEncoding::Compressed(len) => {
                        assert!(len < size, "{what}");
                        decompress_page(
                            &mut d,
                            &out[..len],
                            &mut decoded,
                            InflateOptions::STRICT_4K,
                        )
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                        check_roundtrip(&out[..len], page, &what);
                    }
                    PageEncoding::Raw => {
                        // (The fast level's canned header alone is ~110 bytes.)
                        assert!(size < 1024 || k != 2, "{what}: a constant page went raw");
                        decoded.copy_from_slice(page);
                    }
                }
                assert!(decoded == page[..], "{what}");
            }
        }
    }
}

/// The early raw decision sends random pages raw after a short look, and never gives up on
/// a page whose start compresses (whatever history it lacks). A page random at its start
/// but compressible after it may go raw: that is the documented trade-off, not tested here.
#[test]
fn early_raw_decision_gives_up_on_random_pages_only() {
    let mut rng = Rng::new(15);
    let mut out = [0u8; 4096];
    let (mut kept, mut judged) = (0, 0);
    for level in LEVELS {
        let mut c = Compressor::new(level);
        for k in 0..400 {
            let random = rng.bytes(4096);
            assert_eq!(
                compress_page(&mut c, &random, &mut out),
                PageEncoding::Raw,
                "{level:?} random page {k}"
            );
            let page = sample(&mut rng, 4096);
            let start = deflate_to_vec(&page[..256], level).len();
            let whole = deflate_to_vec(&page, level).len();
            if start <= 192 && whole < 3000 {
                judged += 1;
                assert!(
                    matches!(
                        compress_page(&mut c, &page, &mut out),
                        PageEncoding::Compressed(_)
                    ),
                    "{level:?} page {k}: {whole} bytes as a stream, its first 256 bytes {start}, \
                     but sent raw"
                );
                kept += 1;
            }
        }
    }
    assert!(
        judged > 300,
        "the sample pages exercised the rule ({judged})"
    );
    assert_eq!(kept, judged);
}
