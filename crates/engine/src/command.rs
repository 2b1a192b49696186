//! Commands: everything that can change engine state. They are journaled
//! (postcard-encoded) before their outcome leaves the process, so their shape
//! is a storage format: add variants and fields at the end, never reorder.

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
    /// The journal encoding (postcard): compact, and stable as long as the
    /// command types only grow at their ends.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("commands serialize")
    }

    pub fn decode(bytes: &[u8]) -> Result<Envelope, postcard::Error> {
        postcard::from_bytes(bytes)
    }

    /// The journal record of an applied envelope: the envelope, then (for
    /// an authorization) the decision it produced, so that a replay under
    /// other code can notice a changed decision instead of silently
    /// rewriting history. Records written before the trailer existed are
    /// just the envelope.
    pub fn encode_record(&self, outcome: &crate::Outcome) -> Vec<u8> {
        let mut bytes = self.encode();
        if let (Command::Authorize { .. }, crate::Outcome::Order(o)) = (&self.command, outcome) {
            bytes.extend_from_slice(&[RECORD_TRAILER_DECISION, decision_byte(o.decision)]);
        }
        bytes
    }

    /// Decode a journal record: the envelope and the decision it recorded.
    pub fn decode_record(
        bytes: &[u8],
    ) -> Result<(Envelope, Option<crate::Decision>), postcard::Error> {
        let (env, rest): (Envelope, &[u8]) = postcard::take_from_bytes(bytes)?;
        let decision = match rest {
            [] => None,
            [RECORD_TRAILER_DECISION, d] => Some(match d {
                0 => crate::Decision::Approve,
                1 => crate::Decision::Decline,
                2 => crate::Decision::Review,
                _ => return Err(postcard::Error::DeserializeBadEnum),
            }),
            _ => return Err(postcard::Error::DeserializeBadEncoding),
        };
        Ok((env, decision))
    }
}

const RECORD_TRAILER_DECISION: u8 = 0xD1;

fn decision_byte(d: crate::Decision) -> u8 {
    match d {
        crate::Decision::Approve => 0,
        crate::Decision::Decline => 1,
        crate::Decision::Review => 2,
    }
}

impl Command {
    /// A 128-bit fingerprint of the command, used to tell an idempotent
    /// retry (same key, same request) from a reused key.
    pub fn fingerprint(&self) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(postcard::to_stdvec(self).expect("commands serialize"));
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}
