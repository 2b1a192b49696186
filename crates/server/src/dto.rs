//! Request bodies as they arrive, and their validation into engine
//! commands. Every refusal names the field at fault in the API's spelling
//! (`items[2].unit_price`) and happens before anything reaches the engine.

use crate::error::ApiError;
use crate::identity::{IdentitySecret, phone_is_acceptable, postal_code_contradicts};
use atobarai_core::config::LimitsConfig;
use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen, ids};
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, LineItem, PaymentInput, Principal, ReviewVerdict,
    SuspensionInput, prefix,
};
use atobarai_identity::{Kind, Normalized, normalize};
use serde::Deserialize;
use utoipa::ToSchema;

/// Customer registration (`POST /v1/customers`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    #[schema(example = "c-123")]
    pub external_id: String,
    #[schema(example = "山田 太郎")]
    pub name: String,
    #[schema(example = "ヤマダ タロウ")]
    pub name_kana: String,
    #[schema(example = "1990-04-01")]
    pub birth_date: String,
    #[schema(example = "090-1234-5678")]
    pub phone: String,
    #[schema(example = "taro@example.jp")]
    pub email: String,
    #[schema(example = "100-0013")]
    pub postal_code: String,
    #[schema(example = "東京都千代田区霞が関1-3-1 霞ビル101")]
    pub address: String,
    /// `convenience_store` | `paper_bill` | `bank_debit`
    #[schema(example = "convenience_store")]
    pub payment_method: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub sku: String,
    pub name: String,
    /// One of the categories in API.md, e.g. `gift_card`, `daily_goods`.
    pub category: String,
    /// Yen, tax included, > 0.
    pub unit_price: i64,
    pub quantity: i64,
}

/// An authorization request (`POST /v1/authorizations`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAuthorization {
    pub merchant_order_id: String,
    /// A customer id (`cus_…`) of the calling merchant.
    pub customer: String,
    /// `per_order` | `monthly`
    pub product: String,
    /// `online` | `in_store`
    pub channel: String,
    pub items: Vec<ItemBody>,
    #[serde(default)]
    pub shipping_address: Option<String>,
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Yen to capture; all of the authorized amount when absent.
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub amount: i64,
}

/// A payment reported by a payment channel (`POST /v1/payments`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    pub customer: String,
    pub amount: i64,
    /// Where the money came in, e.g. `convenience_store`, `bank_debit`.
    pub channel: String,
    /// The channel's unique reference; a known one returns the first result.
    pub reference: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPaymentMethodBody {
    pub payment_method: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// RFC 3339, e.g. `2026-08-10T09:00:00+09:00`.
    pub now: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSuspension {
    pub category: String,
    #[serde(default)]
    pub merchant: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    /// RFC 3339; the engine's current time when absent.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// `approve` | `decline`
    pub decision: String,
}

/// Use points as a discount on the monthly statement (1 point = ¥1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemPointsBody {
    pub points: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchant {
    pub name: String,
}

// ----- validation helpers ---------------------------------------------------

/// A text field: at most `max` characters, no control characters, and not
/// blank when `required`.
pub fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, ApiError> {
    if required && value.trim().is_empty() {
        return Err(ApiError::invalid(
            "required",
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(
            "too_long",
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "control_character",
            field,
            format!("{field} contains a control character"),
        ));
    }
    Ok(value.to_string())
}

fn amount(field: &str, value: i64) -> Result<Yen, ApiError> {
    Yen::positive(value).map_err(|_| {
        ApiError::invalid(
            "invalid_amount",
            field,
            format!(
                "{field} must be a whole number of yen between 1 and {}",
                Yen::AMOUNT_MAX.get()
            ),
        )
    })
}

fn parse_enum<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    code: &'static str,
) -> Result<T, ApiError> {
    parse(value)
        .ok_or_else(|| ApiError::invalid(code, field, format!("{field} has an unknown value")))
}

pub fn customer_id(field: &str, id: &str) -> Result<u64, ApiError> {
    ids::decode(prefix::CUSTOMER, id).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "customer_not_found",
            "customer not found",
        )
        .field(field)
    })
}

pub fn order_id(id: &str) -> Result<u64, ApiError> {
    ids::decode(prefix::ORDER, id).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "order_not_found",
            "order not found",
        )
        .field("id")
    })
}

fn time(field: &str, value: &str) -> Result<At, ApiError> {
    At::parse_rfc3339(value).map_err(|_| {
        ApiError::invalid(
            "invalid_time",
            field,
            format!("{field} must be an RFC 3339 time"),
        )
    })
}

/// A Japanese phone number that can be dialled, as typed (full-width digits,
/// hyphens, parentheses, `+81`): normalized by libphonenumber's metadata.
fn phone(value: &str) -> Result<Normalized, ApiError> {
    let n = normalize(Kind::Phone, value);
    if phone_is_acceptable(&n) {
        Ok(n)
    } else {
        Err(ApiError::invalid(
            "invalid_phone",
            "phone",
            "phone must be a Japanese phone number that can be dialled",
        ))
    }
}

