//! `atobarai keys`: rotation adds an active key and keeps the old ones,
//! `list` counts the data keys each wraps, `retire` refuses the active key
//! and removes a retired one once nothing is wrapped with it.

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
