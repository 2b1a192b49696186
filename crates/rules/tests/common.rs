#![allow(dead_code)]
use atobarai_rules::{Schema, Type};

pub const EXAMPLE: &str = include_str!("data/example.toml");
pub const EXAMPLE_CASES: &str = include_str!("data/example_cases.toml");

pub fn schema() -> Schema {
    Schema::new(&[
        ("cart.total", Type::Int),
        ("cart.liquid_share_bp", Type::Int),
        ("cart.items", Type::Int),
        ("account.age_days", Type::Int),
        ("account.bank_debit", Type::Bool),
        ("account.new_device", Type::Bool),
        ("account.allow_listed", Type::Bool),
        ("order.channel", Type::Str),
        ("order.category", Type::Str),
        ("velocity.liquid_orders_90d", Type::Int),
        ("velocity.liquid_gap_max_s", Type::Int),
        ("velocity.same_amount_3d", Type::Int),
    ])
}
