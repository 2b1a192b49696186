//! Points as their own unit. One point is worth ¥1 when spent as a discount,
//! but a point is not a yen: keeping a separate type stops a points amount
//! from being posted to a yen account by mistake.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A signed number of points.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Points(i64);

impl Points {
    /// No points.
    pub const ZERO: Points = Points(0);

    /// Any signed number of points.
    pub const fn new(points: i64) -> Points {
        Points(points)
    }

    /// The number of points as a plain `i64`.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }

    /// `self − other`, or `None` on overflow.
    pub fn checked_sub(self, other: Points) -> Option<Points> {
        self.0.checked_sub(other.0).map(Points)
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Points) -> Points {
        Points(self.0.min(other.0))
    }

    /// Strictly more than zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Strictly less than zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pt", self.0)
    }
}
