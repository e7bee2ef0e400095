//! The 2048-bit exponentiations of a key exchange: `cargo bench -p mtcore --bench dh`.
//!
//! g^b through our comb (`FixedBase`) beside crypto-bigint's `BoxedMontyForm::pow`
//! (the comb is kept only while it beats the crate's pow by 1.5x or more), and
//! g_a^b, which is the crate's pow. Rounds alternate between the rows and the
//! minimum of each row is printed, which damps the noise of a shared machine.

use std::hint::black_box;
use std::time::Instant;

use crypto_bigint::modular::BoxedMontyForm;
use crypto_bigint::Resize;
use mtcore::bignum::encoding::{exponent, number, odd_modulus};
use mtcore::bignum::{mod_pow_be, FixedBase};
use mtcore::crypto::dh::TELEGRAM_DH_PRIME;

/// Bytes from a xorshift generator: the bench needs no real randomness.
fn bytes(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

fn main() {
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let mut seed = 0x2048;
    let b = bytes(&mut seed, 256);
    let mut g_a = bytes(&mut seed, 256);
    g_a[0] &= 0x7f;
    let params = odd_modulus(&number(&TELEGRAM_DH_PRIME).unwrap()).unwrap();
    let three = number(&[3]).unwrap().resize(2048);
    let comb = FixedBase::new(&params, &number(&[3]).unwrap(), 2048);
    let b_exp = exponent(&b);
    assert_eq!(
        comb.pow(&b),
        BoxedMontyForm::new(three.clone(), &params)
            .pow(&b_exp)
            .retrieve()
    );

    type Row<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let mut rows: Vec<Row> = vec![
        (
            "g^b comb (FixedBase)",
            Box::new(|| drop(black_box(comb.pow(black_box(&b))))),
        ),
        (
            "g^b pow (BoxedMontyForm)",
            Box::new(|| {
                let g = BoxedMontyForm::new(three.clone(), &params);
                drop(black_box(g.pow(black_box(&b_exp))));
            }),
        ),
        (
            "g_a^b mod_pow_be (bytes in and out)",
            Box::new(|| {
                drop(black_box(mod_pow_be(
                    &g_a,
                    black_box(&b),
                    &TELEGRAM_DH_PRIME,
                )))
            }),
        ),
    ];
    rows.retain(|(name, _)| filter.as_deref().is_none_or(|f| name.contains(f)));
    let mut best = vec![f64::INFINITY; rows.len()];
    for _ in 0..7 {
        for (i, (_, run)) in rows.iter_mut().enumerate() {
            let calls = 40;
            let start = Instant::now();
            for _ in 0..calls {
                run();
            }
            best[i] = best[i].min(start.elapsed().as_secs_f64() * 1e6 / calls as f64);
        }
    }
    for ((name, _), us) in rows.iter().zip(&best) {
        println!("{name:<40} {us:>9.1} us");
    }
    if let (Some(comb), Some(pow)) = (best.first(), best.get(1)) {
        println!("comb / pow for g^b: {:.2}x less time", pow / comb);
    }
}
