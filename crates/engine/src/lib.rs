//! `atobarai-engine` is the deterministic state machine at the heart of
//! atobarai. It owns commands ([`Command`]), state (customers, orders,
//! payments, suspensions, idempotency records), credit decisions and the
//! digest that proves a replay reproduced the state exactly.
//!
//! Architecture invariants:
//! - No I/O, no clock, no randomness. Every command arrives in an
//!   [`Envelope`] that carries its time; the same envelopes in the same order
//!   always produce the same state, outcomes and [`Engine::digest`].
//! - A command that fails changes nothing: [`Engine::apply`] validates
//!   everything before its first mutation.
//! - After an approve, a customer's exposure never exceeds its limit, and
//!   what may be spent (`available`) never exceeds the limit: a credit
//!   balance only offsets what is owed.
//! - Money is checked arithmetic only (`clippy::arithmetic_side_effects` is
//!   denied); input that could overflow is refused with a [`CommandError`].
//! - A decline is a value ([`Decision::Decline`] with reasons), never an error.

#![deny(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
#![deny(missing_docs)]
#![deny(unreachable_pub)]

pub mod billing;
mod checked;
mod command;
mod due;
mod engine;
mod error;
mod exposure;
pub mod format;
mod idem;
mod identity;
mod pii;
pub mod reason;
pub mod risk;
pub mod score;
mod seg;
mod shard;
mod state;
mod view;
pub mod webhook;

/// The identity crate's types the commands and views use.
pub use atobarai_identity::{KeyHash, LinkKind, Strength};
pub use command::ContactKind;
pub use command::{
    AuthorizeInput, Command, CustomerProfile, Envelope, Idem, LineItem, PaymentInput, Principal,
    ReviewVerdict, RevocationReason, RevocationTarget, Role, SealedPii, SealedProfile,
    SuspensionInput,
};
pub use command::{EkycResult, EkycStatus, ParentalConsent, Registration, SignUpFacts};
pub use engine::{
    APPEALS_PAGE_MAX, AppealDecision, AppealView, CARDS_PER_REVOCATION_MAX, CODES_PER_CAPTURE_MAX,
    CardEvent, CardEventKind, ClusterRevocationPreview, EVIDENCE_CHARS_MAX, GiftCardState,
    GiftCardView, IssuedCard, RevokedCard, WALLET_ID_CHARS_MAX, WalletEntry, WalletEntryKind,
    WalletView,
};
pub use engine::{
    Applied, BacktestResult, CHANGED_ROWS_MAX, ChangedDecision, DatasetOptions, DatasetRecorder,
    DatasetRow, DriftNow, Engine, EngineStats, FeatureTap, LoadedModelInfo, MODEL_SOURCE_MAX,
    MODELS_MAX, ModelDrift, ModelEntryView, OrderOutcome, PAGE_LIMIT_MAX, Page, ScoreView,
    decision_index, load_model, write_dataset,
};
pub use engine::{CONTACT_NEVER_CHANGED_DAYS, ContactChange, USE_WINDOW_SECS, VerificationView};
pub use engine::{
    CustomerLife, EkycRecord, Freeze, IssuedCode, LIFECYCLE_TEXT_CHARS_MAX, LifecycleView,
    SignUpReview, Trouble, TroubleEvidence,
};
pub use engine::{DocumentOrder, DocumentSource, PartnerSettlement, SettlementLine};
pub use error::{CommandError, ErrorKind};
pub use format::FormatError;
pub use identity::{
    EvidenceStep, HubFeatures, HubKeyView, IdentityKeys, IdentityLink, IdentityMember,
    IdentityView, SessionKeys,
};
pub use pii::PersonalData;
pub use reason::{Reason, ReasonCode};
pub use state::{CustomerStatus, Decision, OrderStatus, Reversal};
pub use view::{
    AvailableScope, CustomerView, FiredRuleView, KeyGrant, ModelReason, ModelScoreView, OrderRisk,
    OrderView, Outcome, PaymentView, RiskRulesView, RuleHitsView, RuleReason, ShownReason,
    SuspensionView,
};

/// Identifier prefixes shown to callers.
pub mod prefix {
    /// Customers.
    pub const CUSTOMER: &str = "cus";
    /// Orders.
    pub const ORDER: &str = "ord";
    /// Payments.
    pub const PAYMENT: &str = "pay";
    /// Category suspensions.
    pub const SUSPENSION: &str = "sus";
    /// Merchants.
    pub const MERCHANT: &str = "mer";
    /// Operator keys.
    pub const OPERATOR: &str = "opr";
    /// An identity cluster (named after its smallest customer index).
    pub const CLUSTER: &str = "idc";
    /// Webhook events.
    pub const EVENT: &str = "evt";
    /// Webhook endpoints.
    pub const ENDPOINT: &str = "whe";
    /// Gift cards.
    pub const GIFT_CARD: &str = "gft";
    /// Gift-card appeals.
    pub const APPEAL: &str = "apl";
    /// Cluster revocation previews (kept by the shell).
    pub const REVOCATION: &str = "rev";
    /// Contact verifications (SMS / e-mail codes).
    pub const VERIFICATION: &str = "ver";
}
