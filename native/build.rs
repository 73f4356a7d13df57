//! Build script: the ISA-L peer of `pageflate bench`.
//!
//! When ISA-L's header is installed (Debian's `libisal-dev`, which `scripts/setup.sh`
//! installs for the tests), compile the small C shim in `csrc/isal_peer.c`, link
//! `libisal`, and set `cfg(pageflate_isal)`. Without it pageflate builds as before and
//! `pageflate bench` says that ISA-L was not built in, and why. Nothing else uses ISA-L.

use std::path::Path;

const HEADER: &str = "/usr/include/isa-l/igzip_lib.h";
/// Debian's package database: it changes when `libisal-dev` gets installed, so a build
/// made without ISA-L notices it then (a missing watched path would rerun this every time).
const DPKG_STATUS: &str = "/var/lib/dpkg/status";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pageflate_isal)");
    println!("cargo::rerun-if-changed=csrc/isal_peer.c");
    println!("cargo::rerun-if-env-changed=PAGEFLATE_NO_ISAL");
    let target_ok = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")
        && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
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
