//! Billing documents from the engine's facts: [`build`] turns a
//! [`DocumentSource`] (an invoice or statement, its orders and lines, its
//! credit notes, the customer's unpaid charges) and the addressee's opened
//! personal data into a [`Document`] the `atobarai-documents` crate lays
//! out as HTML or PDF. [`DocumentService`] holds the configuration and the
//! PDF renderer (its font is parsed once).
//!
//! Every figure is checked against what the engine issued: the purchases
//! must add up to the invoice's purchases as issued, and each order's lines
//! to its amount. A document that would disagree with the ledger is an
//! error, never a page.

use atobarai_core::documents::DocumentsConfig;
use atobarai_core::{Category, JstDate, PaymentMethod, Product, Yen, ids};
use atobarai_documents::barcode::{ConvenienceCode, ConvenienceLayout, SlipData};
use atobarai_documents::model::{
    Addressee, Adjustment, Charge, CreditLine, Document, Issuer, Kind, Line, PaymentInstructions,
    Purchase, Transfer,
};
use atobarai_documents::pdf::PdfRenderer;
use atobarai_documents::tax::{self, TaxRate};
use atobarai_engine::{DocumentSource, prefix};
use std::sync::{Arc, OnceLock};

/// The addressee as registered (opened from the sealed profile, or clear).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// Full name.
    pub name: String,
    /// Postal code as registered.
    pub postal_code: String,
    /// Address as registered.
    pub address: String,
}

/// Why a document cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The customer's personal data was erased: there is no one to address.
    #[error("the customer's personal data was erased; the document has no addressee")]
    AddresseeErased,
    /// The address does not fit the envelope window.
    #[error(
        "the registered address needs {lines} lines of {chars} characters; the envelope window shows {max}"
    )]
    AddressTooLong {
        /// Lines needed.
        lines: usize,
        /// Characters per line.
        chars: u32,
        /// Lines the window shows.
        max: u32,
    },
    /// The name does not fit one line of the window.
    #[error("the registered name is longer than the envelope window's line of {0} characters")]
    NameTooLong(u32),
    /// A line carries a rate the provider does not bill (the configuration
    /// changed after the order).
    #[error(
        "order {order} line {line} carries a {rate} % tax rate, which is not configured (documents.standard_rate, documents.reduced_rate)"
    )]
    TaxRateNotConfigured {
        /// The order (`ord_…`).
        order: String,
        /// The line's index.
        line: usize,
        /// The rate stated.
        rate: u8,
    },
    /// The figures do not agree with what the engine issued.
    #[error("the document does not agree with the invoice as issued: {0}")]
    Mismatch(String),
    /// The barcode could not be made from the configured layout.
    #[error("the payment barcode cannot be made: {0}")]
    Barcode(String),
}

impl DocumentError {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::AddresseeErased => "personal_data_erased",
            DocumentError::AddressTooLong { .. } => "address_too_long",
            DocumentError::NameTooLong(_) => "name_too_long",
            DocumentError::TaxRateNotConfigured { .. } => "tax_rate_not_configured",
            DocumentError::Mismatch(_) => "document_mismatch",
            DocumentError::Barcode(_) => "barcode_unavailable",
        }
    }
}

/// The documents' settings and the PDF renderer, shared by the HTTP
/// threads and the `documents render` command.
#[derive(Default)]
pub struct DocumentService {
    /// `[documents]`.
    pub config: DocumentsConfig,
    pdf: OnceLock<Result<Arc<PdfRenderer>, String>>,
}

impl DocumentService {
    /// A service with `config` (validated by `Config::validate`).
    pub fn new(config: DocumentsConfig) -> DocumentService {
        DocumentService {
            config,
            pdf: OnceLock::new(),
        }
    }

    /// The PDF renderer, made on first use (it parses the embedded font).
    pub fn pdf(&self) -> Result<Arc<PdfRenderer>, String> {
        self.pdf
            .get_or_init(|| PdfRenderer::new().map(Arc::new).map_err(|e| e.to_string()))
            .clone()
    }
}

fn mismatch(what: String) -> DocumentError {
    DocumentError::Mismatch(what)
}

