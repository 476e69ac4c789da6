//! Return-key checks on JSON answers: a key is a dotted path from the top-level object
//! (`status`, `data.id`); a numeric name indexes an array (`messages.0.id`). A key whose value
//! is `null` is present.

use serde_json::Value;

use crate::sms::config::KeyPath;

/// The configured keys missing from `body`, or why `body` is not JSON.
pub(crate) fn missing_json_keys(body: &str, keys: &[KeyPath]) -> Result<Vec<String>, String> {
    let value: Value = serde_json::from_str(body).map_err(|error| {
        format!("return keys are configured but the answer is not JSON ({error})")
    })?;
    Ok(keys
        .iter()
        .filter(|key| !has_path(&value, key))
        .map(|key| key.as_str().to_owned())
        .collect())
}

fn has_path(value: &Value, key: &KeyPath) -> bool {
    let mut current = value;
    for name in key.segments() {
        let next = match current {
            Value::Object(map) => map.get(name),
            Value::Array(items) => name
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index)),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<KeyPath> {
        list.iter()
            .map(|key| KeyPath::parse("k", key).unwrap())
            .collect()
    }

    #[test]
    fn key_table() {
        let body =
            r#"{"status":"ok","data":{"id":"m-1","parts":[{"n":1}],"none":null},"list":[1,2]}"#;
        let rows: &[(&str, &[&str])] = &[
            ("status", &[]),
            ("data.id", &[]),
            ("data.none", &[]),
            ("data.parts.0.n", &[]),
            ("list.1", &[]),
            ("list.2", &["list.2"]),
            ("data.missing", &["data.missing"]),
            ("status.deeper", &["status.deeper"]),
            ("Status", &["Status"]),
            ("list.x", &["list.x"]),
        ];
        for (key, missing) in rows {
            let got = missing_json_keys(body, &keys(&[key])).unwrap();
            assert_eq!(got, *missing, "row {key}");
        }
    }

    #[test]
    fn several_keys_report_every_missing_one() {
        let got = missing_json_keys(r#"{"a":1}"#, &keys(&["a", "b", "c.d"])).unwrap();
        assert_eq!(got, ["b", "c.d"]);
    }

    #[test]
    fn not_json_is_an_error() {
        let error = missing_json_keys("OK", &keys(&["a"])).unwrap_err();
        assert!(error.contains("not JSON"), "{error}");
    }
}
