//! Rendering one document to PDF: the sample invoice (one page) and the
//! sample statement (two pages), each a whole `PdfRenderer::render` —
//! layout, the font subset, compression. The renderer (the parsed font) is
//! made once, as the server makes it.

#[path = "../tests/common/mod.rs"]
mod common;

use atobarai_documents::pdf::PdfRenderer;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn render(c: &mut Criterion) {
    let renderer = PdfRenderer::new().expect("the font loads");
    let invoice = common::sample_invoice();
    let statement = common::sample_statement();
    for (name, doc) in [("invoice", &invoice), ("statement", &statement)] {
        let bytes = renderer.render(doc).expect("renders").len();
        println!("{name}: {bytes} bytes of PDF");
    }
    let mut group = c.benchmark_group("pdf");
    group.bench_function("invoice", |b| {
        b.iter(|| renderer.render(black_box(&invoice)).expect("renders"))
    });
    group.bench_function("statement", |b| {
        b.iter(|| renderer.render(black_box(&statement)).expect("renders"))
    });
    group.finish();
    let mut group = c.benchmark_group("html");
    group.bench_function("invoice", |b| {
        b.iter(|| atobarai_documents::html::render(black_box(&invoice)))
    });
    group.bench_function("statement", |b| {
        b.iter(|| atobarai_documents::html::render(black_box(&statement)))
    });
    group.finish();
    c.bench_function("pdf/renderer_new", |b| {
        b.iter(|| PdfRenderer::new().expect("the font loads"))
    });
    // The floor of any document: one A4 page with one glyph of the same
    // font, straight through krilla (the subset of a 6 MB font, the PDF's
    // structure), to tell the fixed cost from the layout's.
    let font = krilla::text::Font::new(FONT.into(), 0).expect("the font loads");
    c.bench_function("pdf/one_glyph_floor", |b| {
        b.iter(|| {
            let mut doc = krilla::Document::new();
            let settings = krilla::page::PageSettings::from_wh(595.2756, 841.8898).expect("A4");
            let mut page = doc.start_page_with(settings);
            let mut surface = page.surface();
            let glyph = krilla::text::KrillaGlyph::new(
                krilla::text::GlyphId::new(100),
                1.0,
                0.0,
                0.0,
                0.0,
                0..1,
                None,
            );
            surface.draw_glyphs(
                krilla::geom::Point::from_xy(50.0, 50.0),
                &[glyph],
                font.clone(),
                "a",
                10.0,
                false,
            );
            surface.finish();
            page.finish();
            doc.finish().expect("writes")
        })
    });
}

static FONT: &[u8] = include_bytes!("../fonts/ipaexg.ttf");

criterion_group!(benches, render);
criterion_main!(benches);
