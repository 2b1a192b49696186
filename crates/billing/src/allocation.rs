//! How a customer payment is applied to what they owe.
//!
//! # Order (stated)
//!
//! 1. **Fees**: payment fees, late fees and membership fees, oldest due
//!    date first. Late fees are treated as fees.
//! 2. **Delay damages**, oldest due date first.
//! 3. **Principal**, oldest due date first.
//!
//! Ties are broken by the item id (the engine's creation order). This
//! follows the Civil Code's statutory order (民法 第489条: 費用 → 利息 →
//! 元本, expenses → interest → principal) with fees as expenses and damages
//! as interest. Items not yet due are included: an early payment pays the
//! oldest items first, exactly like a late one.
//!
//! Whatever is left after every item is paid is an **over-payment**, kept
//! as the customer's credit balance ([`Allocation::to_credit`]); the engine
//! applies it to later items (call [`allocate`] again with the credit as the
//! payment) or returns it.
//!
//! # Reversal
//!
//! A returned payment (e.g. a failed bank debit) is undone with
//! [`reverse`]: every line's amount goes back onto its item and the
//! over-payment comes back out of the credit balance, restoring the items
//! exactly. Reverse allocations in LIFO order; if part of the credit has
//! already been used, [`reverse`] refuses ([`BillingError::ReversalExceedsCredit`])
//! and the engine must first reverse the later allocation that used it.
//! Keep paid items (outstanding 0) while a reversal is still possible.

use crate::error::BillingError;
use atobarai_core::{CheckedSum, JstDate, Yen};
use serde::{Deserialize, Serialize};

/// Most open items one allocation may look at.
pub const OPEN_ITEMS_MAX: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    PaymentFee,
    LateFee,
    MembershipFee,
    DelayDamages,
    Principal,
}

impl ItemKind {
    /// Position in the allocation order: fees 0, damages 1, principal 2.
    pub const fn allocation_rank(self) -> u8 {
        match self {
            ItemKind::PaymentFee | ItemKind::LateFee | ItemKind::MembershipFee => 0,
            ItemKind::DelayDamages => 1,
            ItemKind::Principal => 2,
        }
    }
}

/// Something a customer owes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenItem {
    /// The engine's id, unique per customer.
    pub id: u64,
    pub kind: ItemKind,
    pub due_on: JstDate,
    pub outstanding: Yen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationLine {
    pub item: u64,
    pub kind: ItemKind,
    pub amount: Yen,
}

/// How one payment was applied: `Σ lines + to_credit = payment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub payment: Yen,
    pub lines: Vec<AllocationLine>,
    pub to_credit: Yen,
}

impl Allocation {
    /// Total applied to items of `kind`.
    ///
    /// Panics only for an allocation [`allocate`] cannot produce: it makes
    /// at most [`OPEN_ITEMS_MAX`] lines whose sum is the payment (at most
    /// [`Yen::AMOUNT_MAX`]). Use [`Allocation::checked_total_for`] for one
    /// built or deserialized elsewhere.
    pub fn total_for(&self, kind: ItemKind) -> Yen {
        self.checked_total_for(kind)
            .expect("an allocation's lines sum to at most its payment")
    }

    /// Total applied to items of `kind`, or an overflow error.
    pub fn checked_total_for(&self, kind: ItemKind) -> Result<Yen, BillingError> {
        Ok(self
            .lines
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.amount)
            .checked_sum()?)
    }

    /// Check the allocation's own arithmetic: every line is positive, the
    /// over-payment is not negative, and `Σ lines + to_credit = payment`.
    pub fn check(&self) -> Result<(), BillingError> {
        if self.lines.iter().any(|l| !l.amount.is_positive()) || self.to_credit.is_negative() {
            return Err(BillingError::AllocationMismatch);
        }
        let applied = self.lines.iter().map(|l| l.amount).checked_sum()?;
        if applied.checked_add(self.to_credit)? != self.payment {
            return Err(BillingError::AllocationMismatch);
        }
        Ok(())
    }
}