fn range() -> DocumentError {
    mismatch("an amount leaves the yen range".into())
}

fn add(a: Yen, b: Yen) -> Result<Yen, DocumentError> {
    a.checked_add(b).map_err(|_| range())
}

fn sub(a: Yen, b: Yen) -> Result<Yen, DocumentError> {
    a.checked_sub(b).map_err(|_| range())
}

fn negate(a: Yen) -> Result<Yen, DocumentError> {
    a.checked_neg().map_err(|_| range())
}

/// The rate of a line: the one the merchant stated, else its category's
/// (reduced for `food`, standard otherwise).
fn line_rate(
    cfg: &DocumentsConfig,
    category: Category,
    stated: Option<u8>,
    order: &str,
    line: usize,
) -> Result<(TaxRate, bool), DocumentError> {
    let percent = stated.unwrap_or(if tax::reduced_by_default(category) {
        cfg.reduced_rate
    } else {
        cfg.standard_rate
    });
    if !cfg.rate_configured(percent) {
        return Err(DocumentError::TaxRateNotConfigured {
            order: order.to_string(),
            line,
            rate: percent,
        });
    }
    let rate = TaxRate::new(percent).ok_or(DocumentError::TaxRateNotConfigured {
        order: order.to_string(),
        line,
        rate: percent,
    })?;
    Ok((rate, percent == cfg.reduced_rate))
}

/// Wrap `text` into lines of at most `width` characters.
fn wrap(text: &str, width: u32) -> Vec<String> {
    let width = width.max(1) as usize;
    let chars: Vec<char> = text.trim().chars().collect();
    chars
        .chunks(width)
        .map(|c| c.iter().collect::<String>())
        .collect()
}

fn addressee(cfg: &DocumentsConfig, r: &Registered) -> Result<Addressee, DocumentError> {
    let lines = wrap(&r.address, cfg.window_line_chars);
    if lines.len() > cfg.window_lines as usize {
        return Err(DocumentError::AddressTooLong {
            lines: lines.len(),
            chars: cfg.window_line_chars,
            max: cfg.window_lines,
        });
    }
    // The name and " 様" share one line.
    if r.name.trim().chars().count().saturating_add(2) > cfg.window_line_chars as usize {
        return Err(DocumentError::NameTooLong(cfg.window_line_chars));
    }
    let digits: String = r.postal_code.chars().filter(char::is_ascii_digit).collect();
    let postal_code = (digits.len() == 7).then(|| format!("{}-{}", &digits[..3], &digits[3..]));
    Ok(Addressee {
        postal_code,
        address_lines: lines,
        name: r.name.trim().to_string(),
    })
}

