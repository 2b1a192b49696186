//! The totals under the table: per rate the tax-included total and the
//! tax in it, the non-taxable charges, then what was billed, credited,
//! paid and what is to pay now; and, on the left, the note on the "※"
//! mark.

use super::canvas::{Align, Canvas};
use super::format;
use super::geometry::{LEFT, RIGHT, grey, size};
use crate::model::Document;

/// The rates listed at most (two exist; a document with more would still
/// fit its page).
const MAX_RATES: usize = 6;
/// One line of the totals.
const LINE_H: f32 = 4.8;
/// The totals' column: left edge.
const X: f32 = 100.0;
/// The note on "※".
pub(super) const REDUCED_NOTE: &str = "※は軽減税率(8%)対象品目です。";

/// The lines: label, value, emphasised.
fn lines(doc: &Document) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for r in doc.by_rate.iter().take(MAX_RATES) {
        out.push((
            format!("{}対象", r.rate),
            format!(
                "{}（うち消費税 {}）",
                format::yen(r.total),
                format::yen(r.tax)
            ),
            false,
        ));
    }
    if doc.non_taxable != atobarai_core::Yen::ZERO {
        out.push(("不課税".to_owned(), format::yen(doc.non_taxable), false));
    }
    out.push(("ご請求額".to_owned(), format::yen(doc.total), false));
    out.push(("返品・減額".to_owned(), format::minus(doc.credited), false));
    out.push(("お支払済".to_owned(), format::minus(doc.paid), false));
    out.push(("今回お支払額".to_owned(), format::yen(doc.to_pay), true));
    out
}

/// The height of the totals.
pub(super) fn height(doc: &Document) -> f32 {
    let n = lines(doc).len() as f32;
    n * LINE_H + 3.0
}

/// The totals from `y` down.
pub(super) fn draw(c: &mut Canvas<'_, '_, '_>, doc: &Document, y: f32) {
    c.text(LEFT, y + 3.8, size::BODY, REDUCED_NOTE, Align::Left);
    let all = lines(doc);
    let rates = doc.by_rate.len().min(MAX_RATES);
    let non_taxable = usize::from(doc.non_taxable != atobarai_core::Yen::ZERO);
    let mut base = y + 3.8;
    for (i, (label, value, strong)) in all.iter().enumerate() {
        if i == rates.saturating_add(non_taxable) {
            c.hline(X, RIGHT, base - 3.6, 0.4, grey::INK);
            base += 1.0;
        }
        let last = i.saturating_add(1) == all.len();
        if last {
            c.hline(X, RIGHT, base - 3.6, 0.8, grey::INK);
            base += 1.0;
        }
        let (sz, value_w) = if *strong {
            (size::ADDRESS + 1.0, 60.0)
        } else {
            (size::BODY, 70.0)
        };
        c.text(X + 2.0, base, sz, label, Align::Left);
        c.text_fit(RIGHT - 2.0, base, sz, value, value_w, Align::Right);
        base += LINE_H;
    }
}
