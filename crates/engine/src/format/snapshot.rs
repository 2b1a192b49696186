//! Snapshot container: a versioned, checksummed wrapper around the
//! serialized engine state (the *body*), an upgrade chain from older
//! versions, and chunking for stores that cap a field's size.
//!
//! # Versions
//!
//! The header is `ATBSNAP` and one byte, `0x30 + version` (so it reads
//! `ATBSNAP2`, `ATBSNAP3`, …). A version number changes when the container
//! or the state layout changes.
//!
//! - **2**: `ATBSNAP2`, then `postcard(State)`; no length, no checksum.
//! - **3**: `ATBSNAP3`, body length (u64 LE), SHA-256 of the body
//!   (32 bytes), then the body, `postcard(State)`. The layout changed with
//!   it (the identity graph's hub keys, two billing rules and the hub
//!   thresholds in the journaled rules, the cluster's availability in
//!   customer views kept by idempotency records). No 2 → 3 step was
//!   written: freezing the whole version-2 state for a cache of the journal
//!   did not pay, so a version-2 snapshot is too old and the node replays
//!   the journal once (it is never pruned). From 3 on, every layout change
//!   comes with its step.
//! - **4**: the container of 3; the state gained a last field,
//!   the risk book (rule sets, decision records, the phishing-wave
//!   detector) and the behaviour scores. Step 3 → 4: append the encodings
//!   of an empty risk book and an empty score book
//!   ([`EMPTY_RISK_BOOK_V4`], [`EMPTY_SCORE_BOOK_V4`]; accounts without a
//!   score are at the start value).
//! - **5**: the container of 3; the state gained a last field,
//!   the personal-data book (sealed and erased personal data). Step
//!   4 → 5: append the encoding of an empty book ([`EMPTY_PII_BOOK_V5`]:
//!   every customer of a version-4 state has a clear profile).
//! - **6**: the container of 3; the state gained a last field,
//!   the gift-card book (issuers, cards, wallets, appeals), and the ledger
//!   and outbox enums gained appended variants (their old encodings are
//!   unchanged). Step 5 → 6: append the encoding of an empty book
//!   ([`EMPTY_GIFT_CARD_BOOK_V6`]: no merchant of a version-5 state issues
//!   gift cards).
//! - **7**: the container of 3; the state gained a last field,
//!   the lifecycle book (journaled terms, per-customer lifecycle facts,
//!   payment codes, SMS verifications), and the outcome, reason and
//!   outbox enums gained appended variants. Step 6 → 7: append the
//!   encoding of an empty book ([`EMPTY_LIFECYCLE_BOOK_V7`]: a version-6
//!   state journaled no terms; the node puts history before its first
//!   `SetTerms` under `Terms::legacy()`).
//! - **8** (current): the container of 3; the state gained a last field,
//!   the document book (the tax rates merchants stated per line, record
//!   format version 2). Step 7 → 8: append the encoding of an empty book
//!   ([`EMPTY_DOCUMENT_BOOK_V8`]: no version-7 authorization could state
//!   a rate).
//!
//! # The rule
//!
//! Changing `State`'s serialized shape is a new version: bump [`CURRENT`]
//! and add the step `from == CURRENT - 1` to [`upgrade`], which decodes
//! the old body (with a frozen copy of whatever changed) and encodes the
//! new one. A snapshot is then upgraded on restore instead of being thrown
//! away for a full replay. Only versions below [`OLDEST`] (no upgrade
//! written) or above [`CURRENT`] (a newer release) fall back to a replay.
//!
//! # Wiring (engine side)
//!
//! `Engine::snapshot` = `encode(&state_bytes)`; `Engine::restore` =
//! `open(bytes)?` then `postcard::from_bytes::<State>(&body)`, mapping
//! [`FormatError::is_snapshot_version`] to the "replay instead" error and
//! anything else to "corrupt".

use super::FormatError;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

const FAMILY: &[u8; 7] = b"ATBSNAP";
/// The version [`encode`] writes.
pub const CURRENT: u32 = 8;
/// The oldest version [`upgrade`] can bring to [`CURRENT`].
pub const OLDEST: u32 = 3;
/// Header (8) + body length (8) + SHA-256 (32).
const V3_HEADER_LEN: usize = 48;

/// Most bytes a chunk holds (PostgreSQL caps a field at 1 GB).
pub const CHUNK_MAX: usize = 256 * 1024 * 1024;
const INDEX_MAGIC: &[u8; 8] = b"ATBSIDX1";

fn header(version: u32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[..7].copy_from_slice(FAMILY);
    // Versions stay far below 0xFF - 0x30 (a version is a single digit).
    h[7] = u8::try_from(version)
        .ok()
        .and_then(|v| v.checked_add(0x30))
        .unwrap_or_else(|| unreachable!("snapshot version {version} is a single digit"));
    h
}