/// Make the document of `source` for `addressee`, as of `as_of` (the day it
/// is rendered: a document past its due date shows the late fees and delay
/// damages owed that day, and its barcode is re-issued).
pub fn build(
    cfg: &DocumentsConfig,
    source: &DocumentSource,
    registered: Option<&Registered>,
    as_of: JstDate,
) -> Result<Document, DocumentError> {
    let registered = registered.ok_or(DocumentError::AddresseeErased)?;
    let inv = &source.invoice;
    let kind = match inv.product {
        Product::Monthly => Kind::Statement,
        _ => Kind::Invoice,
    };
    let mut amounts: Vec<(TaxRate, Yen)> = Vec::new();
    let mut purchases = Vec::with_capacity(source.orders.len());
    let mut credit_notes = Vec::new();
    let mut billed_total = Yen::ZERO;
    let mut paid = Yen::ZERO;
    for o in &source.orders {
        let order = ids::encode(prefix::ORDER, u64::from(o.order));
        let mut lines = Vec::with_capacity(o.items.len());
        let mut parts: Vec<(TaxRate, Yen)> = Vec::new();
        for (i, item) in o.items.iter().enumerate() {
            let stated = o.tax_rates.get(i).copied().flatten();
            let (rate, reduced) = line_rate(cfg, item.category, stated, &order, i)?;
            let amount = item
                .unit_price
                .checked_mul(item.quantity)
                .map_err(|_| mismatch(format!("{order} line {i} overflows")))?;
            match parts.iter_mut().find(|p| p.0 == rate) {
                Some(p) => p.1 = add(p.1, amount)?,
                None => parts.push((rate, amount)),
            }
            lines.push(Line {
                name: item.name.clone(),
                quantity: item.quantity,
                unit_price: item.unit_price,
                amount,
                rate,
                reduced,
            });
        }
        let lines_total = Yen::checked_sum(parts.iter().map(|p| p.1))
            .map_err(|_| mismatch(format!("{order} overflows")))?;
        if lines_total != o.amount {
            return Err(mismatch(format!(
                "{order}: its lines add up to {lines_total}, the order to {}",
                o.amount
            )));
        }
        // Credit notes of this document for this order: refunds after issue.
        let notes: Vec<_> = source
            .credit_notes
            .iter()
            .filter(|n| n.order == o.order)
            .collect();
        let credited = Yen::checked_sum(notes.iter().map(|n| n.amount))
            .map_err(|_| mismatch(format!("{order}: credit notes overflow")))?;
        let uncaptured = sub(o.amount, o.captured)?;
        let refunded_before = sub(o.refunded, credited)?;
        if uncaptured.is_negative() || refunded_before.is_negative() {
            return Err(mismatch(format!(
                "{order}: captured {} of {}, refunded {} with {credited} credited",
                o.captured, o.amount, o.refunded
            )));
        }
        let apportion =
            |y: Yen| tax::apportion(y, &parts).map_err(|e| mismatch(format!("{order}: {e}")));
        let mut adjustments = Vec::new();
        for (label, yen) in [
            ("お取消し（一部）", uncaptured),
            ("ご返品・ご減額", refunded_before),
        ] {
            if yen.is_positive() {
                adjustments.push(Adjustment {
                    label_ja: label.to_string(),
                    amount: yen,
                    by_rate: apportion(yen)?,
                });
            }
        }
        let billed = sub(sub(o.amount, uncaptured)?, refunded_before)?;
        billed_total = add(billed_total, billed)?;
        paid = add(paid, o.paid)?;
        amounts.extend(parts.iter().copied());
        for a in &adjustments {
            for &(rate, yen) in &a.by_rate {
                amounts.push((rate, negate(yen)?));
            }
        }
        for n in notes {
            let by_rate = apportion(n.amount)?;
            for &(rate, yen) in &by_rate {
                amounts.push((rate, negate(yen)?));
            }
            credit_notes.push(CreditLine {
                number: n.number.clone(),
                issued_on: n.issued_on,
                order: order.clone(),
                amount: n.amount,
                by_rate,
            });
        }
        purchases.push(Purchase {
            merchant: o.merchant.clone(),
            date: o.captured_on,
            order,
            merchant_order_id: o.merchant_order_id.clone(),
            lines,
            adjustments,
            billed,
        });
    }
    if billed_total != inv.purchases {
        return Err(mismatch(format!(
            "{}: its purchases add up to {billed_total}, the invoice as issued to {}",
            inv.number, inv.purchases
        )));
    }
    if u32::try_from(purchases.len()).ok() != Some(inv.orders) {
        return Err(mismatch(format!(
            "{}: {} purchases found, the invoice as issued has {}",
            inv.number,
            purchases.len(),
            inv.orders
        )));
    }

    let standard = TaxRate::new(cfg.standard_rate)
        .ok_or_else(|| mismatch("documents.standard_rate".into()))?;
    let mut charges = Vec::new();
    let fee_label = match inv.method {
        PaymentMethod::PaperBill => "請求書発行手数料（紙）",
        PaymentMethod::ConvenienceStore => "コンビニ払込手数料",
        PaymentMethod::BankDebit => "口座振替手数料",
    };
    let own_fees = add(inv.fee, inv.membership_fee)?;
    for (label, yen) in [(fee_label, inv.fee), ("プレミアム会費", inv.membership_fee)] {
        if yen.is_positive() {
            charges.push(Charge {
                label_ja: label.to_string(),
                amount: yen,
                rate: Some(standard),
            });
        }
    }
    // The document's own fees count as paid once the customer owes no
    // statement fee at least as large (fees are paid before principal).
    let fees_paid = sub(own_fees, own_fees.min(source.fees_owed))?;
    paid = add(paid, fees_paid)?;
    let open = sub(
        sub(
            add(billed_total, own_fees)?,
            Yen::checked_sum(credit_notes.iter().map(|n| n.amount)).map_err(|_| range())?,
        )?,
        paid,
    )?;
    let overdue = as_of > inv.due_on && open.is_positive();
    let mut non_taxable = Yen::ZERO;
    if overdue {
        if source.late_fees_owed.is_positive() {
            charges.push(Charge {
                label_ja: "再発行手数料（お支払期限後）".into(),
                amount: source.late_fees_owed,
                rate: Some(standard),
            });
        }
        if source.damages_owed.is_positive() {
            charges.push(Charge {
                label_ja: "遅延損害金（年14.6%）".into(),
                amount: source.damages_owed,
                rate: None,
            });
            non_taxable = source.damages_owed;
        }
    }
    for c in &charges {
        if let Some(rate) = c.rate {
            amounts.push((rate, c.amount));
        }
    }
    let charges_total = Yen::checked_sum(charges.iter().map(|c| c.amount)).map_err(|_| range())?;
    let total = add(billed_total, charges_total)?;
    let credited = Yen::checked_sum(credit_notes.iter().map(|n| n.amount)).map_err(|_| range())?;
    let to_pay = sub(sub(total, credited)?, paid)?.max(Yen::ZERO);
    let by_rate = tax::totals_by_rate(amounts).map_err(|e| mismatch(e.to_string()))?;
    // Postcondition: the rates and the non-taxable charges make up what
    // the document bills after its credit notes.
    let taxed = Yen::checked_sum(by_rate.iter().map(|r| r.total)).map_err(|_| range())?;
    if add(taxed, non_taxable)? != sub(total, credited)? {
        return Err(mismatch(format!(
            "totals by rate {taxed} and non-taxable {non_taxable} do not make up {total} less {credited}"
        )));
    }

    let payment = payment(cfg, source, kind, to_pay, overdue, as_of)?;
    Ok(Document {
        kind,
        number: inv.number.clone(),
        customer: ids::encode(prefix::CUSTOMER, u64::from(source.customer)),
        month: inv.month.map(|m| m.to_string()),
        issued_on: inv.issued_on,
        due_on: inv.due_on,
        as_of,
        issuer: Issuer {
            name: cfg.issuer_name.clone(),
            postal_code: cfg.issuer_postal_code.clone(),
            address: cfg.issuer_address.clone(),
            phone: cfg.issuer_phone.clone(),
            registration: cfg.registration_number.clone(),
        },
        addressee: addressee(cfg, registered)?,
        purchases,
        charges,
        credit_notes,
        by_rate,
        non_taxable,
        total,
        credited,
        paid,
        to_pay,
        payment,
    })
}