/// Apply `payment` to `items` in the stated order; `items` need not be
/// sorted. Pure: `items` is not changed (see [`apply`]).
pub fn allocate(items: &[OpenItem], payment: Yen) -> Result<Allocation, BillingError> {
    if !payment.is_positive() || payment > Yen::AMOUNT_MAX {
        return Err(BillingError::NotPositive);
    }
    if items.len() > OPEN_ITEMS_MAX {
        return Err(BillingError::TooMany {
            got: items.len(),
            max: OPEN_ITEMS_MAX,
        });
    }
    if items.iter().any(|i| i.outstanding.is_negative()) {
        return Err(BillingError::NotPositive);
    }
    let mut order: Vec<&OpenItem> = items
        .iter()
        .filter(|i| i.outstanding.is_positive())
        .collect();
    order.sort_by_key(|i| (i.kind.allocation_rank(), i.due_on, i.id));
    let mut left = payment;
    let mut lines = Vec::new();
    for item in order {
        if !left.is_positive() {
            break;
        }
        let amount = left.min(item.outstanding);
        // 0 < amount ≤ left ≤ payment ≤ AMOUNT_MAX, so the subtraction
        // stays in 0..=left.
        left = left
            .checked_sub(amount)
            .expect("0 < amount ≤ left: cannot overflow");
        lines.push(AllocationLine {
            item: item.id,
            kind: item.kind,
            amount,
        });
    }
    let allocation = Allocation {
        payment,
        lines,
        to_credit: left,
    };
    // Postconditions, kept on in release (a failure is a bug here, never a
    // consequence of input): Σ allocated + remainder = payment, nothing
    // allocated is zero or negative, the remainder is not negative, and no
    // item receives more than it has outstanding.
    assert_eq!(
        allocation.check(),
        Ok(()),
        "allocation: Σ lines + to_credit = payment, every line positive"
    );
    assert!(
        allocation.lines.iter().all(|l| items
            .iter()
            .any(|i| i.id == l.item && l.amount <= i.outstanding)),
        "allocation: no item receives more than it owes"
    );
    Ok(allocation)
}

/// Apply an allocation to the items it was made for. Checks everything
/// first; on error nothing changes.
pub fn apply(items: &mut [OpenItem], allocation: &Allocation) -> Result<(), BillingError> {
    allocation.check()?;
    let updates = new_outstanding(items, allocation, Yen::checked_sub)?;
    if updates.iter().any(|(_, after)| after.is_negative()) {
        return Err(BillingError::AllocationMismatch);
    }
    for (idx, after) in updates {
        items[idx].outstanding = after;
    }
    Ok(())
}

/// The outstanding amount of every item an allocation touches after `op`
/// (subtract to apply, add to reverse) of each of its lines, one entry per
/// item (a line repeating an item accumulates). Checks ids and kinds;
/// changes nothing.
fn new_outstanding(
    items: &[OpenItem],
    allocation: &Allocation,
    op: fn(Yen, Yen) -> Result<Yen, atobarai_core::MoneyError>,
) -> Result<Vec<(usize, Yen)>, BillingError> {
    let mut updates: Vec<(usize, Yen)> = Vec::with_capacity(allocation.lines.len());
    for line in &allocation.lines {
        let idx = items
            .iter()
            .position(|i| i.id == line.item)
            .ok_or(BillingError::UnknownItem(line.item))?;
        if items[idx].kind != line.kind || !line.amount.is_positive() {
            return Err(BillingError::AllocationMismatch);
        }
        match updates.iter_mut().find(|(j, _)| *j == idx) {
            Some((_, after)) => *after = op(*after, line.amount)?,
            None => updates.push((idx, op(items[idx].outstanding, line.amount)?)),
        }
    }
    Ok(updates)
}

