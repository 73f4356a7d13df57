//! Shared helpers for the core's integration tests: a seeded PRNG and data generators
//! that look like guest memory (text, code-like bytes, runs, random data, zeros).
#![allow(dead_code)]

/// xorshift64*: small, seeded, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

const WORDS: &[&str] = &[
    "the ",
    "quick ",
    "brown ",
    "fox ",
    "jumps ",
    "over ",
    "lazy ",
    "dog ",
    "page ",
    "migration ",
    "qemu ",
    "multifd ",
    "deflate ",
    "\n",
    "    return ",
    "self.",
    "0x0000",
    "struct ",
    "{",
    "}",
];

/// Data of a random kind and the given length.
pub fn sample(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let kind = rng.below(7);
    while out.len() < len {
        match kind {
            0 => out.push(rng.next_u64() as u8),
            1 => out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes()),
            2 => {
                let b = rng.next_u64() as u8;
                let run = 1 + rng.below(300);
                out.extend(std::iter::repeat_n(b, run));
            }
            3 => out.push(0),
            4 => {
                // Small alphabet: long matches at all distances.
                out.push(b"abcd"[rng.below(4)]);
            }
            5 => {
                // Copies from far back (distances up to 32 KiB), the window edge cases.
                if out.len() > 16 && rng.below(3) == 0 {
                    let dist = 1 + rng.below(out.len().min(40000));
                    let n = 3 + rng.below(258);
                    for _ in 0..n {
                        let b = out[out.len() - dist];
                        out.push(b);
                    }
                } else {
                    let n = 1 + rng.below(20);
                    out.extend_from_slice(&rng.bytes(n));
                }
            }
            _ => {
                // A mixture, like real memory: stretches of each kind.
                let n = 1 + rng.below(512);
                let inner = sample(rng, n);
                out.extend_from_slice(&inner);
            }
        }
    }
    out.truncate(len);
    out
}

/// A length: mostly page-sized or small, sometimes large.
pub fn sample_len(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 => rng.below(64),
        1..=4 => 4096,
        5..=7 => rng.below(8192),
        8 => rng.below(70000),
        _ => rng.below(300_000),
    }
}
