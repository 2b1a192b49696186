//! Keyed hashes of match keys: what the graph stores instead of plaintext.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::graph::LinkKind;

/// HMAC-SHA256 of a canonical key, truncated to 128 bits. Without the
/// secret a key hash cannot be reversed or recomputed from a guess.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyHash(pub [u8; 16]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl KeyHash {
    /// Lower-case hex of all 16 bytes (a blind-index token for logs).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `HMAC-SHA256(secret, kind ‖ 0x00 ‖ canonical)[..16]`. The kind is part
/// of the message so the same text under two kinds gives unrelated hashes.
pub fn key_hash(secret: &[u8], kind: LinkKind, canonical: &str) -> KeyHash {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(kind.as_str().as_bytes());
    mac.update(&[0]);
    mac.update(canonical.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    KeyHash(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_separates_and_secret_matters() {
        let a = key_hash(b"s", LinkKind::Phone, "+819012345678");
        assert_eq!(a, key_hash(b"s", LinkKind::Phone, "+819012345678"));
        assert_ne!(a, key_hash(b"s", LinkKind::Email, "+819012345678"));
        assert_ne!(a, key_hash(b"t", LinkKind::Phone, "+819012345678"));
    }
}
