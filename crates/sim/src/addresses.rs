//! Who people are on a form: real public base addresses (with the area's
//! postal code, so the server's postal-code check passes) written the many
//! ways people write them, names with and without old-form kanji, phone
//! numbers, e-mail addresses, device ids and IP addresses.
//!
//! Uniqueness: phones, e-mails, devices and home networks are drawn from
//! counters through a bijection, so two persons never share one by accident
//! (an accidental shared phone would link strangers); sharing is always a
//! persona's decision.

use rand::Rng;

/// (postal code, prefecture, municipality, town, 丁目 (0 = none)): public
/// base addresses (offices, stations) from the identity crate's golden table.
const BASES: &[(&str, &str, &str, &str, u32)] = &[
    ("1000013", "東京都", "千代田区", "霞が関", 1),
    ("1000014", "東京都", "千代田区", "永田町", 1),
    ("1600023", "東京都", "新宿区", "西新宿", 2),
    ("1500042", "東京都", "渋谷区", "宇田川町", 0),
    ("1060032", "東京都", "港区", "六本木", 6),
    ("1040061", "東京都", "中央区", "銀座", 4),
    ("1540024", "東京都", "世田谷区", "三軒茶屋", 2),
    ("1710022", "東京都", "豊島区", "南池袋", 1),
    ("1410031", "東京都", "品川区", "西五反田", 2),
    ("1110032", "東京都", "台東区", "浅草", 2),
    ("5300005", "大阪府", "大阪市北区", "中之島", 1),
    ("5420076", "大阪府", "大阪市中央区", "難波", 5),
    ("5900078", "大阪府", "堺市堺区", "南瓦町", 0),
    ("2310005", "神奈川県", "横浜市中区", "本町", 6),
    ("2100004", "神奈川県", "川崎市川崎区", "宮本町", 0),
    ("2520239", "神奈川県", "相模原市中央区", "中央", 2),
    ("4600001", "愛知県", "名古屋市中区", "三の丸", 3),
    ("9800803", "宮城県", "仙台市青葉区", "国分町", 3),
    ("8100001", "福岡県", "福岡市中央区", "天神", 1),
    ("6500001", "兵庫県", "神戸市中央区", "加納町", 6),
    ("7300042", "広島県", "広島市中区", "国泰寺町", 1),
    ("9000021", "沖縄県", "那覇市", "泉崎", 1),
    ("3200027", "栃木県", "宇都宮市", "塙田", 1),
    ("3300063", "埼玉県", "さいたま市浦和区", "高砂", 3),
    ("2600855", "千葉県", "千葉市中央区", "市場町", 0),
    ("3710026", "群馬県", "前橋市", "大手町", 1),
    ("9500965", "新潟県", "新潟市中央区", "新光町", 0),
    ("9208203", "石川県", "金沢市", "鞍月", 1),
    ("4200853", "静岡県", "静岡市葵区", "追手町", 0),
    ("5200044", "滋賀県", "大津市", "京町", 4),
    ("7000824", "岡山県", "岡山市北区", "内山下", 2),
    ("7600017", "香川県", "高松市", "番町", 4),
    ("7900001", "愛媛県", "松山市", "一番町", 4),
    ("8620950", "熊本県", "熊本市中央区", "水前寺", 6),
    ("8700022", "大分県", "大分市", "大手町", 3),
    ("8900064", "鹿児島県", "鹿児島市", "鴨池新町", 0),
    ("0200023", "岩手県", "盛岡市", "内丸", 0),
    ("9900023", "山形県", "山形市", "松波", 2),
    ("4000031", "山梨県", "甲府市", "丸の内", 1),
    ("5008384", "岐阜県", "岐阜市", "薮田南", 2),
];

const BUILDINGS: &[&str] = &[
    "サンハイツ",
    "グランメゾン",
    "コーポ桜",
    "パークサイド",
    "メゾン緑",
    "ハイツ若葉",
];

/// A postal address: a base town, a lot (番, 号) and optionally a building
/// and room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    base: usize,
    ban: u32,
    go: u32,
    building: Option<(usize, u32)>,
}

/// The ways an address is written on a form or a shipping label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `霞が関1丁目3番1号 サンハイツ101号室`.
    Official,
    /// `霞が関1-3-1 サンハイツ101`.
    Hyphens,
    /// Full-width digits and hyphens.
    FullWidth,
    /// Kanji numerals for the 丁目, `番地`.
    Kanji,
    /// Hyphens, no building.
    NoBuilding,
}

impl Style {
    /// Every style.
    pub const ALL: &'static [Style] = &[
        Style::Official,
        Style::Hyphens,
        Style::FullWidth,
        Style::Kanji,
        Style::NoBuilding,
    ];
}

fn kanji_numeral(n: u32) -> String {
    const D: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if n == 0 {
        return D[0].to_string();
    }
    let mut out = String::new();
    let (h, t, o) = (n / 100 % 10, n / 10 % 10, n % 10);
    for (digit, unit) in [(h, "百"), (t, "十")] {
        if digit > 0 {
            if digit > 1 {
                out.push_str(D[digit as usize]);
            }
            out.push_str(unit);
        }
    }
    if o > 0 {
        out.push_str(D[o as usize]);
    }
    out
}

