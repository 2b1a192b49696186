//! Drawing the symbol as a standalone SVG at true size.
//!
//! # Sizes
//!
//! The symbol is 288 modules wide (25 characters of 11 modules and the
//! 13-module stop). A counter scanner's window is 60 mm, and the symbol
//! must fit it **with** its quiet zones: a quiet zone is at least
//! 10 modules (Code 128) and at least 2.54 mm ([`QUIET_ZONE_MM`]) each
//! side. So the module is at most `(60 − 2 × 2.54) / 288 ≈ 0.1907 mm`
//! ([`MAX_MODULE_MM`]); the usual 0.254–0.33 mm of other symbols would
//! make the bars alone 73–95 mm, too wide for the window.
//!
//! A bar printed on a raster device is a whole number of dots, and a
//! module that is not a whole number of dots makes bars of uneven
//! width. [`DEFAULT_MODULE_MM`] is 1/150 inch ≈ 0.1693 mm: 4 dots at
//! 600 dpi, 2 at 300 dpi, 8 at 1200 dpi. The bars are then 48.8 mm and
//! the symbol with its quiet zones 53.9 mm, inside the window with room
//! for the printer's tolerance. (3 dots at 400 dpi, 0.1905 mm, also fits:
//! 59.9 mm.) The bars are at least 10 mm high ([`MIN_BAR_HEIGHT_MM`]).
//!
//! # The drawing
//!
//! The `<svg>` element has its `width` and `height` in millimetres and a
//! `viewBox` in millimetres, so it prints at true size wherever it is
//! placed. It holds a white background (the quiet zones must be light
//! even on a tinted form), one black `<rect>` per bar with
//! `shape-rendering="crispEdges"` (no anti-aliased bar edges), and the
//! human-readable text on two centred lines below the bars
//! ([`ConvenienceCode::human_readable_lines`]), in a monospace font sized
//! so that the longer line stays within the bars' width.

use super::ConvenienceCode;
use std::fmt::Write as _;

/// The default module width: 1/150 inch ≈ 0.1693 mm (a whole number of
/// dots at 300, 600 and 1200 dpi; see the module docs).
pub const DEFAULT_MODULE_MM: f32 = 25.4 / 150.0;
/// The widest module that keeps the symbol and its quiet zones within
/// the 60 mm scanner window: `(60 − 2 × 2.54) / 288`.
pub const MAX_MODULE_MM: f32 = (MAX_SYMBOL_WIDTH_MM - 2.0 * QUIET_ZONE_MM) / 288.0;
/// The widest symbol, quiet zones included.
pub const MAX_SYMBOL_WIDTH_MM: f32 = 60.0;
/// The least quiet zone each side, in millimetres.
pub const QUIET_ZONE_MM: f32 = 2.54;
/// The least quiet zone each side, in modules (Code 128).
pub const QUIET_ZONE_MODULES: u32 = 10;
/// The lowest bar height.
pub const MIN_BAR_HEIGHT_MM: f32 = 10.0;
/// A default bar height, above the minimum.
pub const DEFAULT_BAR_HEIGHT_MM: f32 = 12.0;

/// Monospace advance width as a fraction of the font size.
const ADVANCE_EM: f64 = 0.6;
/// The largest text size (≈ 7.4 pt).
const MAX_FONT_MM: f64 = 2.6;
/// Space between the bars and the first text line.
const TEXT_GAP_MM: f64 = 0.8;

impl ConvenienceCode {
    /// A standalone inline `<svg>` element: the bars (one `<rect>` per
    /// bar, crisp edges, a quiet zone of at least 10 modules and 2.54 mm
    /// each side) and the human-readable text below, at true size.
    ///
    /// `module_mm` is the width of one module in millimetres
    /// ([`DEFAULT_MODULE_MM`]; at most [`MAX_MODULE_MM`] to fit a 60 mm
    /// scanner window), `bar_height_mm` the height of the bars
    /// ([`DEFAULT_BAR_HEIGHT_MM`], at least [`MIN_BAR_HEIGHT_MM`]). A value
    /// that is not a positive finite number is replaced by the default;
    /// other values are drawn as given.
    pub fn svg(&self, module_mm: f32, bar_height_mm: f32) -> String {
        let module = f64::from(positive_or(module_mm, DEFAULT_MODULE_MM));
        let bar_height = f64::from(positive_or(bar_height_mm, DEFAULT_BAR_HEIGHT_MM));
        let quiet = (f64::from(QUIET_ZONE_MODULES) * module).max(f64::from(QUIET_ZONE_MM));
        let bars_width = f64::from(self.width_modules()) * module;
        let width = bars_width + 2.0 * quiet;

        let lines = self.human_readable_lines();
        let longest = lines
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1)
            .max(1);
        let longest = f64::from(u32::try_from(longest).unwrap_or(u32::MAX));
        let font = (bars_width / (longest * ADVANCE_EM)).min(MAX_FONT_MM);
        let line_height = font * 1.2;
        let first_baseline = bar_height + TEXT_GAP_MM + font;
        let height = bar_height + TEXT_GAP_MM + 2.0 * line_height;

