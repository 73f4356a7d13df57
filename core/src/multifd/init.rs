//! The 64-byte record that opens every multifd channel (`MultiFDInit_t`).

use super::error::{FormatError, FormatErrorKind};
use super::{be32, MAGIC, VERSION};

/// Size of the channel init record.
pub const INIT_LEN: usize = 64;

/// A channel's init record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInit {
    /// The source VM's uuid (`qemu_uuid`; all zero unless `-uuid` was given).
    pub uuid: [u8; 16],
    /// The channel's id, 0-based.
    pub id: u8,
}

impl ChannelInit {
    /// Parse the init record at the start of a channel.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let rec = bytes.get(..INIT_LEN).ok_or(FormatError::new(
            FormatErrorKind::Truncated,
            bytes.len() as u64,
            "init",
            0,
        ))?;
        let magic = be32(rec, 0).unwrap_or(0);
        if magic != MAGIC {
            return Err(FormatError::new(
                FormatErrorKind::BadMagic,
                0,
                "init.magic",
                magic.into(),
            ));
        }
        let version = be32(rec, 4).unwrap_or(0);
        if version != VERSION {
            return Err(FormatError::new(
                FormatErrorKind::BadVersion,
                4,
                "init.version",
                version.into(),
            ));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&rec[8..24]);
        Ok(Self { uuid, id: rec[24] })
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; INIT_LEN] {
        let mut rec = [0u8; INIT_LEN];
        rec[..4].copy_from_slice(&MAGIC.to_be_bytes());
        rec[4..8].copy_from_slice(&VERSION.to_be_bytes());
        rec[8..24].copy_from_slice(&self.uuid);
        rec[24] = self.id;
        rec
    }
}
