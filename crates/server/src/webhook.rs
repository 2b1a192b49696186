//! Webhook delivery: signs the engine's outbox events and POSTs them to each
//! subscribed endpoint, retrying with backoff.
//!
//! Signature: every request carries
//! `Atobarai-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the MAC
//! is over the bytes `"<t>." + body` with the endpoint's secret. A receiver
//! recomputes it, compares in constant time and refuses a `t` more than
//! five minutes away from its own clock ([`verify`]), so a captured request
//! cannot be replayed later. `t` is the time of each attempt (a retry is
//! signed afresh).
//!
//! Delivery is at-least-once. Events are started in order per endpoint,
//! `webhooks.concurrency` at a time (1 = strictly in order); a failed event
//! is retried after each wait of `webhooks.retry_backoff_ms` (default about
//! three days in all) and then given up (listed as failed on the endpoint)
//! while later events go ahead, at most [`WINDOW`] past the oldest open one.
//! After each round the dispatcher journals [`Command::WebhooksDelivered`]
//! with the cursor (everything before the oldest open event), so a restart
//! resumes there; events delivered past the cursor are sent again after a
//! restart (receivers deduplicate by `Atobarai-Event-Id`). Retry timers are
//! not journaled: after a restart failed events are tried at once.

use crate::node::Node;
use atobarai_core::config::WebhookConfig;
use atobarai_core::ids;
use atobarai_engine::webhook::{Batch, Event, EventData};
use atobarai_engine::{Command, prefix};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Version of the event payload shape (the `version` field).
pub const PAYLOAD_VERSION: u32 = 1;
/// Header with the signature.
pub const SIGNATURE_HEADER: &str = "atobarai-signature";
/// How far a signature's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 300;
/// Events past an endpoint's cursor looked at per round: an event stuck in
/// retries holds the cursor, and at most this many later events go ahead of
/// it (then the endpoint waits: it is most likely down).
pub const WINDOW: usize = 1_000;

/// The signature header value for `body` sent at `timestamp` (unix s).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed signature header")]
    Malformed,
    #[error("timestamp outside the tolerance")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Check a received webhook (what a receiver does; also used by our tests).
/// `now` is the receiver's clock in unix seconds.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if sigs.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if now.abs_diff(t) > tolerance_secs.max(0).unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    let expected = mac(secret, t, body);
    use subtle::ConstantTimeEq;
    if sigs
        .iter()
        .any(|s| s.len() == 32 && bool::from(s.as_slice().ct_eq(&expected)))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The signing secret of the endpoint with `nonce`, derived from the
/// shell's `webhooks.signing_key`: `whsec_` + hex HMAC-SHA256(key,
/// "atobarai-webhook-secret-v1:" + nonce).
pub fn endpoint_secret(signing_key: &str, nonce: &[u8; 16]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key");
    m.update(b"atobarai-webhook-secret-v1:");
    m.update(nonce);
    format!("whsec_{}", hex::encode(m.finalize().into_bytes()))
}

/// May webhooks be delivered to `ip`? Not to private, loopback,
/// link-local, shared, reserved, documentation or multicast space (an
/// endpoint must not reach the provider's own network).
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(a) => {
            let [o1, o2, o3, _] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_unspecified()
                || a.is_multicast()
                || o1 == 0
                || (o1 == 100 && (64..128).contains(&o2)) // shared (CGNAT)
                || (o1 == 192 && o2 == 0 && o3 == 0) // IETF protocol assignments
                || (o1 == 198 && (o2 == 18 || o2 == 19)) // benchmarking
                || o1 >= 240) // reserved
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

/// A resolver that hands the HTTP client public addresses only, checked at
/// every delivery (a name that later resolves to an internal address —
/// DNS rebinding — is refused then).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The public id of event `seq`.
pub fn event_id(seq: u64) -> String {
    ids::encode(prefix::EVENT, seq)
}

