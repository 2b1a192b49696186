//! The generic journal: balanced entries over an account type `A` in a unit
//! `Q`, with two-phase holds.

use crate::chunked::{self, Chunked};
use crate::points::Points;
use atobarai_core::{At, Yen};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::iter::FusedIterator;

/// Most postings one entry may carry. A statement close posts one entry per
/// kind of charge, not per order, so a handful is the norm.
pub const POSTINGS_PER_ENTRY_MAX: usize = 64;
/// Most entries one journal may hold (a bound on memory, far above a
/// national provider's yearly volume per engine).
pub const ENTRIES_MAX: usize = 1 << 34;
/// Most holds open at once.
pub const HOLDS_OPEN_MAX: usize = 1 << 26;
/// Entries are stored in chunks of `2^ENTRY_CHUNK_BITS` (65,536; about
/// 3.5 MiB of yen entries), each allocated once at full capacity: appending
/// never moves the entries already posted, so a post costs at most one
/// chunk allocation instead of a copy of the whole journal.
const ENTRY_CHUNK_BITS: u32 = 16;

/// An amount type a journal can carry: a signed count of whole units.
pub trait Quantity: Copy + Debug + Default + Eq + Ord + Serialize + DeserializeOwned {
    /// The largest magnitude one posting may carry.
    const POSTING_UNITS_MAX: i64;
    /// The amount as a signed count of units (debit positive).
    fn units(self) -> i64;
    /// The amount of `units` units.
    fn from_units(units: i64) -> Self;
}

impl Quantity for Yen {
    const POSTING_UNITS_MAX: i64 = Yen::AMOUNT_MAX.get();
    fn units(self) -> i64 {
        self.get()
    }
    fn from_units(units: i64) -> Self {
        Yen::new(units)
    }
}

impl Quantity for Points {
    const POSTING_UNITS_MAX: i64 = 1_000_000_000_000;
    fn units(self) -> i64 {
        self.get()
    }
    fn from_units(units: i64) -> Self {
        Points::new(units)
    }
}

/// Position of an entry in its journal, from 0. Dense, assigned by the
/// journal, never reused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct EntryId(pub u64);

/// A hold's identity, chosen by the caller (the engine uses the order's
/// index). Unique among open holds; a caller must not reuse the id of a
/// resolved hold (the journal does not keep resolved ids, to bound memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HoldId(pub u64);

/// Why money (or points) moved. The journal does not interpret it; it is for
/// statements, audits and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A captured purchase: Dr customer receivable, Cr merchant payable.
    Capture,
    /// A hold posted by [`Journal::post_hold`].
    HoldPosted,
    /// A refund of a purchase: the reverse of a capture.
    Refund,
    /// The provider pays a merchant: Dr merchant payable, Cr cash.
    MerchantSettlement,
    /// A customer payment received: Dr cash, Cr receivable (and customer
    /// credit for any over-payment).
    Payment,
    /// A payment returned by the channel (e.g. a failed bank debit): the
    /// exact reverse of a [`EntryKind::Payment`].
    PaymentReversal,
    /// A customer credit applied to what they owe.
    CreditApplied,
    /// A customer credit paid back to the customer.
    CreditRefunded,
    /// A payment fee charged on a statement.
    PaymentFee,
    /// A late fee charged on the 10th or 25th.
    LateFee,
    /// Delay damages accrued on overdue principal.
    DelayDamages,
    /// A paid-tier membership fee charged on a statement.
    MembershipFee,
    /// A receivable written off as uncollectable.
    WriteOff,
    /// Points granted to a customer.
    PointsGrant,
    /// Points spent as a discount.
    PointsRedeem,
    /// Points that expired unused.
    PointsExpire,
    /// Points taken back (e.g. after a refund).
    PointsClawBack,
    /// An operator correction; always balanced like everything else.
    Adjustment,
    /// Gift cards issued at capture: Dr gift cards sold, Cr liability.
    GiftCardIssue,
    /// A gift card redeemed: Dr liability, Cr the wallet.
    GiftCardRedeem,
    /// An unredeemed gift card voided (refund) or revoked: the reverse of
    /// its issue.
    GiftCardVoid,
    /// A redeemed card revoked: Dr the wallet, Cr claw-back.
    GiftCardClawback,
    /// A revoked card reinstated on appeal: the reverse of its claw-back.
    GiftCardReinstate,
    /// A purchase paid from a wallet: Dr the wallet, Cr wallet spent.
    WalletSpend,
}

