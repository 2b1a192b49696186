//! Variant-kanji tables.
//!
//! Source: compiled by hand for this project from (a) the 旧字体 shown in
//! parentheses in the 常用漢字表 (Cabinet notice, 2010) and the 人名用漢字
//! 許容字体 list (法務省, 戸籍法施行規則 別表第二), giving old form → new form;
//! (b) JIS X 0208/0213 pairs that people substitute for each other when a
//! character is missing from their keyboard or font (髙/高, 﨑/崎, 邉/辺);
//! (c) for addresses only, the spellings that the address corpora in
//! `shared/data` show for one place (塩竈/塩釜, 鹿嶋/鹿島, 己/巳 in 辰巳).
//! Each row maps a variant to the form we keep; the kept form never appears
//! on the left, so applying the table twice changes nothing.

/// Variant → kept form, used for names and addresses alike.
pub const VARIANTS: &[(char, char)] = &[
    // People's names: the cases registration forms see most.
    ('髙', '高'),
    ('﨑', '崎'),
    ('嵜', '崎'),
    ('碕', '崎'),
    ('邊', '辺'),
    ('邉', '辺'),
    ('齋', '斎'),
    ('齊', '斉'),
    ('濱', '浜'),
    ('濵', '浜'),
    ('澤', '沢'),
    ('國', '国'),
    ('圀', '国'),
    ('廣', '広'),
    ('櫻', '桜'),
    ('實', '実'),
    ('惠', '恵'),
    ('榮', '栄'),
    ('藏', '蔵'),
    ('眞', '真'),
    ('德', '徳'),
    ('龍', '竜'),
    ('瀧', '滝'),
    ('嶋', '島'),
    ('嶌', '島'),
    ('冨', '富'),
    ('條', '条'),
    ('壽', '寿'),
    ('會', '会'),
    ('學', '学'),
    ('與', '与'),
    ('彌', '弥'),
    ('靜', '静'),
    ('鐵', '鉄'),
    ('圓', '円'),
    ('黑', '黒'),
    ('團', '団'),
    ('淺', '浅'),
    ('驛', '駅'),
    ('縣', '県'),
    ('來', '来'),
    ('禮', '礼'),
    ('豐', '豊'),
    ('萬', '万'),
    ('寳', '宝'),
    ('寶', '宝'),
    ('兒', '児'),
    ('莊', '荘'),
    ('聰', '聡'),
    ('營', '営'),
    ('樂', '楽'),
    ('應', '応'),
    ('戶', '戸'),
    ('爲', '為'),
    ('讀', '読'),
    ('辯', '弁'),
    ('辨', '弁'),
    ('瓣', '弁'),
    ('佛', '仏'),
    ('拜', '拝'),
    ('舘', '館'),
    ('檜', '桧'),
    ('槇', '槙'),
    ('曾', '曽'),
    ('增', '増'),
    ('穗', '穂'),
    ('關', '関'),
    ('鷗', '鴎'),
    ('麴', '麹'),
    ('竈', '竃'),
    ('螢', '蛍'),
    ('巖', '巌'),
    ('嶽', '岳'),
    ('峯', '峰'),
    ('籠', '篭'),
    ('藪', '薮'),
    ('籔', '薮'),
    ('龜', '亀'),
    ('黃', '黄'),
    ('單', '単'),
    ('斷', '断'),
    ('舊', '旧'),
    ('歐', '欧'),
    ('澁', '渋'),
    ('溪', '渓'),
    ('鄕', '郷'),
    ('鷄', '鶏'),
    ('遙', '遥'),
    ('瑤', '瑶'),
    ('堯', '尭'),
    ('擧', '挙'),
    ('萠', '萌'),
    ('晉', '晋'),
    ('埀', '垂'),
    ('莵', '菟'),
    ('鰺', '鯵'),
    ('諫', '諌'),
    ('驒', '騨'),
    ('檮', '梼'),
    ('冝', '宜'),
    ('釡', '釜'),
    ('鷆', '鷏'),
    ('淵', '渕'),
    ('邇', '迩'),
    ('鶯', '鴬'),
    ('祗', '祇'),
    ('娄', '婁'),
    ('靑', '青'),
    ('淸', '清'),
    ('晴', '晴'),
    ('雜', '雑'),
    ('傳', '伝'),
    ('廳', '庁'),
    ('總', '総'),
    ('櫛', '櫛'),
    ('惡', '悪'),
    ('觀', '観'),
    ('權', '権'),
    ('歡', '歓'),
    ('顯', '顕'),
    ('醫', '医'),
    ('發', '発'),
    ('變', '変'),
    ('戀', '恋'),
    ('壯', '壮'),
    ('莖', '茎'),
    ('姬', '姫'),
    ('賴', '頼'),
    ('瀨', '瀬'),
    ('彥', '彦'),
    ('顏', '顔'),
    ('塚', '塚'),
    ('猪', '猪'),
    ('凛', '凜'),
    ('杦', '杉'),
    ('桒', '桑'),
    ('槗', '橋'),
    ('栁', '柳'),
    ('柗', '松'),
    ('髪', '髪'),
    ('蘆', '芦'),
    ('叶', '叶'),
    ('盡', '尽'),
    ('將', '将'),
    ('亞', '亜'),
    ('惠', '恵'),
    ('乘', '乗'),
    ('獨', '独'),
    ('稻', '稲'),
    ('藝', '芸'),
    ('缺', '欠'),
    ('聲', '声'),
    ('賣', '売'),
    ('禪', '禅'),
    ('專', '専'),
    ('兩', '両'),
    ('燈', '灯'),
    ('嘉', '嘉'),
    ('祿', '禄'),
    ('福', '福'),
    ('曻', '昇'),
    ('甞', '嘗'),
    // Kanji numerals in their formal (大字) forms, kept as the common form.
    ('壱', '一'),
    ('壹', '一'),
    ('弐', '二'),
    ('貳', '二'),
    ('参', '三'),
    ('參', '三'),
];

