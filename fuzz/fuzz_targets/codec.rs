//! Base32 and hex decoding of secrets: never panics, and round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::codec::{
    base32_decode, base32_encode, base32_encoded_len, hex_decode, hex_decode_array, hex_encode,
};

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes encode and decode back to themselves.
    let encoded = base32_encode(data);
    assert_eq!(encoded.len(), base32_encoded_len(data.len()));
    assert_eq!(base32_decode(&encoded).as_deref(), Ok(data));
    assert_eq!(
        base32_decode(&encoded.to_ascii_lowercase()).as_deref(),
        Ok(data)
    );
    let encoded = hex_encode(data);
    assert_eq!(hex_decode(&encoded).as_deref(), Ok(data));
    assert_eq!(
        hex_decode(&encoded.to_ascii_uppercase()).as_deref(),
        Ok(data)
    );

    // Arbitrary text: whatever decodes re-encodes to a canonical form that decodes equal.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = base32_decode(text) {
        assert_eq!(base32_decode(&base32_encode(&bytes)), Ok(bytes));
    }
    match hex_decode(text) {
        Ok(bytes) => {
            let canonical = hex_encode(&bytes);
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(canonical, compact.to_ascii_lowercase());
            assert_eq!(hex_decode(&canonical), Ok(bytes.clone()));
            if let Ok(array) = hex_decode_array::<20>(text) {
                assert_eq!(&array[..], &bytes[..]);
            }
        }
        Err(_) => assert!(hex_decode_array::<20>(text).is_err()),
    }
});
