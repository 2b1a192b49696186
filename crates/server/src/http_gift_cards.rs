//! The gift-card issuer's HTTP routes (API.md "Gift cards") and the shell's
//! part of them: drawing codes, hashing them under `gift_cards.code_secret`
//! (the engine, the journal and snapshots only ever see the keyed hash),
//! limiting redemption attempts per wallet and per IP address, and keeping
//! cluster-revocation previews until an operator confirms one.
//!
//! A code reads `XXXX-XXXX-XXXX-XXXX-C`: 16 random characters of Crockford's
//! base-32 alphabet less `Z` (31 symbols, 79 bits) and a check character
//! (Σ position × value mod 31, a prime larger than any difference of two
//! values, so any one mistyped character and any swap of two adjacent
//! characters is caught before the engine is asked). Input is
//! normalized first: case, spaces and hyphens are ignored; `O` reads `0`,
//! `I` and `L` read `1`.
//!
//! Attempt limits live in this process's memory (not journaled, not shared
//! between nodes, forgotten at restart): every refused redemption counts
//! against its wallet and its client IP address; `wallet_failures_max` /
//! `ip_failures_max` failures within `window_secs` lock that wallet or
//! address out for `lockout_secs` (`429 too_many_attempts`, `Retry-After`).
//! A wrong code gets one answer whatever the reason (`422
//! gift_card_invalid`): malformed, unknown, already redeemed or another
//! issuer's. A revoked or voided code answers `409 gift_card_invalidated`,
//! as the issuer's terms require telling the holder.

use crate::dto::{order_id, text};
use crate::error::{ApiError, ErrorBody};
use crate::http::{ApiBody, ApiPath, AppState, Caller, IdemKey, JsonBody, read, reply, submit};
use crate::render::Order;
use atobarai_core::config::GiftCardConfig;
use atobarai_core::ids;
use atobarai_engine::{
    AppealView, Applied, CardEvent, ClusterRevocationPreview, Command, EvidenceStep, GiftCardView,
    Idem, Outcome, Principal, RevocationReason, RevocationTarget, RevokedCard, WalletEntryKind,
    WalletView, prefix,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Crockford's base-32 alphabet without `Z`: 31 symbols, a prime.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKMNPQRSTVWXY";
/// Random characters of a code.
const CODE_CHARS: usize = 16;
/// Cluster previews kept at most (the oldest is dropped beyond).
const PREVIEWS_MAX: usize = 1_024;
/// How long a preview may be confirmed.
const PREVIEW_TTL: Duration = Duration::from_secs(3_600);
/// Tracked wallets and addresses before expired entries are swept.
const TRACKED_MAX: usize = 100_000;

// ----- codes -------------------------------------------------------------------

fn value_of(c: u8) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        c => c,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// The check value of `values`: Σ (position + 1) × value, mod 31 (a prime,
/// so no single change or adjacent swap keeps the sum).
fn check_value(values: &[u8]) -> u8 {
    let sum = values.iter().enumerate().fold(0u32, |acc, (i, &v)| {
        acc.wrapping_add((i as u32).wrapping_add(1).wrapping_mul(u32::from(v)))
    });
    (sum % 31) as u8
}

/// A new random code, as shown to the buyer.
pub fn draw_code() -> String {
    let mut rng = rand::rng();
    let mut values = Vec::with_capacity(CODE_CHARS);
    while values.len() < CODE_CHARS {
        // Rejection sampling: 248 = 8 × 31, so every symbol is equally likely.
        let b = (rng.next_u32() & 0xFF) as u8;
        if b < 248 {
            values.push(b % 31);
        }
    }
    let mut out = String::with_capacity(CODE_CHARS + 5);
    for (i, &v) in values.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[v as usize] as char);
    }
    out.push('-');
    out.push(ALPHABET[check_value(&values) as usize] as char);
    out
}

/// The canonical form of a presented code (16 characters and the check),
/// or `None` when it is malformed or its check character is wrong.
pub fn normalize_code(code: &str) -> Option<String> {
    if code.len() > 64 {
        return None;
    }
    let values: Vec<u8> = code
        .bytes()
        .filter(|b| !matches!(b, b'-' | b' '))
        .map(value_of)
        .collect::<Option<_>>()?;
    let (body, check) = values.split_at_checked(CODE_CHARS)?;
    if check != [check_value(body)] {
        return None;
    }
    Some(
        values
            .iter()
            .map(|&v| ALPHABET[v as usize] as char)
            .collect(),
    )
}

