//! Normalizer and graph throughput.
//!
//!     cargo bench -p atobarai-identity --bench identity
//!
//! `onboard` is the figure the issue sets a target for: one account's
//! sign-up values (name, phone, e-mail, address, device, IP) normalized,
//! hashed with HMAC-SHA256 and linked into a graph, per iteration.

use std::hint::black_box;

use atobarai_identity::graph::GraphConfig;
use atobarai_identity::{Graph, KeyName, Kind, LinkKind, key_hash, normalize};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const ADDRESSES: &[&str] = &[
    "〒100-0013 東京都千代田区霞が関一丁目3番1号 霞ヶ関ビル 1203号室",
    "霞ヶ関１－３－１",
    "大阪府大阪市北区中之島1-3-20",
    "神奈川県横浜市中区本町6丁目50番地10",
    "北海道札幌市中央区北1条西2丁目1-1 サンハイツ101",
    "京都府京都市中京区寺町通御池上る上本能寺前町488番地",
    "埼玉県さいたま市浦和区高砂３－１５－１",
    "福岡市中央区天神1-8-1",
];
const NAMES: &[&str] = &["髙橋 一郎", "山﨑花子", "ﾔﾏﾀﾞ ﾀﾛｳ", "渡邊　健"];
const PHONES: &[&str] = &[
    "090-1234-5678",
    "０３－１２３４－５６７８",
    "+81 50 2345 6789",
    "080ー1111ー2222",
];
const EMAILS: &[&str] = &[
    "Taro.Yamada+shop@gmail.com",
    "hanako@icloud.com",
    "user@example.co.jp",
    "ｓｏｍｅｏｎｅ＠ｙａｈｏｏ．ｃｏ．ｊｐ",
];

fn normalizers(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(1));
    for (kind, inputs) in [
        (Kind::Address, ADDRESSES),
        (Kind::Name, NAMES),
        (Kind::Phone, PHONES),
        (Kind::Email, EMAILS),
        (Kind::Device, &["3F2504E0-4F89-11D3-9A0C-0305E82C3301"][..]),
        (Kind::Ip, &["203.0.113.42", "2001:db8::1"][..]),
    ] {
        let mut i = 0;
        g.bench_function(kind.as_str(), |b| {
            b.iter(|| {
                i = (i + 1) % inputs.len();
                black_box(normalize(kind, black_box(inputs[i])))
            })
        });
    }
    g.finish();
    c.bench_function("key_hash", |b| {
        b.iter(|| {
            black_box(key_hash(
                b"secret",
                LinkKind::Phone,
                black_box("+819012345678"),
            ))
        })
    });
}

fn onboard(c: &mut Criterion) {
    let mut g = c.benchmark_group("onboard");
    // One iteration signs up 1000 accounts.
    g.throughput(Throughput::Elements(1000));
    g.sample_size(20);
    g.bench_function("normalize_hash_link_account", |b| {
        b.iter_batched_ref(
            || {
                (
                    Graph::with_capacity(GraphConfig::default(), 10_000, 60_000),
                    0u64,
                )
            },
            |(graph, n)| {
                for _ in 0..1000 {
                    *n += 1;
                    let i = *n as usize;
                    let Ok(a) = graph.add_account(1_780_000_000_000) else {
                        return;
                    };
                    let phone = format!("090{}{:07}", 1 + *n % 9, *n % 10_000_000);
                    let email = format!("user{}@example.co.jp", *n);
                    let device = format!("device-{:012}", *n);
                    let ip = format!("203.0.{}.{}", (*n / 256) % 256, *n % 256);
                    let inputs = [
                        (Kind::Name, NAMES[i % NAMES.len()]),
                        (Kind::Phone, phone.as_str()),
                        (Kind::Email, email.as_str()),
                        (Kind::Address, ADDRESSES[i % ADDRESSES.len()]),
                        (Kind::Device, device.as_str()),
                        (Kind::Ip, ip.as_str()),
                    ];
                    for (kind, value) in inputs {
                        let norm = normalize(kind, value);
                        for k in &norm.keys {
                            match (k.name, k.name.link_kind()) {
                                (KeyName::Name | KeyName::NameKana, _) => {
                                    let _ = graph
                                        .set_name(a, key_hash(b"secret", LinkKind::Name, &k.value));
                                }
                                (_, Some(lk)) => {
                                    let _ = graph.link(
                                        a,
                                        lk,
                                        key_hash(b"secret", lk, &k.value),
                                        1_780_000_000_000,
                                    );
                                }
                                _ => {}
                            }
                        }
                    }
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn queries(c: &mut Criterion) {
    let mut graph = Graph::new(GraphConfig::default());
    for i in 0..100_000u32 {
        let a = graph.add_account(0).unwrap_or(0);
        let _ = graph.link(
            a,
            LinkKind::Device,
            key_hash(b"s", LinkKind::Device, &(i / 3).to_string()),
            0,
        );
        let _ = graph.link(
            a,
            LinkKind::Phone,
            key_hash(b"s", LinkKind::Phone, &i.to_string()),
            0,
        );
    }
    let mut i = 0u32;
    c.bench_function("graph/cluster_of", |b| {
        b.iter(|| {
            i = (i.wrapping_mul(2_654_435_761).wrapping_add(1)) % 100_000;
            black_box(graph.cluster_of(black_box(i)))
        })
    });
    c.bench_function("graph/cluster_features", |b| {
        b.iter(|| {
            i = (i.wrapping_mul(2_654_435_761).wrapping_add(1)) % 100_000;
            black_box(graph.cluster_features(black_box(i), 0))
        })
    });
}

/// Issue 8 item 7: 10,000 accounts (each with its own phone) registered on
/// one device id, per iteration. The device joins the first 20, becomes a hub
/// at the 21st (one cluster recomputation) and joins nobody after, so each
/// link stays O(1): no union over a growing cluster.
///
///     cargo bench -p atobarai-identity --bench identity -- hub
fn hub(c: &mut Criterion) {
    let mut g = c.benchmark_group("graph");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(10);
    let phones: Vec<_> = (0..10_000u32)
        .map(|i| key_hash(b"s", LinkKind::Phone, &format!("+8190{i:08}")))
        .collect();
    let device = key_hash(b"s", LinkKind::Device, "emulator-default");
    g.bench_function("hub_10k_accounts_one_device", |b| {
        b.iter_batched_ref(
            || Graph::with_capacity(GraphConfig::default(), 10_000, 10_001),
            |graph| {
                for phone in &phones {
                    let Ok(a) = graph.add_account(0) else { break };
                    let _ = graph.link(a, LinkKind::Phone, *phone, 0);
                    let _ = graph.link(a, LinkKind::Device, device, 0);
                }
                black_box(graph.cluster_size(9_999))
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, normalizers, onboard, queries, hub);
criterion_main!(benches);
