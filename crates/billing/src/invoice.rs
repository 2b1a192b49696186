//! Invoice numbers and the invoice / monthly statement value type the engine
//! stores and the server renders.
//!
//! # Invoice numbers
//!
//! `{P|M}{YYYYMMDD}-{customer:08}-{seq:03}-{check}`: `P` per-order invoice,
//! `M` monthly statement; the issue date; the customer's dense index
//! (zero-padded, more digits when larger); the customer's invoice sequence
//! that day; and a Luhn (mod 10) check digit over all the digits before it,
//! so a number read out over the phone or typed at a convenience store
//! terminal is checked before it is looked up. Deterministic: the same
//! inputs give the same number; nothing random, nothing from a clock.
//!
//! # Statement close
//!
//! [`close_statement`] bills the purchases captured in a month: one line per
//! purchase (captured minus refunded, lines with nothing left are kept at ¥0
//! for the record), the payment fee of the method, the paid-tier fee if the
//! customer was on it that month, and a points discount (¥1 per point, at
//! most the total before the discount). Late fees and damages are not put on
//! statements here: they accrue per customer after a due date is missed
//! (see [`crate::overdue`]) and are shown in the balance.

use crate::error::BillingError;
use crate::schedule::{StatementDates, YearMonth, per_order_due_date, statement_dates};
use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, PaymentMethod, Product, Yen};
use atobarai_ledger::Points;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most purchase lines on one statement.
pub const STATEMENT_LINES_MAX: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvoiceNumber(String);

