//! The in-process driver: requests become commands applied with
//! `Engine::apply`, validated and hashed by the server's own code
//! (`atobarai_server::dto`, `IdentitySecret`), so a registration yields
//! exactly the identity keys the HTTP server would compute.

use super::{AuthOutcome, Balance, CustomerRef, Decision, Driver, DriverError, OrderRef};
use super::{FiredRule, OrderRequest, Registration, RuleInfo};
use atobarai_core::config::LimitsConfig;
use atobarai_core::{At, Config, JstDate, Yen, ids};
use atobarai_engine::{
    AuthorizeInput, Command, Engine, Envelope, LineItem, Outcome, PaymentInput, Principal,
    ReviewVerdict, Role, SessionKeys, prefix,
};
use atobarai_server::IdentitySecret;
use atobarai_server::dto::CreateCustomer;
use std::collections::HashMap;

/// Drives an [`Engine`] in this process.
pub struct InProcess {
    engine: Engine,
    secret: IdentitySecret,
    limits: LimitsConfig,
    shops: Vec<u32>,
    payments: Principal,
    /// (device id, ip) → keys: the same device and network recur, and the
    /// keys are a pure function of them (looked up only, never iterated).
    sessions: HashMap<(String, String), SessionKeys>,
    /// The risk rules file journaled at setup (`None`: the built-in policy).
    risk_rules: Option<String>,
    /// Its rules, in the set's order.
    rule_infos: Vec<RuleInfo>,
}

/// The spelling of a rule's action in files and reports.
fn action_name(a: atobarai_rules::Action) -> &'static str {
    match a {
        atobarai_rules::Action::Decline => "decline",
        atobarai_rules::Action::Review => "review",
        atobarai_rules::Action::Cap { .. } => "cap",
        atobarai_rules::Action::Flag => "flag",
        atobarai_rules::Action::Approve => "approve",
    }
}

/// The rules of a risk rules file, checked as the engine checks it
/// (every error, one per line, with its line and column).
pub fn risk_rule_infos(source: &str) -> Result<Vec<RuleInfo>, String> {
    let set = atobarai_engine::risk::rules::compile(source).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(set
        .rules()
        .iter()
        .map(|r| RuleInfo {
            id: r.id.clone(),
            version: r.version,
            action: action_name(r.action),
            shadow: r.mode == atobarai_rules::Mode::Shadow,
            reason: r.reason.clone(),
        })
        .collect())
}

/// More cached session keys than this and the cache starts over.
const SESSION_CACHE_MAX: usize = 1 << 20;

impl InProcess {
    /// An engine with `config` (its rules, its identity secret) and the
    /// engine's built-in risk policy (no rule set in force).
    pub fn new(config: Config) -> InProcess {
        let secret = IdentitySecret::new(&config.identity.key_secret);
        let limits = config.limits.clone();
        InProcess {
            engine: Engine::new(config),
            secret,
            limits,
            shops: Vec::new(),
            payments: Principal::System,
            sessions: HashMap::new(),
            risk_rules: None,
            rule_infos: Vec::new(),
        }
    }

    /// An engine with `config` whose authorizations the risk rules file
    /// `source` decides: journaled with `SetRiskRules` at the market's
    /// start. Errors: the file does not compile (every error listed).
    pub fn with_risk_rules(config: Config, source: &str) -> Result<InProcess, String> {
        let infos = risk_rule_infos(source)?;
        let mut d = InProcess::new(config);
        d.risk_rules = Some(source.to_owned());
        d.rule_infos = infos;
        Ok(d)
    }

    /// The engine (for tests and figures).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to install a feature tap before a market runs.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    fn apply(
        &mut self,
        at: At,
        command: Command,
    ) -> Result<Outcome, atobarai_engine::CommandError> {
        self.engine
            .apply(&Envelope {
                at,
                idem: None,
                command,
            })
            .map(|a| a.outcome)
    }

    fn shop(&self, shop: usize) -> Result<u32, DriverError> {
        self.shops
            .get(shop)
            .copied()
            .ok_or_else(|| DriverError::Unexpected(format!("no shop {shop}")))
    }
}

