//! Checksums: Adler-32 (zlib, RFC 1950), CRC-32 (gzip, RFC 1952) and CRC-32C (Castagnoli).

/// Largest number of bytes Adler-32 can sum before its 32-bit sums must be reduced
/// (zlib's NMAX: 255·n·(n+1)/2 + (n+1)·(65520) < 2^32).
const ADLER_NMAX: usize = 5552;
const ADLER_MOD: u32 = 65521;

/// Running Adler-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Adler32 {
    /// The checksum of no data (1).
    pub const fn new() -> Self {
        Self { a: 1, b: 0 }
    }

    /// Add `data`.
    pub fn update(&mut self, data: &[u8]) {
        let (mut a, mut b) = (self.a, self.b);
        for chunk in data.chunks(ADLER_NMAX) {
            // Four independent column sums let the compiler keep the loop short.
            let mut quads = chunk.chunks_exact(4);
            for q in &mut quads {
                a += u32::from(q[0]);
                b += a;
                a += u32::from(q[1]);
                b += a;
                a += u32::from(q[2]);
                b += a;
                a += u32::from(q[3]);
                b += a;
            }
            for &byte in quads.remainder() {
                a += u32::from(byte);
                b += a;
            }
            a %= ADLER_MOD;
            b %= ADLER_MOD;
        }
        self.a = a;
        self.b = b;
    }

    /// The checksum so far.
    pub const fn finish(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

/// Adler-32 of `data`.
pub fn adler32(data: &[u8]) -> u32 {
    let mut a = Adler32::new();
    a.update(data);
    a.finish()
}

/// Slice-by-8 tables for a reflected CRC-32 with polynomial `poly`.
const fn crc_tables(poly: u32) -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

static CRC32_TABLES: [[u32; 256]; 8] = crc_tables(0xEDB8_8320);
static CRC32C_TABLES: [[u32; 256]; 8] = crc_tables(0x82F6_3B78);

/// Update a reflected CRC (pre/post-inverted by the callers) with slice-by-8.
fn crc_update(tables: &[[u32; 256]; 8], mut crc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = tables[7][(lo & 0xff) as usize]
            ^ tables[6][((lo >> 8) & 0xff) as usize]
            ^ tables[5][((lo >> 16) & 0xff) as usize]
            ^ tables[4][(lo >> 24) as usize]
            ^ tables[3][(hi & 0xff) as usize]
            ^ tables[2][((hi >> 8) & 0xff) as usize]
            ^ tables[1][((hi >> 16) & 0xff) as usize]
            ^ tables[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ tables[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    crc
}

/// Running CRC-32 (IEEE 802.3, as gzip uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Crc32 {
    state: u32,
}

impl Crc32 {
    /// The CRC of no data (0).
    pub const fn new() -> Self {
        Self { state: 0 }
    }

    /// Continue a CRC computed earlier (a seed, as IAA's AECS holds one).
    pub const fn resume(crc: u32) -> Self {
        Self { state: crc }
    }

    /// Add `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.state = !crc_update(&CRC32_TABLES, !self.state, data);
    }

    /// The CRC so far.
    pub const fn finish(&self) -> u32 {
        self.state
    }
}

/// CRC-32 (gzip) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(data);
    c.finish()
}

/// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    !crc_update(&CRC32C_TABLES, !crc, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32c(0, b"123456789"), 0xE306_9283);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: alloc::vec::Vec<u8> = (0..20000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let mut a = Adler32::new();
        let mut c = Crc32::new();
        for piece in data.chunks(777) {
            a.update(piece);
            c.update(piece);
        }
        assert_eq!(a.finish(), adler32(&data));
        assert_eq!(c.finish(), crc32(&data));
        let all_ff = [0xffu8; 100_000];
        let mut slow = Adler32::new();
        for b in all_ff.chunks(1) {
            slow.update(b);
        }
        assert_eq!(slow.finish(), adler32(&all_ff));
    }
}