/// The JSON body of one event.
pub fn payload(e: &Event) -> Vec<u8> {
    let data = match &e.data {
        EventData::Invoice {
            number,
            product,
            month,
            issued_on,
            due_on,
            amount,
        } => json!({
            "invoice": number,
            "product": product.as_str(),
            "month": month.map(|m| m.to_string()),
            "issued_on": issued_on.to_string(),
            "due_on": due_on.to_string(),
            "amount": amount.get(),
        }),
        EventData::Payment {
            payment,
            amount,
            applied,
            reference,
        } => json!({
            "payment_id": ids::encode(prefix::PAYMENT, u64::from(*payment)),
            "amount": amount.get(),
            "applied": applied.get(),
            "reference": reference,
        }),
        EventData::Overdue {
            first_missed_due,
            principal,
        } => json!({
            "first_missed_due": first_missed_due.to_string(),
            "overdue_principal": principal.get(),
        }),
        EventData::Reversal {
            payment,
            amount,
            reason,
        } => json!({
            "payment_id": ids::encode(prefix::PAYMENT, u64::from(*payment)),
            "amount": amount.get(),
            "reason": reason,
        }),
        EventData::CreditNote {
            number,
            invoice,
            amount,
            amount_after,
        } => json!({
            "credit_note": number,
            "invoice": invoice,
            "amount": amount.get(),
            "purchases_after": amount_after.get(),
        }),
        EventData::Dunning(step) => {
            serde_json::to_value(crate::render::DunningEventJson::from(step)).unwrap_or_default()
        }
        EventData::LimitChanged { from, to, reason } => json!({
            "limit_before": from.get(),
            "limit": to.get(),
            "reason": reason.as_str(),
            "message_ja": reason.text_ja(),
            "message_en": reason.text_en(),
        }),
        EventData::ModelDrift {
            model,
            shadow,
            day,
            scored,
            psi_micro,
        } => json!({
            "model": model,
            "shadow": shadow,
            "day": day.to_string(),
            "scored": scored,
            "psi": crate::http_models::psi_from_micro(*psi_micro),
            "alert_threshold": crate::http_models::PSI_ALERT,
        }),
        EventData::GiftCard {
            card,
            order,
            amount,
            state,
            reason,
        } => json!({
            "gift_card": ids::encode(prefix::GIFT_CARD, u64::from(*card)),
            "order_id": ids::encode(prefix::ORDER, u64::from(*order)),
            "amount": amount.get(),
            "state": state.as_str(),
            "reason": reason.map(|r| r.as_str()),
        }),
        EventData::WalletDebited {
            wallet,
            card,
            amount,
            balance_after,
            reason,
        } => json!({
            "wallet": wallet,
            "gift_card": ids::encode(prefix::GIFT_CARD, u64::from(*card)),
            "amount": amount.get(),
            "balance_after": balance_after.get(),
            "reason": reason.map(|r| r.as_str()),
        }),
        EventData::CustomerFrozen { frozen_at, reason } => json!({
            "frozen": frozen_at.is_some(),
            "frozen_at": frozen_at.map(|t| t.to_rfc3339_jst()),
            "reason": reason,
        }),
        EventData::RiskAlert(a) => json!({
            "alert": "new_device_liquid_share",
            "liquid_orders_this_hour": a.orders,
            "from_new_devices": a.new_device,
            "share_bp": a.share_bp,
            "baseline_bp": a.baseline_bp,
        }),
    };
    serde_json::to_vec(&json!({
        "id": event_id(e.seq),
        // The payload's shape; bumped on any incompatible change.
        "version": PAYLOAD_VERSION,
        "type": e.kind.as_str(),
        "created_at": e.at.to_rfc3339_jst(),
        "customer": ids::encode(prefix::CUSTOMER, u64::from(e.customer)),
        "data": data,
    }))
    .expect("JSON values serialize")
}

/// What the dispatcher remembers of one endpoint between rounds (not
/// journaled: after a restart everything past the cursor is sent again).
#[derive(Default)]
struct EndpointState {
    /// Delivered, past the cursor (waiting for the events before them).
    done: BTreeSet<u64>,
    /// Given up, past the cursor.
    given_up: BTreeSet<u64>,
    /// Failed attempts so far and when the next may start.
    retry: HashMap<u64, (usize, Instant)>,
}