/// How to pay: a bank debit not yet due needs nothing; otherwise the
/// convenience-store barcode (when the counter takes the amount) and the
/// transfer details. A document past its due date is a re-issue: the
/// barcode's re-issue digit is 1 and its due date `reissue_days` on.
fn payment(
    cfg: &DocumentsConfig,
    source: &DocumentSource,
    kind: Kind,
    to_pay: Yen,
    overdue: bool,
    as_of: JstDate,
) -> Result<PaymentInstructions, DocumentError> {
    let inv = &source.invoice;
    let method_ja = match (kind, inv.method) {
        (Kind::Invoice, _) => "払込票（コンビニ・銀行・郵便局）",
        (_, PaymentMethod::BankDebit) => "口座振替",
        (_, PaymentMethod::PaperBill) => "払込票（郵送）",
        (_, PaymentMethod::ConvenienceStore) => "コンビニ払い",
    }
    .to_string();
    if !to_pay.is_positive() {
        return Ok(PaymentInstructions {
            method_ja,
            note_ja: "今回お支払いいただく金額はありません。".into(),
            convenience: None,
            transfer: None,
        });
    }
    if kind == Kind::Statement && inv.method == PaymentMethod::BankDebit && !overdue {
        return Ok(PaymentInstructions {
            method_ja,
            note_ja: format!(
                "{}にご登録の口座から振り替えます。前日までに残高をご確認ください。",
                jp_date(inv.due_on)
            ),
            convenience: None,
            transfer: None,
        });
    }
    let (due, reissue) = if overdue {
        let due = as_of
            .plus_days(i32::try_from(cfg.reissue_days).unwrap_or(i32::MAX))
            .map_err(|e| DocumentError::Barcode(e.to_string()))?;
        (due, 1u8)
    } else {
        (inv.due_on, 0u8)
    };
    // The reference: the invoice number's digits (date, customer, sequence
    // and its check digit), unique per document.
    let reference: String = inv.number.chars().filter(char::is_ascii_digit).collect();
    let convenience = if to_pay <= cfg.convenience_max_yen {
        Some(
            ConvenienceCode::new(
                &ConvenienceLayout {
                    company_code: cfg.convenience_company_code.clone(),
                    stamp_from: cfg.stamp_from_yen,
                    max_amount: cfg.convenience_max_yen,
                },
                &SlipData {
                    reference: reference.clone(),
                    reissue,
                    due,
                    amount: to_pay,
                },
            )
            .map_err(|e| DocumentError::Barcode(e.to_string()))?,
        )
    } else {
        None
    };
    let note_ja = match (&convenience, overdue) {
        (Some(_), false) => format!(
            "{}までに、下のバーコードでコンビニエンスストアのレジにて、または銀行・郵便局からのお振込みでお支払いください。",
            jp_date(due)
        ),
        (Some(_), true) => format!(
            "お支払期限を過ぎています。再発行したこの払込票で{}までにお支払いください。",
            jp_date(due)
        ),
        (None, _) => format!(
            "コンビニエンスストアでお支払いいただける上限を超えています。{}までに銀行・郵便局からお振込みください。",
            jp_date(due)
        ),
    };
    Ok(PaymentInstructions {
        method_ja,
        note_ja,
        convenience,
        transfer: Some(Transfer {
            bank_account: cfg.bank_account.clone(),
            post_office_account: cfg.post_office_account.clone(),
            reference,
            amount: to_pay,
        }),
    })
}

