//! # atobarai-rules: the risk rule language
//!
//! A rules file is TOML: a `[set]` header and `[[rule]]` entries, each with a
//! condition (`when`) written in a small typed expression language over named
//! *features*. The crate knows nothing of the engine: the caller hands it a
//! [`Schema`] (feature name → [`Type`]) and, at decision time, a
//! [`Features`] source (a slice of [`Value`] indexed by [`FeatureId`] works).
//!
//! * [`check_file`] parses and checks a file, collecting **every** error with
//!   its line and column in the file ([`RuleError`]), and compiles it to a
//!   [`RuleSet`].
//! * [`RuleSet::evaluate`] runs every rule (live and shadow) and combines the
//!   live actions by the documented precedence (see [`Outcome`]).
//! * [`run_cases`] runs a cases file (expected outcome and reasons for given
//!   feature values) against a rule set.
//!
//! ## Expression language
//!
//! Types: `int` (i64), `bool`, `str`.
//!
//! * literals: `42`, `5_000`, `true`, `false`, `"in_store"` (no escapes),
//!   durations `90s`, `90m`, `36h`, `14d` (integers in seconds);
//! * feature names: identifiers with dots, `cart.liquid_share_bp`;
//! * operators, loosest first: `||`, `&&`, `== != < <= > >=` and `in [..]`
//!   (not chainable), `+ -`, `* / %`, unary `! -`; parentheses;
//! * `x in [1, 2]` / `s in ["a", "b"]` (literal lists of ≤ 64 items);
//! * functions `min(a, b)`, `max(a, b)`, `abs(a)` on integers.
//!
//! Integer arithmetic **saturates** at `i64::MIN`/`i64::MAX`; division and
//! remainder by zero yield `0`. `&&` and `||` short-circuit. `<`-style
//! comparisons and arithmetic take integers only; `==`/`!=` take two operands
//! of the same type. Evaluation never panics and never allocates.
//!
//! Limits (checked at load): expression ≤ 4 KiB, nesting depth ≤ 32,
//! ≤ 500 rules per set, list literal ≤ 64 items.
#![deny(missing_docs, unreachable_pub)]
#![deny(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod cases;
mod error;
mod expr;
mod file;
mod schema;

pub use cases::{CaseResult, CasesReport, run_cases};
pub use error::RuleError;
pub use file::{
    Action, Evaluation, Mode, Outcome, Rule, RuleIndex, RuleSet, StoredRuleSet, check_file,
};
pub use schema::{FeatureId, Features, Schema, Type, Value};

/// Longest `when` expression, in bytes.
pub const MAX_EXPR_LEN: usize = 4096;
/// Deepest nesting of parentheses, unary operators and function calls.
pub const MAX_DEPTH: usize = 32;
/// Most rules in one set.
pub const MAX_RULES: usize = 500;
/// Most items in one list literal.
pub const MAX_LIST: usize = 64;
