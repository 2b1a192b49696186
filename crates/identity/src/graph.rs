//! The identity graph: accounts (dense `u32` ids) linked by the keyed hashes
//! of what they share.
//!
//! Only STRONG links (phone, e-mail, device) merge accounts into a cluster;
//! a shared address unit (medium) or IP address (weak, and only within a time
//! window) is recorded and can be queried, but never merges on its own:
//! families and dormitories share addresses and must not become one person.
//!
//! Clusters are kept incrementally with union-find (union by size); the
//! cluster id is the smallest account id in it, so it does not depend on the
//! order links arrived in. Withdrawing a strong link recomputes the one
//! cluster it was in.
//!
//! Hub keys: a strong key shared by more accounts than its kind's threshold
//! ([`HubThresholds`]: an emulator's default device id, a shop's tablet, a
//! shared test number, a call-centre phone) is not evidence of one person.
//! The link that takes it past the threshold flags it as a hub, and from then
//! on it joins nobody: the accounts it had joined are split apart again (the
//! cluster is recomputed without it; accounts still linked by another key
//! stay together). So at most `threshold` accounts are ever joined through
//! one key, and a hub is flagged for good (a withdrawal does not revive it:
//! a key that once served that many accounts is a shared device). Why split
//! rather than keep the first `threshold` accounts joined: keeping them would
//! leave the first 20 customers of a shop tablet sharing one limit forever
//! (the smallest, with the others' exposure summed) for no reason but their
//! arrival order, and would make the hub's accounts' credit depend on who
//! came first; the split costs one cluster recomputation, once per hub. What
//! it gives up: a ring that pushes its own device past the threshold (by
//! opening more than `threshold` accounts on it, each with its own verified
//! phone) is no longer joined through that device — it is still joined by
//! any phone or e-mail it reuses, and the hub flag (with the number of
//! accounts behind it, [`Graph::hub_keys`]) is a risk feature of its own.
//! Membership is still recorded for a hub, so the accounts sharing it can be
//! listed and counted.
//!
//! Cluster changes: [`Graph::link`] and [`Graph::withdraw_tracked`] say which
//! clusters merged or split ([`ClusterChange`]), so a caller keeping running
//! totals per cluster can combine them (merge) or recompute them from the
//! members (split) instead of summing over a cluster at every decision.
//!
//! Determinism: no observable iteration over a hash map. Serialization
//! writes accounts and keys in id order and nothing derived, so the same
//! operations give the same bytes; deserializing rebuilds the rest.
//!
//! Memory: per account ~80 bytes plus ~30 bytes per distinct key; the
//! `graph_scale` example measures it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

use crate::key::KeyHash;

pub type AccountId = u32;
/// The smallest account id in the cluster.
pub type ClusterId = u32;
type KeyId = u32;

const NONE: u32 = u32::MAX;

/// Default hub threshold for device ids. A household shares a tablet (a
/// handful of people) and a cash-out ring is "several accounts" of one or a
/// few people (DOMAIN.md §2: linked by IP, device, address, phone) — both
/// well under 20, so they still link and share one limit; a ring must open
/// more than 20 accounts on one device, each behind its own SMS-verified
/// phone, to stop the device linking, and then the device is flagged. A
/// shop's tablet, an in-store kiosk or an emulator's default device id
/// serves hundreds to thousands of customers and must not make them one
/// person.
pub const HUB_THRESHOLD_DEVICE_DEFAULT: u32 = 20;
/// Default hub threshold for phones. The phone is the login ID and receives
/// the sign-up SMS code: honest sharing is one person's re-registrations or
/// a family number, a few accounts. A ring reusing one number for several
/// accounts stays linked; a shared test number or a call centre's phone
/// (hundreds of accounts) does not merge its callers.
pub const HUB_THRESHOLD_PHONE_DEFAULT: u32 = 10;
/// Default hub threshold for e-mail mailboxes (plus-aliases and dots are
/// already folded into one mailbox, so a ring's aliases count together).
/// Same reasoning as phones: one person's handful of accounts links, a
/// shared office or test mailbox does not merge its users.
pub const HUB_THRESHOLD_EMAIL_DEFAULT: u32 = 10;
/// At most this many accounts (ids are dense `u32`, and `u32::MAX` is "none").
pub const ACCOUNTS_MAX: u32 = u32::MAX - 1;
/// At most this many distinct keys.
pub const KEYS_MAX: u32 = u32::MAX - 1;
/// At most this many links on one account; a real customer has a handful.
pub const LINKS_PER_ACCOUNT_MAX: usize = 256;
/// Default IP window: an IP shared within a day counts, an older one not.
pub const IP_WINDOW_MS_DEFAULT: i64 = 24 * 60 * 60 * 1000;
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What kind of thing two accounts share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Phone,
    Email,
    Device,
    AddressUnit,
    Ip,
    /// A name: an attribute, never a link.
    Name,
}

