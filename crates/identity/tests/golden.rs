//! Golden tables written for this crate: address variant sets that must
//! share a key, near-miss pairs that must not, and the same for names,
//! phones and e-mails.
//!
//! The address bases are real public addresses (prefectural and city
//! offices, stations, landmarks) with the area postal code from the
//! gazetteer; the variants are the ways people actually write them on forms:
//! the official 丁目・番・号 style, hyphens, full-width digits, kanji
//! numerals, the long-vowel mark as a hyphen, の between numbers, with and
//! without prefecture and postal code, with spaces, and with a building and
//! room written several ways.

use atobarai_identity::{KeyName, Kind, normalize};

/// (postal code, prefecture, municipality, town, 丁目 (0 = none), 番, 号 (0 = none)).
const BASES: &[(&str, &str, &str, &str, u32, u32, u32)] = &[
    ("1000013", "東京都", "千代田区", "霞が関", 1, 3, 1),
    ("1000014", "東京都", "千代田区", "永田町", 1, 6, 1),
    ("1600023", "東京都", "新宿区", "西新宿", 2, 8, 1),
    ("1500042", "東京都", "渋谷区", "宇田川町", 0, 1, 1),
    ("1060032", "東京都", "港区", "六本木", 6, 10, 1),
    ("1040061", "東京都", "中央区", "銀座", 4, 6, 16),
    ("1540024", "東京都", "世田谷区", "三軒茶屋", 2, 11, 22),
    ("1710022", "東京都", "豊島区", "南池袋", 1, 28, 1),
    ("1410031", "東京都", "品川区", "西五反田", 2, 31, 6),
    ("1110032", "東京都", "台東区", "浅草", 2, 3, 1),
    ("5300005", "大阪府", "大阪市北区", "中之島", 1, 3, 20),
    ("5420076", "大阪府", "大阪市中央区", "難波", 5, 1, 60),
    ("5900078", "大阪府", "堺市堺区", "南瓦町", 0, 3, 1),
    ("2310005", "神奈川県", "横浜市中区", "本町", 6, 50, 10),
    ("2100004", "神奈川県", "川崎市川崎区", "宮本町", 0, 1, 0),
    ("2520239", "神奈川県", "相模原市中央区", "中央", 2, 11, 15),
    ("4600001", "愛知県", "名古屋市中区", "三の丸", 3, 1, 1),
    ("0600808", "北海道", "札幌市北区", "北八条西", 2, 1, 1),
    ("9800803", "宮城県", "仙台市青葉区", "国分町", 3, 7, 1),
    ("8100001", "福岡県", "福岡市中央区", "天神", 1, 8, 1),
    ("6500001", "兵庫県", "神戸市中央区", "加納町", 6, 5, 1),
    (
        "6008216",
        "京都府",
        "京都市下京区",
        "烏丸通塩小路下る東塩小路町",
        0,
        721,
        1,
    ),
    ("7300042", "広島県", "広島市中区", "国泰寺町", 1, 6, 34),
    ("9000021", "沖縄県", "那覇市", "泉崎", 1, 1, 1),
    ("3200027", "栃木県", "宇都宮市", "塙田", 1, 1, 20),
    ("3300063", "埼玉県", "さいたま市浦和区", "高砂", 3, 15, 1),
    ("2600855", "千葉県", "千葉市中央区", "市場町", 0, 1, 1),
    ("3710026", "群馬県", "前橋市", "大手町", 1, 1, 1),
    ("3100852", "茨城県", "水戸市", "笠原町", 0, 978, 6),
    ("9500965", "新潟県", "新潟市中央区", "新光町", 0, 4, 1),
    ("9208203", "石川県", "金沢市", "鞍月", 1, 1, 0),
    ("4200853", "静岡県", "静岡市葵区", "追手町", 0, 9, 6),
    ("5140006", "三重県", "津市", "広明町", 0, 13, 0),
    ("5200044", "滋賀県", "大津市", "京町", 4, 1, 1),
    ("6308213", "奈良県", "奈良市", "登大路町", 0, 30, 0),
    ("6408269", "和歌山県", "和歌山市", "小松原通", 1, 1, 0),
    ("6800011", "鳥取県", "鳥取市", "東町", 1, 220, 0),
    ("6900887", "島根県", "松江市", "殿町", 0, 1, 0),
    ("7000824", "岡山県", "岡山市北区", "内山下", 2, 4, 6),
    ("7530071", "山口県", "山口市", "滝町", 0, 1, 1),
    ("7700941", "徳島県", "徳島市", "万代町", 1, 1, 0),
    ("7600017", "香川県", "高松市", "番町", 4, 1, 10),
    ("7900001", "愛媛県", "松山市", "一番町", 4, 4, 2),
    ("7800850", "高知県", "高知市", "丸ノ内", 1, 2, 20),
    ("8400041", "佐賀県", "佐賀市", "城内", 1, 1, 59),
    ("8500058", "長崎県", "長崎市", "尾上町", 0, 3, 1),
    ("8620950", "熊本県", "熊本市中央区", "水前寺", 6, 18, 1),
    ("8700022", "大分県", "大分市", "大手町", 3, 1, 1),
    ("8800805", "宮崎県", "宮崎市", "橘通東", 2, 10, 1),
    ("8900064", "鹿児島県", "鹿児島市", "鴨池新町", 0, 10, 1),
    ("0300861", "青森県", "青森市", "長島", 1, 1, 1),
    ("0200023", "岩手県", "盛岡市", "内丸", 0, 10, 1),
    ("0100951", "秋田県", "秋田市", "山王", 4, 1, 1),
    ("9900023", "山形県", "山形市", "松波", 2, 8, 1),
    ("9608065", "福島県", "福島市", "杉妻町", 0, 2, 16),
    ("9300006", "富山県", "富山市", "新総曲輪", 0, 1, 7),
    ("9100005", "福井県", "福井市", "大手", 3, 17, 1),
    ("4000031", "山梨県", "甲府市", "丸の内", 1, 6, 1),
    ("5008384", "岐阜県", "岐阜市", "薮田南", 2, 1, 1),
    ("3800837", "長野県", "長野市", "南長野", 0, 692, 2),
];

