//! The OpenAPI document served at `GET /openapi.json`, generated from the
//! handlers and types so it cannot drift from the code.

use crate::dto::*;
use crate::error::{ErrorBody, ErrorDetail};
use crate::http::{self, ClockView, MerchantCreated};
use crate::http_billing;
use crate::http_console;
use crate::http_risk;
use crate::identity::{EvidenceStep, HubKey, Identity, IdentityLink, IdentityMember};
use crate::render::{
    Balance, Customer, DunningEventJson, InvoiceJson, Order, Payment, Reason, Suspension,
};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What every operation shares, added to each so that a client generator
/// (or a fuzzer) sees the whole contract: its path parameters, the
/// `Idempotency-Key` header on writes, and every error status the server
/// can answer, each with the error body.
struct Contract;

/// The error statuses and when they happen.
const AUTH_ERRORS: [(&str, &str); 2] = [
    ("401", "no `Authorization: Bearer KEY`, or an unknown key"),
    ("403", "the key's role may not call this route"),
];
const PATH_ERRORS: [(&str, &str); 2] = [
    ("400", "a malformed path parameter"),
    ("404", "no such resource visible to this key"),
];
/// A journaled change: a conflict with the resource's state, or a key used
/// for another request.
const CHANGE_ERRORS: [(&str, &str); 1] = [(
    "409",
    "the resource's state forbids this, or the Idempotency-Key was used for another request",
)];
const KEY_ERRORS: [(&str, &str); 1] = [(
    "400",
    "a missing or malformed Idempotency-Key, or a body that is not one JSON value",
)];
const UNKEYED_BODY_ERRORS: [(&str, &str); 1] = [(
    "400",
    "a body that is not one JSON value, or that cannot be read",
)];
const BODY_ERRORS: [(&str, &str); 5] = [
    ("404", "a resource the body names does not exist"),
    ("408", "the body did not arrive within the body timeout"),
    ("413", "the body is larger than the limit"),
    ("415", "the body is not sent as `application/json`"),
    (
        "422",
        "a field is missing, of the wrong type, or out of range",
    ),
];
const ALWAYS_ERRORS: [(&str, &str); 1] = [(
    "503",
    "the engine is shutting down or overloaded; retry with the same Idempotency-Key",
)];

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn string_parameter(
    name: &str,
    place: ParameterIn,
    description: &str,
    schema: ObjectBuilder,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema.schema_type(Type::String)))
        .build()
}

/// `{id}`, `{number}` … in a path template.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// What an operation does, for the errors it can answer.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Read,
    /// A change without an Idempotency-Key or body (lifting a suspension).
    Change,
    /// A change under an Idempotency-Key, without a body.
    KeyedChange,
    /// A change under an Idempotency-Key with a JSON body.
    KeyedChangeWithBody,
    /// A change with a body and no Idempotency-Key (a `PUT`: the same body
    /// twice leaves the same state).
    ChangeWithBody,
}

