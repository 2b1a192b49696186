//! A billing document, fully resolved: every amount computed, every text
//! chosen. The shell builds one from the engine's views (see the server's
//! `documents` module); [`crate::html`] and [`crate::pdf`] only lay it out,
//! so the two renderings cannot disagree on a figure.

use crate::barcode::ConvenienceCode;
use crate::tax::{RateTotal, TaxRate};
use atobarai_core::{JstDate, Yen};
use serde::Serialize;

/// Which document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// The per-order invoice (請求書), due 14 days after issue.
    Invoice,
    /// The monthly statement (ご利用明細兼請求書), due the 10th, 20th or 27th.
    Statement,
}

/// The provider issuing the document (a qualified-invoice issuer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issuer {
    /// The provider's registered name.
    pub name: String,
    /// Postal code, `NNN-NNNN`.
    pub postal_code: String,
    /// Address.
    pub address: String,
    /// Customer desk phone number, as printed.
    pub phone: String,
    /// The qualified-invoice registration number, `T` + 13 digits
    /// (validated at configuration).
    pub registration: String,
}

/// Who the document is addressed to, as registered, wrapped for the
/// envelope window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Addressee {
    /// Postal code, `NNN-NNNN`, when the registered address has one.
    pub postal_code: Option<String>,
    /// The address, wrapped into the window's lines.
    pub address_lines: Vec<String>,
    /// The name (様 is added by the layout).
    pub name: String,
}

/// One line of a purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The item's name as the merchant sent it.
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit, tax included.
    pub unit_price: Yen,
    /// `unit_price × quantity`, tax included.
    pub amount: Yen,
    /// The rate the line carries.
    pub rate: TaxRate,
    /// The rate is the reduced one (marked ※ on the document).
    pub reduced: bool,
}

/// Something taken off a purchase before the document was issued: the part
/// of the order not captured (一部取消), or a refund before issue (返品).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Adjustment {
    /// The label, in Japanese.
    pub label_ja: String,
    /// Yen taken off (positive).
    pub amount: Yen,
    /// The same amount by rate ([`crate::tax::apportion`]).
    pub by_rate: Vec<(TaxRate, Yen)>,
}

/// One order on the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Purchase {
    /// The merchant's registered name.
    pub merchant: String,
    /// The day of the purchase (capture day, JST): the transaction date
    /// the qualified-invoice rules ask for.
    pub date: JstDate,
    /// Our order id (`ord_…`).
    pub order: String,
    /// The merchant's own order id.
    pub merchant_order_id: String,
    /// The lines as bought.
    pub lines: Vec<Line>,
    /// What was taken off before issue.
    pub adjustments: Vec<Adjustment>,
    /// Lines less adjustments: what the document bills for the purchase.
    pub billed: Yen,
}

/// A charge that is not a purchase: the payment-method fee, the paid tier's
/// fee, late (re-issue) fees, delay damages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Charge {
    /// The label, in Japanese.
    pub label_ja: String,
    /// Yen.
    pub amount: Yen,
    /// The rate it carries; `None` outside the tax (delay damages).
    pub rate: Option<TaxRate>,
}

/// A credit note issued against the document after it was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreditLine {
    /// The credit note's number.
    pub number: String,
    /// Its day.
    pub issued_on: JstDate,
    /// The order it refunds (`ord_…`).
    pub order: String,
    /// Yen taken back (positive).
    pub amount: Yen,
    /// The same amount by rate.
    pub by_rate: Vec<(TaxRate, Yen)>,
}

/// How the customer pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentInstructions {
    /// The payment method's name, in Japanese (コンビニ払い, 口座振替, …).
    pub method_ja: String,
    /// What to do, in Japanese.
    pub note_ja: String,
    /// The convenience-store barcode, when the amount can be paid at a
    /// counter (none for bank debit, nothing to pay, or above the
    /// counter's limit).
    pub convenience: Option<ConvenienceCode>,
    /// Bank and post-office transfer, as text (the same reference as the
    /// barcode).
    pub transfer: Option<Transfer>,
}

/// Transfer details for a bank or the post office.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The receiving bank account, as printed (bank, branch, type, number,
    /// holder in kana).
    pub bank_account: String,
    /// The post-office (ゆうちょ) account, as printed.
    pub post_office_account: String,
    /// The customer reference to put before the remitter's name.
    pub reference: String,
    /// Yen to transfer.
    pub amount: Yen,
}

/// A billing document, ready to render.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Invoice or statement.
    pub kind: Kind,
    /// The invoice or statement number.
    pub number: String,
    /// Our customer id (`cus_…`).
    pub customer: String,
    /// The purchase month of a statement, `YYYY-MM`.
    pub month: Option<String>,
    /// Issued on.
    pub issued_on: JstDate,
    /// Due on (the original due date).
    pub due_on: JstDate,
    /// The day the document was rendered (a re-issue shows what is owed
    /// on this day).
    pub as_of: JstDate,
    /// The provider.
    pub issuer: Issuer,
    /// The customer.
    pub addressee: Addressee,
    /// Every purchase billed, in purchase order.
    pub purchases: Vec<Purchase>,
    /// Fees and other charges.
    pub charges: Vec<Charge>,
    /// Credit notes issued against the document.
    pub credit_notes: Vec<CreditLine>,
    /// Totals and tax by rate, highest rate first, after credit notes.
    pub by_rate: Vec<RateTotal>,
    /// Charges outside the tax (delay damages).
    pub non_taxable: Yen,
    /// What the document billed as issued, before credit notes (purchases
    /// and charges).
    pub total: Yen,
    /// Credit notes taken together.
    pub credited: Yen,
    /// Paid so far against the document.
    pub paid: Yen,
    /// What to pay now: `total − credited − paid`, never negative.
    pub to_pay: Yen,
    /// How to pay it.
    pub payment: PaymentInstructions,
}
