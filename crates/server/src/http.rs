//! The HTTP API of `API.md`: extractors (caller, idempotency key, JSON
//! body), handlers that validate into commands, and the router.

use crate::auth;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::identity::{Identity, IdentitySecret};
use crate::node::{ClockMode, Node};
use crate::render::{Balance, Customer, InvoiceJson, Order, Payment, Suspension};
use atobarai_core::config::LimitsConfig;
use atobarai_engine::{Applied, Command, Idem, KeyGrant, Outcome, Principal};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
    /// How long a request body may take to arrive (408 after).
    pub body_timeout: std::time::Duration,
    /// Billing documents: their settings and the PDF renderer.
    pub documents: Arc<crate::documents::DocumentService>,
}

// ----- extractors -----------------------------------------------------------

/// The authenticated caller. Behind a role layer ([`crate::roles`]) the
/// principal is the one the layer authenticated (kept in the request's
/// extensions), so a key is checked once per request.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        crate::roles::authenticate(parts, app).map(Caller)
    }
}

/// The calling merchant's index, for the routes only merchants call (the
/// role layer [`crate::roles::RequireMerchant`] has admitted it).
pub struct MerchantCaller(pub u32);

impl FromRequestParts<AppState> for MerchantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        match crate::roles::authenticate(parts, app)? {
            Principal::Merchant(m) => Ok(MerchantCaller(m)),
            _ => Err(ApiError::forbidden("this route needs a merchant key")),
        }
    }
}

/// A path parameter; a malformed one (invalid UTF-8 once percent-decoded)
/// is refused in the API's error shape rather than axum's plain text.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", e.body_text()).field("path")
            })
    }
}

/// A query string, refused in the API's error shape when malformed.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text())
                    .field("query")
            })
    }
}

/// The `Idempotency-Key` header every POST must carry: exactly one, of 1 to
/// 255 visible ASCII characters (0x21–0x7E; no spaces).
pub struct IdemKey(pub String);

fn idempotency_key_invalid(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "idempotency_key_invalid", message)
        .field("Idempotency-Key")
}

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let value = values.next().ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_missing",
                "every POST needs an Idempotency-Key header",
            )
            .field("Idempotency-Key")
        })?;
        if values.next().is_some() {
            return Err(idempotency_key_invalid(
                "send exactly one Idempotency-Key header",
            ));
        }
        let bytes = value.as_bytes();
        if bytes.is_empty()
            || bytes.len() > IDEMPOTENCY_KEY_CHARS_MAX
            || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
        {
            return Err(idempotency_key_invalid(
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ));
        }
        // Visible ASCII is valid UTF-8.
        Ok(IdemKey(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// Is this `Content-Type` JSON (`application/json`, any parameters, or an
/// `application/…+json` type)?
fn is_json(content_type: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(content_type) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON body decoded with the path of the field at fault on error. An
/// empty body reads as `{}`. A body must be sent as `application/json`
/// (415 otherwise), arrive within the server's body timeout (408) and fit
/// the body limit (413); bytes after the JSON value are refused (400).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        let declared_empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
        let unsupported = || {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON sent as `Content-Type: application/json`",
            )
            .field("Content-Type")
        };
        if content_type
            .as_ref()
            .is_some_and(|ct| !is_json(ct.as_bytes()))
        {
            return Err(unsupported());
        }
        let timeout = app.body_timeout;
        let read = Bytes::from_request(req, app);
        let bytes = match tokio::time::timeout(timeout, read).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the body did not arrive within {} seconds",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the body is larger than {} bytes",
                        app.limits.request_body_bytes_max
                    ),
                ));
            }
            Ok(Err(_)) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    "the body could not be read",
                ));
            }
            Ok(Ok(bytes)) => bytes,
        };
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        if content_type.is_none() && !blank && !declared_empty {
            return Err(unsupported());
        }
        decode_json(if blank { b"{}" } else { &bytes }).map(JsonBody)
    }
}