fn complete(path: &str, operation: &mut Operation, kind: Kind) {
    let idempotent = matches!(kind, Kind::KeyedChange | Kind::KeyedChangeWithBody);
    let params = operation.parameters.get_or_insert_with(Vec::new);
    for name in path_parameters(path) {
        if params
            .iter()
            .any(|p| p.name == name && p.parameter_in == ParameterIn::Path)
        {
            continue;
        }
        let description = match name {
            "number" => "an invoice or statement number",
            _ => "a public id, e.g. `cus_…`, `ord_…`, `pay_…`",
        };
        params.push(string_parameter(
            name,
            ParameterIn::Path,
            description,
            ObjectBuilder::new()
                .min_length(Some(1))
                .max_length(Some(64)),
        ));
    }
    if idempotent {
        params.retain(|p| !p.name.eq_ignore_ascii_case("idempotency-key"));
        params.push(string_parameter(
            "Idempotency-Key",
            ParameterIn::Header,
            "unique per request: 1 to 255 visible ASCII characters (no spaces); a retry with the same key and body returns the first answer",
            ObjectBuilder::new()
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]{1,255}$")),
        ));
    }
    if params.is_empty() {
        operation.parameters = None;
    }
    let responses = &mut operation.responses.responses;
    responses.remove("4XX");
    let mut add = |list: &[(&str, &str)]| {
        for (status, why) in list {
            responses
                .entry((*status).to_string())
                .or_insert_with(|| error_response(why));
        }
    };
    add(&AUTH_ERRORS);
    if !path_parameters(path).is_empty() {
        add(&PATH_ERRORS);
    }
    if kind != Kind::Read {
        add(&CHANGE_ERRORS);
    }
    if idempotent {
        add(&KEY_ERRORS);
    }
    if kind == Kind::ChangeWithBody {
        add(&UNKEYED_BODY_ERRORS);
    }
    if matches!(kind, Kind::KeyedChangeWithBody | Kind::ChangeWithBody) {
        add(&BODY_ERRORS);
    }
    add(&ALWAYS_ERRORS);
}

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if let Some(op) = item.get.as_mut() {
                let query = op
                    .parameters
                    .as_ref()
                    .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
                complete(path, op, Kind::Read);
                if query {
                    op.responses
                        .responses
                        .entry("422".into())
                        .or_insert_with(|| error_response("a query parameter is out of range"));
                    // The query string itself: a parameter repeated or of
                    // the wrong type (`invalid_query`).
                    op.responses
                        .responses
                        .entry("400".into())
                        .or_insert_with(|| error_response("the query string is malformed"));
                }
            }
            if let Some(op) = item.post.as_mut() {
                complete(path, op, Kind::KeyedChangeWithBody);
            }
            if let Some(op) = item.put.as_mut() {
                complete(path, op, Kind::ChangeWithBody);
            }
            if let Some(op) = item.delete.as_mut() {
                // Removing a webhook endpoint is journaled under an
                // Idempotency-Key; lifting a suspension is not.
                let kind = if path.starts_with("/v1/admin/webhooks/") {
                    Kind::KeyedChange
                } else {
                    Kind::Change
                };
                complete(path, op, kind);
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "atobarai", description = "Deferred payment (後払い) engine: credit decisions, orders, payments."),
    paths(
        http::create_customer, http::get_customer, http::get_balance, http::list_invoices, http::redeem_points, http::get_invoice, http::set_payment_method,
        http::create_authorization, http::get_order, http::capture_order, http::cancel_order,
        http::refund_order, http::create_payment, http::set_clock, http::get_clock,
        crate::routes::journal_state,
        http::create_suspension, http::list_suspensions, http::lift_suspension,
        http::review_order, http::create_merchant, http::get_identity,
        http_billing::reverse_payment, http_billing::set_membership,
        http_billing::agree_payment_plan, http_billing::get_payment_plan,
        http_billing::list_credit_notes, http_billing::create_webhook,
        http_billing::list_webhooks, http_billing::delete_webhook,
        http_console::list_reviews, http_console::list_customer_orders,
        http_console::find_customers, http_console::find_orders,
        http_risk::put_rules, http_risk::list_rules, http_risk::get_rules,
        crate::http_models::put_model, crate::http_models::list_models,
        crate::http_models::model_drift,
        crate::http_privacy::get_personal_data, crate::http_privacy::erase_personal_data,
        crate::http_gift_cards::redeem, crate::http_gift_cards::get_wallet,
        crate::http_gift_cards::get_gift_card, crate::http_gift_cards::list_order_gift_cards,
        crate::http_gift_cards::create_revocation, crate::http_gift_cards::confirm_revocation,
        crate::http_gift_cards::create_appeal, crate::http_gift_cards::get_appeal,
        crate::http_gift_cards::decide_appeal, crate::http_gift_cards::spend,
        crate::http_gift_cards::list_appeals,
        crate::http_verifications::start, crate::http_verifications::confirm,
        crate::http_verifications::get, crate::http_verifications::change_contact,
        crate::http_lifecycle::get_lifecycle, crate::http_lifecycle::create_payment_code,
        crate::http_lifecycle::freeze, crate::http_lifecycle::unfreeze,
        crate::http_lifecycle::resolve_signup_review, crate::http_lifecycle::ekyc_callback,
    ),
    components(schemas(
        CreateCustomer, CreateAuthorization, ItemBody, CaptureBody, EmptyBody, RefundBody,
        CreatePayment, SetPaymentMethodBody, ClockBody, CreateSuspension, ReviewBody,
        CreateMerchant, RedeemPointsBody, Customer, Order, Payment, Reason, Suspension,
        Balance, DunningEventJson, InvoiceJson, ClockView, crate::routes::JournalState, MerchantCreated, ErrorBody, ErrorDetail,
        Identity, IdentityMember, IdentityLink, EvidenceStep, HubKey,
        http_billing::ReversePaymentBody, http_billing::MembershipBody,
        http_billing::PaymentPlanBody, http_billing::PaymentPlanJson, http_billing::InstalmentJson,
        http_billing::CreateWebhookBody, crate::webhook::EndpointJson,
        crate::render::CreditNoteJson, crate::render::PaymentReversal,
        http_console::OrderPage, http_console::CustomerPage,
        crate::http_privacy::PersonalDataJson, crate::http_privacy::ProfileJson,
        crate::error::ErrorPosition, crate::render::FiredRule, crate::render::FeatureValue,
        http_risk::PutRulesBody, http_risk::RuleJson, http_risk::RuleSetJson,
        http_risk::RuleSetSource, http_risk::RuleSetList,
        crate::http_models::PutModelBody, crate::http_models::ModelJson, crate::http_models::ModelList,
        crate::http_models::DriftJson, crate::http_models::DriftDay,
        crate::http_gift_cards::RedeemBody, crate::http_gift_cards::SpendBody, crate::http_gift_cards::WalletBalance,
        crate::http_gift_cards::WalletJson, crate::http_gift_cards::WalletEntryJson,
        crate::http_gift_cards::GiftCardJson, crate::http_gift_cards::CardEventJson,
        crate::http_gift_cards::RevocationBody, crate::http_gift_cards::RevocationJson,
        crate::http_gift_cards::RevokedCardJson, crate::http_gift_cards::PreviewJson,
        crate::http_gift_cards::PreviewAccountJson, crate::http_gift_cards::EvidenceJson,
        crate::http_gift_cards::AppealBody, crate::http_gift_cards::AppealJson,
        crate::http_gift_cards::AppealDecisionBody, crate::http_gift_cards::AppealDecisionJson,
        crate::http_gift_cards::IssuedGiftCardJson, crate::http_gift_cards::CapturedOrder,
        crate::http_verifications::VerificationBody, crate::http_verifications::VerificationStarted,
        crate::http_verifications::ConfirmBody, crate::http_verifications::ConfirmResult,
        crate::http_verifications::VerificationJson, crate::http_verifications::ContactChangeBody,
        crate::http_verifications::ContactChanged,
        crate::dto::ConsentBody,
        crate::http_lifecycle::PaymentCodeBody, crate::http_lifecycle::PaymentCodeJson,
        crate::http_lifecycle::EkycBody, crate::http_lifecycle::FreezeBody,
        crate::http_lifecycle::SignUpReviewBody, crate::http_lifecycle::LifecycleJson,
        crate::http_lifecycle::ConsentJson, crate::http_lifecycle::TroubleJson,
    )),
    modifiers(&BearerAuth, &Contract),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(&super::document()).unwrap()
    }

    #[test]
    fn every_path_parameter_and_write_header_is_declared() {
        let doc = doc();
        let paths = doc["paths"].as_object().unwrap();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let declared = |name: &str, place: &str| {
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == place && p["required"] == true)
                };
                for name in super::path_parameters(path) {
                    assert!(declared(name, "path"), "{method} {path}: {{{name}}}");
                }
                if method == "post" {
                    assert!(
                        declared("Idempotency-Key", "header"),
                        "{method} {path}: Idempotency-Key"
                    );
                }
                let statuses = op["responses"].as_object().unwrap();
                assert!(!statuses.contains_key("4XX"), "{method} {path}");
                for status in ["401", "403", "503"] {
                    assert!(statuses.contains_key(status), "{method} {path}: {status}");
                }
                if method == "post" {
                    for status in ["400", "404", "408", "409", "413", "415", "422"] {
                        let r = &statuses[status];
                        assert!(
                            r["content"]["application/json"]["schema"]["$ref"]
                                .as_str()
                                .is_some_and(|s| s.ends_with("/ErrorBody")),
                            "{method} {path}: {status} {r}"
                        );
                    }
                }
            }
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn the_rules_routes_declare_their_bodies_and_errors() {
        let doc = doc();
        let put = &doc["paths"]["/v1/admin/rules"]["put"];
        let content = put["requestBody"]["content"].as_object().unwrap();
        assert!(content.contains_key("application/json"), "{put}");
        assert!(content.contains_key("application/toml"), "{put}");
        for status in ["400", "401", "403", "409", "413", "415", "422", "503"] {
            assert!(
                put["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("/ErrorBody")),
                "PUT /v1/admin/rules: {status}"
            );
        }
        assert!(put["parameters"].is_null(), "no Idempotency-Key on a PUT");
        let get = &doc["paths"]["/v1/admin/rules/{version}"]["get"];
        assert_eq!(get["parameters"][0]["schema"]["type"], "integer");
        assert_eq!(get["parameters"][0]["schema"]["minimum"], 1);
        let details = &doc["components"]["schemas"]["ErrorDetail"]["properties"]["details"];
        assert_eq!(
            details["items"]["$ref"],
            "#/components/schemas/ErrorPosition"
        );
        let order = &doc["components"]["schemas"]["Order"];
        assert!(
            !order["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "rules"),
            "merchants never get `rules`"
        );
    }

    #[test]
    fn request_schemas_carry_the_servers_constraints() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let customer = &schemas["CreateCustomer"]["properties"];
        assert_eq!(customer["birth_date"]["format"], "date");
        assert!(customer["phone"]["pattern"].is_string());
        assert!(customer["postal_code"]["pattern"].is_string());
        assert_eq!(customer["name"]["maxLength"], 200);
        assert_eq!(customer["external_id"]["maxLength"], 64);
        for (schema, field) in [
            ("RefundBody", "amount"),
            ("CreatePayment", "amount"),
            ("CaptureBody", "amount"),
            ("ItemBody", "unit_price"),
        ] {
            let f = &schemas[schema]["properties"][field];
            assert_eq!(f["minimum"], 1, "{schema}.{field}");
            assert_eq!(f["maximum"], 1_000_000_000_000_i64, "{schema}.{field}");
        }
        assert_eq!(
            schemas["CreateAuthorization"]["properties"]["items"]["maxItems"],
            100
        );
    }
}