fn email(value: &str) -> Result<Normalized, ApiError> {
    let n = normalize(Kind::Email, value);
    if n.is_valid() {
        Ok(n)
    } else {
        Err(ApiError::invalid(
            "invalid_email",
            "email",
            "email is not a valid address",
        ))
    }
}

fn postal_code(value: &str) -> Result<String, ApiError> {
    let digits: String = value
        .trim()
        .trim_start_matches('〒')
        .chars()
        .filter(|c| !matches!(c, '-' | '－' | 'ー' | '‐'))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            other => other,
        })
        .collect();
    if digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("{}-{}", &digits[..3], &digits[3..]))
    } else {
        Err(ApiError::invalid(
            "invalid_postal_code",
            "postal_code",
            "postal_code must be 7 digits, e.g. 100-0013",
        ))
    }
}

fn ip(value: &str) -> Result<String, ApiError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    value
        .parse::<std::net::IpAddr>()
        .map(|a| a.to_string())
        .map_err(|_| ApiError::invalid("invalid_ip", "ip", "ip must be an IPv4 or IPv6 address"))
}

// ----- into commands --------------------------------------------------------

impl CreateCustomer {
    /// Validates the registration and computes its identity keys with `secret`.
    pub fn into_command(
        self,
        merchant: u32,
        l: &LimitsConfig,
        secret: &IdentitySecret,
    ) -> Result<Command, ApiError> {
        let birth_date = JstDate::parse(&self.birth_date).map_err(|_| {
            ApiError::invalid(
                "invalid_date",
                "birth_date",
                "birth_date must be YYYY-MM-DD",
            )
        })?;
        let payment_method = parse_enum(
            "payment_method",
            &self.payment_method,
            PaymentMethod::parse,
            "unknown_payment_method",
        )?;
        let external_id = text("external_id", &self.external_id, l.id_chars_max, true)?;
        let name = text("name", &self.name, l.text_chars_max, true)?;
        let name_kana = text("name_kana", &self.name_kana, l.text_chars_max, true)?;
        let phone = phone(&text("phone", &self.phone, 32, true)?)?;
        let email = email(&text("email", &self.email, 254, true)?)?;
        let postal_code = postal_code(&text("postal_code", &self.postal_code, 16, true)?)?;
        let address = text("address", &self.address, l.text_chars_max, true)?;
        if postal_code_contradicts(&postal_code, &address) {
            return Err(ApiError::invalid(
                "postal_code_mismatch",
                "postal_code",
                "postal_code does not cover the address",
            ));
        }
        let identity = secret.registration_keys(
            &normalize(Kind::Name, &name),
            &phone,
            &email,
            &normalize(Kind::Address, &format!("〒{postal_code} {address}")),
        );
        let profile = CustomerProfile {
            external_id,
            name,
            name_kana,
            birth_date,
            // The canonical forms: E.164 and the lower-cased e-mail address.
            phone: phone.canonical.unwrap_or_default(),
            email: email.canonical.unwrap_or_default(),
            postal_code,
            address,
        };
        Ok(Command::RegisterCustomer {
            merchant,
            profile,
            payment_method,
            identity,
        })
    }
}

impl CreateAuthorization {
    /// Validates the order and computes its device and IP keys with `secret`.
    pub fn into_command(
        self,
        merchant: u32,
        l: &LimitsConfig,
        secret: &IdentitySecret,
    ) -> Result<Command, ApiError> {
        let merchant_order_id = text(
            "merchant_order_id",
            &self.merchant_order_id,
            l.id_chars_max,
            true,
        )?;
        let customer = customer_id("customer", &self.customer)?;
        let product = parse_enum("product", &self.product, Product::parse, "unknown_product")?;
        let channel = parse_enum("channel", &self.channel, Channel::parse, "unknown_channel")?;
        if self.items.is_empty() {
            return Err(ApiError::invalid(
                "items_empty",
                "items",
                "an order needs at least one item",
            ));
        }
        if self.items.len() > l.line_items_max {
            return Err(ApiError::invalid(
                "too_many_items",
                "items",
                format!("an order has at most {} items", l.line_items_max),
            ));
        }
        let mut items = Vec::with_capacity(self.items.len());
        let mut total = Yen::ZERO;
        for (i, item) in self.items.into_iter().enumerate() {
            let f = |name: &str| format!("items[{i}].{name}");
            let unit_price = amount(&f("unit_price"), item.unit_price)?;
            if item.quantity <= 0 || item.quantity > l.line_quantity_max {
                return Err(ApiError::invalid(
                    "invalid_quantity",
                    f("quantity"),
                    format!("quantity must be between 1 and {}", l.line_quantity_max),
                ));
            }
            let too_large = || {
                ApiError::invalid(
                    "amount_too_large",
                    "items",
                    format!("the order total exceeds {}", Yen::AMOUNT_MAX),
                )
            };
            let line = unit_price
                .checked_mul(item.quantity)
                .map_err(|_| too_large())?;
            total = total.checked_add(line).map_err(|_| too_large())?;
            if total > Yen::AMOUNT_MAX {
                return Err(too_large());
            }
            items.push(LineItem {
                sku: text(&f("sku"), &item.sku, l.id_chars_max, true)?,
                name: text(&f("name"), &item.name, l.text_chars_max, true)?,
                category: parse_enum(
                    &f("category"),
                    &item.category,
                    Category::parse,
                    "unknown_category",
                )?,
                unit_price,
                quantity: item.quantity,
            });
        }
        let opt = |field: &str, v: Option<String>, max: usize| {
            text(field, v.as_deref().unwrap_or(""), max, false)
        };
        let device_id = opt("device_id", self.device_id, l.id_chars_max * 2)?;
        let ip = ip(&opt("ip", self.ip, 64)?)?;
        Ok(Command::Authorize {
            merchant,
            session: secret.session_keys(&device_id, &ip),
            input: AuthorizeInput {
                merchant_order_id,
                customer,
                product,
                channel,
                items,
                shipping_address: opt("shipping_address", self.shipping_address, l.text_chars_max)?,
                device_id,
                ip,
            },
        })
    }
}

