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
//! - After an approve, a customer's exposure never exceeds its limit.
//! - A decline is a value ([`Decision::Decline`] with reasons), never an error.

pub mod billing;
mod command;
mod due;
mod engine;
mod error;
pub mod format;
mod idem;
mod identity;
pub mod reason;
pub mod risk;
mod seg;
mod shard;
mod state;
mod view;
pub mod webhook;

/// The identity crate's types the commands and views use.
pub use atobarai_identity::{KeyHash, LinkKind, Strength};
pub use command::{
    AuthorizeInput, Command, CustomerProfile, Envelope, Idem, LineItem, PaymentInput, Principal,
    ReviewVerdict, Role, SuspensionInput,
};
pub use engine::{Applied, Engine, EngineStats};
pub use error::{CommandError, ErrorKind};
pub use format::FormatError;
pub use identity::{
    EvidenceStep, IdentityKeys, IdentityLink, IdentityMember, IdentityView, SessionKeys,
};
pub use reason::{Reason, ReasonCode};
pub use state::{CustomerStatus, Decision, OrderStatus, Reversal};
pub use view::{CustomerView, KeyGrant, OrderView, Outcome, PaymentView, SuspensionView};

/// Identifier prefixes shown to callers.
pub mod prefix {
    pub const CUSTOMER: &str = "cus";
    pub const ORDER: &str = "ord";
    pub const PAYMENT: &str = "pay";
    pub const SUSPENSION: &str = "sus";
    pub const MERCHANT: &str = "mer";
    pub const OPERATOR: &str = "opr";
    /// An identity cluster (named after its smallest customer index).
    pub const CLUSTER: &str = "idc";
    pub const EVENT: &str = "evt";
    pub const ENDPOINT: &str = "whe";
}
