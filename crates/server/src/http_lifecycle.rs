//! The customer lifecycle over HTTP: the eKYC vendor's callback, one-time
//! in-store payment codes, freezes, sign-up reviews and the lifecycle view.
//! The rules themselves are the engine's (`engine/lifecycle.rs`); here are
//! what only the shell can do: compare an identity document with the
//! (sealed) registration, draw codes, check a vendor's signature.

use crate::error::ApiError;
use crate::http::{ApiPath, AppState, Caller, IdemKey, JsonBody, Reply, read, reply, submit};
use crate::identity::IdentitySecret;
use atobarai_core::{At, JstDate, Yen, ids};
use atobarai_engine::{
    Command, EkycResult, EkycStatus, LIFECYCLE_TEXT_CHARS_MAX, LifecycleView, Outcome,
    PersonalData, Principal, Role, prefix,
};
use atobarai_identity::{KeyName, Kind, normalize};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Digits of a payment code (a barcode or QR payload at the till).
pub const PAYMENT_CODE_DIGITS: usize = 16;
/// The header a signing eKYC vendor puts its signature in.
pub const EKYC_SIGNATURE_HEADER: &str = "atobarai-signature";
const PAYMENT_CODE_DOMAIN: &[u8] = b"atobarai/payment-code/";
const PAYMENT_CODE_DRAW_DOMAIN: &[u8] = b"atobarai/payment-code-draw/";

/// The keyed hash a payment code is kept as; a code that is not
/// [`PAYMENT_CODE_DIGITS`] digits is refused here.
pub fn payment_code_hash(secret: &IdentitySecret, code: &str) -> Result<[u8; 32], ApiError> {
    let code = code.trim();
    if code.len() != PAYMENT_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "payment_code_invalid",
            "payment_code",
            format!("a payment code is {PAYMENT_CODE_DIGITS} digits"),
        ));
    }
    Ok(secret.keyed_hash(PAYMENT_CODE_DOMAIN, code.as_bytes()))
}

/// The code for a request: drawn from the caller, the customer and the
/// Idempotency-Key under the secret, so a retried request (same key) gets
/// the same code back and nobody without the secret can predict one.
fn draw_code(secret: &IdentitySecret, principal: Principal, customer: &str, key: &str) -> String {
    let seed = format!("{principal:?}\u{1f}{customer}\u{1f}{key}");
    let h = secret.keyed_hash(PAYMENT_CODE_DRAW_DOMAIN, seed.as_bytes());
    let mut n = u128::from_le_bytes(h[..16].try_into().unwrap_or([0; 16]));
    let mut out = String::with_capacity(PAYMENT_CODE_DIGITS);
    for _ in 0..PAYMENT_CODE_DIGITS {
        out.push(char::from(b'0' + (n % 10) as u8));
        n /= 10;
    }
    out
}

// ----- bodies ---------------------------------------------------------------

/// Ask for a one-time payment code.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentCodeBody {
    /// The most the code may pay (the customer's own ceiling), integer yen.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub ceiling: Option<i64>,
}

/// A payment code, shown once to the customer (a retried request with the
/// same Idempotency-Key shows it again).
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentCodeJson {
    /// The code to show as a barcode or QR code at the till.
    pub code: String,
    /// The QR payload (`atobarai:pay:<code>`).
    pub payload: String,
    /// The customer it pays for.
    pub customer: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// The most it may pay.
    pub ceiling: Option<i64>,
}
impl crate::http::ApiBody for PaymentCodeJson {}

/// The eKYC vendor's verdict.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EkycBody {
    /// `verified` | `rejected` | `pending`
    #[schema(pattern = "^(verified|rejected|pending)$")]
    pub status: String,
    /// The address printed on the identity document.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub document_address: Option<String>,
    /// The name on the document.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// The birth date on the document (`YYYY-MM-DD`).
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub birth_date: Option<String>,
    /// The vendor's reason (for `rejected`).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Freeze a customer's credit.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeBody {
    /// Why (the customer's words: a charge they do not recognise).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// An operator's verdict on a sign-up held for review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpReviewBody {
    /// `approve` | `decline`
    #[schema(pattern = "^(approve|decline)$")]
    pub decision: String,
}

