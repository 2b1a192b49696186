//! Normalizes a fixed mix of phone numbers in a loop, for profiling.

use std::time::Instant;

use atobarai_identity::{Kind, normalize};

fn main() {
    let inputs = [
        "090-1234-5678",
        "０３－１２３４－５６７８",
        "+81 50 2345 6789",
        "080ー1111ー2222",
    ];
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let _ = normalize(Kind::Phone, inputs[0]);
    let t = Instant::now();
    let mut ok = 0;
    for i in 0..n {
        ok += usize::from(
            normalize(Kind::Phone, inputs[i % inputs.len()])
                .canonical
                .is_some(),
        );
    }
    println!(
        "{n} phones, {:.2} µs each ({ok} valid)",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
