//! The balanced ledger entries of each billing event. Billing never edits a
//! balance: it builds a [`NewEntry`] here and the engine posts it to the
//! [`YenLedger`](atobarai_ledger::YenLedger), which refuses anything that
//! does not balance. Every function refuses a non-positive amount (a zero
//! posting is meaningless and the ledger refuses it too).
//!
//! | event | debit | credit |
//! |---|---|---|
//! | capture | customer receivable | merchant payable |
//! | refund | merchant payable | customer receivable |
//! | merchant settlement | merchant payable | cash |
//! | fee / late fee / damages / membership | customer receivable | the income account |
//! | payment | cash | receivable (applied part), customer credit (over-payment) |
//! | payment reversal | the exact reverse of the payment entry |
//! | credit applied | customer credit | receivable |
//! | points granted (¥1/pt) | points expense | points liability |
//! | points redeemed | points liability | receivable |
//! | points expired or clawed back | points liability | points expense |
//! | write-off | write-off expense | receivable |

use crate::allocation::Allocation;
use crate::error::BillingError;
use atobarai_core::{At, Yen};
use atobarai_ledger::{Account, EntryKind, NewEntry, Points, Posting, transfer};

pub type YenEntry = NewEntry<Account, Yen>;

fn positive(amount: Yen) -> Result<Yen, BillingError> {
    if amount.is_positive() && amount <= Yen::AMOUNT_MAX {
        Ok(amount)
    } else {
        Err(BillingError::NotPositive)
    }
}

pub fn capture(
    at: At,
    order: u64,
    customer: u32,
    merchant: u32,
    amount: Yen,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::Capture,
        order,
        Account::CustomerReceivable(customer),
        Account::MerchantPayable(merchant),
        positive(amount)?,
    ))
}

pub fn refund(
    at: At,
    order: u64,
    customer: u32,
    merchant: u32,
    amount: Yen,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::Refund,
        order,
        Account::MerchantPayable(merchant),
        Account::CustomerReceivable(customer),
        positive(amount)?,
    ))
}

pub fn merchant_settlement(
    at: At,
    reference: u64,
    merchant: u32,
    amount: Yen,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::MerchantSettlement,
        reference,
        Account::MerchantPayable(merchant),
        Account::Cash,
        positive(amount)?,
    ))
}

/// What a customer is charged for, besides purchases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charge {
    PaymentFee,
    LateFee,
    DelayDamages,
    MembershipFee,
}

pub fn charge(
    at: At,
    reference: u64,
    customer: u32,
    kind: Charge,
    amount: Yen,
) -> Result<YenEntry, BillingError> {
    let (entry_kind, income) = match kind {
        Charge::PaymentFee => (EntryKind::PaymentFee, Account::PaymentFeeIncome),
        Charge::LateFee => (EntryKind::LateFee, Account::LateFeeIncome),
        Charge::DelayDamages => (EntryKind::DelayDamages, Account::DelayDamagesIncome),
        Charge::MembershipFee => (EntryKind::MembershipFee, Account::MembershipFeeIncome),
    };
    Ok(transfer(
        at,
        entry_kind,
        reference,
        Account::CustomerReceivable(customer),
        income,
        positive(amount)?,
    ))
}

/// A customer payment as allocated: cash in, receivable down by what was
/// applied, customer credit up by the over-payment.
pub fn payment(
    at: At,
    payment_ref: u64,
    customer: u32,
    allocation: &Allocation,
) -> Result<YenEntry, BillingError> {
    let paid = positive(allocation.payment)?;
    // Σ lines + to_credit = payment, nothing negative: else the entry
    // would not describe the allocation (refused, not posted wrong).
    allocation.check()?;
    let applied = paid.checked_sub(allocation.to_credit)?;
    let mut postings = vec![Posting::debit(Account::Cash, paid)];
    if applied.is_positive() {
        postings.push(Posting::credit(
            Account::CustomerReceivable(customer),
            applied,
        ));
    }
    if allocation.to_credit.is_positive() {
        postings.push(Posting::credit(
            Account::CustomerCredit(customer),
            allocation.to_credit,
        ));
    }
    // Postcondition: cash in = receivable down + credit up.
    assert_eq!(
        Yen::checked_sum(postings.iter().map(|p| p.amount)),
        Ok(Yen::ZERO),
        "payment entry balances"
    );
    Ok(NewEntry {
        at,
        kind: EntryKind::Payment,
        reference: payment_ref,
        postings,
    })
}

/// The exact reverse of [`payment`] for the same allocation.
pub fn payment_reversal(
    at: At,
    payment_ref: u64,
    customer: u32,
    allocation: &Allocation,
) -> Result<YenEntry, BillingError> {
    let mut e = payment(at, payment_ref, customer, allocation)?;
    for p in &mut e.postings {
        p.amount = p.amount.checked_neg()?;
    }
    e.kind = EntryKind::PaymentReversal;
    Ok(e)
}