impl EndpointState {
    fn finished(&self, seq: u64) -> bool {
        self.done.contains(&seq) || self.given_up.contains(&seq)
    }

    /// The earliest time a waiting retry may start.
    fn next_retry(&self) -> Option<Instant> {
        self.retry.values().map(|r| r.1).min()
    }
}

/// The delivery loop; returns when `stop` fires.
pub async fn run(
    node: Arc<Node>,
    cfg: WebhookConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.timeout_ms.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("atobarai-webhooks/", env!("CARGO_PKG_VERSION")));
    if !cfg.allow_private_targets {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; deliveries stopped");
            return;
        }
    };
    let cfg = Arc::new(cfg);
    let mut states: HashMap<u32, EndpointState> = HashMap::new();
    loop {
        // Only the leader delivers (its acknowledgements are journaled);
        // a follower that takes over resumes at the journaled cursor.
        if !node.is_leader() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                _ = stop.changed() => return,
            }
        }
        let (batches, held, dropped) = match node
            .read(|e| {
                (
                    e.webhook_batches(WINDOW),
                    e.webhook_events_held(),
                    e.webhook_events_dropped(),
                )
            })
            .await
        {
            Ok(b) => b,
            Err(_) => return,
        };
        node.metrics.webhook_outbox_events.set(held as i64);
        node.metrics.webhook_events_dropped.set(dropped as i64);
        states.retain(|k, _| batches.iter().any(|b| b.endpoint == *k));
        let mut progressed = false;
        let mut rounds = tokio::task::JoinSet::new();
        for batch in batches {
            let state = states.remove(&batch.endpoint).unwrap_or_default();
            let (client, cfg, metrics) = (client.clone(), cfg.clone(), node.metrics.clone());
            rounds.spawn(async move { round(&client, &cfg, &metrics, batch, state).await });
        }
        while let Some(done) = rounds.join_next().await {
            let Ok((endpoint, state, ack)) = done else {
                continue;
            };
            if let Some((through, failed)) = ack {
                progressed = true;
                let command = Command::WebhooksDelivered {
                    endpoint: u64::from(endpoint),
                    through,
                    failed,
                };
                match node.submit(None, command).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "webhooks: acknowledgement refused"),
                    Err(crate::node::Unavailable::Stopped) => return,
                    // Not journaled (journal down, or no longer leading):
                    // the events are sent again from the journaled cursor.
                    Err(e) => tracing::warn!(error = ?e, "webhooks: acknowledgement not journaled"),
                }
            }
            states.insert(endpoint, state);
        }
        let idle = Duration::from_millis(200);
        let wait = if progressed {
            Duration::from_millis(5)
        } else {
            states
                .values()
                .filter_map(EndpointState::next_retry)
                .min()
                .map_or(idle, |t| {
                    t.saturating_duration_since(Instant::now()).min(idle)
                })
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One round for one endpoint: send every event of the window that is not
/// finished and not waiting for a retry, at most `concurrency` at a time.
/// Returns the state and, if the cursor can move, `(through, given_up)`.
async fn round(
    client: &reqwest::Client,
    cfg: &WebhookConfig,
    metrics: &crate::metrics::Metrics,
    batch: Batch,
    mut st: EndpointState,
) -> (u32, EndpointState, Option<(u64, Vec<u64>)>) {
    let now = Instant::now();
    let due: Vec<&Event> = batch
        .events
        .iter()
        .filter(|e| !st.finished(e.seq) && st.retry.get(&e.seq).is_none_or(|r| r.1 <= now))
        .collect();
    let limit = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    let allow_private = cfg.allow_private_targets;
    let mut sends = tokio::task::JoinSet::new();
    for e in due {
        let (client, limit) = (client.clone(), limit.clone());
        let url = batch.url.clone();
        let secret = endpoint_secret(&cfg.signing_key, &batch.key_nonce);
        let (seq, kind, body) = (e.seq, e.kind.as_str(), payload(e));
        sends.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let started = Instant::now();
            let result = if private_ip_literal(&url) && !allow_private {
                Err("the endpoint is a private address".to_string())
            } else {
                post(&client, &url, &secret, seq, kind, body).await
            };
            (seq, result, started.elapsed())
        });
    }
    let attempt = |result| {
        metrics
            .webhook_attempts
            .get_or_create(&crate::metrics::DeliveryLabels { result })
            .inc();
    };
    while let Some(Ok((seq, result, took))) = sends.join_next().await {
        metrics.webhook_seconds.observe(took.as_secs_f64());
        match result {
            Ok(()) => {
                attempt("delivered");
                st.retry.remove(&seq);
                st.done.insert(seq);
            }
            Err(why) => {
                let failures = st.retry.get(&seq).map_or(0, |r| r.0) + 1;
                if failures > cfg.retry_backoff_ms.len() {
                    attempt("given_up");
                    tracing::warn!(endpoint = batch.endpoint, event = seq, %why,
                        "webhooks: giving up after every retry");
                    st.retry.remove(&seq);
                    st.given_up.insert(seq);
                } else {
                    attempt("failed");
                    let wait = Duration::from_millis(cfg.retry_backoff_ms[failures - 1]);
                    tracing::debug!(endpoint = batch.endpoint, event = seq, %why,
                        wait_ms = wait.as_millis() as u64, "webhooks: delivery failed; will retry");
                    st.retry.insert(seq, (failures, Instant::now() + wait));
                }
            }
        }
    }
    let ack = st.advance(&batch);
    (batch.endpoint, st, ack)
}

