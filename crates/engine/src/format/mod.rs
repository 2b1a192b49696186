//! Storage formats: journal records ([`record`]) and snapshots
//! ([`snapshot`]). Both are versioned, and both decode every version ever
//! written: an old version is decoded by its own function and brought to
//! the current one by written upgrade functions, never by hoping a derived
//! serializer still reads old bytes.
//!
//! The rule for changing what is stored is at the top of `command.rs`
//! (records) and of [`snapshot`] (state). Golden files under
//! `crates/engine/tests/golden/` pin every version; they are never
//! regenerated once committed.
//!
//! Nothing here panics on input: every decoder returns a [`FormatError`].

pub(crate) mod legacy;
pub mod record;
pub mod snapshot;
pub(crate) mod upgrade;

/// Why stored bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The bytes end inside the named part.
    #[error("record truncated in its {0}")]
    Truncated(&'static str),
    /// A length prefix is not a canonical 32-bit varint.
    #[error("length of the {0} does not fit a 32-bit varint")]
    BadLength(&'static str),
    /// A record format version this code does not know (a newer release wrote it).
    #[error(
        "journal record format version {0} is unknown to this code (it reads versions 1 to {current}); \
         was it written by a newer release?",
        current = record::CURRENT
    )]
    UnknownRecordVersion(u8),
    /// A command tag this code does not know.
    #[error("unknown command tag {0}")]
    UnknownCommandTag(u16),
    /// A section's bytes do not decode as its fields.
    #[error("the {section} section cannot be decoded: {error}")]
    Section {
        /// Which section.
        section: &'static str,
        /// What postcard said.
        error: postcard::Error,
    },
    /// A section has bytes after its last field (an appended field is never read silently).
    #[error("the {0} section has bytes after its last field")]
    TrailingBytes(&'static str),
    /// A must-understand trailer this code does not know.
    #[error("unknown must-understand trailer {0:#04x}")]
    UnknownTrailer(u8),
    /// Trailers out of ascending order, or repeated.
    #[error("trailer {0:#04x} is out of order or repeated")]
    TrailerOrder(u8),
    /// A trailer on a command that cannot carry it.
    #[error("trailer {tag:#04x} is not allowed on a {command} record")]
    TrailerNotAllowed {
        /// The trailer's tag.
        tag: u8,
        /// The command's name.
        command: &'static str,
    },
    /// A known trailer with a malformed value.
    #[error("trailer {tag:#04x} is malformed")]
    BadTrailer {
        /// The trailer's tag.
        tag: u8,
    },
    /// A pre-versioning record that does not decode.
    #[error("legacy record cannot be decoded: {0}")]
    Legacy(postcard::Error),
    /// A pre-versioning record with an unknown trailer.
    #[error("legacy record has an unknown trailer")]
    LegacyTrailer,
    /// No `ATBSNAP` header.
    #[error("not a snapshot (no ATBSNAP header)")]
    NotASnapshot,
    /// A snapshot older than any upgrade step written.
    #[error(
        "snapshot version {0} is older than any this code can upgrade (oldest {oldest})",
        oldest = snapshot::OLDEST
    )]
    SnapshotTooOld(u32),
    /// A snapshot written by a newer release.
    #[error(
        "snapshot version {0} is newer than this code (current {current})",
        current = snapshot::CURRENT
    )]
    SnapshotTooNew(u32),
    /// The body length differs from the header's.
    #[error("snapshot body length does not match its header")]
    SnapshotLength,
    /// The body does not match its SHA-256.
    #[error("snapshot body does not match its checksum")]
    SnapshotChecksum,
    /// A chunk index that does not parse.
    #[error("snapshot chunk index is malformed: {0}")]
    ChunkIndex(&'static str),
    /// A chunk missing, of the wrong length, or not matching its checksum.
    #[error("snapshot chunk {0} is missing, of the wrong length or does not match its checksum")]
    Chunk(usize),
}

