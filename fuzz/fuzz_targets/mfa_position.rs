//! AuthValue content selection by an MFA rule's position (JSON key or CSV column).
//! Input: `position NUL content`; the first byte also picks a CSV column directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::rules::position::{Position, csv_field, select};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (position, content) = text.split_once('\0').unwrap_or((text, ""));
    let column = usize::from(data.first().copied().unwrap_or(0) % 8);
    if let Ok(selected) = csv_field(content, column) {
        // A field is at most the line (quotes only shrink when unescaped).
        assert!(selected.as_str().len() <= content.len());
    }
    if let Ok(selected) = csv_field(text, column) {
        assert!(selected.as_str().len() <= text.len());
    }
    match Position::new(position) {
        Ok(Some(position)) => {
            // Only an all-digit position names a CSV column, and then the number it spells.
            let digits = position.as_str().bytes().all(|b| b.is_ascii_digit());
            if let Some(column) = position.column() {
                assert!(digits);
                assert_eq!(position.as_str().parse::<usize>().ok(), Some(column));
            }
            let _ = select(content, Some(&position));
        }
        Ok(None) => {
            let whole = select(content, None).expect("no position selects everything");
            assert_eq!(whole.as_str(), content);
        }
        Err(_) => {}
    }
});
