//! The font as the layout uses it: one glyph per character at its
//! advance, widths in millimetres, truncation with "…" and wrapping.

use super::geometry::pt_to_mm;
use krilla::text::{GlyphId, KrillaGlyph};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};
use std::borrow::Cow;

/// The ellipsis that ends a cut text.
const ELLIPSIS: char = '…';

/// The font of one rendering: krilla's handle (what the PDF embeds) and
/// skrifa's tables (what the layout measures).
pub(super) struct Face<'f> {
    /// krilla's font.
    pub(super) pdf: &'f krilla::text::Font,
    charmap: Charmap<'f>,
    metrics: GlyphMetrics<'f>,
    /// Units per em, to normalise advances.
    units_per_em: f32,
}

impl<'f> Face<'f> {
    /// The tables of `font` (cheap: no table is copied).
    pub(super) fn new(pdf: &'f krilla::text::Font, font: &FontRef<'f>) -> Face<'f> {
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Face {
            pdf,
            charmap: font.charmap(),
            metrics,
            units_per_em: units_per_em.max(1.0),
        }
    }

    /// Whether the font has a glyph for `c`.
    #[cfg(test)]
    pub(super) fn has_glyph(&self, c: char) -> bool {
        self.charmap.map(c).is_some()
    }

    /// The glyph of `c` (`.notdef` when the font has none) and its advance
    /// in em.
    fn glyph(&self, c: char) -> (skrifa::GlyphId, f32) {
        let id = self.charmap.map(c).unwrap_or(skrifa::GlyphId::NOTDEF);
        let advance = self.metrics.advance_width(id).unwrap_or(0.0) / self.units_per_em;
        (id, advance)
    }

    /// The width of `text` at `size` points, in millimetres.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        let em: f32 = text.chars().map(|c| self.glyph(c).1).sum();
        pt_to_mm(em * size)
    }

    /// The glyphs of `text`, positioned one after the other (advances in
    /// em, as krilla wants them), each mapped back to its character.
    pub(super) fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, c)| {
                let (id, advance) = self.glyph(c);
                let end = at.saturating_add(c.len_utf8());
                KrillaGlyph::new(
                    GlyphId::new(id.to_u32()),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    at..end,
                    None,
                )
            })
            .collect()
    }

    /// `text` if it fits in `max` millimetres at `size` points, else its
    /// longest beginning that fits with "…" after it.
    pub(super) fn truncate<'t>(&self, text: &'t str, size: f32, max: f32) -> Cow<'t, str> {
        if self.width(text, size) <= max {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(self.cut_with_ellipsis(text, size, max))
        }
    }

    /// The longest beginning of `text` that fits in `max` millimetres at
    /// `size` points with "…" after it, and the "…" (nothing when not even
    /// the ellipsis fits).
    fn cut_with_ellipsis(&self, text: &str, size: f32, max: f32) -> String {
        let room = max - pt_to_mm(self.glyph(ELLIPSIS).1 * size);
        if room < 0.0 {
            return String::new();
        }
        let mut used = 0.0;
        let mut cut = String::new();
        for c in text.chars() {
            let w = pt_to_mm(self.glyph(c).1 * size);
            if used + w > room {
                break;
            }
            used += w;
            cut.push(c);
        }
        cut.push(ELLIPSIS);
        cut
    }

    /// `text` broken into lines of at most `max` millimetres at `size`
    /// points (a break anywhere between characters, as Japanese text
    /// breaks; before a short Latin word when one would be split), at most
    /// `max_lines` lines, the last one ending with "…" when text is left
    /// over. A newline in `text` starts a new line.
    pub(super) fn wrap(&self, text: &str, size: f32, max: f32, max_lines: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut overflow = false;
        'paragraphs: for paragraph in text.split('\n') {
            if lines.len() >= max_lines {
                overflow = true;
                break;
            }
            let mut line = String::new();
            let mut used = 0.0;
            for c in paragraph.chars().filter(|c| !c.is_control()) {
                let w = pt_to_mm(self.glyph(c).1 * size);
                if used + w > max && !line.is_empty() {
                    if lines.len().saturating_add(1) >= max_lines {
                        lines.push(line);
                        overflow = true;
                        break 'paragraphs;
                    }
                    let (kept, carried) = break_at_space(&line);
                    lines.push(kept);
                    line = carried;
                    used = self.width(&line, size);
                    if c == ' ' && line.is_empty() {
                        continue;
                    }
                }
                line.push(c);
                used += w;
            }
            lines.push(line);
        }
        if overflow && let Some(last) = lines.last_mut() {
            *last = self.cut_with_ellipsis(last, size, max);
        }
        lines
    }
}

/// A full line split at its last space when the part after it is a short
/// Latin word (so "Bank of Tokyo" does not break inside "Tokyo"); else the
/// line as it is.
fn break_at_space(line: &str) -> (String, String) {
    if let Some(at) = line.rfind(' ') {
        let (head, tail) = line.split_at(at);
        let tail = tail.trim_start_matches(' ');
        let latin_word = !tail.is_empty() && tail.len() <= 16 && tail.is_ascii();
        if latin_word && !head.trim().is_empty() {
            return (head.trim_end().to_owned(), tail.to_owned());
        }
    }
    (line.to_owned(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::PdfRenderer;

    fn with_face(f: impl FnOnce(&Face<'_>)) {
        let r = PdfRenderer::new().unwrap();
        let face = Face::new(&r.font, &r.face);
        f(&face);
    }

    #[test]
    fn a_long_name_is_cut_to_the_width_with_an_ellipsis() {
        with_face(|face| {
            let name = "国産コシヒカリ 新米 5kg × 2袋セット（精米日より1ヶ月以内発送）特別栽培米";
            let cut = face.truncate(name, 9.0, 40.0);
            assert!(cut.ends_with('…'), "{cut}");
            assert!(face.width(&cut, 9.0) <= 40.0);
            assert_eq!(face.truncate("短い", 9.0, 40.0), "短い");
            // No room at all: nothing, not even the ellipsis.
            assert_eq!(face.truncate("長い名前", 9.0, 0.5), "");
        });
    }

    #[test]
    fn full_width_characters_are_one_em_wide() {
        with_face(|face| {
            // 10 pt = 3.5278 mm per full-width character.
            let w = face.width("請求書", 10.0);
            assert!((w - 3.0 * 3.5278).abs() < 0.01, "{w}");
        });
    }

    #[test]
    fn wrapping_keeps_every_line_within_the_width_and_the_line_count() {
        with_face(|face| {
            let text = "お支払期限までに、お近くのコンビニエンスストアでこのバーコードをご提示のうえお支払いください。\n銀行振込の場合は振込手数料をご負担ください。";
            let lines = face.wrap(text, 9.0, 60.0, 3);
            assert_eq!(lines.len(), 3);
            for l in &lines {
                assert!(face.width(l, 9.0) <= 60.0, "{l}");
            }
            assert!(lines[2].ends_with('…'));
            let all = face.wrap(text, 9.0, 170.0, 5);
            assert_eq!(all.len(), 2);
            assert!(all[0].starts_with("お支払期限"));
            assert!(all[1].starts_with("銀行振込"));
        });
    }
}
