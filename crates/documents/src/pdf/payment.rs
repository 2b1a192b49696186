//! The payment part at the foot of the last page: the method and what to
//! do, the convenience-store barcode on the left (when there is one), the
//! bank and post-office transfer details beside it (or under it, when the
//! column would be too narrow).

use super::barcode::{self, Geometry};
use super::canvas::{Align, Canvas};
use super::font::Face;
use super::format;
use super::geometry::{LEFT, RIGHT, TEXT_W, grey, size};
use crate::barcode::ConvenienceCode;
use crate::model::Document;

/// The heading band's height.
const BAND_H: f32 = 7.0;
/// Inner padding of the box.
const PAD: f32 = 3.0;
/// One line of the note.
const NOTE_LINE: f32 = 4.4;
/// Lines of the note at most.
const NOTE_LINES: usize = 3;
/// One line of the transfer details.
const TRANSFER_LINE: f32 = 3.9;
/// The narrowest transfer column beside the barcode.
const MIN_TRANSFER_W: f32 = 60.0;
/// The caption above the barcode.
const BARCODE_CAPTION: &str = "コンビニエンスストア払込用";
/// The caption above the transfer details.
const TRANSFER_CAPTION: &str = "銀行・ゆうちょ銀行からのお振込";
/// A caption's height (its line above the bars or the details).
const CAPTION_H: f32 = 4.5;
/// The transfer details' label column.
const LABEL_W: f32 = 20.0;

/// The payment part, measured: its lines wrapped and its height known
/// before the pages are planned.
pub(super) struct Block<'d> {
    heading: String,
    note: Vec<String>,
    barcode: Option<(&'d ConvenienceCode, Geometry)>,
    /// The transfer details: the label on a detail's first line, and the
    /// line.
    transfer: Vec<(Option<&'static str>, String)>,
    /// Where the transfer column starts, from the box's left, and how far
    /// below the note (beside the barcode: 0; under it: the barcode's
    /// height).
    transfer_x: f32,
    transfer_dy: f32,
    /// The whole part's height.
    pub(super) height: f32,
}

impl<'d> Block<'d> {
    /// Measure the payment part of `doc`.
    pub(super) fn measure(doc: &'d Document, face: &Face<'_>) -> Block<'d> {
        let p = &doc.payment;
        let inner_w = TEXT_W - 2.0 * PAD;
        let heading = format!("お支払方法　{}", p.method_ja);
        let note = face.wrap(&p.note_ja, size::BODY, inner_w, NOTE_LINES);
        let barcode = p
            .convenience
            .as_ref()
            .map(|code| (code, Geometry::of(code, inner_w)));
        let barcode_w = barcode.map_or(0.0, |(_, g)| g.total());
        let beside = barcode_w + 4.0;
        let (transfer_x, transfer_dy, transfer_w) = if barcode.is_none() {
            (PAD, 0.0, inner_w)
        } else if inner_w - beside >= MIN_TRANSFER_W {
            (PAD + beside, 0.0, inner_w - beside)
        } else {
            (PAD, CAPTION_H + barcode::HEIGHT + 2.0, inner_w)
        };
        let mut transfer = Vec::new();
        if let Some(t) = &p.transfer {
            let mut add = |label: &'static str, text: &str, lines: usize| {
                let wrapped = face.wrap(text, size::SMALL, transfer_w - LABEL_W, lines);
                for (i, l) in wrapped.into_iter().enumerate() {
                    transfer.push(((i == 0).then_some(label), l));
                }
            };
            add("お振込金額", &format::yen(t.amount), 1);
            add("銀行振込", &t.bank_account, 2);
            add("ゆうちょ銀行", &t.post_office_account, 2);
            let reference = format!("ご依頼人名の前に「{}」をご入力ください。", t.reference);
            add("お振込の際は", &reference, 3);
        }
        let barcode_h = if barcode.is_some() {
            CAPTION_H + barcode::HEIGHT
        } else {
            0.0
        };
        let caption_h = if transfer.is_empty() { 0.0 } else { CAPTION_H };
        let transfer_h = transfer_dy + caption_h + transfer.len() as f32 * TRANSFER_LINE;
        let body = barcode_h.max(transfer_h);
        let height = BAND_H + 1.5 + note.len() as f32 * NOTE_LINE + 1.5 + body + PAD;
        Block {
            heading,
            note,
            barcode,
            transfer,
            transfer_x,
            transfer_dy,
            height,
        }
    }

    /// The part with its top at `top`.
    pub(super) fn draw(&self, c: &mut Canvas<'_, '_, '_>, top: f32) {
        c.fill_rect(LEFT, top, TEXT_W, BAND_H, grey::HEADER_FILL);
        c.stroke_rect(LEFT, top, TEXT_W, self.height, 0.8, grey::INK);
        c.text_fit(
            LEFT + PAD,
            top + 5.0,
            size::ADDRESS,
            &self.heading,
            TEXT_W - 2.0 * PAD,
            Align::Left,
        );
        let mut y = top + BAND_H + 1.5;
        for line in &self.note {
            c.text(LEFT + PAD, y + 3.3, size::BODY, line, Align::Left);
            y += NOTE_LINE;
        }
        y += 1.5;
        if let Some((code, g)) = self.barcode {
            let x = LEFT + PAD;
            c.text_fit(
                x + g.quiet(),
                y + 3.0,
                size::SMALL,
                BARCODE_CAPTION,
                g.bars,
                Align::Left,
            );
            barcode::draw(c, code, g, x, y + CAPTION_H);
        }
        let x = LEFT + self.transfer_x;
        let right = RIGHT - PAD;
        let mut ty = y + self.transfer_dy;
        if !self.transfer.is_empty() {
            c.text_fit(
                x,
                ty + 3.0,
                size::BODY,
                TRANSFER_CAPTION,
                right - x,
                Align::Left,
            );
            ty += CAPTION_H;
        }
        for (label, line) in &self.transfer {
            if let Some(label) = label {
                c.text_fit(x, ty + 3.0, size::SMALL, label, LABEL_W - 1.0, Align::Left);
            }
            c.text_fit(
                x + LABEL_W,
                ty + 3.0,
                size::SMALL,
                line,
                right - x - LABEL_W,
                Align::Left,
            );
            ty += TRANSFER_LINE;
        }
    }
}
