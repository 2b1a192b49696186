//! The PDF rendering, end to end: the file's structure, a rasterized
//! golden page per kind of document, the barcode decoded from the raster,
//! and a long statement flowing over pages.
//!
//! The golden pages are PNGs under `tests/golden/`, rasterized with hayro
//! at 150 dpi. When a deliberate layout change makes them differ, run
//! `UPDATE_GOLDEN=1 cargo test -p atobarai-documents --test pdf` to write
//! them again, and look at them before committing.

mod common;

use atobarai_documents::Document;
use atobarai_documents::pdf::PdfRenderer;
use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::hayro_cmap::BfString;
use hayro::hayro_interpret::hayro_syntax::Pdf;
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, SoftMask, interpret_page,
};
use hayro::kurbo::{Affine, BezPath, Rect};
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The raster's resolution.
const DPI: f32 = 150.0;
/// A pixel differs when its grey differs by more than this.
const PIXEL_THRESHOLD: u8 = 64;
/// The golden page matches when at most this share of pixels differ.
const MAX_DIFFERING: f64 = 0.005;

fn renderer() -> &'static PdfRenderer {
    static R: OnceLock<PdfRenderer> = OnceLock::new();
    R.get_or_init(|| PdfRenderer::new().expect("the font loads"))
}

fn render(doc: &Document) -> Vec<u8> {
    renderer().render(doc).expect("the document renders")
}

/// With `PDF_DUMP=DIR`, write `name.pdf` and every page as `name-N.png`
/// to DIR, to look at them.
fn dump(name: &str, pdf: &[u8]) {
    let Some(dir) = std::env::var_os("PDF_DUMP").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("the dump directory");
    std::fs::write(dir.join(format!("{name}.pdf")), pdf).expect("write the PDF");
    let pages = Pdf::new(pdf.to_vec())
        .expect("hayro reads the PDF")
        .pages()
        .len();
    for i in 0..pages {
        let path = dir.join(format!("{name}-{}.png", i + 1));
        write_png(&path, &rasterize(pdf, i, DPI));
    }
    eprintln!(
        "PDF_DUMP: wrote {name}.pdf and {pages} pages to {}",
        dir.display()
    );
}

/// A page rasterized in grey (0 black, 255 white).
struct Grey {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// Page `index` of `pdf` at `dpi`, in grey.
fn rasterize(pdf: &[u8], index: usize, dpi: f32) -> Grey {
    let pdf = Pdf::new(pdf.to_vec()).expect("hayro reads the PDF");
    let page = &pdf.pages()[index];
    let scale = dpi / 72.0;
    let pixmap = hayro::render(
        page,
        &RenderCache::new(),
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    let pixels = pixmap
        .data()
        .iter()
        .map(|p| {
            let l = (u32::from(p.r) * 299 + u32::from(p.g) * 587 + u32::from(p.b) * 114) / 1000;
            u8::try_from(l).unwrap_or(u8::MAX)
        })
        .collect();
    Grey {
        width: u32::from(pixmap.width()),
        height: u32::from(pixmap.height()),
        pixels,
    }
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.png"))
}

fn write_png(path: &PathBuf, g: &Grey) {
    let file = std::fs::File::create(path).expect("create the golden PNG");
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), g.width, g.height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut w = enc.write_header().expect("PNG header");
    w.write_image_data(&g.pixels).expect("PNG data");
}

fn read_png(path: &PathBuf) -> Grey {
    let file = std::fs::File::open(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to write it)",
            path.display()
        )
    });
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(
        info.color_type,
        png::ColorType::Grayscale,
        "a grey golden page"
    );
    buf.truncate(info.buffer_size());
    Grey {
        width: info.width,
        height: info.height,
        pixels: buf,
    }
}

/// Compare page 1 of `pdf` with the golden `name`, or write it when
/// `UPDATE_GOLDEN` is set.
fn check_golden(name: &str, pdf: &[u8]) {
    let page = rasterize(pdf, 0, DPI);
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0") {
        write_png(&path, &page);
        eprintln!("UPDATE_GOLDEN: wrote {}", path.display());
        return;
    }
    let golden = read_png(&path);
    assert_eq!(
        (page.width, page.height),
        (golden.width, golden.height),
        "{name}: the page's raster size changed"
    );
    let differing = page
        .pixels
        .iter()
        .zip(&golden.pixels)
        .filter(|(a, b)| a.abs_diff(**b) > PIXEL_THRESHOLD)
        .count();
    let share = differing as f64 / page.pixels.len() as f64;
    if share > MAX_DIFFERING {
        let actual = std::env::temp_dir().join(format!("{name}.actual.png"));
        write_png(&actual, &page);
        panic!(
            "{name}: {differing} pixels ({:.3} %) differ from {} (actual page written to {}); \
             if the change is deliberate, run with UPDATE_GOLDEN=1",
            share * 100.0,
            path.display(),
            actual.display()
        );
    }
}

/// A device that keeps the text drawn on a page (through the fonts'
/// ToUnicode maps), in drawing order.
#[derive(Default)]
struct TextDevice {
    text: String,
}

