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

/// Whole numbers as JSON writes them. JSON has one number type and JSON
/// Schema counts `1000.0` as the integer 1000, so an integral number written
/// with a fraction or exponent is accepted; one with a fractional part, or
/// beyond ±2^53 when not written as an integer, is refused (422
/// `invalid_type`). No arithmetic happens on the float: it only carries the
/// integer the client wrote.
pub mod whole {
    use serde::de::{Deserializer, Error, Visitor};
    use std::fmt;

    /// Integers exactly representable as `f64`.
    const EXACT: f64 = 9_007_199_254_740_992.0;

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number")
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
            if v.fract() == 0.0 && v.abs() <= EXACT {
                // Integral and within ±2^53: the conversion is exact.
                #[allow(clippy::cast_possible_truncation)]
                Ok(v as i64)
            } else {
                Err(E::custom(format!(
                    "invalid type: floating point `{v}`, expected a whole number"
                )))
            }
        }
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Whole)
    }

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = d.deserialize_any(Whole)?;
        u32::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
    }

    pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        struct Opt;

        impl<'de> Visitor<'de> for Opt {
            type Value = Option<i64>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number or null")
            }

            fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                i64(d).map(Some)
            }
        }

        d.deserialize_option(Opt)
    }
}

/// Customer registration (`POST /v1/customers`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    /// The merchant's own id for the customer (not blank, ≤ 64 characters).
    #[schema(
        example = "c-123",
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub external_id: String,
    #[schema(
        example = "山田 太郎",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    #[schema(
        example = "ヤマダ タロウ",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name_kana: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "1990-04-01", format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub birth_date: String,
    /// A Japanese number that can be dialled: domestic (`0…`) or `+81`,
    /// with optional hyphens, spaces or parentheses; checked against the
    /// numbering plan.
    #[schema(
        example = "090-1234-5678",
        min_length = 1,
        max_length = 32,
        pattern = r"^(\+81|0)[0-9 ()\-－０-９]{8,28}$"
    )]
    pub phone: String,
    #[schema(example = "taro@example.jp", format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// Seven digits, e.g. `100-0013` (`〒` and full-width digits accepted).
    #[schema(
        example = "100-0013",
        min_length = 7,
        max_length = 16,
        pattern = r"^[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*〒*[-－ー‐]*(?:[0-9０-９][-－ー‐]*){7}[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub postal_code: String,
    #[schema(
        example = "東京都千代田区霞が関1-3-1 霞ビル101",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub address: String,
    /// `convenience_store` | `paper_bill` | `bank_debit`
    #[schema(
        example = "convenience_store",
        pattern = "^(convenience_store|paper_bill|bank_debit)$"
    )]
    pub payment_method: String,
    /// A confirmed SMS verification of this phone (`ver_…`,
    /// `POST /v1/verifications`): the customer shows `phone_verified`.
    #[serde(default)]
    #[schema(pattern = "^ver_")]
    pub verification: Option<String>,
    /// A parent's or guardian's consent, needed below the consent age
    /// (`lifecycle.consent_below_years`, 20 by default).
    #[serde(default)]
    pub parental_consent: Option<ConsentBody>,
    /// The device the sign-up came from (screened for past trouble).
    #[serde(default)]
    #[schema(max_length = 128)]
    pub device_id: Option<String>,
    /// The IP address the sign-up came from.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub ip: Option<String>,
}

/// Who consented to a minor's sign-up, and when.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// The consenting parent or guardian: name and relation.
    #[schema(example = "山田 花子（母）", min_length = 1, max_length = 500)]
    pub by: String,
    /// When they consented (RFC 3339; not after the sign-up).
    #[schema(example = "2026-08-01T10:00:00+09:00", format = DateTime)]
    pub at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub sku: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// One of the categories in API.md, e.g. `gift_card`, `daily_goods`.
    #[schema(
        example = "daily_goods",
        pattern = "^(gift_card|prepaid_emoney|game_console|smartphone|electronics|daily_goods|fashion|cosmetics|food|digital_content|other)$"
    )]
    pub category: String,
    /// Yen, tax included, > 0.
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub unit_price: i64,
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i64,
    /// The consumption-tax rate of the line in percent, when the merchant
    /// states it: one of the provider's rates (`documents.standard_rate`,
    /// 10, or `documents.reduced_rate`, 8). Without it the category
    /// decides: `food` is reduced, everything else standard (state 10 for
    /// alcohol and eating out, 8 for a newspaper subscription).
    /// (The schema lists the default rates, 8 and 10; a provider that
    /// configures others accepts those instead.)
    #[serde(default)]
    #[schema(minimum = 8, maximum = 10, multiple_of = 2)]
    pub tax_rate: Option<u8>,
}

