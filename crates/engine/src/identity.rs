//! Identity in the engine: the graph of accounts linked by keyed hashes of
//! what they share (`atobarai-identity`), and what credit makes of it.
//!
//! The engine never sees a plaintext key nor the HMAC secret: the shell
//! normalizes phone, e-mail, address and name at registration (and device
//! and IP at authorization), hashes them with the secret from configuration
//! and the command carries the hashes ([`IdentityKeys`], [`SessionKeys`]).
//! Customer index `i` is graph account `i` (both are dense and grow together).
//!
//! Credit follows the cluster: accounts merged by STRONG links (phone,
//! e-mail, device) are one person and share one limit. A shared address unit
//! (medium) or IP (weak) never merges, so a family or a dormitory keeps one
//! limit per resident.
//!
//! - cluster limit = the minimum of the members' limits. The smallest limit is
//!   the one we are sure of: a person must not get the largest limit of their
//!   accounts (or their sum) by opening another one, and an account with a
//!   raised limit (bank debit) does not lend it to a fresh account.
//! - cluster exposure = Σ members' exposure, where another member's credit
//!   balance counts as zero: a credit balance pays that account's own next
//!   invoices, it does not make room on a sister account.
//! - any member with an overdue invoice blocks every member.
//!
//! Hub keys: a device id, phone or e-mail shared by more accounts than
//! `identity.hub_threshold` (a shop's tablet, an emulator's default device
//! id, a shared test number) joins nobody, so its customers keep their own
//! limits and a cluster joined through one key never exceeds the threshold
//! (see `atobarai_identity::graph`). The hub keys a customer carries, with
//! how many accounts each serves, are a risk feature ([`HubFeatures`]) and
//! are shown to operators ([`IdentityView::hub_keys`]).
//!
//! Running totals per cluster: every mutation here returns the
//! [`ClusterChange`]s it caused (merges and splits), and
//! [`IdentityState::cluster_id`] / [`IdentityState::cluster_size`] are
//! O(α), so the engine can keep Σ exposure per cluster incrementally instead
//! of summing the members at every decision ([`IdentityState::cluster_credit`]
//! does that today, O(cluster size)).

use crate::seg::SegVec;
use crate::state::Customer;
use atobarai_core::config::HubThresholds as HubThresholdsConfig;
use atobarai_core::{At, Yen};
use atobarai_identity::graph::DAY_MS;
pub(crate) use atobarai_identity::{ClusterChange, HubKey};
use atobarai_identity::{Graph, GraphError, HubThresholds, KeyHash, LinkKind, Strength};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Keyed hashes computed by the shell at registration. A key the shell could
/// not compute (no room number in the address, …) is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdentityKeys {
    /// E.164 phone (strong link).
    pub phone: Option<KeyHash>,
    /// Provider-normalized mailbox (strong link).
    pub email: Option<KeyHash>,
    /// Address down to the room (medium link: families share it).
    pub address_unit: Option<KeyHash>,
    /// Canonical name (an attribute, never a link).
    pub name: Option<KeyHash>,
}

/// Keyed hashes computed by the shell at authorization.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKeys {
    /// Device id (strong link).
    pub device: Option<KeyHash>,
    /// IP network: /24 for IPv4, /64 for IPv6 (weak link, time-bounded).
    pub ip: Option<KeyHash>,
}

/// New accounts at one address unit are counted over this window.
const ADDRESS_NEW_ACCOUNTS_WINDOW_MS: i64 = 30 * DAY_MS;
/// An identity view lists at most this many members (and related accounts);
/// `members_total` says how many there are.
const VIEW_ACCOUNTS_MAX: usize = 200;

/// The identity part of the engine state: the graph, serialized in its own
/// deterministic form (accounts and keys in id order, nothing derived).
#[derive(Default)]
pub(crate) struct IdentityState {
    graph: Graph,
}

impl Serialize for IdentityState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.graph.serialize(s)
    }
}

impl<'de> Deserialize<'de> for IdentityState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IdentityState, D::Error> {
        Ok(IdentityState {
            graph: Graph::deserialize(d)?,
        })
    }
}

impl PartialEq for IdentityState {
    /// Equal when they serialize to the same bytes (the graph's derived
    /// tables are rebuilt from those).
    fn eq(&self, other: &Self) -> bool {
        postcard::to_stdvec(&self.graph).ok() == postcard::to_stdvec(&other.graph).ok()
    }
}