/// How much a shared key says about two accounts being one person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// Merges clusters.
    Strong,
    /// Recorded and queryable; never merges.
    Medium,
    /// Recorded, queryable within a time window; never merges.
    Weak,
    /// Not a link at all.
    Attribute,
}

impl LinkKind {
    pub const ALL: [LinkKind; 6] = [
        LinkKind::Phone,
        LinkKind::Email,
        LinkKind::Device,
        LinkKind::AddressUnit,
        LinkKind::Ip,
        LinkKind::Name,
    ];

    pub fn strength(self) -> Strength {
        match self {
            LinkKind::Phone | LinkKind::Email | LinkKind::Device => Strength::Strong,
            LinkKind::AddressUnit => Strength::Medium,
            LinkKind::Ip => Strength::Weak,
            LinkKind::Name => Strength::Attribute,
        }
    }

    pub fn is_strong(self) -> bool {
        self.strength() == Strength::Strong
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Phone => "phone",
            LinkKind::Email => "email",
            LinkKind::Device => "device",
            LinkKind::AddressUnit => "address_unit",
            LinkKind::Ip => "ip",
            LinkKind::Name => "name",
        }
    }
}

/// One step of an explanation: `from` and `to` share `key` of `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub from: AccountId,
    pub to: AccountId,
    pub kind: LinkKind,
    pub key: KeyHash,
}

/// How a link or a withdrawal changed the clusters (ids as defined by
/// [`Graph::cluster_of`]: the smallest account id in the cluster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterChange {
    /// Two clusters became one. `into` is the id of the merged cluster (the
    /// smaller of the two ids); `absorbed` the other id, which no longer
    /// names a cluster. Running totals: `total[into] += total[absorbed]`.
    Merged {
        into: ClusterId,
        absorbed: ClusterId,
    },
    /// The cluster `from` fell apart into `into` (ascending; `from` is
    /// usually one of them). Running totals: drop `from`, recompute each of
    /// `into` from its members. Happens when a key becomes a hub or a strong
    /// link is withdrawn: rare, O(size of `from`) once.
    Split {
        from: ClusterId,
        into: Vec<ClusterId>,
    },
}

/// A hub key an account carries: a strong key that served more accounts
/// than its kind's threshold, and so joins nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HubKey {
    pub kind: LinkKind,
    pub key: KeyHash,
    /// Accounts that have the key now (this one included).
    pub accounts: u32,
    /// When the key was flagged (the time of the link that took it past the
    /// threshold, or of the threshold change that did).
    pub since_ms: i64,
}

/// The most accounts one strong key may join, per kind; a key shared by
/// more is a hub and joins nobody. A threshold of 0 or 1 means the kind
/// never joins two accounts. Medium and weak kinds never join anyway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubThresholds {
    pub phone: u32,
    pub email: u32,
    pub device: u32,
}

impl Default for HubThresholds {
    fn default() -> Self {
        HubThresholds {
            phone: HUB_THRESHOLD_PHONE_DEFAULT,
            email: HUB_THRESHOLD_EMAIL_DEFAULT,
            device: HUB_THRESHOLD_DEVICE_DEFAULT,
        }
    }
}

impl HubThresholds {
    /// The threshold in force for a strong kind (0 counts as 1: a key with
    /// a single account joins nobody either way); `None` for kinds that
    /// never join.
    pub fn of(&self, kind: LinkKind) -> Option<u32> {
        let t = match kind {
            LinkKind::Phone => self.phone,
            LinkKind::Email => self.email,
            LinkKind::Device => self.device,
            LinkKind::AddressUnit | LinkKind::Ip | LinkKind::Name => return None,
        };
        Some(t.max(1))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("account {0} does not exist")]
    UnknownAccount(AccountId),
    #[error("the graph holds the most accounts it can")]
    TooManyAccounts,
    #[error("the graph holds the most keys it can")]
    TooManyKeys,
    #[error("account {0} already has {LINKS_PER_ACCOUNT_MAX} links")]
    TooManyLinks(AccountId),
    #[error("a name is an attribute: use set_name, not link")]
    NameIsNotALink,
    #[error("this key was first linked as {existing:?}, not {given:?}")]
    KindMismatch { existing: LinkKind, given: LinkKind },
}

/// A link as stored: the key, and the last time it was seen, in minutes since
/// the epoch (minute precision is plenty for an IP window, and halves the size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Link {
    key: KeyId,
    seen_min: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Account {
    created_at_ms: i64,
    name: Option<KeyHash>,
    links: SmallVec<[Link; 5]>,
}

fn ms_to_min(ms: i64) -> u32 {
    (ms.max(0) / 60_000).min(i64::from(u32::MAX)) as u32
}

fn min_to_ms(min: u32) -> i64 {
    i64::from(min) * 60_000
}

