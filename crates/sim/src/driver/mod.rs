//! Drivers turn the market's requests into engine commands
//! ([`in_process::InProcess`], through `Engine::apply`) or HTTP requests
//! ([`http::Http`], against `atobarai serve --clock manual`), and return
//! what the engine answered.
//!
//! A driver never sees a label: the types below carry what a shop, a payment
//! channel or an operator would send, nothing about who is behind it.

use crate::catalog::Item;
use atobarai_core::{At, Channel, JstDate, PaymentMethod, Product, Yen};

pub mod http;
pub mod in_process;

/// A registered customer (the engine's dense customer index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerRef(pub u64);

/// An authorized order (the engine's dense order index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderRef(pub u64);

/// A customer registration as a shop sends it (`POST /v1/customers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Which of the market's shops registers the customer.
    pub shop: usize,
    /// The shop's own id for the customer.
    pub external_id: String,
    /// Name as typed.
    pub name: String,
    /// Name in katakana.
    pub name_kana: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Phone as typed.
    pub phone: String,
    /// E-mail as typed.
    pub email: String,
    /// Postal code as typed.
    pub postal_code: String,
    /// Address as typed.
    pub address: String,
    /// How the customer pays.
    pub payment_method: PaymentMethod,
}

/// An authorization as a shop sends it (`POST /v1/authorizations`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// Which of the market's shops asks.
    pub shop: usize,
    /// The shop's order id.
    pub merchant_order_id: String,
    /// The customer ordering.
    pub customer: CustomerRef,
    /// Per-order invoice or monthly statement.
    pub product: Product,
    /// Online or in store.
    pub channel: Channel,
    /// The cart.
    pub items: Vec<Item>,
    /// Where the goods go, as typed.
    pub shipping_address: String,
    /// The device the order came from.
    pub device_id: String,
    /// The IP address the order came from.
    pub ip: String,
}

/// What the engine decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    /// Approved.
    Approve,
    /// Held for review (the amount is held meanwhile).
    Review,
    /// Declined.
    Decline,
    /// The request was refused as invalid (no order exists).
    Refused,
}

/// The answer to an authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthOutcome {
    /// The order, unless the request was refused.
    pub order: Option<OrderRef>,
    /// The decision.
    pub decision: Decision,
    /// The reason codes, in the engine's order (`limit_exceeded`, …).
    pub reasons: Vec<String>,
    /// The risk rules that fired on the order (live and shadow), when the
    /// driver can see them (in process; empty over HTTP, where only the
    /// reasons are answered).
    pub fired: Vec<FiredRule>,
}

/// A risk rule that fired on an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiredRule {
    /// The rule's id.
    pub id: String,
    /// A shadow rule (recorded, never acting).
    pub shadow: bool,
}

/// A rule of the risk rule set the driver's engine decides with.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// The rule's id.
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// `decline`, `review`, `cap`, `flag` or `approve`.
    pub action: &'static str,
    /// A shadow rule.
    pub shadow: bool,
    /// Its reason code.
    pub reason: String,
}

/// What a customer owes now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Balance {
    /// Principal of captured orders not yet paid.
    pub principal: Yen,
    /// Everything owed (principal, fees, late fees, damages, returned payments).
    pub total: Yen,
    /// Anything past its due date.
    pub overdue: bool,
}

/// A driver could not go on (the engine stopped, the server is unreachable
/// or answered something unexpected). Refusals and declines are outcomes,
/// not errors.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A request could not be sent or its answer not read.
    #[error("{0}")]
    Transport(String),
    /// The engine or server answered something a correct market cannot get.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

/// Turns the market's requests into engine commands or HTTP requests.
pub trait Driver {
    /// A name for reports and logs (`in_process`, `http`).
    fn name(&self) -> &'static str;
    /// The risk rules the engine decides with, in the set's order, when the
    /// driver knows them (empty: the engine's built-in policy, or a server
    /// whose rules the driver cannot see).
    fn risk_rules(&self) -> Vec<RuleInfo> {
        Vec::new()
    }
    /// Create the market's shops and set the clock to `start`.
    fn setup(&mut self, shops: &[&str], start: At) -> Result<(), DriverError>;
    /// Move the engine's clock forward to `to`.
    fn advance(&mut self, to: At) -> Result<(), DriverError>;
    /// Register a customer; `None` when the registration is refused.
    fn register(
        &mut self,
        at: At,
        registration: &Registration,
    ) -> Result<Option<CustomerRef>, DriverError>;
    /// The eKYC vendor reports the customer's identity document, which
    /// matches `registration` (in-store use needs a verified identity).
    /// Drivers that cannot report one do nothing.
    fn verify_identity(
        &mut self,
        _at: At,
        _customer: CustomerRef,
        _registration: &Registration,
    ) -> Result<(), DriverError> {
        Ok(())
    }
    /// Ask for credit for an order.
    fn authorize(&mut self, at: At, order: &OrderRequest) -> Result<AuthOutcome, DriverError>;
    /// Capture an approved order in full; returns its due date.
    fn capture(
        &mut self,
        at: At,
        shop: usize,
        order: OrderRef,
    ) -> Result<Option<JstDate>, DriverError>;
    /// An analyst's verdict on a held order.
    fn resolve_review(&mut self, at: At, order: OrderRef, approve: bool)
    -> Result<(), DriverError>;
    /// What the customer owes now.
    fn balance(&mut self, customer: CustomerRef) -> Result<Balance, DriverError>;
    /// The customer's identity cluster (accounts joined by a strong key:
    /// phone, e-mail, device), named by its smallest customer index.
    fn cluster(&mut self, customer: CustomerRef) -> Result<u64, DriverError>;
    /// A payment from the customer through a payment channel; `false` when refused.
    fn pay(
        &mut self,
        at: At,
        customer: CustomerRef,
        amount: Yen,
        channel: &str,
        reference: &str,
    ) -> Result<bool, DriverError>;
}
