//! The one error type at this crate's boundary. A refused request is always
//! one of these values; nothing in this crate panics on input.

use atobarai_core::MoneyError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error("date out of range")]
    DateOutOfRange,
    #[error("invalid month {year}-{month}")]
    InvalidMonth { year: i16, month: i8 },
    #[error("amount overflows")]
    Overflow,
    #[error("amount must be positive")]
    NotPositive,
    #[error("an interval's end is before its start")]
    BackwardsInterval,
    #[error("too many items: {got} > {max}")]
    TooMany { got: usize, max: usize },
    #[error("instalment count must be between 1 and {max}, got {got}")]
    InstalmentCount { got: u32, max: u32 },
    #[error("invalid day of month {0}")]
    InvalidDay(i8),
    #[error("unknown open item {0}")]
    UnknownItem(u64),
    #[error("allocation does not match the open items")]
    AllocationMismatch,
    #[error("reversal needs ¥{needed} of credit balance but only ¥{available} is left")]
    ReversalExceedsCredit { needed: i64, available: i64 },
    #[error("not enough points: {requested} requested, {available} usable")]
    InsufficientPoints { requested: i64, available: i64 },
    #[error("configuration: {0}")]
    Config(&'static str),
    #[error("no business day within the search window")]
    NoBusinessDay,
}

impl From<MoneyError> for BillingError {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::NotPositive => BillingError::NotPositive,
            MoneyError::Overflow | MoneyError::DivisionByZero => BillingError::Overflow,
        }
    }
}

impl From<atobarai_core::time::TimeError> for BillingError {
    fn from(_: atobarai_core::time::TimeError) -> Self {
        BillingError::DateOutOfRange
    }
}
