//! Personal data in state: which customers' data is sealed (ciphertext the
//! shell produced, which the engine stores but cannot open) and which was
//! erased on request. Customers registered before sealing keep their clear
//! profile in `Customer::profile` until erased.
//!
//! The book is the state's last field (snapshot version 5 appended it; a
//! version-4 snapshot upgrades by appending an empty book).

use crate::command::{CustomerProfile, SealedPii};
use atobarai_core::{At, JstDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Sealed and erased personal data, by customer index. A customer absent
/// from the book has a clear profile (registered with `RegisterCustomer`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PiiBook {
    pub(crate) entries: BTreeMap<u32, PiiEntry>,
}

/// What the state holds of one customer's personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PiiEntry {
    /// Sealed by the shell; `Customer::profile` holds only the external id
    /// and the birth date.
    Sealed(SealedPii),
    /// Erased at this time: the ciphertext is gone from state and the
    /// profile holds only the external id.
    Erased { at: At },
}

/// A customer's personal data as the state holds it (operators only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonalData {
    /// Registered before sealing: the profile in clear.
    Clear(CustomerProfile),
    /// Sealed: the shell opens `pii` with the customer's data key.
    Sealed {
        /// The merchant's own id for the customer.
        external_id: String,
        /// Born on or before this day (the age rule's input, in clear; the
        /// exact date is in `pii`).
        born_by: JstDate,
        /// The sealed fields.
        pii: SealedPii,
    },
    /// Erased on request.
    Erased {
        /// The merchant's own id for the customer.
        external_id: String,
        /// When the erasure was applied.
        at: At,
    },
}

impl PersonalData {
    /// `clear`, `sealed` or `erased`.
    pub fn state(&self) -> &'static str {
        match self {
            PersonalData::Clear(_) => "clear",
            PersonalData::Sealed { .. } => "sealed",
            PersonalData::Erased { .. } => "erased",
        }
    }
}

/// The date an erased profile shows instead of the birth date (the record
/// of the registration still holds it: see ARCHITECTURE.md).
pub(crate) fn erased_birth_date() -> JstDate {
    // 1900-01-01 is a valid date; `new` cannot fail on it.
    JstDate::new(1900, 1, 1).unwrap_or_else(|_| unreachable!("1900-01-01 is a date"))
}
