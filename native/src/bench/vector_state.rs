//! The CPU's vector registers between one codec's timed run and the next.
//!
//! Code built with AVX (ISA-L's and QPL's assembly, here) may return with the upper halves
//! of the vector registers in use: it leaves out the `vzeroupper` that compilers put
//! at the end of every AVX function. Until some code clears them, each legacy-SSE
//! instruction (the baseline x86-64 encoding, what Rust and C code without AVX compiles
//! to) has to merge those upper halves, a dependency on the register's old value that
//! makes otherwise independent instructions wait on each other.
//!
//! Measured on the Zen 5 bench machine (session 13, docs/profile.md): with ISA-L level 1
//! in the line-up, pageflate's dense level ran 3.5–4 % slower over all the pages that
//! followed, libdeflate ≤ 1 %. `encode_ab` with the state dirtied by hand
//! showed the same 3.5 %, all of it in the SSE loops that price a block. One
//! `vzeroupper` before each codec's run removes the effect, so every codec is measured
//! from the same clean state, whatever ran before it.

/// Clear the upper halves of the vector registers (`vzeroupper`) if the CPU has AVX;
/// nothing on other CPUs and architectures.
pub(super) fn clear_upper_halves() {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above), the only requirement of
        // `zero_upper_halves`. Upper halves hold no live value across a call (the
        // System V ABI makes all vector registers caller-saved), so zeroing them here
        // cannot change any value the program holds.
        unsafe { zero_upper_halves() }
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "avx")]
fn zero_upper_halves() {
    core::arch::x86_64::_mm256_zeroupper();
}
