//! Typed configuration. Every default below is a figure from `DOMAIN.md`
//! (the provider's published terms); a provider overrides them in
//! `atobarai.toml` or with `ATOBARAI__SECTION__KEY` environment variables.
//! Figures are data, never constants in business logic.

use crate::money::Yen;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub credit: CreditConfig,
    pub billing: BillingConfig,
    pub limits: LimitsConfig,
    pub identity: IdentityConfig,
    pub dunning: DunningConfig,
    pub webhooks: WebhookConfig,
    pub risk: RiskConfig,
    pub encryption: EncryptionConfig,
    pub gift_cards: GiftCardConfig,
    /// The customer lifecycle's rules (journaled with the products as the
    /// terms, see [`crate::lifecycle::Terms`]).
    pub lifecycle: crate::lifecycle::LifecycleConfig,
    /// The product catalog (`[[products]]`).
    pub products: crate::products::ProductCatalog,
    /// The eKYC vendor's callback (`[ekyc]`).
    pub ekyc: crate::lifecycle::EkycConfig,
    /// The SMS gateway verification codes go out through (`[sms]`).
    pub sms: SmsConfig,
    /// Billing documents: issuer, tax rates, payment slip (`[documents]`).
    pub documents: crate::documents::DocumentsConfig,
}

/// Gift cards (`[gift_cards]`): the secret codes are hashed with, and the
/// redemption attempt limits. Enforced by the shell, never journaled.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GiftCardConfig {
    /// The HMAC secret gift-card codes are stored under (only the keyed
    /// hash reaches the engine, the journal and snapshots). The default is
    /// a published development value: production MUST set its own
    /// (`ATOBARAI__GIFT_CARDS__CODE_SECRET`) and never change it (codes
    /// issued under another secret stop matching).
    pub code_secret: String,
    /// Failed redemptions a wallet may have within `window_secs` before it
    /// is locked out.
    pub wallet_failures_max: u32,
    /// Failed redemptions one IP address may have within `window_secs`
    /// before it is locked out.
    pub ip_failures_max: u32,
    /// The window failures are counted over, seconds.
    pub window_secs: u64,
    /// How long a wallet or IP address stays locked out, seconds.
    pub lockout_secs: u64,
}

/// The development code secret (public).
pub const GIFT_CARD_CODE_SECRET_DEV: &str = "atobarai-development-gift-card-code-secret";

impl Default for GiftCardConfig {
    fn default() -> Self {
        GiftCardConfig {
            code_secret: GIFT_CARD_CODE_SECRET_DEV.to_string(),
            wallet_failures_max: 5,
            ip_failures_max: 20,
            window_secs: 600,
            lockout_secs: 900,
        }
    }
}

impl std::fmt::Debug for GiftCardConfig {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GiftCardConfig")
            .field("code_secret", &"<redacted>")
            .field("wallet_failures_max", &self.wallet_failures_max)
            .field("ip_failures_max", &self.ip_failures_max)
            .field("window_secs", &self.window_secs)
            .field("lockout_secs", &self.lockout_secs)
            .finish()
    }
}

/// The SMS gateway (`[sms]`) sign-up and contact-change verification codes
/// go out through, and the secret the codes are hashed under. Shell
/// settings, never journaled (the limits are the journaled
/// `lifecycle.verification_*` terms).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// `file` (development and tests: each message is appended as a JSON
    /// line to `sms-outbox.jsonl` in the data directory), `log` (the
    /// message is logged, never sent) or `http` (POSTed as JSON to `url`).
    pub driver: String,
    /// The gateway's endpoint (`http` driver).
    pub url: Option<String>,
    /// Bearer token sent to the gateway (`http` driver).
    pub token: Option<String>,
    /// How long a send may take before it counts as failed, milliseconds.
    pub timeout_ms: u64,
    /// The HMAC secret codes are hashed under before they are journaled.
    /// The default is a published development value: production MUST set
    /// its own (`ATOBARAI__SMS__CODE_SECRET`); changing it voids the codes
    /// outstanding (at most `lifecycle.verification_ttl_secs` of them).
    pub code_secret: String,
    /// The sender name or number shown on the message.
    pub sender: String,
    /// E-mail codes (contact changes): `file` (`mail-outbox.jsonl` in the
    /// data directory) or `log`.
    pub mail_driver: String,
}

