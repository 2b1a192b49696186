//! The HTTP driver: the same requests against a running
//! `atobarai serve --clock manual`, one at a time and in the market's order
//! (so the server applies the same commands in the same order as the
//! in-process driver, and decides the same).
//!
//! It needs an admin key (clock, shops, reviews, balances) and a payment
//! channel's key (`atobarai operator add NAME --role payments`); it creates
//! its shops with `POST /v1/admin/merchants`. Run it against a fresh data
//! directory: the clock never moves back, and a market is only comparable
//! with another on an empty store.

use super::{AuthOutcome, Balance, CustomerRef, Decision, Driver, DriverError, OrderRef};
use super::{OrderRequest, Registration};
use atobarai_core::{At, JstDate, Yen, ids};
use atobarai_engine::prefix;
use serde_json::{Value, json};

/// Drives a server over HTTP.
pub struct Http {
    base: String,
    admin_key: String,
    payments_key: String,
    shop_keys: Vec<String>,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    run: String,
    requests: u64,
    now: Option<At>,
}

impl Http {
    /// A driver for the server at `base` (`http://127.0.0.1:8080`).
    /// `run` prefixes every idempotency key (use one per market).
    pub fn new(
        base: &str,
        admin_key: &str,
        payments_key: &str,
        run: &str,
    ) -> Result<Http, DriverError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DriverError::Transport(format!("starting the HTTP runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| DriverError::Transport(e.to_string()))?;
        Ok(Http {
            base: base.trim_end_matches('/').to_string(),
            admin_key: admin_key.to_string(),
            payments_key: payments_key.to_string(),
            shop_keys: Vec::new(),
            client,
            runtime,
            run: run.to_string(),
            requests: 0,
            now: None,
        })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// POST `body` to `path` with `key`: the status and the JSON answer.
    fn post(&mut self, key: &str, path: &str, body: &Value) -> Result<(u16, Value), DriverError> {
        self.requests = self.requests.saturating_add(1);
        let idem = format!("{}-{}", self.run, self.requests);
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(body);
        self.send(req, path)
    }

    fn get(&mut self, key: &str, path: &str) -> Result<(u16, Value), DriverError> {
        self.requests = self.requests.saturating_add(1);
        let req = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(key);
        self.send(req, path)
    }

    fn send(&self, req: reqwest::RequestBuilder, path: &str) -> Result<(u16, Value), DriverError> {
        self.runtime.block_on(async {
            let resp = req
                .send()
                .await
                .map_err(|e| DriverError::Transport(format!("{path}: {e}")))?;
            let status = resp.status().as_u16();
            let body: Value = resp
                .json()
                .await
                .map_err(|e| DriverError::Transport(format!("{path}: {e}")))?;
            if status >= 500 {
                return Err(DriverError::Unexpected(format!("{path}: {status} {body}")));
            }
            Ok((status, body))
        })
    }

    fn shop_key(&self, shop: usize) -> Result<String, DriverError> {
        self.shop_keys
            .get(shop)
            .cloned()
            .ok_or_else(|| DriverError::Unexpected(format!("no shop {shop}")))
    }
}

fn unexpected(path: &str, status: u16, body: &Value) -> DriverError {
    DriverError::Unexpected(format!("{path}: {status} {body}"))
}

fn decode(prefix: &str, v: &Value) -> Option<u64> {
    v.as_str().and_then(|s| ids::decode(prefix, s))
}

impl Driver for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn setup(&mut self, shops: &[&str], start: At) -> Result<(), DriverError> {
        self.advance(start)?;
        let admin = self.admin_key.clone();
        for name in shops {
            let (status, body) =
                self.post(&admin, "/v1/admin/merchants", &json!({"name": name}))?;
            let key = body["key"].as_str();
            match (status, key) {
                (201, Some(key)) => self.shop_keys.push(key.to_string()),
                _ => return Err(unexpected("/v1/admin/merchants", status, &body)),
            }
        }
        Ok(())
    }

    fn advance(&mut self, to: At) -> Result<(), DriverError> {
        if self.now.is_some_and(|n| to <= n) {
            return Ok(());
        }
        let admin = self.admin_key.clone();
        let (status, body) = self.post(
            &admin,
            "/v1/admin/clock",
            &json!({"now": to.to_rfc3339_jst()}),
        )?;
        if status != 200 {
            return Err(unexpected("/v1/admin/clock", status, &body));
        }
        self.now = Some(to);
        Ok(())
    }

    fn register(&mut self, _at: At, r: &Registration) -> Result<Option<CustomerRef>, DriverError> {
        let key = self.shop_key(r.shop)?;
        let body = json!({
            "external_id": r.external_id, "name": r.name, "name_kana": r.name_kana,
            "birth_date": r.birth_date, "phone": r.phone, "email": r.email,
            "postal_code": r.postal_code, "address": r.address,
            "payment_method": r.payment_method.as_str(),
        });
        let (status, body) = self.post(&key, "/v1/customers", &body)?;
        match status {
            200 | 201 => decode(prefix::CUSTOMER, &body["id"])
                .map(|c| Some(CustomerRef(c)))
                .ok_or_else(|| unexpected("/v1/customers", status, &body)),
            _ => Ok(None),
        }
    }

    fn authorize(&mut self, _at: At, o: &OrderRequest) -> Result<AuthOutcome, DriverError> {
        let key = self.shop_key(o.shop)?;
        let items: Vec<Value> = o
            .items
            .iter()
            .map(|i| {
                json!({"sku": i.sku, "name": i.name, "category": i.category.as_str(),
                       "unit_price": i.unit_price.get(), "quantity": i.quantity})
            })
            .collect();
        let body = json!({
            "merchant_order_id": o.merchant_order_id,
            "customer": ids::encode(prefix::CUSTOMER, o.customer.0),
            "product": o.product.as_str(), "channel": o.channel.as_str(),
            "items": items, "shipping_address": o.shipping_address,
            "device_id": o.device_id, "ip": o.ip,
        });
        let (status, body) = self.post(&key, "/v1/authorizations", &body)?;
        if status != 200 && status != 201 {
            let code = body["error"]["code"].as_str().unwrap_or("refused");
            return Ok(AuthOutcome {
                order: None,
                decision: Decision::Refused,
                reasons: vec![code.to_string()],
                fired: Vec::new(),
            });
        }
        let decision = match body["decision"].as_str() {
            Some("approve") => Decision::Approve,
            Some("review") => Decision::Review,
            Some("decline") => Decision::Decline,
            _ => return Err(unexpected("/v1/authorizations", status, &body)),
        };
        let reasons = body["reasons"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["code"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(AuthOutcome {
            order: decode(prefix::ORDER, &body["order_id"]).map(OrderRef),
            decision,
            reasons,
            fired: Vec::new(),
        })
    }

    fn capture(
        &mut self,
        _at: At,
        shop: usize,
        order: OrderRef,
    ) -> Result<Option<JstDate>, DriverError> {
        let key = self.shop_key(shop)?;
        let path = format!("/v1/orders/{}/capture", ids::encode(prefix::ORDER, order.0));
        let (status, body) = self.post(&key, &path, &json!({}))?;
        if status != 200 {
            return Ok(None);
        }
        Ok(body["due_date"]
            .as_str()
            .and_then(|d| JstDate::parse(d).ok()))
    }

    fn verify_identity(
        &mut self,
        _at: At,
        customer: CustomerRef,
        r: &Registration,
    ) -> Result<(), DriverError> {
        // The vendor's callback with the registration's own document: the
        // server compares it (address at block level, name, birth date).
        let admin = self.admin_key.clone();
        let path = format!(
            "/v1/customers/{}/ekyc",
            ids::encode(prefix::CUSTOMER, customer.0)
        );
        let (status, body) = self.post(
            &admin,
            &path,
            &json!({
                "status": "verified",
                "document_address": format!("〒{} {}", r.postal_code, r.address),
                "name": r.name,
                "birth_date": r.birth_date,
            }),
        )?;
        if status != 200 {
            return Err(unexpected(&path, status, &body));
        }
        Ok(())
    }

    fn resolve_review(
        &mut self,
        _at: At,
        order: OrderRef,
        approve: bool,
    ) -> Result<(), DriverError> {
        let admin = self.admin_key.clone();
        let path = format!(
            "/v1/admin/orders/{}/review",
            ids::encode(prefix::ORDER, order.0)
        );
        let decision = if approve { "approve" } else { "decline" };
        let (status, body) = self.post(&admin, &path, &json!({ "decision": decision }))?;
        if status != 200 {
            return Err(unexpected(&path, status, &body));
        }
        Ok(())
    }

    fn balance(&mut self, customer: CustomerRef) -> Result<Balance, DriverError> {
        let admin = self.admin_key.clone();
        let path = format!(
            "/v1/customers/{}/balance",
            ids::encode(prefix::CUSTOMER, customer.0)
        );
        let (status, body) = self.get(&admin, &path)?;
        if status != 200 {
            return Err(unexpected(&path, status, &body));
        }
        let yen = |f: &str| Yen::new(body[f].as_i64().unwrap_or(0));
        Ok(Balance {
            principal: yen("principal"),
            total: yen("total"),
            overdue: body["overdue"].as_bool().unwrap_or(false),
        })
    }

    fn cluster(&mut self, customer: CustomerRef) -> Result<u64, DriverError> {
        let admin = self.admin_key.clone();
        let path = format!(
            "/v1/customers/{}/identity",
            ids::encode(prefix::CUSTOMER, customer.0)
        );
        let (status, body) = self.get(&admin, &path)?;
        if status != 200 {
            return Err(unexpected(&path, status, &body));
        }
        decode(prefix::CLUSTER, &body["cluster_id"]).ok_or_else(|| unexpected(&path, status, &body))
    }

    fn pay(
        &mut self,
        _at: At,
        customer: CustomerRef,
        amount: Yen,
        channel: &str,
        reference: &str,
    ) -> Result<bool, DriverError> {
        let key = self.payments_key.clone();
        let body = json!({
            "customer": ids::encode(prefix::CUSTOMER, customer.0),
            "amount": amount.get(), "channel": channel, "reference": reference,
        });
        let (status, _) = self.post(&key, "/v1/payments", &body)?;
        Ok(status == 200 || status == 201)
    }
}