impl<'a> Device<'a> for TextDevice {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, _: DrawProps<'a>, _: &DrawMode) {
        for g in run.glyphs() {
            match g.as_unicode() {
                Some(BfString::Char(c)) => self.text.push(c),
                Some(BfString::String(s)) => self.text.push_str(&s),
                None => self.text.push('\u{fffd}'),
            }
        }
        self.text.push('\n');
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}

/// The text of every page.
fn page_texts(pdf: &[u8]) -> Vec<String> {
    let pdf = Pdf::new(pdf.to_vec()).expect("hayro reads the PDF");
    let cache = InterpreterCache::new();
    pdf.pages()
        .iter()
        .map(|page| {
            let mut device = TextDevice::default();
            let mut ctx = Context::new(
                Affine::IDENTITY,
                Rect::new(0.0, 0.0, 1000.0, 1000.0),
                &cache,
                page.xref(),
                InterpreterSettings::default(),
            );
            interpret_page(page, &mut ctx, &mut device);
            device.text
        })
        .collect()
}

/// Decode the Code 128 symbol of page `index` rasterized at `dpi`: the
/// whole page first, then the payment part's lower left (where the
/// barcode is drawn) on its own.
fn decode_barcode(pdf: &[u8], index: usize, dpi: f32) -> Option<String> {
    let g = rasterize(pdf, index, dpi);
    let whole = rxing::helpers::detect_in_luma(
        g.pixels.clone(),
        g.width,
        g.height,
        Some(rxing::BarcodeFormat::CODE_128),
    );
    if let Ok(r) = whole {
        eprintln!("the barcode decoded from the whole page at {dpi} dpi");
        return Some(r.getText().to_owned());
    }
    eprintln!("the whole page did not decode at {dpi} dpi: trying the payment part");
    // The lower third, left half of the page.
    let (x0, y0) = (0, g.height * 2 / 3);
    let (w, h) = (g.width / 2, g.height - y0);
    let mut crop = Vec::with_capacity((w * h) as usize);
    for y in y0..y0 + h {
        let row = (y * g.width) as usize;
        crop.extend_from_slice(&g.pixels[row + x0..row + x0 + w as usize]);
    }
    rxing::helpers::detect_in_luma(crop, w, h, Some(rxing::BarcodeFormat::CODE_128))
        .ok()
        .map(|r| r.getText().to_owned())
}

/// The digits of a GS1-128 text as rxing reports it (FNC1 as GS, or
/// the AI in parentheses): digits only.
fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[test]
fn pdf_is_a4_embeds_a_font_subset_and_is_deterministic() {
    for doc in [common::sample_invoice(), common::sample_statement()] {
        let pdf = render(&doc);
        assert!(pdf.starts_with(b"%PDF-"), "{:?}", &pdf[..8]);
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(
            has(b"/FontFile2") || has(b"/FontFile3"),
            "no embedded font program"
        );
        assert!(!has(b"/CreationDate"), "no creation date");
        // A subset, not the 6 MB font.
        assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
        let parsed = Pdf::new(pdf.clone()).expect("hayro reads the PDF");
        for page in parsed.pages().iter() {
            let mb = page.media_box();
            assert!((mb.x1 - mb.x0 - 595.28).abs() <= 0.5, "width {mb:?}");
            assert!((mb.y1 - mb.y0 - 841.89).abs() <= 0.5, "height {mb:?}");
        }
        assert_eq!(render(&doc), pdf, "two renders are byte-equal");
    }
}

#[test]
fn pdf_carries_the_documents_text() {
    let doc = common::sample_invoice();
    let text = page_texts(&render(&doc)).concat();
    for needle in [
        "請求書",
        "〒530-0001",
        "山田 花子 様",
        "登録番号 T1234567890123",
        "ご請求金額",
        &doc.to_pay.to_string(),
        "10%対象",
        "8%対象",
        "うち消費税",
        "不課税",
        "今回お支払額",
        "※は軽減税率(8%)対象品目です。",
        "一部取消",
        "CN-2026-000123",
        "…",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} not in the PDF's text:\n{text}"
        );
    }
}

#[test]
fn pdf_page_one_matches_the_golden_raster() {
    let invoice = render(&common::sample_invoice());
    let statement = render(&common::sample_statement());
    dump("invoice", &invoice);
    dump("statement", &statement);
    check_golden("invoice", &invoice);
    check_golden("statement", &statement);
}

#[test]
fn pdf_barcode_decodes_from_the_rasterized_page() {
    let doc = common::sample_invoice();
    let pdf = render(&doc);
    let pages = Pdf::new(pdf.clone()).unwrap().pages().len();
    let expected = doc
        .payment
        .convenience
        .as_ref()
        .expect("a barcode")
        .digits()
        .to_owned();
    let text = decode_barcode(&pdf, pages - 1, DPI).expect("the barcode decodes");
    assert_eq!(digits_of(&text), expected, "decoded {text:?}");
}

