//! The head of a page: on the first, the addressee in the envelope's
//! window, the issuer, the title with the document's references and the
//! amount to pay; on the others, a one-line reminder of which document it
//! is. And the page number at the foot of every page.

use super::canvas::{Align, Canvas};
use super::format;
use super::geometry::{
    FIRST_TABLE_TOP, LEFT, NEXT_TABLE_TOP, PAGE_NUMBER_BASELINE, RIGHT, grey, size,
};
use crate::model::{Document, Kind};

/// The window of a 長形3号 window envelope: its left edge, top edge,
/// width and height (about 90 × 45 mm, 20 mm from the left and 12 mm from
/// the top of the sheet folded in three).
const WINDOW: (f32, f32, f32, f32) = (20.0, 12.0, 90.0, 45.0);
/// The addressee's text starts this far inside the window.
const WINDOW_PAD: f32 = 4.0;
/// Address lines shown in the window at most.
const ADDRESS_LINES: usize = 4;

/// The issuer's block: left edge and width.
const ISSUER_X: f32 = 128.0;
const ISSUER_W: f32 = RIGHT - ISSUER_X;

/// The amount box: left edge, top, width, height.
const HEADLINE: (f32, f32, f32, f32) = (112.0, 73.0, RIGHT - 112.0, 24.0);

/// The title of a kind of document.
pub(super) fn title(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "請求書",
        Kind::Statement => "ご利用明細兼請求書",
    }
}

/// The label of the document's number.
fn number_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "請求書番号",
        Kind::Statement => "明細番号",
    }
}

/// The first page's head; returns where the table starts.
pub(super) fn first_page(c: &mut Canvas<'_, '_, '_>, doc: &Document) -> f32 {
    addressee(c, doc);
    issuer(c, doc);
    title_and_references(c, doc);
    headline(c, doc);
    FIRST_TABLE_TOP
}

/// The addressee, inside the envelope's window: postal code, address
/// lines, name + 様.
fn addressee(c: &mut Canvas<'_, '_, '_>, doc: &Document) {
    let (wx, wy, ww, wh) = WINDOW;
    let x = wx + WINDOW_PAD;
    let w = ww - 2.0 * WINDOW_PAD;
    let a = &doc.addressee;
    let mut y = wy + 7.0;
    if let Some(code) = &a.postal_code {
        c.text_fit(x, y, size::ADDRESS, &format!("〒{code}"), w, Align::Left);
    }
    y += 5.5;
    let shown = a.address_lines.len().min(ADDRESS_LINES);
    for (i, line) in a.address_lines.iter().take(ADDRESS_LINES).enumerate() {
        let more = i.saturating_add(1) == shown && a.address_lines.len() > shown;
        let text = if more {
            format!("{line}……")
        } else {
            line.clone()
        };
        c.text_fit(x, y, size::ADDRESS, &text, w, Align::Left);
        y += 4.8;
    }
    // The name on the window's lower part, whatever the address's length.
    let name_y = (y + 3.0).max(wy + wh - 12.0).min(wy + wh - 5.0);
    let honorific = c.face().width(" 様", size::NAME);
    let fitted = c
        .face()
        .truncate(&a.name, size::NAME, w - honorific)
        .into_owned();
    c.text(x, name_y, size::NAME, &format!("{fitted} 様"), Align::Left);
}

/// The issuer: name, postal code and address, phone, registration number.
fn issuer(c: &mut Canvas<'_, '_, '_>, doc: &Document) {
    let i = &doc.issuer;
    let x = ISSUER_X;
    let mut y = 19.0;
    c.text_fit(x, y, size::ADDRESS, &i.name, ISSUER_W, Align::Left);
    y += 5.5;
    c.text_fit(
        x,
        y,
        size::SMALL,
        &format!("〒{}", i.postal_code),
        ISSUER_W,
        Align::Left,
    );
    y += 4.0;
    for line in c.face().wrap(&i.address, size::SMALL, ISSUER_W, 2) {
        c.text(x, y, size::SMALL, &line, Align::Left);
        y += 4.0;
    }
    c.text_fit(
        x,
        y,
        size::SMALL,
        &format!("TEL {}", i.phone),
        ISSUER_W,
        Align::Left,
    );
    y += 4.0;
    c.text_fit(
        x,
        y,
        size::SMALL,
        &format!("登録番号 {}", i.registration),
        ISSUER_W,
        Align::Left,
    );
}