/// ASCII digits, hyphens and spaces to their full-width forms.
pub fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            '-' => '－',
            ' ' => '　',
            _ => c,
        })
        .collect()
}

impl Address {
    /// A random address; `with_building` adds a building and room.
    pub fn random<R: Rng>(rng: &mut R, with_building: bool) -> Address {
        Address {
            base: rng.random_range(0..BASES.len()),
            ban: rng.random_range(1..=30),
            go: rng.random_range(1..=25),
            building: with_building.then(|| {
                (
                    rng.random_range(0..BUILDINGS.len()),
                    rng.random_range(1..=8) * 100 + rng.random_range(1..=12),
                )
            }),
        }
    }

    /// The same building with another room (a dormitory or an apartment
    /// house); the same address when there is no building.
    pub fn with_room(&self, room: u32) -> Address {
        let mut a = self.clone();
        if let Some((b, _)) = a.building {
            a.building = Some((b, room));
        }
        a
    }

    /// The postal code as `100-0013`.
    pub fn postal_code(&self) -> String {
        let p = BASES[self.base].0;
        format!("{}-{}", &p[..3], &p[3..])
    }

    /// The address written in `style`.
    pub fn write(&self, style: Style) -> String {
        let (_, pref, city, town, chome) = BASES[self.base];
        let (b, g) = (self.ban, self.go);
        let building = match (self.building, style) {
            (None, _) | (_, Style::NoBuilding) => String::new(),
            (Some((i, room)), Style::Official) => format!(" {}{room}号室", BUILDINGS[i]),
            (Some((i, room)), _) => format!(" {}{room}", BUILDINGS[i]),
        };
        let lot = match style {
            Style::Official => {
                let c = if chome > 0 {
                    format!("{chome}丁目")
                } else {
                    String::new()
                };
                format!("{c}{b}番{g}号")
            }
            Style::Kanji => {
                let c = if chome > 0 {
                    format!("{}丁目", kanji_numeral(chome))
                } else {
                    String::new()
                };
                format!("{c}{b}番地{g}")
            }
            Style::Hyphens | Style::FullWidth | Style::NoBuilding => {
                if chome > 0 {
                    format!("{chome}-{b}-{g}")
                } else {
                    format!("{b}-{g}")
                }
            }
        };
        let text = format!("{pref}{city}{town}{lot}{building}");
        if style == Style::FullWidth {
            full_width(&text)
        } else {
            text
        }
    }
}

/// (surname, old-form variant or the same, kana).
const SURNAMES: &[(&str, &str, &str)] = &[
    ("高橋", "髙橋", "タカハシ"),
    ("斉藤", "齊藤", "サイトウ"),
    ("渡辺", "渡邊", "ワタナベ"),
    ("山崎", "山﨑", "ヤマザキ"),
    ("浜田", "濱田", "ハマダ"),
    ("沢田", "澤田", "サワダ"),
    ("広瀬", "廣瀬", "ヒロセ"),
    ("桜井", "櫻井", "サクライ"),
    ("佐藤", "佐藤", "サトウ"),
    ("鈴木", "鈴木", "スズキ"),
    ("田中", "田中", "タナカ"),
    ("伊藤", "伊藤", "イトウ"),
    ("中村", "中村", "ナカムラ"),
    ("小林", "小林", "コバヤシ"),
    ("加藤", "加藤", "カトウ"),
    ("吉田", "吉田", "ヨシダ"),
    ("山田", "山田", "ヤマダ"),
    ("松本", "松本", "マツモト"),
    ("井上", "井上", "イノウエ"),
    ("木村", "木村", "キムラ"),
];

/// (given name, old-form variant or the same, kana).
const GIVEN: &[(&str, &str, &str)] = &[
    ("太郎", "太郎", "タロウ"),
    ("花子", "花子", "ハナコ"),
    ("恵", "惠", "メグミ"),
    ("真一", "眞一", "シンイチ"),
    ("国男", "國男", "クニオ"),
    ("翔太", "翔太", "ショウタ"),
    ("陽菜", "陽菜", "ヒナ"),
    ("大輔", "大輔", "ダイスケ"),
    ("美咲", "美咲", "ミサキ"),
    ("健", "健", "ケン"),
    ("由美", "由美", "ユミ"),
    ("直樹", "直樹", "ナオキ"),
];

/// A person's name, which may be written in its old form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    surname: usize,
    given: usize,
}

impl Name {
    /// A random name; `surname` is kept when given (a family).
    pub fn random<R: Rng>(rng: &mut R, surname: Option<usize>) -> Name {
        Name {
            surname: surname.unwrap_or_else(|| rng.random_range(0..SURNAMES.len())),
            given: rng.random_range(0..GIVEN.len()),
        }
    }

    /// The surname's index (to give a family one surname).
    pub fn surname_index(&self) -> usize {
        self.surname
    }