/// Decode JSON, mapping serde's error to a code and the field's path.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
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
    })?;
    // Anything after the value (`{"amount": 10}{"amount": 2999}`) is
    // refused: one body, one value.
    de.end().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body has data after its JSON value",
        )
    })?;
    Ok(value)
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
        Err(u) => Err(u.into()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(applied)) => Ok(applied),
    }
}

pub(crate) async fn read<R: Send + 'static>(
    app: &AppState,
    f: impl FnOnce(&atobarai_engine::Engine) -> R + Send + 'static,
) -> Result<R, ApiError> {
    app.node.read(f).await.map_err(ApiError::from)
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
    MerchantCaller(merchant): MerchantCaller,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateCustomer>,
) -> Result<impl IntoResponse, ApiError> {
    let command = body.into_command(merchant, &app.limits, &app.identity)?;
    // With sealing configured, the personal fields are encrypted before
    // the command exists for the journal (`crate::privacy`).
    if let Some(privacy) = app.identity.privacy() {
        return crate::http_privacy::register_sealed(&app, privacy, caller.0, key, command).await;
    }
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Customer>, ApiError> {
    let p = caller.0;
    let (view, score, life) = read(&app, move |e| {
        let view = e.customer(p, &id)?;
        let score = e.customer_score(p, &id)?;
        let life = e.customer_lifecycle(p, u64::from(view.customer))?;
        Ok::<_, atobarai_engine::CommandError>((view, score, life))
    })
    .await??;
    Ok(Json(
        Customer::from(&view)
            .with_score(&score, p)
            .with_lifecycle(&life),
    ))
}

#[utoipa::path(get, path = "/v1/customers/{id}/balance",
    responses((status = 200, body = Balance), (status = 404, body = ErrorBody)))]
pub async fn get_balance(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
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
    ApiPath(id): ApiPath<String>,
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
    ApiPath(id): ApiPath<String>,
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
    /// `json` (default), `html` for the printable document in Japanese, or
    /// `pdf` for the same document as an A4 PDF with its embedded font.
    #[param(pattern = "^(json|html|pdf)$")]
    pub format: Option<String>,
}

/// One invoice by number: as JSON, or as the document a customer pays
/// with (a qualified invoice: addressee, issuer and registration number,
/// the purchases with their lines, totals and tax by rate, credit notes,
/// the convenience-store barcode) in HTML or PDF.
#[utoipa::path(get, path = "/v1/invoices/{number}", params(InvoiceQuery),
    responses((status = 200, description = "the invoice (JSON), or its document (HTML, PDF)",
            content((InvoiceJson = "application/json"), (String = "text/html"),
                (String = "application/pdf"))),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the customer's personal data was erased, or the document disagrees with the invoice", body = ErrorBody),
        (status = 422, description = "the registered address does not fit the envelope window, or a line's tax rate is not configured", body = ErrorBody),
        (status = 503, description = "sealed personal data and no keyring", body = ErrorBody)))]
pub async fn get_invoice(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> Result<Response, ApiError> {
    let p = caller.0;
    let format = match q.format.as_deref() {
        None | Some("json") => {
            let (ci, invoice, notes) = read(&app, move |e| e.invoice(p, &number)).await??;
            return Ok(Json(InvoiceJson::new(ci, &invoice, &notes)).into_response());
        }
        Some(f @ ("html" | "pdf")) => f == "pdf",
        Some(_) => {
            return Err(ApiError::invalid(
                "unknown_format",
                "format",
                "format must be json, html or pdf",
            ));
        }
    };
    let (source, as_of) = read(&app, move |e| {
        e.document_source(p, &number)
            .map(|s| (s, e.now().jst_date()))
    })
    .await??;
    let doc = crate::documents::render_blocking(&app, source, as_of).await?;
    if format {
        let renderer = app.documents.pdf().map_err(|e| ApiError::internal(&e))?;
        let number = doc.number.clone();
        let pdf = crate::http_privacy::blocking(move || renderer.render(&doc))
            .await?
            .map_err(|e| ApiError::internal(&e.to_string()))?;
        Ok((
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{number}.pdf\""),
                ),
            ],
            pdf,
        )
            .into_response())
    } else {
        Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            atobarai_documents::html::render(&doc),
        )
            .into_response())
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Identity>, ApiError> {
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
    ApiPath(id): ApiPath<String>,
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
    MerchantCaller(merchant): MerchantCaller,
    caller: Caller,
    IdemKey(key): IdemKey,
    JsonBody(body): JsonBody<CreateAuthorization>,
) -> Result<impl IntoResponse, ApiError> {
    let command = body.into_command(merchant, &app.limits, &app.identity, &app.documents.config)?;
    expect_order(submit(&app, caller.0, key, command).await?)
}

