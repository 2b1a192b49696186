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
    /// When the command happened (it is the engine's clock for this command).
    pub at: At,
    /// The idempotency key the API request carried (`None` for commands without one).
    pub idem: Option<Idem>,
    /// What to do.
    pub command: Command,
}

/// An `Idempotency-Key` as the engine remembers it: scoped to the caller,
/// with a hash of the request so a reuse with another body is caught.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Idem {
    /// Who sent the request; keys are scoped to the caller.
    pub principal: Principal,
    /// The `Idempotency-Key` header as sent.
    pub key: String,
    /// A 128-bit hash of the request, to catch a key reused with another body.
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

/// An operator's role: what its key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// May read and change everything an operator can.
    Admin,
    /// Read-only access.
    Analyst,
    /// A payment channel (convenience-store agency, bank, card acquirer):
    /// may record and reverse payments, nothing else. Appended last, so older
    /// journal records keep their encoding.
    Payments,
}

impl Role {
    /// The role named `s` as in configuration and the command line (`admin`, `analyst`, `payments`).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "payments" => Some(Role::Payments),
            _ => None,
        }
    }

    /// The role's name as written in configuration and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Payments => "payments",
        }
    }
}

/// Everything that can change engine state, as journaled (see the module docs for the format rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Register a merchant whose API key is `key_id` + a secret; only the
    /// SHA-256 of the secret is kept.
    AddMerchant {
        /// The merchant's display name.
        name: String,
        /// The public part of the merchant's API key.
        key_id: String,
        /// SHA-256 of the API key's secret.
        secret_sha256: [u8; 32],
    },
    /// Register an operator whose key is `key_id` + a secret; only the SHA-256 of the secret is kept.
    AddOperator {
        /// The operator's name.
        name: String,
        /// What the operator may do.
        role: Role,
        /// The public part of the operator's key.
        key_id: String,
        /// SHA-256 of the key's secret.
        secret_sha256: [u8; 32],
    },
    /// Register a customer of a merchant.
    RegisterCustomer {
        /// Index of the merchant registering the customer.
        merchant: u32,
        /// The customer's registration data.
        profile: CustomerProfile,
        /// How the customer pays its invoices.
        payment_method: PaymentMethod,
        /// Keyed hashes of the normalized phone, e-mail, address and name,
        /// computed by the shell (the engine never holds the secret).
        identity: IdentityKeys,
    },
    /// Ask for credit for an order: the engine approves, declines or holds it for review.
    Authorize {
        /// Index of the merchant asking.
        merchant: u32,
        /// The order to decide on.
        input: AuthorizeInput,
        /// Keyed hashes of the device id and IP network, computed by the shell.
        session: SessionKeys,
    },
    /// Capture an authorized order (the goods shipped), in full or in part.
    Capture {
        /// Who sent the command.
        principal: Principal,
        /// Index of the order.
        order: u64,
        /// Integer yen to capture; `None` captures the whole authorized amount.
        amount: Option<Yen>,
    },
    /// Cancel an authorized order before capture, releasing its credit.
    Cancel {
        /// Who sent the command.
        principal: Principal,
        /// Index of the order.
        order: u64,
    },
    /// Refund part or all of a captured order.
    Refund {
        /// Who sent the command.
        principal: Principal,
        /// Index of the order.
        order: u64,
        /// Integer yen to refund.
        amount: Yen,
    },
    /// A payment received from a customer by a payment channel.
    RecordPayment {
        /// Who sent the command.
        principal: Principal,
        /// The payment.
        input: PaymentInput,
    },
    /// Change how a customer pays its invoices.
    SetPaymentMethod {
        /// Who sent the command.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// The new payment method.
        payment_method: PaymentMethod,
    },
    /// Move the engine's clock forward (never backwards).
    AdvanceClock {
        /// The new time; never earlier than the engine's clock.
        to: At,
    },
    /// Suspend credit for a category (optionally for one merchant or channel) over a period.
    AddSuspension {
        /// The suspension.
        input: SuspensionInput,
    },
    /// End a category suspension.
    LiftSuspension {
        /// Index of the suspension.
        suspension: u64,
    },
    /// An operator's verdict on an order held for review.
    ResolveReview {
        /// Index of the order held for review.
        order: u64,
        /// Approve or decline it.
        verdict: ReviewVerdict,
    },
    /// Use points as a discount on what the customer owes on the monthly
    /// product (1 point = ¥1). A use cannot be undone.
    RedeemPoints {
        /// Who sent the command.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// Points to use (1 point = ¥1).
        points: i64,
    },
    /// A payment returned by its channel (a failed bank debit, a
    /// charge-back): everything it paid becomes owed again.
    ReversePayment {
        /// Who sent the command (the payment channel, or an operator).
        principal: Principal,
        /// Index of the payment.
        payment: u64,
        /// The channel's reason for the return, free text for operators.
        reason: String,
    },
    /// Take (`paid: true`) or cancel the paid tier.
    SetMembership {
        /// Who sent the command.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// `true` takes the paid tier, `false` cancels it.
        paid: bool,
    },
    /// An operator agrees a payment plan splitting what the customer owes
    /// into monthly instalments.
    AgreePaymentPlan {
        /// The operator agreeing the plan.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// Number of monthly instalments.
        instalments: u32,
    },
    /// Subscribe an HTTPS endpoint to events. Its signing secret is derived
    /// by the shell from `key_nonce` and the shell's signing key.
    AddWebhookEndpoint {
        /// The HTTPS URL events are posted to.
        url: String,
        /// Random nonce the shell derives the endpoint's signing secret from.
        key_nonce: [u8; 16],
        /// The event kinds delivered to the endpoint.
        events: Vec<crate::webhook::EventKind>,
    },
    /// Unsubscribe a webhook endpoint.
    RemoveWebhookEndpoint {
        /// Index of the endpoint.
        endpoint: u64,
    },
    /// The dispatcher's report: endpoint `endpoint` has had every event up
    /// to `through` delivered, except `failed` (given up after every retry).
    WebhooksDelivered {
        /// Index of the endpoint.
        endpoint: u64,
        /// The highest event index delivered (or given up on).
        through: u64,
        /// Event indexes given up on after every retry.
        failed: Vec<u64>,
    },
    /// The outcome-deciding configuration from now on (journaled by the
    /// node at start-up whenever the configured rules differ from the
    /// journaled ones).
    SetRules {
        /// The rules in force from this command on.
        rules: Box<atobarai_core::config::Rules>,
    },
    /// The risk rule set from this command on: the rules file's text
    /// (compiled by the engine; a text that does not compile is refused).
    SetRiskRules {
        /// The rules file, as written.
        source: String,
        /// Who put it in force (an operator's name, `config` at start-up).
        author: String,
    },
    /// A credit scorecard from this command on: the model file's text
    /// (checked by the engine; a file that fails its checksum or schema, or
    /// whose attributes are not risk features, is refused). A live model's
    /// score is the feature `model.score`; a shadow model is scored and
    /// recorded only.
    SetModel {
        /// The model file, as written (`atobarai model train`).
        source: String,
        /// Scored and recorded, never read by the rules.
        shadow: bool,
        /// Who loaded it.
        author: String,
    },
    /// Register a customer whose personal data arrives sealed: the shell
    /// encrypted it under the customer's own data key before building the
    /// command, so the journal, the state and snapshots hold ciphertext
    /// only. Only what the engine reads is in clear: the merchant's id for
    /// the customer and the date of birth (the age rule, on replay too).
    RegisterSealedCustomer {
        /// Index of the merchant registering the customer.
        merchant: u32,
        /// The engine-visible part of the registration and the sealed rest.
        profile: SealedProfile,
        /// How the customer pays its invoices.
        payment_method: PaymentMethod,
        /// Keyed hashes of the normalized phone, e-mail, address and name,
        /// computed by the shell from the clear data before sealing.
        identity: IdentityKeys,
    },
    /// Erase a customer's personal data on request: the shell has shredded
    /// the customer's data key (sealed data becomes unreadable forever);
    /// the engine marks the customer erased and drops any clear profile
    /// from state. Money, orders, the ledger and identity keys are untouched.
    EraseCustomerPii {
        /// Who asked (an operator, or the command line).
        principal: Principal,
        /// Index of the customer.
        customer: u64,
    },
    /// Register a merchant that operates a gift-card program (an issuer):
    /// capturing its orders' `gift_card` lines issues codes. Otherwise as
    /// [`Command::AddMerchant`].
    AddIssuerMerchant {
        /// The merchant's display name.
        name: String,
        /// The public part of the merchant's API key.
        key_id: String,
        /// SHA-256 of the API key's secret.
        secret_sha256: [u8; 32],
    },
    /// Capture an issuer's order holding gift cards, issuing one code per
    /// card. The shell drew the codes at random and passes only their keyed
    /// hashes (HMAC under `gift_cards.code_secret`), in the order of the
    /// order's gift-card units (line by line, unit by unit).
    CaptureGiftCards {
        /// Who sent the command.
        principal: Principal,
        /// Index of the order.
        order: u64,
        /// Integer yen to capture; `None` (or the whole amount) only.
        amount: Option<Yen>,
        /// Keyed hashes of the new codes, one per gift-card unit.
        codes: Vec<[u8; 32]>,
    },
    /// Redeem a gift card into a wallet (the code as its keyed hash).
    RedeemGiftCard {
        /// Who redeems (the issuer's key).
        principal: Principal,
        /// Keyed hash of the code presented.
        code: [u8; 32],
        /// The wallet credited (the issuer's own id for it).
        wallet: String,
    },
    /// Revoke gift cards with a reason: an unredeemed card stops working, a
    /// redeemed one is taken back from its wallet (below zero if need be).
    RevokeGiftCards {
        /// The operator revoking.
        principal: Principal,
        /// Which cards.
        target: RevocationTarget,
        /// Why.
        reason: RevocationReason,
    },
    /// A wallet holder appeals the revocation of a card taken back from
    /// the wallet, with evidence.
    AppealGiftCard {
        /// Who filed it (the issuer's key, or an operator).
        principal: Principal,
        /// The wallet the card was taken back from.
        wallet: String,
        /// Index of the gift card.
        card: u64,
        /// The holder's evidence: a receipt, an order number, an account.
        evidence: String,
    },
    /// An operator's decision on an appeal: reinstate the card (its amount
    /// comes back to the wallet) or refuse.
    DecideGiftCardAppeal {
        /// The operator deciding.
        principal: Principal,
        /// Index of the appeal.
        appeal: u64,
        /// `true` reinstates, `false` refuses.
        reinstate: bool,
        /// The operator's note.
        note: String,
    },
    /// The issuer records a purchase paid from a wallet's balance.
    SpendWallet {
        /// Who spends (the issuer's key).
        principal: Principal,
        /// The wallet.
        wallet: String,
        /// Integer yen taken from the balance (at most the balance).
        amount: Yen,
        /// The issuer's reference for the purchase.
        reference: String,
    },
    /// The lifecycle rules and the product catalog from this command on
    /// (journaled by the node at start-up whenever the configured terms
    /// differ from the journaled ones).
    SetTerms {
        /// The terms in force from this command on.
        terms: Box<atobarai_core::lifecycle::Terms>,
    },
    /// Sign a customer up: a registration (clear or sealed) with the
    /// sign-up facts the lifecycle rules read: the SMS verification of the
    /// phone, a parental consent, the device and network it came from.
    SignUp {
        /// Index of the merchant (the provider's sign-up app) registering.
        merchant: u32,
        /// The registration data.
        registration: Registration,
        /// How the customer pays its invoices.
        payment_method: PaymentMethod,
        /// Keyed hashes of the normalized phone, e-mail, address and name.
        identity: IdentityKeys,
        /// Verification, consent and session.
        signup: SignUpFacts,
    },
    /// The eKYC vendor's verdict on a customer's identity documents (the
    /// shell compared the document with the registration).
    RecordEkyc {
        /// The integration (operator key) or vendor that posted it.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// The verdict.
        result: EkycResult,
    },
    /// Issue a one-time in-store payment code to a customer. The shell drew
    /// the code at random and passes its keyed hash only.
    IssuePaymentCode {
        /// Who asked (the customer's channel: an operator or the provider app).
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// Keyed hash of the code.
        code: [u8; 32],
        /// The most the code may pay, if the customer set a ceiling.
        ceiling: Option<Yen>,
    },
    /// A store's POS authorizes an in-store order with a payment code: the
    /// code names the customer (`input.customer` is ignored).
    AuthorizeWithCode {
        /// Index of the store's merchant.
        merchant: u32,
        /// Keyed hash of the code presented.
        code: [u8; 32],
        /// The order (channel `in_store`).
        input: AuthorizeInput,
        /// Keyed hashes of the device id and IP network.
        session: SessionKeys,
    },
    /// The customer reports a charge they do not recognise: every new
    /// authorization is declined until an operator lifts the freeze.
    FreezeCustomer {
        /// Who froze (the customer's channel or an operator).
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// Why, free text.
        reason: String,
    },
    /// Lift a freeze (operators only).
    UnfreezeCustomer {
        /// The operator lifting it.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
    },
    /// An operator's verdict on a sign-up held for review (past trouble on
    /// a shared phone, e-mail, device or address).
    ResolveSignUpReview {
        /// The operator deciding.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// `true` lets the customer buy; `false` closes the account to credit.
        approve: bool,
    },
    /// Start verifying a phone number (or e-mail address): the shell drew a
    /// 6-digit code and sends it once this is durable. The engine enforces
    /// the sends per target and per IP network per hour
    /// (`lifecycle.verification_sends_per_*_hour`).
    StartVerification {
        /// Who asks (a merchant's sign-up app, or an admin operator).
        principal: Principal,
        /// A phone number or an e-mail address.
        channel: ContactKind,
        /// The identity key of the normalized phone (or e-mail), as
        /// registration computes it.
        target: atobarai_identity::KeyHash,
        /// HMAC of the code under `sms.code_secret` (never the code).
        code: [u8; 32],
        /// The identity key of the requesting IP network, if known.
        ip: Option<atobarai_identity::KeyHash>,
    },
    /// Confirm a verification's code. A wrong code is journaled (it spends
    /// one of `lifecycle.verification_attempts_max` attempts).
    ConfirmVerification {
        /// Who confirms (the merchant that started it, or an operator).
        principal: Principal,
        /// Index of the verification.
        verification: u64,
        /// HMAC of the code presented.
        code: [u8; 32],
    },
    /// A customer's phone (or e-mail) changes to the target of a confirmed
    /// verification; the change and its time feed the risk features.
    ChangeContact {
        /// Who changes it.
        principal: Principal,
        /// Index of the customer.
        customer: u64,
        /// Index of the confirmed, unused verification.
        verification: u64,
    },
}

