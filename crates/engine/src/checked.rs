//! Checked arithmetic helpers. Money and counts use checked operations
//! everywhere (`clippy::arithmetic_side_effects` is denied); where an
//! overflow is impossible by construction (amounts bounded by
//! [`atobarai_core::Yen::AMOUNT_MAX`], totals kept under limits, counts
//! bounded by dense `u32` ids) the error is turned into a panic naming the
//! invariant: continuing with a wrapped total would be far worse. Input that
//! could overflow is refused with a `CommandError` before this point.

use std::fmt::Debug;

/// Unwrap a checked result whose failure would break an invariant.
pub(crate) trait Bounded<T> {
    /// The value, or a panic naming `what` overflowed.
    fn bounded(self, what: &str) -> T;
}

impl<T, E: Debug> Bounded<T> for Result<T, E> {
    #[track_caller]
    fn bounded(self, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("invariant broken: {what} out of range ({e:?})"),
        }
    }
}

impl<T> Bounded<T> for Option<T> {
    #[track_caller]
    fn bounded(self, what: &str) -> T {
        match self {
            Some(v) => v,
            None => panic!("invariant broken: {what} out of range"),
        }
    }
}

/// A dense index (`Vec` position) as the `u32` id the engine stores.
#[track_caller]
pub(crate) fn id32(i: usize) -> u32 {
    u32::try_from(i).bounded("dense id")
}
