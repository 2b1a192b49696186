//! The OpenAPI document served at `GET /openapi.json`, generated from the
//! handlers and types so it cannot drift from the code.

use crate::dto::*;
use crate::error::{ErrorBody, ErrorDetail};
use crate::http::{self, ClockView, MerchantCreated};
use crate::http_billing;
use crate::identity::{EvidenceStep, Identity, IdentityLink, IdentityMember};
use crate::render::{
    Balance, Customer, DunningEventJson, InvoiceJson, Order, Payment, Reason, Suspension,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

#[derive(OpenApi)]
#[openapi(
    info(title = "atobarai", description = "Deferred payment (後払い) engine: credit decisions, orders, payments."),
    paths(
        http::create_customer, http::get_customer, http::get_balance, http::list_invoices, http::redeem_points, http::get_invoice, http::set_payment_method,
        http::create_authorization, http::get_order, http::capture_order, http::cancel_order,
        http::refund_order, http::create_payment, http::set_clock, http::get_clock,
        http::create_suspension, http::list_suspensions, http::lift_suspension,
        http::review_order, http::create_merchant, http::get_identity,
        http_billing::reverse_payment, http_billing::set_membership,
        http_billing::agree_payment_plan, http_billing::get_payment_plan,
        http_billing::list_credit_notes, http_billing::create_webhook,
        http_billing::list_webhooks, http_billing::delete_webhook,
    ),
    components(schemas(
        CreateCustomer, CreateAuthorization, ItemBody, CaptureBody, EmptyBody, RefundBody,
        CreatePayment, SetPaymentMethodBody, ClockBody, CreateSuspension, ReviewBody,
        CreateMerchant, RedeemPointsBody, Customer, Order, Payment, Reason, Suspension,
        Balance, DunningEventJson, InvoiceJson, ClockView, MerchantCreated, ErrorBody, ErrorDetail,
        Identity, IdentityMember, IdentityLink, EvidenceStep,
        http_billing::ReversePaymentBody, http_billing::MembershipBody,
        http_billing::PaymentPlanBody, http_billing::PaymentPlanJson, http_billing::InstalmentJson,
        http_billing::CreateWebhookBody, crate::webhook::EndpointJson,
        crate::render::CreditNoteJson, crate::render::PaymentReversal,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}
