//! `sae`: SAE's server and command-line tools. Parses the command line and dispatches; the
//! commands live in `action_provider::cli`.

use std::process::ExitCode;

use action_provider::cli::{Cli, run, usage_error};
use clap::Parser as _;

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
        Err(e) => usage_error(&e),
    }
}