/// One leg of an entry: positive amount = debit, negative = credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting<A, Q> {
    /// The account debited or credited.
    pub account: A,
    /// Debit positive, credit negative.
    pub amount: Q,
}

impl<A, Q: Quantity> Posting<A, Q> {
    /// Debit `account` by `amount` (a positive posting).
    pub fn debit(account: A, amount: Q) -> Self {
        Posting { account, amount }
    }
    /// Credit `account` by `amount` (a negative posting). The negation
    /// saturates, so a posting of `i64::MIN` units becomes one the journal
    /// refuses as too large instead of wrapping.
    pub fn credit(account: A, amount: Q) -> Self {
        Posting {
            account,
            amount: Q::from_units(amount.units().saturating_neg()),
        }
    }
}

/// An entry as the caller proposes it; the journal assigns the id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry<A, Q> {
    /// When it happened; never before the journal's last entry.
    pub at: At,
    /// Why money moved.
    pub kind: EntryKind,
    /// The engine's index of what this entry is about (order, payment,
    /// statement…), interpreted by `kind`.
    pub reference: u64,
    /// Two or more postings summing to zero.
    pub postings: Vec<Posting<A, Q>>,
}

/// A posted entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<A, Q> {
    /// Its position in the journal.
    pub id: EntryId,
    /// When it happened.
    pub at: At,
    /// Why money moved.
    pub kind: EntryKind,
    /// What it is about, as in [`NewEntry::reference`].
    pub reference: u64,
    /// Two or more postings summing to zero.
    pub postings: Vec<Posting<A, Q>>,
}

/// An open two-phase hold: `amount` reserved from `debit` to `credit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold<A, Q> {
    /// The caller's id for the hold.
    pub id: HoldId,
    /// When it was placed.
    pub at: At,
    /// The account that will be debited when the hold posts.
    pub debit: A,
    /// The account that will be credited when the hold posts.
    pub credit: A,
    /// The amount reserved (positive, at most one posting's maximum).
    pub amount: Q,
    /// Carried to the entry [`Journal::post_hold`] writes.
    pub reference: u64,
}

/// Why the journal refused an operation (which then changed nothing), or
/// which invariant [`Journal::check_invariants`] found broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // the fields are named by the messages
pub enum LedgerError {
    /// An entry with fewer than two postings.
    #[error("an entry needs at least 2 postings, got {got}")]
    TooFewPostings { got: usize },
    /// An entry with more than [`POSTINGS_PER_ENTRY_MAX`] postings.
    #[error("an entry may carry at most {max} postings, got {got}")]
    TooManyPostings { got: usize, max: usize },
    /// A posting of zero units.
    #[error("posting {index} has a zero amount")]
    ZeroPosting { index: usize },
    /// A posting above [`Quantity::POSTING_UNITS_MAX`] in magnitude.
    #[error("posting {index} exceeds the per-posting maximum")]
    PostingTooLarge { index: usize },
    /// Debits and credits differ by `sum`.
    #[error("entry does not balance: debits minus credits = {sum}")]
    Unbalanced { sum: i128 },
    /// A balance would leave the `i64` range.
    #[error("a balance would overflow")]
    Overflow,
    /// An entry or hold timed before the journal's last one.
    #[error("entry time {at} is before the last entry's time {last}")]
    TimeWentBackwards { at: At, last: At },
    /// [`ENTRIES_MAX`] entries or [`HOLDS_OPEN_MAX`] open holds reached.
    #[error("the journal is full")]
    Full,
    /// A hold id already open.
    #[error("hold {0:?} is already open")]
    HoldExists(HoldId),
    /// No open hold has this id.
    #[error("no open hold {0:?}")]
    UnknownHold(HoldId),
    /// Posting more of a hold than it holds (or nothing).
    #[error("posting {requested} units of a hold of {held}")]
    HoldExceeded { held: i64, requested: i64 },
    /// A hold of a non-positive or oversized amount, or between one account
    /// and itself.
    #[error("a hold must move a positive amount between two different accounts")]
    BadHold,
    /// [`Journal::check_invariants`] found this broken.
    #[error("invariant violated: {0}")]
    Invariant(String),
}

/// Balances derived by replay, in debit-positive units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayed<A> {
    /// From every posted entry.
    pub posted: BTreeMap<A, i64>,
    /// From every open hold.
    pub pending: BTreeMap<A, i64>,
}

