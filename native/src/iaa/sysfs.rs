//! Finding IAA devices and work queues (iaa.md §1): the `dsa` bus in sysfs (devices
//! `iax<N>`, queues `wq<N>.<M>`, flat under `/sys/bus/dsa/devices`) and the char devices
//! under `/dev/iax`. Both roots are parameters so tests run on fake trees.
//!
//! Every queue that cannot be used says why ([`Unusable`]): a user who sees "no IAA" must
//! learn whether the device is off, the queue is a kernel queue, the node is missing, or
//! the permissions are wrong.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where to look, and as whom.
#[derive(Debug, Clone)]
pub struct Roots {
    /// The dsa bus's device directory (`/sys/bus/dsa/devices`).
    pub sysfs: PathBuf,
    /// The char-device directory (`/dev/iax`).
    pub dev: PathBuf,
    /// Whose permissions to check the device nodes against (`None`: this process's).
    pub identity: Option<Identity>,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            sysfs: "/sys/bus/dsa/devices".into(),
            dev: "/dev/iax".into(),
            identity: None,
        }
    }
}

/// A user and its groups, for permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Effective user id.
    pub uid: u32,
    /// Effective and supplementary group ids.
    pub gids: Vec<u32>,
}

impl Identity {
    /// This process's.
    pub fn current() -> Self {
        // SAFETY: geteuid/getegid have no preconditions; getgroups writes at most `n`
        // entries into a buffer of that size.
        unsafe {
            let mut gids = vec![libc::getegid()];
            let n = libc::getgroups(0, std::ptr::null_mut());
            if n > 0 {
                let mut buf = vec![0 as libc::gid_t; n as usize];
                let got = libc::getgroups(n, buf.as_mut_ptr());
                if got > 0 {
                    gids.extend_from_slice(&buf[..got as usize]);
                }
            }
            Identity {
                uid: libc::geteuid(),
                gids,
            }
        }
    }

    /// Whether this identity may open a file with `meta` for reading and writing, by its
    /// mode bits (root may always).
    pub fn may_read_write(&self, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        if self.uid == 0 {
            return true;
        }
        let mode = meta.mode();
        let bits = if meta.uid() == self.uid {
            mode >> 6
        } else if self.gids.contains(&meta.gid()) {
            mode >> 3
        } else {
            mode
        };
        bits & 0o6 == 0o6
    }
}

/// An IAA device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `iax<N>`.
    pub name: String,
    /// N.
    pub id: u32,
    /// Hardware version (major in bits 15:8; major ≥ 2 is IAA 2.0).
    pub version: u32,
    /// `enabled` / `disabled`.
    pub state: String,
    /// NUMA node (-1: none).
    pub numa_node: i32,
    /// GENCAP register.
    pub gen_cap: u64,
    /// IAACAP register (IAA 2.0 only).
    pub iaa_cap: Option<u64>,
    /// Largest transfer in bytes.
    pub max_transfer_size: u64,
    /// Its work queues.
    pub queues: Vec<WorkQueue>,
}

impl Device {
    /// Whether this is an IAA 2.0 device (version major ≥ 2).
    pub fn is_iaa2(&self) -> bool {
        self.version >> 8 >= 2
    }

    /// GENCAP bit 0: block-on-fault supported.
    pub fn supports_block_on_fault(&self) -> bool {
        self.gen_cap & 1 != 0
    }

    /// GENCAP bit 2: cache control (write to cache) supported.
    pub fn supports_cache_control(&self) -> bool {
        self.gen_cap & 4 != 0
    }
}

/// Shared or dedicated (iaa.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Submitted with ENQCMD; many openers; acceptance feedback.
    Shared,
    /// Submitted with MOVDIR64B; one opener; no feedback.
    Dedicated,
}

