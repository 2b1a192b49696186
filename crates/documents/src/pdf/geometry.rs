//! The page: A4 portrait, 15 mm margins, everything in millimetres from
//! the top-left corner of the sheet (the PDF is written in points).

/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Millimetres to points.
pub(super) fn mm_to_pt(mm: f32) -> f32 {
    mm * PT_PER_MM
}

/// Points to millimetres.
pub(super) fn pt_to_mm(pt: f32) -> f32 {
    pt / PT_PER_MM
}

/// A4 width in points (210 mm).
pub(super) const PAGE_W_PT: f32 = 595.2756;
/// A4 height in points (297 mm).
pub(super) const PAGE_H_PT: f32 = 841.8898;

/// The left margin.
pub(super) const LEFT: f32 = 15.0;
/// The right edge of the text area (210 − 15).
pub(super) const RIGHT: f32 = 195.0;
/// The width of the text area.
pub(super) const TEXT_W: f32 = RIGHT - LEFT;
/// Where the body of a page ends (the page number sits below, inside the
/// bottom margin's upper part; 297 − 15 = 282 is the last line drawn).
pub(super) const BODY_BOTTOM: f32 = 274.0;
/// The baseline of the page number.
pub(super) const PAGE_NUMBER_BASELINE: f32 = 281.0;

/// Where the table starts on the first page (below the title and the
/// amount box).
pub(super) const FIRST_TABLE_TOP: f32 = 104.0;
/// Where the table starts on a continuation page.
pub(super) const NEXT_TABLE_TOP: f32 = 30.0;

/// The height of the table's header row.
pub(super) const TABLE_HEADER_H: f32 = 6.0;
/// The height of one table row.
pub(super) const ROW_H: f32 = 5.0;
/// The space between the parts of a page.
pub(super) const GAP: f32 = 4.0;

/// Text sizes in points.
pub(super) mod size {
    /// Body text and table rows.
    pub(in crate::pdf) const BODY: f32 = 9.0;
    /// Small print (the issuer's address, order ids, the barcode digits).
    pub(in crate::pdf) const SMALL: f32 = 8.0;
    /// The barcode's human-readable digits.
    pub(in crate::pdf) const DIGITS: f32 = 7.5;
    /// The addressee's address.
    pub(in crate::pdf) const ADDRESS: f32 = 10.0;
    /// The addressee's name.
    pub(in crate::pdf) const NAME: f32 = 12.0;
    /// The title.
    pub(in crate::pdf) const TITLE: f32 = 16.0;
    /// The amount to pay in the headline box.
    pub(in crate::pdf) const HEADLINE: f32 = 18.0;
}

/// The table's columns: the text of a line starts at `NAME` (after the
/// "※" mark at `MARK`), the figures are right-aligned on the `*_RIGHT`
/// edges.
pub(super) mod col {
    use super::{LEFT, RIGHT};
    /// The "※" mark of a reduced-rate line.
    pub(in crate::pdf) const MARK: f32 = LEFT + 2.0;
    /// The start of a heading row's text (purchase, section).
    pub(in crate::pdf) const HEAD: f32 = LEFT + 2.0;
    /// The start of an item's name.
    pub(in crate::pdf) const NAME: f32 = LEFT + 6.0;
    /// The end of the name column.
    pub(in crate::pdf) const NAME_END: f32 = 116.0;
    /// The right edge of the quantity.
    pub(in crate::pdf) const QTY_RIGHT: f32 = 130.0;
    /// The right edge of the unit price.
    pub(in crate::pdf) const UNIT_RIGHT: f32 = 160.0;
    /// The right edge of the amount.
    pub(in crate::pdf) const AMOUNT_RIGHT: f32 = RIGHT - 2.0;
}

/// Greys (0 black, 255 white).
pub(super) mod grey {
    /// Text and bars.
    pub(in crate::pdf) const INK: u8 = 0;
    /// Secondary text (order ids).
    pub(in crate::pdf) const MUTED: u8 = 90;
    /// Rules between rows.
    pub(in crate::pdf) const RULE: u8 = 170;
    /// The table header's background.
    pub(in crate::pdf) const HEADER_FILL: u8 = 215;
    /// A heading row's background.
    pub(in crate::pdf) const BAND_FILL: u8 = 238;
}
