//! One-time passwords: HOTP, TOTP, OPIE and otpauth:// URIs.

pub mod hotp;
pub mod opie;
pub mod opie_words;
pub mod qr;
pub mod totp;
pub mod uri;
