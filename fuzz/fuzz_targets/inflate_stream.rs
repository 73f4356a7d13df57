//! The streaming inflater, fed input and given output in pieces chosen by the fuzzer,
//! agrees with the whole-buffer decoder on success and output.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::{Decompressor, InflateOptions, Inflater, StreamStatus};

thread_local! {
    // Reused between inputs (reset per input): allocation would dominate otherwise.
    static STATE: std::cell::RefCell<(Inflater, Decompressor, Vec<u8>)> = std::cell::RefCell::new((
        Inflater::new(InflateOptions::STANDARD),
        Decompressor::new(),
        vec![0u8; 1 << 17],
    ));
}

fuzz_target!(|data: &[u8]| STATE.with(|st| {
    let (inflater, decompressor, whole) = &mut *st.borrow_mut();
    inflater.reset();
    let (split, input) = match data.split_first() {
        Some((s, rest)) => (*s as usize, rest),
        None => return,
    };
    let in_piece = 1 + (split & 0x0f) * 37;
    let out_piece = 1 + (split >> 4) * 611;
    let limit = 1 << 17;

    let expected = decompressor
        .inflate(input, whole, InflateOptions::STANDARD)
        .map(|r| whole[..r.written].to_vec());

    let mut got = Vec::new();
    let mut buf = vec![0u8; out_piece];
    let mut pos = 0;
    let streamed = loop {
        let end = (pos + in_piece).min(input.len());
        match inflater.inflate(&input[pos..end], &mut buf) {
            Err(e) => break Err(e),
            Ok(p) => {
                pos += p.consumed;
                got.extend_from_slice(&buf[..p.written]);
                if p.status == StreamStatus::Done {
                    break Ok(got);
                }
                if got.len() > limit || (p.status == StreamStatus::NeedsInput && pos >= input.len())
                {
                    break Err(pageflate_core::InflateError::at_byte(
                        pageflate_core::InflateErrorKind::UnexpectedEof,
                        pos as u64,
                    ));
                }
            }
        }
    };
    match (&expected, &streamed) {
        (Ok(a), Ok(b)) => assert!(a == b, "outputs differ"),
        (Err(_), Err(_)) => {}
        // The whole-buffer decoder stops at its buffer's end; the stream stops at the limit.
        _ if hit_limit(&expected, &streamed, limit) => {}
        _ => panic!(
            "whole {:?} vs stream {:?}",
            expected.as_ref().map(|v| v.len()),
            streamed.as_ref().map(|v| v.len())
        ),
    }
}));

fn hit_limit(
    expected: &Result<Vec<u8>, pageflate_core::InflateError>,
    streamed: &Result<Vec<u8>, pageflate_core::InflateError>,
    limit: usize,
) -> bool {
    matches!(expected, Err(e) if e.kind == pageflate_core::InflateErrorKind::OutputFull)
        || matches!(streamed, Ok(v) if v.len() >= limit)
        || matches!(streamed, Err(e) if e.kind == pageflate_core::InflateErrorKind::UnexpectedEof)
            && matches!(expected, Err(_))
}