/// Key hashes are already uniform (HMAC output), so eight of their bytes
/// are the table hash. Deterministic, and never iterated observably.
/// Tables the key index is split into.
const KEY_SHARDS: usize = 256;

/// The shard of a key: middle bits of its table hash (hashbrown uses the low
/// bits for the bucket and the top 7 for its tag, so those stay varied).
fn key_shard(h: u64) -> usize {
    ((h >> 40) & (KEY_SHARDS as u64 - 1)) as usize
}

fn table_hash(k: &KeyHash) -> u64 {
    // Keys are HMAC outputs and so already uniform; the multiply-xorshift
    // keeps the table fast even for keys that are not (measured: sequential
    // synthetic keys made hashbrown probe through long full runs).
    let mut b = [0u8; 8];
    b.copy_from_slice(&k.0[..8]);
    let x = u64::from_le_bytes(b).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

/// Settings that change what the graph answers (not what it stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphConfig {
    /// An IP link counts for `accounts_sharing_at` only if seen within this
    /// many milliseconds before the query time.
    pub ip_window_ms: i64,
    /// Strong keys shared by more accounts than this are hubs and join
    /// nobody (set through [`Graph::set_hub_thresholds`] once built).
    pub hub_threshold: HubThresholds,
}

impl Default for Graph {
    fn default() -> Graph {
        Graph::new(GraphConfig::default())
    }
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            ip_window_ms: IP_WINDOW_MS_DEFAULT,
            hub_threshold: HubThresholds::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Graph {
    config: GraphConfig,
    accounts: Vec<Account>,
    key_hash: Vec<KeyHash>,
    key_kind: Vec<LinkKind>,
    /// One member inline per key; the others (shared keys only) below.
    key_first: Vec<AccountId>,
    key_more: BTreeMap<KeyId, Vec<AccountId>>,
    /// Hub keys (strong keys that join nobody) and when each was flagged.
    /// Hubs are rare, so a map costs nothing per ordinary key.
    hubs: BTreeMap<KeyId, i64>,
    /// Key ids, looked up by `key_hash[id]`, in [`KEY_SHARDS`] tables so
    /// that growing one never rehashes millions of keys at once (measured:
    /// a 432 ms stall at ~4M keys with a single table).
    key_index: Box<[hashbrown::HashTable<KeyId>]>,
    // Union-find over accounts.
    parent: Vec<AccountId>,
    size: Vec<u32>,
    /// Smallest member, valid at roots.
    min: Vec<AccountId>,
    /// Members of a cluster form a ring through `next`.
    next: Vec<AccountId>,
}

impl Graph {
    pub fn new(config: GraphConfig) -> Graph {
        Graph::with_capacity(config, 0, 0)
    }

    /// Pre-sizes every table; at scale this avoids the transient doubling of
    /// a growing hash table.
    pub fn with_capacity(config: GraphConfig, accounts: usize, keys: usize) -> Graph {
        Graph {
            config,
            accounts: Vec::with_capacity(accounts),
            key_hash: Vec::with_capacity(keys),
            key_kind: Vec::with_capacity(keys),
            key_first: Vec::with_capacity(keys),
            key_more: BTreeMap::new(),
            hubs: BTreeMap::new(),
            key_index: (0..KEY_SHARDS)
                .map(|_| hashbrown::HashTable::with_capacity(keys / KEY_SHARDS))
                .collect(),
            parent: Vec::with_capacity(accounts),
            size: Vec::with_capacity(accounts),
            min: Vec::with_capacity(accounts),
            next: Vec::with_capacity(accounts),
        }
    }

