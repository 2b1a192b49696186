//! Billing documents: the per-order invoice and the monthly statement as a
//! customer pays them and an accountant files them.
//!
//! - [`tax`]: consumption tax by rate (10 % standard, 8 % reduced) and the
//!   one rounding rule per document and rate;
//! - [`model`]: a document, fully resolved (every amount computed, every
//!   text chosen), the one input of both renderers;
//! - [`barcode`]: the convenience-store payment barcode (GS1-128, AI 91,
//!   44 digits) and its drawing;
//! - [`html`] and [`pdf`]: the two renderings of one layout.
//!
//! Nothing here reads the engine: the shell builds a [`model::Document`]
//! from the engine's views and hands it over, so a document can be
//! rendered anywhere (the HTTP threads, the `documents render` command).

#![deny(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

pub mod barcode;
pub mod html;
pub mod model;
pub mod pdf;
pub mod tax;

pub use model::Document;