impl EndpointState {
    /// Move the cursor to just before the first event of the window still
    /// open (events of kinds the endpoint does not take are passed over with
    /// the rest); forget what is now behind it. Returns `(through,
    /// given_up)` when it moved.
    fn advance(&mut self, batch: &Batch) -> Option<(u64, Vec<u64>)> {
        let through = match batch.events.iter().find(|e| !self.finished(e.seq)) {
            Some(open) => open.seq - 1,
            None => batch.scanned_through,
        };
        if through <= batch.after {
            return None;
        }
        let given_up: Vec<u64> = self.given_up.range(..=through).copied().collect();
        self.done = self.done.split_off(&(through + 1));
        self.given_up = self.given_up.split_off(&(through + 1));
        self.retry.retain(|&seq, _| seq > through);
        Some((through, given_up))
    }
}

/// Is `url`'s host an IP literal that is not public? (IP literals bypass
/// the resolver, so they are checked here.)
pub fn private_ip_literal(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return true;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => !is_public(ip),
        Err(_) => bare == "localhost" || bare.ends_with(".localhost"),
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    seq: u64,
    kind: &str,
    body: Vec<u8>,
) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let signature = sign(secret, now, &body);
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("atobarai-event-id", event_id(seq))
        .header("atobarai-event-type", kind)
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

/// An endpoint as operators see it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EndpointJson {
    pub id: String,
    pub url: String,
    pub events: Vec<&'static str>,
    pub created_at: String,
    pub removed_at: Option<String>,
    /// Events delivered so far.
    pub delivered: u64,
    /// Events waiting.
    pub pending: u64,
    /// Ids of events given up after every retry (most recent).
    pub failed: Vec<String>,
    pub failed_total: u64,
    /// The signing secret: returned once, when the endpoint is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&atobarai_engine::webhook::EndpointView> for EndpointJson {
    fn from(v: &atobarai_engine::webhook::EndpointView) -> EndpointJson {
        EndpointJson {
            id: ids::encode(prefix::ENDPOINT, u64::from(v.endpoint)),
            url: v.url.clone(),
            events: v.events.iter().map(|k| k.as_str()).collect(),
            created_at: v.created_at.to_rfc3339_jst(),
            removed_at: v.removed_at.map(atobarai_core::At::to_rfc3339_jst),
            delivered: v.delivered,
            pending: v.pending,
            failed: v.failed.iter().map(|&s| event_id(s)).collect(),
            failed_total: v.failed_total,
            secret: None,
        }
    }
}

