//! Encoder: any input compresses (both levels, whole-buffer, page and streaming paths) to
//! a stream that decodes back to the input in strict 4 KiB mode.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::deflate::{Compressor, Deflater, Flush, Level};
use pageflate_core::page::{compress_page, PageEncoding};
use pageflate_core::{Decompressor, InflateOptions};

fn check(stream: &[u8], data: &[u8]) {
    let mut out = vec![0u8; data.len()];
    let r = Decompressor::new()
        .inflate(stream, &mut out, InflateOptions::STRICT_4K)
        .expect("encoder output decodes in strict 4 KiB mode");
    assert_eq!(r.written, data.len());
    assert!(out == data);
}

thread_local! {
    // Compressors carry nothing from one input to the next; reusing them keeps the fuzzer
    // from spending its time allocating 300 KiB of tables per input.
    static STATE: std::cell::RefCell<[(Compressor, Deflater); 2]> = std::cell::RefCell::new([
        (Compressor::new(Level::Fast), Deflater::new(Level::Fast)),
        (Compressor::new(Level::Dense), Deflater::new(Level::Dense)),
    ]);
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    STATE.with(|state| run(&mut state.borrow_mut()[usize::from(sel & 1)], sel, data));
});

fn run((c, d): &mut (Compressor, Deflater), sel: u8, data: &[u8]) {
    let mut out = vec![0u8; data.len() + data.len() / 8 + 64];
    let r = c.compress(data, &mut out).expect("bound");
    check(&out[..r.len], data);

    // The page path on the first 4096 bytes (padded): compressed pages must decode exactly.
    let mut page = [0u8; 4096];
    let n = data.len().min(4096);
    page[..n].copy_from_slice(&data[..n]);
    let mut buf = [0u8; 4096];
    if let PageEncoding::Compressed(len) = compress_page(c, &page, &mut buf) {
        assert!(len < 4096);
        check(&buf[..len], &page);
    }

    // Streaming in pieces chosen by the selector byte, with sync flushes.
    d.reset();
    let mut s = Vec::new();
    let piece = 1 + usize::from(sel >> 1) * 97;
    for (k, chunk) in data.chunks(piece).enumerate() {
        d.compress(
            chunk,
            if k % 3 == 2 { Flush::Sync } else { Flush::None },
            &mut s,
        );
    }
    d.compress(&[], Flush::Finish, &mut s);
    check(&s, data);
}
