//! Commands: everything that can change engine state. They are journaled
//! before their outcome leaves the process, so their encoding is a storage
//! format that must decode forever.
//!
//! # The format rule (see [`crate::format`])
//!
//! A journal record is `[marker][format version][command tag][envelope]
//! [body][trailers]`, and a command's *body* is its fields, in declaration
//! order, as one postcard tuple written out by hand in
//! `format::record` (not derived from this enum). Therefore:
//!
//! - **Never append, remove, reorder or retype a field of a variant in
//!   place** (nor of a type a variant carries: [`AuthorizeInput`],
//!   [`CustomerProfile`], [`Idem`], the rules, …). An appended field makes
//!   every older record fail to decode, and an authorization's trailer
//!   would be read as the new field. Changing a body is a **new format
//!   version**: bump `format::record::CURRENT`, add `decode_vN+1`, keep
//!   `decode_vN` decoding the old tuple (copy the old nested type into the
//!   format module, frozen, if it changed) and write
//!   `upgrade_vN_to_vN+1` that builds the current command from it
//!   (choosing the new field's value for old records explicitly). Commit a
//!   golden record of the new version; old golden files never change.
//! - **A new command** is a new variant with the next unused tag in
//!   [`Command::tag`]'s table; tags are never changed or reused. Records of
//!   older versions cannot contain it, so no version bump is needed, but
//!   older code will refuse such a record (unknown tag) rather than skip it.
//! - **A new trailer** (a fact about the outcome, like the decision) gets
//!   the next unused trailer tag in `format::record`; readers refuse
//!   unknown must-understand tags (`0x01..=0x7F`) and skip unknown optional
//!   ones (`0x80..=0xFF`).
//! - Variants of the enums carried in bodies ([`Role`], [`Principal`],
//!   [`ReviewVerdict`], the taxonomy) may only be appended (postcard
//!   encodes their position).
//!
//! Records written before versioning (legacy: the postcard of
//! [`Envelope`] as it was at the time, plus an optional `0xD1 d` decision
//! trailer) decode through a frozen copy of that enum and an explicit
//! upgrade (`format::legacy`).

use crate::identity::{IdentityKeys, SessionKeys};
use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use serde::{Deserialize, Serialize};

/// One journaled command with the time it happened and, for API requests,
/// the idempotency key it was sent with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub at: At,
    pub idem: Option<Idem>,
    pub command: Command,
}

/// An `Idempotency-Key` as the engine remembers it: scoped to the caller,
/// with a hash of the request so a reuse with another body is caught.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Idem {
    pub principal: Principal,
    pub key: String,
    pub request_hash: [u8; 16],
}

/// Who sent a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Principal {
    /// Index of the merchant.
    Merchant(u32),
    /// Index of the operator and their role.
    Operator(u32, Role),
    /// The command line on the operator's machine (merchant/operator add).
    System,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Analyst,
    /// A payment channel (convenience-store agency, bank, card acquirer):
    /// may record and reverse payments, nothing else. Appended last, so older
    /// journal records keep their encoding.
    Payments,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "payments" => Some(Role::Payments),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Payments => "payments",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Register a merchant whose API key is `key_id` + a secret; only the
    /// SHA-256 of the secret is kept.
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
        /// Keyed hashes of the normalized phone, e-mail, address and name,
        /// computed by the shell (the engine never holds the secret).
        identity: IdentityKeys,
    },
    Authorize {
        merchant: u32,
        input: AuthorizeInput,
        /// Keyed hashes of the device id and IP network, computed by the shell.
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
    /// Move the engine's clock forward (never backwards).
    AdvanceClock {
        to: At,
    },
    AddSuspension {
        input: SuspensionInput,
    },
    LiftSuspension {
        suspension: u64,
    },
    /// An operator's verdict on an order held for review.
    ResolveReview {
        order: u64,
        verdict: ReviewVerdict,
    },
    /// Use points as a discount on what the customer owes on the monthly
    /// product (1 point = ¥1). A use cannot be undone.
    RedeemPoints {
        principal: Principal,
        customer: u64,
        points: i64,
    },
    /// A payment returned by its channel (a failed bank debit, a
    /// charge-back): everything it paid becomes owed again.
    ReversePayment {
        principal: Principal,
        payment: u64,
        reason: String,
    },
    /// Take (`paid: true`) or cancel the paid tier.
    SetMembership {
        principal: Principal,
        customer: u64,
        paid: bool,
    },
    /// An operator agrees a payment plan splitting what the customer owes
    /// into monthly instalments.
    AgreePaymentPlan {
        principal: Principal,
        customer: u64,
        instalments: u32,
    },
    /// Subscribe an HTTPS endpoint to events. Its signing secret is derived
    /// by the shell from `key_nonce` and the shell's signing key.
    AddWebhookEndpoint {
        url: String,
        key_nonce: [u8; 16],
        events: Vec<crate::webhook::EventKind>,
    },
    RemoveWebhookEndpoint {
        endpoint: u64,
    },
    /// The dispatcher's report: endpoint `endpoint` has had every event up
    /// to `through` delivered, except `failed` (given up after every retry).
    WebhooksDelivered {
        endpoint: u64,
        through: u64,
        failed: Vec<u64>,
    },
    /// The outcome-deciding configuration from now on (journaled by the
    /// node at start-up whenever the configured rules differ from the
    /// journaled ones).
    SetRules {
        rules: Box<atobarai_core::config::Rules>,
    },
}