/// A registration's data: in clear (no keyring configured) or sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Registration {
    /// Personal data in clear.
    Clear(CustomerProfile),
    /// Personal data sealed by the shell.
    Sealed(SealedProfile),
}

/// What a sign-up brings besides the registration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpFacts {
    /// Index of the SMS verification that proved the phone, if any.
    pub verification: Option<u64>,
    /// A parent's consent (needed below `lifecycle.consent_below_years`).
    pub consent: Option<ParentalConsent>,
    /// Keyed hashes of the device and IP network the sign-up came from.
    pub session: SessionKeys,
}

/// Who consented to a minor's sign-up, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentalConsent {
    /// The consenting parent or guardian (name and relation, free text).
    pub by: String,
    /// When they consented (never after the sign-up).
    pub at: At,
}

/// Where a customer's identity verification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EkycStatus {
    /// Documents submitted, no verdict yet.
    Pending,
    /// The document matches the registration.
    Verified,
    /// It does not (see the reason).
    Rejected,
}

impl EkycStatus {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EkycStatus::Pending => "pending",
            EkycStatus::Verified => "verified",
            EkycStatus::Rejected => "rejected",
        }
    }

    /// Parse the API spelling.
    pub fn parse(s: &str) -> Option<EkycStatus> {
        match s {
            "pending" => Some(EkycStatus::Pending),
            "verified" => Some(EkycStatus::Verified),
            "rejected" => Some(EkycStatus::Rejected),
            _ => None,
        }
    }
}