// ----- the shell's state ---------------------------------------------------------

/// One wallet's or address's recent failures.
struct Attempts {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

/// A cluster revocation waiting for confirmation.
struct Preview {
    made: Instant,
    reason: RevocationReason,
    cards: Vec<u64>,
}

/// The gift-card state the shell keeps: the code secret, attempt counters,
/// previews.
pub struct GiftCardShell {
    secret: Vec<u8>,
    config: GiftCardConfig,
    wallets: Mutex<HashMap<String, Attempts>>,
    ips: Mutex<HashMap<IpAddr, Attempts>>,
    previews: Mutex<HashMap<String, Preview>>,
}

impl GiftCardShell {
    pub fn new(config: &GiftCardConfig) -> GiftCardShell {
        GiftCardShell {
            secret: config.code_secret.as_bytes().to_vec(),
            config: config.clone(),
            wallets: Mutex::default(),
            ips: Mutex::default(),
            previews: Mutex::default(),
        }
    }

    /// The keyed hash of a canonical code.
    pub fn hash(&self, canonical: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(b"atobarai gift card v1\0");
        mac.update(canonical.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs.max(1))
    }

    fn lockout(&self) -> Duration {
        Duration::from_secs(self.config.lockout_secs)
    }

    /// Seconds until `wallet` or `ip` may try again, if locked out.
    fn locked(&self, wallet: &str, ip: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        let left = |a: Option<&Attempts>| {
            a.and_then(|a| a.locked_until)
                .filter(|&t| t > now)
                .map(|t| t.duration_since(now).as_secs().max(1))
        };
        let w = left(lock(&self.wallets).get(wallet));
        let i = ip.and_then(|ip| left(lock(&self.ips).get(&ip)));
        w.max(i)
    }

    /// Count a failed redemption against `wallet` and `ip`.
    fn failed(&self, wallet: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let (window, lockout) = (self.window(), self.lockout());
        let bump = |a: &mut Attempts, max: u32| {
            if now.duration_since(a.window_start) > window {
                a.window_start = now;
                a.failures = 0;
            }
            a.failures = a.failures.saturating_add(1);
            if a.failures >= max {
                a.locked_until = Some(now + lockout);
                a.failures = 0;
                a.window_start = now;
            }
        };
        let fresh = || Attempts {
            window_start: now,
            failures: 0,
            locked_until: None,
        };
        {
            let mut wallets = lock(&self.wallets);
            sweep(&mut wallets, now, window);
            let a = wallets.entry(wallet.to_string()).or_insert_with(fresh);
            bump(a, self.config.wallet_failures_max.max(1));
        }
        if let Some(ip) = ip {
            let mut ips = lock(&self.ips);
            sweep(&mut ips, now, window);
            let a = ips.entry(ip).or_insert_with(fresh);
            bump(a, self.config.ip_failures_max.max(1));
        }
    }

    fn keep_preview(&self, reason: RevocationReason, cards: Vec<u64>) -> String {
        let mut id = [0u8; 12];
        rand::rng().fill_bytes(&mut id);
        let id = format!("{}_{}", prefix::REVOCATION, hex::encode(id));
        let mut previews = lock(&self.previews);
        let now = Instant::now();
        previews.retain(|_, p| now.duration_since(p.made) < PREVIEW_TTL);
        if previews.len() >= PREVIEWS_MAX
            && let Some(oldest) = previews
                .iter()
                .min_by_key(|(_, p)| p.made)
                .map(|(k, _)| k.clone())
        {
            previews.remove(&oldest);
        }
        previews.insert(
            id.clone(),
            Preview {
                made: now,
                reason,
                cards,
            },
        );
        id
    }