    pub fn config(&self) -> GraphConfig {
        self.config
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    pub fn key_count(&self) -> usize {
        self.key_hash.len()
    }

    /// Adds an account and returns its id (the next dense id).
    pub fn add_account(&mut self, created_at_ms: i64) -> Result<AccountId, GraphError> {
        let id = u32::try_from(self.accounts.len()).map_err(|_| GraphError::TooManyAccounts)?;
        if id >= ACCOUNTS_MAX {
            return Err(GraphError::TooManyAccounts);
        }
        self.accounts.push(Account {
            created_at_ms,
            name: None,
            links: SmallVec::new(),
        });
        self.parent.push(id);
        self.size.push(1);
        self.min.push(id);
        self.next.push(id);
        Ok(id)
    }

    /// Attaches the (hashed) name: an attribute for feature queries, not a link.
    pub fn set_name(&mut self, account: AccountId, name: KeyHash) -> Result<(), GraphError> {
        self.account_mut(account)?.name = Some(name);
        Ok(())
    }

    pub fn created_at_ms(&self, account: AccountId) -> Option<i64> {
        self.accounts.get(account as usize).map(|a| a.created_at_ms)
    }

    fn account_mut(&mut self, account: AccountId) -> Result<&mut Account, GraphError> {
        self.accounts
            .get_mut(account as usize)
            .ok_or(GraphError::UnknownAccount(account))
    }

    fn lookup(&self, key: &KeyHash) -> Option<KeyId> {
        let h = table_hash(key);
        self.key_index[key_shard(h)]
            .find(h, |&id| self.key_hash[id as usize] == *key)
            .copied()
    }

    fn insert_key(&mut self, id: KeyId) {
        let hashes = &self.key_hash;
        let h = table_hash(&hashes[id as usize]);
        self.key_index[key_shard(h)]
            .insert_unique(h, id, |&other| table_hash(&hashes[other as usize]));
    }

    fn key_id(&self, kind: LinkKind, key: &KeyHash) -> Option<KeyId> {
        self.lookup(key)
            .filter(|&k| self.key_kind[k as usize] == kind)
    }

    /// Records that `account` has `key` of `kind`, seen at `at_ms`. Linking
    /// again refreshes the time. A strong key merges the account's cluster
    /// with every cluster that has the key — unless the key is a hub, or
    /// this link makes it one (more accounts than its kind's threshold): then
    /// it joins nobody and the cluster it had joined is split apart.
    /// Returns how the clusters changed, if they did.
    pub fn link(
        &mut self,
        account: AccountId,
        kind: LinkKind,
        key: KeyHash,
        at_ms: i64,
    ) -> Result<Option<ClusterChange>, GraphError> {
        if kind == LinkKind::Name {
            return Err(GraphError::NameIsNotALink);
        }
        if account as usize >= self.accounts.len() {
            return Err(GraphError::UnknownAccount(account));
        }
        let seen_min = ms_to_min(at_ms);
        let kid = match self.lookup(&key) {
            Some(k) => {
                let existing = self.key_kind[k as usize];
                if existing != kind {
                    return Err(GraphError::KindMismatch {
                        existing,
                        given: kind,
                    });
                }
                k
            }
            None => {
                let k = u32::try_from(self.key_hash.len()).map_err(|_| GraphError::TooManyKeys)?;
                if k >= KEYS_MAX {
                    return Err(GraphError::TooManyKeys);
                }
                self.key_hash.push(key);
                self.key_kind.push(kind);
                self.key_first.push(NONE);
                self.insert_key(k);
                k
            }
        };
        let acc = &mut self.accounts[account as usize];
        if let Some(l) = acc.links.iter_mut().find(|l| l.key == kid) {
            l.seen_min = l.seen_min.max(seen_min);
            return Ok(None);
        }
        if acc.links.len() >= LINKS_PER_ACCOUNT_MAX {
            return Err(GraphError::TooManyLinks(account));
        }
        acc.links.push(Link { key: kid, seen_min });
        let first = self.key_first[kid as usize];
        if first == NONE {
            self.key_first[kid as usize] = account;
            return Ok(None);
        }
        self.key_more.entry(kid).or_default().push(account);
        let Some(threshold) = self.config.hub_threshold.of(kind) else {
            return Ok(None);
        };
        if self.hubs.contains_key(&kid) {
            return Ok(None);
        }
        if self.key_member_count(kid) > threshold as usize {
            // Every earlier member is in `first`'s cluster (a key that joins
            // keeps its members together); recompute it without this key.
            self.hubs.insert(kid, at_ms);
            return Ok(self.recompute_cluster(first));
        }
        Ok(self.union(account, first))
    }

    /// Sets the hub thresholds. Keys that now serve more accounts than their
    /// kind's threshold become hubs (flagged at `at_ms`) and their clusters
    /// are split; raising a threshold revives no hub. Deterministic: shared
    /// keys are visited in id order. O(shared keys) when a threshold is
    /// lowered, O(1) otherwise.
    pub fn set_hub_thresholds(&mut self, t: HubThresholds, at_ms: i64) -> Vec<ClusterChange> {
        let old = self.config.hub_threshold;
        self.config.hub_threshold = t;
        let mut changes = Vec::new();
        if t.phone >= old.phone && t.email >= old.email && t.device >= old.device {
            return changes;
        }
        let over: Vec<KeyId> = self
            .key_more
            .iter()
            .filter(|&(&kid, more)| {
                !self.hubs.contains_key(&kid)
                    && t.of(self.key_kind[kid as usize])
                        .is_some_and(|th| 1 + more.len() > th as usize)
            })
            .map(|(&kid, _)| kid)
            .collect();
        for kid in over {
            self.hubs.insert(kid, at_ms);
            let first = self.key_first[kid as usize];
            if first != NONE {
                changes.extend(self.recompute_cluster(first));
            }
        }
        changes
    }

    /// Removes the link; returns whether there was one. Withdrawing a strong
    /// link recomputes the cluster the account was in.
    pub fn withdraw(
        &mut self,
        account: AccountId,
        kind: LinkKind,
        key: KeyHash,
    ) -> Result<bool, GraphError> {
        Ok(self.withdraw_tracked(account, kind, key)?.0)
    }

    /// [`Graph::withdraw`], also saying how the clusters changed (a split,
    /// when the link was the only bridge). A hub key stays a hub.
    pub fn withdraw_tracked(
        &mut self,
        account: AccountId,
        kind: LinkKind,
        key: KeyHash,
    ) -> Result<(bool, Option<ClusterChange>), GraphError> {
        if account as usize >= self.accounts.len() {
            return Err(GraphError::UnknownAccount(account));
        }
        let Some(kid) = self.key_id(kind, &key) else {
            return Ok((false, None));
        };
        let acc = &mut self.accounts[account as usize];
        let Some(pos) = acc.links.iter().position(|l| l.key == kid) else {
            return Ok((false, None));
        };
        acc.links.remove(pos);
        // Remove from the key's members.
        let k = kid as usize;
        let mut had_others = false;
        if self.key_first[k] == account {
            match self.key_more.get_mut(&kid) {
                Some(more) if !more.is_empty() => {
                    had_others = true;
                    self.key_first[k] = more.remove(0);
                    if more.is_empty() {
                        self.key_more.remove(&kid);
                    }
                }
                _ => self.key_first[k] = NONE,
            }
        } else if let Some(more) = self.key_more.get_mut(&kid) {
            had_others = true;
            more.retain(|&a| a != account);
            if more.is_empty() {
                self.key_more.remove(&kid);
            }
        }
        if kind.is_strong() && had_others && !self.hubs.contains_key(&kid) {
            return Ok((true, self.recompute_cluster(account)));
        }
        Ok((true, None))
    }

    /// Whether a key joins the accounts that share it: strong and not a hub.
    fn joins(&self, kid: KeyId) -> bool {
        self.key_kind[kid as usize].is_strong() && !self.hubs.contains_key(&kid)
    }

    /// Accounts that have the key. O(log shared keys).
    fn key_member_count(&self, kid: KeyId) -> usize {
        if self.key_first[kid as usize] == NONE {
            return 0;
        }
        1 + self.key_more.get(&kid).map_or(0, Vec::len)
    }

    // ---- union-find ----

    fn find(&self, mut a: AccountId) -> AccountId {
        while self.parent[a as usize] != a {
            a = self.parent[a as usize];
        }
        a
    }

    fn find_compress(&mut self, a: AccountId) -> AccountId {
        let root = self.find(a);
        let mut x = a;
        while self.parent[x as usize] != root {
            let next = self.parent[x as usize];
            self.parent[x as usize] = root;
            x = next;
        }
        root
    }

    fn union(&mut self, a: AccountId, b: AccountId) -> Option<ClusterChange> {
        let (ra, rb) = (self.find_compress(a), self.find_compress(b));
        if ra == rb {
            return None;
        }
        let (ma, mb) = (self.min[ra as usize], self.min[rb as usize]);
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        self.min[big as usize] = self.min[big as usize].min(self.min[small as usize]);
        // Splice the two member rings.
        let (nb, ns) = (self.next[big as usize], self.next[small as usize]);
        self.next[big as usize] = ns;
        self.next[small as usize] = nb;
        Some(ClusterChange::Merged {
            into: ma.min(mb),
            absorbed: ma.max(mb),
        })
    }

    fn ring(&self, start: AccountId) -> Vec<AccountId> {
        let mut out = vec![start];
        let mut x = self.next[start as usize];
        while x != start {
            out.push(x);
            x = self.next[x as usize];
        }
        out
    }

    /// Rebuilds the account's cluster from its members' joining links;
    /// returns the split if it fell apart. O(members × links).
    fn recompute_cluster(&mut self, account: AccountId) -> Option<ClusterChange> {
        let from = self.min[self.find(account) as usize];
        let members = self.ring(account);
        for &m in &members {
            let i = m as usize;
            self.parent[i] = m;
            self.size[i] = 1;
            self.min[i] = m;
            self.next[i] = m;
        }
        for &m in &members {
            let links: SmallVec<[Link; 5]> = self.accounts[m as usize].links.clone();
            for l in links {
                if !self.joins(l.key) {
                    continue;
                }
                let first = self.key_first[l.key as usize];
                if first != NONE && first != m {
                    self.union(m, first);
                }
            }
        }
        let mut into: Vec<ClusterId> = members
            .iter()
            .map(|&m| self.min[self.find(m) as usize])
            .collect();
        into.sort_unstable();
        into.dedup();
        (into.len() > 1).then_some(ClusterChange::Split { from, into })
    }

    // ---- queries ----

    /// The cluster an account is in (the smallest account id in it).
    pub fn cluster_of(&self, account: AccountId) -> Option<ClusterId> {
        if account as usize >= self.accounts.len() {
            return None;
        }
        Some(self.min[self.find(account) as usize])
    }

    /// Number of accounts in the account's cluster.
    pub fn cluster_size(&self, account: AccountId) -> usize {
        if account as usize >= self.accounts.len() {
            return 0;
        }
        self.size[self.find(account) as usize] as usize
    }

    /// The accounts of a cluster, ascending. Empty if `cluster` is not a
    /// cluster id.
    pub fn members(&self, cluster: ClusterId) -> Vec<AccountId> {
        if self.cluster_of(cluster) != Some(cluster) {
            return Vec::new();
        }
        let mut m = self.ring(cluster);
        m.sort_unstable();
        m
    }

    fn key_members(&self, kid: KeyId) -> impl Iterator<Item = AccountId> + '_ {
        let first = self.key_first[kid as usize];
        std::iter::once(first)
            .filter(|&a| a != NONE)
            .chain(self.key_more.get(&kid).into_iter().flatten().copied())
    }