#[test]
fn pdf_long_statement_flows_onto_pages_with_their_header_and_number() {
    let mut doc = common::sample_statement();
    let base = doc.purchases.clone();
    doc.purchases = (0..60)
        .map(|i| {
            let mut p = base[i % base.len()].clone();
            // Same length as a real order id: the last two characters
            // replaced by the purchase's number.
            let stem = &p.order[..p.order.len() - 2];
            p.order = format!("{stem}{i:02}");
            p
        })
        .collect();
    let pdf = render(&doc);
    dump("long-statement", &pdf);
    let texts = page_texts(&pdf);
    let n = texts.len();
    assert!(n >= 4, "60 purchases on {n} pages");
    for (i, text) in texts.iter().enumerate() {
        let number = format!("{} / {n}", i + 1);
        assert!(text.contains(&number), "page {}: no {number:?}", i + 1);
        assert!(
            text.contains(&doc.number),
            "page {}: no document number",
            i + 1
        );
        if i > 0 {
            assert!(
                text.contains("ご利用明細兼請求書（続き）"),
                "page {}: no header",
                i + 1
            );
        }
        if i + 1 < n {
            assert!(
                text.contains("ご利用日・ご利用先／品名"),
                "page {}: no table header",
                i + 1
            );
        }
    }
    // Every purchase is on some page; one that goes over a page break
    // has its heading repeated on the next page, marked as continued.
    let all = texts.concat();
    for p in &doc.purchases {
        let seen = all.matches(&p.order).count();
        assert!((1..=2).contains(&seen), "{} seen {seen} times", p.order);
    }
    let repeated = texts[1..]
        .iter()
        .filter(|t| {
            doc.purchases
                .iter()
                .any(|p| t.contains(&format!("{}日（続き）", p.date.day())))
        })
        .count();
    assert!(repeated >= 1, "no heading repeated on a continuation page");
    // The totals and the payment part come once, at the end.
    assert_eq!(all.matches("今回お支払額").count(), 1);
    assert!(texts[n - 1].contains("今回お支払額"));
}

#[test]
fn pdf_hostile_text_stays_inside_the_margins() {
    use atobarai_core::Yen;
    use atobarai_documents::tax::{RateTotal, TaxRate};
    let long = "長い名前".repeat(200);
    let mut doc = common::sample_invoice();
    doc.number = "N".repeat(300);
    doc.customer = "cus_".repeat(100);
    doc.month = Some("not a month".to_owned());
    doc.issuer.name = long.clone();
    doc.issuer.address = format!("{long}\n{long}");
    doc.issuer.phone = "0".repeat(200);
    doc.addressee.postal_code = None;
    doc.addressee.address_lines = vec![long.clone(); 12];
    doc.addressee.name = format!("{long}😀\u{7}\u{202e}");
    for p in &mut doc.purchases {
        p.merchant = long.clone();
        p.merchant_order_id = "W".repeat(300);
        p.order = "ord_".repeat(100);
        for l in &mut p.lines {
            l.name = format!("{long}\n\t😀");
            l.quantity = i64::MAX;
            l.unit_price = Yen::new(i64::MIN);
            l.amount = Yen::new(i64::MAX);
        }
        for a in &mut p.adjustments {
            a.label_ja = long.clone();
            a.amount = Yen::new(i64::MIN);
        }
    }
    for c in &mut doc.charges {
        c.label_ja = String::new();
        c.amount = Yen::new(i64::MIN);
    }
    doc.by_rate = (1..=99)
        .map(|r| RateTotal {
            rate: TaxRate::new(r).unwrap(),
            total: Yen::new(i64::MAX),
            tax: Yen::new(i64::MIN),
        })
        .collect();
    doc.to_pay = Yen::new(i64::MAX);
    doc.paid = Yen::new(i64::MIN);
    doc.payment.method_ja = long.clone();
    doc.payment.note_ja = format!("{long}\n\n\n{long}");
    if let Some(t) = &mut doc.payment.transfer {
        t.bank_account = long.clone();
        t.post_office_account = "A B C D ".repeat(80);
        t.reference = long.clone();
    }
    let pdf = render(&doc);
    dump("hostile", &pdf);
    let pages = Pdf::new(pdf.clone()).unwrap().pages().len();
    // 12 mm all around every page stays blank (the margins are 15 mm).
    let border = (12.0 / 25.4 * 100.0) as u32;
    for i in 0..pages {
        let g = rasterize(&pdf, i, 100.0);
        for y in 0..g.height {
            for x in 0..g.width {
                let inside =
                    x >= border && x < g.width - border && y >= border && y < g.height - border;
                let p = g.pixels[(y * g.width + x) as usize];
                assert!(inside || p > 250, "page {}: ink at ({x}, {y}) px", i + 1);
            }
        }
    }
    // Nothing to pay: no barcode, no transfer; still renders.
    let mut doc = common::sample_statement();
    doc.to_pay = Yen::ZERO;
    doc.payment.convenience = None;
    doc.payment.transfer = None;
    doc.purchases.clear();
    doc.charges.clear();
    doc.credit_notes.clear();
    let pdf = render(&doc);
    assert!(pdf.starts_with(b"%PDF-"));
}