/// `2026年7月10日`.
pub fn jp_date(d: JstDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Why the addressee could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddresseeError {
    /// The profile is sealed and this process has no keyring.
    #[error("this process has no keyring to open sealed personal data")]
    NoKeyring,
    /// The sealed profile does not open with the keyring.
    #[error("the customer's sealed personal data does not open: {0}")]
    Unreadable(String),
}

/// The addressee as registered: clear, or opened with `privacy`; `None`
/// when the personal data was erased (or its key shredded).
pub fn registered(
    personal: &atobarai_engine::PersonalData,
    privacy: Option<&crate::privacy::Privacy>,
) -> Result<Option<Registered>, AddresseeError> {
    use atobarai_engine::PersonalData;
    match personal {
        PersonalData::Clear(p) => Ok(Some(Registered {
            name: p.name.clone(),
            postal_code: p.postal_code.clone(),
            address: p.address.clone(),
        })),
        PersonalData::Erased { .. } => Ok(None),
        PersonalData::Sealed { pii, .. } => {
            let privacy = privacy.ok_or(AddresseeError::NoKeyring)?;
            match privacy.open(pii) {
                Ok((f, _)) => Ok(Some(Registered {
                    name: f.name,
                    postal_code: f.postal_code,
                    address: f.address,
                })),
                Err(crate::privacy::PrivacyError::Shredded) => Ok(None),
                Err(e) => Err(AddresseeError::Unreadable(e.to_string())),
            }
        }
    }
}

impl From<DocumentError> for crate::error::ApiError {
    fn from(e: DocumentError) -> crate::error::ApiError {
        use axum::http::StatusCode;
        let status = match &e {
            DocumentError::AddresseeErased | DocumentError::Mismatch(_) => StatusCode::CONFLICT,
            DocumentError::AddressTooLong { .. }
            | DocumentError::NameTooLong(_)
            | DocumentError::TaxRateNotConfigured { .. }
            | DocumentError::Barcode(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        if matches!(e, DocumentError::Mismatch(_)) {
            tracing::error!(error = %e, "a document disagrees with its invoice");
        }
        let field = match &e {
            DocumentError::AddressTooLong { .. } => Some("address"),
            DocumentError::NameTooLong(_) => Some("name"),
            DocumentError::TaxRateNotConfigured { .. } => Some("tax_rate"),
            _ => None,
        };
        let err = crate::error::ApiError::new(status, e.code(), e.to_string());
        match field {
            Some(f) => err.field(f),
            None => err,
        }
    }
}

impl From<AddresseeError> for crate::error::ApiError {
    fn from(e: AddresseeError) -> crate::error::ApiError {
        match e {
            AddresseeError::NoKeyring => crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "sealing_not_configured",
                "this server has no keyring to open sealed personal data",
            ),
            AddresseeError::Unreadable(cause) => {
                tracing::error!(error = %cause, "sealed personal data does not open");
                crate::error::ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "personal_data_unreadable",
                    "the customer's data key does not open with this keyring",
                )
            }
        }
    }
}

/// Open the addressee and build the document on a blocking thread (the
/// vault is read and the data key unwrapped there).
pub(crate) async fn render_blocking(
    app: &crate::http::AppState,
    source: DocumentSource,
    as_of: JstDate,
) -> Result<Document, crate::error::ApiError> {
    let privacy = app.identity.privacy().cloned();
    let service = app.documents.clone();
    crate::http_privacy::blocking(move || {
        let who = registered(&source.personal, privacy.as_deref())?;
        Ok(build(&service.config, &source, who.as_ref(), as_of)?)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: &str, postal: &str, address: &str) -> Registered {
        Registered {
            name: name.into(),
            postal_code: postal.into(),
            address: address.into(),
        }
    }

    #[test]
    fn the_address_is_wrapped_for_the_window_or_refused() {
        let cfg = DocumentsConfig::default();
        let a = addressee(
            &cfg,
            &who(
                "山田 太郎",
                "1000013",
                "東京都千代田区霞が関1-3-1 霞ビル101",
            ),
        )
        .unwrap();
        assert_eq!(a.postal_code.as_deref(), Some("100-0013"));
        assert_eq!(a.address_lines, ["東京都千代田区霞が関1-3-1 霞ビル101"]);
        // 24 characters a line, three lines: 73 characters do not fit.
        let long = "あ".repeat(73);
        assert_eq!(
            addressee(&cfg, &who("山田 太郎", "100-0013", &long)),
            Err(DocumentError::AddressTooLong {
                lines: 4,
                chars: 24,
                max: 3
            })
        );
        assert_eq!(
            addressee(&cfg, &who("山田 太郎", "100-0013", &"あ".repeat(72)))
                .unwrap()
                .address_lines
                .len(),
            3
        );
        // The name shares its line with " 様".
        assert_eq!(
            addressee(&cfg, &who(&"名".repeat(23), "100-0013", "東京都")),
            Err(DocumentError::NameTooLong(24))
        );
        // A postal code that is not seven digits is left off, not invented.
        assert_eq!(
            addressee(&cfg, &who("山田", "12", "東京都"))
                .unwrap()
                .postal_code,
            None
        );
    }

    #[test]
    fn a_line_takes_its_stated_rate_or_its_categorys() {
        let cfg = DocumentsConfig::default();
        let r = |c, s| line_rate(&cfg, c, s, "ord_x", 0);
        assert_eq!(r(Category::Food, None), Ok((TaxRate::REDUCED, true)));
        assert_eq!(r(Category::Food, Some(10)), Ok((TaxRate::STANDARD, false)));
        assert_eq!(r(Category::Other, Some(8)), Ok((TaxRate::REDUCED, true)));
        assert_eq!(
            r(Category::Electronics, None),
            Ok((TaxRate::STANDARD, false))
        );
        assert_eq!(
            r(Category::Other, Some(5)),
            Err(DocumentError::TaxRateNotConfigured {
                order: "ord_x".into(),
                line: 0,
                rate: 5
            })
        );
    }
}