    fn take_preview(&self, id: &str) -> Option<Preview> {
        let mut previews = lock(&self.previews);
        let p = previews.remove(id)?;
        (Instant::now().duration_since(p.made) < PREVIEW_TTL).then_some(p)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Drop counters that are neither locked nor inside their window once the
/// map grows large (bounded memory under a spray of wallet ids).
fn sweep<K>(map: &mut HashMap<K, Attempts>, now: Instant, window: Duration) {
    if map.len() < TRACKED_MAX {
        return;
    }
    map.retain(|_, a| {
        a.locked_until.is_some_and(|t| t > now) || now.duration_since(a.window_start) <= window
    });
}

/// The client's address, as the accept loop recorded it.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub std::net::SocketAddr);

// ----- wire types ------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    /// The code as printed (`XXXX-XXXX-XXXX-XXXX-C`; case, spaces and hyphens ignored).
    #[schema(max_length = 64)]
    pub code: String,
    /// The wallet to credit (the issuer's own id for it).
    #[schema(min_length = 1, max_length = 64, pattern = r"^[\x21-\x7e]+$")]
    pub wallet: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendBody {
    /// Yen paid from the balance (at most the balance).
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// The issuer's reference for the purchase.
    #[schema(min_length = 1, max_length = 64)]
    pub reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct WalletBalance {
    pub wallet: String,
    pub balance: i64,
}
impl ApiBody for WalletBalance {}

#[derive(Serialize, ToSchema)]
pub struct WalletEntryJson {
    pub at: String,
    /// `redeemed`, `revoked`, `reinstated` or `spent`.
    pub kind: &'static str,
    /// The card (none for a purchase paid from the balance).
    pub gift_card: Option<String>,
    /// Signed: negative for a revocation.
    pub amount: i64,
    /// The revocation's reason (`fraud`, `resale`, `scam_victim`, `terms_breach`).
    pub reason: Option<&'static str>,
    pub balance_after: i64,
}

#[derive(Serialize, ToSchema)]
pub struct WalletJson {
    pub id: String,
    pub merchant: String,
    /// May be negative after a claw-back.
    pub balance: i64,
    pub entries: Vec<WalletEntryJson>,
}

#[derive(Serialize, ToSchema)]
pub struct CardEventJson {
    pub at: String,
    /// `issued`, `redeemed`, `voided`, `revoked`, `appeal_filed`, `appeal_refused`, `reinstated`.
    pub event: &'static str,
    /// Who: `mer_…`, `opr_…` or `system`.
    pub by: String,
    pub reason: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct GiftCardJson {
    pub id: String,
    pub order: String,
    pub item: u32,
    pub customer: String,
    /// The buyer's identity cluster (`idc_…`).
    pub cluster: Option<String>,
    pub amount: i64,
    /// `issued`, `redeemed`, `voided`, `revoked` or `reinstated`.
    pub state: &'static str,
    pub wallet: Option<String>,
    /// The buyer's debt for the card was cancelled (scam victim).
    pub debt_cancelled: bool,
    pub history: Vec<CardEventJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationBody {
    /// An order (`ord_…`): every card it issued.
    pub order: Option<String>,
    /// One code, as printed.
    #[schema(max_length = 64)]
    pub code: Option<String>,
    /// A customer (`cus_…`): every card its identity cluster bought;
    /// answers a preview to confirm.
    pub cluster_of: Option<String>,
    /// `fraud`, `resale`, `scam_victim` or `terms_breach`.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct RevokedCardJson {
    pub gift_card: String,
    pub order: String,
    pub amount: i64,
    /// The card's state before: `issued`, `redeemed` or `reinstated`.
    pub was: &'static str,
    /// The wallet debited (redeemed cards).
    pub wallet: Option<String>,
    /// Its balance after (may be negative).
    pub wallet_balance: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RevocationJson {
    pub reason: &'static str,
    pub revoked: Vec<RevokedCardJson>,
}
impl ApiBody for RevocationJson {}

#[derive(Serialize, ToSchema)]
pub struct EvidenceJson {
    pub from: String,
    pub to: String,
    /// The kind of shared key (`phone`, `email`, `device`, …).
    pub kind: &'static str,
    /// The shared keyed hash (hex: a blind index).
    pub key: String,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewAccountJson {
    pub customer: String,
    /// The chain of shared keys from the named customer to this one
    /// (empty for the named customer).
    pub evidence: Vec<EvidenceJson>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewJson {
    pub preview: String,
    pub reason: &'static str,
    pub accounts: Vec<PreviewAccountJson>,
    pub codes: Vec<GiftCardJson>,
    /// Wallets the confirmation would debit.
    pub wallets: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    pub wallet: String,
    /// The card taken back (`gft_…`, as the wallet's entry names it).
    pub gift_card: String,
    /// A receipt, an order number, a free-text account.
    #[schema(min_length = 1, max_length = 4000)]
    pub evidence: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecisionBody {
    /// `reinstate` or `refuse`.
    pub decision: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct AppealDecisionJson {
    pub decision: &'static str,
    pub by: String,
    pub at: String,
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct AppealJson {
    pub id: String,
    pub gift_card: String,
    pub wallet: String,
    pub evidence: String,
    pub filed_at: String,
    pub filed_by: String,
    pub decision: Option<AppealDecisionJson>,
    /// The purchase trail: the card, its order, buyer and history.
    pub trail: GiftCardJson,
}
impl ApiBody for AppealJson {}

#[derive(Serialize, ToSchema)]
pub struct IssuedGiftCardJson {
    /// The code, shown only in this first answer (null on a replay).
    pub code: Option<String>,
    pub id: String,
    /// Index of the order line.
    pub item: u32,
    pub amount: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CapturedOrder {
    #[serde(flatten)]
    pub order: Order,
    pub gift_cards: Vec<IssuedGiftCardJson>,
}
impl ApiBody for CapturedOrder {}

// ----- rendering -----------------------------------------------------------------------

fn who(p: Principal) -> String {
    match p {
        Principal::Merchant(m) => ids::encode(prefix::MERCHANT, u64::from(m)),
        Principal::Operator(o, _) => ids::encode(prefix::OPERATOR, u64::from(o)),
        Principal::System => "system".into(),
    }
}

fn card_id(i: u64) -> String {
    ids::encode(prefix::GIFT_CARD, i)
}

fn card_json(c: &GiftCardView) -> GiftCardJson {
    GiftCardJson {
        id: card_id(c.card),
        order: ids::encode(prefix::ORDER, c.order),
        item: c.item,
        customer: ids::encode(prefix::CUSTOMER, c.customer),
        cluster: c.cluster.map(|x| ids::encode(prefix::CLUSTER, x)),
        amount: c.amount.get(),
        state: c.state.as_str(),
        wallet: c.wallet.clone(),
        debt_cancelled: c.debt_cancelled,
        history: c.history.iter().map(event_json).collect(),
    }
}

fn event_json(e: &CardEvent) -> CardEventJson {
    CardEventJson {
        at: e.at.to_rfc3339_jst(),
        event: e.kind.as_str(),
        by: who(e.by),
        reason: e.reason.map(RevocationReason::as_str),
    }
}

fn wallet_json(w: &WalletView) -> WalletJson {
    WalletJson {
        id: w.id.clone(),
        merchant: ids::encode(prefix::MERCHANT, u64::from(w.merchant)),
        balance: w.balance.get(),
        entries: w
            .entries
            .iter()
            .map(|e| WalletEntryJson {
                at: e.at.to_rfc3339_jst(),
                kind: e.kind.as_str(),
                gift_card: (e.kind != WalletEntryKind::Spent).then(|| card_id(u64::from(e.card))),
                amount: e.amount.get(),
                reason: e.reason.map(RevocationReason::as_str),
                balance_after: e.balance_after.get(),
            })
            .collect(),
    }
}

fn appeal_json(a: &AppealView) -> AppealJson {
    AppealJson {
        id: ids::encode(prefix::APPEAL, a.appeal),
        gift_card: card_id(a.card),
        wallet: a.wallet.clone(),
        evidence: a.evidence.clone(),
        filed_at: a.filed_at.to_rfc3339_jst(),
        filed_by: who(a.filed_by),
        decision: a.decision.as_ref().map(|d| AppealDecisionJson {
            decision: if d.reinstated {
                "reinstated"
            } else {
                "refused"
            },
            by: who(d.by),
            at: d.at.to_rfc3339_jst(),
            note: d.note.clone(),
        }),
        trail: card_json(&a.trail),
    }
}

fn revoked_json(reason: RevocationReason, cards: &[RevokedCard]) -> RevocationJson {
    RevocationJson {
        reason: reason.as_str(),
        revoked: cards
            .iter()
            .map(|c| RevokedCardJson {
                gift_card: card_id(c.card),
                order: ids::encode(prefix::ORDER, c.order),
                amount: c.amount.get(),
                was: c.was.as_str(),
                wallet: c.wallet.as_ref().map(|(w, _)| w.clone()),
                wallet_balance: c.wallet.as_ref().map(|(_, b)| b.get()),
            })
            .collect(),
    }
}

fn evidence_json(e: &EvidenceStep) -> EvidenceJson {
    EvidenceJson {
        from: ids::encode(prefix::CUSTOMER, u64::from(e.from)),
        to: ids::encode(prefix::CUSTOMER, u64::from(e.to)),
        kind: e.kind.as_str(),
        key: e.key.to_hex(),
    }
}

fn invalid_code() -> ApiError {
    ApiError::invalid(
        "gift_card_invalid",
        "code",
        "this gift card code is not valid",
    )
}

fn reason_of(s: &str) -> Result<RevocationReason, ApiError> {
    RevocationReason::parse(s).ok_or_else(|| {
        ApiError::invalid(
            "invalid_reason",
            "reason",
            "reason is one of fraud, resale, scam_victim, terms_breach",
        )
    })
}

fn wallet_id(w: &str) -> Result<String, ApiError> {
    let ok = !w.is_empty()
        && w.len() <= atobarai_engine::WALLET_ID_CHARS_MAX
        && w.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(w.to_string())
    } else {
        Err(ApiError::invalid(
            "wallet_invalid",
            "wallet",
            "a wallet id has 1 to 64 visible ASCII characters",
        ))
    }
}

// ----- capture (called by `http::capture_order`) ---------------------------------------

/// Capture an issuer's order holding `units` gift cards: draw one code
/// per card, journal their keyed hashes, answer the order with the codes.
pub(crate) async fn capture_issuing(
    app: &AppState,
    principal: Principal,
    key: String,
    order: u64,
    amount: Option<atobarai_core::Yen>,
    units: u32,
) -> Result<Response, ApiError> {
    let shell = &app.node.gift_cards;
    let codes: Vec<String> = (0..units).map(|_| draw_code()).collect();
    let hashes: Vec<[u8; 32]> = codes
        .iter()
        .map(|c| shell.hash(&normalize_code(c).expect("drawn codes are valid")))
        .collect();
    // The fingerprint must not cover the random codes, or a retry would
    // look like a different request.
    let idem = Idem {
        principal,
        key,
        request_hash: Command::CaptureGiftCards {
            principal,
            order,
            amount,
            codes: Vec::new(),
        }
        .fingerprint(),
    };
    let command = Command::CaptureGiftCards {
        principal,
        order,
        amount,
        codes: hashes.clone(),
    };
    let applied = match app.node.submit(Some(idem), command).await {
        Err(u) => return Err(u.into()),
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(a)) => a,
    };
    let r = reply(applied, StatusCode::OK, |o| match o {
        Outcome::GiftCardsIssued { order, cards } => Some(CapturedOrder {
            order: order.as_ref().into(),
            gift_cards: cards
                .iter()
                .map(|c| IssuedGiftCardJson {
                    // A replay answers the cards of the first capture,
                    // whose codes this request did not draw.
                    code: hashes
                        .iter()
                        .position(|h| *h == c.code_hash)
                        .map(|i| codes[i].clone()),
                    id: card_id(c.card),
                    item: c.item,
                    amount: c.amount.get(),
                })
                .collect(),
        }),
        _ => None,
    })?;
    let mut response = r.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

// ----- handlers -------------------------------------------------------------------------

/// Redeem a gift card into a wallet.
#[utoipa::path(post, path = "/v1/gift-cards/redeem", request_body = RedeemBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = WalletBalance),
        (status = 409, description = "gift_card_invalidated", body = ErrorBody),
        (status = 422, description = "gift_card_invalid (any wrong code)", body = ErrorBody),
        (status = 429, description = "too_many_attempts", body = ErrorBody)))]
pub async fn redeem(
    State(app): State<AppState>,
    caller: Caller,
    peer: Option<axum::Extension<PeerAddr>>,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<RedeemBody>,
) -> Result<Response, ApiError> {
    let shell = app.node.gift_cards.clone();
    let wallet = wallet_id(&body.wallet)?;
    let ip = peer.map(|axum::Extension(PeerAddr(a))| a.ip());
    if let Some(secs) = shell.locked(&wallet, ip) {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed attempts: try again later",
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(r);
    }
    let Some(canonical) = normalize_code(&body.code) else {
        shell.failed(&wallet, ip);
        return Err(invalid_code());
    };
    let command = Command::RedeemGiftCard {
        principal: caller.0,
        code: shell.hash(&canonical),
        wallet: wallet.clone(),
    };
    match submit(&app, caller.0, key, command).await {
        Ok(applied) => Ok(reply(applied, StatusCode::OK, |o| match o {
            Outcome::WalletBalance { wallet, balance } => Some(WalletBalance {
                wallet: wallet.clone(),
                balance: balance.get(),
            }),
            _ => None,
        })?
        .into_response()),
        Err(e) => {
            if matches!(e.code, "gift_card_invalid" | "gift_card_invalidated") {
                shell.failed(&wallet, ip);
            }
            Err(e)
        }
    }
}

/// A wallet's balance and entries.
#[utoipa::path(get, path = "/v1/wallets/{id}",
    responses((status = 200, body = WalletJson), (status = 404, body = ErrorBody)))]
pub async fn get_wallet(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WalletJson>, ApiError> {
    let p = caller.0;
    let w = read(&app, move |e| e.wallet(p, &id)).await??;
    Ok(Json(wallet_json(&w)))
}

/// The issuer records a purchase paid from a wallet's balance.
#[utoipa::path(post, path = "/v1/wallets/{id}/purchases", request_body = SpendBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = WalletBalance), (status = "4XX", body = ErrorBody)))]
pub async fn spend(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<SpendBody>,
) -> Result<impl IntoResponse, ApiError> {
    let reference = text("reference", &body.reference, 64, true)?;
    let amount = atobarai_core::Yen::positive(body.amount)
        .ok()
        .filter(|a| *a <= atobarai_core::Yen::AMOUNT_MAX)
        .ok_or_else(|| ApiError::invalid("invalid_amount", "amount", "amount is ¥1 or more"))?;
    let command = Command::SpendWallet {
        principal: caller.0,
        wallet: id,
        amount,
        reference,
    };
    let applied = submit(&app, caller.0, key, command).await?;
    reply(applied, StatusCode::OK, |o| match o {
        Outcome::WalletBalance { wallet, balance } => Some(WalletBalance {
            wallet: wallet.clone(),
            balance: balance.get(),
        }),
        _ => None,
    })
}

/// A gift card with its history (merchants see their own).
#[utoipa::path(get, path = "/v1/gift-cards/{id}",
    responses((status = 200, body = GiftCardJson), (status = 404, body = ErrorBody)))]
pub async fn get_gift_card(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GiftCardJson>, ApiError> {
    let p = caller.0;
    let card = ids::decode(prefix::GIFT_CARD, &id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "gift_card_not_found",
            "gift card not found",
        )
        .field("id")
    })?;
    let c = read(&app, move |e| e.gift_card(p, card)).await??;
    Ok(Json(card_json(&c)))
}

/// The gift cards an order issued.
#[utoipa::path(get, path = "/v1/orders/{id}/gift-cards",
    responses((status = 200, body = [GiftCardJson]), (status = 404, body = ErrorBody)))]
pub async fn list_order_gift_cards(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<GiftCardJson>>, ApiError> {
    let p = caller.0;
    let order = order_id(&id)?;
    let cards = read(&app, move |e| e.order_gift_cards(p, order)).await??;
    Ok(Json(cards.iter().map(card_json).collect()))
}

/// Revoke one code, every code of an order, or (after a preview) every
/// code bought by an identity cluster.
#[utoipa::path(post, path = "/v1/admin/gift-cards/revocations", request_body = RevocationBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = RevocationJson),
        (status = 201, description = "a cluster preview to confirm", body = PreviewJson),
        (status = "4XX", body = ErrorBody)))]
pub async fn create_revocation(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<RevocationBody>,
) -> Result<Response, ApiError> {
    let reason = reason_of(&body.reason)?;
    let named = [&body.order, &body.code, &body.cluster_of]
        .iter()
        .filter(|x| x.is_some())
        .count();
    if named != 1 {
        return Err(ApiError::invalid(
            "one_target",
            "order",
            "name exactly one of order, code, cluster_of",
        ));
    }
    let target = if let Some(order) = &body.order {
        RevocationTarget::Order(order_id(order).map_err(|e| e.field("order"))?)
    } else if let Some(code) = &body.code {
        let canonical = normalize_code(code).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "gift_card_not_found",
                "gift card not found",
            )
            .field("code")
        })?;
        RevocationTarget::Code(app.node.gift_cards.hash(&canonical))
    } else {
        let id = body.cluster_of.as_deref().unwrap_or_default();
        let customer = ids::decode(prefix::CUSTOMER, id).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "customer_not_found",
                "customer not found",
            )
            .field("cluster_of")
        })?;
        let preview: ClusterRevocationPreview =
            read(&app, move |e| e.cluster_revocation_preview(customer)).await??;
        if preview.cards.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_gift_cards",
                "the cluster bought no gift card that can still be revoked",
            )
            .field("cluster_of"));
        }
        let cards: Vec<u64> = preview.cards.iter().map(|c| c.card).collect();
        let id = app.node.gift_cards.keep_preview(reason, cards);
        let mut wallets: Vec<String> = preview
            .cards
            .iter()
            .filter_map(|c| c.wallet.clone())
            .collect();
        wallets.sort();
        wallets.dedup();
        let body = PreviewJson {
            preview: id,
            reason: reason.as_str(),
            accounts: preview
                .accounts
                .iter()
                .map(|(c, ev)| PreviewAccountJson {
                    customer: ids::encode(prefix::CUSTOMER, *c),
                    evidence: ev.iter().map(evidence_json).collect(),
                })
                .collect(),
            codes: preview.cards.iter().map(card_json).collect(),
            wallets,
        };
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    };
    let command = Command::RevokeGiftCards {
        principal: caller.0,
        target,
        reason,
    };
    revoke(&app, caller.0, key, command, reason).await
}

