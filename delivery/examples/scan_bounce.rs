//! Prints what SAE reads from raw messages, one JSON line per file:
//! `cargo run -p delivery --example scan_bounce -- FILE…` (the same output as
//! `sae mail scan-bounce FILE…`).

use std::process::ExitCode;

use delivery::email::inbound::bounce;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for path in std::env::args_os().skip(1) {
        match std::fs::read(&path) {
            Ok(raw) => println!("{}", bounce::scan_json_line(&path.to_string_lossy(), &raw)),
            Err(e) => {
                eprintln!("{}: {e}", path.to_string_lossy());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
