//! The shop shelves: what can be put in a cart, per category, at what
//! prices. Category and liquidity come from `atobarai_core::taxonomy`;
//! prices are integer yen rounded to ¥10 (gift cards to their face value).

use atobarai_core::{Category, LiquidityClass, Yen};
use rand::Rng;

/// One line of a cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The shop's stock-keeping unit.
    pub sku: String,
    /// The item's name as shown to the buyer.
    pub name: String,
    /// The item's category.
    pub category: Category,
    /// Price of one unit.
    pub unit_price: Yen,
    /// Units bought.
    pub quantity: i64,
}

impl Item {
    /// Price × quantity (saturating: catalogue prices are far below overflow).
    pub fn line_total(&self) -> Yen {
        self.unit_price
            .checked_mul(self.quantity)
            .unwrap_or(Yen::AMOUNT_MAX)
    }

    /// Whether the item is liquid: a gift card, prepaid / e-money, or
    /// resellable electronics (per the taxonomy's liquidity classes).
    pub fn is_liquid(&self) -> bool {
        self.category.liquidity() != LiquidityClass::Ordinary
    }
}

/// The total of a cart.
pub fn cart_total(items: &[Item]) -> Yen {
    Yen::checked_sum(items.iter().map(Item::line_total)).unwrap_or(Yen::AMOUNT_MAX)
}

/// Whether a cart holds at least one liquid item (see [`Item::is_liquid`]).
pub fn is_liquid_cart(items: &[Item]) -> bool {
    items.iter().any(Item::is_liquid)
}

/// (sku stem, name, category, lowest price, highest price).
type Shelf = (&'static str, &'static str, Category, i64, i64);

const DAILY: &[Shelf] = &[
    ("DG-DET", "洗濯用洗剤", Category::DailyGoods, 380, 1_280),
    (
        "DG-TP",
        "トイレットペーパー 12ロール",
        Category::DailyGoods,
        398,
        898,
    ),
    ("DG-TB", "歯ブラシ 3本組", Category::DailyGoods, 198, 598),
    (
        "DG-SH",
        "シャンプー 詰め替え",
        Category::DailyGoods,
        450,
        1_480,
    ),
    ("DG-KP", "キッチンペーパー", Category::DailyGoods, 198, 498),
    ("DG-TS", "ティッシュ 5箱", Category::DailyGoods, 298, 698),
    ("OT-ST", "ボールペン・ノート", Category::Other, 110, 880),
    ("OT-PC", "スマホケース", Category::Other, 980, 2_980),
    ("OT-CB", "充電ケーブル", Category::Other, 680, 1_980),
];

const FOOD: &[Shelf] = &[
    ("FD-RC", "お米 5kg", Category::Food, 1_980, 3_480),
    ("FD-CF", "コーヒー豆 500g", Category::Food, 980, 2_480),
    ("FD-SW", "お菓子 詰め合わせ", Category::Food, 540, 3_240),
    ("FD-WT", "ミネラルウォーター 2L×6", Category::Food, 498, 980),
];

const FASHION: &[Shelf] = &[
    ("FA-TS", "Tシャツ", Category::Fashion, 1_490, 3_990),
    ("FA-SN", "スニーカー", Category::Fashion, 4_990, 12_900),
    ("FA-CT", "コート", Category::Fashion, 7_990, 24_900),
    ("FA-BG", "トートバッグ", Category::Fashion, 1_990, 8_990),
];

const COSMETICS: &[Shelf] = &[
    ("CO-LT", "化粧水", Category::Cosmetics, 1_100, 4_950),
    ("CO-LP", "口紅", Category::Cosmetics, 1_320, 4_400),
    ("CO-SC", "日焼け止め", Category::Cosmetics, 880, 2_480),
];

const DIGITAL: &[Shelf] = &[
    ("DC-EB", "電子書籍", Category::DigitalContent, 550, 1_760),
    (
        "DC-MU",
        "音楽配信 月額",
        Category::DigitalContent,
        980,
        1_080,
    ),
];

const ELECTRONICS: &[Shelf] = &[
    (
        "EL-EP",
        "ワイヤレスイヤホン",
        Category::Electronics,
        2_980,
        14_800,
    ),
    (
        "EL-MB",
        "モバイルバッテリー",
        Category::Electronics,
        1_980,
        4_980,
    ),
    ("EL-MW", "電子レンジ", Category::Electronics, 9_980, 29_800),
    ("EL-DR", "ドライヤー", Category::Electronics, 2_980, 12_800),
];

/// Gift-card brands (name, sku stem).
const GIFT_BRANDS: &[(&str, &str)] = &[
    ("Amazonギフトカード", "GC-AMZ"),
    ("Apple Gift Card", "GC-APL"),
    ("Google Play ギフトカード", "GC-GPL"),
    ("ニンテンドープリペイドカード", "GC-NIN"),
    ("PlayStation Store チケット", "GC-PSN"),
    ("楽天ギフトカード", "GC-RKT"),
];

/// Prepaid / e-money products (name, sku stem).
const PREPAID_BRANDS: &[(&str, &str)] = &[
    ("Vプリカ", "PP-VPR"),
    ("バニラVisaギフトカード", "PP-VAN"),
    ("WebMoney", "PP-WBM"),
    ("電子マネー チャージ", "PP-EMC"),
];

