//! The HTTP API of `API.md`: extractors (caller, idempotency key, JSON
//! body), handlers that validate into commands, and the router.

use crate::auth;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::identity::{Identity, IdentitySecret};
use crate::node::{ClockMode, Node};
use crate::render::{Balance, Customer, InvoiceJson, Order, Payment, Suspension};
use atobarai_core::config::LimitsConfig;
use atobarai_engine::{Applied, Command, Idem, KeyGrant, Outcome, Principal, Role};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

#[derive(Clone)]
pub struct AppState {
    pub node: Arc<Node>,
    pub limits: Arc<LimitsConfig>,
    /// The HMAC secret for identity keys (`identity.key_secret`); the shell
    /// hashes, the engine only ever sees the hashes.
    pub identity: IdentitySecret,
    /// Webhook settings (which endpoint URLs are accepted).
    pub webhooks: Arc<atobarai_core::config::WebhookConfig>,
}

// ----- extractors -----------------------------------------------------------

/// The authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        app.node
            .keys
            .authenticate(presented.trim())
            .map(Caller)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl Caller {
    fn merchant(&self) -> Result<u32, ApiError> {
        match self.0 {
            Principal::Merchant(m) => Ok(m),
            _ => Err(ApiError::forbidden("this route needs a merchant key")),
        }
    }

    pub(crate) fn admin(&self) -> Result<(), ApiError> {
        match self.0 {
            Principal::Operator(_, Role::Admin) => Ok(()),
            _ => Err(ApiError::forbidden(
                "this route needs an operator key with the admin role",
            )),
        }
    }

    pub(crate) fn operator(&self) -> Result<(), ApiError> {
        match self.0 {
            Principal::Operator(..) => Ok(()),
            _ => Err(ApiError::forbidden("this route needs an operator key")),
        }
    }
}

/// The `Idempotency-Key` header every POST must carry.
pub struct IdemKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let value = parts.headers.get("idempotency-key").ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_missing",
                "every POST needs an Idempotency-Key header",
            )
            .field("Idempotency-Key")
        })?;
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_CHARS_MAX)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_invalid",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                )
                .field("Idempotency-Key")
            })?;
        Ok(IdemKey(key.to_string()))
    }
}

/// A JSON body decoded with the path of the field at fault on error. An
/// empty body reads as `{}`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, app).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the body is larger than {} bytes",
                    app.limits.request_body_bytes_max
                ),
            )
        })?;
        decode_json(if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        })
        .map(JsonBody)
    }
}

/// Decode JSON, mapping serde's error to a code and the field's path.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let message = inner.to_string();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the body is not valid JSON",
            ),
            Category::Data => {
                // "missing field `name`" / "unknown field `x`" name the field
                // in backticks; the path is the enclosing object.
                let named = message.split('`').nth(1).map(str::to_string);
                let join = |name: String| {
                    if path == "." {
                        name
                    } else {
                        format!("{path}.{name}")
                    }
                };
                if message.starts_with("missing field") {
                    ApiError::invalid("missing_field", join(named.unwrap_or_default()), message)
                } else if message.starts_with("unknown field") {
                    // Here the path already ends at the unknown field.
                    ApiError::invalid("unknown_field", path, message)
                } else {
                    let field = if path == "." { String::new() } else { path };
                    ApiError::invalid("invalid_type", field, message)
                }
            }
        }
    })
}

// ----- responses ------------------------------------------------------------

pub(crate) struct Reply<T> {
    pub(crate) status: StatusCode,
    pub(crate) replayed: bool,
    pub(crate) body: T,
}

/// Marks the types that are API responses (rendered from engine views).
pub trait ApiBody: Serialize {}
impl ApiBody for Customer {}
impl ApiBody for Balance {}
impl ApiBody for Order {}
impl ApiBody for Payment {}
impl ApiBody for Suspension {}
impl ApiBody for ClockView {}
impl ApiBody for MerchantCreated {}

impl<T: ApiBody> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

pub(crate) async fn submit(
    app: &AppState,
    principal: Principal,
    key: String,
    command: Command,
) -> Result<Applied, ApiError> {
    let idem = Idem {
        principal,
        key,
        request_hash: command.fingerprint(),
    };
    match app.node.submit(Some(idem), command).await {
        Err(_) => Err(ApiError::unavailable()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(applied)) => Ok(applied),
    }
}