pub fn credit_applied(
    at: At,
    reference: u64,
    customer: u32,
    amount: Yen,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::CreditApplied,
        reference,
        Account::CustomerCredit(customer),
        Account::CustomerReceivable(customer),
        positive(amount)?,
    ))
}

fn points_yen(points: Points) -> Result<Yen, BillingError> {
    positive(Yen::new(points.get()))
}

pub fn points_granted(at: At, order: u64, points: Points) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::PointsGrant,
        order,
        Account::PointsExpense,
        Account::PointsLiability,
        points_yen(points)?,
    ))
}

pub fn points_redeemed(
    at: At,
    statement: u64,
    customer: u32,
    points: Points,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::PointsRedeem,
        statement,
        Account::PointsLiability,
        Account::CustomerReceivable(customer),
        points_yen(points)?,
    ))
}

/// Points leaving the liability without being spent: expiry or claw-back
/// (only the part taken from lots; a deficit is not a liability).
pub fn points_released(
    at: At,
    reference: u64,
    kind: EntryKind,
    points: Points,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        kind,
        reference,
        Account::PointsLiability,
        Account::PointsExpense,
        points_yen(points)?,
    ))
}

pub fn write_off(
    at: At,
    reference: u64,
    customer: u32,
    amount: Yen,
) -> Result<YenEntry, BillingError> {
    Ok(transfer(
        at,
        EntryKind::WriteOff,
        reference,
        Account::WriteOffExpense,
        Account::CustomerReceivable(customer),
        positive(amount)?,
    ))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::allocation::{ItemKind, OpenItem, allocate};
    use atobarai_core::JstDate;
    use atobarai_ledger::YenLedger;

    /// The worked example through the ledger: ¥30,000 captured in June,
    /// ¥209 fee, unpaid until Aug 25 (late fees 200, damages 46 × 12), then
    /// paid in full with ¥1,000 over; the customer's receivable is 0 and the
    /// credit holds the over-payment.
    #[test]
    fn worked_example_balances() {
        let at = |ms| At::from_unix_ms(ms);
        let mut l = YenLedger::new();
        l.post(capture(at(1), 1, 7, 3, Yen::new(30_000)).unwrap())
            .unwrap();
        l.post(merchant_settlement(at(2), 1, 3, Yen::new(30_000)).unwrap())
            .unwrap();
        l.post(charge(at(3), 1, 7, Charge::PaymentFee, Yen::new(209)).unwrap())
            .unwrap();
        l.post(charge(at(4), 2, 7, Charge::LateFee, Yen::new(200)).unwrap())
            .unwrap();
        l.post(charge(at(5), 3, 7, Charge::DelayDamages, Yen::new(552)).unwrap())
            .unwrap();
        let due = JstDate::parse("2026-07-10").unwrap();
        let items = [
            OpenItem {
                id: 1,
                kind: ItemKind::Principal,
                due_on: due,
                outstanding: Yen::new(30_000),
            },
            OpenItem {
                id: 2,
                kind: ItemKind::PaymentFee,
                due_on: due,
                outstanding: Yen::new(209),
            },
            OpenItem {
                id: 3,
                kind: ItemKind::LateFee,
                due_on: due,
                outstanding: Yen::new(200),
            },
            OpenItem {
                id: 4,
                kind: ItemKind::DelayDamages,
                due_on: due,
                outstanding: Yen::new(552),
            },
        ];
        let a = allocate(&items, Yen::new(31_961)).unwrap();
        l.post(payment(at(6), 9, 7, &a).unwrap()).unwrap();
        assert_eq!(l.balance(Account::CustomerReceivable(7)), Yen::ZERO);
        assert_eq!(l.balance(Account::CustomerCredit(7)), Yen::new(-1_000));
        assert_eq!(l.balance(Account::Cash), Yen::new(1_961));
        l.post(payment_reversal(at(7), 9, 7, &a).unwrap()).unwrap();
        assert_eq!(l.balance(Account::CustomerReceivable(7)), Yen::new(30_961));
        assert_eq!(l.balance(Account::CustomerCredit(7)), Yen::ZERO);
        l.post(points_granted(at(8), 1, Points::new(150)).unwrap())
            .unwrap();
        l.post(points_redeemed(at(9), 1, 7, Points::new(100)).unwrap())
            .unwrap();
        l.post(points_released(at(10), 1, EntryKind::PointsExpire, Points::new(50)).unwrap())
            .unwrap();
        assert_eq!(l.balance(Account::PointsLiability), Yen::ZERO);
        l.assert_invariants();
        assert!(charge(at(11), 1, 7, Charge::LateFee, Yen::ZERO).is_err());
    }
}