async fn revoke(
    app: &AppState,
    principal: Principal,
    key: String,
    command: Command,
    reason: RevocationReason,
) -> Result<Response, ApiError> {
    let applied: Applied = submit(app, principal, key, command).await?;
    Ok(reply(applied, StatusCode::OK, |o| match o {
        Outcome::GiftCardsRevoked(cards) => Some(revoked_json(reason, cards)),
        _ => None,
    })?
    .into_response())
}

/// Carry out a cluster revocation previewed earlier (the cards listed
/// then; any revoked or voided since are skipped).
#[utoipa::path(post, path = "/v1/admin/gift-cards/revocations/{preview}/confirm",
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = RevocationJson), (status = "4XX", body = ErrorBody)))]
pub async fn confirm_revocation(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(preview): ApiPath<String>,
) -> Result<Response, ApiError> {
    let p = app.node.gift_cards.take_preview(&preview).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "preview_not_found",
            "no such preview (unknown, confirmed already, expired or lost at a restart)",
        )
        .field("preview")
    })?;
    let command = Command::RevokeGiftCards {
        principal: caller.0,
        target: RevocationTarget::Cards(p.cards),
        reason: p.reason,
    };
    revoke(&app, caller.0, key, command, p.reason).await
}

/// A wallet holder appeals a revocation that took a card back.
#[utoipa::path(post, path = "/v1/gift-cards/appeals", request_body = AppealBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 201, body = AppealJson), (status = "4XX", body = ErrorBody)))]
pub async fn create_appeal(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<AppealBody>,
) -> Result<impl IntoResponse, ApiError> {
    let wallet = wallet_id(&body.wallet)?;
    let card = ids::decode(prefix::GIFT_CARD, &body.gift_card).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_revoked_entry",
            "this wallet has no revoked entry for this gift card",
        )
        .field("gift_card")
    })?;
    let evidence = text(
        "evidence",
        &body.evidence,
        atobarai_engine::EVIDENCE_CHARS_MAX,
        true,
    )?;
    let command = Command::AppealGiftCard {
        principal: caller.0,
        wallet,
        card,
        evidence,
    };
    let applied = submit(&app, caller.0, key, command).await?;
    reply(applied, StatusCode::CREATED, |o| match o {
        Outcome::GiftCardAppeal(a) => Some(appeal_json(a)),
        _ => None,
    })
}