/// Why a work queue cannot be used by this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Its device is not enabled.
    DeviceDisabled(String),
    /// The queue itself is not enabled (its state).
    Disabled(String),
    /// Not a `user` queue (kernel queues have no char device).
    NotUserType(String),
    /// A dedicated queue and this CPU has no MOVDIR64B.
    DedicatedWithoutMovdir64b,
    /// A shared queue and this CPU (or kernel) has no ENQCMD.
    SharedWithoutEnqcmd,
    /// `/dev/iax/wq<N>.<M>` does not exist.
    NoDeviceNode(PathBuf),
    /// The node exists but this process may not open it read-write.
    NoPermission(PathBuf),
    /// The queue's `op_config` does not allow an opcode pageflate needs.
    OpcodeNotAllowed(u8),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::DeviceDisabled(s) => {
                write!(f, "its device is {s} (enable it with accel-config)")
            }
            Unusable::Disabled(s) => write!(
                f,
                "the queue is {s} (configure and enable it: `pageflate iaa setup`)"
            ),
            Unusable::NotUserType(t) => {
                write!(f, "type {t:?}: only `user` queues get a /dev/iax node")
            }
            Unusable::DedicatedWithoutMovdir64b => {
                f.write_str("dedicated queue, but this CPU has no MOVDIR64B")
            }
            Unusable::SharedWithoutEnqcmd => {
                f.write_str("shared queue, but this CPU (or kernel) offers no ENQCMD")
            }
            Unusable::NoDeviceNode(p) => write!(
                f,
                "{} does not exist (is the idxd `user` driver bound?)",
                p.display()
            ),
            Unusable::NoPermission(p) => write!(
                f,
                "no read-write access to {} (run as root or join its group, e.g. dsadev)",
                p.display()
            ),
            Unusable::OpcodeNotAllowed(op) => {
                write!(f, "op_config does not allow opcode {op:#04x}")
            }
        }
    }
}

/// A work queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkQueue {
    /// `wq<N>.<M>`.
    pub name: String,
    /// State (`enabled`, `disabled`, ...).
    pub state: String,
    /// Shared or dedicated.
    pub mode: Mode,
    /// `user`, `kernel`, `none`.
    pub wq_type: String,
    /// The queue's free-form name.
    pub label: String,
    /// Entries.
    pub size: u32,
    /// Priority within its group.
    pub priority: u32,
    /// Whether the device blocks on page faults for this queue.
    pub block_on_fault: bool,
    /// Largest transfer.
    pub max_transfer_size: u64,
    /// Allowed opcodes (IAA 2.0), bit n = opcode n, least significant word first.
    pub op_config: Option<[u32; 8]>,
    /// Group (-1: none).
    pub group_id: i32,
    /// The char device.
    pub dev_node: PathBuf,
    /// Why it cannot be used, if it cannot.
    pub unusable: Option<Unusable>,
}

impl WorkQueue {
    /// Whether `opcode` is allowed (always, without an `op_config`).
    pub fn allows(&self, opcode: u8) -> bool {
        self.op_config
            .is_none_or(|w| w[usize::from(opcode / 32)] >> (opcode % 32) & 1 != 0)
    }
}

fn read(dir: &Path, attr: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(attr))
        .ok()
        .map(|s| s.trim().to_string())
}

fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `op_config`: 8 comma-separated 32-bit hex words, most significant first.
pub fn parse_op_config(s: &str) -> Option<[u32; 8]> {
    let words: Vec<u32> = s
        .trim()
        .split(',')
        .map(|w| u32::from_str_radix(w.trim().trim_start_matches("0x"), 16))
        .collect::<Result<_, _>>()
        .ok()?;
    if words.len() != 8 {
        return None;
    }
    let mut out = [0u32; 8];
    for (i, w) in words.iter().rev().enumerate() {
        out[i] = *w;
    }
    Some(out)
}

/// CPU support for the submission instructions (CPUID leaf 7, ECX bits 28 and 29).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuFeatures {
    /// MOVDIR64B (dedicated queues).
    pub movdir64b: bool,
    /// ENQCMD (shared queues).
    pub enqcmd: bool,
}

impl CpuFeatures {
    /// What this CPU reports.
    pub fn detect() -> Self {
        cfg_if::cfg_if! {
            if #[cfg(target_arch = "x86_64")] {
                // CPUID is available on every x86_64 CPU; leaf 7 needs max leaf ≥ 7.
                let max = core::arch::x86_64::__cpuid(0).eax;
                if max < 7 {
                    return Self::default();
                }
                let ecx = core::arch::x86_64::__cpuid_count(7, 0).ecx;
                Self {
                    movdir64b: ecx >> 28 & 1 != 0,
                    enqcmd: ecx >> 29 & 1 != 0,
                }
            } else {
                Self::default()
            }
        }
    }
}

