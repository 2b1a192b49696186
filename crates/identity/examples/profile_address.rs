//! Normalizes a fixed mix of addresses in a loop, for profiling:
//!
//!     cargo run --release -p atobarai-identity --example profile_address [ITERATIONS]

use std::time::Instant;

use atobarai_identity::{Kind, normalize};

const INPUTS: &[&str] = &[
    "〒100-0013 東京都千代田区霞が関一丁目3番1号 霞ヶ関ビル 1203号室",
    "霞ヶ関１－３－１",
    "大阪府大阪市北区中之島1-3-20",
    "神奈川県横浜市中区本町6丁目50番地10",
    "北海道札幌市中央区北1条西2丁目1-1 サンハイツ101",
    "京都府京都市中京区寺町通御池上る上本能寺前町488番地",
    "埼玉県さいたま市浦和区高砂３－１５－１",
    "福岡市中央区天神1-8-1",
];

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let t = Instant::now();
    let _ = normalize(Kind::Address, INPUTS[0]);
    println!(
        "first call (gazetteer load): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let mut keys = 0;
    for i in 0..n {
        keys += normalize(Kind::Address, INPUTS[i % INPUTS.len()])
            .keys
            .len();
    }
    let per = t.elapsed().as_secs_f64() / n as f64;
    println!("{n} addresses, {:.2} µs each ({keys} keys)", per * 1e6);
}
