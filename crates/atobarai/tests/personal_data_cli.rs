//! `atobarai serve` as shipped seals personal data: with no keyring
//! configured it makes one in the data directory, keeps each customer's
//! data key in `vault.sqlite`, and the journal on disk holds no name,
//! phone, e-mail or address.

mod serve;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_server_journals_no_personal_field_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let key = serve::add_key(dir.path(), &["merchant", "add", "shop"]);
    let (mut child, base) = serve::start(dir.path());
    let http = reqwest::Client::new();
    let body = json!({"external_id": "c-clear-id", "name": "秘匿 花子", "name_kana": "ヒトク ハナコ",
        "birth_date": "1990-04-01", "phone": "090-7777-1234", "email": "hitoku.hanako@example.jp",
        "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1 秘匿荘202",
        "payment_method": "bank_debit"});
    let resp = http
        .post(format!("{base}/v1/customers"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "reg-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(dir.path().join("keyring").exists(), "a keyring was made");
    assert!(dir.path().join("vault.sqlite").exists(), "a vault was made");
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|f| {
            let p = f.unwrap().path();
            (
                p.display().to_string(),
                std::fs::read(&p).unwrap_or_default(),
            )
        })
        .collect();
    let holds = |needle: &str| {
        files
            .iter()
            .filter(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>()
    };
    assert!(!holds("c-clear-id").is_empty(), "the grep sees clear text");
    for secret in [
        "秘匿 花子",
        "ヒトク ハナコ",
        "+819077771234",
        "hitoku.hanako@example.jp",
        "秘匿荘202",
    ] {
        assert!(holds(secret).is_empty(), "{secret} in {:?}", holds(secret));
    }
}
