//! `atobarai-ledger` owns the double-entry journal of atobarai: every movement
//! of yen (and, in a separate book, of points) is an [`Entry`] of two or more
//! postings that sum to zero, and every balance is the sum of the postings to
//! its account.
//!
//! What it owns:
//! - [`Journal`]: an append-only list of balanced entries, balances kept
//!   incrementally *and* derivable by replaying the entries
//!   ([`Journal::recompute_balances`], [`Journal::check_invariants`]);
//! - two-phase holds in the style of TigerBeetle's pending transfers
//!   ([`Journal::hold`], [`Journal::post_hold`], [`Journal::void_hold`]):
//!   an authorization reserves an amount between two accounts without moving
//!   it, a capture posts all or part of it, a cancel voids it;
//! - the chart of accounts: [`Account`] for yen, [`PointsAccount`] for points.
//!
//! What it must not do: know anything of customer behaviour, due dates, fees
//! or points rules (that is `atobarai-billing`), do I/O or read a clock (every
//! entry carries its own [`At`]).
//!
//! # Sign convention
//!
//! A posting's amount is **positive for a debit and negative for a credit**.
//! An account's balance is the sum of its postings, so asset and expense
//! accounts (cash, receivables, write-offs) normally have positive balances
//! and liability and income accounts (merchant payables, fee income, points
//! owed to customers) negative ones. Every entry sums to zero, hence so does
//! the sum of all balances.
//!
//! # Units
//!
//! Points are not yen. [`YenLedger`] and [`PointsLedger`] are two separate
//! journals with separate account sets; a posting of one can never land in
//! the other because the amount type ([`Yen`] vs [`Points`]) differs. When
//! points are spent as a discount on a statement the yen ledger records the
//! discount at ¥1 per point (Dr [`Account::PointsLiability`], Cr the
//! customer's receivable); valuing the liability at grant is the caller's
//! choice (billing grants at ¥1 per point: Dr [`Account::PointsExpense`],
//! Cr [`Account::PointsLiability`]).
//!
//! # Assertions
//!
//! [`Journal::post`] validates its input and returns an error (changing
//! nothing) for an unbalanced entry, a zero or oversized posting, an overflow
//! or time running backwards. Around the commit it asserts, in release builds
//! too, that the entry balances, that the balances it touches still sum to
//! zero, and that total debits still equal total credits;
//! [`Journal::post_hold`] asserts it never posts more than the hold held. A
//! failure there is a bug in this crate, never a consequence of input.
//!
//! # Overflow
//!
//! The crate denies `clippy::arithmetic_side_effects`: every sum is checked.
//! An overflow that input can cause is a [`LedgerError::Overflow`]; the few
//! `expect`s are on sums bounded by [`POSTINGS_PER_ENTRY_MAX`],
//! [`ENTRIES_MAX`] and the per-posting maximum, and say why they cannot
//! fail.

#![deny(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
#![deny(missing_docs, unreachable_pub)]

mod chunked;
mod journal;
mod points;

pub use journal::{
    ENTRIES_MAX, Entries, EntriesIter, Entry, EntryId, EntryKind, HOLDS_OPEN_MAX, Hold, HoldId,
    Journal, LedgerError, NewEntry, POSTINGS_PER_ENTRY_MAX, Posting, Quantity, Replayed,
};
pub use points::Points;

use atobarai_core::{At, Yen};
use serde::{Deserialize, Serialize};

/// The chart of accounts for yen.
///
/// Customer and merchant accounts carry the engine's dense index of the
/// customer or merchant (the same number `atobarai_core::ids` scrambles into a
/// public id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Account {
    /// The provider's bank accounts: money actually received and paid out.
    /// Asset (debit-normal).
    Cash,
    /// Payment fees billed on statements (¥209 convenience store / paper
    /// bill). Income (credit-normal).
    PaymentFeeIncome,
    /// Late fees (¥100 on the 10th and 25th). Income.
    LateFeeIncome,
    /// Delay damages (遅延損害金). Income.
    DelayDamagesIncome,
    /// Paid-tier membership fees (¥300 a month). Income.
    MembershipFeeIncome,
    /// Points owed to customers, valued at ¥1 per point. Liability.
    PointsLiability,
    /// Cost of points granted (debit at grant; credit when points expire
    /// unused or are clawed back). Expense.
    PointsExpense,
    /// Receivables written off as uncollectable. Expense.
    WriteOffExpense,
    /// What a customer owes: purchases, fees, late fees, damages. Asset.
    CustomerReceivable(u32),
    /// Money a customer paid beyond what was owed (over-payment), held until
    /// applied to a later statement or returned. Liability.
    CustomerCredit(u32),
    /// What the provider owes a merchant for captured orders (立て替え払い
    /// until settled). Liability.
    MerchantPayable(u32),
    /// Gift cards issued, at face value (debit at issue; credit when a card
    /// is voided or revoked before redemption). The issuer's side of
    /// [`Account::GiftCardLiability`].
    GiftCardsSold,
    /// Issued gift cards not yet redeemed, voided or revoked. Liability.
    GiftCardLiability,
    /// A gift-card wallet's balance (credit-normal; a debit balance is a
    /// wallet driven below zero by a claw-back). Liability.
    Wallet(u32),
    /// Balances taken back from wallets by revocations (credit at the
    /// claw-back, debit at a reinstatement).
    GiftCardClawback,
    /// Wallet balances spent at the issuer (credit). Income of the issuer.
    WalletSpent,
}

/// The chart of accounts for points. Points are their own unit: see the
/// crate docs for how the yen ledger values them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PointsAccount {
    /// Points the provider has issued and not taken back (debit at grant,
    /// credit at claw-back).
    Issued,
    /// Points spent as a discount on a statement (credit at redemption).
    Redeemed,
    /// Points that reached their expiry date unused (credit at expiry).
    Expired,
    /// A customer's points (credit-normal: a balance of −150 means the
    /// customer holds 150 points; a positive balance is a claw-back deficit).
    Customer(u32),
}

/// The yen book.
pub type YenLedger = Journal<Account, Yen>;
/// The points book.
pub type PointsLedger = Journal<PointsAccount, Points>;

/// Shorthand for a two-posting entry: debit `debit`, credit `credit`, both by
/// `amount`. The most common shape of entry. The credit leg's negation
/// saturates, so an amount of `i64::MIN` units yields an entry that
/// [`Journal::post`] refuses (too large, unbalanced) rather than one that
/// wraps.
pub fn transfer<A: Copy, Q: Quantity>(
    at: At,
    kind: EntryKind,
    reference: u64,
    debit: A,
    credit: A,
    amount: Q,
) -> NewEntry<A, Q> {
    NewEntry {
        at,
        kind,
        reference,
        postings: vec![
            Posting {
                account: debit,
                amount: Q::from_units(amount.units()),
            },
            Posting {
                account: credit,
                amount: Q::from_units(amount.units().saturating_neg()),
            },
        ],
    }
}