/// Devices and their queues under `roots`, each unusable queue with its reason. An absent
/// sysfs directory means no IAA: an empty list, not an error.
pub fn discover(roots: &Roots, cpu: CpuFeatures) -> Vec<Device> {
    let Ok(entries) = std::fs::read_dir(&roots.sysfs) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut devices = Vec::new();
    for name in names.iter().filter(|n| n.starts_with("iax")) {
        let Ok(id) = name[3..].parse::<u32>() else {
            continue;
        };
        let dir = roots.sysfs.join(name);
        let state = read(&dir, "state").unwrap_or_else(|| "unknown".into());
        let mut dev = Device {
            name: name.clone(),
            id,
            version: read(&dir, "version").and_then(|v| number(&v)).unwrap_or(0) as u32,
            state: state.clone(),
            numa_node: read(&dir, "numa_node")
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1),
            gen_cap: read(&dir, "gen_cap").and_then(|v| number(&v)).unwrap_or(0),
            iaa_cap: read(&dir, "iaa_cap").and_then(|v| number(&v)),
            max_transfer_size: read(&dir, "max_transfer_size")
                .and_then(|v| number(&v))
                .unwrap_or(0),
            queues: Vec::new(),
        };
        let prefix = format!("wq{id}.");
        for wq in names.iter().filter(|n| n.starts_with(&prefix)) {
            dev.queues
                .push(read_queue(roots, &roots.sysfs.join(wq), wq, &state, cpu));
        }
        devices.push(dev);
    }
    devices
}