/// A double-entry journal over accounts `A` in unit `Q`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "A: Serialize + Ord, Q: Quantity",
    deserialize = "A: Deserialize<'de> + Ord, Q: Quantity"
))]
pub struct Journal<A, Q> {
    /// Serialized as a flat sequence of entries, like a `Vec`.
    entries: Chunked<Entry<A, Q>, ENTRY_CHUNK_BITS>,
    #[serde(with = "pairs")]
    balances: BTreeMap<A, i64>,
    /// Debit-positive sum of the open holds per account.
    #[serde(with = "pairs")]
    pending: BTreeMap<A, i64>,
    #[serde(with = "pairs")]
    holds: BTreeMap<HoldId, Hold<A, Q>>,
    /// Running totals of all debits and all credits (as magnitudes): equal
    /// after every entry. i128 cannot overflow: 2^34 entries × 64 postings ×
    /// 2^40 units < 2^127.
    debits_total: i128,
    credits_total: i128,
    last_at: Option<At>,
}

impl<A, Q> Default for Journal<A, Q> {
    fn default() -> Self {
        Journal {
            entries: Chunked::new(),
            balances: BTreeMap::new(),
            pending: BTreeMap::new(),
            holds: BTreeMap::new(),
            debits_total: 0,
            credits_total: 0,
            last_at: None,
        }
    }
}

impl<A: Copy + Ord + Debug, Q: Quantity> Journal<A, Q> {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validate and append a balanced entry. On error nothing changes.
    pub fn post(&mut self, entry: NewEntry<A, Q>) -> Result<EntryId, LedgerError> {
        self.check_time(entry.at)?;
        if self.entries.len() >= ENTRIES_MAX {
            return Err(LedgerError::Full);
        }
        let deltas = validate(&entry.postings)?;
        let updated = preview(&self.balances, &deltas)?;
        // Preconditions of the commit (validated above; kept on in release,
        // so a failure is a bug in this crate, never a consequence of input):
        // the entry balances, and the balances it touches move by as much in
        // total as it debits and credits, i.e. they still sum to zero.
        let (debits, credits) = debit_credit_totals(&entry.postings);
        assert_eq!(debits, credits, "ledger: the entry balances");
        let moved = updated.iter().fold(0i128, |sum, (_, before, after)| {
            // Each term is a difference of two i64 (< 2^64); at most 64 of
            // them: far inside i128.
            let step = i128::from(*after)
                .checked_sub(i128::from(*before))
                .expect("difference of two i64");
            sum.checked_add(step).expect("≤ 64 terms below 2^64")
        });
        assert_eq!(moved, 0, "ledger: balances still sum to zero after a post");
        // Everything is checked: commit.
        for (account, _, balance) in updated {
            self.balances.insert(account, balance);
        }
        // i128 cannot overflow: 2^34 entries × 64 postings × 2^40 units <
        // 2^127 (see the field's doc).
        self.debits_total = self
            .debits_total
            .checked_add(debits)
            .expect("running debit total stays below 2^80");
        self.credits_total = self
            .credits_total
            .checked_add(credits)
            .expect("running credit total stays below 2^80");
        // Postcondition, kept on in release: total debits equal total
        // credits, i.e. the accounts still sum to zero.
        assert_eq!(
            self.debits_total, self.credits_total,
            "ledger invariant: total debits equal total credits"
        );
        let id = EntryId(u64::try_from(self.entries.len()).expect("len < ENTRIES_MAX = 2^34"));
        self.entries.push(Entry {
            id,
            at: entry.at,
            kind: entry.kind,
            reference: entry.reference,
            postings: entry.postings,
        });
        self.last_at = Some(entry.at);
        Ok(id)
    }

    /// Reserve `amount` from `debit` to `credit` without moving it (an
    /// authorization hold). Shows in [`Journal::pending_balance`] only.
    pub fn hold(&mut self, hold: Hold<A, Q>) -> Result<(), LedgerError> {
        self.check_time(hold.at)?;
        let units = hold.amount.units();
        if units <= 0 || units > Q::POSTING_UNITS_MAX || hold.debit == hold.credit {
            return Err(LedgerError::BadHold);
        }
        if self.holds.contains_key(&hold.id) {
            return Err(LedgerError::HoldExists(hold.id));
        }
        if self.holds.len() >= HOLDS_OPEN_MAX {
            return Err(LedgerError::Full);
        }
        let neg = units.checked_neg().expect("0 < units ≤ POSTING_UNITS_MAX");
        let deltas = vec![(hold.debit, units), (hold.credit, neg)];
        let updated = self.apply_preview(&self.pending, &deltas)?;
        for (account, balance) in updated {
            self.pending.insert(account, balance);
        }
        self.holds.insert(hold.id, hold);
        self.last_at = Some(hold.at);
        Ok(())
    }

