//! OPIE input: six words, 16 hex digits, or either (auto-detected), plus challenges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::otp::opie::Challenge;
use sae_core::otp::opie_words::{decode_auto, decode_hex, decode_words, format_hex, format_words};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = decode_words(text) {
        // Whatever decodes must re-encode to words that decode to the same value.
        assert_eq!(decode_words(&format_words(v)).ok(), Some(v));
    }
    if let Ok(v) = decode_hex(text) {
        assert_eq!(decode_hex(&format_hex(v)).ok(), Some(v));
    }
    let _ = decode_auto(text);
    if let Ok(c) = text.parse::<Challenge>() {
        let again: Challenge = c.to_string().parse().expect("a printed challenge parses");
        assert_eq!(again.to_string(), c.to_string());
    }
});
