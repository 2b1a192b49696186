//! Configuration out of range stops the server before it touches a store,
//! naming every field at fault.

use std::process::Command;

#[test]
fn out_of_range_configuration_is_refused_with_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_atobarai"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        // Above the 14.6 % legal maximum, and a day that does not exist.
        .env("ATOBARAI__BILLING__DELAY_DAMAGES_BP_PER_YEAR", "2000")
        .env("ATOBARAI__BILLING__BANK_DEBIT_DAY", "32")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("billing.delay_damages_bp_per_year"),
        "{stderr}"
    );
    assert!(stderr.contains("billing.bank_debit_day"), "{stderr}");
    assert!(!data.exists(), "nothing written");
}