        let mut out = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" "#,
                r#"viewBox="0 0 {w} {h}" shape-rendering="crispEdges" role="img" "#,
                r#"aria-label="GS1-128 {text}">"#,
                r##"<rect width="{w}" height="{h}" fill="#fff"/><g fill="#000">"##
            ),
            w = mm(width),
            h = mm(height),
            text = self.human_readable(),
        );
        let mut at: u32 = 0;
        for (i, run) in self.bars().iter().enumerate() {
            if i.is_multiple_of(2) {
                let _ = write!(
                    out,
                    r#"<rect x="{x}" y="0" width="{w}" height="{h}"/>"#,
                    x = mm(quiet + f64::from(at) * module),
                    w = mm(f64::from(*run) * module),
                    h = mm(bar_height),
                );
            }
            at = at.saturating_add(u32::from(*run));
        }
        out.push_str("</g>");
        for (i, line) in lines.iter().enumerate() {
            let baseline = first_baseline + if i == 0 { 0.0 } else { line_height };
            let _ = write!(
                out,
                concat!(
                    r#"<text x="{x}" y="{y}" font-family="monospace" font-size="{s}" "#,
                    r##"text-anchor="middle" fill="#000">{line}</text>"##
                ),
                x = mm(width / 2.0),
                y = mm(baseline),
                s = mm(font),
                line = line,
            );
        }
        out.push_str("</svg>");
        out
    }
}

/// `value` if it is a positive finite number, else `default`.
fn positive_or(value: f32, default: f32) -> f32 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        default
    }
}

/// A length in millimetres for the SVG: at most 4 decimals (0.1 µm),
/// trailing zeros dropped.
fn mm(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::barcode::{ConvenienceLayout, SlipData};
    use atobarai_core::{JstDate, Yen};

    fn code() -> ConvenienceCode {
        let layout = ConvenienceLayout::new("912345");
        let data = SlipData {
            reference: "20260001234".into(),
            reissue: 0,
            due: JstDate::new(2026, 12, 10).unwrap(),
            amount: Yen::new(12_000),
        };
        ConvenienceCode::new(&layout, &data).unwrap()
    }

    /// Numbers of an attribute in the drawing, in order.
    fn attr(svg: &str, name: &str) -> Vec<f64> {
        svg.split(&format!(" {name}=\""))
            .skip(1)
            .map(|rest| {
                rest.split('"')
                    .next()
                    .unwrap()
                    .trim_end_matches("mm")
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn the_default_size_fits_the_60_mm_window() {
        let modules = f64::from(code().width_modules());
        assert_eq!(modules, 288.0);
        let module = f64::from(DEFAULT_MODULE_MM);
        assert!((module - 0.169_333).abs() < 1e-6);
        let total = modules * module + 2.0 * f64::from(QUIET_ZONE_MM);
        assert!((total - 53.85).abs() < 0.01, "{total}");
        // The widest module fits exactly; 0.254 mm would not.
        let widest = modules * f64::from(MAX_MODULE_MM) + 2.0 * f64::from(QUIET_ZONE_MM);
        assert!((widest - 60.0).abs() < 1e-3, "{widest}");
        assert!(
            modules * 0.254 > 60.0,
            "the bars alone are 73 mm at 0.254 mm"
        );
        // The quiet zone in millimetres is more than 10 modules here.
        assert!(10.0 * module < f64::from(QUIET_ZONE_MM));
    }

    #[test]
    fn one_rect_per_bar_at_true_size() {
        let code = code();
        let svg = code.svg(DEFAULT_MODULE_MM, DEFAULT_BAR_HEIGHT_MM);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        let bars = code.bars();
        let widths = attr(&svg, "width");
        let xs = attr(&svg, "x");
        // The svg's width, the background's, then one per bar.
        assert_eq!(widths.len(), 2 + bars.len().div_ceil(2));
        let module = f64::from(DEFAULT_MODULE_MM);
        let quiet = f64::from(QUIET_ZONE_MM);
        assert!((widths[0] - (288.0 * module + 2.0 * quiet)).abs() < 1e-3);
        let mut at = 0u32;
        for (i, run) in bars.iter().enumerate() {
            if i % 2 == 0 {
                let k = i / 2;
                assert!((widths[2 + k] - f64::from(*run) * module).abs() < 1e-3);
                assert!((xs[k] - (quiet + f64::from(at) * module)).abs() < 1e-3);
            }
            at += u32::from(*run);
        }
        // The last bar ends where the right quiet zone starts.
        let last = bars.len().div_ceil(2) - 1;
        assert!((xs[last] + widths[2 + last] - (quiet + 288.0 * module)).abs() < 1e-3);
        // The two text lines, within the symbol.
        assert!(svg.contains(">(91)912345-202600012340000000000</text>"));
        assert!(svg.contains(">0-261210-0-012000-3</text>"));
    }

    #[test]
    fn a_wide_module_gets_a_10_module_quiet_zone() {
        let svg = code().svg(0.5, 15.0);
        let xs = attr(&svg, "x");
        assert!((xs[0] - 5.0).abs() < 1e-6, "{}", xs[0]);
        assert_eq!(attr(&svg, "height")[2], 15.0);
    }

    #[test]
    fn nonsense_sizes_fall_back_to_the_defaults() {
        let code = code();
        let default = code.svg(DEFAULT_MODULE_MM, DEFAULT_BAR_HEIGHT_MM);
        assert_eq!(code.svg(f32::NAN, -1.0), default);
        assert_eq!(code.svg(0.0, f32::INFINITY), default);
    }

    #[test]
    fn lengths_are_printed_briefly() {
        assert_eq!(mm(2.54), "2.54");
        assert_eq!(mm(10.0), "10");
        assert_eq!(mm(0.169_333_33), "0.1693");
        assert_eq!(mm(0.0), "0");
    }
}