/// An eKYC verdict with the checks behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EkycResult {
    /// The resulting status (the shell turns a vendor's `verified` whose
    /// document does not match into `Rejected`).
    pub status: EkycStatus,
    /// Why it was rejected (the vendor's reason, or the failed check).
    pub reason: Option<String>,
    /// The document's address matched the registered one at block level.
    pub address_matched: bool,
    /// The document's name matched.
    pub name_matched: bool,
    /// The document's birth date matched.
    pub birth_date_matched: bool,
}

/// Why an issuer revokes gift cards (variants may only be appended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RevocationReason {
    /// Bought with fraud (a taken-over account, a stolen identity): the
    /// buyer's debt stands.
    Fraud,
    /// Resold on an unofficial marketplace in breach of the terms.
    Resale,
    /// Bought by the victim of a scam: the buyer's debt for the cards is
    /// cancelled.
    ScamVictim,
    /// Another breach of the issuer's terms.
    TermsBreach,
}

impl RevocationReason {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Fraud => "fraud",
            RevocationReason::Resale => "resale",
            RevocationReason::ScamVictim => "scam_victim",
            RevocationReason::TermsBreach => "terms_breach",
        }
    }

    /// The reason with this API spelling.
    pub fn parse(s: &str) -> Option<RevocationReason> {
        [
            RevocationReason::Fraud,
            RevocationReason::Resale,
            RevocationReason::ScamVictim,
            RevocationReason::TermsBreach,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Which gift cards a revocation names (variants may only be appended).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevocationTarget {
    /// One card, by the keyed hash of its code.
    Code([u8; 32]),
    /// Every card of an order (index).
    Order(u64),
    /// These cards (indexes): a confirmed cluster preview.
    Cards(Vec<u64>),
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
    /// | 11 | `AddSuspension` | 22 | `SetRiskRules` |
    /// | | | 23 | `SetModel` |
    /// | 24 | `RegisterSealedCustomer` | 25 | `EraseCustomerPii` |
    /// | 26 | `AddIssuerMerchant` | 27 | `CaptureGiftCards` |
    /// | 28 | `RedeemGiftCard` | 29 | `RevokeGiftCards` |
    /// | 30 | `AppealGiftCard` | 31 | `DecideGiftCardAppeal` |
    /// | 32 | `SpendWallet` | | |
    /// | 41 | `StartVerification` | 42 | `ConfirmVerification` |
    /// | 43 | `ChangeContact` | | |
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
            Command::SetRiskRules { .. } => SET_RISK_RULES,
            Command::SetModel { .. } => SET_MODEL,
            Command::RegisterSealedCustomer { .. } => REGISTER_SEALED_CUSTOMER,
            Command::EraseCustomerPii { .. } => ERASE_CUSTOMER_PII,
            Command::AddIssuerMerchant { .. } => ADD_ISSUER_MERCHANT,
            Command::CaptureGiftCards { .. } => CAPTURE_GIFT_CARDS,
            Command::RedeemGiftCard { .. } => REDEEM_GIFT_CARD,
            Command::RevokeGiftCards { .. } => REVOKE_GIFT_CARDS,
            Command::AppealGiftCard { .. } => APPEAL_GIFT_CARD,
            Command::DecideGiftCardAppeal { .. } => DECIDE_GIFT_CARD_APPEAL,
            Command::SpendWallet { .. } => SPEND_WALLET,
            Command::SetTerms { .. } => SET_TERMS,
            Command::SignUp { .. } => SIGN_UP,
            Command::RecordEkyc { .. } => RECORD_EKYC,
            Command::IssuePaymentCode { .. } => ISSUE_PAYMENT_CODE,
            Command::AuthorizeWithCode { .. } => AUTHORIZE_WITH_CODE,
            Command::FreezeCustomer { .. } => FREEZE_CUSTOMER,
            Command::UnfreezeCustomer { .. } => UNFREEZE_CUSTOMER,
            Command::ResolveSignUpReview { .. } => RESOLVE_SIGN_UP_REVIEW,
            Command::StartVerification { .. } => START_VERIFICATION,
            Command::ConfirmVerification { .. } => CONFIRM_VERIFICATION,
            Command::ChangeContact { .. } => CHANGE_CONTACT,
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
            Command::SetRiskRules { .. } => "set_risk_rules",
            Command::SetModel { .. } => "set_model",
            Command::RegisterSealedCustomer { .. } => "register_sealed_customer",
            Command::EraseCustomerPii { .. } => "erase_customer_pii",
            Command::AddIssuerMerchant { .. } => "add_issuer_merchant",
            Command::CaptureGiftCards { .. } => "capture_gift_cards",
            Command::RedeemGiftCard { .. } => "redeem_gift_card",
            Command::RevokeGiftCards { .. } => "revoke_gift_cards",
            Command::AppealGiftCard { .. } => "appeal_gift_card",
            Command::DecideGiftCardAppeal { .. } => "decide_gift_card_appeal",
            Command::SpendWallet { .. } => "spend_wallet",
            Command::SetTerms { .. } => "set_terms",
            Command::SignUp { .. } => "sign_up",
            Command::RecordEkyc { .. } => "record_ekyc",
            Command::IssuePaymentCode { .. } => "issue_payment_code",
            Command::AuthorizeWithCode { .. } => "authorize_with_code",
            Command::FreezeCustomer { .. } => "freeze_customer",
            Command::UnfreezeCustomer { .. } => "unfreeze_customer",
            Command::ResolveSignUpReview { .. } => "resolve_sign_up_review",
            Command::StartVerification { .. } => "start_verification",
            Command::ConfirmVerification { .. } => "confirm_verification",
            Command::ChangeContact { .. } => "change_contact",
        }
    }
}