pub(crate) async fn read<R: Send + 'static>(
    app: &AppState,
    f: impl FnOnce(&atobarai_engine::Engine) -> R + Send + 'static,
) -> Result<R, ApiError> {
    app.node.read(f).await.map_err(|_| ApiError::unavailable())
}

/// The reply to an applied command: `pick` renders the outcome it expects
/// (anything else is a bug, answered 500); a replayed idempotency key is
/// flagged.
pub(crate) fn reply<T: ApiBody>(
    a: Applied,
    status: StatusCode,
    pick: impl FnOnce(&Outcome) -> Option<T>,
) -> Result<Reply<T>, ApiError> {
    match pick(&a.outcome) {
        Some(body) => Ok(Reply {
            status,
            replayed: !a.changed,
            body,
        }),
        None => Err(ApiError::internal(&format!(
            "unexpected outcome {:?}",
            a.outcome
        ))),
    }
}

fn expect_order(a: Applied) -> Result<Reply<Order>, ApiError> {
    reply(a, StatusCode::OK, |o| match o {
        Outcome::Order(o) => Some(o.into()),
        _ => None,
    })
}

pub(crate) fn expect_payment(a: Applied) -> Result<Reply<Payment>, ApiError> {
    reply(a, StatusCode::OK, |o| match o {
        Outcome::Payment(p) => Some(p.into()),
        _ => None,
    })
}

pub(crate) fn expect_customer(a: Applied, status: StatusCode) -> Result<Reply<Customer>, ApiError> {
    reply(a, status, |o| match o {
        Outcome::Customer(c) => Some(c.into()),
        _ => None,
    })
}

// ----- handlers -------------------------------------------------------------

/// Register a customer of the calling merchant.
#[utoipa::path(post, path = "/v1/customers", request_body = CreateCustomer,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 201, body = Customer), (status = "4XX", body = ErrorBody)))]
pub async fn create_customer(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateCustomer>,
) -> Result<impl IntoResponse, ApiError> {
    let merchant = caller.merchant()?;
    let command = body.into_command(merchant, &app.limits, &app.identity)?;
    expect_customer(
        submit(&app, caller.0, key, command).await?,
        StatusCode::CREATED,
    )
}

#[utoipa::path(get, path = "/v1/customers/{id}",
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody)))]
pub async fn get_customer(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Customer>, ApiError> {
    let p = caller.0;
    Ok(Json(
        (&read(&app, move |e| e.customer(p, &id)).await??).into(),
    ))
}

#[utoipa::path(get, path = "/v1/customers/{id}/balance",
    responses((status = 200, body = Balance), (status = 404, body = ErrorBody)))]
pub async fn get_balance(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Balance>, ApiError> {
    let p = caller.0;
    Ok(Json(
        (&read(&app, move |e| e.balance(p, &id)).await??).into(),
    ))
}

/// Use points as a discount on what is owed on the monthly product.
/// A use of points cannot be undone.
#[utoipa::path(post, path = "/v1/customers/{id}/points/redeem", request_body = RedeemPointsBody,
    responses((status = 200, body = Balance), (status = "4XX", body = ErrorBody)))]
pub async fn redeem_points(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RedeemPointsBody>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = customer_id("id", &id)?;
    let command = Command::RedeemPoints {
        principal: caller.0,
        customer,
        points: body.points,
    };
    reply(
        submit(&app, caller.0, key, command).await?,
        StatusCode::OK,
        |o| match o {
            Outcome::Balance(v) => Some(Balance::from(v)),
            _ => None,
        },
    )
}

/// A customer's per-order invoices and monthly statements.
#[utoipa::path(get, path = "/v1/customers/{id}/invoices",
    responses((status = 200, body = [InvoiceJson]), (status = 404, body = ErrorBody)))]