/// What the credit rules need about a customer's cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClusterCredit {
    /// Accounts in the cluster (the customer's own included).
    pub accounts: u32,
    /// Σ max(exposure, 0) over the OTHER members.
    pub others_exposure: Yen,
    /// The minimum of the members' limits (the customer's own included).
    pub limit: Yen,
    /// Another member has an overdue invoice.
    pub other_overdue: bool,
}

impl ClusterCredit {
    /// The cluster's exposure if the customer's own exposure were `own`.
    pub(crate) fn exposure_with(&self, own: Yen) -> Yen {
        Yen::new(self.others_exposure.get().saturating_add(own.get().max(0)))
    }
}

/// What the identity graph says about an order's session: whether its
/// device and IP network were already linked to the account (asked before
/// the order links them), and how many accounts use each (after).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionSeen {
    pub device_new: bool,
    pub ip_new: bool,
    pub device_accounts: u32,
    pub ip_accounts: u32,
}

impl IdentityState {
    /// Were the session's keys linked to account `ci` already? (Call before
    /// [`IdentityState::link_session`].)
    pub(crate) fn session_seen(&self, ci: u32, keys: &SessionKeys) -> SessionSeen {
        let links = self.graph.links_of(ci);
        let new = |kind: LinkKind, key: Option<KeyHash>| {
            key.is_some_and(|k| !links.iter().any(|(lk, lkey, _)| *lk == kind && *lkey == k))
        };
        SessionSeen {
            device_new: new(LinkKind::Device, keys.device),
            ip_new: new(LinkKind::Ip, keys.ip),
            device_accounts: 0,
            ip_accounts: 0,
        }
    }

    /// Fill in how many accounts use the session's device and IP network.
    pub(crate) fn session_accounts(&self, keys: &SessionKeys, seen: &mut SessionSeen) {
        let count = |kind: LinkKind, key: Option<KeyHash>| {
            key.map_or(0, |k| {
                u32::try_from(self.graph.sharing_count(kind, &k)).unwrap_or(u32::MAX)
            })
        };
        seen.device_accounts = count(LinkKind::Device, keys.device);
        seen.ip_accounts = count(LinkKind::Ip, keys.ip);
    }

    /// At most `max` members of account `ci`'s cluster (itself included
    /// when the cluster is that small).
    pub(crate) fn cluster_members_capped(&self, ci: u32, max: usize) -> Vec<u32> {
        let Some(cluster) = self.graph.cluster_of(ci) else {
            return Vec::new();
        };
        let mut members = self.graph.members(cluster);
        members.truncate(max);
        members
    }

    /// Accounts in the graph (one per customer).
    pub(crate) fn accounts(&self) -> usize {
        self.graph.account_count()
    }

    /// Adds customer `ci` (which must be the next account id) with its keys.
    /// Call after every validation: it mutates. Returns the cluster changes
    /// (the new account joining clusters by its phone or e-mail, a key
    /// becoming a hub).
    pub(crate) fn register(
        &mut self,
        ci: u32,
        at: At,
        keys: &IdentityKeys,
    ) -> Result<Vec<ClusterChange>, GraphError> {
        let account = self.graph.add_account(at.unix_ms())?;
        debug_assert_eq!(account, ci);
        if let Some(name) = keys.name {
            self.graph.set_name(account, name)?;
        }
        let links = [
            (LinkKind::Phone, keys.phone),
            (LinkKind::Email, keys.email),
            (LinkKind::AddressUnit, keys.address_unit),
        ];
        let mut changes = Vec::new();
        for (kind, key) in links {
            if let Some(key) = key {
                // A fresh account has no links yet, so only a hash collision
                // across kinds (2^-128) could refuse this; skip such a key.
                if let Ok(Some(change)) = self.graph.link(account, kind, key, at.unix_ms()) {
                    changes.push(change);
                }
            }
        }
        Ok(changes)
    }

    /// Records the device and IP an authorization came from. Never fails:
    /// an account at its link cap drops its least recently seen IP link to
    /// make room (deterministically), and a key that still cannot be linked
    /// is skipped. Returns the cluster changes (joining a device's cluster,
    /// the device becoming a hub).
    /// Link a verified new phone or e-mail to the account. The old one
    /// stays linked: a changed contact is history the graph keeps (it
    /// must not let an account leave the accounts it shared a phone with).
    pub(crate) fn link_contact(&mut self, ci: u32, at: At, kind: LinkKind, key: KeyHash) {
        // A full account (the link cap) keeps its links; the change is
        // still recorded by the lifecycle (its time is a risk feature).
        let _ = self.graph.link(ci, kind, key, at.unix_ms());
    }

