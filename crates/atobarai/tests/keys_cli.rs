//! `atobarai keys`: rotation adds an active key and keeps the old ones,
//! `list` counts the data keys each wraps, `retire` refuses the active key
//! and removes a retired one once nothing is wrapped with it.

mod serve;

use std::process::Command;

fn atobarai(args: &[&str], data: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_atobarai"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keys_rotate_list_and_retire() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = atobarai(&["keys", "rotate"], &data);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "k1");
    let (ok, out, err) = atobarai(&["keys", "rotate"], &data);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "k2");
    let ring = std::fs::read_to_string(data.join("keyring")).unwrap();
    assert!(ring.contains("active k2"), "{ring}");
    assert!(ring.contains("key k1 "), "the old key stays: {ring}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("keyring"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
    }
    let (ok, out, err) = atobarai(&["keys", "list"], &data);
    assert!(ok, "{err}");
    assert!(out.contains("k1\t0 data keys"), "{out}");
    assert!(out.contains("k2 (active)\t0 data keys"), "{out}");
    let (ok, _, err) = atobarai(&["keys", "retire", "k2"], &data);
    assert!(!ok);
    assert!(err.contains("active"), "{err}");
    let (ok, _, err) = atobarai(&["keys", "retire", "k9"], &data);
    assert!(!ok);
    assert!(err.contains("not in"), "{err}");
    let (ok, out, err) = atobarai(&["keys", "retire", "k1"], &data);
    assert!(ok, "{err}");
    assert!(out.contains("k1 retired"), "{out}");
    let ring = std::fs::read_to_string(data.join("keyring")).unwrap();
    assert!(!ring.contains("key k1 "), "{ring}");
}

/// Moving to another store: the vault's wrapped keys go with the journal
/// (`keys export-vault` / `keys import-vault`), checked whole first, and a
/// second import changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vault_moves_with_its_wrapped_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let key = serve::add_key(&a, &["merchant", "add", "shop"]);
    let (mut child, base) = serve::start(&a);
    let http = reqwest::Client::new();
    for n in 0..3 {
        let body = serde_json::json!({"external_id": format!("c-{n}"), "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ", "birth_date": "1990-04-01",
            "phone": format!("090-1234-{:04}", n), "email": format!("t{n}@example.jp"),
            "postal_code": "100-0013", "address": "東京都千代田区霞が関1-3-1",
            "payment_method": "bank_debit"});
        let resp = http
            .post(format!("{base}/v1/customers"))
            .bearer_auth(&key)
            .header("Idempotency-Key", format!("r-{n}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let file = dir.path().join("vault.txt");
    let file_s = file.to_str().unwrap();
    let (ok, out, err) = atobarai(&["keys", "export-vault", "--out", file_s], &a);
    assert!(ok, "{err}");
    assert!(out.contains("3 data keys"), "{out}");
    let (ok, _, err) = atobarai(&["keys", "export-vault", "--out", file_s], &a);
    assert!(!ok && err.contains("exists"), "{err}");

    // A truncated file is refused before anything is written.
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = dir.path().join("cut.txt");
    std::fs::write(&cut, text.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    let (ok, _, err) = atobarai(&["keys", "import-vault", "--in", cut.to_str().unwrap()], &b);
    assert!(!ok && err.contains("truncated"), "{err}");

    let (ok, out, err) = atobarai(&["keys", "import-vault", "--in", file_s], &b);
    assert!(ok, "{err}");
    assert!(out.contains("3 data keys imported"), "{out}");
    let (ok, out, err) = atobarai(&["keys", "import-vault", "--in", file_s], &b);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 data keys imported, 3 already there"),
        "{out}"
    );
    std::fs::copy(a.join("keyring"), b.join("keyring")).unwrap();
    let (ok, out, err) = atobarai(&["keys", "list"], &b);
    assert!(ok, "{err}");
    assert!(out.contains("k1 (active)\t3 data keys"), "{out}");
}
