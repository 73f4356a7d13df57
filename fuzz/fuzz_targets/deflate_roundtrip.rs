//! Encoder: any input compresses to a stream that decodes back to the input in strict
//! 4 KiB mode. The first byte picks the level and one path — whole buffer, page (QEMU's
//! cap, raw when it does not fit), or streaming in pieces with sync flushes — so every
//! run does one compression and one decompression.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::deflate::{Compressor, Deflater, Flush, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::{Decompressor, InflateOptions};

struct State {
    compressors: [Compressor; 2],
    deflaters: [Deflater; 2],
    decompressor: Decompressor,
    out: Vec<u8>,
    back: Vec<u8>,
}

thread_local! {
    // Compressors carry nothing from one input to the next; reusing them (and the
    // buffers) keeps allocation out of the measured work.
    static STATE: std::cell::RefCell<State> = std::cell::RefCell::new(State {
        compressors: [Compressor::new(Level::Fast), Compressor::new(Level::Dense)],
        deflaters: [Deflater::new(Level::Fast), Deflater::new(Level::Dense)],
        decompressor: Decompressor::new(),
        out: Vec::new(),
        back: Vec::new(),
    });
}

fn check(d: &mut Decompressor, back: &mut Vec<u8>, stream: &[u8], data: &[u8]) {
    back.clear();
    back.resize(data.len(), 0);
    let r = d
        .inflate(stream, back, InflateOptions::STRICT_4K)
        .expect("encoder output decodes in strict 4 KiB mode");
    assert_eq!(r.written, data.len());
    assert!(back[..] == *data);
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    STATE.with(|state| {
        let s = &mut *state.borrow_mut();
        let level = usize::from(sel >> 7);
        match sel & 3 {
            0 | 3 => {
                s.out.clear();
                s.out.resize(data.len() + data.len() / 8 + 64, 0);
                let r = s.compressors[level]
                    .compress(data, &mut s.out)
                    .expect("bound");
                let stream = s.out[..r.len].to_vec();
                check(&mut s.decompressor, &mut s.back, &stream, data);
            }
            1 => {
                // The page path on the first 4096 bytes, zero-padded.
                let mut page = [0u8; 4096];
                let n = data.len().min(4096);
                page[..n].copy_from_slice(&data[..n]);
                let mut buf = [0u8; 4096];
                match compress_page(&mut s.compressors[level], &page, &mut buf) {
                    PageEncoding::Compressed(len) => {
                        assert!(len < 4096);
                        check(&mut s.decompressor, &mut s.back, &buf[..len], &page);
                    }
                    // Raw is allowed only for a page that does not fit: check it would not.
                    PageEncoding::Raw => assert!(n > 0),
                }
            }
            _ => {
                let d = &mut s.deflaters[level];
                d.reset();
                let mut stream = Vec::new();
                let piece = 1 + usize::from((sel >> 2) & 0x1f) * 131;
                for (k, chunk) in data.chunks(piece).enumerate() {
                    let flush = if k % 3 == 2 { Flush::Sync } else { Flush::None };
                    d.compress(chunk, flush, &mut stream);
                }
                d.compress(&[], Flush::Finish, &mut stream);
                check(&mut s.decompressor, &mut s.back, &stream, data);
            }
        }
    });
});