pub async fn list_invoices(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<InvoiceJson>>, ApiError> {
    let p = caller.0;
    let (ci, invoices, notes) = read(&app, move |e| e.invoices(p, &id)).await??;
    Ok(Json(
        invoices
            .iter()
            .map(|i| InvoiceJson::new(ci, i, &notes))
            .collect(),
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct InvoiceQuery {
    /// `json` (default) or `html` for a printable invoice in Japanese.
    pub format: Option<String>,
}

/// One invoice by number, as JSON or as a printable HTML page in Japanese.
#[utoipa::path(get, path = "/v1/invoices/{number}", params(InvoiceQuery),
    responses((status = 200, body = InvoiceJson), (status = 404, body = ErrorBody)))]
pub async fn get_invoice(
    State(app): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    axum::extract::Query(q): axum::extract::Query<InvoiceQuery>,
) -> Result<Response, ApiError> {
    let p = caller.0;
    let (ci, invoice, notes) = read(&app, move |e| e.invoice(p, &number)).await??;
    let json = InvoiceJson::new(ci, &invoice, &notes);
    match q.format.as_deref() {
        Some("html") => Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            json.to_html(),
        )
            .into_response()),
        None | Some("json") => Ok(Json(json).into_response()),
        Some(_) => Err(ApiError::invalid(
            "unknown_format",
            "format",
            "format must be json or html",
        )),
    }
}

/// Who a customer is linked to (operator key): the identity cluster (accounts
/// joined by a shared phone, e-mail or device), each member's links and the
/// chain of shared keys that joins it, and the accounts that share only an
/// address or a recent IP (households, dormitories: never merged).
#[utoipa::path(get, path = "/v1/customers/{id}/identity",
    responses((status = 200, body = Identity), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_identity(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Identity>, ApiError> {
    caller.operator()?;
    let p = caller.0;
    Ok(Json(
        (&read(&app, move |e| e.identity(p, &id)).await??).into(),
    ))
}

/// Change how the customer pays the monthly statement (from next month).
#[utoipa::path(post, path = "/v1/customers/{id}/payment-method", request_body = SetPaymentMethodBody,
    responses((status = 200, body = Customer), (status = "4XX", body = ErrorBody)))]
pub async fn set_payment_method(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetPaymentMethodBody>,
) -> Result<impl IntoResponse, ApiError> {
    let customer = customer_id("id", &id)?;
    let command = body.into_command(caller.0, customer)?;
    expect_customer(submit(&app, caller.0, key, command).await?, StatusCode::OK)
}

/// Decide on an order: approve, decline or review, with reasons.
#[utoipa::path(post, path = "/v1/authorizations", request_body = CreateAuthorization,
    params(("Idempotency-Key" = String, Header, description = "unique per request")),
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn create_authorization(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateAuthorization>,
) -> Result<impl IntoResponse, ApiError> {
    let merchant = caller.merchant()?;
    let command = body.into_command(merchant, &app.limits, &app.identity)?;
    expect_order(submit(&app, caller.0, key, command).await?)
}

#[utoipa::path(get, path = "/v1/orders/{id}",
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let p = caller.0;
    Ok(Json((&read(&app, move |e| e.order(p, &id)).await??).into()))
}

#[utoipa::path(post, path = "/v1/orders/{id}/capture", request_body = CaptureBody,
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn capture_order(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CaptureBody>,
) -> Result<impl IntoResponse, ApiError> {
    let command = body.into_command(caller.0, order_id(&id)?)?;
    expect_order(submit(&app, caller.0, key, command).await?)
}

#[utoipa::path(post, path = "/v1/orders/{id}/cancel", request_body = EmptyBody,
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn cancel_order(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(_): JsonBody<EmptyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let command = Command::Cancel {
        principal: caller.0,
        order: order_id(&id)?,
    };
    expect_order(submit(&app, caller.0, key, command).await?)
}

#[utoipa::path(post, path = "/v1/orders/{id}/refunds", request_body = RefundBody,
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn refund_order(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RefundBody>,
) -> Result<impl IntoResponse, ApiError> {
    let command = body.into_command(caller.0, order_id(&id)?)?;
    expect_order(submit(&app, caller.0, key, command).await?)
}

/// Record a customer's payment; allocated to the oldest due orders first.
#[utoipa::path(post, path = "/v1/payments", request_body = CreatePayment,
    responses((status = 200, body = Payment), (status = "4XX", body = ErrorBody)))]