/// Wrap a current-layout state body into a current-version snapshot.
pub fn encode(state_body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(V3_HEADER_LEN.saturating_add(state_body.len()));
    out.extend_from_slice(&header(CURRENT));
    out.extend_from_slice(&(state_body.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(state_body));
    out.extend_from_slice(state_body);
    out
}

/// Read a snapshot's version and body (checked against its length and
/// checksum when the version has them), without upgrading it.
pub fn decode(bytes: &[u8]) -> Result<(u32, &[u8]), FormatError> {
    let Some(rest) = bytes.strip_prefix(FAMILY) else {
        return Err(FormatError::NotASnapshot);
    };
    let Some((&v, rest)) = rest.split_first() else {
        return Err(FormatError::NotASnapshot);
    };
    let Some(version) = v.checked_sub(0x30).map(u32::from) else {
        return Err(FormatError::SnapshotTooOld(0));
    };
    match version {
        2 => Ok((2, rest)),
        3..=CURRENT => {
            if rest.len() < V3_HEADER_LEN - 8 {
                return Err(FormatError::SnapshotLength);
            }
            let (len, rest) = rest.split_at(8);
            let (sum, body) = rest.split_at(32);
            let mut len8 = [0u8; 8];
            len8.copy_from_slice(len);
            if u64::from_le_bytes(len8) != body.len() as u64 {
                return Err(FormatError::SnapshotLength);
            }
            if Sha256::digest(body).as_slice() != sum {
                return Err(FormatError::SnapshotChecksum);
            }
            Ok((version, body))
        }
        v if v < OLDEST => Err(FormatError::SnapshotTooOld(v)),
        v => Err(FormatError::SnapshotTooNew(v)),
    }
}

/// One step of the chain: the body of version `from` as the body of
/// version `from + 1`.
pub fn upgrade(from: u32, body: Vec<u8>) -> Result<Vec<u8>, FormatError> {
    // The steps, oldest first.
    match from {
        3 => Ok(v3_to_v4(body)),
        4 => Ok(v4_to_v5(body)),
        5 => Ok(v5_to_v6(body)),
        6 => Ok(v6_to_v7(body)),
        7 => Ok(v7_to_v8(body)),
        v if v < OLDEST => Err(FormatError::SnapshotTooOld(v)),
        v => Err(FormatError::SnapshotTooNew(v)),
    }
}

/// The encoding of an empty version-4 risk book (frozen: the step below
/// must produce version 4 forever, whatever the book becomes later).
pub const EMPTY_RISK_BOOK_V4: [u8; 9] = [0; 9];
/// The encoding of an empty version-4 score book (frozen likewise).
pub const EMPTY_SCORE_BOOK_V4: [u8; 1] = [0];

/// 3 → 4: the state's new last field, the risk book, empty.
fn v3_to_v4(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&EMPTY_RISK_BOOK_V4);
    body.extend_from_slice(&EMPTY_SCORE_BOOK_V4);
    body
}

/// The encoding of an empty version-5 personal-data book (frozen likewise).
pub const EMPTY_PII_BOOK_V5: [u8; 1] = [0];

/// 4 → 5: the state's new last field, the personal-data book, empty.
fn v4_to_v5(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&EMPTY_PII_BOOK_V5);
    body
}

/// The encoding of an empty version-6 gift-card book (frozen likewise):
/// four empty sequences.
pub const EMPTY_GIFT_CARD_BOOK_V6: [u8; 4] = [0; 4];

/// 5 → 6: the state's new last field, the gift-card book, empty.
fn v5_to_v6(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&EMPTY_GIFT_CARD_BOOK_V6);
    body
}

/// The encoding of an empty version-7 lifecycle book (frozen likewise):
/// no terms, no customers, no payment codes, an empty verification book.
pub const EMPTY_LIFECYCLE_BOOK_V7: [u8; 3 + EMPTY_VERIFICATION_BOOK_V7_LEN] =
    [0; 3 + EMPTY_VERIFICATION_BOOK_V7_LEN];
/// Bytes of an empty version-7 verification book (every one zero).
pub const EMPTY_VERIFICATION_BOOK_V7_LEN: usize = 7;

/// 6 → 7: the state's new last field, the lifecycle book, empty.
fn v6_to_v7(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&EMPTY_LIFECYCLE_BOOK_V7);
    body
}

/// The encoding of an empty version-8 document book (frozen likewise): no
/// stated rates.
pub const EMPTY_DOCUMENT_BOOK_V8: [u8; 1] = [0];

/// 7 → 8: the state's new last field, the document book, empty.
fn v7_to_v8(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&EMPTY_DOCUMENT_BOOK_V8);
    body
}

/// The current-layout state body of a snapshot of any supported version,
/// upgraded step by step. Borrows when no upgrade was needed.
pub fn open(bytes: &[u8]) -> Result<Cow<'_, [u8]>, FormatError> {
    let (mut version, body) = decode(bytes)?;
    if version == CURRENT {
        return Ok(Cow::Borrowed(body));
    }
    let mut body = body.to_vec();
    while version < CURRENT {
        body = upgrade(version, body)?;
        version = version.saturating_add(1);
    }
    Ok(Cow::Owned(body))
}

