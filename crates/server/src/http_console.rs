//! Console listings: the review queue, a customer's orders, and lookups by
//! the merchant's own ids (a customer's `external_id`, an order's
//! `merchant_order_id`). Every list answers `{"items": [...], "next"}` with
//! the items rendered exactly as their single GET, oldest first.
//!
//! Paging: `limit` is 1 to [`PAGE_LIMIT_MAX`] (default the maximum);
//! `next` is the `order_id` of the page's last order, or null on the last
//! page, and is passed back as `after`. A cursor is a position, not a
//! resource: any well-formed order id is accepted as `after` (the page
//! starts after that order), a malformed one is a 422 on `after`.
//!
//! Who sees what: merchants see their own customers and orders only;
//! operators (admin, analyst) see every merchant's, and name the merchant
//! (`merchant=mer_…`) when they look up by a merchant's own id, since those
//! ids are unique only per merchant. A merchant key may pass its own
//! `merchant` id; another merchant's is answered as not found.
//!
//! Reads run on the reader thread (the follower engine), never the engine
//! thread; rendering happens here on the HTTP thread.

use crate::error::{ApiError, ErrorBody};
use crate::http::{ApiPath, ApiQuery, AppState, Caller, read};
use crate::render::{Customer, Order};
use atobarai_core::ids;
use atobarai_engine::{ErrorKind, OrderView, PAGE_LIMIT_MAX, Page, Principal, prefix};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A page of orders, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    /// At most `limit` orders, each as `GET /v1/orders/{id}` shows it.
    pub items: Vec<Order>,
    /// Pass as `after` for the next page; null on the last page.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// Customers matching a lookup (at most one: an `external_id` is unique per
/// merchant).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    /// Each as `GET /v1/customers/{id}` shows it; empty when none matches.
    pub items: Vec<Customer>,
    /// Always null: a lookup by `external_id` is one page.
    #[schema(required = true)]
    pub next: Option<String>,
}

impl OrderPage {
    /// The page as `principal` sees each order's single GET (operators
    /// also see the risk rules that fired).
    fn for_principal(page: &Page<OrderView>, principal: Principal) -> OrderPage {
        OrderPage {
            items: page
                .items
                .iter()
                .map(|o| Order::for_principal(o, principal))
                .collect(),
            next: page
                .next
                .map(|oi| ids::encode(prefix::ORDER, u64::from(oi))),
        }
    }
}

/// Paging of a list. Ids are documented with the pattern of what
/// `ids::decode` accepts: the prefix and 13 Crockford base32 characters,
/// the first at most `f` (64 bits).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` of the previous page (an order id); omit for the first
    /// page.
    #[param(value_type = String, required = false, pattern = "^ord_[0-9a-f][0-9a-hjkmnp-tv-z]{12}$",
        example = "ord_4k2m9x7q1r0ab")]
    pub after: Option<String>,
    /// Items per page, 1 to 100 (default 100).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// A lookup of a merchant's customer by the merchant's own id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerLookupQuery {
    /// The merchant's own id for the customer, as registered.
    #[param(value_type = String, required = true, min_length = 1, max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub external_id: Option<String>,
    /// The merchant (`mer_…`): required with an operator key; a merchant
    /// key may name only itself.
    #[param(value_type = String, required = false, pattern = "^mer_[0-9a-f][0-9a-hjkmnp-tv-z]{12}$")]
    pub merchant: Option<String>,
}

/// A lookup of a merchant's orders by the merchant's own order id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderLookupQuery {
    /// The merchant's own order id, as sent with the authorization (not
    /// necessarily unique: every order carrying it is listed).
    #[param(value_type = String, required = true, min_length = 1, max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub merchant_order_id: Option<String>,
    /// The merchant (`mer_…`): required with an operator key; a merchant
    /// key may name only itself.
    #[param(value_type = String, required = false, pattern = "^mer_[0-9a-f][0-9a-hjkmnp-tv-z]{12}$")]
    pub merchant: Option<String>,
    /// The `next` of the previous page (an order id); omit for the first
    /// page.
    #[param(value_type = String, required = false, pattern = "^ord_[0-9a-f][0-9a-hjkmnp-tv-z]{12}$")]
    pub after: Option<String>,
    /// Items per page, 1 to 100 (default 100).
    #[param(value_type = u32, required = false, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// `after` and `limit` checked: the order index to start after, and the