impl FormatError {
    /// A snapshot of a version this code cannot bring to the current one
    /// (too old, or written by a newer release): not corrupt, just
    /// unusable; the node replays the whole journal instead.
    pub fn is_snapshot_version(&self) -> bool {
        matches!(
            self,
            FormatError::SnapshotTooOld(_) | FormatError::SnapshotTooNew(_)
        )
    }
}

/// Append `v` as an unsigned LEB128 varint (postcard's encoding of a u32).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    // `v & 0x7F` and (after the loop) `v < 0x80` always fit a byte.
    while v >= 0x80 {
        out.push(low7(v) | 0x80);
        v >>= 7;
    }
    out.push(low7(v));
}

/// The low seven bits of `v`.
fn low7(v: u32) -> u8 {
    u8::try_from(v & 0x7F).unwrap_or_else(|_| unreachable!("masked to 7 bits"))
}

/// Read a canonical LEB128 u32 (at most 5 bytes, no overlong form).
pub(crate) fn take_varint<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<(u32, &'a [u8]), FormatError> {
    let mut v: u32 = 0;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        let low = u32::from(b & 0x7F);
        if i == 4 && low > 0x0F {
            return Err(FormatError::BadLength(what));
        }
        // i < 5: the shift is at most 28, and the check above keeps the
        // fifth byte within the 4 bits left.
        let shift = [0u32, 7, 14, 21, 28].get(i).copied().unwrap_or(28);
        v |= low.checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            if i > 0 && b == 0 {
                // Overlong: a shorter encoding of the same value exists.
                return Err(FormatError::BadLength(what));
            }
            return Ok((v, bytes.get(i.saturating_add(1)..).unwrap_or_default()));
        }
    }
    if bytes.len() >= 5 {
        Err(FormatError::BadLength(what))
    } else {
        Err(FormatError::Truncated(what))
    }
}

/// Split a `len`-prefixed section off the front of `bytes`.
pub(crate) fn take_section<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), FormatError> {
    let (len, rest) = take_varint(bytes, what)?;
    let len = usize::try_from(len).map_err(|_| FormatError::BadLength(what))?;
    if rest.len() < len {
        return Err(FormatError::Truncated(what));
    }
    Ok(rest.split_at(len))
}

/// Decode a whole section as one postcard value: every byte must belong to
/// it (a longer section is another format version, never a silent extra).
pub(crate) fn from_section<'a, T: serde::Deserialize<'a>>(
    section: &'a [u8],
    what: &'static str,
) -> Result<T, FormatError> {
    let (value, rest) =
        postcard::take_from_bytes(section).map_err(|error| FormatError::Section {
            section: what,
            error,
        })?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(FormatError::TrailingBytes(what))
    }
}

/// Append `value`'s postcard encoding as a `len`-prefixed section.
pub(crate) fn put_section<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Plain data (no maps of unknown length, no failing Serialize impls):
    // postcard cannot fail on it, and a journal record silently missing
    // its body would be far worse than stopping.
    let bytes = postcard::to_stdvec(value).expect("commands serialize");
    // Commands are bounded by the input limits, far below 4 GiB.
    let len = u32::try_from(bytes.len()).expect("a record section is below 4 GiB");
    put_varint(out, len);
    out.extend_from_slice(&bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overlong_and_overflow() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b, postcard::to_stdvec(&v).unwrap(), "postcard's varint");
            assert_eq!(take_varint(&b, "x").unwrap(), (v, &[][..]));
        }
        assert_eq!(
            take_varint(&[0x80, 0x00], "x"),
            Err(FormatError::BadLength("x"))
        );
        assert_eq!(
            take_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x1F], "x"),
            Err(FormatError::BadLength("x"))
        );
        assert_eq!(
            take_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "x"),
            Err(FormatError::BadLength("x"))
        );
        assert_eq!(take_varint(&[0x80], "x"), Err(FormatError::Truncated("x")));
        assert_eq!(take_varint(&[], "x"), Err(FormatError::Truncated("x")));
        assert_eq!(
            take_section(&[3, 1, 2], "x"),
            Err(FormatError::Truncated("x"))
        );
    }
}