    /// How many accounts have this key. O(log shared keys).
    pub fn sharing_count(&self, kind: LinkKind, key: &KeyHash) -> usize {
        self.key_id(kind, key)
            .map_or(0, |kid| self.key_member_count(kid))
    }

    /// Whether the key is a hub (shared by more accounts than its kind's
    /// threshold: it joins nobody).
    pub fn is_hub(&self, kind: LinkKind, key: &KeyHash) -> bool {
        self.key_id(kind, key)
            .is_some_and(|kid| self.hubs.contains_key(&kid))
    }

    /// Number of hub keys in the graph.
    pub fn hub_count(&self) -> usize {
        self.hubs.len()
    }

    /// The hub keys an account carries, in link order, with how many
    /// accounts each serves: a risk feature (a customer on a shop's tablet,
    /// an emulator's default id, a shared number). O(links × log hubs); no
    /// allocation when the account carries none.
    pub fn hub_keys(&self, account: AccountId) -> Vec<HubKey> {
        let Some(acc) = self.accounts.get(account as usize) else {
            return Vec::new();
        };
        if self.hubs.is_empty() {
            return Vec::new();
        }
        acc.links
            .iter()
            .filter_map(|l| {
                let since_ms = *self.hubs.get(&l.key)?;
                Some(HubKey {
                    kind: self.key_kind[l.key as usize],
                    key: self.key_hash[l.key as usize],
                    accounts: u32::try_from(self.key_member_count(l.key)).unwrap_or(u32::MAX),
                    since_ms,
                })
            })
            .collect()
    }

