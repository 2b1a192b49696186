//! `atobarai rules apply`: a rules file put in force on a running server,
//! and a file with errors refused with their positions, the running set
//! staying in force.

mod serve;

use serve::{BIN, ok, start};
use std::path::Path;
use std::process::Command;

fn admin_key(dir: &Path) -> String {
    serve::add_key(dir, &["operator", "add", "ops", "--role", "admin"])
}

/// `atobarai model train` on `data` (label `label`, positive `positive`).
fn train(data: &Path, label: &str, positive: &str, out: &Path) {
    ok(&Command::new(BIN)
        .args([
            "model",
            "train",
            "--label",
            label,
            "--positive",
            positive,
            "--data",
        ])
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap());
}

fn apply(file: &Path, url: &str, key: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["rules", "apply"])
        .arg(file)
        .args(["--server", url])
        .env("ATOBARAI_ADMIN_KEY", key)
        .output()
        .unwrap()
}

const GOOD: &str = r#"[set]
name = "ops"
version = 4
description = "Holds large baskets."

[[rule]]
id = "big_basket"
version = 1
description = "Large baskets."
when = 'cart.total >= 40_000'
action = "review"
reason = "big_basket"
text_ja = "高額のご注文のため確認が必要です。"
text_en = "A large basket: held for review."
"#;

#[test]
fn a_rules_file_is_put_in_force_on_a_running_server_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = admin_key(&data);
    let (mut child, url) = start(&data);

    let good = dir.path().join("good.toml");
    std::fs::write(&good, GOOD).unwrap();
    let out = apply(&good, &url, &key);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Version 1 is the built-in set the server started with.
    assert!(stdout.contains("ops v4 in force as version 2"), "{stdout}");

    // A wrong feature name: refused here, before the server is asked.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, GOOD.replace("cart.total", "cart.totl")).unwrap();
    let out = apply(&bad, &url, &key);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.toml:10:"), "{stderr}");

    // A wrong key: the server's refusal is shown.
    let out = apply(&good, &url, "not-a-key");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    child.kill().unwrap();
    child.wait().unwrap();
}

/// `atobarai model load`: a scorecard trained on risk features loads in
/// shadow on a running server; one trained on other columns is refused
/// before the server is asked.
#[test]
fn a_scorecard_is_loaded_on_a_running_server_and_a_foreign_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = admin_key(&data);
    let (mut child, url) = start(&data);

    let rows = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data/gift_card_rows.tsv");
    let model = dir.path().join("m.json");
    train(&rows, "outcome", "defaulted", &model);
    let load = |file: &Path| {
        Command::new(BIN)
            .args(["model", "load"])
            .arg(file)
            .args(["--mode", "shadow", "--server", &url])
            .env("ATOBARAI_ADMIN_KEY", &key)
            .output()
            .unwrap()
    };
    let out = load(&model);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("model version 1 loaded shadow"), "{stdout}");

    // German credit's columns are not risk features.
    let german =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data/german_credit.tsv");
    let foreign = dir.path().join("german.json");
    train(&german, "creditability", "bad", &foreign);
    let out = load(&foreign);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a risk feature"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    child.kill().unwrap();
    child.wait().unwrap();
}