/// An authorization request (`POST /v1/authorizations`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAuthorization {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub merchant_order_id: String,
    /// A customer id (`cus_…`) of the calling merchant. Left out when a
    /// store authorizes with `payment_code` (the code names the customer).
    #[serde(default)]
    #[schema(pattern = "^cus_")]
    pub customer: String,
    /// A one-time payment code the customer showed at the till
    /// (`POST /v1/customers/{id}/payment-codes`), instead of `customer`;
    /// `channel` must be `in_store`.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{16}$")]
    pub payment_code: Option<String>,
    /// `per_order` | `monthly` | the name of a product configured in
    /// `[[products]]` (e.g. `carrier`); `unknown_product` otherwise.
    #[schema(pattern = "^[a-z0-9_]{1,32}$")]
    pub product: String,
    /// `online` | `in_store`
    #[schema(pattern = "^(online|in_store)$")]
    pub channel: String,
    /// 1 to 100 items; the order's total is at most ¥1,000,000,000,000.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ItemBody>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub shipping_address: Option<String>,
    #[serde(default)]
    #[schema(max_length = 128)]
    pub device_id: Option<String>,
    /// An IPv4 or IPv6 address.
    #[serde(default)]
    #[schema(max_length = 64, example = "203.0.113.7")]
    pub ip: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Yen to capture; all of the authorized amount when absent.
    #[serde(default, deserialize_with = "whole::option_i64")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
}

/// A payment reported by a payment channel (`POST /v1/payments`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    #[schema(pattern = "^cus_")]
    pub customer: String,
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// Where the money came in, e.g. `convenience_store`, `bank_debit`.
    #[schema(
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub channel: String,
    /// The channel's unique reference; a known one returns the first result.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reference: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPaymentMethodBody {
    /// `convenience_store` | `paper_bill` | `bank_debit`
    #[schema(pattern = "^(convenience_store|paper_bill|bank_debit)$")]
    pub payment_method: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// RFC 3339, e.g. `2026-08-10T09:00:00+09:00`; never backwards.
    #[schema(format = DateTime)]
    pub now: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSuspension {
    #[schema(
        example = "gift_card",
        pattern = "^(gift_card|prepaid_emoney|game_console|smartphone|electronics|daily_goods|fashion|cosmetics|food|digital_content|other)$"
    )]
    pub category: String,
    /// A merchant id (`mer_…`).
    #[serde(default)]
    pub merchant: Option<String>,
    /// `online` | `in_store`
    #[serde(default)]
    #[schema(pattern = "^(online|in_store)$")]
    pub channel: Option<String>,
    /// RFC 3339; the engine's current time when absent.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub from: Option<String>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// `approve` | `decline`
    #[schema(pattern = "^(approve|decline)$")]
    pub decision: String,
}