/// The development SMS code secret (public).
pub const SMS_CODE_SECRET_DEV: &str = "atobarai-development-sms-code-secret";

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            driver: "file".into(),
            url: None,
            token: None,
            timeout_ms: 5_000,
            code_secret: SMS_CODE_SECRET_DEV.into(),
            sender: "atobarai".into(),
            mail_driver: "file".into(),
        }
    }
}

impl SmsConfig {
    /// Every problem found, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if !matches!(self.driver.as_str(), "file" | "log" | "http") {
            out.push(("sms.driver", "must be file, log or http"));
        }
        if self.driver == "http"
            && !self
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            out.push(("sms.url", "the http driver needs an http(s) URL"));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            out.push(("sms.timeout_ms", "must be between 100 and 60000"));
        }
        if self.code_secret.len() < 16 {
            out.push(("sms.code_secret", "must be at least 16 bytes"));
        }
        if !matches!(self.mail_driver.as_str(), "file" | "log") {
            out.push(("sms.mail_driver", "must be file or log"));
        }
        out
    }
}

impl std::fmt::Debug for SmsConfig {
    /// Never prints the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("driver", &self.driver)
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout_ms", &self.timeout_ms)
            .field("code_secret", &"<redacted>")
            .field("sender", &self.sender)
            .field("mail_driver", &self.mail_driver)
            .finish()
    }
}

/// Personal data encrypted at rest (`[encryption]`): where the keyring of
/// key-encryption keys is. The keys themselves never go in this file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionConfig {
    /// The keyring file (`atobarai keys rotate` writes it). Unset: `keyring`
    /// in the data directory, created with one random key at the first
    /// start, with a warning: production keeps the keyring apart from the
    /// data (a backup of both together protects nothing).
    pub keyring: Option<std::path::PathBuf>,
}

/// The risk rule set the server puts in force at start (`[risk]`).
///
/// At start the node journals the configured rule set (author `config`)
/// when the file's text differs from the one in force *and* from the one
/// the configuration last put in force: a set put in force through
/// `PUT /v1/admin/rules` stays in force across restarts until the
/// configured file itself changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// A rules file (TOML, see `crates/rules/README.md`). Unset: the rules
    /// shipped with atobarai (`rules/default.toml`, built in).
    pub rules_file: Option<std::path::PathBuf>,
    /// Journal no rule set at start, leaving decisions to the engine's
    /// built-in baseline policy. Only for a store in which no rule set was
    /// ever put in force (the engine cannot withdraw one; the server
    /// refuses to start otherwise): tests and comparisons with the
    /// in-process engine. Not together with `rules_file`.
    pub baseline_policy: bool,
}

/// The part of [`Config`] that decides outcomes (credit, billing, input
/// limits, dunning): journaled whenever it changes, so replaying history
/// uses the rules in effect when each command ran. Secrets (identity key,
/// webhook signing key) and delivery settings are not in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub credit: CreditConfig,
    pub billing: BillingConfig,
    pub limits: LimitsConfig,
    pub dunning: DunningConfig,
    /// `identity.hub_threshold`: it decides which accounts are one person,
    /// so it is journaled with the other rules.
    pub hub_threshold: HubThresholds,
}

impl Config {
    pub fn rules(&self) -> Rules {
        Rules {
            credit: self.credit.clone(),
            billing: self.billing.clone(),
            limits: self.limits.clone(),
            dunning: self.dunning.clone(),
            hub_threshold: self.identity.hub_threshold,
        }
    }

    /// The journaled terms: lifecycle rules and products.
    pub fn terms(&self) -> crate::lifecycle::Terms {
        crate::lifecycle::Terms {
            lifecycle: self.lifecycle.clone(),
            products: self.products.clone(),
        }
    }

