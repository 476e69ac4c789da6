//! Administrator password patterns (custom strength) and stored password hashes, from
//! arbitrary input: never panic.
//! Input: byte 0 = min_length, then one pattern per line; the same text is also parsed as a
//! stored hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::password::{PatternInput, StoredHash, Strength};

fuzz_target!(|data: &[u8]| {
    let Some((&min_length, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let patterns: Vec<PatternInput> = text
        .split('\n')
        .take(12)
        .map(|pattern| PatternInput {
            pattern: pattern.to_owned(),
            message: "needs it".to_owned(),
        })
        .collect();
    if let Ok(strength) = Strength::custom(u32::from(min_length), &patterns) {
        let _ = strength.test(text);
        let _ = strength.test("Tr0ub4dor&3");
        // What compiled once compiles again from its JSON form, to the same rule.
        let again = Strength::custom(u32::from(min_length), &strength.custom_patterns())
            .expect("a valid custom rule re-validates");
        assert_eq!(again, strength);
    }
    if let Ok(hash) = StoredHash::parse(text) {
        assert_eq!(hash.as_str(), text);
        let _ = hash.scheme();
        let _ = hash.is_legacy();
        assert!(StoredHash::parse(hash.as_str()).is_ok_and(|again| again == hash));
    }
});
