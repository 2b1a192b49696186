//! Property tests for request decoding and validation: no input panics, and
//! whatever is accepted satisfies the engine's preconditions.

use atobarai_core::Yen;
use atobarai_core::config::LimitsConfig;
use atobarai_engine::Command;
use atobarai_server::dto::{CreateAuthorization, CreateCustomer, CreatePayment};
use atobarai_server::http::decode_json;
use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("gift_card"),
            Just("monthly"),
            Just("online"),
            Just("cus_0000000000000")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("merchant_order_id".to_string()),
                    Just("customer".to_string()),
                    Just("product".to_string()),
                    Just("channel".to_string()),
                    Just("items".to_string()),
                    Just("unit_price".to_string()),
                    Just("quantity".to_string()),
                    Just("category".to_string()),
                    Just("sku".to_string()),
                    Just("name".to_string()),
                    ".{0,8}".prop_map(|s| s)
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid_auth() -> Value {
    json!({"merchant_order_id": "o-1", "customer": atobarai_core::ids::encode("cus", 0), "product": "monthly", "channel": "online",
        "items": [{"sku": "S", "name": "n", "category": "food", "unit_price": 100, "quantity": 1}]})
}

fn check_auth(bytes: &[u8]) {
    let limits = LimitsConfig::default();
    if let Ok(body) = decode_json::<CreateAuthorization>(bytes)
        && let Ok(Command::Authorize { input, .. }) = body.into_command(
            0,
            &limits,
            &atobarai_server::IdentitySecret::new("test"),
            &Default::default(),
        )
    {
        assert!(!input.items.is_empty() && input.items.len() <= limits.line_items_max);
        let mut total = Yen::ZERO;
        for item in &input.items {
            assert!(item.unit_price.is_positive() && item.quantity > 0);
            total = total
                .checked_add(item.unit_price.checked_mul(item.quantity).unwrap())
                .unwrap();
        }
        assert!(total <= Yen::AMOUNT_MAX);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_auth(&bytes);
        let _ = decode_json::<CreateCustomer>(&bytes).map(|b| b.into_command(0, &LimitsConfig::default(), &atobarai_server::IdentitySecret::new("test")));
        let _ = decode_json::<CreatePayment>(&bytes).map(|b| b.into_command(atobarai_engine::Principal::Merchant(0), &LimitsConfig::default()));
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        check_auth(v.to_string().as_bytes());
        let _ = decode_json::<CreateCustomer>(v.to_string().as_bytes()).map(|b| b.into_command(0, &LimitsConfig::default(), &atobarai_server::IdentitySecret::new("test")));
    }

    #[test]
    fn mutated_valid_bodies_never_panic(field in prop_oneof![Just("unit_price"), Just("quantity"), Just("category"), Just("name"), Just("sku")], v in json_value()) {
        let mut body = valid_auth();
        body["items"][0][field] = v;
        check_auth(body.to_string().as_bytes());
    }
}

#[test]
fn the_valid_body_is_accepted() {
    let body = decode_json::<CreateAuthorization>(valid_auth().to_string().as_bytes()).unwrap();
    assert!(
        body.into_command(
            0,
            &LimitsConfig::default(),
            &atobarai_server::IdentitySecret::new("test"),
            &Default::default(),
        )
        .is_ok()
    );
}