/// A customer's lifecycle.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleJson {
    /// The customer's public id.
    pub customer: String,
    /// The phone was proved by an SMS code.
    pub phone_verified: bool,
    /// The last verified change of phone or e-mail (RFC 3339).
    pub contact_changed_at: Option<String>,
    /// `none` | `pending` | `verified` | `rejected`
    pub ekyc_status: &'static str,
    /// Why eKYC was rejected.
    pub ekyc_reason: Option<String>,
    /// When the last eKYC verdict arrived.
    pub ekyc_at: Option<String>,
    /// Who gave a parent's consent, and when.
    pub parental_consent: Option<ConsentJson>,
    /// A freeze in force.
    pub frozen: bool,
    /// When the freeze began.
    pub frozen_at: Option<String>,
    /// The customer's reason for it.
    pub frozen_reason: Option<String>,
    /// `none` | `held` | `approved` | `declined`
    pub sign_up_review: &'static str,
    /// The shared keys to accounts with trouble that held the sign-up.
    pub sign_up_evidence: Vec<TroubleJson>,
    /// Payment codes issued and neither used nor expired.
    pub payment_codes_open: u32,
}
impl crate::http::ApiBody for LifecycleJson {}

/// A parent's consent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentJson {
    /// Who consented.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// One shared key to an account with past trouble.
#[derive(Debug, Serialize, ToSchema)]
pub struct TroubleJson {
    /// `phone` | `email` | `address_unit` | `device`
    pub link: &'static str,
    /// The other account.
    pub customer: String,
    /// `defaulted` | `overdue` | `revoked_gift_card`
    pub trouble: &'static str,
}

