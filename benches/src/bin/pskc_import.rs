//! The SAE side of the PSKC import benchmark (`benches/pskc/run.sh`): streams a PSKC file
//! through `sae_core::import::pskc::PskcReader` with the pre-shared key given — parse, MAC
//! check and decryption of every key — and fails unless every key imports.
//!
//! ```text
//! cargo run --release -p sae-benches --bin pskc_import -- FILE PSK_HEX
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use sae_core::import::Outcome;
use sae_core::import::pskc::{KeyMaterial, PskcOptions, PskcReader};
use sae_core::secret::Secret;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(psk)) = (args.next(), args.next()) else {
        eprintln!("usage: pskc_import FILE PSK_HEX");
        std::process::exit(2);
    };
    let started = Instant::now();
    let input = BufReader::with_capacity(64 * 1024, File::open(&path).expect("the file opens"));
    let options = PskcOptions {
        key: KeyMaterial::PreSharedKey(Secret::from_hex(&psk).expect("a hex key")),
        skip_bad: false,
    };
    let mut imported = 0u64;
    let mut secret_bytes = 0usize;
    for outcome in PskcReader::new(input, options).expect("the header reads") {
        match outcome.expect("no fatal error") {
            Outcome::Imported { item, .. } => {
                imported += 1;
                secret_bytes += item.secret.byte_len();
            }
            Outcome::Skipped {
                position, reason, ..
            } => panic!("key {position}: {reason}"),
        }
    }
    println!(
        "keys: {imported} ({secret_bytes} secret bytes) in {:.3} s",
        started.elapsed().as_secs_f64()
    );
}
