//! pageflate: the native library (IAA, multifd thread pools, transports) over pageflate-core.
//!
//! Today: the bundled sample and its decoding ([`sample`], [`demo`]); capture inspection
//! and extraction ([`inspect`]).
#![deny(missing_docs)]

pub use pageflate_core as core;

pub mod demo;
pub mod inspect;
pub mod sample;
