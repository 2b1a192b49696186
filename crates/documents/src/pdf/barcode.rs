//! The convenience-store barcode on the page: each bar a filled black
//! rectangle at exact millimetre coordinates, a quiet zone of at least ten
//! modules and 2.54 mm on each side (nothing else is drawn there), the
//! human-readable digits under it on two lines, as the SVG drawing has
//! them (see [`crate::barcode`] for the sizes: 1/150 inch modules keep the
//! symbol within a counter scanner's 60 mm window).

use super::canvas::{Align, Canvas};
use super::geometry::{grey, size};
use crate::barcode::{
    ConvenienceCode, DEFAULT_BAR_HEIGHT_MM, DEFAULT_MODULE_MM, QUIET_ZONE_MM, QUIET_ZONE_MODULES,
};

/// The bars' height.
pub(super) const BAR_H: f32 = DEFAULT_BAR_HEIGHT_MM;
/// From the bars' bottom to the first line of digits' baseline.
const DIGITS_BELOW: f32 = 3.0;
/// Between the two lines of digits.
const DIGITS_LINE: f32 = 3.0;
/// The height of the barcode with its digits.
pub(super) const HEIGHT: f32 = BAR_H + DIGITS_BELOW + DIGITS_LINE + 1.0;

/// Where a barcode goes: its module and widths.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Geometry {
    /// One module, in mm.
    pub(super) module: f32,
    /// The bars' width, in mm.
    pub(super) bars: f32,
}

impl Geometry {
    /// The geometry of `code` at the default module width, narrowed if
    /// need be so that the code and its quiet zones fit in `max` mm.
    pub(super) fn of(code: &ConvenienceCode, max: f32) -> Geometry {
        let modules = code.width_modules() as f32;
        let full = modules + 2.0 * QUIET_ZONE_MODULES as f32;
        let module = DEFAULT_MODULE_MM.min(max / full).max(0.0);
        Geometry {
            module,
            bars: modules * module,
        }
    }

    /// One quiet zone's width, in mm.
    pub(super) fn quiet(&self) -> f32 {
        (QUIET_ZONE_MODULES as f32 * self.module).max(QUIET_ZONE_MM)
    }

    /// The width with both quiet zones, in mm.
    pub(super) fn total(&self) -> f32 {
        self.bars + 2.0 * self.quiet()
    }
}

/// `code` with its quiet zone's left edge at `x` and its bars' top at `y`;
/// the digits centred under the bars.
pub(super) fn draw(
    c: &mut Canvas<'_, '_, '_>,
    code: &ConvenienceCode,
    g: Geometry,
    x: f32,
    y: f32,
) {
    let start = x + g.quiet();
    let mut at: u32 = 0;
    let mut rects = Vec::new();
    for (i, &run) in code.bars().iter().enumerate() {
        if i.is_multiple_of(2) {
            let left = start + at as f32 * g.module;
            rects.push((left, y, f32::from(run) * g.module, BAR_H));
        }
        at = at.saturating_add(u32::from(run));
    }
    c.fill_rects(rects, grey::INK);
    // The digits at most 7.5 pt, smaller if need be to stay within the
    // bars' width (never cut: a cashier may have to key them in).
    let lines = code.human_readable_lines();
    let widest = lines
        .iter()
        .map(|l| c.face().width(l, size::DIGITS))
        .fold(0.0_f32, f32::max);
    let digits = if widest > g.bars && widest > 0.0 {
        size::DIGITS * g.bars / widest
    } else {
        size::DIGITS
    };
    let mut base = y + BAR_H + DIGITS_BELOW;
    for line in &lines {
        c.text_fit(
            start + g.bars / 2.0,
            base,
            digits,
            line,
            g.total(),
            Align::Center,
        );
        base += DIGITS_LINE;
    }
}