/// page size.
fn paging(after: Option<&str>, limit: Option<&str>) -> Result<(Option<u32>, usize), ApiError> {
    let limit = match limit {
        None => PAGE_LIMIT_MAX,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=PAGE_LIMIT_MAX).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit_out_of_range",
                    "limit",
                    format!("limit must be a whole number between 1 and {PAGE_LIMIT_MAX}"),
                )
            })?,
    };
    let after = match after {
        None => None,
        Some(cursor) => {
            let index = ids::decode(prefix::ORDER, cursor).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_cursor",
                    "after",
                    "after must be the `next` of a previous page (an order id, `ord_…`)",
                )
            })?;
            // Order indices are 32-bit: a well-formed id beyond them is a
            // position after every order (an empty page).
            Some(u32::try_from(index).unwrap_or(u32::MAX))
        }
    };
    Ok((after, limit))
}

/// A required query parameter that is present and a valid id text.
fn required_text(field: &str, value: Option<&str>, max: usize) -> Result<String, ApiError> {
    let value = value.ok_or_else(|| {
        ApiError::invalid("missing_field", field, format!("the query needs `{field}`"))
    })?;
    crate::dto::text(field, value, max, true)
}

/// Whose ids a lookup searches: the calling merchant's, or the merchant an
/// operator names (resolved on the reader against the merchants it knows).
enum Scope {
    Merchant(u32),
    Named(String),
}

/// The scope of a lookup by a merchant's own id. `hidden` is the answer to
/// a merchant key naming another merchant (as if nothing matched).
fn scope(
    principal: Principal,
    merchant: Option<&str>,
    hidden: fn() -> ApiError,
) -> Result<Scope, ApiError> {
    let named = match merchant {
        None => None,
        Some(id) => Some(
            ids::decode(prefix::MERCHANT, id)
                .map(|index| (id.to_string(), index))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "invalid_merchant",
                        "merchant",
                        "merchant must be a merchant id (`mer_…`)",
                    )
                })?,
        ),
    };
    match (principal, named) {
        (Principal::Merchant(m), None) => Ok(Scope::Merchant(m)),
        (Principal::Merchant(m), Some((_, index))) if index == u64::from(m) => {
            Ok(Scope::Merchant(m))
        }
        (Principal::Merchant(_), Some(_)) => Err(hidden()),
        (_, None) => Err(ApiError::invalid(
            "merchant_required",
            "merchant",
            "an operator key names the merchant whose ids to search: merchant=mer_…",
        )),
        (_, Some((id, _))) => Ok(Scope::Named(id)),
    }
}

impl Scope {
    /// The merchant's index in `engine`, or 404 for an operator naming an
    /// unknown merchant.
    fn resolve(self, engine: &atobarai_engine::Engine) -> Result<u32, ApiError> {
        match self {
            Scope::Merchant(m) => Ok(m),
            Scope::Named(id) => engine.merchant_by_public_id(&id).ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "merchant_not_found",
                    "merchant not found",
                )
                .field("merchant")
            }),
        }
    }
}

fn customer_hidden() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "customer_not_found",
        "customer not found",
    )
    .field("merchant")
}

fn order_hidden() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "order not found").field("merchant")
}

/// Orders held for review, oldest first (operator key: admin or analyst).
#[utoipa::path(get, path = "/v1/admin/reviews", params(PageQuery),
    responses((status = 200, body = OrderPage),
        (status = 400, description = "a malformed query string (e.g. a parameter given twice)", body = ErrorBody),
        (status = 422, description = "`limit` outside 1–100 or `after` not an order id", body = ErrorBody)))]
pub async fn list_reviews(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let (after, limit) = paging(q.after.as_deref(), q.limit.as_deref())?;
    let p = caller.0;
    let page = read(&app, move |e| e.orders_in_review(p, after, limit)).await??;
    Ok(Json(OrderPage::for_principal(&page, p)))
}

/// A customer's orders, oldest first (the merchant that registered the
/// customer, or an operator).
#[utoipa::path(get, path = "/v1/customers/{id}/orders", params(PageQuery),
    responses((status = 200, body = OrderPage),
        (status = 400, description = "a malformed path parameter or query string", body = ErrorBody),
        (status = 404, description = "no such customer visible to this key", body = ErrorBody),
        (status = 422, description = "`limit` outside 1–100 or `after` not an order id", body = ErrorBody)))]
pub async fn list_customer_orders(
    State(app): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let (after, limit) = paging(q.after.as_deref(), q.limit.as_deref())?;
    let p = caller.0;
    let page = read(&app, move |e| e.customer_orders(p, &id, after, limit)).await??;
    Ok(Json(OrderPage::for_principal(&page, p)))
}