fn read_queue(
    roots: &Roots,
    dir: &Path,
    name: &str,
    device_state: &str,
    cpu: CpuFeatures,
) -> WorkQueue {
    let mode = match read(dir, "mode").as_deref() {
        Some("dedicated") => Mode::Dedicated,
        _ => Mode::Shared,
    };
    let mut q = WorkQueue {
        name: name.to_string(),
        state: read(dir, "state").unwrap_or_else(|| "unknown".into()),
        mode,
        wq_type: read(dir, "type").unwrap_or_else(|| "none".into()),
        label: read(dir, "name").unwrap_or_default(),
        size: read(dir, "size").and_then(|v| number(&v)).unwrap_or(0) as u32,
        priority: read(dir, "priority").and_then(|v| number(&v)).unwrap_or(0) as u32,
        block_on_fault: read(dir, "block_on_fault").is_some_and(|v| v == "1"),
        max_transfer_size: read(dir, "max_transfer_size")
            .and_then(|v| number(&v))
            .unwrap_or(0),
        op_config: read(dir, "op_config").and_then(|v| parse_op_config(&v)),
        group_id: read(dir, "group_id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1),
        dev_node: roots.dev.join(name),
        unusable: None,
    };
    q.unusable = if device_state != "enabled" {
        Some(Unusable::DeviceDisabled(device_state.to_string()))
    } else if q.state != "enabled" {
        Some(Unusable::Disabled(q.state.clone()))
    } else if q.wq_type != "user" {
        Some(Unusable::NotUserType(q.wq_type.clone()))
    } else if let Some(op) = [
        super::desc::opcode::DECOMPRESS,
        super::desc::opcode::COMPRESS,
    ]
    .into_iter()
    .find(|&op| !q.allows(op))
    {
        Some(Unusable::OpcodeNotAllowed(op))
    } else if mode == Mode::Dedicated && !cpu.movdir64b {
        Some(Unusable::DedicatedWithoutMovdir64b)
    } else if mode == Mode::Shared && !cpu.enqcmd {
        Some(Unusable::SharedWithoutEnqcmd)
    } else if let Ok(meta) = std::fs::metadata(&q.dev_node) {
        let who = roots.identity.clone().unwrap_or_else(Identity::current);
        (!who.may_read_write(&meta)).then(|| Unusable::NoPermission(q.dev_node.clone()))
    } else {
        Some(Unusable::NoDeviceNode(q.dev_node.clone()))
    };
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake sysfs + /dev tree: one IAA 2.0 device with a queue per unusable reason.
    fn tree(tag: &str) -> Roots {
        let base =
            std::env::temp_dir().join(format!("pageflate-sysfs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (sys, dev) = (base.join("sys"), base.join("dev"));
        std::fs::create_dir_all(&dev).unwrap();
        let attrs = |dir: &Path, kv: &[(&str, &str)]| {
            std::fs::create_dir_all(dir).unwrap();
            for (k, v) in kv {
                std::fs::write(dir.join(k), format!("{v}\n")).unwrap();
            }
        };
        attrs(
            &sys.join("iax1"),
            &[
                ("version", "0x200"),
                ("state", "enabled"),
                ("numa_node", "0"),
                ("gen_cap", "0x40915f010f"),
                ("iaa_cap", "0x1c3"),
                ("max_transfer_size", "2147483648"),
            ],
        );
        attrs(
            &sys.join("iax3"),
            &[("version", "0x100"), ("state", "disabled")],
        );
        let all_ops = "00000000,00000000,00000000,00000000,00000000,0000000c,00000000,00000001";
        let no_compress = "00000000,00000000,00000000,00000000,00000000,00000004,00000000,00000001";
        let wq = |name: &str, state: &str, mode: &str, ty: &str, op: &str| {
            attrs(
                &sys.join(name),
                &[
                    ("state", state),
                    ("mode", mode),
                    ("type", ty),
                    ("name", "app1"),
                    ("size", "128"),
                    ("priority", "10"),
                    ("block_on_fault", "1"),
                    ("max_transfer_size", "2147483648"),
                    ("op_config", op),
                    ("group_id", "0"),
                ],
            );
        };
        wq("wq1.0", "enabled", "shared", "user", all_ops); // usable
        wq("wq1.1", "disabled", "shared", "user", all_ops);
        wq("wq1.2", "enabled", "shared", "kernel", all_ops);
        wq("wq1.3", "enabled", "shared", "user", no_compress);
        wq("wq1.4", "enabled", "dedicated", "user", all_ops);
        wq("wq1.5", "enabled", "shared", "user", all_ops); // no node
        wq("wq1.6", "enabled", "shared", "user", all_ops); // node not accessible
        wq("wq3.0", "enabled", "shared", "user", all_ops); // device disabled
        for n in ["wq1.0", "wq1.4", "wq1.6", "wq3.0"] {
            std::fs::write(dev.join(n), b"").unwrap();
        }
        std::fs::set_permissions(dev.join("wq1.0"), std::fs::Permissions::from_mode(0o666))
            .unwrap();
        std::fs::set_permissions(dev.join("wq1.6"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        Roots {
            sysfs: sys,
            dev,
            // An unprivileged user that owns nothing: root would pass every check.
            identity: Some(Identity {
                uid: 4242,
                gids: vec![4242],
            }),
        }
    }

    #[test]
    fn every_unusable_reason_is_named() {
        let roots = tree("reasons");
        let cpu = CpuFeatures {
            movdir64b: false,
            enqcmd: true,
        };
        let devices = discover(&roots, cpu);
        assert_eq!(devices.len(), 2);
        let d = &devices[0];
        assert!(d.is_iaa2() && d.supports_block_on_fault() && d.iaa_cap.is_some());
        assert_eq!(d.max_transfer_size, 2 << 30);
        let why: Vec<(&str, Option<&Unusable>)> = d
            .queues
            .iter()
            .map(|q| (q.name.as_str(), q.unusable.as_ref()))
            .collect();
        assert_eq!(why[0], ("wq1.0", None));
        assert_eq!(why[1].1, Some(&Unusable::Disabled("disabled".into())));
        assert_eq!(why[2].1, Some(&Unusable::NotUserType("kernel".into())));
        assert_eq!(why[3].1, Some(&Unusable::OpcodeNotAllowed(0x43)));
        assert_eq!(why[4].1, Some(&Unusable::DedicatedWithoutMovdir64b));
        assert!(matches!(why[5].1, Some(Unusable::NoDeviceNode(_))));
        assert!(matches!(why[6].1, Some(Unusable::NoPermission(_))));
        assert_eq!(
            devices[1].queues[0].unusable,
            Some(Unusable::DeviceDisabled("disabled".into()))
        );
        assert!(!devices[1].is_iaa2());
        // Without ENQCMD every shared queue is out, and the reason says so.
        let none = discover(&roots, CpuFeatures::default());
        assert_eq!(
            none[0].queues[0].unusable,
            Some(Unusable::SharedWithoutEnqcmd)
        );
        for q in &d.queues {
            if let Some(u) = &q.unusable {
                assert!(!u.to_string().is_empty());
            }
        }
    }

    #[test]
    fn op_config_bits_and_absent_trees() {
        let w = parse_op_config(
            "00000000,00000000,00000000,00000000,00000000,0000000c,00000000,00000001",
        )
        .unwrap();
        assert_eq!(w[0], 1); // least significant word first: opcode 0 (no-op)
        assert_eq!(w[2], 0xc); // opcodes 0x42 and 0x43
        assert!(parse_op_config("1,2,3").is_none());
        let nothing = Roots {
            sysfs: "/nonexistent/sys".into(),
            ..Roots::default()
        };
        assert!(discover(&nothing, CpuFeatures::detect()).is_empty());
    }
}