    /// Post `amount` (all of the hold when `None`) of an open hold as a real
    /// entry; the rest of the hold is released. The hold is closed.
    pub fn post_hold(
        &mut self,
        id: HoldId,
        at: At,
        amount: Option<Q>,
    ) -> Result<EntryId, LedgerError> {
        self.check_time(at)?;
        let hold = *self.holds.get(&id).ok_or(LedgerError::UnknownHold(id))?;
        let held = hold.amount.units();
        let requested = amount.map_or(held, Quantity::units);
        if requested <= 0 || requested > held {
            return Err(LedgerError::HoldExceeded { held, requested });
        }
        // Release first in a preview so that an error leaves the hold open.
        let pending_after = self.apply_preview(&self.pending, &release_deltas(&hold)?)?;
        let entry = NewEntry {
            at,
            kind: EntryKind::HoldPosted,
            reference: hold.reference,
            postings: vec![
                Posting::debit(hold.debit, Q::from_units(requested)),
                Posting::credit(hold.credit, Q::from_units(requested)),
            ],
        };
        let debit_before = self.balance(hold.debit).units();
        let entry_id = self.post(entry)?;
        self.commit_pending(pending_after);
        self.holds.remove(&id);
        // Postconditions: what posted never exceeds what was held, and the
        // debit account moved by exactly that much.
        assert!(
            0 < requested && requested <= held,
            "ledger: a posted hold never exceeds what it holds"
        );
        assert_eq!(
            Some(self.balance(hold.debit).units()),
            debit_before.checked_add(requested),
            "ledger: a posted hold moves exactly the posted amount"
        );
        Ok(entry_id)
    }

    /// Release an open hold entirely; returns the amount released.
    pub fn void_hold(&mut self, id: HoldId, at: At) -> Result<Q, LedgerError> {
        self.check_time(at)?;
        let hold = *self.holds.get(&id).ok_or(LedgerError::UnknownHold(id))?;
        let pending_after = self.apply_preview(&self.pending, &release_deltas(&hold)?)?;
        self.commit_pending(pending_after);
        self.holds.remove(&id);
        self.last_at = Some(at);
        Ok(hold.amount)
    }

    /// The posted balance of `account` (debit positive).
    pub fn balance(&self, account: A) -> Q {
        Q::from_units(self.balances.get(&account).copied().unwrap_or(0))
    }

    /// The sum of open holds on `account` (debit positive).
    pub fn pending_balance(&self, account: A) -> Q {
        Q::from_units(self.pending.get(&account).copied().unwrap_or(0))
    }

