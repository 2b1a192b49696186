//! The drawn barcode decodes: the SVG of [`ConvenienceCode::svg`] is
//! rasterized (resvg) and read back with a maintained decoder (rxing, the
//! Rust port of ZXing). The decoder must find a GS1-128 symbol (FNC1 in
//! first position: symbology identifier `]C1`) holding exactly the 44
//! digits.

use atobarai_core::{JstDate, Yen};
use atobarai_documents::barcode::{
    ConvenienceCode, ConvenienceLayout, DEFAULT_BAR_HEIGHT_MM, DEFAULT_MODULE_MM, MAX_MODULE_MM,
    SlipData,
};
use proptest::prelude::*;
use resvg::{tiny_skia, usvg};
use rxing::common::GlobalHistogramBinarizer;
use rxing::oned::Code128Reader;
use rxing::{
    BinaryBitmap, DecodeHints, Luma8LuminanceSource, RXingResultMetadataType,
    RXingResultMetadataValue, Reader,
};

/// The SVG rasterized at `px_per_module` pixels per module, as 8-bit luma.
fn rasterize(svg: &str, module_mm: f32, px_per_module: f32) -> (Vec<u8>, u32, u32) {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).expect("the SVG parses");
    // usvg sizes the tree in CSS pixels (96 per inch); one module is
    // `module_mm / 25.4 × 96` of them.
    let module_px = module_mm / 25.4 * 96.0;
    let scale = px_per_module / module_px;
    let size = tree.size();
    let width = (size.width() * scale).ceil() as u32;
    let height = (size.height() * scale).ceil() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).expect("a non-empty pixmap");
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let luma = pixmap
        .pixels()
        .iter()
        .map(|p| {
            // Opaque (white background), so the premultiplied channels are
            // the colour itself.
            let (r, g, b) = (
                u32::from(p.red()),
                u32::from(p.green()),
                u32::from(p.blue()),
            );
            ((r * 299 + g * 587 + b * 114) / 1000) as u8
        })
        .collect();
    (luma, width, height)
}

/// The text rxing reads from the luma image, with its symbology identifier.
fn decode(luma: Vec<u8>, width: u32, height: u32) -> (String, String) {
    let source = Luma8LuminanceSource::new(luma, width, height).expect("dimensions match");
    let mut bitmap = BinaryBitmap::new(GlobalHistogramBinarizer::new(source));
    let hints = DecodeHints::default().with(rxing::DecodeHintValue::TryHarder(true));
    let result = Code128Reader
        .decode_with_hints(&mut bitmap, &hints)
        .expect("rxing decodes the symbol");
    let symbology = match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(id)) => id.clone(),
        other => panic!("no symbology identifier: {other:?}"),
    };
    (result.getText().to_string(), symbology)
}

/// The data digits of a decoded GS1-128 text: a reader may return the
/// leading FNC1 as the `]C1` prefix and any later FNC1 as GS (0x1D).
fn gs1_digits(text: &str) -> String {
    text.strip_prefix("]C1")
        .unwrap_or(text)
        .replace('\u{1d}', "")
}

fn check_decodes(code: &ConvenienceCode, module_mm: f32, px_per_module: f32) {
    let svg = code.svg(module_mm, DEFAULT_BAR_HEIGHT_MM);
    let (luma, width, height) = rasterize(&svg, module_mm, px_per_module);
    let (text, symbology) = decode(luma, width, height);
    assert_eq!(symbology, "]C1", "FNC1 in first position: GS1-128");
    assert_eq!(gs1_digits(&text), code.digits());
}

fn example() -> ConvenienceCode {
    let layout = ConvenienceLayout::new("912345");
    let slip = SlipData {
        reference: "20260001234".to_string(),
        reissue: 0,
        due: JstDate::new(2026, 12, 10).unwrap(),
        amount: Yen::new(12_000),
    };
    ConvenienceCode::new(&layout, &slip).unwrap()
}

#[test]
fn the_drawn_barcode_decodes_to_its_44_digits() {
    let code = example();
    assert_eq!(
        code.digits(),
        "91912345202600012340000000000026121000120003"
    );
    // Printed at 600 dpi: 4 pixels per module at the default size.
    check_decodes(&code, DEFAULT_MODULE_MM, 4.0);
    // Coarser, and off the pixel grid (anti-aliased edges).
    check_decodes(&code, DEFAULT_MODULE_MM, 2.0);
    check_decodes(&code, DEFAULT_MODULE_MM, 2.7);
    // The widest module that fits the scanner window.
    check_decodes(&code, MAX_MODULE_MM, 3.0);
}

#[test]
fn gs1_digits_accepts_both_fnc1_conventions() {
    assert_eq!(gs1_digits("]C19112"), "9112");
    assert_eq!(gs1_digits("9112"), "9112");
    assert_eq!(gs1_digits("]C191\u{1d}12"), "9112");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any barcode decodes back to its digits.
    #[test]
    fn any_drawn_barcode_decodes(
        company in "[0-9]{6}",
        reference in "[0-9]{21}",
        reissue in 0u8..=9,
        days in 0i32..36_000,
        amount in 1i64..=999_999,
    ) {
        let layout = ConvenienceLayout {
            company_code: company,
            stamp_from: Yen::new(50_000),
            max_amount: Yen::new(999_999),
        };
        let due = JstDate::new(2000, 1, 1).unwrap().plus_days(days).unwrap();
        let slip = SlipData { reference, reissue, due, amount: Yen::new(amount) };
        let code = ConvenienceCode::new(&layout, &slip).unwrap();
        check_decodes(&code, DEFAULT_MODULE_MM, 3.0);
    }
}