fn kanji(n: u32) -> String {
    const D: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if n == 0 {
        return D[0].to_string();
    }
    let mut out = String::new();
    let (th, h, t, o) = (n / 1000, n / 100 % 10, n / 10 % 10, n % 10);
    for (digit, unit) in [(th, "千"), (h, "百"), (t, "十")] {
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

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            '-' => '－',
            ' ' => '　',
            _ => c,
        })
        .collect()
}

fn numbers(c: u32, b: u32, g: u32) -> Vec<u32> {
    [c, b, g]
        .into_iter()
        .enumerate()
        .filter(|&(i, n)| n > 0 || i == 1)
        .map(|(_, n)| n)
        .collect()
}

fn official(c: u32, b: u32, g: u32) -> String {
    let mut s = String::new();
    if c > 0 {
        s.push_str(&format!("{c}丁目"));
    }
    if g > 0 {
        s.push_str(&format!("{b}番{g}号"));
    } else {
        s.push_str(&format!("{b}番地"));
    }
    s
}

fn kanji_style(c: u32, b: u32, g: u32) -> String {
    let mut s = String::new();
    if c > 0 {
        s.push_str(&format!("{}丁目", kanji(c)));
    }
    s.push_str(&format!("{b}番地"));
    if g > 0 {
        s.push_str(&g.to_string());
    }
    s
}

