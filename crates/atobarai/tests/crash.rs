//! Crash safety: `kill -9` the server while clients authorize; after a
//! restart every acknowledged authorization is there, with its decision.

mod serve;

use serde_json::{Value, json};
use serve::start;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_no_acknowledged_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let key = serve::add_key(dir.path(), &["merchant", "add", "shop"]);
    let (mut child, base) = start(dir.path());
    let http = reqwest::Client::new();

    let mut customers = Vec::new();
    for i in 0..8 {
        let body = json!({"external_id": format!("c-{i}"), "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
            "birth_date": "1990-04-01", "phone": "090-1234-5678", "email": "taro@example.jp",
            "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1", "payment_method": "bank_debit"});
        let v: Value = http
            .post(format!("{base}/v1/customers"))
            .bearer_auth(&key)
            .header("Idempotency-Key", format!("reg-{i}"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        customers.push(v["id"].as_str().unwrap().to_string());
    }

    let acked: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let mut clients = Vec::new();
    for (c, customer) in customers.into_iter().enumerate() {
        let (http, base, key, acked) = (http.clone(), base.clone(), key.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            for n in 0.. {
                let body = json!({"merchant_order_id": format!("o-{c}-{n}"), "customer": customer, "product": "monthly",
                    "channel": "online", "items": [{"sku": "S", "name": "n", "category": "food", "unit_price": 1, "quantity": 1}]});
                let resp = http.post(format!("{base}/v1/authorizations")).bearer_auth(&key)
                    .header("Idempotency-Key", format!("a-{c}-{n}")).json(&body).send().await;
                let Ok(resp) = resp else { return };
                let Ok(v) = resp.json::<Value>().await else { return };
                acked.lock().unwrap().push((v["order_id"].as_str().unwrap().to_string(), v));
            }
        }));
    }
    // Let them run until a few hundred authorizations are acknowledged.
    for _ in 0..200 {
        if acked.lock().unwrap().len() >= 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.kill().unwrap(); // SIGKILL: no shutdown hook, no final snapshot
    child.wait().unwrap();
    for c in clients {
        let _ = c.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "only {} authorizations acknowledged before the kill",
        acked.len()
    );

    let (mut child, base) = start(dir.path());
    for (id, first) in &acked {
        let v: Value = http
            .get(format!("{base}/v1/orders/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["decision"], first["decision"],
            "order {id} after restart: {v}"
        );
        assert_eq!(v["amount"], first["amount"]);
        assert_eq!(v["available_after"], first["available_after"]);
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