/// Use points as a discount on the monthly statement (1 point = ¥1).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemPointsBody {
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub points: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchant {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The merchant operates a gift-card program: capturing its
    /// `gift_card` lines issues one code per card.
    #[serde(default)]
    pub gift_card_issuer: Option<bool>,
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
        let signup = self.verification.is_some()
            || self.parental_consent.is_some()
            || self.device_id.is_some()
            || self.ip.is_some();
        if !signup {
            return Ok(Command::RegisterCustomer {
                merchant,
                profile,
                payment_method,
                identity,
            });
        }
        let verification = match self.verification.as_deref() {
            Some(v) => Some(ids::decode(prefix::VERIFICATION, v).ok_or_else(|| {
                ApiError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "verification_not_found",
                    "verification not found",
                )
                .field("verification")
            })?),
            None => None,
        };
        let consent = match self.parental_consent {
            Some(c) => Some(atobarai_engine::ParentalConsent {
                by: text(
                    "parental_consent.by",
                    &c.by,
                    atobarai_engine::LIFECYCLE_TEXT_CHARS_MAX,
                    true,
                )?,
                at: At::parse_rfc3339(&c.at).map_err(|_| {
                    ApiError::invalid(
                        "invalid_time",
                        "parental_consent.at",
                        "parental_consent.at must be an RFC 3339 time",
                    )
                })?,
            }),
            None => None,
        };
        let device_id = text(
            "device_id",
            self.device_id.as_deref().unwrap_or(""),
            l.id_chars_max * 2,
            false,
        )?;
        let ip = ip(&text("ip", self.ip.as_deref().unwrap_or(""), 64, false)?)?;
        Ok(Command::SignUp {
            merchant,
            registration: atobarai_engine::Registration::Clear(profile),
            payment_method,
            identity,
            signup: atobarai_engine::SignUpFacts {
                verification,
                consent,
                session: secret.session_keys(&device_id, &ip),
            },
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
        documents: &atobarai_core::documents::DocumentsConfig,
    ) -> Result<Command, ApiError> {
        let merchant_order_id = text(
            "merchant_order_id",
            &self.merchant_order_id,
            l.id_chars_max,
            true,
        )?;
        // A payment code names the customer; otherwise the merchant does.
        let code = match self.payment_code.as_deref() {
            Some(code) => {
                if !self.customer.is_empty() {
                    return Err(ApiError::invalid(
                        "customer_with_payment_code",
                        "customer",
                        "send either customer or payment_code, not both",
                    ));
                }
                Some(crate::http_lifecycle::payment_code_hash(secret, code)?)
            }
            None => None,
        };
        let customer = match code {
            Some(_) => 0,
            None => customer_id("customer", &self.customer)?,
        };
        // The built-in spellings, or a configured product billed with a
        // partner (by the stable id of its name); the engine answers
        // `unknown_product` for a name not in the catalog in force.
        let product = parse_enum(
            "product",
            &self.product,
            |s| {
                Product::parse(s).or_else(|| {
                    (!s.is_empty()
                        && s.len() <= 32
                        && s.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
                    .then(|| Product::Partner(atobarai_core::products::product_id(s)))
                })
            },
            "unknown_product",
        )?;
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
        let mut tax_rates = Vec::with_capacity(self.items.len());
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
            if let Some(rate) = item.tax_rate
                && !documents.rate_configured(rate)
            {
                return Err(ApiError::invalid(
                    "unsupported_tax_rate",
                    f("tax_rate"),
                    format!(
                        "the tax rate must be {} or {} (percent)",
                        documents.standard_rate, documents.reduced_rate
                    ),
                ));
            }
            tax_rates.push(item.tax_rate);
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
        let session = match code {
            Some(_) => Default::default(),
            None => secret.session_keys(&device_id, &ip),
        };
        let input = AuthorizeInput {
            merchant_order_id,
            customer,
            product,
            channel,
            items,
            shipping_address: opt("shipping_address", self.shipping_address, l.text_chars_max)?,
            device_id,
            ip,
            // None stated: nothing to keep (the record stays as small as
            // a version-1 one).
            tax_rates: if tax_rates.iter().any(Option::is_some) {
                tax_rates
            } else {
                Vec::new()
            },
        };
        Ok(match code {
            // The device and IP of a code payment are the store's till,
            // shared by every customer who pays there: they must not link
            // those customers into one person.
            Some(code) => Command::AuthorizeWithCode {
                merchant,
                code,
                input,
                session,
            },
            None => Command::Authorize {
                merchant,
                session,
                input,
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
    fn whole_numbers_may_be_written_with_a_zero_fraction_only() {
        let refund = |json: &str| crate::http::decode_json::<RefundBody>(json.as_bytes());
        assert_eq!(refund(r#"{"amount": 1922}"#).unwrap().amount, 1922);
        assert_eq!(refund(r#"{"amount": 1922.0}"#).unwrap().amount, 1922);
        assert_eq!(refund(r#"{"amount": 1e3}"#).unwrap().amount, 1000);
        for bad in [
            r#"{"amount": 10.5}"#,
            r#"{"amount": 1e300}"#,
            r#"{"amount": "10"}"#,
            r#"{"amount": 18446744073709551615}"#,
        ] {
            let e = refund(bad).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_deref()),
                ("invalid_type", Some("amount")),
                "{bad}"
            );
        }
        let capture = |json: &str| crate::http::decode_json::<CaptureBody>(json.as_bytes());
        assert_eq!(capture("{}").unwrap().amount, None);
        assert_eq!(capture(r#"{"amount": null}"#).unwrap().amount, None);
        assert_eq!(capture(r#"{"amount": 5.0}"#).unwrap().amount, Some(5));
        assert!(capture(r#"{"amount": 5.25}"#).is_err());
    }

    #[test]
    fn postal_codes() {
        assert_eq!(postal_code("〒100-0013").unwrap(), "100-0013");
        assert_eq!(postal_code("１０００013").unwrap(), "100-0013");
        assert!(postal_code("100-001").is_err());
        assert!(postal_code("１００-００１a").is_err());
    }
}