    /// Every account with a posted balance, in account order (zero balances
    /// of accounts that were once used are included).
    pub fn balances(&self) -> impl Iterator<Item = (A, Q)> + '_ {
        self.balances.iter().map(|(a, b)| (*a, Q::from_units(*b)))
    }

    /// Every posted entry, in order (position = id).
    pub fn entries(&self) -> Entries<'_, A, Q> {
        Entries {
            entries: &self.entries,
        }
    }

    /// The entry `id`, in O(1).
    pub fn entry(&self, id: EntryId) -> Option<&Entry<A, Q>> {
        usize::try_from(id.0).ok().and_then(|i| self.entries.get(i))
    }

    /// The open hold `id`, if any.
    pub fn open_hold(&self, id: HoldId) -> Option<&Hold<A, Q>> {
        self.holds.get(&id)
    }

    /// Every open hold, in id order.
    pub fn open_holds(&self) -> impl Iterator<Item = &Hold<A, Q>> + '_ {
        self.holds.values()
    }

    /// Balances derived from scratch by replaying every entry (posted) and
    /// every open hold (pending). Zero balances are kept for accounts that
    /// appear in any entry, like the incremental map.
    pub fn recompute_balances(&self) -> Result<Replayed<A>, LedgerError> {
        let mut posted: BTreeMap<A, i64> = BTreeMap::new();
        for e in self.entries.iter() {
            for p in &e.postings {
                let b = posted.entry(p.account).or_insert(0);
                *b = b
                    .checked_add(p.amount.units())
                    .ok_or(LedgerError::Overflow)?;
            }
        }
        let mut pending: BTreeMap<A, i64> = BTreeMap::new();
        for h in self.holds.values() {
            let held = h.amount.units();
            let neg = held.checked_neg().ok_or(LedgerError::Overflow)?;
            for (account, units) in [(h.debit, held), (h.credit, neg)] {
                let b = pending.entry(account).or_insert(0);
                *b = b.checked_add(units).ok_or(LedgerError::Overflow)?;
            }
        }
        Ok(Replayed { posted, pending })
    }

    /// Check every invariant from scratch: each entry balances and is within
    /// limits, entry times never go backwards, ids are dense, the sum over all
    /// accounts is zero (posted and pending), and the incremental balances
    /// equal the replayed ones.
    pub fn check_invariants(&self) -> Result<(), LedgerError> {
        let bad = |m: String| Err(LedgerError::Invariant(m));
        let mut last: Option<At> = None;
        for (i, e) in self.entries.iter().enumerate() {
            if u64::try_from(i).ok() != Some(e.id.0) {
                return bad(format!("entry at position {i} has id {}", e.id.0));
            }
            if let Err(err) = validate(&e.postings) {
                return bad(format!("entry {i}: {err}"));
            }
            if last.is_some_and(|l| e.at < l) {
                return bad(format!("entry {i} goes back in time"));
            }
            last = Some(e.at);
        }
        let Replayed { posted, pending } = self.recompute_balances()?;
        // At most one i64 per account: the sum fits in i128 for any
        // realistic number of accounts (fewer than 2^64).
        #[allow(clippy::arithmetic_side_effects)]
        let sum = |m: &BTreeMap<A, i64>| m.values().map(|v| i128::from(*v)).sum::<i128>();
        if sum(&posted) != 0 {
            return bad(format!("posted balances sum to {}", sum(&posted)));
        }
        if sum(&pending) != 0 {
            return bad(format!("pending balances sum to {}", sum(&pending)));
        }
        if posted != self.balances {
            return bad("incremental posted balances differ from replay".to_string());
        }
        // Incremental pending keeps zero entries of released holds; compare
        // non-zero values only.
        let nonzero = |m: &BTreeMap<A, i64>| -> BTreeMap<A, i64> {
            m.iter()
                .filter(|(_, v)| **v != 0)
                .map(|(a, v)| (*a, *v))
                .collect()
        };
        if nonzero(&pending) != nonzero(&self.pending) {
            return bad("incremental pending balances differ from replay".to_string());
        }
        if self.debits_total != self.credits_total {
            return bad("running debit and credit totals differ".to_string());
        }
        Ok(())
    }

    /// [`Journal::check_invariants`], panicking with the violation. For tests
    /// and the simulator.
    pub fn assert_invariants(&self) {
        if let Err(e) = self.check_invariants() {
            panic!("ledger invariants: {e}");
        }
    }

    fn check_time(&self, at: At) -> Result<(), LedgerError> {
        match self.last_at {
            Some(last) if at < last => Err(LedgerError::TimeWentBackwards { at, last }),
            _ => Ok(()),
        }
    }

    /// New balances for the accounts touched by `deltas`, or an overflow
    /// error; `map` is not modified.
    fn apply_preview(
        &self,
        map: &BTreeMap<A, i64>,
        deltas: &[(A, i64)],
    ) -> Result<Vec<(A, i64)>, LedgerError> {
        Ok(preview(map, deltas)?
            .into_iter()
            .map(|(account, _, after)| (account, after))
            .collect())
    }

    fn commit_pending(&mut self, updated: Vec<(A, i64)>) {
        for (account, balance) in updated {
            if balance == 0 {
                self.pending.remove(&account);
            } else {
                self.pending.insert(account, balance);
            }
        }
    }
}

/// A read-only view of a journal's entries, in order: position `i` holds
/// the entry whose id is `i`.
pub struct Entries<'a, A, Q> {
    entries: &'a Chunked<Entry<A, Q>, ENTRY_CHUNK_BITS>,
}

impl<A, Q> Clone for Entries<'_, A, Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, Q> Copy for Entries<'_, A, Q> {}

impl<A: Debug, Q: Debug> Debug for Entries<'_, A, Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Debug::fmt(self.entries, f)
    }
}

impl<'a, A, Q> Entries<'a, A, Q> {
    /// How many entries the journal holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry has been posted.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// The entry at position `index` (whose id is `index`), in O(1).
    pub fn get(&self, index: usize) -> Option<&'a Entry<A, Q>> {
        self.entries.get(index)
    }

    /// The first entry (id 0).
    pub fn first(&self) -> Option<&'a Entry<A, Q>> {
        self.entries.get(0)
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&'a Entry<A, Q>> {
        self.entries.last()
    }

    /// The entries in order.
    pub fn iter(&self) -> EntriesIter<'a, A, Q> {
        EntriesIter {
            inner: self.entries.iter(),
        }
    }
}