    pub(crate) fn link_session(
        &mut self,
        ci: u32,
        at: At,
        keys: &SessionKeys,
    ) -> Vec<ClusterChange> {
        let mut changes = Vec::new();
        let links = [(LinkKind::Device, keys.device), (LinkKind::Ip, keys.ip)];
        for (kind, key) in links {
            let Some(key) = key else { continue };
            match self.graph.link(ci, kind, key, at.unix_ms()) {
                Ok(change) => changes.extend(change),
                Err(GraphError::TooManyLinks(_)) => {
                    let oldest_ip = self
                        .graph
                        .links_of(ci)
                        .into_iter()
                        .filter(|(k, _, _)| *k == LinkKind::Ip)
                        .min_by_key(|&(_, _, seen)| seen);
                    if let Some((_, old, _)) = oldest_ip {
                        // An IP never joins, so withdrawing one changes no cluster.
                        let _ = self.graph.withdraw(ci, LinkKind::Ip, old);
                        if let Ok(change) = self.graph.link(ci, kind, key, at.unix_ms()) {
                            changes.extend(change);
                        }
                    }
                }
                Err(_) => {}
            }
        }
        changes
    }

    /// The cluster's credit figures, or `None` when the customer is alone in
    /// its cluster (the common case, O(1)). O(cluster size) otherwise.
    pub(crate) fn cluster_credit(
        &self,
        ci: u32,
        customers: &SegVec<Customer>,
        overdue: impl Fn(&Customer) -> bool,
    ) -> Option<ClusterCredit> {
        if self.graph.cluster_size(ci) <= 1 {
            return None;
        }
        let cluster = self.graph.cluster_of(ci)?;
        let own = customers.get(ci as usize)?;
        let mut out = ClusterCredit {
            accounts: 0,
            others_exposure: Yen::ZERO,
            limit: own.limit,
            other_overdue: false,
        };
        for m in self.graph.members(cluster) {
            let Some(c) = customers.get(m as usize) else {
                continue;
            };
            // Accounts are indexed by u32, so a cluster never holds more:
            // saturating is exact here.
            out.accounts = out.accounts.saturating_add(1);
            out.limit = out.limit.min(c.limit);
            if m != ci {
                let e = c.exposure().get().max(0);
                out.others_exposure = Yen::new(out.others_exposure.get().saturating_add(e));
                out.other_overdue |= overdue(c);
            }
        }
        Some(out)
    }

    /// Accounts in the customer's cluster and new accounts (last 30 days)
    /// at its address unit, for the risk engine.
    pub(crate) fn features(&self, ci: u32, at: At) -> (u32, u32) {
        // Counts are at most the number of accounts, which are indexed by
        // u32: saturating at `u32::MAX` never loses anything.
        let accounts = u32::try_from(self.graph.cluster_size(ci)).unwrap_or(u32::MAX);
        let at_address = self
            .graph
            .links_of(ci)
            .into_iter()
            .find(|(k, _, _)| *k == LinkKind::AddressUnit)
            .map_or(0, |(kind, key, _)| {
                u32::try_from(self.graph.new_accounts_sharing(
                    kind,
                    &key,
                    at.unix_ms(),
                    ADDRESS_NEW_ACCOUNTS_WINDOW_MS,
                ))
                .unwrap_or(u32::MAX)
            });
        (accounts, at_address)
    }

