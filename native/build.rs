//! Build script: the ISA-L and Intel QPL peers of `pageflate bench`.
//!
//! When ISA-L's header is installed (Debian's `libisal-dev`, which `scripts/setup.sh`
//! installs for the tests), compile the small C shim in `csrc/isal_peer.c`, link
//! `libisal`, and set `cfg(pageflate_isal)`. When `scripts/fetch-qpl.sh` has unpacked
//! Debian's libqpl-dev into `.deps/qpl` (setup does), compile `csrc/qpl_peer.c`, link the
//! static `libqpl.a` and libstdc++, and set `cfg(pageflate_qpl)`. Without either, pageflate
//! builds as before and `pageflate bench` says which peer was not built in, and why.
//! Nothing else uses them.

use std::path::{Path, PathBuf};

const HEADER: &str = "/usr/include/isa-l/igzip_lib.h";
/// Debian's package database: it changes when `libisal-dev` gets installed, so a build
/// made without ISA-L notices it then (a missing watched path would rerun this every time).
const DPKG_STATUS: &str = "/var/lib/dpkg/status";

fn main() {
    isal();
    qpl();
}

fn target_is_x86_64_linux() -> bool {
    std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")
        && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
}

fn isal() {
    println!("cargo::rustc-check-cfg=cfg(pageflate_isal)");
    println!("cargo::rerun-if-changed=csrc/isal_peer.c");
    println!("cargo::rerun-if-env-changed=PAGEFLATE_NO_ISAL");
    let target_ok = target_is_x86_64_linux();
    let header = Path::new(HEADER);
    if header.exists() {
        println!("cargo::rerun-if-changed={HEADER}");
    } else if Path::new(DPKG_STATUS).exists() {
        println!("cargo::rerun-if-changed={DPKG_STATUS}");
    }
    let missing = if !target_ok {
        Some("the ISA-L peer is built for x86-64 Linux only")
    } else if std::env::var_os("PAGEFLATE_NO_ISAL").is_some() {
        Some("PAGEFLATE_NO_ISAL was set when pageflate was built")
    } else if !header.exists() {
        Some(concat!(
            "ISA-L's header (Debian package libisal-dev, which scripts/setup.sh installs) ",
            "was missing when pageflate was built"
        ))
    } else {
        None
    };
    if let Some(why) = missing {
        println!("cargo::rustc-env=PAGEFLATE_ISAL_MISSING=not built in: {why}");
        return;
    }
    cc::Build::new()
        .file("csrc/isal_peer.c")
        .opt_level(2)
        .warnings(true)
        .compile("pageflate_isal_peer");
    println!("cargo::rustc-link-lib=isal");
    println!("cargo::rustc-cfg=pageflate_isal");
}

/// Where `scripts/fetch-qpl.sh` unpacks QPL: `.deps/qpl` at the workspace's root.
fn qpl_dir() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    Path::new(&manifest).join("../.deps/qpl")
}

fn qpl() {
    println!("cargo::rustc-check-cfg=cfg(pageflate_qpl)");
    println!("cargo::rerun-if-changed=csrc/qpl_peer.c");
    println!("cargo::rerun-if-env-changed=PAGEFLATE_NO_QPL");
    let dir = qpl_dir();
    let (header, archive) = (dir.join("include/qpl/qpl.h"), dir.join("lib/libqpl.a"));
    // The archive only once it exists: a missing watched path would rerun this script
    // (and rebuild the crate) on every build. A build made before QPL was fetched takes
    // it in all the same: `scripts/fetch-qpl.sh` touches `csrc/qpl_peer.c` when done.
    if archive.exists() {
        println!("cargo::rerun-if-changed={}", archive.display());
    }
    let missing = if !target_is_x86_64_linux() {
        Some("the Intel QPL peer is built for x86-64 Linux only")
    } else if std::env::var_os("PAGEFLATE_NO_QPL").is_some() {
        Some("PAGEFLATE_NO_QPL was set when pageflate was built")
    } else if !header.exists() || !archive.exists() {
        Some(concat!(
            "Intel QPL (Debian's libqpl-dev, which scripts/fetch-qpl.sh unpacks into .deps/qpl ",
            "and scripts/setup.sh runs) was missing when pageflate was built"
        ))
    } else {
        None
    };
    if let Some(why) = missing {
        println!("cargo::rustc-env=PAGEFLATE_QPL_MISSING=not built in: {why}");
        return;
    }
    cc::Build::new()
        .file("csrc/qpl_peer.c")
        .include(dir.join("include"))
        .opt_level(2)
        .warnings(true)
        .compile("pageflate_qpl_peer");
    println!(
        "cargo::rustc-link-search=native={}",
        dir.join("lib").display()
    );
    println!("cargo::rustc-link-lib=static=qpl");
    println!("cargo::rustc-link-lib=stdc++");
    println!("cargo::rustc-link-lib=dl");
    println!("cargo::rustc-cfg=pageflate_qpl");
}