    pub fn set_terms(&mut self, terms: crate::lifecycle::Terms) {
        self.lifecycle = terms.lifecycle;
        self.products = terms.products;
    }

    pub fn set_rules(&mut self, rules: Rules) {
        self.credit = rules.credit;
        self.billing = rules.billing;
        self.limits = rules.limits;
        self.dunning = rules.dunning;
        self.identity.hub_threshold = rules.hub_threshold;
    }
}

/// Dunning: days after the first missed due date at which each step runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DunningConfig {
    /// E-mail and SMS reminder with a re-issued payment number.
    pub reminder_days: i32,
    /// A phone-call task for collections.
    pub phone_call_days: i32,
    /// New purchases suspended.
    pub suspension_days: i32,
    /// A payment plan offered.
    pub payment_plan_offer_days: i32,
}

impl Default for DunningConfig {
    fn default() -> Self {
        DunningConfig {
            reminder_days: 1,
            phone_call_days: 7,
            suspension_days: 14,
            payment_plan_offer_days: 30,
        }
    }
}

/// Webhook delivery (the shell's dispatcher; the engine only keeps the
/// outbox).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// The key every endpoint's signing secret is derived from (with the
    /// endpoint's nonce), so no secret is stored in the journal. The default
    /// is a published development value: production MUST set its own
    /// (`ATOBARAI__WEBHOOKS__SIGNING_KEY`); changing it changes every
    /// endpoint's secret.
    pub signing_key: String,
    /// Waits before each retry of a failed delivery, in milliseconds; after
    /// the last the event is given up (listed as failed on the endpoint).
    /// The default retries for about three days.
    pub retry_backoff_ms: Vec<u64>,
    /// A delivery that takes longer fails.
    pub timeout_ms: u64,
    /// Requests in flight per endpoint. 1 delivers strictly in order; more
    /// start them in order but they may arrive out of order.
    pub concurrency: usize,
    /// Accept `http://` endpoint URLs (tests, a local relay). Production
    /// endpoints are `https://`.
    pub allow_http: bool,
    /// Deliver to private, loopback and link-local addresses (tests, a relay
    /// inside the provider's network). Off: such endpoints are refused at
    /// registration, and names resolving only to them fail at delivery (so
    /// webhooks cannot be pointed at internal services).
    pub allow_private_targets: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        const S: u64 = 1_000;
        WebhookConfig {
            signing_key: WEBHOOK_SIGNING_KEY_DEV.to_string(),
            retry_backoff_ms: vec![
                10 * S,
                60 * S,
                5 * 60 * S,
                30 * 60 * S,
                2 * 3_600 * S,
                6 * 3_600 * S,
                12 * 3_600 * S,
                24 * 3_600 * S,
                24 * 3_600 * S,
            ],
            timeout_ms: 10_000,
            concurrency: 8,
            allow_http: false,
            allow_private_targets: false,
        }
    }
}

/// The development webhook signing key (public).
pub const WEBHOOK_SIGNING_KEY_DEV: &str = "atobarai-development-webhook-signing-key";

impl WebhookConfig {
    /// True while the published development key is in use.
    pub fn is_development_key(&self) -> bool {
        self.signing_key == WEBHOOK_SIGNING_KEY_DEV
    }
}

impl std::fmt::Debug for WebhookConfig {
    /// Never prints the signing key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("signing_key", &"<redacted>")
            .field("retry_backoff_ms", &self.retry_backoff_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("concurrency", &self.concurrency)
            .field("allow_http", &self.allow_http)
            .field("allow_private_targets", &self.allow_private_targets)
            .finish()
    }
}

/// Identity keys: phone, e-mail, address, name, device and IP are stored
/// only as keyed hashes (HMAC-SHA256) of their normalized forms. The secret
/// stays in the shell (server, CLI); the engine and the journal see hashes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// The HMAC secret. The default is a published development value:
    /// production MUST set its own (`ATOBARAI__IDENTITY__KEY_SECRET`, at least
    /// 32 random bytes), and never change it afterwards: hashes made with
    /// another secret never match, so every link would be lost.
    pub key_secret: String,
    /// Hub keys: a device id, phone or e-mail shared by more accounts than
    /// this stops joining them into one person (`identity.hub_threshold.device`, …).
    pub hub_threshold: HubThresholds,
}