/// Undo an applied allocation: put every line back on its item and take the
/// over-payment back out of `credit_balance`. Returns the new credit
/// balance. Checks everything first; on error nothing changes.
pub fn reverse(
    items: &mut [OpenItem],
    allocation: &Allocation,
    credit_balance: Yen,
) -> Result<Yen, BillingError> {
    if credit_balance < allocation.to_credit {
        return Err(BillingError::ReversalExceedsCredit {
            needed: allocation.to_credit.get(),
            available: credit_balance.get(),
        });
    }
    allocation.check()?;
    // Every new value is computed (and checked) before the first change, so
    // an error leaves the items as they were.
    let updates = new_outstanding(items, allocation, Yen::checked_add)?;
    let credit_after = credit_balance.checked_sub(allocation.to_credit)?;
    for (idx, after) in updates {
        items[idx].outstanding = after;
    }
    Ok(credit_after)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    fn item(id: u64, kind: ItemKind, due: &str, yen: i64) -> OpenItem {
        OpenItem {
            id,
            kind,
            due_on: d(due),
            outstanding: Yen::new(yen),
        }
    }

    fn show(a: &Allocation) -> String {
        let mut s: Vec<String> = a
            .lines
            .iter()
            .map(|l| format!("#{} {:?} {}", l.item, l.kind, l.amount.get()))
            .collect();
        s.push(format!("credit {}", a.to_credit.get()));
        s.join("\n")
    }

    fn overdue_customer() -> Vec<OpenItem> {
        vec![
            item(1, ItemKind::Principal, "2026-07-10", 30_000),
            item(2, ItemKind::PaymentFee, "2026-07-10", 209),
            item(3, ItemKind::LateFee, "2026-08-10", 100),
            item(4, ItemKind::LateFee, "2026-08-25", 100),
            item(5, ItemKind::DelayDamages, "2026-08-31", 612),
            item(6, ItemKind::Principal, "2026-08-10", 5_000),
        ]
    }

    #[test]
    fn partial_payment_goes_fees_damages_oldest_principal() {
        let a = allocate(&overdue_customer(), Yen::new(10_000)).unwrap();
        insta::assert_snapshot!(show(&a), @r"
        #2 PaymentFee 209
        #3 LateFee 100
        #4 LateFee 100
        #5 DelayDamages 612
        #1 Principal 8979
        credit 0
        ");
    }

    #[test]
    fn over_payment_becomes_credit_and_reverses_exactly() {
        let mut items = overdue_customer();
        let before = items.clone();
        let a = allocate(&items, Yen::new(40_000)).unwrap();
        assert_eq!(a.to_credit, Yen::new(40_000 - 36_021));
        apply(&mut items, &a).unwrap();
        assert!(items.iter().all(|i| i.outstanding == Yen::ZERO));
        // The credit was partly used elsewhere: reversal refuses.
        assert_eq!(
            reverse(&mut items.clone(), &a, Yen::new(100)),
            Err(BillingError::ReversalExceedsCredit {
                needed: 3979,
                available: 100
            })
        );
        let credit = reverse(&mut items, &a, a.to_credit).unwrap();
        assert_eq!(credit, Yen::ZERO);
        assert_eq!(items, before);
    }

    #[test]
    fn early_payment_and_bad_input() {
        let items = vec![item(1, ItemKind::Principal, "2026-08-10", 5_000)];
        let a = allocate(&items, Yen::new(2_000)).unwrap();
        assert_eq!(a.total_for(ItemKind::Principal), Yen::new(2_000));
        assert_eq!(allocate(&items, Yen::ZERO), Err(BillingError::NotPositive));
        let mut other = vec![item(9, ItemKind::Principal, "2026-08-10", 5_000)];
        assert_eq!(apply(&mut other, &a), Err(BillingError::UnknownItem(1)));
    }

    #[test]
    fn inconsistent_allocations_are_refused_and_change_nothing() {
        let items = overdue_customer();
        let good = allocate(&items, Yen::new(10_000)).unwrap();
        assert_eq!(good.check(), Ok(()));
        assert_eq!(good.checked_total_for(ItemKind::LateFee), Ok(Yen::new(200)));
        assert_eq!(good.total_for(ItemKind::Principal), Yen::new(8_979));
        // Lines that do not add up to the payment.
        let mut short = good.clone();
        short.to_credit = Yen::new(1);
        let mut negative = good.clone();
        negative.lines[0].amount = Yen::new(-209);
        for bad in [&short, &negative] {
            let mut after = items.clone();
            assert_eq!(bad.check(), Err(BillingError::AllocationMismatch));
            assert_eq!(
                apply(&mut after, bad),
                Err(BillingError::AllocationMismatch)
            );
            assert_eq!(
                reverse(&mut after, bad, Yen::new(10)),
                Err(BillingError::AllocationMismatch)
            );
            assert_eq!(after, items);
            assert_eq!(
                crate::postings::payment(atobarai_core::At::default(), 1, 1, bad),
                Err(BillingError::AllocationMismatch)
            );
        }
        // The same item twice, together more than it owes: apply refuses.
        let twice = Allocation {
            payment: Yen::new(400),
            lines: vec![
                AllocationLine {
                    item: 2,
                    kind: ItemKind::PaymentFee,
                    amount: Yen::new(200),
                },
                AllocationLine {
                    item: 2,
                    kind: ItemKind::PaymentFee,
                    amount: Yen::new(200),
                },
            ],
            to_credit: Yen::ZERO,
        };
        let mut after = items.clone();
        assert_eq!(
            apply(&mut after, &twice),
            Err(BillingError::AllocationMismatch)
        );
        assert_eq!(after, items);
        // Reversing the same item twice where only the second add overflows:
        // refused before the first line is put back.
        let mut huge = vec![item(1, ItemKind::Principal, "2026-07-10", i64::MAX - 5)];
        let before = huge.clone();
        let two = Allocation {
            payment: Yen::new(8),
            lines: vec![
                AllocationLine {
                    item: 1,
                    kind: ItemKind::Principal,
                    amount: Yen::new(4),
                },
                AllocationLine {
                    item: 1,
                    kind: ItemKind::Principal,
                    amount: Yen::new(4),
                },
            ],
            to_credit: Yen::ZERO,
        };
        assert_eq!(
            reverse(&mut huge, &two, Yen::ZERO),
            Err(BillingError::Overflow)
        );
        assert_eq!(huge, before);
    }

    fn kind() -> impl Strategy<Value = ItemKind> {
        prop_oneof![
            Just(ItemKind::PaymentFee),
            Just(ItemKind::LateFee),
            Just(ItemKind::MembershipFee),
            Just(ItemKind::DelayDamages),
            Just(ItemKind::Principal),
        ]
    }

    proptest! {
        /// Random debts up to the amount limit and any payment up to it:
        /// Σ parts = payment exactly (checked in i128), nothing negative,
        /// no item gets more than it owes.
        #[test]
        fn parts_sum_to_the_payment_for_random_debts(
            debts in prop::collection::vec((kind(), 0i32..400, prop_oneof![0i64..1_000_000, 0..=Yen::AMOUNT_MAX.get()]), 0..50),
            payment in prop_oneof![1i64..1_000_000, 1..=Yen::AMOUNT_MAX.get()],
        ) {
            let items: Vec<OpenItem> = debts.iter().enumerate().map(|(i, (k, off, yen))| OpenItem {
                id: i as u64,
                kind: *k,
                due_on: d("2026-01-01").plus_days(*off).unwrap(),
                outstanding: Yen::new(*yen),
            }).collect();
            let a = allocate(&items, Yen::new(payment)).unwrap();
            prop_assert_eq!(a.check(), Ok(()));
            let parts: i128 = a.lines.iter().map(|l| i128::from(l.amount.get())).sum::<i128>()
                + i128::from(a.to_credit.get());
            prop_assert_eq!(parts, i128::from(payment));
            prop_assert!(!a.to_credit.is_negative());
            for l in &a.lines {
                prop_assert!(l.amount.is_positive());
                prop_assert!(l.amount <= items[l.item as usize].outstanding);
            }
            let owed: i128 = items.iter().map(|i| i128::from(i.outstanding.get())).sum();
            prop_assert_eq!(i128::from(a.to_credit.get()), (i128::from(payment) - owed).max(0));
            let by_kind: i128 = [ItemKind::PaymentFee, ItemKind::LateFee, ItemKind::MembershipFee, ItemKind::DelayDamages, ItemKind::Principal]
                .iter().map(|k| i128::from(a.total_for(*k).get())).sum();
            prop_assert_eq!(by_kind + i128::from(a.to_credit.get()), i128::from(payment));
        }

        #[test]
        fn allocation_invariants(
            raw in prop::collection::vec((kind(), 0i32..200, 0i64..50_000), 0..20),
            payment in 1i64..300_000,
        ) {
            let items: Vec<OpenItem> = raw.iter().enumerate().map(|(i, (k, off, yen))| OpenItem {
                id: i as u64,
                kind: *k,
                due_on: d("2026-01-01").plus_days(*off).unwrap(),
                outstanding: Yen::new(*yen),
            }).collect();
            let a = allocate(&items, Yen::new(payment)).unwrap();
            let applied: i64 = a.lines.iter().map(|l| l.amount.get()).sum();
            prop_assert_eq!(applied + a.to_credit.get(), payment);
            let owed: i64 = items.iter().map(|i| i.outstanding.get()).sum();
            prop_assert_eq!(a.to_credit.get(), (payment - owed).max(0));
            // Order: every item that got less than its outstanding comes
            // after every item that got something (at most one partial).
            let key = |id: u64| { let i = &items[id as usize]; (i.kind.allocation_rank(), i.due_on, i.id) };
            for w in a.lines.windows(2) {
                prop_assert!(key(w[0].item) < key(w[1].item));
                prop_assert_eq!(w[0].amount, items[w[0].item as usize].outstanding);
            }
            if let Some(last) = a.lines.last() {
                for i in &items {
                    if i.outstanding.is_positive() && !a.lines.iter().any(|l| l.item == i.id) {
                        prop_assert!(key(i.id) > key(last.item));
                    }
                }
            }
            let mut after = items.clone();
            apply(&mut after, &a).unwrap();
            let credit = reverse(&mut after, &a, a.to_credit).unwrap();
            prop_assert_eq!(credit, Yen::ZERO);
            prop_assert_eq!(after, items);
        }
    }
}