/// How a snapshot was cut into chunks: enough to put it back together and
/// to prove it is the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkIndex {
    /// Length of the whole snapshot.
    pub total_len: u64,
    /// Length of every chunk but the last (which holds the rest).
    pub chunk_len: u64,
    /// SHA-256 of the whole snapshot.
    pub sha256: [u8; 32],
    /// SHA-256 of each chunk, in order.
    pub chunks: Vec<[u8; 32]>,
}

impl ChunkIndex {
    /// `ATBSIDX1`, total length (u64 LE), chunk length (u64 LE), chunk
    /// count (u32 LE), SHA-256 of the whole, then each chunk's SHA-256.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.chunks.len().saturating_mul(32).saturating_add(60));
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&self.total_len.to_le_bytes());
        out.extend_from_slice(&self.chunk_len.to_le_bytes());
        // `split` never cuts more than u32::MAX chunks.
        let count = u32::try_from(self.chunks.len())
            .unwrap_or_else(|_| unreachable!("split() makes at most u32::MAX chunks"));
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&self.sha256);
        for c in &self.chunks {
            out.extend_from_slice(c);
        }
        out
    }

    /// Parse an index written by [`ChunkIndex::encode`].
    pub fn decode(bytes: &[u8]) -> Result<ChunkIndex, FormatError> {
        let bad = FormatError::ChunkIndex;
        let rest = bytes.strip_prefix(INDEX_MAGIC).ok_or(bad("no header"))?;
        if rest.len() < 52 {
            return Err(bad("truncated"));
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&rest[i..i.saturating_add(8)]);
            u64::from_le_bytes(b)
        };
        let total_len = u64_at(0);
        let chunk_len = u64_at(8);
        let mut count = [0u8; 4];
        count.copy_from_slice(&rest[16..20]);
        let count = u32::from_le_bytes(count) as usize;
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&rest[20..52]);
        let sums = &rest[52..];
        if sums.len() != count.saturating_mul(32) {
            return Err(bad("chunk checksums do not match the chunk count"));
        }
        if chunk_len == 0 || chunk_len > CHUNK_MAX as u64 {
            return Err(bad("chunk length out of range"));
        }
        if total_len.div_ceil(chunk_len) != count as u64 {
            return Err(bad("chunk count does not match the lengths"));
        }
        let chunks = sums
            .chunks_exact(32)
            .map(|c| {
                let mut s = [0u8; 32];
                s.copy_from_slice(c);
                s
            })
            .collect();
        Ok(ChunkIndex {
            total_len,
            chunk_len,
            sha256,
            chunks,
        })
    }
}

/// Cut a snapshot into chunks of at most `chunk_len` bytes (clamped to
/// `1..=CHUNK_MAX`), borrowing them from `snapshot`.
pub fn split(snapshot: &[u8], chunk_len: usize) -> (ChunkIndex, Vec<&[u8]>) {
    // Never more than u32::MAX chunks (the index counts them in 32 bits).
    let fewest = snapshot
        .len()
        .div_ceil(usize::try_from(u32::MAX).unwrap_or(usize::MAX));
    let chunk_len = chunk_len.clamp(1, CHUNK_MAX).max(fewest);
    let chunks: Vec<&[u8]> = snapshot.chunks(chunk_len).collect();
    let index = ChunkIndex {
        total_len: snapshot.len() as u64,
        chunk_len: chunk_len as u64,
        sha256: Sha256::digest(snapshot).into(),
        chunks: chunks.iter().map(|c| Sha256::digest(c).into()).collect(),
    };
    (index, chunks)
}

/// Put the chunks back together, checking every length and checksum.
pub fn join<C: AsRef<[u8]>>(index: &ChunkIndex, chunks: &[C]) -> Result<Vec<u8>, FormatError> {
    if chunks.len() != index.chunks.len() {
        return Err(FormatError::Chunk(chunks.len().min(index.chunks.len())));
    }
    // Check the lengths before allocating: the index may be forged.
    let given: u64 = chunks.iter().map(|c| c.as_ref().len() as u64).sum();
    if given != index.total_len {
        return Err(FormatError::ChunkIndex(
            "chunk lengths do not add up to the snapshot length",
        ));
    }
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.as_ref().len()).sum());
    for (i, (chunk, sum)) in chunks.iter().zip(&index.chunks).enumerate() {
        let chunk = chunk.as_ref();
        let remaining = index.total_len.saturating_sub(out.len() as u64);
        if chunk.len() as u64 != index.chunk_len.min(remaining)
            || Sha256::digest(chunk).as_slice() != sum
        {
            return Err(FormatError::Chunk(i));
        }
        out.extend_from_slice(chunk);
    }
    if out.len() as u64 != index.total_len || Sha256::digest(&out).as_slice() != index.sha256 {
        return Err(FormatError::ChunkIndex(
            "joined bytes do not match the snapshot checksum",
        ));
    }
    Ok(out)
}