/// An appeal with the purchase trail (operators; the issuer sees its own).
#[utoipa::path(get, path = "/v1/gift-cards/appeals/{id}",
    responses((status = 200, body = AppealJson), (status = 404, body = ErrorBody)))]
pub async fn get_appeal(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AppealJson>, ApiError> {
    let p = caller.0;
    let appeal = appeal_id(&id)?;
    let a = read(&app, move |e| e.gift_card_appeal(p, appeal)).await??;
    Ok(Json(appeal_json(&a)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppealsQuery {
    /// `open` (default: waiting for a decision) or `all`.
    #[param(pattern = "^(open|all)$")]
    pub state: Option<String>,
}

/// Appeals, oldest first (at most 500): operators see every issuer's, an
/// issuer its own wallets'.
#[utoipa::path(get, path = "/v1/gift-cards/appeals", params(AppealsQuery),
    responses((status = 200, body = [AppealJson]), (status = "4XX", body = ErrorBody)))]
pub async fn list_appeals(
    State(app): State<AppState>,
    caller: Caller,
    crate::http::ApiQuery(q): crate::http::ApiQuery<AppealsQuery>,
) -> Result<Json<Vec<AppealJson>>, ApiError> {
    let open = match q.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_state",
                "state",
                "state is open or all",
            ));
        }
    };
    let p = caller.0;
    let list = read(&app, move |e| e.gift_card_appeals(p, open)).await?;
    Ok(Json(list.iter().map(appeal_json).collect()))
}