/// The most accounts one device id, phone or e-mail may join into one
/// identity cluster; a key shared by more (a shop's tablet, an emulator's
/// default device id, a shared test number, a call centre) is a hub: it
/// joins nobody and is flagged for the risk engine. 0 or 1: the kind never
/// joins. The defaults and why (DOMAIN.md §2: a cash-out ring of several
/// accounts must still link) are in `atobarai_identity::graph`
/// (`HUB_THRESHOLD_*_DEFAULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubThresholds {
    pub phone: u32,
    pub email: u32,
    pub device: u32,
}

impl Default for HubThresholds {
    fn default() -> Self {
        HubThresholds {
            phone: 10,
            email: 10,
            device: 20,
        }
    }
}

/// The development secret (public: anyone can recompute keys made with it).
pub const IDENTITY_KEY_SECRET_DEV: &str = "atobarai-development-identity-key-secret";

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            key_secret: IDENTITY_KEY_SECRET_DEV.to_string(),
            hub_threshold: HubThresholds::default(),
        }
    }
}

impl IdentityConfig {
    /// True while the published development secret is in use.
    pub fn is_development_secret(&self) -> bool {
        self.key_secret == IDENTITY_KEY_SECRET_DEV
    }
}

impl std::fmt::Debug for IdentityConfig {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("key_secret", &"<redacted>")
            .field("hub_threshold", &self.hub_threshold)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreditConfig {
    /// The one shared limit at sign-up (both products together).
    pub signup_limit_yen: Yen,
    /// The shared limit once bank debit is registered as payment method.
    pub bank_debit_limit_yen: Yen,
    /// Most a customer may owe on the per-order invoice product.
    pub per_order_outstanding_cap_yen: Yen,
    /// Most a customer may owe for in-store (code payment) purchases.
    pub in_store_cap_yen: Yen,
    /// In-store cap for a customer without enough paid online history
    /// (0: code payment is not offered to them yet).
    pub in_store_new_customer_cap_yen: Yen,
    /// Fully paid online orders needed before the full in-store cap applies.
    pub in_store_paid_online_orders_min: u32,
    /// Minimum age at registration.
    pub age_years_min: i32,
}

impl Default for CreditConfig {
    fn default() -> Self {
        CreditConfig {
            signup_limit_yen: Yen::new(50_000),
            bank_debit_limit_yen: Yen::new(100_000),
            per_order_outstanding_cap_yen: Yen::new(55_000),
            in_store_cap_yen: Yen::new(15_000),
            in_store_new_customer_cap_yen: Yen::new(0),
            in_store_paid_online_orders_min: 3,
            age_years_min: 18,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    /// Per-order invoice: due this many days after it is issued (at capture).
    pub per_order_due_days: i32,
    /// Monthly statement due day of the month after close, per method.
    pub convenience_store_due_day: i8,
    pub paper_bill_due_day: i8,
    pub bank_debit_day: i8,
    /// Payment fee per statement, per method.
    pub convenience_store_fee_yen: Yen,
    pub paper_bill_fee_yen: Yen,
    pub bank_debit_fee_yen: Yen,
    /// Late fee added on each of `late_fee_days` from the month after the
    /// first missed due date.
    pub late_fee_yen: Yen,
    pub late_fee_days: Vec<i8>,
    /// Delay damages, in basis points per year (1460 = 14.6 %).
    pub delay_damages_bp_per_year: i64,
    /// Points: basis points of the paid amount (50 = 0.5 % = 1 pt per ¥200).
    pub points_bp: i64,
    pub points_paid_tier_bp: i64,
    pub paid_tier_fee_yen: Yen,
    pub points_expiry_months: i8,
    // --- payment rules (engine) ---
    /// A payment may exceed what the customer owes (principal, fees, late
    /// fees, damages, returned payments) by at most this much; the excess
    /// becomes a credit balance. Larger payments are refused
    /// (`payment_exceeds_balance`). The default, ¥1,000, absorbs a rounded-up
    /// transfer or a fee paid twice without letting a payment channel park
    /// large sums on an account.
    pub overpayment_tolerance_yen: Yen,
    /// Merchants' keys may record and reverse payments. Always false in a
    /// configuration (payments come from payment-channel keys); true only in
    /// the journaled rules of history written before payment-channel keys
    /// existed, so that it replays as it ran.
    pub merchants_record_payments: bool,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            per_order_due_days: 14,
            convenience_store_due_day: 10,
            paper_bill_due_day: 20,
            bank_debit_day: 27,
            convenience_store_fee_yen: Yen::new(209),
            paper_bill_fee_yen: Yen::new(209),
            bank_debit_fee_yen: Yen::new(0),
            late_fee_yen: Yen::new(100),
            late_fee_days: vec![10, 25],
            delay_damages_bp_per_year: 1460,
            points_bp: 50,
            points_paid_tier_bp: 150,
            paid_tier_fee_yen: Yen::new(300),
            points_expiry_months: 6,
            overpayment_tolerance_yen: Yen::new(1_000),
            merchants_record_payments: false,
        }
    }
}

/// Limits on everything a caller can send (TigerBeetle style: a bound on
/// every input). Units are last in every name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub line_items_max: usize,
    pub line_quantity_max: i64,
    pub id_chars_max: usize,
    pub text_chars_max: usize,
    pub request_body_bytes_max: usize,
    /// How long an idempotency key is remembered.
    pub idempotency_retention_hours: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            line_items_max: 100,
            line_quantity_max: 10_000,
            id_chars_max: 64,
            text_chars_max: 200,
            request_body_bytes_max: 64 * 1024,
            idempotency_retention_hours: 24,
        }
    }
}

