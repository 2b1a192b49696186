//! The rows of the table, in order: per purchase its heading, its lines
//! and what was taken off it; then the charges; then the credit notes.

use crate::model::{Adjustment, Charge, CreditLine, Document, Line, Purchase};

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub(super) enum Row<'d> {
    /// A purchase's heading: date, merchant, order ids.
    Purchase(&'d Purchase),
    /// A line of the purchase above.
    Line(&'d Line),
    /// Something taken off the purchase above (a negative row).
    Adjustment(&'d Adjustment),
    /// The heading of a section (charges, credit notes).
    Section(&'static str),
    /// A charge.
    Charge(&'d Charge),
    /// A credit note (a negative row).
    Credit(&'d CreditLine),
}

impl Row<'_> {
    /// A heading stays on the page of the row after it.
    pub(super) fn is_heading(&self) -> bool {
        matches!(self, Row::Purchase(_) | Row::Section(_))
    }
}

/// The heading of the charges.
pub(super) const CHARGES: &str = "手数料等";
/// The heading of the credit notes.
pub(super) const CREDITS: &str = "返品・減額（返還インボイス）";

/// The rows of `doc`.
pub(super) fn build(doc: &Document) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for p in &doc.purchases {
        rows.push(Row::Purchase(p));
        rows.extend(p.lines.iter().map(Row::Line));
        rows.extend(p.adjustments.iter().map(Row::Adjustment));
    }
    if !doc.charges.is_empty() {
        rows.push(Row::Section(CHARGES));
        rows.extend(doc.charges.iter().map(Row::Charge));
    }
    if !doc.credit_notes.is_empty() {
        rows.push(Row::Section(CREDITS));
        rows.extend(doc.credit_notes.iter().map(Row::Credit));
    }
    rows
}
