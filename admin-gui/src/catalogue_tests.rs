//! The message catalogues (`assets/js/messages/{en,pt-BR}.js`): the same keys in both
//! languages, the same placeholders in each translation, every key a screen asks for
//! present, and no visible sentence written in a screen's code.

use super::{Assets, asset_names};

/// `key -> value text` of a catalogue (one `"key": value,` per line, as the files are kept).
fn catalogue(name: &str) -> Vec<(String, String)> {
    let file = Assets::get(name).unwrap_or_else(|| panic!("{name} is embedded"));
    String::from_utf8_lossy(&file.data)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix('"')?;
            let (key, value) = rest.split_once("\": ")?;
            Some((key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The `{name}` placeholders of a message, sorted.
fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn both_languages_have_the_same_keys_and_placeholders() {
    let en = catalogue("js/messages/en.js");
    let pt = catalogue("js/messages/pt-BR.js");
    assert!(en.len() > 500, "{} messages", en.len());
    let en_keys: Vec<&String> = en.iter().map(|(k, _)| k).collect();
    let pt_keys: Vec<&String> = pt.iter().map(|(k, _)| k).collect();
    assert_eq!(
        en_keys, pt_keys,
        "en.js and pt-BR.js list the same keys in the same order"
    );
    for ((key, e), (_, p)) in en.iter().zip(&pt) {
        assert_eq!(placeholders(e), placeholders(p), "placeholders of {key}");
        assert_ne!(p.trim(), "\"\",", "{key} is translated");
    }
}

#[test]
fn every_key_a_screen_uses_is_in_the_catalogue() {
    let en: Vec<String> = catalogue("js/messages/en.js")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for name in asset_names() {
        if !name.ends_with(".js") || name.starts_with("js/messages/") {
            continue;
        }
        let file = Assets::get(&name).unwrap_or_else(|| panic!("{name}"));
        let text = String::from_utf8_lossy(&file.data).into_owned();
        for (i, _) in text.match_indices("t('") {
            let before = text[..i].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue; // e.g. `split('`
            }
            let rest = &text[i + 3..];
            let key = rest.split('\'').next().unwrap_or_default();
            assert!(
                en.iter().any(|k| k == key),
                "{name}: t('{key}') is not in the catalogue"
            );
        }
        // Visible text goes through t(): no `text: 'Words'` or `h('p', {}, 'Words')` literals.
        for pattern in ["text: '", "label: '", "text: `"] {
            for (i, _) in text.match_indices(pattern) {
                let lit = &text[i + pattern.len()..];
                let first = lit.chars().next().unwrap_or(' ');
                assert!(
                    !first.is_alphabetic() || lit.starts_with("Hex'") || lit.starts_with("HTTP'"),
                    "{name}: a sentence written in the code: {}",
                    &lit[..lit.len().min(40)]
                );
            }
        }
    }
}
