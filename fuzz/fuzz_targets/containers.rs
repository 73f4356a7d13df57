//! zlib and gzip wrappers: whole-buffer and streaming decoders never panic and agree.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::container::{gzip_decompress, zlib_decompress, GzipDecoder, ZlibDecoder};
use pageflate_core::{InflateOptions, StreamStatus};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let limit = 1 << 16;
    let mut out = vec![0u8; limit];
    let piece = 1 + usize::from(selector >> 1) * 3;
    if selector & 1 == 0 {
        let whole = zlib_decompress(input, &mut out, InflateOptions::STANDARD);
        let mut dec = ZlibDecoder::new(InflateOptions::STANDARD);
        let mut got = vec![0u8; limit];
        let (mut pos, mut written, mut done) = (0, 0, false);
        while let Ok(p) = dec.decode(
            &input[pos..(pos + piece).min(input.len())],
            &mut got[written..],
        ) {
            pos += p.consumed;
            written += p.written;
            if p.status == StreamStatus::Done {
                done = true;
                break;
            }
            if (p.consumed == 0 && p.written == 0) || written == limit {
                break;
            }
        }
        if let Ok(w) = whole {
            assert!(
                done,
                "stream did not finish a stream the whole decoder accepted"
            );
            assert_eq!(out[..w.written], got[..written]);
        }
    } else {
        let whole = gzip_decompress(input, &mut out, InflateOptions::STANDARD);
        let mut dec = GzipDecoder::new(InflateOptions::STANDARD);
        let mut got = vec![0u8; limit];
        let (mut pos, mut written) = (0, 0);
        let mut ok = true;
        loop {
            match dec.decode(
                &input[pos..(pos + piece).min(input.len())],
                &mut got[written..],
            ) {
                Ok(p) => {
                    pos += p.consumed;
                    written += p.written;
                    if pos >= input.len() || (p.consumed == 0 && p.written == 0) || written == limit
                    {
                        break;
                    }
                }
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if let Ok(w) = whole {
            assert!(
                ok && dec.is_done(),
                "stream rejected a file the whole decoder accepted"
            );
            assert_eq!(out[..w.written], got[..written]);
        }
    }
});
