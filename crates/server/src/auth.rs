//! API keys. A key reads `atb_<key id: 16 hex>_<secret: 64 hex>`. The engine
//! keeps the key id and the SHA-256 of the secret; the secret itself is shown
//! once, at creation. Comparison is constant-time, and an unknown key id
//! costs the same hash and comparison as a known one.

use atobarai_engine::Principal;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;
use subtle::ConstantTimeEq;

const KEY_PREFIX: &str = "atb_";
const KEY_ID_HEX_CHARS: usize = 16;
const SECRET_HEX_CHARS: usize = 64;

/// A freshly minted key: what to tell the user, and what to store.
pub struct NewKey {
    pub key: String,
    pub key_id: String,
    pub secret_sha256: [u8; 32],
}

pub fn mint() -> NewKey {
    let mut rng = rand::rng();
    let mut id = [0u8; KEY_ID_HEX_CHARS / 2];
    let mut secret = [0u8; SECRET_HEX_CHARS / 2];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let key_id = hex::encode(id);
    let secret_hex = hex::encode(secret);
    NewKey {
        key: format!("{KEY_PREFIX}{key_id}_{secret_hex}"),
        secret_sha256: Sha256::digest(secret_hex.as_bytes()).into(),
        key_id,
    }
}

/// Split a presented key into (key id, secret); `None` if malformed.
fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let ok = id.len() == KEY_ID_HEX_CHARS
        && secret.len() == SECRET_HEX_CHARS
        && id
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_hexdigit());
    ok.then_some((id, secret))
}

/// Key id → (principal, SHA-256 of secret), kept in step with the engine by
/// the journal writer once a key's creation is durable.
#[derive(Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<String, (Principal, [u8; 32])>>,
}

impl KeyCache {
    pub fn insert(&self, key_id: String, principal: Principal, secret_sha256: [u8; 32]) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(key_id, (principal, secret_sha256));
        }
    }

    pub fn authenticate(&self, presented: &str) -> Option<Principal> {
        let (id, secret) = parse(presented).unwrap_or(("", ""));
        let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let found = self.keys.read().ok()?.get(id).copied();
        let (principal, expected) = found.unwrap_or((Principal::System, [0xff; 32]));
        let equal: bool = hash.ct_eq(&expected).into();
        (equal && found.is_some() && !id.is_empty()).then_some(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_authenticate_and_others_do_not() {
        let cache = KeyCache::default();
        let k = mint();
        cache.insert(k.key_id.clone(), Principal::Merchant(3), k.secret_sha256);
        assert_eq!(cache.authenticate(&k.key), Some(Principal::Merchant(3)));
        let mut wrong = k.key.clone();
        wrong.pop();
        wrong.push(if k.key.ends_with('0') { '1' } else { '0' });
        assert_eq!(cache.authenticate(&wrong), None);
        assert_eq!(cache.authenticate(""), None);
        assert_eq!(cache.authenticate("atb_"), None);
        assert_eq!(cache.authenticate("atb_ぁ_ぁ"), None);
        assert_eq!(mint().key.len(), 4 + 16 + 1 + 64);
    }
}
