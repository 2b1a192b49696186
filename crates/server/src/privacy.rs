//! Personal data encrypted at rest, in the shell (the engine never does
//! crypto or sees a key).
//!
//! - **Sealing.** A registration's personal fields (name, kana, phone,
//!   e-mail, postal code, address) are encrypted with XChaCha20-Poly1305
//!   under a fresh random 256-bit *data key* (DEK) per customer, before
//!   the command is built: the journal, the engine's state and snapshots
//!   hold only the ciphertext ([`SealedPii`]). The identity keys (keyed
//!   hashes) are computed from the clear data first, so linking works as
//!   before.
//! - **Wrapping.** The DEK is encrypted ("wrapped") with the keyring's
//!   active *key-encryption key* (KEK) and kept in the [`Vault`] under a
//!   random 16-byte subject, beside the KEK's id. Rotation
//!   (`atobarai keys rotate`) adds a KEK and makes it active: new DEKs are
//!   wrapped with it, old ones stay readable with the old KEK until it is
//!   retired (`atobarai keys retire` re-wraps the DEKs — never the journal —
//!   then drops the KEK).
//! - **Shredding.** Deleting a subject's DEK from the vault makes its
//!   ciphertext unreadable forever, wherever copies of the journal went.
//!
//! The keyring is a text file (see [`Keyring::parse`]); a running server
//! notices when the file changes (rotation needs no restart).