impl From<&LifecycleView> for LifecycleJson {
    fn from(v: &LifecycleView) -> LifecycleJson {
        let review = v.signup_review.as_ref();
        LifecycleJson {
            customer: ids::encode(prefix::CUSTOMER, u64::from(v.customer)),
            phone_verified: v.phone_verified,
            contact_changed_at: v.contact_changed_at.map(At::to_rfc3339_jst),
            ekyc_status: v.ekyc.as_ref().map_or("none", |e| e.result.status.as_str()),
            ekyc_reason: v.ekyc.as_ref().and_then(|e| e.result.reason.clone()),
            ekyc_at: v.ekyc.as_ref().map(|e| e.at.to_rfc3339_jst()),
            parental_consent: v.consent.as_ref().map(|c| ConsentJson {
                by: c.by.clone(),
                at: c.at.to_rfc3339_jst(),
            }),
            frozen: v.frozen.is_some(),
            frozen_at: v.frozen.as_ref().map(|f| f.at.to_rfc3339_jst()),
            frozen_reason: v.frozen.as_ref().map(|f| f.reason.clone()),
            sign_up_review: match review.map(|r| r.approved) {
                None => "none",
                Some(None) => "held",
                Some(Some(true)) => "approved",
                Some(Some(false)) => "declined",
            },
            sign_up_evidence: review
                .map(|r| {
                    r.evidence
                        .iter()
                        .map(|e| TroubleJson {
                            link: e.link.as_str(),
                            customer: ids::encode(prefix::CUSTOMER, u64::from(e.customer)),
                            trouble: e.trouble.as_str(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            payment_codes_open: v.payment_codes_open,
        }
    }
}

fn customer(id: &str) -> Result<u64, ApiError> {
    crate::dto::customer_id("id", id)
}

fn expect_lifecycle(a: atobarai_engine::Applied) -> Result<Reply<LifecycleJson>, ApiError> {
    reply(a, StatusCode::OK, |o| match o {
        Outcome::Lifecycle(v) => Some(LifecycleJson::from(&**v)),
        _ => None,
    })
}

/// An optional free text, trimmed, checked as every request text is.
fn text(field: &'static str, v: Option<&str>) -> Result<String, ApiError> {
    crate::dto::text(
        field,
        v.unwrap_or("").trim(),
        LIFECYCLE_TEXT_CHARS_MAX,
        false,
    )
}

// ----- handlers -------------------------------------------------------------

/// A customer's lifecycle: phone verification, eKYC, consent, freeze,
/// sign-up review, open payment codes.
#[utoipa::path(get, path = "/v1/customers/{id}/lifecycle",
    responses((status = 200, body = LifecycleJson), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_lifecycle(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LifecycleJson>, ApiError> {
    let c = customer(&id)?;
    let p = caller.0;
    let v = read(&app, move |e| e.customer_lifecycle(p, c)).await??;
    Ok(Json(LifecycleJson::from(&v)))
}

/// Issue a one-time in-store payment code (the customer's app, through
/// the customer's merchant key, or an admin). The code is valid for
/// `lifecycle.payment_code_ttl_secs` and pays once.
#[utoipa::path(post, path = "/v1/customers/{id}/payment-codes", request_body = PaymentCodeBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 201, body = PaymentCodeJson), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn create_payment_code(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PaymentCodeBody>,
) -> Result<Reply<PaymentCodeJson>, ApiError> {
    let c = customer(&id)?;
    let ceiling = match body.ceiling {
        Some(v) if v > 0 && Yen::new(v) <= Yen::AMOUNT_MAX => Some(Yen::new(v)),
        Some(_) => {
            return Err(ApiError::invalid(
                "amount_not_positive",
                "ceiling",
                "ceiling must be a positive amount",
            ));
        }
        None => None,
    };
    let code = draw_code(&app.identity, caller.0, &id, &key);
    let hash = payment_code_hash(&app.identity, &code)?;
    let applied = submit(
        &app,
        caller.0,
        key,
        Command::IssuePaymentCode {
            principal: caller.0,
            customer: c,
            code: hash,
            ceiling,
        },
    )
    .await?;
    reply(applied, StatusCode::CREATED, |o| match o {
        Outcome::PaymentCode(issued) => Some(PaymentCodeJson {
            payload: format!("atobarai:pay:{code}"),
            code: code.clone(),
            customer: ids::encode(prefix::CUSTOMER, u64::from(issued.customer)),
            expires_at: issued.expires_at.to_rfc3339_jst(),
            ceiling: issued.ceiling.map(Yen::get),
        }),
        _ => None,
    })
}

/// The customer reports a charge they do not recognise: every new
/// authorization is declined until an operator lifts the freeze; a
/// `customer.frozen` webhook goes out.
#[utoipa::path(post, path = "/v1/customers/{id}/freeze", request_body = FreezeBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = LifecycleJson), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn freeze(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<FreezeBody>,
) -> Result<Reply<LifecycleJson>, ApiError> {
    let c = customer(&id)?;
    let reason = text("reason", body.reason.as_deref())?;
    expect_lifecycle(
        submit(
            &app,
            caller.0,
            key,
            Command::FreezeCustomer {
                principal: caller.0,
                customer: c,
                reason,
            },
        )
        .await?,
    )
}

/// Lift a freeze (an admin operator). Lifting is idempotent by nature: a
/// DELETE takes no Idempotency-Key, like lifting a suspension.
#[utoipa::path(delete, path = "/v1/customers/{id}/freeze",
    responses((status = 200, body = LifecycleJson), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn unfreeze(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LifecycleJson>, ApiError> {
    let c = customer(&id)?;
    let command = Command::UnfreezeCustomer {
        principal: caller.0,
        customer: c,
    };
    match app.node.submit(None, command).await {
        Err(u) => Err(u.into()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(a)) => match a.outcome {
            Outcome::Lifecycle(v) => Ok(Json(LifecycleJson::from(&*v))),
            other => Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
        },
    }
}

/// Settle a sign-up held for review (an admin operator).
#[utoipa::path(post, path = "/v1/admin/customers/{id}/sign-up-review", request_body = SignUpReviewBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = LifecycleJson), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn resolve_signup_review(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<SignUpReviewBody>,
) -> Result<Reply<LifecycleJson>, ApiError> {
    let c = customer(&id)?;
    let approve = match body.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => {
            return Err(ApiError::invalid(
                "invalid_decision",
                "decision",
                "decision must be approve or decline",
            ));
        }
    };
    expect_lifecycle(
        submit(
            &app,
            caller.0,
            key,
            Command::ResolveSignUpReview {
                principal: caller.0,
                customer: c,
                approve,
            },
        )
        .await?,
    )
}

/// The eKYC vendor's callback. Accepted from an admin operator key held by
/// the integration (`Authorization: Bearer …`), or, when
/// `ekyc.callback_secret` is configured, from a vendor that signs instead:
/// `Atobarai-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
/// A `verified` verdict is checked against the registration: the
/// document's address must match the registered one at block level
/// (through the address normalizer), and the name and birth date must
/// match; otherwise it is recorded as `rejected` with the failed check.
#[utoipa::path(post, path = "/v1/customers/{id}/ekyc", request_body = EkycBody,
    params(("Idempotency-Key" = String, Header, description = "unique per request"),
        ("Atobarai-Signature" = Option<String>, Header,
            description = "a signing vendor's `t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">` (instead of a bearer key)")),
    responses((status = 200, body = LifecycleJson), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn ekyc_callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    raw: Bytes,
) -> Result<Reply<LifecycleJson>, ApiError> {
    let principal = ekyc_caller(&app, &headers, &raw)?;
    let body: EkycBody = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::invalid(
            "invalid_json",
            "body",
            format!("the body does not parse: {e}"),
        )
    })?;
    let c = customer(&id)?;
    let status = EkycStatus::parse(&body.status).ok_or_else(|| {
        ApiError::invalid(
            "invalid_status",
            "status",
            "status must be verified, rejected or pending",
        )
    })?;
    let reason = text("reason", body.reason.as_deref())?;
    let birth_date = match body.birth_date.as_deref() {
        Some(d) => Some(JstDate::parse(d).map_err(|_| {
            ApiError::invalid(
                "invalid_date",
                "birth_date",
                "birth_date must be YYYY-MM-DD",
            )
        })?),
        None => None,
    };
    let for_text = |f: &'static str, v: &Option<String>| text(f, v.as_deref());
    let document_address = for_text("document_address", &body.document_address)?;
    let name = for_text("name", &body.name)?;
    let result = if status == EkycStatus::Verified {
        if document_address.is_empty() || name.is_empty() || birth_date.is_none() {
            return Err(ApiError::invalid(
                "ekyc_document_incomplete",
                if document_address.is_empty() {
                    "document_address"
                } else if name.is_empty() {
                    "name"
                } else {
                    "birth_date"
                },
                "a verified verdict carries the document's address, name and birth date",
            ));
        }
        // The registration, opened (sealed data through the vault).
        let registered = registered_fields(&app, c).await?;
        compare(
            &registered,
            &document_address,
            &name,
            birth_date.unwrap_or(registered.birth_date),
        )
    } else {
        EkycResult {
            status,
            reason: (!reason.is_empty()).then_some(reason),
            address_matched: false,
            name_matched: false,
            birth_date_matched: false,
        }
    };
    expect_lifecycle(
        submit(
            &app,
            principal,
            key,
            Command::RecordEkyc {
                principal,
                customer: c,
                result,
            },
        )
        .await?,
    )
}

/// Who sent an eKYC callback: an admin key, or a vendor's valid signature
/// (acting as the command line would: `Principal::System`).
fn ekyc_caller(app: &AppState, headers: &HeaderMap, raw: &[u8]) -> Result<Principal, ApiError> {
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        let mut parts = axum::http::Request::new(()).into_parts().0;
        parts.headers = headers.clone();
        let p = crate::roles::authenticate(&mut parts, app)?;
        return match p {
            Principal::Operator(_, Role::Admin) => Ok(p),
            _ => Err(ApiError::forbidden(
                "the eKYC callback takes an admin operator key or a vendor signature",
            )),
        };
    }
    let ekyc = app.identity.ekyc();
    let (Some(secret), Some(sig)) = (
        ekyc.callback_secret.as_deref(),
        headers
            .get(EKYC_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return Err(ApiError::unauthorized());
    };
    let now = jiff::Timestamp::now().as_second();
    verify_signature(secret, sig, raw, now, ekyc.signature_tolerance_secs)?;
    Ok(Principal::System)
}

/// Check `t=<secs>,v1=<hex>` against HMAC-SHA256(secret, "t.body").
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: u64,
) -> Result<(), ApiError> {
    use hmac::{Hmac, Mac};
    let bad = |m: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, "signature_invalid", m.to_string())
            .field(EKYC_SIGNATURE_HEADER)
    };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(bad("the signature header is t=<seconds>,v1=<hex>"));
    };
    if now_secs.abs_diff(t) > tolerance_secs {
        return Err(bad("the signature's time is outside the tolerance"));
    }
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| bad("no usable secret"))?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1)
        .map_err(|_| bad("the signature does not match"))
}

/// The registered name, address and birth date.
struct Registered {
    name: String,
    address: String,
    birth_date: JstDate,
}

async fn registered_fields(app: &AppState, c: u64) -> Result<Registered, ApiError> {
    let id = ids::encode(prefix::CUSTOMER, c);
    let data = read(app, move |e| e.personal_data(Principal::System, &id)).await??;
    match data {
        PersonalData::Clear(p) => Ok(Registered {
            name: p.name,
            address: format!("〒{} {}", p.postal_code, p.address),
            birth_date: p.birth_date,
        }),
        PersonalData::Sealed { pii, .. } => {
            let privacy = app.identity.privacy().cloned().ok_or_else(|| {
                ApiError::internal("sealed personal data but no keyring configured")
            })?;
            let (fields, _) = crate::http_privacy::blocking(move || privacy.open(&pii))
                .await?
                .map_err(|e| ApiError::internal(&e.to_string()))?;
            Ok(Registered {
                name: fields.name,
                address: format!("〒{} {}", fields.postal_code, fields.address),
                birth_date: JstDate::parse(&fields.birth_date)
                    .map_err(|_| ApiError::internal("sealed birth date does not parse"))?,
            })
        }
        PersonalData::Erased { .. } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "customer_erased",
            "the customer's personal data was erased",
        )),
    }
}

/// A document against the registration: the address at block level
/// (prefecture, city, town and block numbers; building and room may
/// differ), the name as the normalizer keys it, the birth date exactly.
fn compare(registered: &Registered, address: &str, name: &str, birth: JstDate) -> EkycResult {
    let address_matched = same_block(&registered.address, address);
    let name_matched = same_key(Kind::Name, KeyName::Name, &registered.name, name)
        || same_key(Kind::Name, KeyName::NameKana, &registered.name, name);
    let birth_date_matched = registered.birth_date == birth;
    let failed = [
        (!address_matched).then_some("document_address_mismatch"),
        (!name_matched).then_some("document_name_mismatch"),
        (!birth_date_matched).then_some("document_birth_date_mismatch"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    EkycResult {
        status: if failed.is_empty() {
            EkycStatus::Verified
        } else {
            EkycStatus::Rejected
        },
        reason: (!failed.is_empty()).then(|| failed.join(",")),
        address_matched,
        name_matched,
        birth_date_matched,
    }
}

/// The two addresses name the same block.
pub fn same_block(registered: &str, document: &str) -> bool {
    same_key(Kind::Address, KeyName::AddressBlock, registered, document)
}

fn same_key(kind: Kind, key: KeyName, a: &str, b: &str) -> bool {
    let (a, b) = (normalize(kind, a), normalize(kind, b));
    match (a.key(key), b.key(key)) {
        (Some(x), Some(y)) => !x.is_empty() && x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_at_block_level() {
        let reg = "〒100-0013 東京都千代田区霞が関1-3-1 霞ビル101";
        // Same block, other spellings and another room or none.
        for same in [
            "東京都千代田区霞が関1丁目3番1号",
            "東京都千代田区霞が関１－３－１ 霞ビル202",
            "千代田区霞が関一丁目3-1",
            "〒100-0013 東京都千代田区霞が関1-3-1",
        ] {
            assert!(same_block(reg, same), "{same}");
        }
        // Another block, another town, another city.
        for other in [
            "東京都千代田区霞が関1-3-2 霞ビル101",
            "東京都千代田区永田町1-3-1",
            "東京都港区霞が関1-3-1",
            "",
        ] {
            assert!(!same_block(reg, other), "{other}");
        }
    }

    #[test]
    fn a_signature_is_checked_with_its_time() {
        use hmac::{Hmac, Mac};
        let body = br#"{"status":"verified"}"#;
        let sign = |t: i64, secret: &str| {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(format!("{t}.").as_bytes());
            mac.update(body);
            format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
        };
        assert!(verify_signature("s", &sign(1_000, "s"), body, 1_010, 300).is_ok());
        assert!(verify_signature("s", &sign(1_000, "t"), body, 1_010, 300).is_err());
        assert!(verify_signature("s", &sign(1_000, "s"), body, 2_000, 300).is_err());
        assert!(verify_signature("s", &sign(1_000, "s"), b"{}", 1_010, 300).is_err());
        for junk in ["", "t=", "v1=zz", "t=1,v1=", "t=abc,v1=00"] {
            assert!(verify_signature("s", junk, body, 1_010, 300).is_err());
        }
    }

    proptest::proptest! {
        /// No header, body or code makes the parsers panic; only a
        /// signature made with the secret over the body passes.
        #[test]
        fn signatures_and_codes_never_panic(
            header in ".{0,80}",
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            code in ".{0,24}",
            now in proptest::prelude::any::<i64>(),
        ) {
            let _ = verify_signature("s", &header, &body, now, 300);
            let _ = payment_code_hash(&IdentitySecret::new("k"), &code);
            let _ = same_block(&header, &code);
        }
    }

    #[test]
    fn codes_are_sixteen_digits_and_stable_per_request() {
        let s = IdentitySecret::new("k");
        let a = draw_code(&s, Principal::Merchant(1), "cus_x", "key-1");
        assert_eq!(a.len(), PAYMENT_CODE_DIGITS);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, draw_code(&s, Principal::Merchant(1), "cus_x", "key-1"));
        assert_ne!(a, draw_code(&s, Principal::Merchant(1), "cus_x", "key-2"));
        assert!(payment_code_hash(&s, &a).is_ok());
        assert!(payment_code_hash(&s, "123").is_err());
        assert!(payment_code_hash(&s, "abcdefghijklmnop").is_err());
    }
}