impl Command {
    /// The command's tag in journal records. The table is written once:
    /// a tag is never changed or reused, a new command takes the next
    /// unused number (0 is never a tag).
    ///
    /// | tag | command | tag | command |
    /// |----:|---|----:|---|
    /// | 1 | `AddMerchant` | 12 | `LiftSuspension` |
    /// | 2 | `AddOperator` | 13 | `ResolveReview` |
    /// | 3 | `RegisterCustomer` | 14 | `RedeemPoints` |
    /// | 4 | `Authorize` | 15 | `ReversePayment` |
    /// | 5 | `Capture` | 16 | `SetMembership` |
    /// | 6 | `Cancel` | 17 | `AgreePaymentPlan` |
    /// | 7 | `Refund` | 18 | `AddWebhookEndpoint` |
    /// | 8 | `RecordPayment` | 19 | `RemoveWebhookEndpoint` |
    /// | 9 | `SetPaymentMethod` | 20 | `WebhooksDelivered` |
    /// | 10 | `AdvanceClock` | 21 | `SetRules` |
    /// | 11 | `AddSuspension` | | |
    pub const fn tag(&self) -> u16 {
        use tag::*;
        match self {
            Command::AddMerchant { .. } => ADD_MERCHANT,
            Command::AddOperator { .. } => ADD_OPERATOR,
            Command::RegisterCustomer { .. } => REGISTER_CUSTOMER,
            Command::Authorize { .. } => AUTHORIZE,
            Command::Capture { .. } => CAPTURE,
            Command::Cancel { .. } => CANCEL,
            Command::Refund { .. } => REFUND,
            Command::RecordPayment { .. } => RECORD_PAYMENT,
            Command::SetPaymentMethod { .. } => SET_PAYMENT_METHOD,
            Command::AdvanceClock { .. } => ADVANCE_CLOCK,
            Command::AddSuspension { .. } => ADD_SUSPENSION,
            Command::LiftSuspension { .. } => LIFT_SUSPENSION,
            Command::ResolveReview { .. } => RESOLVE_REVIEW,
            Command::RedeemPoints { .. } => REDEEM_POINTS,
            Command::ReversePayment { .. } => REVERSE_PAYMENT,
            Command::SetMembership { .. } => SET_MEMBERSHIP,
            Command::AgreePaymentPlan { .. } => AGREE_PAYMENT_PLAN,
            Command::AddWebhookEndpoint { .. } => ADD_WEBHOOK_ENDPOINT,
            Command::RemoveWebhookEndpoint { .. } => REMOVE_WEBHOOK_ENDPOINT,
            Command::WebhooksDelivered { .. } => WEBHOOKS_DELIVERED,
            Command::SetRules { .. } => SET_RULES,
        }
    }

    /// A stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::AddMerchant { .. } => "add_merchant",
            Command::AddOperator { .. } => "add_operator",
            Command::RegisterCustomer { .. } => "register_customer",
            Command::Authorize { .. } => "authorize",
            Command::Capture { .. } => "capture",
            Command::Cancel { .. } => "cancel",
            Command::Refund { .. } => "refund",
            Command::RecordPayment { .. } => "record_payment",
            Command::SetPaymentMethod { .. } => "set_payment_method",
            Command::AdvanceClock { .. } => "advance_clock",
            Command::AddSuspension { .. } => "add_suspension",
            Command::LiftSuspension { .. } => "lift_suspension",
            Command::ResolveReview { .. } => "resolve_review",
            Command::RedeemPoints { .. } => "redeem_points",
            Command::ReversePayment { .. } => "reverse_payment",
            Command::SetMembership { .. } => "set_membership",
            Command::AgreePaymentPlan { .. } => "agree_payment_plan",
            Command::AddWebhookEndpoint { .. } => "add_webhook_endpoint",
            Command::RemoveWebhookEndpoint { .. } => "remove_webhook_endpoint",
            Command::WebhooksDelivered { .. } => "webhooks_delivered",
            Command::SetRules { .. } => "set_rules",
        }
    }
}