/// Game consoles (name, sku, price).
const CONSOLES: &[(&str, &str, i64)] = &[
    ("Nintendo Switch 2", "GM-NS2", 49_980),
    ("Nintendo Switch 有機ELモデル", "GM-NSO", 37_980),
    ("Nintendo Switch Lite", "GM-NSL", 21_978),
    ("PlayStation 5 デジタル・エディション", "GM-PS5D", 49_980),
];

/// Smartphones within a deferred-payment limit (name, sku, price).
const PHONES: &[(&str, &str, i64)] = &[
    ("Android スマートフォン A", "SP-A1", 32_800),
    ("Android スマートフォン B", "SP-B2", 44_800),
    ("iPhone (整備済み)", "SP-IPR", 49_800),
    ("Android スマートフォン C", "SP-C3", 27_800),
];

fn round10(yen: i64) -> i64 {
    yen / 10 * 10
}

fn pick<'a, T, R: Rng>(rng: &mut R, list: &'a [T]) -> &'a T {
    &list[rng.random_range(0..list.len())]
}

fn from_shelf<R: Rng>(rng: &mut R, shelf: &[Shelf], price_level: f64) -> Item {
    let &(sku, name, category, lo, hi) = pick(rng, shelf);
    // The price level (0–1) moves the price inside the item's range, with noise.
    let t = (price_level * 0.7 + rng.random::<f64>() * 0.3).clamp(0.0, 1.0);
    #[allow(clippy::cast_possible_truncation)]
    let price = round10(lo + ((hi - lo) as f64 * t) as i64).max(10);
    Item {
        sku: format!("{sku}-{}", price / 100),
        name: name.to_string(),
        category,
        unit_price: Yen::new(price),
        quantity: if category == Category::DailyGoods && rng.random_bool(0.2) {
            2
        } else {
            1
        },
    }
}

/// One ordinary item (daily goods, food, fashion, cosmetics, digital),
/// weighted like an online mall's orders, at the buyer's price level.
pub fn ordinary_item<R: Rng>(rng: &mut R, price_level: f64) -> Item {
    let roll = rng.random_range(0..100);
    let shelf = match roll {
        0..35 => DAILY,
        35..55 => FOOD,
        55..75 => FASHION,
        75..90 => COSMETICS,
        _ => DIGITAL,
    };
    from_shelf(rng, shelf, price_level)
}

/// A daily-goods or stationery item (the evasive playbook's cover).
pub fn daily_item<R: Rng>(rng: &mut R) -> Item {
    let level = rng.random::<f64>() * 0.5;
    from_shelf(rng, DAILY, level)
}

/// An electronics item (earphones, battery, microwave …).
pub fn electronics_item<R: Rng>(rng: &mut R, price_level: f64) -> Item {
    from_shelf(rng, ELECTRONICS, price_level)
}

/// A gift card of face value `amount` (a random brand).
pub fn gift_card<R: Rng>(rng: &mut R, amount: Yen) -> Item {
    let &(name, sku) = pick(rng, GIFT_BRANDS);
    gift_card_of(name, sku, amount)
}

/// A gift card of brand number `brand` (mod the brand list).
pub fn gift_card_brand(brand: usize, amount: Yen) -> Item {
    let (name, sku) = GIFT_BRANDS[brand % GIFT_BRANDS.len()];
    gift_card_of(name, sku, amount)
}

fn gift_card_of(name: &str, sku: &str, amount: Yen) -> Item {
    Item {
        sku: format!("{sku}-{}", amount.get()),
        name: format!("{name} ¥{}", amount.get()),
        category: Category::GiftCard,
        unit_price: amount,
        quantity: 1,
    }
}

/// A prepaid / e-money top-up of `amount`.
pub fn prepaid<R: Rng>(rng: &mut R, amount: Yen) -> Item {
    let &(name, sku) = pick(rng, PREPAID_BRANDS);
    Item {
        sku: format!("{sku}-{}", amount.get()),
        name: format!("{name} ¥{}", amount.get()),
        category: Category::PrepaidEmoney,
        unit_price: amount,
        quantity: 1,
    }
}

/// A game console.
pub fn console<R: Rng>(rng: &mut R) -> Item {
    let &(name, sku, price) = pick(rng, CONSOLES);
    Item {
        sku: sku.to_string(),
        name: name.to_string(),
        category: Category::GameConsole,
        unit_price: Yen::new(price),
        quantity: 1,
    }
}

/// A smartphone.
pub fn smartphone<R: Rng>(rng: &mut R) -> Item {
    let &(name, sku, price) = pick(rng, PHONES);
    Item {
        sku: sku.to_string(),
        name: name.to_string(),
        category: Category::Smartphone,
        unit_price: Yen::new(price),
        quantity: 1,
    }
}

/// A face value between `lo` and `hi` in steps of `step` yen.
pub fn face_value<R: Rng>(rng: &mut R, lo: i64, hi: i64, step: i64) -> Yen {
    let steps = ((hi - lo) / step).max(0);
    Yen::new(lo + rng.random_range(0..=steps) * step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn liquidity_follows_the_taxonomy() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert!(gift_card(&mut rng, Yen::new(3_000)).is_liquid());
        assert!(prepaid(&mut rng, Yen::new(3_000)).is_liquid());
        assert!(console(&mut rng).is_liquid());
        assert!(electronics_item(&mut rng, 0.5).is_liquid());
        for _ in 0..200 {
            let level = rng.random();
            let i = ordinary_item(&mut rng, level);
            assert!(!i.is_liquid());
            assert!(i.unit_price.is_positive());
            assert!(!daily_item(&mut rng).is_liquid());
        }
    }
}
