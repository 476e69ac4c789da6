//! Canonical logins (SPEC §4.8): keys, skeletons, look-alike detection and the character
//! rule never panic, and agree with each other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::config::{LoginKeys, check_login, confusable, forbidden_in_login, login_key};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `candidate NUL existing`, or one login compared with itself.
    let (a, b) = text.split_once('\0').unwrap_or((text, text));
    for login in [a, b] {
        let key = login_key(login);
        // The key is a fixed point: a lookup by key finds the same row as by login.
        assert_eq!(login_key(&key), key, "{login:?}");
        assert_eq!(LoginKeys::of(login).key, key);
        // What the character rule accepts holds no forbidden character.
        if check_login(login).is_ok() {
            assert!(!login.chars().any(forbidden_in_login), "{login:?}");
        }
        // Nothing is a look-alike of itself or of another spelling of its own key.
        assert!(!confusable(login, login));
        assert!(!confusable(login, &key));
    }
    // Look-alike is symmetric.
    assert_eq!(confusable(a, b), confusable(b, a), "{a:?} / {b:?}");
    // One key, never confusable: `Ana` and `ANA` are the same login, not look-alikes.
    if login_key(a) == login_key(b) {
        assert!(!confusable(a, b));
    }
});