fn joined(c: u32, b: u32, g: u32, sep: &str) -> String {
    numbers(c, b, g)
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// The ways one address is written, all of which must share the block key.
fn variants(base: &(&str, &str, &str, &str, u32, u32, u32)) -> Vec<String> {
    let &(postal, pref, city, town, c, b, g) = base;
    let hy = joined(c, b, g, "-");
    let postal_h = format!("{}-{}", &postal[..3], &postal[3..]);
    let mut v = vec![
        format!("{pref}{city}{town}{}", official(c, b, g)),
        format!("{pref}{city}{town}{hy}"),
        full_width(&format!("{pref}{city}{town}{hy}")),
        format!("{pref}{city}{town}{}", kanji_style(c, b, g)),
        format!("{city}{town}{hy}"),
        format!("〒{postal_h} {pref}{city}{town}{hy}"),
        format!("{postal} {pref} {city} {town} {hy}"),
        format!(
            "{pref}{city}{town}{}",
            full_width(&joined(c, b, g, "ー")).replace('－', "ー")
        ),
        format!("{pref}{city}{town}{}", joined(c, b, g, "の")),
    ];
    if c > 0 {
        let rest = if g > 0 {
            format!("{b}-{g}")
        } else {
            b.to_string()
        };
        v.push(format!("{pref}{city}{town}{c}丁目{rest}"));
    }
    v
}

fn key(input: &str, name: KeyName) -> Option<String> {
    normalize(Kind::Address, input)
        .key(name)
        .map(str::to_string)
}

fn check_set(set: &[String], name: KeyName, failures: &mut Vec<String>) {
    let keys: Vec<Option<String>> = set.iter().map(|s| key(s, name)).collect();
    if keys[0].is_none() || keys.iter().any(|k| k != &keys[0]) {
        let lines: Vec<String> = set
            .iter()
            .zip(&keys)
            .map(|(s, k)| format!("    {s} => {k:?}"))
            .collect();
        failures.push(format!("{name:?} set:\n{}", lines.join("\n")));
    }
}

#[test]
fn address_variant_sets_share_a_key() {
    let mut sets = 0;
    let mut failures = Vec::new();
    for base in BASES {
        let &(postal, pref, city, town, c, b, g) = base;
        // (a) the address itself, written every way.
        check_set(&variants(base), KeyName::AddressBlock, &mut failures);
        // (b) with a building and a room: the unit key must agree.
        let hy = joined(c, b, g, "-");
        let unit = vec![
            format!("{pref}{city}{town}{hy} サンハイツ101号室"),
            format!("{pref}{city}{town}{}サンハイツ 101", official(c, b, g)),
            full_width(&format!("{pref}{city}{town}{hy} サンハイツ 101号室")),
            format!("〒{postal} {city}{town}{hy}サンハイツ-101"),
            format!("{pref}{city}{town}{hy}　サンハイツ　１０１"),
        ];
        check_set(&unit, KeyName::AddressUnit, &mut failures);
        // (c) the neighbouring lot, in the kanji-heavy styles.
        let next: Vec<String> = variants(&(postal, pref, city, town, c, b + 1, g))
            .into_iter()
            .step_by(2)
            .collect();
        check_set(&next, KeyName::AddressBlock, &mut failures);
        sets += 3;
    }
    println!(
        "address golden: {}/{sets} variant sets share their key",
        sets - failures.len()
    );
    for f in &failures {
        println!("{f}");
    }
    assert!(sets >= 150);
    assert!(failures.is_empty(), "{} sets split", failures.len());
}

/// Hand-picked near misses: same town in another municipality, a town that
/// is a prefix of another, another 丁目, the other side of Sapporo's grid.
const NEAR_MISS: &[(&str, &str)] = &[
    ("東京都渋谷区本町1-1-1", "東京都中野区本町1-1-1"),
    ("大阪府大阪市中央区本町1-1-1", "神奈川県横浜市中区本町1-1-1"),
    ("東京都港区芝1-1-1", "東京都港区芝公園1-1-1"),
    ("東京都新宿区西新宿2-8-1", "東京都新宿区新宿2-8-1"),
    ("東京都千代田区霞が関1-3-1", "東京都千代田区霞が関2-3-1"),
    ("東京都港区南青山1-1-1", "東京都港区北青山1-1-1"),
    (
        "北海道札幌市中央区北1条西2丁目1-1",
        "北海道札幌市中央区南1条西2丁目1-1",
    ),
    (
        "北海道札幌市中央区北1条西2丁目1-1",
        "北海道札幌市中央区北1条東2丁目1-1",
    ),
    ("愛知県名古屋市中区栄1-1-1", "愛知県名古屋市中区錦1-1-1"),
    ("東京都府中市宮町1-1", "東京都府中市宮西町1-1"),
    (
        "大阪府大阪市北区中之島1-3-20",
        "大阪府大阪市北区中之島1-3-21",
    ),
    (
        "東京都世田谷区三軒茶屋2-11-22",
        "東京都世田谷区三軒茶屋1-11-22",
    ),
    ("埼玉県川口市大字新堀999-888", "埼玉県川口市新堀町999-888"),
    ("東京都府中市府中町1-1", "広島県安芸郡府中町1-1"),
];

#[test]
fn address_near_misses_do_not_share_a_key() {
    let mut pairs: Vec<(String, String, KeyName)> = Vec::new();
    for &(postal, pref, city, town, c, b, g) in BASES {
        let here = format!("{pref}{city}{town}{}", joined(c, b, g, "-"));
        let (b2, g2) = if g > 0 { (b, g + 1) } else { (b + 1, g) };
        let neighbour = format!("〒{postal} {pref}{city}{town}{}", official(c, b2, g2));
        pairs.push((here.clone(), neighbour, KeyName::AddressBlock));
        pairs.push((
            format!("{here} サンハイツ101号室"),
            format!("{here} サンハイツ102号室"),
            KeyName::AddressUnit,
        ));
    }
    for (a, b) in NEAR_MISS {
        pairs.push((a.to_string(), b.to_string(), KeyName::AddressBlock));
    }
    let mut same = Vec::new();
    for (a, b, name) in &pairs {
        let (ka, kb) = (key(a, *name), key(b, *name));
        if ka.is_none() || kb.is_none() || ka == kb {
            same.push(format!("{a} / {b} => {ka:?} / {kb:?}"));
        }
    }
    println!(
        "address near misses: {}/{} kept apart",
        pairs.len() - same.len(),
        pairs.len()
    );
    for s in &same {
        println!("  SAME {s}");
    }
    assert!(pairs.len() >= 50);
    assert!(same.is_empty());
}

/// Rooms in one building share the building key but not the unit key.
#[test]
fn rooms_share_the_building_not_the_unit() {
    let a = normalize(Kind::Address, "東京都千代田区霞が関1-3-1 サンハイツ101号室");
    let b = normalize(
        Kind::Address,
        "東京都千代田区霞が関1丁目3番1号サンハイツ102",
    );
    assert_eq!(
        a.key(KeyName::AddressBuilding),
        b.key(KeyName::AddressBuilding)
    );
    assert_eq!(a.key(KeyName::AddressBlock), b.key(KeyName::AddressBlock));
    assert_ne!(a.key(KeyName::AddressUnit), b.key(KeyName::AddressUnit));
}

fn check_kind(kind: Kind, same: &[&[&str]], different: &[(&str, &str)]) {
    let key = |s: &str| normalize(kind, s).keys.first().map(|k| k.value.clone());
    for set in same {
        let k0 = key(set[0]);
        assert!(k0.is_some(), "{kind}: {} has no key", set[0]);
        for s in *set {
            assert_eq!(key(s), k0, "{kind}: {s} vs {}", set[0]);
        }
    }
    for (a, b) in different {
        let (ka, kb) = (key(a), key(b));
        assert!(ka.is_some() && kb.is_some(), "{kind}: {a} / {b} has no key");
        assert_ne!(ka, kb, "{kind}: {a} / {b}");
    }
    println!(
        "{kind} golden: {} sets, {} near misses",
        same.len(),
        different.len()
    );
}

#[test]
fn name_golden() {
    check_kind(
        Kind::Name,
        &[
            &[
                "髙橋一郎",
                "高橋一郎",
                "高橋 一郎",
                "高橋　一郎",
                " 髙橋　一郎 ",
            ],
            &["山﨑花子", "山崎花子", "山嵜 花子"],
            &["渡邊健", "渡邉健", "渡辺健", "渡辺 健"],
            &["齋藤誠", "斎藤誠", "齊藤誠", "斉藤誠"],
            &["濱田優", "浜田優"],
            &["澤田結衣", "沢田結衣"],
            &["國井学", "国井学", "國井學"],
            &["廣瀬遥", "広瀬遥", "広瀬遙"],
            &["櫻井翔太", "桜井翔太"],
            &[
                "ヤマダタロウ",
                "やまだたろう",
                "ﾔﾏﾀﾞ ﾀﾛｳ",
                "ヤマダ　タロウ",
                "やまだ たろう",
            ],
            &["スズキ ハナコ", "すずきはなこ", "ｽｽﾞｷﾊﾅｺ"],
            &["John Smith", "JohnSmith", "Ｊｏｈｎ　Ｓｍｉｔｈ"],
        ],
        &[
            ("山田太郎", "山田次郎"),
            ("高橋一郎", "髙橋二郎"),
            ("ヤマダタロウ", "ヤマダジロウ"),
            ("佐藤花子", "加藤花子"),
            ("ハシモト", "ハシモド"),
        ],
    );
}

#[test]
fn phone_golden() {
    check_kind(
        Kind::Phone,
        &[
            &[
                "090-1234-5678",
                "09012345678",
                "０９０－１２３４－５６７８",
                "+81 90 1234 5678",
                "+81-90-1234-5678",
                "(090)1234-5678",
                "090ー1234ー5678",
                "81-90-1234-5678",
            ],
            &[
                "03-1234-5678",
                "0312345678",
                "+81312345678",
                "03(1234)5678",
                "０３　１２３４　５６７８",
            ],
            &["050-2345-6789", "+81 50 2345 6789"],
            &["0120-123-456", "0120123456"],
        ],
        &[
            ("090-1234-5678", "090-1234-5679"),
            ("03-1234-5678", "06-1234-5678"),
            ("080-1234-5678", "090-1234-5678"),
        ],
    );
    // Impossible numbers are refused, with the reason.
    for bad in ["090-1234-567", "0012-345-678", "hello", "", "+81"] {
        let n = normalize(Kind::Phone, bad);
        assert!(n.canonical.is_none(), "{bad} should be refused");
        assert!(!n.flags.is_empty());
    }
}

#[test]
fn email_golden() {
    check_kind(
        Kind::Email,
        &[
            &[
                "taro.yamada@gmail.com",
                "TaroYamada@gmail.com",
                "taro.yamada+shop@googlemail.com",
                "ｔａｒｏ．ｙａｍａｄａ＠ｇｍａｉｌ．ｃｏｍ",
                " taroyamada@GMAIL.COM ",
            ],
            &["hanako@icloud.com", "Hanako+x@icloud.com"],
            &["user@outlook.jp", "USER+tag@outlook.jp"],
            &["someone@example.co.jp", "SomeOne@Example.CO.JP"],
        ],
        &[
            ("taro.yamada@gmail.com", "taro.yamada@yahoo.co.jp"),
            ("some.one@example.co.jp", "someone@example.co.jp"),
            ("a+b@example.com", "a@example.com"),
        ],
    );
    for bad in ["not-an-email", "a@b", "@gmail.com", "a@@b.com", "a b@c.com"] {
        assert!(
            normalize(Kind::Email, bad).canonical.is_none(),
            "{bad} should be refused"
        );
    }
}

#[test]
fn snapshots_of_each_kind() {
    let cases = [
        (
            Kind::Address,
            "〒100-0013 東京都千代田区霞が関一丁目3番1号 霞ヶ関ビル 1203号室",
        ),
        (Kind::Address, "霞ヶ関１－３－１"),
        (
            Kind::Address,
            "京都府京都市中京区寺町通御池上る上本能寺前町488番地",
        ),
        (Kind::Address, "北海道札幌市中央区北1条西2丁目"),
        (Kind::Name, "髙橋　一郎"),
        (Kind::Name, "ﾔﾏﾀﾞ ﾀﾛｳ"),
        (Kind::Phone, "０９０ー１２３４ー５６７８"),
        (Kind::Email, "Some.Name+tag@GoogleMail.com"),
        (Kind::Device, "  3F2504E0-4F89-11D3-9A0C-0305E82C3301 "),
        (Kind::Ip, "2001:db8:85a3::8a2e:370:7334"),
        (Kind::Ip, "203.0.113.42"),
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {v}\n{}",
                serde_json::to_string_pretty(&normalize(*k, v)).unwrap_or_default()
            )
        })
        .collect();
    insta::assert_snapshot!("normalize_each_kind", out.join("\n\n"));
}

