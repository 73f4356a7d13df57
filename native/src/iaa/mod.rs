//! The Intel IAA (In-Memory Analytics Accelerator) path, written against
//! `../shared/docs/iaa.md`.
//!
//! So far: the byte layouts every other part builds on — descriptors and completion
//! records ([`desc`]) and the AECS and statistics layouts ([`aecs`]) — with golden tests
//! against the tables of iaa.md. Discovery, the portal (ENQCMD/MOVDIR64B/write), the
//! device model and the fallback policy come next (see ARCHITECTURE.md).

pub mod aecs;
pub mod desc;
