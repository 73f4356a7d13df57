//! The capture model on arbitrary files: the input is split into a main stream and up to
//! two multifd channels (separator-delimited); opening and rebuilding RAM never panics, and
//! rebuilding refuses streams announcing more RAM than the limit given.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pageflate_core::capture::Capture;

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.split(|&b| b == 0xa5).take(3).collect();
    let mut files: Vec<Vec<u8>> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut f = if i == 0 {
            b"QEVM\x00\x00\x00\x03".to_vec()
        } else {
            {
                let mut init = vec![0u8; 64];
                init[..8].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]);
                init[24] = (i - 1) as u8;
                init
            }
        };
        f.extend_from_slice(p);
        files.push(f);
    }
    let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
    if let Ok(c) = Capture::open(&refs, 4096) {
        // Rebuilding allocates the announced RAM: the limit bounds what a stream can ask for.
        let _ = c.reconstruct_ram(64 << 20);
        for ch in &c.channels {
            let _ = c.channel_stats(ch);
        }
    }
});
