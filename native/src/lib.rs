//! pageflate: the native library (IAA, multifd thread pools, transports) over pageflate-core.
pub use pageflate_core as core;
