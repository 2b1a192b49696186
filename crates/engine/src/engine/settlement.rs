//! A partner's monthly settlement (carrier billing): every charge and
//! refund of the partner's products the ledger posted in one JST month, for
//! the partner to put on its customers' bills, with the totals it pays the
//! provider. Read-only; built from the ledger (`Capture` and `Refund`
//! entries of the partner's orders, by the JST date they were posted) and
//! checked against the order book (what its orders captured that month).

use super::Engine;
use crate::checked::Bounded;
use crate::prefix;
use atobarai_billing::schedule::YearMonth;
use atobarai_core::{JstDate, Product, Yen, ids};
use atobarai_ledger::{Account, EntryKind};

/// One line of a settlement: a charge or a refund of one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementLine {
    /// The JST day the ledger posted it.
    pub date: JstDate,
    /// `charge` or `refund`.
    pub kind: &'static str,
    /// The public order id (`ord_…`).
    pub order: String,
    /// The merchant's own order id.
    pub merchant_order_id: String,
    /// The public customer id (`cus_…`).
    pub customer: String,
    /// The merchant's registered name.
    pub merchant: String,
    /// The configured product's name.
    pub product: String,
    /// Positive yen: charged, or refunded.
    pub amount: Yen,
}

/// A partner's settlement for one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerSettlement {
    /// The partner, as the catalog names it.
    pub partner: String,
    /// The JST month settled.
    pub month: YearMonth,
    /// The partner's products in the catalog in force.
    pub products: Vec<String>,
    /// Charges and refunds, in the order the ledger posted them.
    pub lines: Vec<SettlementLine>,
    /// Σ charges (ledger `Capture` entries of the partner's orders).
    pub charges: Yen,
    /// Σ refunds (ledger `Refund` entries of the partner's orders).
    pub refunds: Yen,
    /// charges − refunds: what the partner bills its customers.
    pub net: Yen,
    /// The partner's collection fee on `net` (per product, floored).
    pub partner_fee: Yen,
    /// net − fee: what the partner pays the provider.
    pub payable: Yen,
    /// Σ captured of the partner's orders captured that month, from the
    /// order book: equals `charges` when the ledger and the orders agree.
    pub orders_captured: Yen,
}

impl PartnerSettlement {
    /// The ledger and the order book agree on the month's charges.
    pub fn reconciles(&self) -> bool {
        self.charges == self.orders_captured
    }
}

impl Engine {
    /// The settlement of `partner` for `month`. `None` when no product of
    /// the catalog in force is billed on that partner's bill.
    pub fn partner_settlement(&self, partner: &str, month: YearMonth) -> Option<PartnerSettlement> {
        let defs: Vec<_> = self.config.products.of_partner(partner).collect();
        if defs.is_empty() {
            return None;
        }
        let name_of = |p: Product| {
            defs.iter()
                .find(|d| d.product() == p)
                .map(|d| d.name.clone())
        };
        let from = month.first_day().start_at();
        let until = month
            .next()
            .map_or(atobarai_core::At::from_unix_ms(i64::MAX), |m| {
                m.first_day().start_at()
            });
        let entries = self.state.ledger.entries();
        // Entries are posted in time order: find the month's first one.
        let (mut lo, mut hi) = (0usize, entries.len());
        while lo < hi {
            // lo < hi ≤ len: no overflow, and mid < hi.
            let mid = lo.midpoint(hi);
            if entries.get(mid).is_some_and(|e| e.at < from) {
                lo = mid.saturating_add(1);
            } else {
                hi = mid;
            }
        }
        let mut lines: Vec<SettlementLine> = Vec::new();
        let mut net_by_product: Vec<(Product, Yen)> = Vec::new();
        let (mut charges, mut refunds) = (Yen::ZERO, Yen::ZERO);
        let mut i = lo;
        while let Some(e) = entries.get(i) {
            i = i.saturating_add(1);
            if e.at >= until {
                break;
            }
            let kind = match e.kind {
                EntryKind::Capture => "charge",
                EntryKind::Refund => "refund",
                _ => continue,
            };
            let Some(o) = usize::try_from(e.reference)
                .ok()
                .and_then(|oi| self.state.orders.get(oi))
            else {
                continue;
            };
            let Some(product) = name_of(o.product) else {
                continue;
            };
            // The merchant's side of the entry: credited by a capture,
            // debited by a refund.
            let amount = Yen::checked_sum(
                e.postings
                    .iter()
                    .filter(|p| matches!(p.account, Account::MerchantPayable(_)))
                    .map(|p| p.amount),
            )
            .bounded("settlement entry")
            .checked_abs()
            .bounded("settlement entry");
            let signed = if kind == "charge" {
                charges = charges.checked_add(amount).bounded("charges");
                amount
            } else {
                refunds = refunds.checked_add(amount).bounded("refunds");
                amount.checked_neg().bounded("refund")
            };
            match net_by_product.iter_mut().find(|(p, _)| *p == o.product) {
                Some((_, n)) => *n = n.checked_add(signed).bounded("net"),
                None => net_by_product.push((o.product, signed)),
            }
            let order = ids::encode(prefix::ORDER, e.reference);
            let date = e.at.jst_date();
            // A refund posts up to two entries (what was owed, then credit):
            // one line.
            if let Some(last) = lines.last_mut()
                && last.order == order
                && last.kind == kind
                && last.date == date
            {
                last.amount = last.amount.checked_add(amount).bounded("line");
                continue;
            }
            lines.push(SettlementLine {
                date,
                kind,
                order,
                merchant_order_id: o.merchant_order_id.to_string(),
                customer: ids::encode(prefix::CUSTOMER, u64::from(o.customer)),
                merchant: self
                    .state
                    .merchants
                    .get(o.merchant as usize)
                    .map(|m| m.name.clone())
                    .unwrap_or_default(),
                product,
                amount,
            });
        }
        let partner_fee = Yen::checked_sum(net_by_product.iter().map(|&(p, net)| {
            let bp = defs
                .iter()
                .find(|d| d.product() == p)
                .map_or(0, |d| i64::from(d.partner_fee_bp));
            net.max(Yen::ZERO)
                .mul_ratio_floor(bp, 10_000)
                .bounded("partner fee")
        }))
        .bounded("partner fee");
        let net = charges.checked_sub(refunds).bounded("net");
        let orders_captured = Yen::checked_sum(
            self.state
                .orders
                .iter()
                .filter(|o| {
                    o.captured_at.is_some_and(|t| t >= from && t < until)
                        && name_of(o.product).is_some()
                })
                .map(|o| o.captured),
        )
        .bounded("orders captured");
        Some(PartnerSettlement {
            partner: partner.to_string(),
            month,
            products: defs.iter().map(|d| d.name.clone()).collect(),
            lines,
            charges,
            refunds,
            net,
            partner_fee,
            payable: net.checked_sub(partner_fee).bounded("payable"),
            orders_captured,
        })
    }
}

impl Engine {
    /// The ledger's entries in posting order (read only): what a
    /// settlement or an accountant reconciles against.
    pub fn ledger_entries(
        &self,
    ) -> impl Iterator<Item = &atobarai_ledger::Entry<Account, Yen>> + '_ {
        self.state.ledger.entries().iter()
    }
}