pub async fn create_payment(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreatePayment>,
) -> Result<impl IntoResponse, ApiError> {
    let command = body.into_command(caller.0, &app.limits)?;
    expect_payment(submit(&app, caller.0, key, command).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClockView {
    pub now: String,
    pub mode: String,
}

/// Move the manual clock forward (`--clock manual` only).
#[utoipa::path(post, path = "/v1/admin/clock", request_body = ClockBody,
    responses((status = 200, body = ClockView), (status = "4XX", body = ErrorBody)))]
pub async fn set_clock(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<ClockBody>,
) -> Result<impl IntoResponse, ApiError> {
    caller.admin()?;
    if app.node.clock != ClockMode::Manual {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "clock_not_manual",
            "the server runs on the system clock; start it with --clock manual",
        ));
    }
    let command = body.into_command()?;
    match submit(&app, caller.0, key, command).await? {
        Applied {
            outcome: Outcome::Clock { now },
            changed,
        } => Ok(Reply {
            status: StatusCode::OK,
            replayed: !changed,
            body: ClockView {
                now: now.to_rfc3339_jst(),
                mode: "manual".into(),
            },
        }),
        other => Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
    }
}

#[utoipa::path(get, path = "/v1/admin/clock", responses((status = 200, body = ClockView)))]
pub async fn get_clock(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<ClockView>, ApiError> {
    caller.operator()?;
    let now = read(&app, |e| e.now()).await?;
    Ok(Json(ClockView {
        now: now.to_rfc3339_jst(),
        mode: app.node.clock.as_str().into(),
    }))
}

/// Suspend a category (kill switch) from an instant, optionally per merchant/channel.
#[utoipa::path(post, path = "/v1/admin/suspensions", request_body = CreateSuspension,
    responses((status = 201, body = Suspension), (status = "4XX", body = ErrorBody)))]
pub async fn create_suspension(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateSuspension>,
) -> Result<impl IntoResponse, ApiError> {
    caller.admin()?;
    let (merchants, now) = read(&app, |e| {
        let ids: Vec<(String, u32)> = e
            .keys()
            .into_iter()
            .filter_map(|(_, p, _)| match p {
                Principal::Merchant(m) => Some((
                    atobarai_core::ids::encode(atobarai_engine::prefix::MERCHANT, u64::from(m)),
                    m,
                )),
                _ => None,
            })
            .collect();
        (ids, e.now())
    })
    .await?;
    let lookup = |id: &str| merchants.iter().find(|(m, _)| m == id).map(|&(_, i)| i);
    let now = match app.node.clock {
        ClockMode::Manual => now,
        ClockMode::System => atobarai_core::At::from_timestamp(jiff::Timestamp::now()).max(now),
    };
    let command = body.into_command(lookup, now)?;
    reply(
        submit(&app, caller.0, key, command).await?,
        StatusCode::CREATED,
        |o| match o {
            Outcome::Suspension(v) => Some(Suspension::from(v)),
            _ => None,
        },
    )
}

#[utoipa::path(get, path = "/v1/admin/suspensions", responses((status = 200, body = [Suspension])))]
pub async fn list_suspensions(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Suspension>>, ApiError> {
    caller.operator()?;
    Ok(Json(
        read(&app, |e| e.suspensions())
            .await?
            .iter()
            .map(Suspension::from)
            .collect(),
    ))
}

/// Lift a suspension from now on.
#[utoipa::path(delete, path = "/v1/admin/suspensions/{id}",
    responses((status = 200, body = Suspension), (status = "4XX", body = ErrorBody)))]
pub async fn lift_suspension(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Suspension>, ApiError> {
    caller.admin()?;
    let suspension = atobarai_core::ids::decode(atobarai_engine::prefix::SUSPENSION, &id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "suspension_not_found",
                "suspension not found",
            )
            .field("id")
        })?;
    match app
        .node
        .submit(None, Command::LiftSuspension { suspension })
        .await
    {
        Err(_) => Err(ApiError::unavailable()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(Applied {
            outcome: Outcome::Suspension(s),
            ..
        })) => Ok(Json(Suspension::from(&s))),
        Ok(Ok(other)) => Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
    }
}