/// Extra folds applied only when building address match keys: spellings the
/// corpora show for one place that are not variants of one character.
pub const ADDRESS_KEY_FOLDS: &[(char, char)] = &[
    ('竃', '釜'), // 塩竈市 / 塩釜市, 御殿場市竈
    ('己', '巳'),
    ('已', '巳'), // 辰己 / 辰巳
    ('冶', '治'), // 鍛冶屋町 / 鍛治屋町
    ('班', '斑'), // 班目 / 斑目
    ('飽', '鉋'), // 上氷鉋 / 上氷飽
    ('脊', '背'), // 花脊 / 花背
    ('擽', '櫟'), // 櫟田 / 擽田
    ('爾', '迩'), // 和爾 / 和迩 / 和邇
    ('炮', '砲'), // 鉄炮町 / 鉄砲町
    ('舟', '船'), // 一之舟入町 / 一之船入町
    ('斎', '斉'),
    ('ヵ', 'ケ'),
    ('ヶ', 'ケ'),
    ('が', 'ケ'),
    ('ガ', 'ケ'),
    ('け', 'ケ'),
    ('の', 'ノ'),
    ('之', 'ノ'),
    ('乃', 'ノ'),
    ('丿', 'ノ'),
];

/// The variant table as a lookup (one match per char; the table is small
/// enough that a sorted slice beats a hash map).
pub fn fold_variant(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    variant_index()
        .binary_search_by_key(&c, |&(k, _)| k)
        .map(|i| variant_index()[i].1)
        .unwrap_or(c)
}

/// Address-key folding: variants, then the address-only folds.
pub fn fold_address_key(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    // Kana and the main CJK block (where nearly every address char is): one
    // table lookup instead of two searches.
    let i = (c as u32).wrapping_sub(DENSE_START) as usize;
    if let Some(&folded) = dense_address_table().get(i) {
        return folded;
    }
    fold_address_key_slow(c)
}

const DENSE_START: u32 = 0x3000;
const DENSE_END: u32 = 0xA000;

fn dense_address_table() -> &'static [char] {
    static TABLE: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (DENSE_START..DENSE_END)
            .map(|u| char::from_u32(u).map_or('\u{FFFD}', fold_address_key_slow))
            .collect()
    })
}

fn fold_address_key_slow(c: char) -> char {
    let c = fold_variant(c);
    address_index()
        .binary_search_by_key(&c, |&(k, _)| k)
        .map(|i| address_index()[i].1)
        .unwrap_or(c)
}

fn variant_index() -> &'static [(char, char)] {
    static INDEX: std::sync::OnceLock<Vec<(char, char)>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| sorted(VARIANTS))
}

fn address_index() -> &'static [(char, char)] {
    static INDEX: std::sync::OnceLock<Vec<(char, char)>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| sorted(ADDRESS_KEY_FOLDS))
}

fn sorted(table: &[(char, char)]) -> Vec<(char, char)> {
    let mut v: Vec<(char, char)> = table.iter().copied().filter(|(a, b)| a != b).collect();
    v.sort_unstable();
    v.dedup_by_key(|p| p.0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_idempotent() {
        for &(from, _) in VARIANTS.iter().chain(ADDRESS_KEY_FOLDS) {
            let once = fold_address_key(from);
            assert_eq!(fold_address_key(once), once, "{from} folds twice");
        }
        for &(from, _) in VARIANTS {
            let once = fold_variant(from);
            assert_eq!(fold_variant(once), once, "{from} folds twice");
        }
    }
}