/// The command tags of [`Command::tag`] (frozen: see its table).
pub(crate) mod tag {
    pub const ADD_MERCHANT: u16 = 1;
    pub const ADD_OPERATOR: u16 = 2;
    pub const REGISTER_CUSTOMER: u16 = 3;
    pub const AUTHORIZE: u16 = 4;
    pub const CAPTURE: u16 = 5;
    pub const CANCEL: u16 = 6;
    pub const REFUND: u16 = 7;
    pub const RECORD_PAYMENT: u16 = 8;
    pub const SET_PAYMENT_METHOD: u16 = 9;
    pub const ADVANCE_CLOCK: u16 = 10;
    pub const ADD_SUSPENSION: u16 = 11;
    pub const LIFT_SUSPENSION: u16 = 12;
    pub const RESOLVE_REVIEW: u16 = 13;
    pub const REDEEM_POINTS: u16 = 14;
    pub const REVERSE_PAYMENT: u16 = 15;
    pub const SET_MEMBERSHIP: u16 = 16;
    pub const AGREE_PAYMENT_PLAN: u16 = 17;
    pub const ADD_WEBHOOK_ENDPOINT: u16 = 18;
    pub const REMOVE_WEBHOOK_ENDPOINT: u16 = 19;
    pub const WEBHOOKS_DELIVERED: u16 = 20;
    pub const SET_RULES: u16 = 21;
}

/// A customer's registration data, already validated by the shell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    pub external_id: String,
    pub name: String,
    pub name_kana: String,
    pub birth_date: JstDate,
    pub phone: String,
    pub email: String,
    pub postal_code: String,
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub category: Category,
    pub unit_price: Yen,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeInput {
    pub merchant_order_id: String,
    pub customer: u64,
    pub product: Product,
    pub channel: Channel,
    pub items: Vec<LineItem>,
    pub shipping_address: String,
    pub device_id: String,
    pub ip: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    pub customer: u64,
    pub amount: Yen,
    pub channel: String,
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionInput {
    pub category: Category,
    pub merchant: Option<u32>,
    pub channel: Option<Channel>,
    pub from: At,
    pub until: Option<At>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewVerdict {
    Approve,
    Decline,
}

impl Envelope {
    /// The journal record of this envelope in the current format, without
    /// trailers (what the node journals for its clock ticks).
    pub fn encode(&self) -> Vec<u8> {
        crate::format::record::encode(self, None)
    }

    /// The envelope of a journal record of any format version (legacy
    /// included); trailers are checked and dropped.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, crate::format::FormatError> {
        crate::format::record::decode(bytes).map(|r| r.envelope)
    }

    /// The journal record of an applied envelope: the envelope, then (for
    /// an authorization) the decision it produced as a trailer, so that a
    /// replay under other code can notice a changed decision instead of
    /// silently rewriting history.
    pub fn encode_record(&self, outcome: &crate::Outcome) -> Vec<u8> {
        let decision = match (&self.command, outcome) {
            (Command::Authorize { .. }, crate::Outcome::Order(o)) => Some(o.decision),
            _ => None,
        };
        crate::format::record::encode(self, decision)
    }

    /// Decode a journal record of any format version: the envelope
    /// (upgraded to the current commands) and the decision it recorded
    /// (`None` for records that carry none).
    pub fn decode_record(
        bytes: &[u8],
    ) -> Result<(Envelope, Option<crate::Decision>), crate::format::FormatError> {
        crate::format::record::decode(bytes).map(|r| (r.envelope, r.decision))
    }
}

impl Command {
    /// A 128-bit fingerprint of the command, used to tell an idempotent
    /// retry (same key, same request) from a reused key.
    ///
    /// Kept as SHA-256 of the postcard of the in-memory command, not of a
    /// journal body: it is stored with the key in state and compared with
    /// a retry's within 24 hours, so it must not change when only the
    /// record format does. It changes exactly when a command's shape
    /// changes (a new format version for that command); a retry straddling
    /// such an upgrade is then answered 409 rather than replayed.
    pub fn fingerprint(&self) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(postcard::to_stdvec(self).expect("commands serialize"));
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}
