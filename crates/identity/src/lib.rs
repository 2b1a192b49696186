//! `atobarai-identity` owns who is who: pure normalizers for the things a
//! customer types at sign-up (address, name, phone, e-mail) and the things a
//! device sends (device id, IP address), the keyed hashes those become, and
//! the identity graph of accounts linked by shared keys, with the evidence
//! for every link.
//!
//! Architecture invariant: this crate does no I/O at run time, never reads
//! the clock and draws no randomness (times come in as `i64` unix
//! milliseconds; the gazetteer is compiled in). It knows nothing about
//! orders, money or decisions: it answers "which accounts are one person"
//! and "what do they share", and the risk engine decides what that means.
//!
//! Every normalizer is total (any string in, no panic) and idempotent:
//! normalizing a canonical form gives it back.

pub mod address;
pub mod email;
pub mod gazetteer;
pub mod graph;
pub mod itaiji;
pub mod key;
pub mod name;
pub mod net;
pub mod phone;
pub mod text;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use address::{Address, postal_code_matches};
pub use email::{EmailOptions, normalize_email_with};
pub use graph::{
    AccountId, ClusterChange, ClusterId, Evidence, Graph, GraphError, HubKey, HubThresholds,
    LinkKind, Strength,
};
pub use key::{KeyHash, key_hash};

/// What a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Address,
    Name,
    Phone,
    Email,
    Device,
    Ip,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Address,
        Kind::Name,
        Kind::Phone,
        Kind::Email,
        Kind::Device,
        Kind::Ip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Address => "address",
            Kind::Name => "name",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Device => "device",
            Kind::Ip => "ip",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind {0:?}: expected one of address, name, phone, email, device, ip")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// Something the normalizer noticed. A flag is information, not an error:
/// a value can carry flags and still have a canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Nothing left after cleaning.
    Empty,
    /// Longer than the kind's limit; not normalized.
    TooLong,
    /// Not a syntactically valid value of its kind (e-mail, IP).
    InvalidSyntax,
    /// Not a number that can be dialled (libphonenumber's validity check).
    ImpossibleNumber,
    /// A valid number outside Japan.
    NotJapanese,
    /// A mobile number (080/090/070), as opposed to fixed line or IP phone.
    Mobile,
    /// The provider's rules changed the local part (dots, +tag).
    ProviderRulesApplied,
    /// Written with characters that had to be converted (full-width, old kanji).
    Converted,
    PostalCodeInvalid,
    PostalCodeUnknown,
    PostalCodeMismatch,
    PrefectureInferred,
    CityInferred,
    CityFromPostalCode,
    CityUnresolved,
    CityAmbiguous,
}

/// Which key a [`MatchKey`] is. Keys of one name are comparable with each other only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyName {
    AddressUnit,
    AddressBuilding,
    AddressBlock,
    Name,
    NameKana,
    Phone,
    Email,
    Device,
    Ip32,
    Ip24,
    Ip64,
}

impl KeyName {
    /// The graph link this key makes, if any (names and coarse address levels
    /// are attributes, not links).
    pub fn link_kind(self) -> Option<LinkKind> {
        match self {
            KeyName::AddressUnit => Some(LinkKind::AddressUnit),
            KeyName::Phone => Some(LinkKind::Phone),
            KeyName::Email => Some(LinkKind::Email),
            KeyName::Device => Some(LinkKind::Device),
            KeyName::Ip32 | KeyName::Ip64 => Some(LinkKind::Ip),
            KeyName::AddressBuilding
            | KeyName::AddressBlock
            | KeyName::Name
            | KeyName::NameKana
            | KeyName::Ip24 => None,
        }
    }
}

/// A plaintext match key. Hash it with [`key_hash`] before storing it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MatchKey {
    pub name: KeyName,
    pub value: String,
}

/// The structured canonical value, per kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    Address(Address),
    Name(name::Name),
    Phone(phone::Phone),
    Email(email::Email),
    Device,
    Ip(net::Ip),
    /// The input could not be normalized (see the flags).
    None,
}

/// What [`normalize`] returns: the canonical form (absent when the input
/// could not be normalized), the structured value, the match keys and flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Normalized {
    pub kind: Kind,
    pub canonical: Option<String>,
    pub detail: Detail,
    pub keys: Vec<MatchKey>,
    pub flags: Vec<Flag>,
}

impl Normalized {
    pub fn is_valid(&self) -> bool {
        self.canonical.is_some()
    }

    pub fn key(&self, name: KeyName) -> Option<&str> {
        self.keys
            .iter()
            .find(|k| k.name == name)
            .map(|k| k.value.as_str())
    }

    fn invalid(kind: Kind, flags: Vec<Flag>) -> Normalized {
        Normalized {
            kind,
            canonical: None,
            detail: Detail::None,
            keys: Vec::new(),
            flags,
        }
    }
}