impl CaptureBody {
    pub fn into_command(self, principal: Principal, order: u64) -> Result<Command, ApiError> {
        Ok(Command::Capture {
            principal,
            order,
            amount: self.amount.map(|a| amount("amount", a)).transpose()?,
        })
    }
}

impl RefundBody {
    pub fn into_command(self, principal: Principal, order: u64) -> Result<Command, ApiError> {
        Ok(Command::Refund {
            principal,
            order,
            amount: amount("amount", self.amount)?,
        })
    }
}

impl CreatePayment {
    pub fn into_command(self, principal: Principal, l: &LimitsConfig) -> Result<Command, ApiError> {
        Ok(Command::RecordPayment {
            principal,
            input: PaymentInput {
                customer: customer_id("customer", &self.customer)?,
                amount: amount("amount", self.amount)?,
                channel: text("channel", &self.channel, 32, true)?,
                reference: text("reference", &self.reference, l.id_chars_max, true)?,
            },
        })
    }
}

impl SetPaymentMethodBody {
    pub fn into_command(self, principal: Principal, customer: u64) -> Result<Command, ApiError> {
        Ok(Command::SetPaymentMethod {
            principal,
            customer,
            payment_method: parse_enum(
                "payment_method",
                &self.payment_method,
                PaymentMethod::parse,
                "unknown_payment_method",
            )?,
        })
    }
}

impl ClockBody {
    pub fn into_command(self) -> Result<Command, ApiError> {
        Ok(Command::AdvanceClock {
            to: time("now", &self.now)?,
        })
    }
}

impl CreateSuspension {
    /// `merchant` resolves a public merchant id; `now` is the default `from`.
    pub fn into_command(
        self,
        merchant: impl Fn(&str) -> Option<u32>,
        now: At,
    ) -> Result<Command, ApiError> {
        let category = parse_enum(
            "category",
            &self.category,
            Category::parse,
            "unknown_category",
        )?;
        let merchant = match self.merchant.as_deref() {
            None => None,
            Some(id) => Some(merchant(id).ok_or_else(|| {
                ApiError::invalid("merchant_not_found", "merchant", "no merchant with this id")
            })?),
        };
        let channel = self
            .channel
            .as_deref()
            .map(|c| parse_enum("channel", c, Channel::parse, "unknown_channel"))
            .transpose()?;
        let from = self
            .from
            .as_deref()
            .map(|f| time("from", f))
            .transpose()?
            .unwrap_or(now);
        let until = self
            .until
            .as_deref()
            .map(|u| time("until", u))
            .transpose()?;
        Ok(Command::AddSuspension {
            input: SuspensionInput {
                category,
                merchant,
                channel,
                from,
                until,
            },
        })
    }
}

impl ReviewBody {
    pub fn into_command(self, order: u64) -> Result<Command, ApiError> {
        let verdict = match self.decision.as_str() {
            "approve" => ReviewVerdict::Approve,
            "decline" => ReviewVerdict::Decline,
            _ => {
                return Err(ApiError::invalid(
                    "unknown_decision",
                    "decision",
                    "decision must be approve or decline",
                ));
            }
        };
        Ok(Command::ResolveReview { order, verdict })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for ok in [
            "090-1234-5678",
            "０９０１２３４５６７８",
            "+81 90 1234 5678",
            "03(1234)5678",
        ] {
            assert!(phone(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "12345",
            "090-1234-5678-9",
            "abc",
            "+1 415 555 0100",
            "0901234567８9",
        ] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("taro@example.jp").is_ok());
        for bad in [
            "",
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "ta ro@example.jp",
            "taro@ex..jp",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postal_codes() {
        assert_eq!(postal_code("〒100-0013").unwrap(), "100-0013");
        assert_eq!(postal_code("１０００013").unwrap(), "100-0013");
        assert!(postal_code("100-001").is_err());
        assert!(postal_code("１００-００１a").is_err());
    }
}
