//! `sae mail …`: offline mail tools. `scan-bounce FILE…` prints, for each raw message, one
//! JSON line of what SAE reads from it (kind, failed recipients with status and
//! diagnostic, original Message-ID, VERP tag, SAE's tracking) — the same reading the
//! inbound checks apply.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use delivery::email::inbound::bounce::scan_json_line;

/// `sae mail` subcommands.
#[derive(Debug, Subcommand)]
pub enum MailCmd {
    /// Print what SAE reads from raw RFC 5322 messages (e.g. saved bounces), one JSON line
    /// per file. A file that cannot be read is reported on stderr and makes the exit
    /// status 1; the other files are still printed.
    ScanBounce {
        /// The message files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a `sae mail` subcommand.
pub fn run(cmd: &MailCmd) -> ExitCode {
    match cmd {
        MailCmd::ScanBounce { files } => {
            let mut status = ExitCode::SUCCESS;
            for path in files {
                match std::fs::read(path) {
                    Ok(raw) => println!("{}", scan_json_line(&path.to_string_lossy(), &raw)),
                    Err(e) => {
                        eprintln!("sae: {}: {e}", path.display());
                        status = ExitCode::FAILURE;
                    }
                }
            }
            status
        }
    }
}
