//! `atobarai identity normalize`: canonical forms and keys, no store.

use std::process::Command;

fn normalize(args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_atobarai"))
        .args(["identity", "normalize"])
        .args(args)
        // Run where no store exists: the command must not need one.
        .current_dir(dir.path())
        .env("ATOBARAI__IDENTITY__KEY_SECRET", "cli-test-secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
    (out.status.success(), stdout)
}

#[test]
fn text_shows_canonical_form_keys_and_hashes() {
    let (ok, out) = normalize(&[
        "--kind",
        "address",
        "〒100-0013 東京都千代田区霞ヶ関一丁目3番1号 霞ビル101号室",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("canonical: 〒100-0013 東京都千代田区霞が関1-3-1"),
        "{out}"
    );
    assert!(out.contains("key address_unit: "), "{out}");
    assert!(out.contains("hash address_unit: "), "{out}");
}

#[test]
fn json_for_a_phone_and_a_failing_status_for_an_invalid_value() {
    let (ok, out) = normalize(&["--kind", "phone", "０９０（１２３４）５６７８", "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["canonical"], "+819012345678");
    assert_eq!(v["hashes"][0]["link"], "phone");
    assert_eq!(v["hashes"][0]["hash"].as_str().unwrap().len(), 32);
    let (ok, out) = normalize(&["--kind", "email", "taro@"]);
    assert!(!ok);
    assert!(out.contains("(invalid)"), "{out}");
}