/// The command tags of [`Command::tag`] (frozen: see its table).
pub(crate) mod tag {
    /// `Command::AddMerchant`.
    pub(crate) const ADD_MERCHANT: u16 = 1;
    /// `Command::AddOperator`.
    pub(crate) const ADD_OPERATOR: u16 = 2;
    /// `Command::RegisterCustomer`.
    pub(crate) const REGISTER_CUSTOMER: u16 = 3;
    /// `Command::Authorize`.
    pub(crate) const AUTHORIZE: u16 = 4;
    /// `Command::Capture`.
    pub(crate) const CAPTURE: u16 = 5;
    /// `Command::Cancel`.
    pub(crate) const CANCEL: u16 = 6;
    /// `Command::Refund`.
    pub(crate) const REFUND: u16 = 7;
    /// `Command::RecordPayment`.
    pub(crate) const RECORD_PAYMENT: u16 = 8;
    /// `Command::SetPaymentMethod`.
    pub(crate) const SET_PAYMENT_METHOD: u16 = 9;
    /// `Command::AdvanceClock`.
    pub(crate) const ADVANCE_CLOCK: u16 = 10;
    /// `Command::AddSuspension`.
    pub(crate) const ADD_SUSPENSION: u16 = 11;
    /// `Command::LiftSuspension`.
    pub(crate) const LIFT_SUSPENSION: u16 = 12;
    /// `Command::ResolveReview`.
    pub(crate) const RESOLVE_REVIEW: u16 = 13;
    /// `Command::RedeemPoints`.
    pub(crate) const REDEEM_POINTS: u16 = 14;
    /// `Command::ReversePayment`.
    pub(crate) const REVERSE_PAYMENT: u16 = 15;
    /// `Command::SetMembership`.
    pub(crate) const SET_MEMBERSHIP: u16 = 16;
    /// `Command::AgreePaymentPlan`.
    pub(crate) const AGREE_PAYMENT_PLAN: u16 = 17;
    /// `Command::AddWebhookEndpoint`.
    pub(crate) const ADD_WEBHOOK_ENDPOINT: u16 = 18;
    /// `Command::RemoveWebhookEndpoint`.
    pub(crate) const REMOVE_WEBHOOK_ENDPOINT: u16 = 19;
    /// `Command::WebhooksDelivered`.
    pub(crate) const WEBHOOKS_DELIVERED: u16 = 20;
    /// `Command::SetRules`.
    pub(crate) const SET_RULES: u16 = 21;
    /// `Command::SetRiskRules`.
    pub(crate) const SET_RISK_RULES: u16 = 22;
    /// `Command::SetModel`.
    pub(crate) const SET_MODEL: u16 = 23;
    /// `Command::RegisterSealedCustomer`.
    pub(crate) const REGISTER_SEALED_CUSTOMER: u16 = 24;
    /// `Command::EraseCustomerPii`.
    pub(crate) const ERASE_CUSTOMER_PII: u16 = 25;
    /// `Command::AddIssuerMerchant`.
    pub(crate) const ADD_ISSUER_MERCHANT: u16 = 26;
    /// `Command::CaptureGiftCards`.
    pub(crate) const CAPTURE_GIFT_CARDS: u16 = 27;
    /// `Command::RedeemGiftCard`.
    pub(crate) const REDEEM_GIFT_CARD: u16 = 28;
    /// `Command::RevokeGiftCards`.
    pub(crate) const REVOKE_GIFT_CARDS: u16 = 29;
    /// `Command::AppealGiftCard`.
    pub(crate) const APPEAL_GIFT_CARD: u16 = 30;
    /// `Command::DecideGiftCardAppeal`.
    pub(crate) const DECIDE_GIFT_CARD_APPEAL: u16 = 31;
    /// `Command::SpendWallet`.
    pub(crate) const SPEND_WALLET: u16 = 32;
    /// `Command::SetTerms`.
    pub(crate) const SET_TERMS: u16 = 33;
    /// `Command::SignUp`.
    pub(crate) const SIGN_UP: u16 = 34;
    /// `Command::RecordEkyc`.
    pub(crate) const RECORD_EKYC: u16 = 35;
    /// `Command::IssuePaymentCode`.
    pub(crate) const ISSUE_PAYMENT_CODE: u16 = 36;
    /// `Command::AuthorizeWithCode`.
    pub(crate) const AUTHORIZE_WITH_CODE: u16 = 37;
    /// `Command::FreezeCustomer`.
    pub(crate) const FREEZE_CUSTOMER: u16 = 38;
    /// `Command::UnfreezeCustomer`.
    pub(crate) const UNFREEZE_CUSTOMER: u16 = 39;
    /// `Command::ResolveSignUpReview`.
    pub(crate) const RESOLVE_SIGN_UP_REVIEW: u16 = 40;
    /// `Command::StartVerification`.
    pub(crate) const START_VERIFICATION: u16 = 41;
    /// `Command::ConfirmVerification`.
    pub(crate) const CONFIRM_VERIFICATION: u16 = 42;
    /// `Command::ChangeContact`.
    pub(crate) const CHANGE_CONTACT: u16 = 43;
}