#[utoipa::path(get, path = "/v1/orders/{id}",
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Order>, ApiError> {
    let p = caller.0;
    let view = read(&app, move |e| e.order(p, &id)).await??;
    Ok(Json(Order::for_principal(&view, p)))
}

#[utoipa::path(post, path = "/v1/orders/{id}/capture", request_body = CaptureBody,
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn capture_order(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<CaptureBody>,
) -> Result<Response, ApiError> {
    let order = order_id(&id)?;
    let command = body.into_command(caller.0, order)?;
    // An issuer's gift cards are issued by the capture: the codes are
    // drawn here (the order's lines never change after authorization).
    let p = caller.0;
    if let Ok(units) = read(&app, move |e| e.gift_card_units(p, order)).await?
        && units > 0
    {
        let Command::Capture { amount, .. } = command else {
            unreachable!("a capture body builds a capture")
        };
        return crate::http_gift_cards::capture_issuing(&app, p, key, order, amount, units).await;
    }
    Ok(expect_order(submit(&app, caller.0, key, command).await?)?.into_response())
}

#[utoipa::path(post, path = "/v1/orders/{id}/cancel", request_body = EmptyBody,
    responses((status = 200, body = Order), (status = "4XX", body = ErrorBody)))]
pub async fn cancel_order(
    State(app): State<AppState>,
    caller: Caller,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
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
    ApiPath(id): ApiPath<String>,
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
pub async fn get_clock(State(app): State<AppState>) -> Result<Json<ClockView>, ApiError> {
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
) -> Result<Json<Vec<Suspension>>, ApiError> {
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Suspension>, ApiError> {
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
        Err(u) => Err(u.into()),
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
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> Result<impl IntoResponse, ApiError> {
    let command = body.into_command(order_id(&id)?)?;
    expect_order(submit(&app, caller.0, key, command).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MerchantCreated {
    pub id: String,
    pub name: String,
    /// The merchant operates a gift-card program (captures issue codes).
    pub gift_card_issuer: bool,
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
    let name = text("name", &body.name, app.limits.text_chars_max, true)?;
    let minted = auth::mint();
    let issuer = body.gift_card_issuer.unwrap_or(false);
    let build = |name: String, key_id: String, secret_sha256: [u8; 32]| {
        if issuer {
            Command::AddIssuerMerchant {
                name,
                key_id,
                secret_sha256,
            }
        } else {
            Command::AddMerchant {
                name,
                key_id,
                secret_sha256,
            }
        }
    };
    // The fingerprint must not cover the random key, or a retry would look
    // like a different request: hash the name (and the issuer flag) only.
    let idem = Idem {
        principal: caller.0,
        key,
        request_hash: build(name.clone(), String::new(), [0; 32]).fingerprint(),
    };
    let command = build(name, minted.key_id, minted.secret_sha256);
    match app.node.submit(Some(idem), command).await {
        Err(u) => Err(u.into()),
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
                gift_card_issuer: issuer,
                key: changed.then_some(minted.key),
            },
        }),
        Ok(Ok(other)) => Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
    }
}
