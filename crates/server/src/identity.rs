//! Identity keys, computed in the shell: the normalizers of
//! `atobarai-identity` and the HMAC secret from configuration turn what a
//! customer typed (and the device and IP an order came from) into the keyed
//! hashes the engine links accounts with. The secret never enters the
//! engine, the journal or a snapshot.

use atobarai_core::ids;
use atobarai_engine::{
    self as engine, IdentityKeys, IdentityView, KeyHash, LinkKind, SessionKeys, Strength, prefix,
};
use atobarai_identity::{Flag, KeyName, Kind, Normalized, key_hash, normalize};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// The shell's protection of personal data: the identity HMAC secret
/// (`identity.key_secret`) and, when configured, the sealing of personal
/// fields at rest ([`crate::privacy`]: keyring and key vault). Without
/// sealing, registrations are journaled in clear (the pre-sealing format);
/// `atobarai serve` always configures it.
#[derive(Clone)]
pub struct IdentitySecret {
    secret: Arc<[u8]>,
    privacy: Option<Arc<crate::privacy::Privacy>>,
    /// The eKYC vendor's callback settings (its signing secret).
    ekyc: Arc<atobarai_core::lifecycle::EkycConfig>,
}

impl IdentitySecret {
    pub fn new(secret: &str) -> IdentitySecret {
        IdentitySecret {
            secret: Arc::from(secret.as_bytes()),
            privacy: None,
            ekyc: Arc::default(),
        }
    }

    /// The same secret, checking signed eKYC callbacks with `ekyc`.
    pub fn with_ekyc(mut self, ekyc: atobarai_core::lifecycle::EkycConfig) -> IdentitySecret {
        self.ekyc = Arc::new(ekyc);
        self
    }

    /// The eKYC vendor's callback settings.
    pub fn ekyc(&self) -> &atobarai_core::lifecycle::EkycConfig {
        &self.ekyc
    }

    /// HMAC-SHA256 of `data` under the secret, in the `domain` given (so
    /// no two uses of the secret can be confused): what one-time payment
    /// codes are kept as.
    pub fn keyed_hash(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(domain);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The same secret, sealing personal data with `privacy`.
    pub fn with_privacy(mut self, privacy: Arc<crate::privacy::Privacy>) -> IdentitySecret {
        self.privacy = Some(privacy);
        self
    }

    /// The sealing of personal data, if configured.
    pub fn privacy(&self) -> Option<&Arc<crate::privacy::Privacy>> {
        self.privacy.as_ref()
    }

    /// A request fingerprint keyed with the secret (HMAC-SHA256, first 16
    /// bytes): what idempotency records keep of a request carrying
    /// personal data, so no unkeyed hash of it reaches the state.
    pub fn keyed_fingerprint(&self, fingerprint: &[u8; 16]) -> [u8; 16] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"atobarai/idempotency/");
        mac.update(fingerprint);
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag[..16]);
        out
    }

    fn hash(&self, link: LinkKind, n: &Normalized, name: KeyName) -> Option<KeyHash> {
        n.key(name).map(|k| key_hash(&self.secret, link, k))
    }

    /// The registration keys. `address` is the address with its postal code
    /// in front (`〒100-0013 東京都…`), so a municipality the text left out
    /// comes from the code.
    pub fn registration_keys(
        &self,
        name: &Normalized,
        phone: &Normalized,
        email: &Normalized,
        address: &Normalized,
    ) -> IdentityKeys {
        IdentityKeys {
            phone: self.hash(LinkKind::Phone, phone, KeyName::Phone),
            email: self.hash(LinkKind::Email, email, KeyName::Email),
            address_unit: self.hash(LinkKind::AddressUnit, address, KeyName::AddressUnit),
            name: self
                .hash(LinkKind::Name, name, KeyName::Name)
                .or_else(|| self.hash(LinkKind::Name, name, KeyName::NameKana)),
        }
    }

    /// The identity key of a normalized phone number or e-mail address
    /// (the same key a registration carries for it).
    pub fn contact_key(&self, kind: engine::ContactKind, n: &Normalized) -> Option<KeyHash> {
        match kind {
            engine::ContactKind::Phone => self.hash(LinkKind::Phone, n, KeyName::Phone),
            engine::ContactKind::Email => self.hash(LinkKind::Email, n, KeyName::Email),
        }
    }

    /// The keys of an authorization: the device id, and the IP's network
    /// (/24 for IPv4, /64 for IPv6: a phone's address moves within it).
    /// Empty, too short or placeholder device ids give no key.
    pub fn session_keys(&self, device_id: &str, ip: &str) -> SessionKeys {
        let device = normalize(Kind::Device, device_id);
        let device = if is_placeholder_device(device.canonical.as_deref().unwrap_or("")) {
            None
        } else {
            self.hash(LinkKind::Device, &device, KeyName::Device)
        };
        let net = normalize(Kind::Ip, ip);
        SessionKeys {
            device,
            ip: self
                .hash(LinkKind::Ip, &net, KeyName::Ip24)
                .or_else(|| self.hash(LinkKind::Ip, &net, KeyName::Ip64)),
        }
    }
}

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySecret(<redacted>)")
    }
}