impl<'a, A, Q> IntoIterator for Entries<'a, A, Q> {
    type Item = &'a Entry<A, Q>;
    type IntoIter = EntriesIter<'a, A, Q>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, A, Q> IntoIterator for &Entries<'a, A, Q> {
    type Item = &'a Entry<A, Q>;
    type IntoIter = EntriesIter<'a, A, Q>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The entries of a journal in order; see [`Journal::entries`].
pub struct EntriesIter<'a, A, Q> {
    inner: chunked::Iter<'a, Entry<A, Q>>,
}

impl<A, Q> Clone for EntriesIter<'_, A, Q> {
    fn clone(&self) -> Self {
        EntriesIter {
            inner: self.inner.clone(),
        }
    }
}

impl<'a, A, Q> Iterator for EntriesIter<'a, A, Q> {
    type Item = &'a Entry<A, Q>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<A, Q> DoubleEndedIterator for EntriesIter<'_, A, Q> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}

impl<A, Q> ExactSizeIterator for EntriesIter<'_, A, Q> {}

impl<A, Q> FusedIterator for EntriesIter<'_, A, Q> {}

/// For each account touched by `deltas` (once, in first-touch order): its
/// balance in `map` before and after applying every delta to it, or an
/// overflow error. `map` is not modified.
fn preview<A: Copy + Ord>(
    map: &BTreeMap<A, i64>,
    deltas: &[(A, i64)],
) -> Result<Vec<(A, i64, i64)>, LedgerError> {
    let mut out: Vec<(A, i64, i64)> = Vec::with_capacity(deltas.len());
    for &(account, units) in deltas {
        if let Some(slot) = out.iter_mut().find(|(a, _, _)| *a == account) {
            slot.2 = slot.2.checked_add(units).ok_or(LedgerError::Overflow)?;
        } else {
            let before = map.get(&account).copied().unwrap_or(0);
            let after = before.checked_add(units).ok_or(LedgerError::Overflow)?;
            out.push((account, before, after));
        }
    }
    Ok(out)
}

/// The (account, units) deltas that release `hold` from the pending
/// balances: the reverse of what [`Journal::hold`] added.
fn release_deltas<A: Copy, Q: Quantity>(hold: &Hold<A, Q>) -> Result<Vec<(A, i64)>, LedgerError> {
    let held = hold.amount.units();
    let neg = held.checked_neg().ok_or(LedgerError::Overflow)?;
    Ok(vec![(hold.debit, neg), (hold.credit, held)])
}

/// Total debits and total credits (as magnitudes) of a validated entry's
/// postings: at most 64 postings of at most 2^63 units each, so neither
/// total can overflow i128.
fn debit_credit_totals<A, Q: Quantity>(postings: &[Posting<A, Q>]) -> (i128, i128) {
    postings.iter().fold((0i128, 0i128), |(d, c), p| {
        let units = i128::from(p.amount.units());
        if units > 0 {
            (d.checked_add(units).expect("≤ 64 × 2^63"), c)
        } else {
            (d, c.checked_sub(units).expect("≤ 64 × 2^63"))
        }
    })
}

/// Check an entry's postings in isolation; returns the (account, units)
/// deltas in posting order.
fn validate<A: Copy, Q: Quantity>(
    postings: &[Posting<A, Q>],
) -> Result<Vec<(A, i64)>, LedgerError> {
    if postings.len() < 2 {
        return Err(LedgerError::TooFewPostings {
            got: postings.len(),
        });
    }
    if postings.len() > POSTINGS_PER_ENTRY_MAX {
        return Err(LedgerError::TooManyPostings {
            got: postings.len(),
            max: POSTINGS_PER_ENTRY_MAX,
        });
    }
    let mut sum: i128 = 0;
    let mut deltas = Vec::with_capacity(postings.len());
    for (index, p) in postings.iter().enumerate() {
        let units = p.amount.units();
        if units == 0 {
            return Err(LedgerError::ZeroPosting { index });
        }
        if units.unsigned_abs() > Q::POSTING_UNITS_MAX.unsigned_abs() {
            return Err(LedgerError::PostingTooLarge { index });
        }
        // At most 64 postings of at most 2^63 each: |sum| < 2^70.
        sum = sum
            .checked_add(i128::from(units))
            .expect("64 postings of an i64 sum within i128");
        deltas.push((p.account, units));
    }
    if sum != 0 {
        return Err(LedgerError::Unbalanced { sum });
    }
    Ok(deltas)
}