/// The title, centred, and the references under it on the left.
fn title_and_references(c: &mut Canvas<'_, '_, '_>, doc: &Document) {
    let mid = (LEFT + RIGHT) / 2.0;
    c.text(mid, 66.0, size::TITLE, title(doc.kind), Align::Center);
    c.hline(LEFT, RIGHT, 68.5, 0.8, grey::INK);

    let mut refs: Vec<(&str, String)> = vec![
        (number_label(doc.kind), doc.number.clone()),
        ("お客様番号", doc.customer.clone()),
        ("発行日", format::date(doc.issued_on)),
    ];
    if let Some(m) = &doc.month {
        refs.push(("ご利用月", format::month(m)));
    }
    refs.push(("お支払期限", format::date(doc.due_on)));
    let label_w = 22.0;
    let value_w = HEADLINE.0 - 4.0 - LEFT - label_w;
    let mut y = 78.0;
    for (label, value) in refs {
        c.text(LEFT, y, size::BODY, label, Align::Left);
        c.text_fit(LEFT + label_w, y, size::BODY, &value, value_w, Align::Left);
        y += 4.6;
    }
}

/// The amount to pay, in a box, with the due date.
fn headline(c: &mut Canvas<'_, '_, '_>, doc: &Document) {
    let (x, y, w, h) = HEADLINE;
    c.stroke_rect(x, y, w, h, 1.0, grey::INK);
    c.fill_rect(x, y, w, 7.0, grey::HEADER_FILL);
    c.hline(x, x + w, y + 7.0, 0.5, grey::INK);
    c.text(x + 3.0, y + 5.0, size::ADDRESS, "ご請求金額", Align::Left);
    if doc.as_of != doc.issued_on {
        let note = format!("{}現在", format::date(doc.as_of));
        c.text_fit(
            x + w - 3.0,
            y + 5.0,
            size::SMALL,
            &note,
            w - 30.0,
            Align::Right,
        );
    }
    c.text_fit(
        x + w - 4.0,
        y + 15.5,
        size::HEADLINE,
        &format::yen(doc.to_pay),
        w - 8.0,
        Align::Right,
    );
    let due = format!("お支払期限　{}", format::date(doc.due_on));
    c.text_fit(
        x + w - 4.0,
        y + h - 2.5,
        size::BODY,
        &due,
        w - 8.0,
        Align::Right,
    );
}

/// A continuation page's head: the title, the number, the addressee's
/// name; returns where the table starts.
pub(super) fn continuation(c: &mut Canvas<'_, '_, '_>, doc: &Document) -> f32 {
    let y = 20.0;
    let head = format!(
        "{}（続き）　{} {}",
        title(doc.kind),
        number_label(doc.kind),
        doc.number
    );
    c.text_fit(LEFT, y, size::ADDRESS, &head, 120.0, Align::Left);
    let name = format!("{} 様", doc.addressee.name);
    c.text_fit(RIGHT, y, size::BODY, &name, 55.0, Align::Right);
    c.hline(LEFT, RIGHT, y + 2.5, 0.8, grey::INK);
    NEXT_TABLE_TOP
}

/// "n / N" at the foot of the page.
pub(super) fn page_number(c: &mut Canvas<'_, '_, '_>, page: usize, count: usize) {
    let mid = (LEFT + RIGHT) / 2.0;
    let text = format!("{page} / {count}");
    c.text(mid, PAGE_NUMBER_BASELINE, size::SMALL, &text, Align::Center);
}