/// A configuration value out of its allowed range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// `section.key`, as in the file (`ATOBARAI__SECTION__KEY`);
    /// `products[i].key` for a product.
    pub field: std::borrow::Cow<'static, str>,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The legal maximum for delay damages in consumer contracts: 14.6 % a year
/// (消費者契約法 9条1項2号; anything above is void), in basis points.
pub const DELAY_DAMAGES_BP_LEGAL_MAX: i64 = 1_460;

impl Config {
    /// Every value in range, or every problem found (so an operator fixes
    /// them in one go). The server refuses to start on a problem.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut out = Vec::new();
        let mut check = |ok: bool, field: &'static str, message: &str| {
            if !ok {
                out.push(ConfigProblem {
                    field: field.into(),
                    message: message.to_string(),
                });
            }
        };
        let yen = |y: Yen| !y.is_negative() && y <= Yen::AMOUNT_MAX;
        let c = &self.credit;
        check(
            yen(c.signup_limit_yen),
            "credit.signup_limit_yen",
            "must be between 0 and the largest amount",
        );
        check(
            yen(c.bank_debit_limit_yen),
            "credit.bank_debit_limit_yen",
            "must be between 0 and the largest amount",
        );
        check(
            yen(c.per_order_outstanding_cap_yen),
            "credit.per_order_outstanding_cap_yen",
            "must be between 0 and the largest amount",
        );
        check(
            yen(c.in_store_cap_yen),
            "credit.in_store_cap_yen",
            "must be between 0 and the largest amount",
        );
        check(
            yen(c.in_store_new_customer_cap_yen),
            "credit.in_store_new_customer_cap_yen",
            "must be between 0 and the largest amount",
        );
        check(
            (0..=130).contains(&c.age_years_min),
            "credit.age_years_min",
            "must be between 0 and 130",
        );
        let b = &self.billing;
        check(
            (1..=365).contains(&b.per_order_due_days),
            "billing.per_order_due_days",
            "must be between 1 and 365",
        );
        for (day, field) in [
            (
                b.convenience_store_due_day,
                "billing.convenience_store_due_day",
            ),
            (b.paper_bill_due_day, "billing.paper_bill_due_day"),
            (b.bank_debit_day, "billing.bank_debit_day"),
        ] {
            check(
                (1..=31).contains(&day),
                field,
                "must be a day of the month (1–31; short months use their last day)",
            );
        }
        for (fee, field) in [
            (
                b.convenience_store_fee_yen,
                "billing.convenience_store_fee_yen",
            ),
            (b.paper_bill_fee_yen, "billing.paper_bill_fee_yen"),
            (b.bank_debit_fee_yen, "billing.bank_debit_fee_yen"),
            (b.late_fee_yen, "billing.late_fee_yen"),
            (b.paid_tier_fee_yen, "billing.paid_tier_fee_yen"),
            (
                b.overpayment_tolerance_yen,
                "billing.overpayment_tolerance_yen",
            ),
        ] {
            check(yen(fee), field, "must be between 0 and the largest amount");
        }
        check(
            !b.merchants_record_payments,
            "billing.merchants_record_payments",
            "only journals from before payment-channel keys carry it; payments come from \
             `operator add --role payments` keys",
        );
        let mut days = b.late_fee_days.clone();
        days.sort_unstable();
        days.dedup();
        check(
            days.len() == b.late_fee_days.len() && days.iter().all(|d| (1..=31).contains(d)),
            "billing.late_fee_days",
            "must be distinct days of the month (1–31)",
        );
        check(
            (0..=DELAY_DAMAGES_BP_LEGAL_MAX).contains(&b.delay_damages_bp_per_year),
            "billing.delay_damages_bp_per_year",
            "must be between 0 and 1460 (14.6 % a year, the legal maximum for consumers)",
        );
        check(
            (0..=10_000).contains(&b.points_bp),
            "billing.points_bp",
            "must be between 0 and 10000 basis points",
        );
        check(
            (0..=10_000).contains(&b.points_paid_tier_bp),
            "billing.points_paid_tier_bp",
            "must be between 0 and 10000 basis points",
        );
        check(
            (1..=120).contains(&b.points_expiry_months),
            "billing.points_expiry_months",
            "must be between 1 and 120",
        );
        let l = &self.limits;
        check(
            l.line_items_max >= 1,
            "limits.line_items_max",
            "must be at least 1",
        );
        check(
            l.line_quantity_max >= 1,
            "limits.line_quantity_max",
            "must be at least 1",
        );
        check(
            l.id_chars_max >= 1,
            "limits.id_chars_max",
            "must be at least 1",
        );
        check(
            l.text_chars_max >= 1,
            "limits.text_chars_max",
            "must be at least 1",
        );
        check(
            l.request_body_bytes_max >= 1_024,
            "limits.request_body_bytes_max",
            "must be at least 1024",
        );
        check(
            (1..=24 * 365).contains(&l.idempotency_retention_hours),
            "limits.idempotency_retention_hours",
            "must be between 1 and 8760",
        );
        let d = &self.dunning;
        for (days, field) in [
            (d.reminder_days, "dunning.reminder_days"),
            (d.phone_call_days, "dunning.phone_call_days"),
            (d.suspension_days, "dunning.suspension_days"),
            (d.payment_plan_offer_days, "dunning.payment_plan_offer_days"),
        ] {
            check(
                (1..=3_650).contains(&days),
                field,
                "must be between 1 and 3650 days after the due date",
            );
        }
        let w = &self.webhooks;
        check(
            (1..=256).contains(&w.concurrency),
            "webhooks.concurrency",
            "must be between 1 and 256",
        );
        check(
            (1..=120_000).contains(&w.timeout_ms),
            "webhooks.timeout_ms",
            "must be between 1 and 120000",
        );
        check(
            w.retry_backoff_ms.len() <= 100,
            "webhooks.retry_backoff_ms",
            "at most 100 retries",
        );
        check(
            !w.signing_key.is_empty(),
            "webhooks.signing_key",
            "must not be empty",
        );
        check(
            !(self.risk.baseline_policy && self.risk.rules_file.is_some()),
            "risk.baseline_policy",
            "cannot be set together with risk.rules_file",
        );
        for (field, message) in self.documents.problems() {
            out.push(ConfigProblem {
                field: field.into(),
                message: message.into(),
            });
        }
        for (field, message) in self.sms.problems() {
            out.push(ConfigProblem {
                field: field.into(),
                message: message.into(),
            });
        }
        // The highest limit a customer can have (bank debit raises it).
        let credit_limit = self
            .credit
            .signup_limit_yen
            .max(self.credit.bank_debit_limit_yen);
        for (field, message) in self.lifecycle.problems(credit_limit) {
            out.push(ConfigProblem {
                field: field.into(),
                message,
            });
        }
        // No product cap may exceed the highest credit limit a customer
        // can have (`products[i].cap_yen`, …).
        let limit = self
            .credit
            .signup_limit_yen
            .max(self.credit.bank_debit_limit_yen);
        for (field, message) in self.products.problems(limit) {
            out.push(ConfigProblem {
                field: field.into(),
                message,
            });
        }
        if out.is_empty() { Ok(()) } else { Err(out) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_published_terms() {
        let c = Config::default();
        assert_eq!(c.credit.signup_limit_yen, Yen::new(50_000));
        assert_eq!(c.credit.bank_debit_limit_yen, Yen::new(100_000));
        assert_eq!(c.credit.per_order_outstanding_cap_yen, Yen::new(55_000));
        assert_eq!(c.credit.in_store_cap_yen, Yen::new(15_000));
        assert_eq!(c.billing.per_order_due_days, 14);
        assert_eq!(
            (
                c.billing.convenience_store_due_day,
                c.billing.paper_bill_due_day,
                c.billing.bank_debit_day
            ),
            (10, 20, 27)
        );
        assert_eq!(c.billing.convenience_store_fee_yen, Yen::new(209));
        assert_eq!(c.billing.late_fee_days, vec![10, 25]);
    }

    #[test]
    fn defaults_validate_and_every_problem_is_named() {
        assert_eq!(Config::default().validate(), Ok(()));
        let mut c = Config::default();
        c.billing.delay_damages_bp_per_year = 2_000;
        c.billing.late_fee_days = vec![10, 10];
        c.billing.bank_debit_day = 0;
        c.credit.signup_limit_yen = Yen::new(-1);
        c.webhooks.concurrency = 0;
        c.risk.baseline_policy = true;
        c.risk.rules_file = Some("mine.toml".into());
        let problems = c.validate().unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_ref()).collect();
        assert_eq!(
            fields,
            [
                "credit.signup_limit_yen",
                "billing.bank_debit_day",
                "billing.late_fee_days",
                "billing.delay_damages_bp_per_year",
                "webhooks.concurrency",
                "risk.baseline_policy",
            ]
        );
        // The legal maximum itself is allowed.
        let mut c = Config::default();
        c.billing.delay_damages_bp_per_year = DELAY_DAMAGES_BP_LEGAL_MAX;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn partial_override_keeps_other_defaults() {
        let c: Config = serde_json::from_str(r#"{"credit": {"signup_limit_yen": 30000}}"#).unwrap();
        assert_eq!(c.credit.signup_limit_yen, Yen::new(30_000));
        assert_eq!(c.credit.bank_debit_limit_yen, Yen::new(100_000));
        assert!(serde_json::from_str::<Config>(r#"{"credit": {"typo": 1}}"#).is_err());
    }

    #[test]
    fn identity_secret_defaults_to_the_development_value_and_never_prints() {
        let c = Config::default();
        assert!(c.identity.is_development_secret());
        let c: Config =
            serde_json::from_str(r#"{"identity": {"key_secret": "s3cr3t-of-production"}}"#)
                .unwrap();
        assert!(!c.identity.is_development_secret());
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(serde_json::from_str::<Config>(r#"{"identity": {"secret": "x"}}"#).is_err());
    }
}
