//! Writing a main migration stream the way QEMU's multifd source does, for pageflate's own
//! sender: the header, the configuration section, the RAM section (setup with the block
//! list, multifd flush points, its end), and the `EOF` record.
//!
//! The pages themselves travel on the multifd channels; the main stream only says which
//! RAM blocks exist and where the channels must synchronise. [`super::parse_main_stream`]
//! reads everything written here, and so does a QEMU destination's RAM loader (the device
//! sections a real VM would add are not written: there is no device).

use super::{ram_flag, record, MAGIC, VERSION};
use alloc::vec::Vec;

/// Section id pageflate uses for the RAM section (QEMU numbers sections from 0; RAM is
/// the first iterable one it registers on a plain machine, but any id works).
const RAM_SECTION_ID: u32 = 0;
/// Version of QEMU's RAM section (`ram_save_setup` registers version 4).
const RAM_SECTION_VERSION: u32 = 4;

/// Append the stream header: magic `QEVM` and version 3.
pub fn write_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&VERSION.to_be_bytes());
}

/// Append the configuration section naming the machine type (no subsections).
pub fn write_configuration(machine: &str, out: &mut Vec<u8>) {
    out.push(record::CONFIGURATION);
    out.extend_from_slice(&(machine.len() as u32).to_be_bytes());
    out.extend_from_slice(machine.as_bytes());
}

/// Append the RAM section's start: `MEM_SIZE` with the total, each block's name and used
/// length, then `EOS` and the section footer.
///
/// Block names longer than 255 bytes are cut (QEMU's id strings are at most 255 bytes).
pub fn write_ram_setup(blocks: &[(&str, u64)], out: &mut Vec<u8>) {
    out.push(record::SECTION_START);
    out.extend_from_slice(&RAM_SECTION_ID.to_be_bytes());
    put_counted(b"ram", out);
    out.extend_from_slice(&0u32.to_be_bytes()); // instance id
    out.extend_from_slice(&RAM_SECTION_VERSION.to_be_bytes());
    let total: u64 = blocks.iter().map(|b| b.1).sum();
    out.extend_from_slice(&(total | ram_flag::MEM_SIZE).to_be_bytes());
    for (name, used_length) in blocks {
        put_counted(name.as_bytes(), out);
        out.extend_from_slice(&used_length.to_be_bytes());
    }
    put_ram_end(ram_flag::EOS, out);
}

/// Append a RAM section part that tells the destination to synchronise its multifd
/// channels (`MULTIFD_FLUSH`); the source sends a SYNC packet on every channel first.
pub fn write_ram_flush(out: &mut Vec<u8>) {
    out.push(record::SECTION_PART);
    out.extend_from_slice(&RAM_SECTION_ID.to_be_bytes());
    out.extend_from_slice(&ram_flag::MULTIFD_FLUSH.to_be_bytes());
    put_ram_end(ram_flag::EOS, out);
}

/// Append the RAM section's end record (an empty part with `EOS`).
pub fn write_ram_end(out: &mut Vec<u8>) {
    out.push(record::SECTION_END);
    out.extend_from_slice(&RAM_SECTION_ID.to_be_bytes());
    put_ram_end(ram_flag::EOS, out);
}

/// Append the `EOF` record that ends the device state.
pub fn write_eof(out: &mut Vec<u8>) {
    out.push(record::EOF);
}

fn put_counted(bytes: &[u8], out: &mut Vec<u8>) {
    let n = bytes.len().min(255);
    out.push(n as u8);
    out.extend_from_slice(&bytes[..n]);
}

fn put_ram_end(flags: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(record::SECTION_FOOTER);
    out.extend_from_slice(&RAM_SECTION_ID.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::{parse_main_stream, SectionKind};

    #[test]
    fn written_stream_parses_back() {
        let mut s = Vec::new();
        write_header(&mut s);
        write_configuration("pageflate", &mut s);
        write_ram_setup(
            &[("pc.ram", 1 << 20), ("/rom@etc/acpi/tables", 8192)],
            &mut s,
        );
        write_ram_flush(&mut s);
        write_ram_end(&mut s);
        write_eof(&mut s);
        let m = parse_main_stream(&s, 4096).unwrap();
        assert_eq!(m.machine, Some("pageflate"));
        assert_eq!(m.mem_size, (1 << 20) + 8192);
        let names: Vec<_> = m.blocks.iter().map(|b| (b.name, b.used_length)).collect();
        assert_eq!(names, [("pc.ram", 1 << 20), ("/rom@etc/acpi/tables", 8192)]);
        assert_eq!(m.ram_items.multifd_flush, 1);
        assert_eq!(m.ram_items.eos, 3);
        let kinds: Vec<_> = m.sections.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [SectionKind::Start, SectionKind::Part, SectionKind::End]
        );
        assert_eq!(m.eof_at, Some(s.len() as u64 - 1));
    }
}
