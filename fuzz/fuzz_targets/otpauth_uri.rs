//! otpauth:// URI parsing: never panics; what parses re-serialises and re-parses equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::otp::OtpAuthUri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = OtpAuthUri::parse(text) else {
        return;
    };
    let printed = uri.to_uri();
    let again = OtpAuthUri::parse(&printed).expect("a printed URI parses");
    assert_eq!(again.kind(), uri.kind());
    assert_eq!(again.issuer(), uri.issuer());
    assert_eq!(again.account(), uri.account());
    assert_eq!(again.algorithm(), uri.algorithm());
    assert_eq!(again.digits(), uri.digits());
    assert_eq!(again.secret().expose_bytes(), uri.secret().expose_bytes());
    assert_eq!(*again.to_uri(), *printed, "printing is canonical");
});