/// A customer's registration data, already validated by the shell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    /// The merchant's own id for the customer.
    pub external_id: String,
    /// Full name as registered.
    pub name: String,
    /// Full name in katakana.
    pub name_kana: String,
    /// Date of birth (JST calendar date).
    pub birth_date: JstDate,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Postal code.
    pub postal_code: String,
    /// Postal address.
    pub address: String,
}

/// A registration whose personal data is sealed: what the engine reads in
/// clear, and the rest as ciphertext it never opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedProfile {
    /// The merchant's own id for the customer (unique per merchant).
    pub external_id: String,
    /// The customer was born on or before this day (JST): the age rule is
    /// decided on it at registration, and a replay decides the same. The
    /// shell makes it as coarse as it can without changing the verdict
    /// from the registration on (the end of the birth year, else of the
    /// birth month, else the birth date itself); the exact date is sealed.
    pub born_by: JstDate,
    /// Name, kana, phone, e-mail, postal code and address, sealed.
    pub pii: SealedPii,
}

/// Personal data sealed by the shell with an AEAD under a per-customer
/// data key. The engine stores and hands it back; it cannot open it.
///
/// Scheme 1: XChaCha20-Poly1305; the key is the customer's data key
/// (kept, wrapped by a key-encryption key, in the shell's vault under
/// `subject`); the associated data binds the ciphertext to its subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPii {
    /// How it was sealed (1: XChaCha20-Poly1305, plaintext encoding 1).
    pub scheme: u8,
    /// Random id of the customer's data key in the vault (not derived from
    /// any personal data).
    pub subject: [u8; 16],
    /// The AEAD nonce.
    pub nonce: [u8; 24],
    /// Ciphertext with its authentication tag.
    pub ciphertext: Vec<u8>,
}