fn appeal_id(id: &str) -> Result<u64, ApiError> {
    ids::decode(prefix::APPEAL, id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "appeal_not_found",
            "appeal not found",
        )
        .field("id")
    })
}

/// An operator reinstates the card (the balance comes back) or refuses.
#[utoipa::path(post, path = "/v1/admin/gift-cards/appeals/{id}/decision",
    request_body = AppealDecisionBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = AppealJson), (status = "4XX", body = ErrorBody)))]
pub async fn decide_appeal(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<AppealDecisionBody>,
) -> Result<impl IntoResponse, ApiError> {
    let appeal = appeal_id(&id)?;
    let reinstate = match body.decision.as_str() {
        "reinstate" => true,
        "refuse" => false,
        _ => {
            return Err(ApiError::invalid(
                "invalid_decision",
                "decision",
                "decision is reinstate or refuse",
            ));
        }
    };
    let note = text(
        "note",
        &body.note,
        atobarai_engine::EVIDENCE_CHARS_MAX,
        false,
    )?;
    let command = Command::DecideGiftCardAppeal {
        principal: caller.0,
        appeal,
        reinstate,
        note,
    };
    let applied = submit(&app, caller.0, key, command).await?;
    reply(applied, StatusCode::OK, |o| match o {
        Outcome::GiftCardAppeal(a) => Some(appeal_json(a)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_codes_check_and_normalize() {
        for _ in 0..1_000 {
            let code = draw_code();
            assert_eq!(code.len(), 16 + 4 + 1);
            let canonical = normalize_code(&code).unwrap();
            assert_eq!(canonical.len(), 17);
            assert_eq!(
                normalize_code(&code.to_lowercase().replace('-', " ")),
                Some(canonical)
            );
        }
    }

    #[test]
    fn every_single_mistype_and_adjacent_swap_is_caught() {
        let code = normalize_code(&draw_code()).unwrap();
        let chars: Vec<char> = code.chars().collect();
        for i in 0..chars.len() {
            for &a in ALPHABET {
                let a = a as char;
                if a == chars[i] {
                    continue;
                }
                let mut c = chars.clone();
                c[i] = a;
                let typo: String = c.iter().collect();
                assert_eq!(normalize_code(&typo), None, "{typo}");
            }
            if i + 1 < chars.len() && chars[i] != chars[i + 1] {
                let mut c = chars.clone();
                c.swap(i, i + 1);
                let swapped: String = c.iter().collect();
                assert_eq!(normalize_code(&swapped), None, "{swapped}");
            }
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in ["", "ABC", "!!!!-!!!!-!!!!-!!!!-!", &"A".repeat(100)] {
            assert_eq!(normalize_code(bad), None);
        }
    }

    #[test]
    fn failures_lock_a_wallet_out() {
        let shell = GiftCardShell::new(&GiftCardConfig {
            wallet_failures_max: 3,
            ..Default::default()
        });
        for _ in 0..2 {
            shell.failed("w", None);
            assert_eq!(shell.locked("w", None), None);
        }
        shell.failed("w", None);
        assert!(shell.locked("w", None).is_some());
        assert_eq!(shell.locked("other", None), None);
    }
}