impl InvoiceNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` has a valid check digit (shape and Luhn).
    pub fn is_valid(s: &str) -> bool {
        let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
        let shape = s.len() >= 16 && matches!(s.as_bytes().first(), Some(b'P' | b'M' | b'C'));
        match digits.split_last() {
            Some((check, body)) if shape => luhn_check_digit(body) == *check,
            _ => false,
        }
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Luhn check digit of `digits` (each 0..=9). Works modulo 10 at every
/// step, so no length of input can overflow.
fn luhn_check_digit(digits: &[u32]) -> u32 {
    let sum = digits.iter().rev().enumerate().fold(0u32, |sum, (i, &d)| {
        let d = d % 10;
        // Doubling a digit and summing its two decimal digits, as a
        // table: 2d for d < 5, 2d − 9 otherwise.
        let x = if i % 2 == 0 {
            [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][usize::try_from(d).expect("d < 10")]
        } else {
            d
        };
        // sum < 10 and x < 10: no overflow.
        sum.checked_add(x).expect("two digits") % 10
    });
    // sum < 10, so 10 − sum is in 1..=10.
    10u32.checked_sub(sum).expect("sum < 10") % 10
}

/// The number of a customer's `seq`-th invoice issued on `issued_on`.
pub fn invoice_number(
    product: Product,
    issued_on: JstDate,
    customer: u32,
    seq: u32,
) -> InvoiceNumber {
    let prefix = match product {
        Product::PerOrder => 'P',
        Product::Monthly => 'M',
        // Billed by the partner; the provider issues no invoice of its own.
        Product::Partner(_) => 'R',
    };
    numbered(prefix, issued_on, customer, seq)
}

/// The number of a customer's `seq`-th credit note, issued on `issued_on`:
/// the invoice number's shape with the prefix `C`.
pub fn credit_note_number(issued_on: JstDate, customer: u32, seq: u32) -> InvoiceNumber {
    numbered('C', issued_on, customer, seq)
}

fn numbered(prefix: char, issued_on: JstDate, customer: u32, seq: u32) -> InvoiceNumber {
    let body = format!(
        "{:04}{:02}{:02}-{customer:08}-{seq:03}",
        issued_on.year(),
        issued_on.month(),
        issued_on.day()
    );
    let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    InvoiceNumber(format!("{prefix}{body}-{}", luhn_check_digit(&digits)))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod credit_note_tests {
    use super::*;

    #[test]
    fn credit_note_numbers_carry_a_check_digit() {
        let d = JstDate::parse("2026-07-03").unwrap();
        let n = credit_note_number(d, 42, 1);
        assert!(n.as_str().starts_with("C20260703-00000042-001-"));
        assert!(InvoiceNumber::is_valid(n.as_str()));
        let mut bad = n.as_str().to_owned();
        bad.replace_range(10..11, "9");
        assert!(!InvoiceNumber::is_valid(&bad));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Purchase,
    PaymentFee,
    MembershipFee,
    /// Negative: points spent as a discount.
    PointsDiscount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub kind: LineKind,
    pub date: JstDate,
    /// The order index for purchases, 0 otherwise.
    pub reference: u64,
    pub description: String,
    pub amount: Yen,
}

/// A per-order invoice or a monthly statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: InvoiceNumber,
    pub product: Product,
    pub customer: u32,
    /// The purchase month billed (monthly statements only).
    pub period: Option<YearMonth>,
    pub issued_on: JstDate,
    pub due_on: JstDate,
    pub method: PaymentMethod,
    pub lines: Vec<InvoiceLine>,
    pub fee: Yen,
    pub points_used: Points,
    pub total: Yen,
}

impl Invoice {
    /// How to pay, in Japanese, for the rendered invoice.
    pub fn how_to_pay_ja(&self) -> &'static str {
        match self.method {
            PaymentMethod::ConvenienceStore => {
                "コンビニ払い：支払期限までにお近くのコンビニで払込番号をお伝えください。"
            }
            PaymentMethod::PaperBill => "はがき請求書：同封の払込票でお支払いください。",
            PaymentMethod::BankDebit => {
                "口座振替：振替日にご登録の口座から引き落とします（休業日の場合は翌営業日）。"
            }
        }
    }
}

/// A captured purchase as billing sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    pub order: u64,
    pub captured_on: JstDate,
    pub description: String,
    pub amount: Yen,
    pub refunded: Yen,
}

/// Everything a monthly statement close needs for one customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementInput<'a> {
    pub customer: u32,
    pub month: YearMonth,
    pub method: PaymentMethod,
    pub purchases: &'a [Purchase],
    pub paid_tier: bool,
    /// Points the customer asked to spend (at most the usable balance; the
    /// discount used is capped at the statement total).
    pub points_requested: Points,
    /// The customer's invoice sequence on the issue date.
    pub seq: u32,
}

/// Close the statement for `input.month`. `Ok(None)` when there is nothing
/// to bill (no purchases and no membership fee): no statement, no fee.
pub fn close_statement(
    input: &StatementInput<'_>,
    cfg: &BillingConfig,
) -> Result<Option<Invoice>, BillingError> {
    if input.purchases.len() > STATEMENT_LINES_MAX {
        return Err(BillingError::TooMany {
            got: input.purchases.len(),
            max: STATEMENT_LINES_MAX,
        });
    }
    if input.purchases.is_empty() && !input.paid_tier {
        return Ok(None);
    }
    let dates: StatementDates = statement_dates(input.month, input.method, cfg)?;
    // len ≤ STATEMENT_LINES_MAX (checked above).
    let mut lines = Vec::with_capacity(input.purchases.len().saturating_add(3));
    let mut total = Yen::ZERO;
    for p in input.purchases {
        if p.amount.is_negative() || p.refunded.is_negative() || p.refunded > p.amount {
            return Err(BillingError::NotPositive);
        }
        if YearMonth::of(p.captured_on) != input.month {
            return Err(BillingError::DateOutOfRange);
        }
        let net = p.amount.checked_sub(p.refunded)?;
        total = total.checked_add(net)?;
        lines.push(InvoiceLine {
            kind: LineKind::Purchase,
            date: p.captured_on,
            reference: p.order,
            description: p.description.clone(),
            amount: net,
        });
    }
    if input.paid_tier {
        total = total.checked_add(cfg.paid_tier_fee_yen)?;
        lines.push(InvoiceLine {
            kind: LineKind::MembershipFee,
            date: dates.closes_on,
            reference: 0,
            description: "有料プラン月額".to_string(),
            amount: cfg.paid_tier_fee_yen,
        });
    }
    let fee = dates.fee;
    if fee.is_positive() {
        total = total.checked_add(fee)?;
        lines.push(InvoiceLine {
            kind: LineKind::PaymentFee,
            date: dates.issued_on,
            reference: 0,
            description: "支払手数料".to_string(),
            amount: fee,
        });
    }
    let points_used = Points::new(input.points_requested.get().clamp(0, total.get().max(0)));
    if points_used.is_positive() {
        let discount = Yen::new(points_used.get());
        total = total.checked_sub(discount)?;
        lines.push(InvoiceLine {
            kind: LineKind::PointsDiscount,
            date: dates.issued_on,
            reference: 0,
            description: "ポイント利用".to_string(),
            amount: discount.checked_neg()?,
        });
    }
    // Postcondition: the total is the sum of the lines, and a points
    // discount never takes a statement below zero.
    assert_eq!(
        Yen::checked_sum(lines.iter().map(|l| l.amount)),
        Ok(total),
        "statement: total = Σ lines"
    );
    assert!(
        !points_used.is_positive() || !total.is_negative(),
        "statement: points never take the total below zero"
    );
    Ok(Some(Invoice {
        number: invoice_number(Product::Monthly, dates.issued_on, input.customer, input.seq),
        product: Product::Monthly,
        customer: input.customer,
        period: Some(input.month),
        issued_on: dates.issued_on,
        due_on: dates.due_on,
        method: input.method,
        lines,
        fee,
        points_used,
        total,
    }))
}

/// The per-order invoice for one captured purchase, issued on the capture
/// day, paid at a convenience store (no fee: the published terms state
/// fees for the monthly product only).
pub fn per_order_invoice(
    customer: u32,
    purchase: &Purchase,
    seq: u32,
    cfg: &BillingConfig,
) -> Result<Invoice, BillingError> {
    if !purchase.amount.is_positive()
        || purchase.refunded.is_negative()
        || purchase.refunded > purchase.amount
    {
        return Err(BillingError::NotPositive);
    }
    let net = purchase.amount.checked_sub(purchase.refunded)?;
    let issued_on = purchase.captured_on;
    Ok(Invoice {
        number: invoice_number(Product::PerOrder, issued_on, customer, seq),
        product: Product::PerOrder,
        customer,
        period: None,
        issued_on,
        due_on: per_order_due_date(issued_on, cfg)?,
        method: PaymentMethod::ConvenienceStore,
        lines: vec![InvoiceLine {
            kind: LineKind::Purchase,
            date: issued_on,
            reference: purchase.order,
            description: purchase.description.clone(),
            amount: net,
        }],
        fee: Yen::ZERO,
        points_used: Points::ZERO,
        total: net,
    })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    #[test]
    fn numbers_are_deterministic_and_checked() {
        let n = invoice_number(Product::Monthly, d("2026-07-01"), 1234, 1);
        assert_eq!(n.as_str(), "M20260701-00001234-001-2");
        assert!(InvoiceNumber::is_valid(n.as_str()));
        assert!(!InvoiceNumber::is_valid("M20260701-00001234-001-3"));
        assert!(!InvoiceNumber::is_valid("M20260701-00001243-001-2"));
        assert!(!InvoiceNumber::is_valid(""));
        let p = invoice_number(Product::PerOrder, d("2026-06-20"), 7, 12);
        assert!(InvoiceNumber::is_valid(p.as_str()));
        assert!(p.as_str().starts_with("P20260620-00000007-012-"));
    }

    #[test]
    fn june_statement_golden() {
        let cfg = BillingConfig::default();
        let purchases = [
            Purchase {
                order: 11,
                captured_on: d("2026-06-03"),
                description: "daily goods".into(),
                amount: Yen::new(12_000),
                refunded: Yen::ZERO,
            },
            Purchase {
                order: 12,
                captured_on: d("2026-06-30"),
                description: "shoes".into(),
                amount: Yen::new(20_000),
                refunded: Yen::new(2_000),
            },
        ];
        let input = StatementInput {
            customer: 42,
            month: YearMonth::new(2026, 6).unwrap(),
            method: PaymentMethod::ConvenienceStore,
            purchases: &purchases,
            paid_tier: true,
            points_requested: Points::new(150),
            seq: 1,
        };
        let inv = close_statement(&input, &cfg).unwrap().unwrap();
        assert_eq!(inv.total, Yen::new(30_000 + 300 + 209 - 150));
        insta::assert_json_snapshot!(inv);
        let none = StatementInput {
            purchases: &[],
            paid_tier: false,
            ..input
        };
        assert_eq!(close_statement(&none, &cfg), Ok(None));
    }

    #[test]
    fn per_order() {
        let cfg = BillingConfig::default();
        let p = Purchase {
            order: 5,
            captured_on: d("2026-06-20"),
            description: "book".into(),
            amount: Yen::new(1_500),
            refunded: Yen::ZERO,
        };
        let inv = per_order_invoice(3, &p, 1, &cfg).unwrap();
        assert_eq!(inv.due_on, d("2026-07-04"));
        assert_eq!(inv.total, Yen::new(1_500));
    }
}
