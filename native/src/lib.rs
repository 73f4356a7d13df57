//! pageflate: the native library over pageflate-core — guest memory ([`ram`]), channels
//! ([`transport`]), the multifd sender and receiver thread pools ([`multifd`]), the
//! migration demo ([`demo`]), capture inspection ([`inspect`]) and the run-time choice of
//! the software decoder's build for this CPU ([`cpu`]).
#![deny(missing_docs)]

pub use pageflate_core as core;

pub mod bench;
pub mod cpu;
pub mod demo;
pub mod iaa;
pub mod inspect;
pub mod multifd;
pub mod ram;
pub mod sample;
pub mod transport;
