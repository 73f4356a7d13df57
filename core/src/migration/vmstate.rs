//! Device state named by the VM description (what QEMU's `scripts/analyze-migration.py`
//! does): each device's entry in the description lists its fields in order with their
//! sizes, nested structs, arrays and subsections, which is enough to split the section's
//! bytes into named fields.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;
use serde_json::Value;

use super::record;

/// A named field of a device's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Dotted path: `cpu.env.regs[3]`, `serial.state.lsr`, `fw_cfg/dma.dma_addr`.
    pub path: String,
    /// The field's type as the description names it (`uint32`, `buffer`, ...).
    pub kind: String,
    /// Its bytes within the section data.
    pub range: Range<usize>,
}

/// Why a section does not match its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmstateError {
    /// Byte offset within the section data.
    pub offset: usize,
    /// What went wrong.
    pub message: String,
}

/// Split `data` (a device section's state bytes) into fields following `device` (one
/// element of the description's `devices` array). The whole of `data` must be used.
pub fn split_fields(device: &Value, data: &[u8]) -> Result<Vec<Field>, VmstateError> {
    let mut fields = Vec::new();
    let name = device.get("name").and_then(Value::as_str).unwrap_or("?");
    let mut pos = 0;
    walk(device, data, &mut pos, name, &mut fields)?;
    if pos != data.len() {
        return Err(VmstateError {
            offset: pos,
            message: format!("{} bytes left after the described fields", data.len() - pos),
        });
    }
    Ok(fields)
}

/// Read the fields, then the subsections, of one vmstate description.
fn walk(
    desc: &Value,
    data: &[u8],
    pos: &mut usize,
    prefix: &str,
    out: &mut Vec<Field>,
) -> Result<(), VmstateError> {
    let empty = Vec::new();
    for field in desc
        .get("fields")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let name = field.get("name").and_then(Value::as_str).unwrap_or("?");
        let kind = field.get("type").and_then(Value::as_str).unwrap_or("?");
        let count = field.get("array_len").and_then(Value::as_u64).unwrap_or(1);
        let is_array = field.get("array_len").is_some();
        for i in 0..count {
            let path = if is_array {
                format!("{prefix}.{name}[{i}]")
            } else {
                format!("{prefix}.{name}")
            };
            if let Some(inner) = field.get("struct") {
                walk(inner, data, pos, &path, out)?;
                continue;
            }
            let size = field
                .get("size")
                .and_then(Value::as_u64)
                .ok_or(VmstateError {
                    offset: *pos,
                    message: format!("field {path} has no size"),
                })? as usize;
            let end = pos
                .checked_add(size)
                .filter(|&e| e <= data.len())
                .ok_or(VmstateError {
                    offset: *pos,
                    message: format!("field {path} ({size} bytes) runs past the section"),
                })?;
            out.push(Field {
                path,
                kind: String::from(kind),
                range: *pos..end,
            });
            *pos = end;
        }
    }
    // Subsections: each present one is sent as 0x05, name, version, then its fields.
    let subs = desc
        .get("subsections")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    while data.get(*pos) == Some(&record::SUBSECTION) {
        let at = *pos;
        let len = usize::from(*data.get(at + 1).ok_or(VmstateError {
            offset: at,
            message: "truncated subsection".into(),
        })?);
        let name = data
            .get(at + 2..at + 2 + len)
            .and_then(|n| core::str::from_utf8(n).ok())
            .ok_or(VmstateError {
                offset: at,
                message: "bad subsection name".into(),
            })?;
        // As QEMU's loader does: a subsection this description does not list is not ours
        // (the byte belongs to the enclosing state).
        let Some(sub) = subs
            .iter()
            .find(|s| s.get("vmsd_name").and_then(Value::as_str) == Some(name))
        else {
            break;
        };
        *pos = at + 2 + len + 4; // name, then be32 version
        if *pos > data.len() {
            return Err(VmstateError {
                offset: at,
                message: "truncated subsection".into(),
            });
        }
        walk(
            sub,
            data,
            pos,
            &format!("{prefix}/{}", name.rsplit('/').next().unwrap_or(name)),
            out,
        )?;
    }
    Ok(())
}