#[test]
fn postal_code_check() {
    use atobarai_identity::postal_code_matches;
    for &(postal, pref, city, town, c, b, g) in BASES {
        let address = format!("{pref}{city}{town}{}", joined(c, b, g, "-"));
        assert!(postal_code_matches(postal, &address), "{postal} {address}");
        let hyphenated = format!("〒{}-{}", &postal[..3], &postal[3..]);
        assert!(
            postal_code_matches(&hyphenated, &address),
            "{hyphenated} {address}"
        );
        assert!(postal_code_matches(&full_width(&hyphenated), &address));
    }
    let kasumigaseki = "東京都千代田区霞が関1-3-1";
    assert!(
        postal_code_matches("100-0013", "霞が関1-3-1"),
        "municipality inferred from the town"
    );
    assert!(
        !postal_code_matches("100-0014", kasumigaseki),
        "永田町's code, same ward"
    );
    assert!(
        !postal_code_matches("530-0005", kasumigaseki),
        "another city"
    );
    assert!(
        !postal_code_matches("999-9999", kasumigaseki),
        "no such code"
    );
    assert!(!postal_code_matches("100-001", kasumigaseki), "six digits");
    assert!(!postal_code_matches("abc", kasumigaseki));
    assert!(!postal_code_matches("100-0013", "どこか"));
    // A code given in the address itself is checked too.
    let n = normalize(Kind::Address, "〒530-0005 東京都千代田区霞が関1-3-1");
    assert!(
        n.flags
            .contains(&atobarai_identity::Flag::PostalCodeMismatch)
    );
}
