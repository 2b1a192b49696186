//! `atobarai-core` owns the vocabulary every other crate speaks: money
//! ([`Yen`]), engine time ([`At`], [`JstDate`]), public identifiers, the
//! product / channel / category taxonomy with its liquidity classes, and the
//! typed configuration whose defaults come from `DOMAIN.md`.
//!
//! Architecture invariant: this crate depends on nothing else in the
//! workspace, does no I/O and never reads the clock.

pub mod config;
pub mod documents;
pub mod html;
pub mod ids;
pub mod lifecycle;
pub mod money;
pub mod products;
pub mod taxonomy;
pub mod time;

pub use config::Config;
pub use money::{CheckedSum, MoneyError, Yen};
pub use taxonomy::{Category, Channel, LiquidityClass, PaymentMethod, Product};
pub use time::{At, JstDate};
