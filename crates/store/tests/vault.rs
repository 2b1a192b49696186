//! Every key vault backend behaves the same: keys kept, counted by KEK,
//! re-wrapped only from the KEK expected, shredded for good. PostgreSQL
//! runs when TEST_DATABASE_URL is set and says so when skipped.

use atobarai_store::{MemoryVault, PgVault, SqliteVault, Vault, WrappedKey};

/// What every backend must do.
fn conformance(v: &dyn Vault) {
    let (a, b, c) = ([1u8; 16], [2u8; 16], [3u8; 16]);
    let k = |id: &str, w: u8| WrappedKey {
        kek_id: id.into(),
        wrapped: vec![w; 72],
    };
    v.put(&a, &k("k1", 1)).unwrap();
    v.put(&b, &k("k1", 2)).unwrap();
    v.put(&c, &k("k2", 3)).unwrap();
    assert!(v.put(&a, &k("k2", 9)).is_err(), "a subject is never reused");
    assert_eq!(v.get(&a).unwrap(), Some(k("k1", 1)));
    assert_eq!(
        v.count_by_kek().unwrap(),
        vec![("k1".into(), 2), ("k2".into(), 1)]
    );
    assert_eq!(v.wrapped_with("k1", 1).unwrap().len(), 1);
    assert_eq!(v.wrapped_with("k1", 10).unwrap()[1], (b, k("k1", 2)));
    assert!(v.rewrap(&a, "k1", &k("k2", 4)).unwrap());
    assert!(!v.rewrap(&a, "k1", &k("k2", 5)).unwrap(), "already moved");
    assert_eq!(v.get(&a).unwrap(), Some(k("k2", 4)));
    assert!(v.delete(&b).unwrap());
    assert!(!v.delete(&b).unwrap(), "idempotent");
    assert_eq!(v.get(&b).unwrap(), None);
    assert!(
        !v.rewrap(&b, "k1", &k("k2", 6)).unwrap(),
        "never resurrects"
    );
    assert_eq!(v.count_by_kek().unwrap(), vec![("k2".into(), 2)]);
}

#[test]
fn memory_vault_conforms() {
    conformance(&MemoryVault::new());
}

#[test]
fn sqlite_vault_conforms_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&SqliteVault::open_dir(dir.path()).unwrap());
    let again = SqliteVault::open_dir(dir.path()).unwrap();
    assert_eq!(again.count_by_kek().unwrap(), vec![("k2".into(), 2)]);
}

#[test]
fn postgres_vault_conforms() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("SKIPPED postgres_vault_conforms: TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("atb_vault_{}", std::process::id());
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
    conformance(&PgVault::open(&url, &schema).unwrap());
    let again = PgVault::open(&url, &schema).unwrap();
    assert_eq!(again.count_by_kek().unwrap(), vec![("k2".into(), 2)]);
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
}

/// NATS: the server at TEST_NATS_URL if set, else a `nats-server -js`
/// started on a free port when the binary is on the machine, else skipped.
#[test]
fn nats_vault_conforms() {
    let mut child = None;
    let _dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("TEST_NATS_URL") {
        Ok(url) => url,
        Err(_) => {
            let binary = ["/usr/sbin", "/usr/local/bin", "/usr/bin"]
                .iter()
                .map(|d| std::path::Path::new(d).join("nats-server"))
                .find(|p| p.is_file());
            let Some(binary) = binary else {
                eprintln!(
                    "SKIPPED nats_vault_conforms: TEST_NATS_URL is not set and no nats-server binary"
                );
                return;
            };
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            child = Some(
                std::process::Command::new(binary)
                    .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
                    .arg(_dir.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            let addr = format!("127.0.0.1:{port}");
            for _ in 0..100 {
                if std::net::TcpStream::connect(&addr).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            format!("nats://{addr}")
        }
    };
    let stream = format!("ATBVAULT{}", std::process::id());
    conformance(&atobarai_store::NatsVault::open(&url, &stream).unwrap());
    let again = atobarai_store::NatsVault::open(&url, &stream).unwrap();
    assert_eq!(again.count_by_kek().unwrap(), vec![("k2".into(), 2)]);
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
}
