//! PDF rendering (A4) of a [`crate::Document`] with the embedded Japanese font.
//!
//! The layout is the Japanese business one: the addressee in the window of
//! a 長形3号 envelope, the issuer top right, the title and the amount to
//! pay, the purchases table, the totals by rate, and the payment part at
//! the foot of the last page (the convenience-store barcode, the transfer
//! details). A long statement flows onto further pages, each with a short
//! header, the table header again and its page number.
//!
//! The font is IPAexGothic, shipped in `fonts/` and compiled in; krilla
//! embeds the subset of glyphs a document uses. Text is laid out here (the
//! glyphs of a Japanese line need no shaping: one glyph per character, at
//! its advance), so every width is measured and a text that would not fit
//! its column is cut with "…": nothing is ever drawn outside the page.
//!
//! The output is deterministic: no creation date, and the file identifiers
//! krilla writes are hashes of the content.
//!
//! - [`font`]: the font, measurement, truncation and wrapping;
//! - [`canvas`]: drawing in millimetres on a krilla surface;
//! - [`geometry`]: the page, its margins and the table's columns;
//! - [`format`]: dates and amounts as printed;
//! - [`rows`]: the table's rows, from the document;
//! - [`paginate`]: which rows go on which page;
//! - [`header`], [`table`], [`totals`], [`payment`], [`barcode`]: the
//!   parts of a page.

mod barcode;
mod canvas;
mod font;
mod format;
mod geometry;
mod header;
mod paginate;
mod payment;
mod rows;
mod table;
mod totals;

use crate::model::Document;
use canvas::Canvas;
use font::Face;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;

/// IPAexGothic, compiled in (see `fonts/README.md` for its licence).
static FONT_BYTES: &[u8] = include_bytes!("../fonts/ipaexg.ttf");

/// Renders documents to PDF. The font is parsed once, in [`PdfRenderer::new`];
/// a renderer is cheap to clone and can be used from many threads at once
/// (`render` takes `&self`).
#[derive(Clone)]
pub struct PdfRenderer {
    /// The font as krilla embeds it (reference-counted: a clone shares it).
    font: krilla::text::Font,
    /// The same bytes, as skrifa reads them for the layout.
    face: skrifa::FontRef<'static>,
}

impl std::fmt::Debug for PdfRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfRenderer").finish_non_exhaustive()
    }
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The embedded font could not be read (a build that shipped a broken
    /// font file).
    #[error("the embedded font could not be read: {0}")]
    Font(String),
    /// krilla refused to write the PDF.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

impl PdfRenderer {
    /// Load the embedded font once.
    pub fn new() -> Result<PdfRenderer, PdfError> {
        let face = skrifa::FontRef::new(FONT_BYTES).map_err(|e| PdfError::Font(e.to_string()))?;
        let font = krilla::text::Font::new(FONT_BYTES.into(), 0)
            .ok_or_else(|| PdfError::Font("krilla could not read the font".to_owned()))?;
        Ok(PdfRenderer { font, face })
    }

    /// One document, A4 portrait, one or more pages (a long statement flows
    /// onto further pages with the table header repeated and "n / N" page
    /// numbers), deterministic bytes for the same input.
    pub fn render(&self, doc: &Document) -> Result<Vec<u8>, PdfError> {
        let face = Face::new(&self.font, &self.face);
        let rows = rows::build(doc);
        let payment = payment::Block::measure(doc, &face);
        let plan = paginate::plan(&rows, totals::height(doc), payment.height);
        let count = plan.len();

        let mut pdf = krilla::Document::new();
        pdf.set_metadata(
            Metadata::new()
                .title(format!("{} {}", header::title(doc.kind), doc.number))
                .language("ja".to_owned()),
        );
        let size = PageSettings::from_wh(geometry::PAGE_W_PT, geometry::PAGE_H_PT)
            .ok_or_else(|| PdfError::Write("invalid page size".to_owned()))?;
        for (index, page_plan) in plan.iter().enumerate() {
            let mut page = pdf.start_page_with(size.clone());
            let mut surface = page.surface();
            let mut canvas = Canvas::new(&mut surface, &face);
            let mut y = if index == 0 {
                header::first_page(&mut canvas, doc)
            } else {
                header::continuation(&mut canvas, doc)
            };
            let on_page = rows.get(page_plan.rows.clone()).unwrap_or_default();
            if !on_page.is_empty() {
                y = table::header(&mut canvas, y);
                if let Some(heading) = page_plan.continued.and_then(|i| rows.get(i)) {
                    y = table::row(&mut canvas, heading, y, true);
                }
                for row in on_page {
                    y = table::row(&mut canvas, row, y, false);
                }
            }
            if page_plan.totals {
                totals::draw(&mut canvas, doc, y + geometry::GAP);
            }
            if page_plan.payment {
                payment.draw(&mut canvas, geometry::BODY_BOTTOM - payment.height);
            }
            header::page_number(&mut canvas, index.saturating_add(1), count);
            surface.finish();
            page.finish();
        }
        pdf.finish().map_err(|e| PdfError::Write(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renderer_is_shared_between_threads() {
        fn shared<T: Send + Sync + Clone>() {}
        shared::<PdfRenderer>();
    }

    #[test]
    fn the_font_loads_and_maps_japanese_and_the_yen_sign() {
        let r = PdfRenderer::new().unwrap();
        let face = Face::new(&r.font, &r.face);
        for c in "請求書ご利用明細¥0123456789※…〒様（）％%".chars() {
            assert!(face.has_glyph(c), "no glyph for {c:?}");
        }
    }
}
