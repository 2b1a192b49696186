//! What billing documents read: the tax rates merchants stated per line
//! (kept here, off the orders, so the order's layout did not change), and
//! the facts of one invoice or statement gathered for the shell, which
//! turns them into a document (the `atobarai-documents` crate) without
//! reading the engine again.

use super::Engine;
use crate::billing::{CreditNote, Invoice};
use crate::command::{LineItem, Principal};
use crate::error::CommandError;
use crate::pii::PersonalData;
use atobarai_core::{JstDate, Product, Yen, ids};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The tax rates merchants stated, by order: only orders with at least one
/// stated rate have an entry (most have none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DocumentBook {
    stated_rates: BTreeMap<u32, Box<[Option<u8>]>>,
}

impl DocumentBook {
    /// Keep what the authorization of order `oi` stated (nothing when it
    /// stated no rate).
    pub(crate) fn record_tax_rates(&mut self, oi: u32, rates: &[Option<u8>]) {
        if rates.iter().any(Option::is_some) {
            self.stated_rates.insert(oi, rates.into());
        }
    }

    /// The rate stated for each line of order `oi` (`None`: the
    /// category's default), empty when none was.
    pub(crate) fn stated_rates(&self, oi: u32) -> &[Option<u8>] {
        self.stated_rates.get(&oi).map_or(&[], |r| r)
    }
}

/// One order as a document shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentOrder {
    /// Dense order index (public id `ord_…`).
    pub order: u32,
    /// The merchant's registered name.
    pub merchant: String,
    /// The merchant's own order id.
    pub merchant_order_id: String,
    /// The JST day of the (first) capture: the transaction date.
    pub captured_on: JstDate,
    /// Authorized.
    pub amount: Yen,
    /// Captured.
    pub captured: Yen,
    /// Refunded so far (before and after the document was issued).
    pub refunded: Yen,
    /// Paid so far.
    pub paid: Yen,
    /// The lines as authorized.
    pub items: Vec<LineItem>,
    /// The rate stated for each line, or empty (see
    /// [`crate::AuthorizeInput::tax_rates`]).
    pub tax_rates: Vec<Option<u8>>,
}

/// Everything a document of one invoice or statement is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentSource {
    /// Dense index of the customer.
    pub customer: u32,
    /// The invoice or statement as issued.
    pub invoice: Invoice,
    /// Its credit notes, oldest first.
    pub credit_notes: Vec<CreditNote>,
    /// The orders it bills, in order-index order: the invoice's order, or
    /// every monthly-product order captured in the statement's month.
    pub orders: Vec<DocumentOrder>,
    /// The customer's statement and membership fees not yet paid.
    pub fees_owed: Yen,
    /// The customer's late (re-issue) fees not yet paid.
    pub late_fees_owed: Yen,
    /// The customer's delay damages not yet paid.
    pub damages_owed: Yen,
    /// The addressee's personal data (clear, sealed for the shell to open,
    /// or erased).
    pub personal: PersonalData,
}

impl Engine {
    /// The facts of invoice `number` for its document. Merchants see their
    /// customers' invoices, operators all; the personal data is in the
    /// source because a document is addressed (the shell renders it for
    /// the customer, never as JSON).
    pub fn document_source(
        &self,
        principal: Principal,
        number: &str,
    ) -> Result<DocumentSource, CommandError> {
        let (ci, invoice, credit_notes) = self.invoice(principal, number)?;
        let c = &self.state.customers[ci as usize];
        let b = c.billing.as_deref();
        let order_list: Vec<u32> = match (invoice.product, invoice.order, invoice.month) {
            (Product::PerOrder, Some(oi), _) => vec![oi],
            (Product::Monthly, _, Some(month)) => {
                let mut list: Vec<u32> = self
                    .orders_of_customer(ci)
                    .filter(|&oi| {
                        let o = &self.state.orders[oi as usize];
                        o.product == Product::Monthly
                            && o.captured.is_positive()
                            && o.captured_at.is_some_and(|t| {
                                atobarai_billing::schedule::YearMonth::of(t.jst_date()) == month
                            })
                    })
                    .collect();
                list.reverse();
                list
            }
            _ => Vec::new(),
        };
        let orders = order_list
            .into_iter()
            .map(|oi| {
                let o = &self.state.orders[oi as usize];
                DocumentOrder {
                    order: oi,
                    merchant: self
                        .state
                        .merchants
                        .get(o.merchant as usize)
                        .map_or_else(String::new, |m| m.name.clone()),
                    merchant_order_id: o.merchant_order_id.to_string(),
                    captured_on: o.captured_at.unwrap_or(o.authorized_at).jst_date(),
                    amount: o.amount,
                    captured: o.captured,
                    refunded: o.refunded,
                    paid: o.paid,
                    items: o.detail.items.clone(),
                    tax_rates: self.state.documents.stated_rates(oi).to_vec(),
                }
            })
            .collect();
        let personal = self.personal_data(
            Principal::System,
            &ids::encode(crate::prefix::CUSTOMER, u64::from(ci)),
        )?;
        Ok(DocumentSource {
            customer: ci,
            invoice,
            credit_notes,
            orders,
            fees_owed: b.map_or(Yen::ZERO, |b| b.fees_owed),
            late_fees_owed: b.map_or(Yen::ZERO, |b| b.late_fees_owed),
            damages_owed: b.map_or(Yen::ZERO, |b| b.damages_owed),
            personal,
        })
    }

    /// The numbers of every monthly statement of purchase month `month`
    /// (operators and the command line), by customer.
    pub fn statements_of_month(
        &self,
        principal: Principal,
        month: atobarai_billing::schedule::YearMonth,
    ) -> Result<Vec<String>, CommandError> {
        if !matches!(principal, Principal::Operator(..) | Principal::System) {
            return Err(CommandError::forbidden("statement runs are for operators"));
        }
        Ok(self
            .state
            .customers
            .iter()
            .filter_map(|c| c.billing.as_deref())
            .flat_map(|b| {
                b.invoices
                    .iter()
                    .filter(|i| i.product == Product::Monthly && i.month == Some(month))
                    .map(|i| i.number.clone())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snapshot upgrade 7 → 8 appends exactly an empty book.
    #[test]
    fn the_frozen_empty_book_is_the_empty_books_encoding() {
        assert_eq!(
            postcard::to_stdvec(&DocumentBook::default()).unwrap(),
            crate::format::snapshot::EMPTY_DOCUMENT_BOOK_V8
        );
    }

    #[test]
    fn only_orders_with_a_stated_rate_are_kept() {
        let mut book = DocumentBook::default();
        book.record_tax_rates(1, &[]);
        book.record_tax_rates(2, &[None, None]);
        book.record_tax_rates(3, &[None, Some(10)]);
        assert_eq!(book.stated_rates(1), &[] as &[Option<u8>]);
        assert_eq!(book.stated_rates(2), &[] as &[Option<u8>]);
        assert_eq!(book.stated_rates(3), &[None, Some(10)]);
    }
}