    /// The operator's view of a customer's identity at `now`.
    pub(crate) fn view(&self, ci: u32, now: At) -> Option<IdentityView> {
        let cluster = self.graph.cluster_of(ci)?;
        let all = self.graph.members(cluster);
        // Counts here are of accounts (u32 indexes), so saturating at
        // `u32::MAX` never loses anything.
        let members_total = u32::try_from(all.len()).unwrap_or(u32::MAX);
        // The customer first, then the others ascending.
        let ordered = std::iter::once(ci).chain(all.iter().copied().filter(|&m| m != ci));
        let members = ordered
            .take(VIEW_ACCOUNTS_MAX)
            .map(|m| IdentityMember {
                customer: m,
                links: self.links(m),
                evidence: self
                    .graph
                    .explain(ci, m)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| EvidenceStep {
                        from: e.from,
                        to: e.to,
                        kind: e.kind,
                        key: e.key,
                    })
                    .collect(),
            })
            .collect();
        // Accounts sharing a medium or weak key (address unit; IP within
        // its window) without being one person: households, dormitories.
        let mut related: Vec<(u32, LinkKind, KeyHash)> = Vec::new();
        for (kind, key, _) in self.graph.links_of(ci) {
            if kind.is_strong() {
                continue;
            }
            for other in self.graph.accounts_sharing_at(kind, &key, now.unix_ms()) {
                if self.graph.cluster_of(other) != Some(cluster) {
                    related.push((other, kind, key));
                }
            }
        }
        related.sort_unstable();
        let mut related_view: Vec<IdentityMember> = Vec::new();
        for (other, kind, key) in related {
            let link = IdentityLink {
                kind,
                key,
                last_seen: At::from_unix_ms(0),
                shared_with: 0,
                hub: false,
            };
            let full = related_view.len() >= VIEW_ACCOUNTS_MAX;
            match related_view.last_mut() {
                Some(r) if r.customer == other => r.links.push(link),
                _ if full => break,
                _ => related_view.push(IdentityMember {
                    customer: other,
                    links: vec![link],
                    evidence: Vec::new(),
                }),
            }
        }
        for r in &mut related_view {
            for l in &mut r.links {
                l.shared_with =
                    u32::try_from(self.graph.sharing_count(l.kind, &l.key)).unwrap_or(u32::MAX);
                l.last_seen = self
                    .graph
                    .links_of(r.customer)
                    .into_iter()
                    .find(|(_, k, _)| *k == l.key)
                    .map_or(At::from_unix_ms(0), |(_, _, seen)| At::from_unix_ms(seen));
            }
        }
        let hub_keys = self
            .graph
            .hub_keys(ci)
            .into_iter()
            .map(|h| HubKeyView {
                kind: h.kind,
                key: h.key,
                accounts: h.accounts,
                since: At::from_unix_ms(h.since_ms),
            })
            .collect();
        Some(IdentityView {
            customer: ci,
            cluster,
            members_total,
            members,
            related: related_view,
            hub_keys,
        })
    }

    fn links(&self, account: u32) -> Vec<IdentityLink> {
        self.graph
            .links_of(account)
            .into_iter()
            .map(|(kind, key, seen)| IdentityLink {
                kind,
                key,
                last_seen: At::from_unix_ms(seen),
                // Saturating: at most the number of accounts (u32 indexes).
                shared_with: u32::try_from(self.graph.sharing_count(kind, &key))
                    .unwrap_or(u32::MAX),
                hub: self.graph.is_hub(kind, &key),
            })
            .collect()
    }

    /// The graph's own invariants, and one account per customer.
    pub(crate) fn check(&self, customers: usize) -> Result<(), String> {
        if self.graph.account_count() != customers {
            return Err(format!(
                "identity graph has {} accounts for {customers} customers",
                self.graph.account_count()
            ));
        }
        self.graph.check_invariants()
    }
}

/// Hub thresholds from the rules (`SetRules`), hub features for the risk
/// facts, and the O(α) cluster lookups a per-cluster running total would be
/// keyed by (not used yet: cluster credit is still summed over the members,
/// which hub keys keep to at most the threshold through any one key).
#[allow(
    dead_code,
    reason = "cluster_id, cluster_size and cluster_members are for per-cluster running totals, not wired yet"
)]
impl IdentityState {
    /// Applies `identity.hub_threshold` from the rules in force (call it
    /// wherever the rules are installed: `SetRules`, engine construction).
    /// The thresholds are part of the graph's state (snapshots carry them);
    /// a lowered threshold flags the keys now over it at `at` and splits
    /// their clusters, a raised one revives no hub. Returns the splits.
    pub(crate) fn set_hub_thresholds(
        &mut self,
        t: &HubThresholdsConfig,
        at: At,
    ) -> Vec<ClusterChange> {
        let t = HubThresholds {
            phone: t.phone,
            email: t.email,
            device: t.device,
        };
        if self.graph.config().hub_threshold == t {
            return Vec::new();
        }
        self.graph.set_hub_thresholds(t, at.unix_ms())
    }

    /// The id of the customer's cluster (its smallest customer index), to key
    /// running totals by. O(α); `None` for an unknown customer.
    pub(crate) fn cluster_id(&self, ci: u32) -> Option<u32> {
        self.graph.cluster_of(ci)
    }