impl crate::http::ApiBody for EndpointJson {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_refusals() {
        let secret = "whsec_0123456789abcdef0123456789abcdef";
        let body = br#"{"id":"evt_x"}"#;
        let h = sign(secret, 1_800_000_000, body);
        assert!(h.starts_with("t=1800000000,v1="));
        assert_eq!(
            verify(secret, &h, body, 1_800_000_100, TOLERANCE_SECS),
            Ok(())
        );
        assert_eq!(
            verify(secret, &h, b"{}", 1_800_000_000, TOLERANCE_SECS),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                "another-secret-another-secret-xx",
                &h,
                body,
                1_800_000_000,
                300
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(secret, &h, body, 1_800_000_301, TOLERANCE_SECS),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(secret, "v1=00", body, 1_800_000_000, 300),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(secret, "t=1800000000,v1=zz", body, 1_800_000_000, 300),
            Err(VerifyError::Malformed)
        );
        // Extreme timestamps are stale, not an overflow.
        let far = format!("t={},v1={}", i64::MIN, "00".repeat(32));
        assert_eq!(
            verify(secret, &far, body, i64::MAX, 300),
            Err(VerifyError::Stale)
        );
        // A timestamp moved by an attacker breaks the MAC.
        let moved = h.replacen("t=1800000000", "t=1800000200", 1);
        assert_eq!(
            verify(secret, &moved, body, 1_800_000_200, TOLERANCE_SECS),
            Err(VerifyError::Mismatch)
        );
    }

    fn batch(after: u64, seqs: &[u64], scanned_through: u64) -> Batch {
        Batch {
            endpoint: 0,
            url: String::new(),
            key_nonce: [0; 16],
            after,
            events: seqs
                .iter()
                .map(|&seq| Event {
                    seq,
                    at: atobarai_core::At::from_unix_ms(0),
                    kind: atobarai_engine::webhook::EventKind::InvoiceIssued,
                    customer: 0,
                    data: EventData::Overdue {
                        first_missed_due: atobarai_core::JstDate::parse("2026-07-10").unwrap(),
                        principal: atobarai_core::Yen::new(1),
                    },
                })
                .collect(),
            scanned_through,
        }
    }

    #[test]
    fn the_cursor_stops_before_the_first_open_event() {
        // Events 11, 13, 14 are this endpoint's; 12 and 15 are of other kinds.
        let b = batch(10, &[11, 13, 14], 15);
        let mut st = EndpointState::default();
        assert_eq!(st.advance(&b), None, "nothing finished");
        st.done.insert(13);
        st.done.insert(14);
        st.retry.insert(11, (2, Instant::now()));
        assert_eq!(st.advance(&b), None, "11 still open holds the cursor");
        st.retry.remove(&11);
        st.given_up.insert(11);
        // Everything finished: through the last event looked at, 11 listed
        // as given up, and the state forgets what is behind the cursor.
        assert_eq!(st.advance(&b), Some((15, vec![11])));
        assert!(st.done.is_empty() && st.given_up.is_empty() && st.retry.is_empty());

        let b = batch(20, &[21, 22, 25], 30);
        let mut st = EndpointState::default();
        st.done.extend([21, 22]);
        st.retry.insert(25, (1, Instant::now()));
        assert_eq!(st.advance(&b), Some((24, vec![])));
        assert_eq!(st.retry.len(), 1, "25 is still waiting for its retry");
    }