    /// `山田 太郎`, or with the old-form kanji (`髙橋 眞一`).
    pub fn write(&self, old_form: bool) -> String {
        let s = SURNAMES[self.surname];
        let g = GIVEN[self.given];
        if old_form {
            format!("{} {}", s.1, g.1)
        } else {
            format!("{} {}", s.0, g.0)
        }
    }

    /// The name in katakana.
    pub fn kana(&self) -> String {
        format!("{} {}", SURNAMES[self.surname].2, GIVEN[self.given].2)
    }
}

/// A bijection of `0..10^8` (an odd multiplier coprime to 10^8, plus an
/// offset): counters become numbers that look random and never collide.
fn scatter(n: u64) -> u64 {
    (n.wrapping_mul(48_271).wrapping_add(12_345_679)) % 100_000_000
}

/// The `n`-th mobile number (unique per `n` below 2.7 × 10^8). The digit
/// after `090` / `080` / `070` is never 0: those ranges are not mobile
/// numbers, and the server refuses them.
pub fn phone(n: u64) -> String {
    let prefix = ["090", "080", "070"][(n % 3) as usize];
    // A bijection of 0..9 × 10^7 (48,271 is prime, coprime to 9 × 10^7).
    let d = 10_000_000 + (n / 3).wrapping_mul(48_271).wrapping_add(12_345_679) % 90_000_000;
    format!("{prefix}-{:04}-{:04}", d / 10_000, d % 10_000)
}

/// A phone number written another way: no hyphens, or full width.
pub fn phone_variant(phone: &str, variant: u8) -> String {
    match variant % 3 {
        0 => phone.to_string(),
        1 => phone.replace('-', ""),
        _ => full_width(phone),
    }
}

const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.co.jp",
    "docomo.ne.jp",
    "icloud.com",
    "outlook.jp",
    "ezweb.ne.jp",
];

/// The `n`-th e-mail address (unique per `n`).
pub fn email(n: u64) -> String {
    let d = DOMAINS[(n % DOMAINS.len() as u64) as usize];
    format!("user{:08}@{d}", scatter(n))
}

/// The `n`-th device id (unique per `n`).
pub fn device(n: u64) -> String {
    format!(
        "dev-{:08x}{:08x}",
        scatter(n),
        scatter(n ^ 0x5A5A) ^ 0x3C3C_3C3C
    )
}

/// A host in the `n`-th home network (a /24 of its own).
pub fn home_ip<R: Rng>(rng: &mut R, n: u64) -> String {
    let net = n % 16_000_000;
    format!(
        "{}.{}.{}.{}",
        110 + net / 65_536 % 100,
        net / 256 % 256,
        net % 256,
        rng.random_range(2..=254)
    )
}

/// A mobile carrier address (a large shared pool: strangers meet here).
pub fn mobile_ip<R: Rng>(rng: &mut R) -> String {
    format!(
        "{}.{}.{}.{}",
        [126, 133, 49, 106][rng.random_range(0..4)],
        rng.random_range(0..=255),
        rng.random_range(0..=255),
        rng.random_range(1..=254)
    )
}

/// An address abroad or in a data centre (an account-takeover crew).
pub fn foreign_ip<R: Rng>(rng: &mut R, crew_net: u64) -> String {
    format!(
        "185.{}.{}.{}",
        crew_net % 256,
        rng.random_range(0..=255),
        rng.random_range(1..=254)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn phones_are_numbers_the_server_accepts() {
        use atobarai_identity::{Kind, normalize};
        // Sampled across the counter range a 100k market uses and beyond.
        for n in (0..3_000_000u64).step_by(997) {
            let p = phone(n);
            let v = normalize(Kind::Phone, &p);
            assert!(atobarai_server::identity::phone_is_acceptable(&v), "{p}");
        }
    }

    #[test]
    fn counters_never_collide() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..30_000 {
            assert!(seen.insert(phone(n)));
            assert!(seen.insert(email(n)));
            assert!(seen.insert(device(n)));
        }
    }

    #[test]
    fn styles_share_the_identity_keys() {
        use atobarai_identity::{KeyName, Kind, normalize};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..40 {
            let a = Address::random(&mut rng, true);
            let key = |s: Style, k: KeyName| {
                normalize(
                    Kind::Address,
                    &format!("〒{} {}", a.postal_code(), a.write(s)),
                )
                .key(k)
                .map(str::to_string)
            };
            let unit = key(Style::Official, KeyName::AddressUnit);
            assert!(unit.is_some(), "{}", a.write(Style::Official));
            for s in [Style::Hyphens, Style::FullWidth, Style::Kanji] {
                assert_eq!(key(s, KeyName::AddressUnit), unit, "{}", a.write(s));
            }
            let block = key(Style::Official, KeyName::AddressBlock);
            assert_eq!(key(Style::NoBuilding, KeyName::AddressBlock), block);
        }
        let n = Name::random(&mut rng, Some(0));
        let k = |s: &str| {
            normalize(Kind::Name, s)
                .key(KeyName::Name)
                .map(str::to_string)
        };
        assert_eq!(k(&n.write(true)), k(&n.write(false)));
    }
}