/// One line of an order: a product bought in some quantity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// The merchant's stock-keeping unit.
    pub sku: String,
    /// The item's name as shown to the customer.
    pub name: String,
    /// The item's category (suspensions and risk rules apply per category).
    pub category: Category,
    /// Price of one unit, in integer yen.
    pub unit_price: Yen,
    /// Number of units.
    pub quantity: i64,
}

/// An order a merchant asks credit for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeInput {
    /// The merchant's own id for the order (unique per merchant is not required).
    pub merchant_order_id: String,
    /// Index of the customer ordering.
    pub customer: u64,
    /// The deferred-payment product the order is paid with.
    pub product: Product,
    /// The sales channel the order came through.
    pub channel: Channel,
    /// The order's lines.
    pub items: Vec<LineItem>,
    /// Where the goods are shipped.
    pub shipping_address: String,
    /// The device the order was placed from, as the merchant saw it.
    pub device_id: String,
    /// The IP address the order was placed from.
    pub ip: String,
    /// The consumption-tax rate (percent) the merchant stated for each
    /// line, by line: empty when the merchant stated none, else one entry
    /// per line of `items` (`None`: the category's default rate). Added in
    /// record format version 2; older records decode with none stated.
    pub tax_rates: Vec<Option<u8>>,
}

/// A payment received from a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    /// Index of the customer paying.
    pub customer: u64,
    /// Amount received, in integer yen.
    pub amount: Yen,
    /// The payment channel (convenience store, bank, card, …).
    pub channel: String,
    /// The channel's reference for the payment.
    pub reference: String,
}

/// A suspension of credit for a category, optionally narrowed to one merchant or channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionInput {
    /// The suspended category.
    pub category: Category,
    /// Only this merchant's orders (`None`: every merchant).
    pub merchant: Option<u32>,
    /// Only orders through this channel (`None`: every channel).
    pub channel: Option<Channel>,
    /// When the suspension starts.
    pub from: At,
    /// When it ends (`None`: until lifted).
    pub until: Option<At>,
}

/// An operator's verdict on an order held for review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewVerdict {
    /// Approve the order.
    Approve,
    /// Decline the order.
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
            (
                Command::Authorize { .. } | Command::AuthorizeWithCode { .. },
                crate::Outcome::Order(o),
            ) => Some(o.decision),
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

/// What a verification verifies (variants may only be appended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContactKind {
    /// A phone number (the code goes by SMS).
    Phone,
    /// An e-mail address (the code goes by e-mail).
    Email,
}

impl ContactKind {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Phone => "phone",
            ContactKind::Email => "email",
        }
    }
}