/// A device id that many unrelated devices send (an advertising id zeroed
/// by "limit ad tracking", a literal "unknown") would merge strangers into
/// one person: such ids are not keys.
fn is_placeholder_device(d: &str) -> bool {
    let mut significant = d.chars().filter(|c| !matches!(c, '-' | ':' | ' ' | '_'));
    let first = significant.next();
    let one_char_repeated = first.is_none_or(|f| significant.all(|c| c == f));
    one_char_repeated
        || [
            "unknown",
            "null",
            "none",
            "undefined",
            "nil",
            "n/a",
            "test",
            "device",
        ]
        .iter()
        .any(|p| d.eq_ignore_ascii_case(p))
}

/// A phone number a customer can be reached on: valid for libphonenumber and
/// Japanese.
pub fn phone_is_acceptable(n: &Normalized) -> bool {
    n.is_valid()
        && !n
            .flags
            .iter()
            .any(|f| matches!(f, Flag::ImpossibleNumber | Flag::NotJapanese))
}

/// Whether the postal code contradicts the address, when the gazetteer can
/// tell: a code it does not know, or an address whose municipality it cannot
/// find, is given the benefit of the doubt (the gazetteer lags new codes and
/// towns; refusing a real customer is worse than a missed check).
pub fn postal_code_contradicts(postal_code: &str, address: &str) -> bool {
    let digits: String = postal_code.chars().filter(char::is_ascii_digit).collect();
    let Ok(code) = digits.parse::<u32>() else {
        return false;
    };
    if digits.len() != 7
        || atobarai_identity::gazetteer::get()
            .postal_rows(code)
            .is_empty()
    {
        return false;
    }
    if atobarai_identity::address::normalize_address(address)
        .city_id
        .is_none()
    {
        return false;
    }
    !atobarai_identity::postal_code_matches(postal_code, address)
}

// ----- rendering -------------------------------------------------------------

/// `GET /v1/customers/{id}/identity`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Identity {
    /// The customer asked about.
    pub customer: String,
    /// The identity cluster: accounts joined by strong links (phone, e-mail,
    /// device). They share one credit limit.
    pub cluster_id: String,
    pub members_total: u32,
    /// The customer first, then the other members (at most 200).
    pub members: Vec<IdentityMember>,
    /// Accounts sharing only a medium or weak key (address unit, a recent
    /// IP network): never merged, each keeps its own limit.
    pub related: Vec<IdentityMember>,
    /// The customer's hub keys: a device id, phone or e-mail shared by more
    /// accounts than `identity.hub_threshold` (a shop's tablet, an
    /// emulator's default id, a shared number). A hub joins nobody; it is
    /// shown as evidence for a review.
    pub hub_keys: Vec<HubKey>,
}

