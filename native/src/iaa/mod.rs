//! The Intel IAA (In-Memory Analytics Accelerator) path, written against
//! `../shared/docs/iaa.md`:
//!
//! - [`sysfs`]: devices and work queues, and why a queue cannot be used;
//! - [`portal`]: the [`portal::Portal`] trait and the real portal (ENQCMD, MOVDIR64B,
//!   `write(2)`; the only inline assembly);
//! - [`desc`], [`aecs`]: descriptor, completion-record and AECS layouts;
//! - [`driver`]: submission across queues, polling, faults, overflow, the software fallback;
//! - [`model`]: a software IAA device behind the same trait, for tests and demos (no IAA
//!   hardware exists here).
//!
//! [`crate::multifd::engine::IaaEngine`] puts it behind the multifd thread pools.

pub mod aecs;
pub mod desc;
pub mod driver;
pub mod model;
pub mod portal;
pub mod sysfs;

use crate::multifd::engine::Engine;
use std::sync::Arc;

/// Which page engine a command asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// IAA when a usable work queue exists, else software (the default).
    Auto,
    /// IAA or an error that says why not.
    Iaa,
    /// Software only.
    Software,
}

/// Environment variable that replaces IAA hardware with the device model (`1` or `2` for
/// the IAA generation). For tests and demos only: production runs never set it.
pub const MODEL_ENV: &str = "PAGEFLATE_IAA_MODEL";

/// An IAA context over the model, when [`MODEL_ENV`] asks for one.
pub fn model_from_env() -> Option<(Arc<driver::Iaa>, String)> {
    let v = std::env::var(MODEL_ENV).ok()?;
    let version = if v.trim() == "1" { 1 } else { 2 };
    let m = model::IaaModel::new(model::ModelConfig {
        version,
        queues: vec![
            model::QueueConfig {
                size: 128,
                mode: sysfs::Mode::Shared,
                block_on_fault: false,
            };
            2
        ],
        ..model::ModelConfig::default()
    });
    let iaa = driver::Iaa::new(m.portals(), version >= 2, driver::Policy::default());
    Some((
        Arc::new(iaa),
        format!(
            "IAA {version}.0 device model ({MODEL_ENV}; tests and demos only), 2 shared queues"
        ),
    ))
}

/// Usable hardware queues, opened. `Err` says why there are none.
pub fn open_hardware() -> Result<(Arc<driver::Iaa>, String), String> {
    let cpu = sysfs::CpuFeatures::detect();
    let devices = sysfs::discover(&sysfs::Roots::default(), cpu);
    if devices.is_empty() {
        return Err("no IAA device under /sys/bus/dsa/devices (this machine has no IAA, or the idxd driver is not loaded)".into());
    }
    let mut reasons = Vec::new();
    let mut portals: Vec<Arc<dyn portal::Portal>> = Vec::new();
    let mut iaa2 = false;
    for d in &devices {
        for q in &d.queues {
            match &q.unusable {
                Some(why) => reasons.push(format!("{}: {why}", q.name)),
                None => open_queue(q, &mut portals, &mut reasons),
            }
        }
        iaa2 |= d.is_iaa2();
    }
    if portals.is_empty() {
        return Err(format!("no usable IAA work queue: {}", reasons.join("; ")));
    }
    let names = portals
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ");
    let iaa = driver::Iaa::new(portals, iaa2, driver::Policy::default());
    iaa.noop()
        .map_err(|e| format!("IAA queues {names} opened, but a no-op descriptor failed: {e:?}"))?;
    Ok((Arc::new(iaa), format!("IAA hardware: {names}")))
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn open_queue(
    q: &sysfs::WorkQueue,
    portals: &mut Vec<Arc<dyn portal::Portal>>,
    reasons: &mut Vec<String>,
) {
    match portal::HwPortal::open(q) {
        Ok(p) => portals.push(Arc::new(p)),
        Err(e) => reasons.push(format!(
            "{}: cannot open {}: {e}",
            q.name,
            q.dev_node.display()
        )),
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn open_queue(
    q: &sysfs::WorkQueue,
    _: &mut Vec<Arc<dyn portal::Portal>>,
    reasons: &mut Vec<String>,
) {
    reasons.push(format!("{}: IAA submission needs x86_64 Linux", q.name));
}

/// The engine for `choice`, and a line saying what it is.
pub fn engine(choice: Choice) -> Result<(Engine, String), String> {
    if choice == Choice::Software {
        return Ok((Engine::Software, "software".into()));
    }
    let found = match model_from_env() {
        Some(m) => Ok(m),
        None => open_hardware(),
    };
    match (found, choice) {
        (Ok((iaa, what)), _) => Ok((Engine::Iaa(iaa), what)),
        (Err(why), Choice::Auto) => Ok((Engine::Software, format!("software ({why})"))),
        (Err(why), _) => Err(why),
    }
}
