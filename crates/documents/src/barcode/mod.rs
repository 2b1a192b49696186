//! The convenience-store payment barcode (コンビニ収納用バーコード): the
//! GS1-128 symbol of the GS1 Japan standard for agency collection of
//! payments at counters (「GS1-128による標準料金代理収納ガイドライン」).
//!
//! A slip carries one symbol of **44 digits** under the application
//! identifier `91`: who collects (the company code), the customer
//! reference, the re-issue count, the due date, the stamp flag, the
//! amount and a check digit. The counter reads the symbol, checks the due
//! date and the amount, takes the money and reports the 44 digits back to
//! the collecting agent, who matches the reference to the bill.
//!
//! - `payment`: the 44 digits, their fields and rules
//!   ([`ConvenienceCode::new`], [`ConvenienceCode::parse`]); see the
//!   table in `payment.rs`'s docs;
//! - `code128`: the symbol, Code 128 with FNC1 first (GS1-128): Start C,
//!   FNC1, 22 digit pairs, the symbol check character, Stop — 288 modules
//!   ([`ConvenienceCode::bars`]);
//! - `svg`: the drawing at true size ([`ConvenienceCode::svg`]), and the
//!   sizes that keep the symbol within a counter scanner's 60 mm window
//!   ([`DEFAULT_MODULE_MM`]).
//!
//! The PDF renderer draws the same [`ConvenienceCode::bars`] as filled
//! rectangles, so the two renderings carry the same symbol.
//!
//! ```
//! use atobarai_core::{JstDate, Yen};
//! use atobarai_documents::barcode::{ConvenienceCode, ConvenienceLayout, SlipData};
//!
//! let layout = ConvenienceLayout::new("912345");
//! let slip = SlipData {
//!     reference: "20260001234".to_string(),
//!     reissue: 0,
//!     due: JstDate::new(2026, 12, 10).unwrap(),
//!     amount: Yen::new(12_000),
//! };
//! let code = ConvenienceCode::new(&layout, &slip).unwrap();
//! assert_eq!(code.digits(), "91912345202600012340000000000026121000120003");
//! assert_eq!(code.human_readable(), "(91)912345-202600012340000000000-0-261210-0-012000-3");
//! assert_eq!(code.width_modules(), 288);
//! ```

mod code128;
mod payment;
mod svg;

pub use payment::{
    BarcodeError, ConvenienceCode, ConvenienceLayout, DEFAULT_MAX_AMOUNT, DEFAULT_STAMP_FROM,
    DIGITS, FIELD_MAX_AMOUNT, REFERENCE_DIGITS, SlipData, SlipFields,
};
pub use svg::{
    DEFAULT_BAR_HEIGHT_MM, DEFAULT_MODULE_MM, MAX_MODULE_MM, MAX_SYMBOL_WIDTH_MM,
    MIN_BAR_HEIGHT_MM, QUIET_ZONE_MM, QUIET_ZONE_MODULES,
};