    /// Accounts that carry this key (at most `max`, ascending), none for a
    /// hub key: a key shared by that many accounts says nothing about one
    /// person (the re-registration screen reads this).
    pub(crate) fn accounts_sharing(
        &self,
        kind: atobarai_identity::LinkKind,
        key: &KeyHash,
        max: usize,
    ) -> Vec<u32> {
        if self.graph.is_hub(kind, key) {
            return Vec::new();
        }
        let mut v = self.graph.accounts_sharing(kind, key);
        v.truncate(max);
        v
    }

    /// Accounts in the customer's cluster. O(α); 0 for an unknown customer.
    pub(crate) fn cluster_size(&self, ci: u32) -> u32 {
        u32::try_from(self.graph.cluster_size(ci)).unwrap_or(u32::MAX)
    }

    /// The customers of a cluster, ascending (empty if `cluster` is not a
    /// cluster id): what a split's new clusters are recomputed from.
    pub(crate) fn cluster_members(&self, cluster: u32) -> Vec<u32> {
        self.graph.members(cluster)
    }

    /// The hub keys the customer carries, with the accounts each serves.
    /// O(links); no allocation when there are none (the common case).
    pub(crate) fn hub_keys(&self, ci: u32) -> Vec<HubKey> {
        self.graph.hub_keys(ci)
    }

    /// The hub features of a customer for the risk engine. O(links).
    pub(crate) fn hub_features(&self, ci: u32) -> HubFeatures {
        let hubs = self.graph.hub_keys(ci);
        HubFeatures {
            // Saturating: an account carries far fewer than u32::MAX links.
            hub_keys: u32::try_from(hubs.len()).unwrap_or(u32::MAX),
            hub_accounts_max: hubs.iter().map(|h| h.accounts).max().unwrap_or(0),
        }
    }
}

/// Who a customer is linked to, for operators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityView {
    /// Index of the customer viewed.
    pub customer: u32,
    /// The smallest customer index in the cluster.
    pub cluster: u32,
    /// Members of the cluster in all (`members` lists at most 200).
    pub members_total: u32,
    /// The customer first, then the other members ascending (at most 200).
    pub members: Vec<IdentityMember>,
    /// Accounts outside the cluster sharing a medium or weak key (address
    /// unit, a recent IP): never merged, shown so a household can be explained.
    pub related: Vec<IdentityMember>,
    /// The customer's hub keys: strong keys (device, phone, e-mail) shared
    /// by more accounts than `identity.hub_threshold`, which therefore join
    /// nobody. Evidence for a review: a customer on a shop's tablet or an
    /// emulator's default device id. In link order.
    pub hub_keys: Vec<HubKeyView>,
}

/// A hub key, for operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubKeyView {
    /// Which kind of key (device, phone, e-mail).
    pub kind: LinkKind,
    /// The keyed hash (a blind index).
    pub key: KeyHash,
    /// Accounts that have the key now (this one included).
    pub accounts: u32,
    /// When it was flagged as a hub.
    pub since: At,
}

/// What the risk engine can read about a customer's hub keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HubFeatures {
    /// Hub keys the customer carries.
    pub hub_keys: u32,
    /// The most accounts any of them serves (0 without hub keys).
    pub hub_accounts_max: u32,
}

/// An account in a customer's cluster, or related to it, for operators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityMember {
    /// Index of the account's customer.
    pub customer: u32,
    /// For a member: all its links. For a related account: the keys it
    /// shares with the customer.
    pub links: Vec<IdentityLink>,
    /// Shortest chain of strong shared keys from the customer to this member
    /// (empty for the customer itself and for related accounts).
    pub evidence: Vec<EvidenceStep>,
}

/// A key an account carries, for operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    /// Which kind of key (phone, e-mail, address unit, device, IP).
    pub kind: LinkKind,
    /// The keyed hash (a blind index: comparable, not reversible).
    pub key: KeyHash,
    /// When the account last used the key.
    pub last_seen: At,
    /// Accounts that have this key (this one included).
    pub shared_with: u32,
    /// The key is a hub: shared by more accounts than its kind's threshold,
    /// it joins nobody (its `shared_with` accounts are not one person).
    pub hub: bool,
}

impl IdentityLink {
    /// How strongly the key links accounts (its kind's strength).
    pub fn weight(&self) -> Strength {
        self.kind.strength()
    }
}

/// One link in a chain of shared keys from one account to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceStep {
    /// Index of the customer the step starts from.
    pub from: u32,
    /// Index of the customer the step reaches.
    pub to: u32,
    /// Which kind of key they share.
    pub kind: LinkKind,
    /// The shared keyed hash (a blind index).
    pub key: KeyHash,
}