    proptest::proptest! {
        /// Any header, body and clock: `verify` answers, never panics; and
        /// whatever `sign` makes, `verify` accepts within the tolerance.
        #[test]
        fn verify_is_total_and_accepts_what_sign_makes(
            header in proptest::prop_oneof![
                ".{0,120}",
                "t=-?[0-9]{1,20},v1=[0-9a-f]{0,70}",
            ],
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            secret in ".{0,40}",
            t in -4_000_000_000i64..4_000_000_000,
            skew in -300i64..=300,
            now in proptest::prelude::any::<i64>(),
        ) {
            let _ = verify(&secret, &header, &body, now, TOLERANCE_SECS);
            let signed = sign(&secret, t, &body);
            proptest::prop_assert_eq!(verify(&secret, &signed, &body, t + skew, TOLERANCE_SECS), Ok(()));
        }
    }

    #[test]
    fn only_public_addresses_are_delivery_targets() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "203.0.114.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        assert!(private_ip_literal(
            "https://169.254.169.254/latest/meta-data"
        ));
        assert!(private_ip_literal("https://[::1]:8443/h"));
        assert!(private_ip_literal("https://localhost/h"));
        assert!(!private_ip_literal("https://hooks.example.com/h"));
        assert!(!private_ip_literal("https://8.8.8.8/h"));
    }

    /// A name that resolves to loopback only (here `localhost`; in an
    /// attack, a rebinding name) gives the client no address to connect to.
    #[tokio::test]
    async fn the_resolver_hands_out_public_addresses_only() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = PublicOnly.resolve(name).await.err().expect("refused");
        assert!(err.to_string().contains("no public address"), "{err}");
    }

    #[test]
    fn endpoint_secrets_depend_on_key_and_nonce() {
        let a = endpoint_secret("key-one", &[1; 16]);
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64);
        assert_eq!(a, endpoint_secret("key-one", &[1; 16]));
        assert_ne!(a, endpoint_secret("key-one", &[2; 16]));
        assert_ne!(a, endpoint_secret("key-two", &[1; 16]));
    }

    /// A fixed vector (computed with Python's `hmac` module), so receivers
    /// in other languages can check their code against ours.
    #[test]
    fn known_vector() {
        assert_eq!(
            sign("whsec_test", 1_800_000_000, br#"{"id":"evt_1"}"#),
            "t=1800000000,v1=45705be2a45ab5acdd1395cc695e9e7073125385ec24194921c401dff44176f8"
        );
    }

    #[test]
    fn gift_card_events_name_the_card_the_wallet_and_the_reason() {
        use atobarai_engine::webhook::EventKind;
        use atobarai_engine::{GiftCardState, RevocationReason};
        let event = |kind, data| Event {
            seq: 7,
            at: atobarai_core::At::from_unix_ms(0),
            kind,
            customer: 3,
            data,
        };
        let revoked = payload(&event(
            EventKind::GiftCardRevoked,
            EventData::GiftCard {
                card: 2,
                order: 5,
                amount: atobarai_core::Yen::new(5_000),
                state: GiftCardState::Revoked,
                reason: Some(RevocationReason::ScamVictim),
            },
        ));
        let v: serde_json::Value = serde_json::from_slice(&revoked).unwrap();
        assert_eq!(v["type"], "gift_card.revoked");
        assert_eq!(v["data"]["gift_card"], ids::encode(prefix::GIFT_CARD, 2));
        assert_eq!(v["data"]["order_id"], ids::encode(prefix::ORDER, 5));
        assert_eq!(v["data"]["state"], "revoked");
        assert_eq!(v["data"]["reason"], "scam_victim");
        let debited = payload(&event(
            EventKind::WalletDebited,
            EventData::WalletDebited {
                wallet: "w-1".into(),
                card: 2,
                amount: atobarai_core::Yen::new(5_000),
                balance_after: atobarai_core::Yen::new(-1_000),
                reason: Some(RevocationReason::Fraud),
            },
        ));
        let v: serde_json::Value = serde_json::from_slice(&debited).unwrap();
        assert_eq!(v["type"], "wallet.debited");
        assert_eq!(v["data"]["wallet"], "w-1");
        assert_eq!(v["data"]["balance_after"], -1_000);
        assert_eq!(v["data"]["reason"], "fraud");
        assert_eq!(
            EventKind::parse("gift_card.reinstated"),
            Some(EventKind::GiftCardReinstated)
        );
    }
}