/// A merchant's customer by the merchant's own id for it (`external_id`):
/// `items` holds the customer, or nothing when no customer of that merchant
/// has the id. A merchant key searches its own customers; an operator key
/// names the merchant.
#[utoipa::path(get, path = "/v1/customers", params(CustomerLookupQuery),
    responses((status = 200, body = CustomerPage),
        (status = 400, description = "a malformed query string (e.g. a parameter given twice)", body = ErrorBody),
        (status = 404, description = "`merchant` names no merchant this key may search", body = ErrorBody),
        (status = 422, description = "`external_id` missing or not a valid id, `merchant` not a merchant id, or (operator key) `merchant` missing", body = ErrorBody)))]
pub async fn find_customers(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CustomerLookupQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let external_id = required_text(
        "external_id",
        q.external_id.as_deref(),
        app.limits.id_chars_max,
    )?;
    let p = caller.0;
    let scope = scope(p, q.merchant.as_deref(), customer_hidden)?;
    let found = read(&app, move |e| {
        let merchant = scope.resolve(e)?;
        match e.customer_by_external_id(p, merchant, &external_id) {
            Ok(view) => {
                let life = e.lifecycle_view(view.customer, e.now());
                Ok(Some((view, life)))
            }
            Err(err) if err.kind == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(ApiError::from(err)),
        }
    })
    .await??;
    Ok(Json(CustomerPage {
        items: found
            .iter()
            .map(|(view, life)| Customer::from(view).with_lifecycle(life))
            .collect(),
        next: None,
    }))
}

/// A merchant's orders by the merchant's own order id, oldest first. A
/// merchant key searches its own orders; an operator key names the
/// merchant.
#[utoipa::path(get, path = "/v1/orders", params(OrderLookupQuery),
    responses((status = 200, body = OrderPage),
        (status = 400, description = "a malformed query string (e.g. a parameter given twice)", body = ErrorBody),
        (status = 404, description = "`merchant` names no merchant this key may search", body = ErrorBody),
        (status = 422, description = "`merchant_order_id` missing or not a valid id, `merchant` not a merchant id, (operator key) `merchant` missing, `limit` outside 1–100 or `after` not an order id", body = ErrorBody)))]
pub async fn find_orders(
    State(app): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<OrderLookupQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let merchant_order_id = required_text(
        "merchant_order_id",
        q.merchant_order_id.as_deref(),
        app.limits.id_chars_max,
    )?;
    let (after, limit) = paging(q.after.as_deref(), q.limit.as_deref())?;
    let p = caller.0;
    let scope = scope(p, q.merchant.as_deref(), order_hidden)?;
    let page = read(&app, move |e| {
        let merchant = scope.resolve(e)?;
        e.orders_by_merchant_order_id(p, merchant, &merchant_order_id, after, limit)
            .map_err(ApiError::from)
    })
    .await??;
    Ok(Json(OrderPage::for_principal(&page, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_the_documented_pattern() {
        // `^ord_[0-9a-f][0-9a-hjkmnp-tv-z]{12}$`
        for index in [0_u64, 1, 99, u64::from(u32::MAX), u64::MAX] {
            let id = ids::encode(prefix::ORDER, index);
            let rest = &id[4..];
            assert_eq!(rest.len(), 13, "{id}");
            let first = rest.as_bytes()[0];
            assert!(
                first.is_ascii_digit() || (b'a'..=b'f').contains(&first),
                "{id}"
            );
            assert!(
                rest.bytes()
                    .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)),
                "{id}"
            );
        }
    }

    #[test]
    fn paging_checks_limit_and_cursor() {
        assert_eq!(paging(None, None).unwrap(), (None, PAGE_LIMIT_MAX));
        assert_eq!(paging(None, Some("1")).unwrap().1, 1);
        for bad in ["0", "101", "-1", "", "1.5", "ten"] {
            let e = paging(None, Some(bad)).unwrap_err();
            assert_eq!(
                (e.status, e.field.as_deref()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
            );
        }
        let cursor = ids::encode(prefix::ORDER, 41);
        assert_eq!(paging(Some(&cursor), None).unwrap().0, Some(41));
        let far = ids::encode(prefix::ORDER, u64::MAX);
        assert_eq!(paging(Some(&far), None).unwrap().0, Some(u32::MAX));
        for bad in ["41", "cus_0000000000000", "ord_", "ord_zzzzzzzzzzzzz"] {
            let e = paging(Some(bad), None).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("after"), "{bad}");
        }
    }
}
