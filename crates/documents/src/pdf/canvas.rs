//! Drawing on a page in millimetres from the top-left corner: text on a
//! baseline (cut to a width when asked), filled and stroked rectangles,
//! rules.

use super::font::Face;
use super::geometry::{grey, mm_to_pt};
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;

/// How a text is placed relative to its `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Align {
    /// `x` is where the text starts.
    Left,
    /// `x` is where the text ends.
    Right,
    /// `x` is the text's middle.
    Center,
}

/// A page being drawn.
pub(super) struct Canvas<'c, 's, 'f> {
    surface: &'c mut Surface<'s>,
    face: &'c Face<'f>,
}

fn fill_of(grey: u8) -> Fill {
    Fill {
        paint: luma::Color::new(grey).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

impl<'c, 's, 'f> Canvas<'c, 's, 'f> {
    /// Draw on `surface` with `face`.
    pub(super) fn new(surface: &'c mut Surface<'s>, face: &'c Face<'f>) -> Self {
        Canvas { surface, face }
    }

    /// The font, to measure.
    pub(super) fn face(&self) -> &Face<'f> {
        self.face
    }

    /// `text` at `size` points on the baseline `y`, placed by `align`
    /// around `x`, in black.
    pub(super) fn text(&mut self, x: f32, y: f32, size: f32, text: &str, align: Align) {
        self.text_in(x, y, size, text, align, grey::INK);
    }

    /// `text` as [`Canvas::text`], cut with "…" to at most `max` mm.
    pub(super) fn text_fit(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        text: &str,
        max: f32,
        align: Align,
    ) {
        let fitted = self.face.truncate(text, size, max);
        self.text_in(x, y, size, &fitted, align, grey::INK);
    }

    /// `text` as [`Canvas::text_fit`], in a grey.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text_fit_grey(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        text: &str,
        max: f32,
        align: Align,
        grey: u8,
    ) {
        let fitted = self.face.truncate(text, size, max);
        self.text_in(x, y, size, &fitted, align, grey);
    }

    fn text_in(&mut self, x: f32, y: f32, size: f32, text: &str, align: Align, grey: u8) {
        if text.is_empty() {
            return;
        }
        let start = match align {
            Align::Left => x,
            Align::Right => x - self.face.width(text, size),
            Align::Center => x - self.face.width(text, size) / 2.0,
        };
        let glyphs = self.face.glyphs(text);
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(fill_of(grey)));
        self.surface.draw_glyphs(
            Point::from_xy(mm_to_pt(start), mm_to_pt(y)),
            &glyphs,
            self.face.pdf.clone(),
            text,
            size,
            false,
        );
    }

    /// Rectangles `(x, y, w, h)` filled in `grey`, as one path.
    pub(super) fn fill_rects(
        &mut self,
        rects: impl IntoIterator<Item = (f32, f32, f32, f32)>,
        grey: u8,
    ) {
        let mut path = PathBuilder::new();
        for (x, y, w, h) in rects {
            if let Some(r) = Rect::from_xywh(mm_to_pt(x), mm_to_pt(y), mm_to_pt(w), mm_to_pt(h)) {
                path.push_rect(r);
            }
        }
        if let Some(path) = path.finish() {
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(fill_of(grey)));
            self.surface.draw_path(&path);
        }
    }

    /// A rectangle filled in `grey`.
    pub(super) fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, grey: u8) {
        self.fill_rects([(x, y, w, h)], grey);
    }

    /// The outline of a rectangle, `width` points wide.
    pub(super) fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, grey: u8) {
        let mut path = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(mm_to_pt(x), mm_to_pt(y), mm_to_pt(w), mm_to_pt(h)) {
            path.push_rect(r);
        }
        self.stroke(path, width, grey);
    }

    /// A horizontal rule from `x1` to `x2` at `y`, `width` points wide.
    pub(super) fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32, grey: u8) {
        let mut path = PathBuilder::new();
        path.move_to(mm_to_pt(x1), mm_to_pt(y));
        path.line_to(mm_to_pt(x2), mm_to_pt(y));
        self.stroke(path, width, grey);
    }

    fn stroke(&mut self, path: PathBuilder, width: f32, grey: u8) {
        if let Some(path) = path.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: luma::Color::new(grey).into(),
                width,
                ..Stroke::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }
}