use crate::identity::IdentitySecret;
use atobarai_core::JstDate;
use atobarai_engine::{Command, CustomerProfile, Registration, SealedPii, SealedProfile};
use atobarai_store::{StoreError, Vault, WrappedKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// The sealing scheme written into [`SealedPii::scheme`]:
/// XChaCha20-Poly1305 under the customer's DEK, plaintext encoding 1.
pub const SCHEME: u8 = 1;
const PII_AAD: &[u8] = b"atobarai/pii/1/";
const DEK_AAD: &[u8] = b"atobarai/dek/1/";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// What went wrong with keys or sealed data.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The keyring file is malformed.
    #[error("keyring {path}: line {line}: {message}")]
    Keyring {
        /// The file.
        path: String,
        /// Line number (1-based; 0 for the whole file).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing the keyring failed.
    #[error("keyring {path}: {source}")]
    KeyringIo {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A DEK is wrapped by a KEK the keyring no longer holds.
    #[error("key-encryption key {0:?} is not in the keyring")]
    UnknownKek(String),
    /// The customer's data key is gone: erased.
    #[error("the customer's data key was shredded")]
    Shredded,
    /// Authentication failed: wrong key or damaged bytes.
    #[error("sealed data does not authenticate ({0})")]
    Corrupt(&'static str),
    /// A sealing scheme this code does not know.
    #[error("sealing scheme {0} is unknown")]
    UnknownScheme(u8),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] StoreError),
    /// The command given to [`Privacy::seal_registration`] is not a registration.
    #[error("not a clear registration")]
    NotARegistration,
}

/// A 256-bit key that does not print itself and is wiped when dropped.
#[derive(Clone)]
struct Key([u8; KEY_LEN]);

impl Drop for Key {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // ThreadRng is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut b);
    b
}

/// The key-encryption keys: ids and 256-bit keys, one active.
///
/// File format (UTF-8 text, one entry a line, `#` starts a comment):
///
/// ```text
/// active k2
/// key k1 <64 hex digits>
/// key k2 <64 hex digits>
/// ```
///
/// Ids are 1 to 32 of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: BTreeMap<String, Key>,
    active: String,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Keyring {
    /// A keyring of one fresh random key, `id`, active.
    pub fn generate(id: &str) -> Keyring {
        let mut keys = BTreeMap::new();
        keys.insert(id.to_string(), Key(random()));
        Keyring {
            keys,
            active: id.to_string(),
        }
    }

    /// Parse a keyring file's text (`path` names it in errors).
    pub fn parse(text: &str, path: &str) -> Result<Keyring, PrivacyError> {
        let err = |line: usize, message: &str| PrivacyError::Keyring {
            path: path.to_string(),
            line,
            message: message.to_string(),
        };
        let mut keys = BTreeMap::new();
        let mut active = None;
        for (i, raw) in text.lines().enumerate() {
            let n = i.saturating_add(1);
            let line = raw.split('#').next().unwrap_or("").trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                ["active", id] => {
                    if active.replace(id.to_string()).is_some() {
                        return Err(err(n, "more than one active line"));
                    }
                }
                ["key", id, hex_key] => {
                    if !valid_id(id) {
                        return Err(err(n, "a key id is 1-32 of A-Z a-z 0-9 _ -"));
                    }
                    let bytes =
                        hex::decode(hex_key).map_err(|_| err(n, "the key is not hexadecimal"))?;
                    let key: [u8; KEY_LEN] = bytes
                        .try_into()
                        .map_err(|_| err(n, "a key is 32 bytes (64 hex digits)"))?;
                    if keys.insert(id.to_string(), Key(key)).is_some() {
                        return Err(err(n, "the key id appears twice"));
                    }
                }
                _ => return Err(err(n, "expected `active ID` or `key ID HEX`")),
            }
        }
        let active = active.ok_or_else(|| err(0, "no `active ID` line"))?;
        if !keys.contains_key(&active) {
            return Err(err(0, "the active key id has no key"));
        }
        Ok(Keyring { keys, active })
    }

    /// Read and parse the keyring file at `path`.
    pub fn load(path: &Path) -> Result<Keyring, PrivacyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PrivacyError::KeyringIo {
            path: path.display().to_string(),
            source,
        })?;
        Keyring::parse(&text, &path.display().to_string())
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# atobarai keyring: key-encryption keys for personal data.\n\
             # Keep it secret and back it up apart from the journal; a key\n\
             # stays here until `atobarai keys retire` has re-wrapped its data keys.\n",
        );
        out.push_str(&format!("active {}\n", self.active));
        for (id, key) in &self.keys {
            out.push_str(&format!("key {id} {}\n", hex::encode(key.0)));
        }
        out
    }

    /// Write the file atomically (a temporary file renamed over it), owner-only.
    pub fn save(&self, path: &Path) -> Result<(), PrivacyError> {
        let io = |source| PrivacyError::KeyringIo {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut f = options.open(&tmp).map_err(io)?;
            f.write_all(self.render().as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The active key's id (new data keys are wrapped with it).
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Every key id, ascending.
    pub fn ids(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    /// Add a fresh random key and make it active; its id is returned
    /// (`k<N>`, the first number not taken).
    pub fn rotate(&mut self) -> String {
        let id = (1u32..)
            .map(|n| format!("k{n}"))
            .find(|id| !self.keys.contains_key(id))
            .unwrap_or_else(|| "k0".into());
        self.keys.insert(id.clone(), Key(random()));
        self.active = id.clone();
        id
    }

    /// Drop key `id` (never the active one).
    pub fn remove(&mut self, id: &str) -> Result<(), String> {
        if id == self.active {
            return Err(format!("{id} is the active key; rotate first"));
        }
        self.keys
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| format!("{id} is not in the keyring"))
    }

    fn kek(&self, id: &str) -> Result<&Key, PrivacyError> {
        self.keys
            .get(id)
            .ok_or_else(|| PrivacyError::UnknownKek(id.to_string()))
    }

    /// Wrap `dek` for `subject` with the active key.
    fn wrap(&self, subject: &[u8; 16], dek: &Key) -> Result<WrappedKey, PrivacyError> {
        let kek = self.kek(&self.active)?;
        Ok(WrappedKey {
            kek_id: self.active.clone(),
            wrapped: seal_bytes(&kek.0, &dek_aad(subject, &self.active), &dek.0)?,
        })
    }

    fn unwrap_key(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<Key, PrivacyError> {
        let kek = self.kek(&key.kek_id)?;
        let dek = zeroize::Zeroizing::new(
            open_bytes(&kek.0, &dek_aad(subject, &key.kek_id), &key.wrapped)
                .ok_or(PrivacyError::Corrupt("data key"))?,
        );
        let dek: [u8; KEY_LEN] = dek
            .as_slice()
            .try_into()
            .map_err(|_| PrivacyError::Corrupt("data key length"))?;
        Ok(Key(dek))
    }

    /// `key` (wrapped by any KEK of this keyring) wrapped by the active one.
    pub fn rewrap(&self, subject: &[u8; 16], key: &WrappedKey) -> Result<WrappedKey, PrivacyError> {
        let dek = self.unwrap_key(subject, key)?;
        self.wrap(subject, &dek)
    }
}

fn dek_aad(subject: &[u8; 16], kek_id: &str) -> Vec<u8> {
    [DEK_AAD, &subject[..], kek_id.as_bytes()].concat()
}

fn pii_aad(subject: &[u8; 16]) -> Vec<u8> {
    [PII_AAD, &subject[..]].concat()
}

/// `nonce || ciphertext` of `msg` under `key`, with a random nonce.
fn seal_bytes(key: &[u8; KEY_LEN], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, PrivacyError> {
    let nonce: [u8; NONCE_LEN] = random();
    let mut out = nonce.to_vec();
    out.extend(seal_with_nonce(key, &nonce, aad, msg)?);
    Ok(out)
}

fn seal_with_nonce(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    msg: &[u8],
) -> Result<Vec<u8>, PrivacyError> {
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    // Fails only for messages beyond 256 GiB; never journal an empty one.
    cipher
        .encrypt(XNonce::from_slice(nonce), Payload { msg, aad })
        .map_err(|_| PrivacyError::Corrupt("encryption failed"))
}

fn open_with_nonce(key: &[u8; KEY_LEN], nonce: &[u8], aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    if nonce.len() != NONCE_LEN {
        return None;
    }
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
}

fn open_bytes(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    open_with_nonce(key, nonce, aad, ct)
}

/// The personal fields of a profile, as sealed (plaintext encoding 1:
/// each field a u32 little-endian length and its UTF-8 bytes, in the order
/// name, name_kana, birth_date, phone, email, postal_code, address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalFields {
    /// Full name.
    pub name: String,
    /// Full name in katakana.
    pub name_kana: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Phone (E.164).
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Postal code.
    pub postal_code: String,
    /// Postal address.
    pub address: String,
}

impl PersonalFields {
    fn of(p: &CustomerProfile) -> PersonalFields {
        PersonalFields {
            name: p.name.clone(),
            name_kana: p.name_kana.clone(),
            birth_date: p.birth_date.to_string(),
            phone: p.phone.clone(),
            email: p.email.clone(),
            postal_code: p.postal_code.clone(),
            address: p.address.clone(),
        }
    }

    fn fields(&self) -> [&String; 7] {
        [
            &self.name,
            &self.name_kana,
            &self.birth_date,
            &self.phone,
            &self.email,
            &self.postal_code,
            &self.address,
        ]
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        for f in self.fields() {
            // Validated fields are far below 4 GiB.
            let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(f.as_bytes());
        }
        out
    }

    fn decode(mut b: &[u8]) -> Option<PersonalFields> {
        let mut take = || -> Option<String> {
            let (len, rest) = b.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
            if rest.len() < len {
                return None;
            }
            let (s, rest) = rest.split_at(len);
            b = rest;
            String::from_utf8(s.to_vec()).ok()
        };
        let out = PersonalFields {
            name: take()?,
            name_kana: take()?,
            birth_date: take()?,
            phone: take()?,
            email: take()?,
            postal_code: take()?,
            address: take()?,
        };
        b.is_empty().then_some(out)
    }
}

/// A registration sealed for the journal.
#[derive(Debug)]
pub struct SealedRegistration {
    /// `Command::RegisterSealedCustomer`.
    pub command: Command,
    /// The vault subject of the customer's data key (to shred it if the
    /// command is refused or was a replay).
    pub subject: [u8; 16],
    /// The idempotency fingerprint: a keyed hash of the clear command, so a
    /// retry matches though its ciphertext differs, and the state keeps no
    /// unkeyed hash of personal data.
    pub request_hash: [u8; 16],
}

/// The keyring and the vault, as the HTTP shell uses them.
pub struct Privacy {
    keyring: RwLock<(Arc<Keyring>, Option<SystemTime>)>,
    path: Option<PathBuf>,
    vault: Arc<dyn Vault>,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy").field("path", &self.path).finish()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Privacy {
    /// With a keyring kept in memory only (tests, benchmarks).
    pub fn new(keyring: Keyring, vault: Arc<dyn Vault>) -> Privacy {
        Privacy {
            keyring: RwLock::new((Arc::new(keyring), None)),
            path: None,
            vault,
        }
    }

    /// With the keyring file at `path`, re-read whenever it changes.
    pub fn from_file(path: &Path, vault: Arc<dyn Vault>) -> Result<Privacy, PrivacyError> {
        let keyring = Keyring::load(path)?;
        Ok(Privacy {
            keyring: RwLock::new((Arc::new(keyring), modified(path))),
            path: Some(path.to_path_buf()),
            vault,
        })
    }

    /// The vault.
    pub fn vault(&self) -> &Arc<dyn Vault> {
        &self.vault
    }

    /// The keyring as of now (re-read if its file changed; a file that no
    /// longer parses keeps the last good keyring, with a warning).
    pub fn keyring(&self) -> Arc<Keyring> {
        if let Some(path) = &self.path {
            let now = modified(path);
            let stale = self.keyring.read().map(|k| k.1 != now).unwrap_or(true);
            if stale {
                match Keyring::load(path) {
                    Ok(k) => {
                        if let Ok(mut guard) = self.keyring.write() {
                            *guard = (Arc::new(k), now);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "keyring changed but does not load; keeping the last one")
                    }
                }
            }
        }
        match self.keyring.read() {
            Ok(k) => Arc::clone(&k.0),
            Err(p) => Arc::clone(&p.into_inner().0),
        }
    }

    /// Seal a clear `RegisterCustomer` (or `SignUp`) command: a new data key, the personal
    /// fields encrypted under it, the key wrapped and stored in the vault
    /// (durably, before this returns). `today` (a day the engine's clock
    /// has reached) and `age_min` (the rule in force) coarsen the birth
    /// date the engine sees ([`born_by`]). Blocking.
    pub fn seal_registration(
        &self,
        clear: Command,
        identity: &IdentitySecret,
        today: JstDate,
        age_min: i32,
    ) -> Result<SealedRegistration, PrivacyError> {
        let request_hash = identity.keyed_fingerprint(&clear.fingerprint());
        let (merchant, profile, payment_method, keys, signup) = match clear {
            Command::RegisterCustomer {
                merchant,
                profile,
                payment_method,
                identity,
            } => (merchant, profile, payment_method, identity, None),
            Command::SignUp {
                merchant,
                registration: Registration::Clear(profile),
                payment_method,
                identity,
                signup,
            } => (merchant, profile, payment_method, identity, Some(signup)),
            _ => return Err(PrivacyError::NotARegistration),
        };
        let keyring = self.keyring();
        let subject: [u8; 16] = random();
        let dek = Key(random());
        let nonce: [u8; NONCE_LEN] = random();
        let plain = zeroize::Zeroizing::new(PersonalFields::of(&profile).encode());
        let ciphertext = seal_with_nonce(&dek.0, &nonce, &pii_aad(&subject), &plain)?;
        self.vault.put(&subject, &keyring.wrap(&subject, &dek)?)?;
        let sealed = SealedProfile {
            external_id: profile.external_id,
            born_by: born_by(profile.birth_date, today, age_min),
            pii: SealedPii {
                scheme: SCHEME,
                subject,
                nonce,
                ciphertext,
            },
        };
        Ok(SealedRegistration {
            command: match signup {
                None => Command::RegisterSealedCustomer {
                    merchant,
                    profile: sealed,
                    payment_method,
                    identity: keys,
                },
                Some(signup) => Command::SignUp {
                    merchant,
                    registration: Registration::Sealed(sealed),
                    payment_method,
                    identity: keys,
                    signup,
                },
            },
            subject,
            request_hash,
        })
    }

    /// Open sealed personal data with its data key from the vault; also
    /// says which KEK wraps it. Blocking.
    pub fn open(&self, pii: &SealedPii) -> Result<(PersonalFields, String), PrivacyError> {
        if pii.scheme != SCHEME {
            return Err(PrivacyError::UnknownScheme(pii.scheme));
        }
        let wrapped = self
            .vault
            .get(&pii.subject)?
            .ok_or(PrivacyError::Shredded)?;
        let dek = self.keyring().unwrap_key(&pii.subject, &wrapped)?;
        let plain = zeroize::Zeroizing::new(
            open_with_nonce(&dek.0, &pii.nonce, &pii_aad(&pii.subject), &pii.ciphertext)
                .ok_or(PrivacyError::Corrupt("personal data"))?,
        );
        let fields = PersonalFields::decode(&plain).ok_or(PrivacyError::Corrupt("encoding"))?;
        Ok((fields, wrapped.kek_id))
    }

    /// Shred `subject`'s data key; `true` if there was one. Blocking.
    pub fn shred(&self, subject: &[u8; 16]) -> Result<bool, PrivacyError> {
        Ok(self.vault.delete(subject)?)
    }
}

/// The day the engine decides the age rule on instead of the birth date:
/// as coarse as possible (the last day of the birth year, else of the
/// birth month) while every verdict from `today` on stays the one the exact
/// date gives, else the exact date.
///
/// The engine refuses a registration when the date is after its day or the
/// age on its day is below `age_min`. A later date only makes that
/// stricter, and once a date passes it passes on every later day, so a
/// coarse date that passes on `today` (a lower bound of the day the engine
/// stamps the registration with: its clock never goes back) passes there
/// too: no verdict changes, and the journal keeps the exact date only for
/// a customer who reached `age_min` this very month. A date that fails is
/// sent exact (the refusal and its code stay; nothing refused is journaled).
pub fn born_by(birth: JstDate, today: JstDate, age_min: i32) -> JstDate {
    let passes = |d: JstDate| d <= today && d.age_on(today) >= age_min;
    if !passes(birth) {
        return birth;
    }
    let end_of_year = JstDate::new(birth.year(), 12, 31).ok();
    let end_of_month = birth
        .first_of_next_month()
        .ok()
        .and_then(|d| d.plus_days(-1).ok());
    [end_of_year, end_of_month]
        .into_iter()
        .flatten()
        .find(|&d| passes(d))
        .unwrap_or(birth)
}

/// Re-wrap every data key wrapped by `kek_id` with the keyring's active
/// key, in batches; the number re-wrapped. Used before a KEK is retired:
/// the journal is not touched.
pub fn rewrap_all(keyring: &Keyring, vault: &dyn Vault, kek_id: &str) -> Result<u64, PrivacyError> {
    if kek_id == keyring.active_id() {
        return Ok(0);
    }
    let mut moved = 0u64;
    loop {
        let batch = vault.wrapped_with(kek_id, 1_000)?;
        if batch.is_empty() {
            return Ok(moved);
        }
        for (subject, key) in batch {
            let to = keyring.rewrap(&subject, &key)?;
            if vault.rewrap(&subject, kek_id, &to)? {
                moved = moved.saturating_add(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atobarai_core::{JstDate, PaymentMethod};
    use atobarai_engine::IdentityKeys;
    use atobarai_store::MemoryVault;

    fn clear() -> Command {
        Command::RegisterCustomer {
            merchant: 0,
            profile: CustomerProfile {
                external_id: "c-1".into(),
                name: "山田 太郎".into(),
                name_kana: "ヤマダ タロウ".into(),
                birth_date: JstDate::parse("1990-04-01").unwrap(),
                phone: "+819012345678".into(),
                email: "taro@example.jp".into(),
                postal_code: "100-0013".into(),
                address: "東京都千代田区霞が関1-3-1".into(),
            },
            payment_method: PaymentMethod::BankDebit,
            identity: IdentityKeys::default(),
        }
    }

    fn today() -> JstDate {
        JstDate::parse("2026-06-10").unwrap()
    }

    fn privacy() -> Privacy {
        Privacy::new(Keyring::generate("k1"), Arc::new(MemoryVault::new()))
    }

    #[test]
    fn a_sealed_registration_opens_and_holds_no_clear_field() {
        let p = privacy();
        let secret = IdentitySecret::new("s");
        let sealed = p.seal_registration(clear(), &secret, today(), 18).unwrap();
        let Command::RegisterSealedCustomer { profile, .. } = &sealed.command else {
            panic!()
        };
        assert_eq!(profile.external_id, "c-1");
        let bytes = atobarai_engine::Envelope {
            at: Default::default(),
            idem: None,
            command: sealed.command.clone(),
        }
        .encode();
        for clear_field in ["山田", "ヤマダ", "+8190", "taro@", "霞が関", "100-0013"] {
            assert!(
                !bytes
                    .windows(clear_field.len())
                    .any(|w| w == clear_field.as_bytes()),
                "{clear_field}"
            );
        }
        assert_eq!(profile.born_by, JstDate::parse("1990-12-31").unwrap());
        let (fields, kek) = p.open(&profile.pii).unwrap();
        assert_eq!(fields.name, "山田 太郎");
        assert_eq!(fields.birth_date, "1990-04-01");
        assert_eq!(fields.address, "東京都千代田区霞が関1-3-1");
        assert_eq!(kek, "k1");
        // The same request hashes the same; the ciphertext differs.
        let again = p.seal_registration(clear(), &secret, today(), 18).unwrap();
        assert_eq!(again.request_hash, sealed.request_hash);
        assert_ne!(again.command, sealed.command);
        let other = IdentitySecret::new("t");
        assert_ne!(
            p.seal_registration(clear(), &other, today(), 18)
                .unwrap()
                .request_hash,
            sealed.request_hash,
            "keyed"
        );
    }

    #[test]
    fn tampering_shredding_and_unknown_keys_refuse_to_open() {
        let p = privacy();
        let sealed = p
            .seal_registration(clear(), &IdentitySecret::new("s"), today(), 18)
            .unwrap();
        let Command::RegisterSealedCustomer { profile, .. } = sealed.command else {
            panic!()
        };
        let mut bad = profile.pii.clone();
        bad.ciphertext[3] ^= 1;
        assert!(matches!(p.open(&bad), Err(PrivacyError::Corrupt(_))));
        let mut moved = profile.pii.clone();
        moved.subject = [0; 16];
        assert!(matches!(p.open(&moved), Err(PrivacyError::Shredded)));
        let mut scheme = profile.pii.clone();
        scheme.scheme = 9;
        assert!(matches!(
            p.open(&scheme),
            Err(PrivacyError::UnknownScheme(9))
        ));
        let stranger = Privacy::new(Keyring::generate("k1"), p.vault().clone());
        assert!(matches!(
            stranger.open(&profile.pii),
            Err(PrivacyError::Corrupt(_))
        ));
        let forgot = Privacy::new(Keyring::generate("k9"), p.vault().clone());
        assert!(matches!(
            forgot.open(&profile.pii),
            Err(PrivacyError::UnknownKek(_))
        ));
        assert!(p.shred(&profile.pii.subject).unwrap());
        assert!(matches!(p.open(&profile.pii), Err(PrivacyError::Shredded)));
    }

    #[test]
    fn rotation_wraps_new_keys_with_the_new_kek_and_retiring_rewraps_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring");
        let mut ring = Keyring::generate("k1");
        ring.save(&path).unwrap();
        let vault: Arc<dyn Vault> = Arc::new(MemoryVault::new());
        let p = Privacy::from_file(&path, vault.clone()).unwrap();
        let secret = IdentitySecret::new("s");
        let pii = |s: SealedRegistration| match s.command {
            Command::RegisterSealedCustomer { profile, .. } => profile.pii,
            _ => unreachable!(),
        };
        let old = pii(p.seal_registration(clear(), &secret, today(), 18).unwrap());
        assert_eq!(ring.rotate(), "k2");
        // A file with the same modification time would not be noticed:
        // make sure it differs.
        std::thread::sleep(std::time::Duration::from_millis(20));
        ring.save(&path).unwrap();
        let new = pii(p.seal_registration(clear(), &secret, today(), 18).unwrap());
        assert_eq!(p.open(&old).unwrap().1, "k1", "old records stay readable");
        assert_eq!(p.open(&new).unwrap().1, "k2", "new records use the new key");
        assert_eq!(
            vault.count_by_kek().unwrap(),
            vec![("k1".into(), 1), ("k2".into(), 1)]
        );
        assert!(ring.remove("k2").is_err(), "the active key stays");
        assert_eq!(rewrap_all(&ring, vault.as_ref(), "k1").unwrap(), 1);
        ring.remove("k1").unwrap();
        ring.save(&path).unwrap();
        assert_eq!(vault.count_by_kek().unwrap(), vec![("k2".into(), 2)]);
        assert_eq!(p.open(&old).unwrap().0.name, "山田 太郎");
        assert_eq!(Keyring::load(&path).unwrap().ids(), vec!["k2".to_string()]);
    }

    #[test]
    fn keyring_files_are_checked_line_by_line() {
        let k = "00".repeat(32);
        assert!(Keyring::parse(&format!("active a\nkey a {k}\n"), "f").is_ok());
        for (text, line) in [
            (format!("key a {k}\n"), 0),
            (format!("active b\nkey a {k}\n"), 0),
            (format!("active a\nkey a {k}\nkey a {k}\n"), 3),
            ("active a\nkey a 00\n".to_string(), 2),
            ("active a\nkey a zz\n".to_string(), 2),
            (format!("active a\nkey a/b {k}\n"), 2),
            ("what\n".to_string(), 1),
        ] {
            match Keyring::parse(&text, "f") {
                Err(PrivacyError::Keyring { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let ring = Keyring::generate("k1");
        let again = Keyring::parse(&ring.render(), "f").unwrap();
        assert_eq!(again.render(), ring.render());
        assert!(!format!("{ring:?}").contains(&hex::encode(ring.keys["k1"].0)));
    }

    #[test]
    fn the_plaintext_encoding_refuses_truncation_and_extra_bytes() {
        let f = PersonalFields {
            name: "a".into(),
            name_kana: "".into(),
            birth_date: "1990-04-01".into(),
            phone: "p".into(),
            email: "e".into(),
            postal_code: "1".into(),
            address: "x".into(),
        };
        let b = f.encode();
        assert_eq!(PersonalFields::decode(&b), Some(f));
        assert_eq!(PersonalFields::decode(&b[..b.len() - 1]), None);
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(PersonalFields::decode(&longer), None);
        assert_eq!(PersonalFields::decode(&[0xFF; 3]), None);
    }

    #[test]
    fn born_by_coarsens_without_changing_any_verdict() {
        let d = |s: &str| JstDate::parse(s).unwrap();
        let today = d("2026-06-10");
        // Far from the threshold: the end of the birth year.
        assert_eq!(born_by(d("1990-04-01"), today, 18), d("1990-12-31"));
        // Eighteen this year, earlier this month or before: the month's end
        // would still pass only if it is not after the 18th birthday's month.
        assert_eq!(born_by(d("2008-03-15"), today, 18), d("2008-03-31"));
        // Eighteen this month: the exact date.
        assert_eq!(born_by(d("2008-06-02"), today, 18), d("2008-06-02"));
        // Refused anyway (too young, or born in the future): exact.
        assert_eq!(born_by(d("2008-06-11"), today, 18), d("2008-06-11"));
        assert_eq!(born_by(d("2027-01-01"), today, 18), d("2027-01-01"));
        // Exhaustively over two years of birth dates and a year of days: a
        // coarse date is never earlier than the birth date, and decides as
        // the birth date does on every day from `today` on.
        let passes = |b: JstDate, on: JstDate| b <= on && b.age_on(on) >= 18;
        let mut birth = d("2007-01-01");
        while birth < d("2009-01-01") {
            let coarse = born_by(birth, today, 18);
            assert!(coarse >= birth);
            let mut on = today;
            for _ in 0..400 {
                assert_eq!(
                    passes(coarse, on),
                    passes(birth, on),
                    "{birth} {coarse} {on}"
                );
                on = on.plus_days(1).unwrap();
            }
            birth = birth.plus_days(1).unwrap();
        }
    }
}
