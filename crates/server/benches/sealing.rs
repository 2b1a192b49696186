//! Criterion: what sealing personal data costs a registration (issue 12,
//! item 4), in the shell before the command is submitted:
//!
//! - `seal/memory_vault`: the keyed idempotency fingerprint, a random data
//!   key and nonce, XChaCha20-Poly1305 over the six personal fields, the
//!   key wrapped with the keyring's KEK, kept in an in-memory vault: the
//!   crypto alone.
//! - `seal/sqlite_vault`: the same with the data key written durably to
//!   `vault.sqlite` (WAL, `synchronous=FULL`): what `atobarai serve` pays
//!   per registration on the embedded store.
//! - `open/memory_vault`: an operator's read of the personal data.
//!
//! `cargo bench -p atobarai-server --bench sealing`

use atobarai_core::{JstDate, PaymentMethod};
use atobarai_engine::{Command, CustomerProfile, Envelope, IdentityKeys};
use atobarai_server::IdentitySecret;
use atobarai_server::privacy::{Keyring, Privacy};
use atobarai_store::{MemoryVault, SqliteVault};
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn clear(n: u64) -> Command {
    Command::RegisterCustomer {
        merchant: 0,
        profile: CustomerProfile {
            external_id: format!("c-{n}"),
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: JstDate::parse("1990-04-01").unwrap(),
            phone: "+819012345678".into(),
            email: "taro@example.jp".into(),
            postal_code: "100-0013".into(),
            address: "東京都千代田区霞が関1-3-1 霞ビル101".into(),
        },
        payment_method: PaymentMethod::ConvenienceStore,
        identity: IdentityKeys::default(),
    }
}

fn record_len(command: Command) -> usize {
    Envelope {
        at: Default::default(),
        idem: None,
        command,
    }
    .encode()
    .len()
}

fn bench(c: &mut Criterion) {
    let secret = IdentitySecret::new("bench-secret");
    let today = JstDate::parse("2026-06-10").unwrap();
    let memory = Privacy::new(Keyring::generate("k1"), Arc::new(MemoryVault::new()));
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Privacy::new(
        Keyring::generate("k1"),
        Arc::new(SqliteVault::open_dir(dir.path()).unwrap()),
    );
    let sealed = memory
        .seal_registration(clear(0), &secret, today, 18)
        .unwrap();
    eprintln!(
        "journal record: clear {} bytes, sealed {} bytes",
        record_len(clear(0)),
        record_len(sealed.command.clone())
    );
    let Command::RegisterSealedCustomer { profile, .. } = sealed.command else {
        unreachable!()
    };

    let mut g = c.benchmark_group("seal");
    let mut n = 0u64;
    g.bench_function("memory_vault", |b| {
        b.iter(|| {
            n += 1;
            memory
                .seal_registration(clear(n), &secret, today, 18)
                .unwrap()
        })
    });
    g.bench_function("sqlite_vault", |b| {
        b.iter(|| {
            n += 1;
            sqlite
                .seal_registration(clear(n), &secret, today, 18)
                .unwrap()
        })
    });
    g.finish();
    c.bench_function("open/memory_vault", |b| {
        b.iter(|| memory.open(&profile.pii).unwrap())
    });
    c.bench_function("clear_command_only", |b| {
        b.iter(|| {
            n += 1;
            clear(n).fingerprint()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
