//! Records written before versioning (main up to 0a1de24): the postcard of
//! the envelope, then optionally `0xD1 d`, the decision of an
//! authorization.
//!
//! The enum below is a frozen copy of `Command` as it was then: postcard
//! encodes a variant by its position and its fields in order, so this
//! copy, not the live enum, is what those bytes mean. **Never edit it**:
//! not a variant, not a field, not the order. `upgrade::legacy_to_v1`
//! turns it into the current command. The nested types (inputs, profile,
//! rules, …) are still the live ones where their shape has not changed
//! since; the authorization's input changed in record format version 2 and
//! is read through its frozen copy [`super::upgrade::AuthorizeInputV1`].
//! The day another one changes, freeze its old shape too (the golden files
//! under `tests/golden/legacy/` fail until you do).

use super::FormatError;
use super::upgrade::AuthorizeInputV1;
use crate::command::{
    CustomerProfile, Idem, PaymentInput, Principal, ReviewVerdict, Role, SuspensionInput,
};
use crate::identity::{IdentityKeys, SessionKeys};
use crate::state::Decision;
use atobarai_core::{At, PaymentMethod, Yen};
use serde::Deserialize;

/// The legacy decision trailer's first byte.
const TRAILER_DECISION: u8 = 0xD1;

#[derive(Debug, Deserialize)]
pub(crate) struct LegacyEnvelope {
    pub at: At,
    pub idem: Option<Idem>,
    pub command: LegacyCommand,
}

/// `Command` as of the last unversioned release. Frozen.
#[derive(Debug, Deserialize)]
pub(crate) enum LegacyCommand {
    AddMerchant {
        name: String,
        key_id: String,
        secret_sha256: [u8; 32],
    },
    AddOperator {
        name: String,
        role: Role,
        key_id: String,
        secret_sha256: [u8; 32],
    },
    RegisterCustomer {
        merchant: u32,
        profile: CustomerProfile,
        payment_method: PaymentMethod,
        identity: IdentityKeys,
    },
    Authorize {
        merchant: u32,
        input: AuthorizeInputV1,
        session: SessionKeys,
    },
    Capture {
        principal: Principal,
        order: u64,
        amount: Option<Yen>,
    },
    Cancel {
        principal: Principal,
        order: u64,
    },
    Refund {
        principal: Principal,
        order: u64,
        amount: Yen,
    },
    RecordPayment {
        principal: Principal,
        input: PaymentInput,
    },
    SetPaymentMethod {
        principal: Principal,
        customer: u64,
        payment_method: PaymentMethod,
    },
    AdvanceClock {
        to: At,
    },
    AddSuspension {
        input: SuspensionInput,
    },
    LiftSuspension {
        suspension: u64,
    },
    ResolveReview {
        order: u64,
        verdict: ReviewVerdict,
    },
    RedeemPoints {
        principal: Principal,
        customer: u64,
        points: i64,
    },
    ReversePayment {
        principal: Principal,
        payment: u64,
        reason: String,
    },
    SetMembership {
        principal: Principal,
        customer: u64,
        paid: bool,
    },
    AgreePaymentPlan {
        principal: Principal,
        customer: u64,
        instalments: u32,
    },
    AddWebhookEndpoint {
        url: String,
        key_nonce: [u8; 16],
        events: Vec<crate::webhook::EventKind>,
    },
    RemoveWebhookEndpoint {
        endpoint: u64,
    },
    WebhooksDelivered {
        endpoint: u64,
        through: u64,
        failed: Vec<u64>,
    },
    SetRules {
        rules: Box<LegacyRules>,
    },
}

/// `Rules` as journaled up to 0a1de24 (frozen: never edit). Since then
/// `billing` gained `overpayment_tolerance_yen` and
/// `merchants_record_payments`, and `hub_threshold` was added.
#[derive(Debug, Deserialize)]
pub(crate) struct LegacyRules {
    pub credit: atobarai_core::config::CreditConfig,
    pub billing: LegacyBillingConfig,
    pub limits: atobarai_core::config::LimitsConfig,
    pub dunning: atobarai_core::config::DunningConfig,
}

/// `BillingConfig` as journaled up to 0a1de24 (frozen: never edit).
#[derive(Debug, Deserialize)]
pub(crate) struct LegacyBillingConfig {
    pub per_order_due_days: i32,
    pub convenience_store_due_day: i8,
    pub paper_bill_due_day: i8,
    pub bank_debit_day: i8,
    pub convenience_store_fee_yen: Yen,
    pub paper_bill_fee_yen: Yen,
    pub bank_debit_fee_yen: Yen,
    pub late_fee_yen: Yen,
    pub late_fee_days: Vec<i8>,
    pub delay_damages_bp_per_year: i64,
    pub points_bp: i64,
    pub points_paid_tier_bp: i64,
    pub paid_tier_fee_yen: Yen,
    pub points_expiry_months: i8,
}

/// Decode a legacy record: the envelope, then nothing or `0xD1 d`.
pub(crate) fn decode(bytes: &[u8]) -> Result<(LegacyEnvelope, Option<Decision>), FormatError> {
    let (env, rest): (LegacyEnvelope, &[u8]) =
        postcard::take_from_bytes(bytes).map_err(FormatError::Legacy)?;
    let decision = match rest {
        [] => None,
        [TRAILER_DECISION, d] => {
            Some(super::record::decision_of(*d).ok_or(FormatError::LegacyTrailer)?)
        }
        _ => return Err(FormatError::LegacyTrailer),
    };
    Ok((env, decision))
}
