//! Run-time CPU dispatch for the software page decoder.
//!
//! pageflate-core is portable (`no_std`, no `unsafe`, baseline x86-64), so its decoder is
//! built without BMI2. The decoder's hot loop shifts the bit buffer by amounts read from
//! table entries; without BMI2's `shrx`/`shlx` every such shift goes through `cl` and the
//! loop spills a register (measured: ~3.5 % of decode time). libdeflate picks a BMI2 build of
//! its decoder at run time for the same reason. This module does the same: when the CPU has
//! BMI2, [`decompress_page`] runs a copy of core's page decoder compiled with it (core's
//! `decompress_page_inline` inlined into a `#[target_feature(enable = "bmi2")]` function);
//! otherwise core's portable build. Both copies are the same source, so they return the
//! same bytes and the same errors — `tests/cpu_dispatch.rs` checks it on every input it has.

use pageflate_core::inflate::{Decompressor, InflateOptions};
use pageflate_core::InflateError;

/// Which build of the software decoder [`decompress_page`] runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecoderBuild {
    /// Baseline x86-64 (or another architecture): core's own build.
    Portable,
    /// x86-64 with BMI2 (variable shifts without `cl`).
    Bmi2,
}

impl DecoderBuild {
    /// The build this CPU runs (detected once; `is_x86_feature_detected!` caches it).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("bmi2") {
            return Self::Bmi2;
        }
        Self::Portable
    }

    /// A short name for reports (`pageflate bench`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Bmi2 => "x86-64 BMI2",
        }
    }
}

/// Decode one page like [`pageflate_core::page::decompress_page`] (same contract, same
/// results), with the fastest decoder build this CPU can run.
pub fn decompress_page(
    decompressor: &mut Decompressor,
    data: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<(), InflateError> {
    decompress_page_with(DecoderBuild::detect(), decompressor, data, out, options)
}

/// Decode one page with a given decoder build; a build the CPU lacks falls back to the
/// portable one (so tests can name each build on any machine).
pub fn decompress_page_with(
    build: DecoderBuild,
    decompressor: &mut Decompressor,
    data: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<(), InflateError> {
    #[cfg(target_arch = "x86_64")]
    if build == DecoderBuild::Bmi2 && std::arch::is_x86_feature_detected!("bmi2") {
        // SAFETY: the CPU has BMI2 (checked just above), the only requirement of calling a
        // `#[target_feature(enable = "bmi2")]` function.
        return unsafe { decompress_page_bmi2(decompressor, data, out, options) };
    }
    let _ = build;
    pageflate_core::page::decompress_page(decompressor, data, out, options)
}

/// Core's page decoder compiled with BMI2: `decompress_page_inline` and the fast loop it
/// inlines take this function's target features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn decompress_page_bmi2(
    decompressor: &mut Decompressor,
    data: &[u8],
    out: &mut [u8],
    options: InflateOptions,
) -> Result<(), InflateError> {
    pageflate_core::page::decompress_page_inline(decompressor, data, out, options)
}