/// An analyst's verdict on an order held for review.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/review", request_body = ReviewBody,
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn review_order(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> Result<impl IntoResponse, ApiError> {
    caller.admin()?;
    let command = body.into_command(order_id(&id)?)?;
    expect_order(submit(&app, caller.0, key, command).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MerchantCreated {
    pub id: String,
    pub name: String,
    /// The API key, shown only in the first response (null on a replay).
    pub key: Option<String>,
}

/// Add a merchant and mint its API key.
#[utoipa::path(post, path = "/v1/admin/merchants", request_body = CreateMerchant,
    responses((status = 201, body = MerchantCreated), (status = "4XX", body = ErrorBody)))]
pub async fn create_merchant(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateMerchant>,
) -> Result<impl IntoResponse, ApiError> {
    caller.admin()?;
    let name = text("name", &body.name, app.limits.text_chars_max, true)?;
    let minted = auth::mint();
    // The fingerprint must not cover the random key, or a retry would look
    // like a different request: hash the name only.
    let idem = Idem {
        principal: caller.0,
        key,
        request_hash: Command::AddMerchant {
            name: name.clone(),
            key_id: String::new(),
            secret_sha256: [0; 32],
        }
        .fingerprint(),
    };
    let command = Command::AddMerchant {
        name,
        key_id: minted.key_id,
        secret_sha256: minted.secret_sha256,
    };
    match app.node.submit(Some(idem), command).await {
        Err(_) => Err(ApiError::unavailable()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(Applied {
            outcome: Outcome::Merchant(KeyGrant { index, name }),
            changed,
        })) => Ok(Reply {
            status: StatusCode::CREATED,
            replayed: !changed,
            body: MerchantCreated {
                id: atobarai_core::ids::encode(atobarai_engine::prefix::MERCHANT, u64::from(index)),
                name,
                key: changed.then_some(minted.key),
            },
        }),
        Ok(Ok(other)) => Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
    }
}

async fn healthz(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let (applied, now) = read(&app, |e| (e.applied(), e.now())).await?;
    Ok(Json(
        serde_json::json!({"status": "ok", "journal_seq": applied, "now": now.to_rfc3339_jst()}),
    ))
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.node.metrics.render(),
    )
}

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
}

pub fn router(app: AppState) -> Router {
    let body_max = app.limits.request_body_bytes_max;
    Router::new()
        .route("/v1/customers", post(create_customer))
        .route("/v1/customers/{id}", get(get_customer))
        .route("/v1/customers/{id}/balance", get(get_balance))
        .route("/v1/customers/{id}/identity", get(get_identity))
        .route("/v1/customers/{id}/invoices", get(list_invoices))
        .route("/v1/customers/{id}/points/redeem", post(redeem_points))
        .route("/v1/invoices/{number}", get(get_invoice))
        .route(
            "/v1/customers/{id}/payment-method",
            post(set_payment_method),
        )
        .route("/v1/authorizations", post(create_authorization))
        .route("/v1/orders/{id}", get(get_order))
        .route("/v1/orders/{id}/capture", post(capture_order))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/orders/{id}/refunds", post(refund_order))
        .route("/v1/payments", post(create_payment))
        .route(
            "/v1/payments/{id}/reversal",
            post(crate::http_billing::reverse_payment),
        )
        .route(
            "/v1/customers/{id}/membership",
            post(crate::http_billing::set_membership),
        )
        .route(
            "/v1/customers/{id}/payment-plan",
            post(crate::http_billing::agree_payment_plan)
                .get(crate::http_billing::get_payment_plan),
        )
        .route(
            "/v1/customers/{id}/credit-notes",
            get(crate::http_billing::list_credit_notes),
        )
        .route(
            "/v1/admin/webhooks",
            post(crate::http_billing::create_webhook).get(crate::http_billing::list_webhooks),
        )
        .route(
            "/v1/admin/webhooks/{id}",
            delete(crate::http_billing::delete_webhook),
        )
        .route("/v1/admin/clock", post(set_clock).get(get_clock))
        .route(
            "/v1/admin/suspensions",
            post(create_suspension).get(list_suspensions),
        )
        .route("/v1/admin/suspensions/{id}", delete(lift_suspension))
        .route("/v1/admin/orders/{id}/review", post(review_order))
        .route("/v1/admin/merchants", post(create_merchant))
        .route("/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_max))
        .with_state(app)
}