    /// Every account that has this key, ascending.
    pub fn accounts_sharing(&self, kind: LinkKind, key: &KeyHash) -> Vec<AccountId> {
        let Some(kid) = self.key_id(kind, key) else {
            return Vec::new();
        };
        let mut v: Vec<AccountId> = self.key_members(kid).collect();
        v.sort_unstable();
        v
    }

    /// Accounts that have this key and were seen with it within the window
    /// ending at `at_ms` (IP: the configured window; other kinds: ever).
    pub fn accounts_sharing_at(&self, kind: LinkKind, key: &KeyHash, at_ms: i64) -> Vec<AccountId> {
        let Some(kid) = self.key_id(kind, key) else {
            return Vec::new();
        };
        let from_min = ms_to_min(at_ms.saturating_sub(self.config.ip_window_ms));
        let mut v: Vec<AccountId> = self
            .key_members(kid)
            .filter(|&a| {
                kind != LinkKind::Ip
                    || self.accounts[a as usize]
                        .links
                        .iter()
                        .any(|l| l.key == kid && l.seen_min >= from_min)
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// The links of an account: (kind, key, last seen ms), in link order.
    pub fn links_of(&self, account: AccountId) -> Vec<(LinkKind, KeyHash, i64)> {
        self.accounts
            .get(account as usize)
            .map(|a| {
                a.links
                    .iter()
                    .map(|l| {
                        (
                            self.key_kind[l.key as usize],
                            self.key_hash[l.key as usize],
                            min_to_ms(l.seen_min),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Why `a` and `b` are one cluster: the shortest chain of strong shared
    /// keys from `a` to `b`. `None` if they are in different clusters;
    /// `Some(vec![])` if `a == b`.
    pub fn explain(&self, a: AccountId, b: AccountId) -> Option<Vec<Evidence>> {
        if self.cluster_of(a)? != self.cluster_of(b)? {
            return None;
        }
        if a == b {
            return Some(Vec::new());
        }
        let mut came_from: BTreeMap<AccountId, (AccountId, KeyId)> = BTreeMap::new();
        let mut queue = VecDeque::from([a]);
        came_from.insert(a, (a, NONE));
        while let Some(x) = queue.pop_front() {
            for l in &self.accounts[x as usize].links {
                if !self.joins(l.key) {
                    continue;
                }
                let mut neighbours: Vec<AccountId> = self.key_members(l.key).collect();
                neighbours.sort_unstable();
                for y in neighbours {
                    if came_from.contains_key(&y) {
                        continue;
                    }
                    came_from.insert(y, (x, l.key));
                    if y == b {
                        let mut path = Vec::new();
                        let mut cur = b;
                        while cur != a {
                            let (prev, kid) = came_from[&cur];
                            path.push(Evidence {
                                from: prev,
                                to: cur,
                                kind: self.key_kind[kid as usize],
                                key: self.key_hash[kid as usize],
                            });
                            cur = prev;
                        }
                        path.reverse();
                        return Some(path);
                    }
                    queue.push_back(y);
                }
            }
        }
        // Unreachable while the union-find is consistent with the links.
        None
    }

    /// Distinct names among the accounts that have this key (device, address unit, …).
    pub fn distinct_names_sharing(&self, kind: LinkKind, key: &KeyHash) -> usize {
        let Some(kid) = self.key_id(kind, key) else {
            return 0;
        };
        self.key_members(kid)
            .filter_map(|a| self.accounts[a as usize].name)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Accounts with this key created within `window_ms` up to `at_ms`
    /// (e.g. new accounts at an address unit in the last 30 days).
    pub fn new_accounts_sharing(
        &self,
        kind: LinkKind,
        key: &KeyHash,
        at_ms: i64,
        window_ms: i64,
    ) -> usize {
        let Some(kid) = self.key_id(kind, key) else {
            return 0;
        };
        let from = at_ms.saturating_sub(window_ms);
        self.key_members(kid)
            .filter(|&a| {
                let c = self.accounts[a as usize].created_at_ms;
                c > from && c <= at_ms
            })
            .count()
    }

    /// Features of the account's cluster for the risk engine.
    pub fn cluster_features(&self, account: AccountId, at_ms: i64) -> Option<ClusterFeatures> {
        let cluster = self.cluster_of(account)?;
        let members = self.members(cluster);
        let names: BTreeSet<KeyHash> = members
            .iter()
            .filter_map(|&m| self.accounts[m as usize].name)
            .collect();
        let mut devices = BTreeSet::new();
        let mut addresses = BTreeSet::new();
        let mut phones = BTreeSet::new();
        let mut emails = BTreeSet::new();
        for &m in &members {
            for l in &self.accounts[m as usize].links {
                match self.key_kind[l.key as usize] {
                    LinkKind::Device => devices.insert(l.key),
                    LinkKind::AddressUnit => addresses.insert(l.key),
                    LinkKind::Phone => phones.insert(l.key),
                    LinkKind::Email => emails.insert(l.key),
                    LinkKind::Ip | LinkKind::Name => false,
                };
            }
        }
        let newest = members
            .iter()
            .map(|&m| self.accounts[m as usize].created_at_ms)
            .max()
            .unwrap_or(i64::MIN);
        let new_30d = members
            .iter()
            .filter(|&&m| {
                let c = self.accounts[m as usize].created_at_ms;
                c > at_ms.saturating_sub(30 * DAY_MS) && c <= at_ms
            })
            .count();
        Some(ClusterFeatures {
            cluster,
            accounts: members.len(),
            distinct_names: names.len(),
            distinct_devices: devices.len(),
            distinct_address_units: addresses.len(),
            distinct_phones: phones.len(),
            distinct_emails: emails.len(),
            accounts_created_last_30d: new_30d,
            newest_account_created_at_ms: newest,
        })
    }

    /// Checks the internal invariants (union-find agrees with key membership,
    /// rings agree with sizes). For tests and after deserializing.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (i, acc) in self.accounts.iter().enumerate() {
            let a = i as AccountId;
            for l in &acc.links {
                if !self.key_members(l.key).any(|m| m == a) {
                    return Err(format!(
                        "account {a} links key {} but is not a member",
                        l.key
                    ));
                }
                if self.joins(l.key) {
                    let count = self.key_member_count(l.key);
                    let threshold = self
                        .config
                        .hub_threshold
                        .of(self.key_kind[l.key as usize])
                        .unwrap_or(0);
                    if count > threshold as usize {
                        return Err(format!(
                            "key {} joins {count} accounts, over its threshold {threshold}",
                            l.key
                        ));
                    }
                    for m in self.key_members(l.key) {
                        if self.find(m) != self.find(a) {
                            return Err(format!(
                                "accounts {a} and {m} share a strong key but not a cluster"
                            ));
                        }
                    }
                }
            }
            let root = self.find(a);
            if self.parent[root as usize] == root && root == a {
                let ring = self.ring(a);
                if ring.len() != self.size[a as usize] as usize {
                    return Err(format!(
                        "cluster {a}: ring {} != size {}",
                        ring.len(),
                        self.size[a as usize]
                    ));
                }
                if ring.iter().copied().min() != Some(self.min[a as usize]) {
                    return Err(format!("cluster {a}: min is wrong"));
                }
            }
        }
        for &kid in self.hubs.keys() {
            if kid as usize >= self.key_kind.len() || !self.key_kind[kid as usize].is_strong() {
                return Err(format!("hub {kid} is not a strong key"));
            }
        }
        // No cluster is larger than its joining links make it: recompute
        // the clusters from scratch and compare.
        let n = self.accounts.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                let up = parent[parent[x as usize] as usize];
                parent[x as usize] = up;
                x = up;
            }
            x
        }
        for (i, acc) in self.accounts.iter().enumerate() {
            for l in &acc.links {
                let first = self.key_first[l.key as usize];
                if self.joins(l.key) && first != NONE {
                    let (ra, rb) = (root(&mut parent, i as u32), root(&mut parent, first));
                    parent[ra.max(rb) as usize] = ra.min(rb);
                }
            }
        }
        for a in 0..n as u32 {
            let fresh = root(&mut parent, a);
            if self.cluster_of(a) != Some(fresh) {
                return Err(format!(
                    "account {a} is in cluster {:?}, its links make it {fresh}",
                    self.cluster_of(a)
                ));
            }
        }
        Ok(())
    }
}

/// What the risk engine reads about an account's cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterFeatures {
    pub cluster: ClusterId,
    pub accounts: usize,
    pub distinct_names: usize,
    pub distinct_devices: usize,
    pub distinct_address_units: usize,
    pub distinct_phones: usize,
    pub distinct_emails: usize,
    pub accounts_created_last_30d: usize,
    pub newest_account_created_at_ms: i64,
}

/// The serialized form: the operations' results, nothing derived. The hub
/// flags are state, not derived (which keys are hubs depends on the order
/// links arrived in and on withdrawals), so they are written: ascending key
/// id with the time each was flagged.
#[derive(Serialize)]
struct GraphReprRef<'a> {
    version: u32,
    config: GraphConfig,
    accounts: &'a [Account],
    key_hash: &'a [KeyHash],
    key_kind: &'a [LinkKind],
    hubs: Vec<(KeyId, i64)>,
}

#[derive(Deserialize)]
struct GraphRepr {
    version: u32,
    config: GraphConfig,
    accounts: Vec<Account>,
    key_hash: Vec<KeyHash>,
    key_kind: Vec<LinkKind>,
    hubs: Vec<(KeyId, i64)>,
}

/// 2: `config.hub_threshold` and `hubs` (hub keys).
const REPR_VERSION: u32 = 2;

impl Serialize for Graph {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        GraphReprRef {
            version: REPR_VERSION,
            config: self.config,
            accounts: &self.accounts,
            key_hash: &self.key_hash,
            key_kind: &self.key_kind,
            hubs: self.hubs.iter().map(|(&k, &t)| (k, t)).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Graph {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Graph, D::Error> {
        use serde::de::Error;
        let r = GraphRepr::deserialize(d)?;
        if r.version != REPR_VERSION {
            return Err(D::Error::custom(format!(
                "graph version {} (expected {REPR_VERSION})",
                r.version
            )));
        }
        if r.key_hash.len() != r.key_kind.len() || r.accounts.len() >= ACCOUNTS_MAX as usize {
            return Err(D::Error::custom("graph tables disagree in length"));
        }
        let mut g = Graph::with_capacity(r.config, r.accounts.len(), r.key_hash.len());
        for (i, (h, k)) in r.key_hash.iter().zip(&r.key_kind).enumerate() {
            if g.lookup(h).is_some() {
                return Err(D::Error::custom("duplicate key hash"));
            }
            g.key_hash.push(*h);
            g.key_kind.push(*k);
            g.key_first.push(NONE);
            g.insert_key(i as KeyId);
        }
        for &(kid, since_ms) in &r.hubs {
            let strong = r.key_kind.get(kid as usize).is_some_and(|k| k.is_strong());
            if !strong || g.hubs.insert(kid, since_ms).is_some() {
                return Err(D::Error::custom("a hub that is not a strong key"));
            }
        }
        for acc in &r.accounts {
            g.add_account(acc.created_at_ms).map_err(D::Error::custom)?;
        }
        // Replay memberships and unions in account order.
        for (i, acc) in r.accounts.iter().enumerate() {
            let a = i as AccountId;
            for l in &acc.links {
                let k = l.key as usize;
                if k >= g.key_hash.len() {
                    return Err(D::Error::custom("link to an unknown key"));
                }
                let first = g.key_first[k];
                if first == NONE {
                    g.key_first[k] = a;
                } else {
                    g.key_more.entry(l.key).or_default().push(a);
                    if g.joins(l.key) {
                        g.union(a, first);
                    }
                }
            }
        }
        g.accounts = r.accounts;
        Ok(g)
    }
}
