//! `sae otp`: compute HOTP, TOTP and OPIE codes from given parameters, like oathtool.
//!
//! The code alone goes to stdout. Bad input exits with status 2 and one line on stderr that
//! names the argument; nothing is printed on stdout then. Numeric options accept a leading
//! `-`, so that `--counter -1` is refused by the number parser, naming the option, rather
//! than by clap as an unexpected argument.

use std::process::ExitCode;

use sae_core::otp::opie::{self, Count, PassPhrase, Seed};
use sae_core::otp::{Algorithm, Digits, Hotp, TimeStep, Totp, format_code};
use sae_core::secret::Secret;

/// `sae otp …`
#[derive(Debug, clap::Subcommand)]
pub enum OtpCmd {
    /// HOTP (RFC 4226) for one counter value.
    Hotp {
        /// The shared secret.
        #[command(flatten)]
        secret: SecretArgs,
        /// The counter value, 0..=18446744073709551615.
        #[arg(long, allow_negative_numbers = true)]
        counter: String,
        /// Code length, 6..=10.
        #[arg(long, allow_negative_numbers = true, default_value = "6")]
        digits: String,
        /// sha1, sha256 or sha512.
        #[arg(long, default_value = "sha1")]
        algorithm: String,
    },
    /// TOTP (RFC 6238) for a time (default: now).
    Totp {
        /// The shared secret.
        #[command(flatten)]
        secret: SecretArgs,
        /// Unix time in seconds (default: now).
        #[arg(long, allow_negative_numbers = true)]
        time: Option<String>,
        /// Time step in seconds.
        #[arg(long, allow_negative_numbers = true, default_value = "30")]
        step: String,
        /// Start of the first step, unix seconds.
        #[arg(long, allow_negative_numbers = true, default_value = "0")]
        t0: String,
        /// Code length, 6..=10.
        #[arg(long, allow_negative_numbers = true, default_value = "6")]
        digits: String,
        /// sha1, sha256 or sha512.
        #[arg(long, default_value = "sha1")]
        algorithm: String,
    },
    /// OPIE / S/KEY (RFC 2289) one-time password, or a printed list of them.
    Opie {
        /// md4, md5 or sha1.
        #[arg(long)]
        algorithm: String,
        /// Seed: 1 to 16 letters or digits.
        #[arg(long)]
        seed: String,
        /// Sequence number N (hash iterations after the first).
        #[arg(long, allow_negative_numbers = true)]
        count: String,
        /// Secret pass phrase, 10 to 63 characters.
        #[arg(long)]
        passphrase: String,
        /// `hex` (16 lower-case hex digits) or `words` (six upper-case words).
        #[arg(long, default_value = "hex")]
        format: String,
        /// Print the next K one-time passwords (N-1 … N-K) as `N-i: <otp>` lines.
        #[arg(long, allow_negative_numbers = true)]
        list: Option<String>,
    },
    /// Decode six OPIE words (checksum verified) to 16 hex digits.
    OpieDecode {
        /// The six words, any case and spacing.
        words: String,
    },
}

/// A secret given as hex or as base32 (exactly one).
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct SecretArgs {
    /// The secret as hex digits.
    #[arg(long)]
    secret_hex: Option<String>,
    /// The secret as base32 (RFC 4648; case, spaces and padding tolerated).
    #[arg(long)]
    secret_base32: Option<String>,
}

/// A usage error: the argument and why.
struct Bad(String);

fn bad(arg: &str, why: impl std::fmt::Display) -> Bad {
    Bad(format!("{arg}: {why}"))
}

/// Runs an `sae otp` command; exit status 0, or 2 on bad input.
pub fn run(cmd: &OtpCmd) -> ExitCode {
    match compute(cmd) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(Bad(message)) => {
            eprintln!("sae otp: {message}");
            ExitCode::from(2)
        }
    }
}

fn secret(args: &SecretArgs) -> Result<Secret, Bad> {
    match (&args.secret_hex, &args.secret_base32) {
        (Some(hex), _) => Secret::from_hex(hex).map_err(|e| bad("--secret-hex", e)),
        (None, Some(b32)) => Secret::from_base32(b32).map_err(|e| bad("--secret-base32", e)),
        (None, None) => Err(bad("--secret-hex", "give --secret-hex or --secret-base32")),
    }
}

fn number<T: std::str::FromStr>(arg: &str, value: &str) -> Result<T, Bad> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(arg, format!("{value:?} is not a valid number")))
}

fn hmac_params(digits: &str, algorithm: &str) -> Result<(Digits, Algorithm), Bad> {
    let digits = Digits::new(number("--digits", digits)?).map_err(|e| bad("--digits", e))?;
    let algorithm = algorithm
        .parse::<Algorithm>()
        .map_err(|e| bad("--algorithm", e))?;
    Ok((digits, algorithm))
}

fn compute(cmd: &OtpCmd) -> Result<Vec<String>, Bad> {
    match cmd {
        OtpCmd::Hotp {
            secret: s,
            counter,
            digits,
            algorithm,
        } => {
            let (digits, algorithm) = hmac_params(digits, algorithm)?;
            let counter: u64 = number("--counter", counter)?;
            let hotp = Hotp::new(&secret(s)?, algorithm, digits);
            Ok(vec![
                format_code(hotp.generate(counter), digits)
                    .as_str()
                    .to_owned(),
            ])
        }
        OtpCmd::Totp {
            secret: s,
            time,
            step,
            t0,
            digits,
            algorithm,
        } => {
            let (digits, algorithm) = hmac_params(digits, algorithm)?;
            let step = TimeStep::new(number("--step", step)?).map_err(|e| bad("--step", e))?;
            let t0: u64 = number("--t0", t0)?;
            let time: u64 = match time {
                Some(t) => number("--time", t)?,
                None => crate::clock::Clock::now(&crate::clock::SystemClock).core_secs(),
            };
            let totp = Totp::new(&secret(s)?, algorithm, digits, step, t0);
            let code = totp.generate(time).map_err(|e| bad("--time", e))?;
            Ok(vec![format_code(code, digits).as_str().to_owned()])
        }
        OtpCmd::Opie {
            algorithm,
            seed,
            count,
            passphrase,
            format,
            list,
        } => {
            let algorithm: opie::Algorithm =
                algorithm.parse().map_err(|e| bad("--algorithm", e))?;
            let seed = Seed::new(seed).map_err(|e| bad("--seed", e))?;
            let count = Count::new(number("--count", count)?).map_err(|e| bad("--count", e))?;
            let passphrase =
                PassPhrase::new(passphrase.as_str()).map_err(|e| bad("--passphrase", e))?;
            let words = match format.as_str() {
                "hex" => false,
                "words" => true,
                other => return Err(bad("--format", format!("{other:?} is not hex or words"))),
            };
            let show = |otp: opie::Otp| if words { otp.to_words() } else { otp.to_hex() };
            match list {
                None => Ok(vec![show(opie::compute(
                    algorithm,
                    &seed,
                    &passphrase,
                    count,
                ))]),
                Some(k) => {
                    let k: u64 = number("--list", k)?;
                    let entries = opie::generate_list(algorithm, &seed, &passphrase, count, k)
                        .map_err(|e| bad("--list", e))?;
                    Ok(entries
                        .iter()
                        .map(|e| format!("{}: {}", e.sequence(), show(e.otp())))
                        .collect())
                }
            }
        }
        OtpCmd::OpieDecode { words } => {
            let value =
                sae_core::otp::opie_words::decode_words(words).map_err(|e| bad("WORDS", e))?;
            Ok(vec![sae_core::otp::opie_words::format_hex(value)])
        }
    }
}
