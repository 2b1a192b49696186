//! `atobarai-billing` owns the billing rules of both products as pure
//! functions and small serializable state types:
//!
//! - [`calendar`]: Japanese public holidays by the law's rules and the bank
//!   business-day calendar;
//! - [`schedule`]: due dates (per-order invoice, monthly statement per
//!   payment method) and the payment method in effect;
//! - [`late_fee`]: ¥100 on the 10th and 25th from the month after the first
//!   missed due date;
//! - [`damages`]: delay damages (遅延損害金) accrued daily, exactly;
//! - [`allocation`]: how a payment is applied to open items, and undone;
//! - [`points`]: the points wallet (FIFO lots, expiry, claw-back);
//! - [`dunning`]: dunning events after a due date, and payment plans;
//! - [`invoice`]: invoice numbers and the invoice/statement value type;
//! - [`overdue`]: a per-debt accrual state a daily tick advances;
//! - [`postings`]: the balanced ledger entries for each billing event.
//!
//! What it must not do: I/O, read a clock, draw randomness, or use floating
//! point anywhere near money. Every date comes from the caller. Billing posts
//! only balanced entries through `atobarai-ledger` (which refuses anything
//! else); it never edits balances directly. All state types are
//! `Serialize + Deserialize` and hold only `Vec`/`BTreeMap`, so their
//! serialization is deterministic.

#![deny(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
#![deny(unreachable_pub)]

pub mod allocation;
pub mod calendar;
pub mod damages;
pub mod dunning;
pub mod error;
pub mod invoice;
pub mod late_fee;
pub mod overdue;
pub mod points;
pub mod postings;
pub mod schedule;

pub use error::BillingError;