/// Serialize a map with non-string keys as a list of pairs, so that JSON
/// (and any other format) can carry it; order is the map's, deterministic.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S, K, V>(map: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        K: Serialize,
        V: Serialize,
    {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        let pairs: Vec<(K, V)> = Vec::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    missing_docs
)]
mod tests {
    use super::*;
    use crate::{Account, transfer};

    fn at(ms: i64) -> At {
        At::from_unix_ms(ms)
    }

    #[test]
    fn refuses_unbalanced_and_changes_nothing() {
        let mut l: Journal<Account, Yen> = Journal::new();
        let e = NewEntry {
            at: at(1),
            kind: EntryKind::Adjustment,
            reference: 0,
            postings: vec![
                Posting::debit(Account::Cash, Yen::new(100)),
                Posting::credit(Account::LateFeeIncome, Yen::new(99)),
            ],
        };
        assert_eq!(l.post(e), Err(LedgerError::Unbalanced { sum: 1 }));
        assert!(l.entries().is_empty());
        assert_eq!(l.balance(Account::Cash), Yen::ZERO);
        l.assert_invariants();
    }

    /// A unit with no per-posting cap, to reach i64 overflow in two entries.
    #[derive(
        Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize,
    )]
    struct Big(i64);
    impl Quantity for Big {
        const POSTING_UNITS_MAX: i64 = i64::MAX;
        fn units(self) -> i64 {
            self.0
        }
        fn from_units(units: i64) -> Self {
            Big(units)
        }
    }

    #[test]
    fn refuses_overflow_and_changes_nothing() {
        let mut l: Journal<Account, Big> = Journal::new();
        let half = Big(i64::MAX / 2 + 1);
        l.post(transfer(
            at(0),
            EntryKind::Adjustment,
            0,
            Account::Cash,
            Account::CustomerCredit(0),
            half,
        ))
        .unwrap();
        let before = l.clone();
        let e = transfer(
            at(1),
            EntryKind::Adjustment,
            0,
            Account::Cash,
            Account::CustomerCredit(1),
            half,
        );
        assert_eq!(l.post(e), Err(LedgerError::Overflow));
        assert_eq!(l, before);
        l.assert_invariants();
        // Yen postings are capped per posting.
        let mut y: Journal<Account, Yen> = Journal::new();
        let too_big = Yen::new(Yen::AMOUNT_MAX.get() + 1);
        let e = transfer(
            at(0),
            EntryKind::Adjustment,
            0,
            Account::Cash,
            Account::WriteOffExpense,
            too_big,
        );
        assert_eq!(y.post(e), Err(LedgerError::PostingTooLarge { index: 0 }));
    }

    #[test]
    fn refuses_shape_errors() {
        let mut l: Journal<Account, Yen> = Journal::new();
        let one = NewEntry {
            at: at(0),
            kind: EntryKind::Adjustment,
            reference: 0,
            postings: vec![Posting::debit(Account::Cash, Yen::new(0))],
        };
        assert_eq!(
            l.post(one.clone()),
            Err(LedgerError::TooFewPostings { got: 1 })
        );
        let mut zero = one.clone();
        zero.postings
            .push(Posting::debit(Account::Cash, Yen::new(0)));
        assert_eq!(l.post(zero), Err(LedgerError::ZeroPosting { index: 0 }));
        l.post(transfer(
            at(10),
            EntryKind::Capture,
            1,
            Account::CustomerReceivable(1),
            Account::MerchantPayable(2),
            Yen::new(5000),
        ))
        .unwrap();
        let back = transfer(
            at(9),
            EntryKind::Capture,
            1,
            Account::CustomerReceivable(1),
            Account::MerchantPayable(2),
            Yen::new(5000),
        );
        assert_eq!(
            l.post(back),
            Err(LedgerError::TimeWentBackwards {
                at: at(9),
                last: at(10)
            })
        );
    }

    #[test]
    fn two_phase_hold_post_partial_then_void() {
        let mut l: Journal<Account, Yen> = Journal::new();
        let hold = Hold {
            id: HoldId(7),
            at: at(1),
            debit: Account::CustomerReceivable(1),
            credit: Account::MerchantPayable(3),
            amount: Yen::new(5000),
            reference: 7,
        };
        l.hold(hold).unwrap();
        assert_eq!(l.hold(hold), Err(LedgerError::HoldExists(HoldId(7))));
        assert_eq!(
            l.pending_balance(Account::CustomerReceivable(1)),
            Yen::new(5000)
        );
        assert_eq!(l.balance(Account::CustomerReceivable(1)), Yen::ZERO);
        assert_eq!(
            l.post_hold(HoldId(7), at(2), Some(Yen::new(6000))),
            Err(LedgerError::HoldExceeded {
                held: 5000,
                requested: 6000
            })
        );
        l.post_hold(HoldId(7), at(2), Some(Yen::new(3000))).unwrap();
        assert_eq!(l.balance(Account::CustomerReceivable(1)), Yen::new(3000));
        assert_eq!(l.pending_balance(Account::CustomerReceivable(1)), Yen::ZERO);
        assert_eq!(
            l.void_hold(HoldId(7), at(3)),
            Err(LedgerError::UnknownHold(HoldId(7)))
        );
        l.hold(Hold {
            id: HoldId(8),
            at: at(3),
            ..hold
        })
        .unwrap();
        assert_eq!(l.void_hold(HoldId(8), at(4)), Ok(Yen::new(5000)));
        assert_eq!(l.open_holds().count(), 0);
        l.assert_invariants();
    }

    #[test]
    fn serde_round_trip_json() {
        let mut l: Journal<Account, Yen> = Journal::new();
        l.post(transfer(
            at(1),
            EntryKind::Capture,
            1,
            Account::CustomerReceivable(1),
            Account::MerchantPayable(2),
            Yen::new(5000),
        ))
        .unwrap();
        let json = serde_json::to_string(&l).unwrap();
        let back: Journal<Account, Yen> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        back.assert_invariants();
    }

    /// Three full chunks of entries and a few more: ids stay dense, lookups
    /// and iteration cross the chunk boundaries, and serde writes one flat
    /// list (what a `Vec` wrote) and rebuilds the chunks.
    #[test]
    fn entries_across_chunk_boundaries() {
        let chunk = 1usize << ENTRY_CHUNK_BITS;
        let n = 3 * chunk + 5;
        let mut l: Journal<Account, Yen> = Journal::new();
        let amount = |i: usize| Yen::new(1 + (i % 997) as i64);
        for i in 0..n {
            let id = l
                .post(transfer(
                    at(i as i64 / 7),
                    EntryKind::Capture,
                    i as u64,
                    Account::CustomerReceivable((i % 13) as u32),
                    Account::MerchantPayable((i % 5) as u32),
                    amount(i),
                ))
                .unwrap();
            assert_eq!(id, EntryId(i as u64));
        }
        let entries = l.entries();
        assert_eq!(entries.len(), n);
        assert!(!entries.is_empty());
        assert_eq!(entries.iter().len(), n);
        for i in [
            0,
            1,
            chunk - 1,
            chunk,
            chunk + 1,
            2 * chunk,
            3 * chunk - 1,
            3 * chunk,
            n - 1,
        ] {
            let e = l.entry(EntryId(i as u64)).unwrap();
            assert_eq!(e.id, EntryId(i as u64));
            assert_eq!(e.reference, i as u64);
            assert_eq!(e.postings[0].amount, amount(i));
            assert!(std::ptr::eq(e, entries.get(i).unwrap()));
        }
        assert_eq!(l.entry(EntryId(n as u64)), None);
        assert_eq!(entries.get(n), None);
        assert_eq!(entries.first().unwrap().id, EntryId(0));
        assert_eq!(entries.last().unwrap().id, EntryId(n as u64 - 1));
        assert_eq!(
            entries.iter().next_back().unwrap().id,
            EntryId(n as u64 - 1)
        );
        assert!(
            entries
                .iter()
                .enumerate()
                .all(|(i, e)| e.id == EntryId(i as u64))
        );
        l.assert_invariants();

        let json = serde_json::to_string(&l).unwrap();
        let as_vec: Vec<&Entry<Account, Yen>> = l.entries().iter().collect();
        let flat = serde_json::to_string(&as_vec).unwrap();
        assert!(json.starts_with(&format!("{{\"entries\":{flat},")));
        let back: Journal<Account, Yen> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        back.assert_invariants();

        // A copy (from a clone or from serde) keeps appending like the
        // original.
        let mut copy = back.clone();
        let next = |l: &mut Journal<Account, Yen>| {
            l.post(transfer(
                at(n as i64),
                EntryKind::Payment,
                0,
                Account::Cash,
                Account::CustomerReceivable(0),
                Yen::new(1),
            ))
            .unwrap()
        };
        assert_eq!(next(&mut copy), EntryId(n as u64));
        assert_eq!(next(&mut l), EntryId(n as u64));
        assert_eq!(copy, l);
        copy.assert_invariants();
    }
}