impl fmt::Display for Normalized {
    /// A human-readable text form for the CLI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kind: {}", self.kind)?;
        match &self.canonical {
            Some(c) => writeln!(f, "canonical: {c}")?,
            None => writeln!(f, "canonical: (invalid)")?,
        }
        for k in &self.keys {
            let name = serde_plain_name(k.name);
            writeln!(f, "key {name}: {}", k.value)?;
        }
        if !self.flags.is_empty() {
            let names: Vec<String> = self.flags.iter().map(|fl| format!("{fl:?}")).collect();
            writeln!(f, "flags: {}", names.join(", "))?;
        }
        Ok(())
    }
}

fn serde_plain_name(k: KeyName) -> &'static str {
    match k {
        KeyName::AddressUnit => "address_unit",
        KeyName::AddressBuilding => "address_building",
        KeyName::AddressBlock => "address_block",
        KeyName::Name => "name",
        KeyName::NameKana => "name_kana",
        KeyName::Phone => "phone",
        KeyName::Email => "email",
        KeyName::Device => "device",
        KeyName::Ip32 => "ip_32",
        KeyName::Ip24 => "ip_24",
        KeyName::Ip64 => "ip_64",
    }
}

/// The one entry point the CLI calls: normalize `value` as a `kind`.
///
/// Total and idempotent: never panics, and for a valid result
/// `normalize(kind, canonical).canonical == Some(canonical)`.
pub fn normalize(kind: Kind, value: &str) -> Normalized {
    let first = normalize_once(kind, value);
    if !matches!(kind, Kind::Address | Kind::Name) || first.canonical.as_deref() == Some(value) {
        // An input that is already canonical is its own fixed point.
        return first;
    }
    // Addresses and names are rebuilt from parts, and a rare input (a
    // combining mark, a marker at a boundary) can give a canonical form that
    // parses a little differently. Parsing the canonical form again, until it
    // stops changing, makes idempotence hold by construction; the flags stay
    // those of the original input.
    let flags = first.flags.clone();
    let mut current = first;
    for _ in 0..CANONICAL_PASSES_MAX {
        let Some(c) = current.canonical.clone() else {
            break;
        };
        let again = normalize_once(kind, &c);
        if again.canonical.as_deref() == Some(c.as_str()) {
            return Normalized { flags, ..again };
        }
        current = again;
    }
    // No fixed point: refuse rather than return a form that moves.
    Normalized::invalid(kind, flags)
}

/// Re-parses allowed before a canonical form must have settled.
const CANONICAL_PASSES_MAX: usize = 4;

fn normalize_once(kind: Kind, value: &str) -> Normalized {
    match kind {
        Kind::Address => {
            let r = address::normalize_address(value);
            if r.address.street.is_empty()
                && r.address.city.is_none()
                && r.address.prefecture.is_none()
            {
                return Normalized::invalid(kind, r.flags);
            }
            Normalized {
                kind,
                canonical: Some(r.address.canonical()),
                detail: Detail::Address(r.address),
                keys: r.keys,
                flags: r.flags,
            }
        }
        Kind::Name => match name::normalize_name(value) {
            Ok((n, keys, flags)) => Normalized {
                kind,
                canonical: Some(n.canonical.clone()),
                detail: Detail::Name(n),
                keys,
                flags,
            },
            Err(flags) => Normalized::invalid(kind, flags),
        },
        Kind::Phone => match phone::normalize_phone(value) {
            Ok((p, flags)) => {
                let keys = vec![MatchKey {
                    name: KeyName::Phone,
                    value: p.e164.clone(),
                }];
                Normalized {
                    kind,
                    canonical: Some(p.e164.clone()),
                    detail: Detail::Phone(p),
                    keys,
                    flags,
                }
            }
            Err(flags) => Normalized::invalid(kind, flags),
        },
        Kind::Email => match email::normalize_email(value) {
            Ok((e, flags)) => {
                let keys = vec![MatchKey {
                    name: KeyName::Email,
                    value: e.key.clone(),
                }];
                Normalized {
                    kind,
                    canonical: Some(e.canonical.clone()),
                    detail: Detail::Email(e),
                    keys,
                    flags,
                }
            }
            Err(flags) => Normalized::invalid(kind, flags),
        },
        Kind::Device => match net::normalize_device(value) {
            Ok(d) => {
                let keys = vec![MatchKey {
                    name: KeyName::Device,
                    value: d.clone(),
                }];
                Normalized {
                    kind,
                    canonical: Some(d),
                    detail: Detail::Device,
                    keys,
                    flags: Vec::new(),
                }
            }
            Err(flags) => Normalized::invalid(kind, flags),
        },
        Kind::Ip => match net::normalize_ip(value) {
            Ok((ip, keys)) => Normalized {
                kind,
                canonical: Some(ip.canonical.clone()),
                detail: Detail::Ip(ip),
                keys,
                flags: Vec::new(),
            },
            Err(flags) => Normalized::invalid(kind, flags),
        },
    }
}