/// A hub key (see [`Identity::hub_keys`]).
#[derive(Debug, Serialize, ToSchema)]
pub struct HubKey {
    /// `phone`, `email` or `device`.
    pub kind: &'static str,
    /// The keyed hash, hex.
    pub key: String,
    /// Accounts that have the key now (this one included).
    pub accounts: u32,
    /// When it became a hub.
    pub since: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityMember {
    pub customer: String,
    /// A member's links; for a related account, what it shares with the customer.
    pub links: Vec<IdentityLink>,
    /// The shortest chain of strong shared keys from the customer to this
    /// member (empty for the customer itself and for related accounts).
    pub evidence: Vec<EvidenceStep>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityLink {
    /// `phone`, `email`, `device`, `address_unit`, `ip`.
    pub kind: &'static str,
    /// `strong` (merges), `medium` or `weak` (recorded, never merges).
    pub weight: &'static str,
    /// The keyed hash, hex (a blind index: equal keys match, nothing more).
    pub key: String,
    /// How many accounts have this key (this one included).
    pub shared_with: u32,
    /// The key is a hub: shared by more accounts than its kind's threshold,
    /// it joins nobody.
    pub hub: bool,
    pub last_seen: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceStep {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    pub key: String,
}

fn cus(i: u32) -> String {
    ids::encode(prefix::CUSTOMER, u64::from(i))
}

fn weight(s: Strength) -> &'static str {
    match s {
        Strength::Strong => "strong",
        Strength::Medium => "medium",
        Strength::Weak => "weak",
        Strength::Attribute => "attribute",
    }
}

impl From<&engine::IdentityMember> for IdentityMember {
    fn from(m: &engine::IdentityMember) -> IdentityMember {
        IdentityMember {
            customer: cus(m.customer),
            links: m
                .links
                .iter()
                .map(|l| IdentityLink {
                    kind: l.kind.as_str(),
                    weight: weight(l.weight()),
                    key: l.key.to_hex(),
                    shared_with: l.shared_with,
                    hub: l.hub,
                    last_seen: l.last_seen.to_rfc3339_jst(),
                })
                .collect(),
            evidence: m
                .evidence
                .iter()
                .map(|e| EvidenceStep {
                    from: cus(e.from),
                    to: cus(e.to),
                    kind: e.kind.as_str(),
                    key: e.key.to_hex(),
                })
                .collect(),
        }
    }
}

impl From<&IdentityView> for Identity {
    fn from(v: &IdentityView) -> Identity {
        Identity {
            customer: cus(v.customer),
            cluster_id: ids::encode(prefix::CLUSTER, u64::from(v.cluster)),
            members_total: v.members_total,
            members: v.members.iter().map(IdentityMember::from).collect(),
            related: v.related.iter().map(IdentityMember::from).collect(),
            hub_keys: v
                .hub_keys
                .iter()
                .map(|h| HubKey {
                    kind: h.kind.as_str(),
                    key: h.key.to_hex(),
                    accounts: h.accounts,
                    since: h.since.to_rfc3339_jst(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_code_checks_only_what_the_gazetteer_knows() {
        let kasumigaseki = "東京都千代田区霞が関1-3-1 霞ビル101";
        assert!(!postal_code_contradicts("100-0013", kasumigaseki));
        // Osaka's code for a Tokyo address.
        assert!(postal_code_contradicts("530-0001", kasumigaseki));
        // An unknown code, an address the gazetteer cannot place.
        assert!(!postal_code_contradicts("999-9999", kasumigaseki));
        assert!(!postal_code_contradicts("100-0013", "どこか遠く 1-2-3"));
    }

    #[test]
    fn placeholder_devices_are_not_keys() {
        let s = IdentitySecret::new("s");
        assert!(
            s.session_keys("00000000-0000-0000-0000-000000000000", "")
                .device
                .is_none()
        );
        assert!(s.session_keys("unknown", "").device.is_none());
        assert!(s.session_keys("", "").device.is_none());
        assert!(s.session_keys("dev-9f2c", "").device.is_some());
    }

    #[test]
    fn ip_keys_are_networks() {
        let s = IdentitySecret::new("s");
        assert_eq!(
            s.session_keys("", "203.0.113.7").ip,
            s.session_keys("", "203.0.113.200").ip
        );
        assert_ne!(
            s.session_keys("", "203.0.113.7").ip,
            s.session_keys("", "203.0.114.7").ip
        );
        assert_eq!(
            s.session_keys("", "2001:db8:1:2::1").ip,
            s.session_keys("", "2001:db8:1:2:ffff::9").ip
        );
        assert!(s.session_keys("", "").ip.is_none());
    }
}