fn decision(d: atobarai_engine::Decision) -> Decision {
    match d {
        atobarai_engine::Decision::Approve => Decision::Approve,
        atobarai_engine::Decision::Review => Decision::Review,
        atobarai_engine::Decision::Decline => Decision::Decline,
    }
}

impl Driver for InProcess {
    fn name(&self) -> &'static str {
        "in_process"
    }

    fn risk_rules(&self) -> Vec<RuleInfo> {
        self.rule_infos.clone()
    }

    fn setup(&mut self, shops: &[&str], start: At) -> Result<(), DriverError> {
        let unexpected = |e: atobarai_engine::CommandError| DriverError::Unexpected(e.to_string());
        for (i, name) in shops.iter().enumerate() {
            let out = self
                .apply(
                    start,
                    Command::AddMerchant {
                        name: (*name).to_string(),
                        key_id: format!("sim-shop-{i}"),
                        secret_sha256: [0; 32],
                    },
                )
                .map_err(unexpected)?;
            match out {
                Outcome::Merchant(g) => self.shops.push(g.index),
                other => return Err(DriverError::Unexpected(format!("{other:?}"))),
            }
        }
        let out = self
            .apply(
                start,
                Command::AddOperator {
                    name: "sim payment channel".into(),
                    role: Role::Payments,
                    key_id: "sim-payments".into(),
                    secret_sha256: [0; 32],
                },
            )
            .map_err(unexpected)?;
        match out {
            Outcome::Operator(g) => self.payments = Principal::Operator(g.index, Role::Payments),
            other => return Err(DriverError::Unexpected(format!("{other:?}"))),
        }
        if let Some(source) = self.risk_rules.clone() {
            let out = self
                .apply(
                    start,
                    Command::SetRiskRules {
                        source,
                        author: "sim".into(),
                    },
                )
                .map_err(unexpected)?;
            if !matches!(out, Outcome::RiskRules(_)) {
                return Err(DriverError::Unexpected(format!("{out:?}")));
            }
        }
        self.advance(start)
    }

    fn advance(&mut self, to: At) -> Result<(), DriverError> {
        if to <= self.engine.now() {
            return Ok(());
        }
        self.apply(to, Command::AdvanceClock { to })
            .map(|_| ())
            .map_err(|e| DriverError::Unexpected(e.to_string()))
    }

    fn register(&mut self, at: At, r: &Registration) -> Result<Option<CustomerRef>, DriverError> {
        let body = CreateCustomer {
            external_id: r.external_id.clone(),
            name: r.name.clone(),
            name_kana: r.name_kana.clone(),
            birth_date: r.birth_date.clone(),
            phone: r.phone.clone(),
            email: r.email.clone(),
            postal_code: r.postal_code.clone(),
            address: r.address.clone(),
            payment_method: r.payment_method.as_str().to_string(),
            verification: None,
            parental_consent: None,
            device_id: None,
            ip: None,
        };
        let merchant = self.shop(r.shop)?;
        let Ok(command) = body.into_command(merchant, &self.limits, &self.secret) else {
            return Ok(None);
        };
        match self.apply(at, command) {
            Ok(Outcome::Customer(v)) => Ok(Some(CustomerRef(u64::from(v.customer)))),
            Ok(other) => Err(DriverError::Unexpected(format!("{other:?}"))),
            Err(_) => Ok(None),
        }
    }

    fn verify_identity(
        &mut self,
        at: At,
        customer: CustomerRef,
        _registration: &Registration,
    ) -> Result<(), DriverError> {
        // The shell compares the document with the registration; the
        // market's documents are the registrations themselves.
        self.apply(
            at,
            Command::RecordEkyc {
                principal: atobarai_engine::Principal::System,
                customer: customer.0,
                result: atobarai_engine::EkycResult {
                    status: atobarai_engine::EkycStatus::Verified,
                    reason: None,
                    address_matched: true,
                    name_matched: true,
                    birth_date_matched: true,
                },
            },
        )
        .map(|_| ())
        .map_err(|e| DriverError::Unexpected(e.to_string()))
    }

    fn authorize(&mut self, at: At, o: &OrderRequest) -> Result<AuthOutcome, DriverError> {
        let merchant = self.shop(o.shop)?;
        let session = match self.sessions.get(&(o.device_id.clone(), o.ip.clone())) {
            Some(s) => *s,
            None => {
                let s = self.secret.session_keys(&o.device_id, &o.ip);
                if self.sessions.len() >= SESSION_CACHE_MAX {
                    self.sessions.clear();
                }
                self.sessions.insert((o.device_id.clone(), o.ip.clone()), s);
                s
            }
        };
        let items = o
            .items
            .iter()
            .map(|i| LineItem {
                sku: i.sku.clone(),
                name: i.name.clone(),
                category: i.category,
                unit_price: i.unit_price,
                quantity: i.quantity,
            })
            .collect();
        let command = Command::Authorize {
            merchant,
            input: AuthorizeInput {
                merchant_order_id: o.merchant_order_id.clone(),
                customer: o.customer.0,
                product: o.product,
                channel: o.channel,
                items,
                shipping_address: o.shipping_address.clone(),
                device_id: o.device_id.clone(),
                ip: o.ip.clone(),
                tax_rates: Vec::new(),
            },
            session,
        };
        match self.apply(at, command) {
            Ok(Outcome::Order(v)) => Ok(AuthOutcome {
                order: Some(OrderRef(u64::from(v.order))),
                decision: decision(v.decision),
                reasons: v
                    .shown_reasons()
                    .iter()
                    .map(|r| r.code.to_string())
                    .collect(),
                fired: v.risk.as_ref().map_or_else(Vec::new, |risk| {
                    risk.fired
                        .iter()
                        .map(|f| FiredRule {
                            id: f.id.clone(),
                            shadow: f.shadow,
                        })
                        .collect()
                }),
            }),
            Ok(other) => Err(DriverError::Unexpected(format!("{other:?}"))),
            Err(e) => Ok(AuthOutcome {
                order: None,
                decision: Decision::Refused,
                reasons: vec![e.code.to_string()],
                fired: Vec::new(),
            }),
        }
    }

    fn capture(
        &mut self,
        at: At,
        shop: usize,
        order: OrderRef,
    ) -> Result<Option<JstDate>, DriverError> {
        let principal = Principal::Merchant(self.shop(shop)?);
        match self.apply(
            at,
            Command::Capture {
                principal,
                order: order.0,
                amount: None,
            },
        ) {
            Ok(Outcome::Order(v)) => Ok(v.due_date),
            Ok(other) => Err(DriverError::Unexpected(format!("{other:?}"))),
            Err(_) => Ok(None),
        }
    }

    fn resolve_review(
        &mut self,
        at: At,
        order: OrderRef,
        approve: bool,
    ) -> Result<(), DriverError> {
        let verdict = if approve {
            ReviewVerdict::Approve
        } else {
            ReviewVerdict::Decline
        };
        self.apply(
            at,
            Command::ResolveReview {
                order: order.0,
                verdict,
            },
        )
        .map(|_| ())
        .map_err(|e| DriverError::Unexpected(e.to_string()))
    }

    fn balance(&mut self, customer: CustomerRef) -> Result<Balance, DriverError> {
        let id = ids::encode(prefix::CUSTOMER, customer.0);
        let b = self
            .engine
            .balance(Principal::System, &id)
            .map_err(|e| DriverError::Unexpected(e.to_string()))?;
        Ok(Balance {
            principal: b.principal,
            total: b.total,
            overdue: b.overdue,
        })
    }

    fn cluster(&mut self, customer: CustomerRef) -> Result<u64, DriverError> {
        let id = ids::encode(prefix::CUSTOMER, customer.0);
        self.engine
            .identity(Principal::System, &id)
            .map(|v| u64::from(v.cluster))
            .map_err(|e| DriverError::Unexpected(e.to_string()))
    }

    fn pay(
        &mut self,
        at: At,
        customer: CustomerRef,
        amount: Yen,
        channel: &str,
        reference: &str,
    ) -> Result<bool, DriverError> {
        let command = Command::RecordPayment {
            principal: self.payments,
            input: PaymentInput {
                customer: customer.0,
                amount,
                channel: channel.to_string(),
                reference: reference.to_string(),
            },
        };
        Ok(self.apply(at, command).is_ok())
    }
}
