//! The purchases table: its header row and one row per [`Row`].

use super::canvas::{Align, Canvas};
use super::format;
use super::geometry::{LEFT, RIGHT, ROW_H, TABLE_HEADER_H, TEXT_W, col, grey, size};
use super::rows::Row;
use crate::model::Purchase;

/// The baseline of a row's text below the row's top.
const BASELINE: f32 = 3.6;
/// Marks a heading repeated from the page before.
const CONTINUED: &str = "（続き）";

/// A section's label, marked when continued.
fn section_label(label: &str, continued: bool) -> String {
    if continued {
        format!("{label}{CONTINUED}")
    } else {
        label.to_owned()
    }
}

/// The widest our order id may be on a purchase's heading.
const ORDER_MAX_W: f32 = 75.0;
/// Room kept between a text and the next column.
const PAD: f32 = 2.0;

/// The header row at `y`; returns the top of the first row.
pub(super) fn header(c: &mut Canvas<'_, '_, '_>, y: f32) -> f32 {
    c.fill_rect(LEFT, y, TEXT_W, TABLE_HEADER_H, grey::HEADER_FILL);
    let base = y + 4.2;
    c.text(
        col::HEAD,
        base,
        size::BODY,
        "ご利用日・ご利用先／品名",
        Align::Left,
    );
    c.text(col::QTY_RIGHT, base, size::BODY, "数量", Align::Right);
    c.text(col::UNIT_RIGHT, base, size::BODY, "単価", Align::Right);
    c.text(col::AMOUNT_RIGHT, base, size::BODY, "金額", Align::Right);
    let bottom = y + TABLE_HEADER_H;
    c.hline(LEFT, RIGHT, bottom, 0.6, grey::INK);
    bottom
}

/// `row` at `y`; returns the top of the next row. A heading `continued`
/// from the page before says so.
/// A row's amount, right-aligned in the amount column (cut with "…" if it
/// ever outgrew it).
fn amount_cell(c: &mut Canvas<'_, '_, '_>, base: f32, amount: &str) {
    let amount_w = col::AMOUNT_RIGHT - col::UNIT_RIGHT - PAD;
    c.text_fit(
        col::AMOUNT_RIGHT,
        base,
        size::BODY,
        amount,
        amount_w,
        Align::Right,
    );
}

pub(super) fn row(c: &mut Canvas<'_, '_, '_>, row: &Row<'_>, y: f32, continued: bool) -> f32 {
    let base = y + BASELINE;
    let name_w = col::NAME_END - col::NAME;
    // A row without quantity and unit price has the room up to the amount.
    let wide_w = col::UNIT_RIGHT - col::NAME;
    match row {
        Row::Purchase(p) => purchase(c, p, y, continued),
        Row::Section(label) => {
            c.fill_rect(LEFT, y, TEXT_W, ROW_H, grey::BAND_FILL);
            c.text_fit(
                col::HEAD,
                base,
                size::BODY,
                &section_label(label, continued),
                TEXT_W - 4.0,
                Align::Left,
            );
        }
        Row::Line(l) => {
            if l.reduced {
                c.text(col::MARK, base, size::BODY, "※", Align::Left);
            }
            c.text_fit(col::NAME, base, size::BODY, &l.name, name_w, Align::Left);
            let qty = l.quantity.to_string();
            let qty_w = col::QTY_RIGHT - col::NAME_END - PAD;
            c.text_fit(col::QTY_RIGHT, base, size::BODY, &qty, qty_w, Align::Right);
            let unit_w = col::UNIT_RIGHT - col::QTY_RIGHT - PAD;
            let unit = format::yen(l.unit_price);
            c.text_fit(
                col::UNIT_RIGHT,
                base,
                size::BODY,
                &unit,
                unit_w,
                Align::Right,
            );
            amount_cell(c, base, &format::yen(l.amount));
        }
        Row::Adjustment(a) => {
            c.text_fit(
                col::NAME,
                base,
                size::BODY,
                &a.label_ja,
                wide_w,
                Align::Left,
            );
            amount_cell(c, base, &format::minus(a.amount));
        }
        Row::Charge(ch) => {
            if ch.rate.is_some_and(|r| r == crate::tax::TaxRate::REDUCED) {
                c.text(col::MARK, base, size::BODY, "※", Align::Left);
            }
            let label = match ch.rate {
                Some(_) => ch.label_ja.clone(),
                None => format!("{}（不課税）", ch.label_ja),
            };
            c.text_fit(col::NAME, base, size::BODY, &label, wide_w, Align::Left);
            amount_cell(c, base, &format::yen(ch.amount));
        }
        Row::Credit(cn) => {
            let label = format!(
                "{}　返還 {}（注文ID {}）",
                format::date(cn.issued_on),
                cn.number,
                cn.order
            );
            c.text_fit(col::NAME, base, size::BODY, &label, wide_w, Align::Left);
            amount_cell(c, base, &format::minus(cn.amount));
        }
    }
    let bottom = y + ROW_H;
    c.hline(LEFT, RIGHT, bottom, 0.25, grey::RULE);
    bottom
}

/// A purchase's heading: the day, the merchant and its order number on
/// the left, our order id in grey on the right.
fn purchase(c: &mut Canvas<'_, '_, '_>, p: &Purchase, y: f32, continued: bool) {
    c.fill_rect(LEFT, y, TEXT_W, ROW_H, grey::BAND_FILL);
    let base = y + BASELINE;
    let order_w = c.face().width(&p.order, size::SMALL).min(ORDER_MAX_W);
    c.text_fit_grey(
        col::AMOUNT_RIGHT,
        base,
        size::SMALL,
        &p.order,
        order_w,
        Align::Right,
        grey::MUTED,
    );
    let room = col::AMOUNT_RIGHT - order_w - 4.0 - col::HEAD;
    let mut date = format::date(p.date);
    if continued {
        // Before the merchant, so that a cut never takes it away.
        date.push_str(CONTINUED);
    }
    let date_w = c.face().width(&date, size::BODY) + 3.0;
    c.text_fit(col::HEAD, base, size::BODY, &date, room, Align::Left);
    let rest = if p.merchant_order_id.is_empty() {
        p.merchant.clone()
    } else {
        format!("{}　ご注文番号 {}", p.merchant, p.merchant_order_id)
    };

    c.text_fit(
        col::HEAD + date_w,
        base,
        size::BODY,
        &rest,
        room - date_w,
        Align::Left,
    );
}
