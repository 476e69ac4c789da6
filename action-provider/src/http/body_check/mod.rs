//! Checks a JSON body against the schema the OpenAPI document gives for it, and names
//! **every** offending field at once (`errors: [{field, detail, rule}]`).
//!
//! Serde stops at the first error of a typed body, so the typed parse alone cannot report
//! all of them. The body is therefore first parsed into a `serde_json::Value` and walked
//! against the schema published at `/openapi.json` (required members, unknown members,
//! types, lengths, patterns, enums, ranges, item counts); only a body that passes is
//! deserialised into its Rust type. The document is thereby also the contract the server
//! enforces: a request the schema refuses is refused, whatever the Rust type would take.
//! Rules the schema cannot say (a wallet that must exist, an e-mail address's syntax) are
//! checked by the service's validators, which collect their problems the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::service::error::{FieldError, Rule};
use crate::service::input::patterns;

/// A request body type and the schema the document gives for it.
pub trait Body: serde::de::DeserializeOwned + 'static {
    /// The schema of the body (as in the OpenAPI document; `$ref`s point into its
    /// components), built once per type. `None`: any JSON value.
    fn schema() -> Option<&'static Value>;
}

/// Implements [`Body`] for types deriving `utoipa::ToSchema`, or (`Type => Doc`) for types of
/// other crates whose schema is described by a documentation type.
#[macro_export]
macro_rules! request_bodies {
    ($($ty:ty $(=> $doc:ty)?),* $(,)?) => {
        $( $crate::request_bodies!(@one $ty $(=> $doc)?); )*
    };
    (@one $ty:ty) => {
        impl $crate::http::body_check::Body for $ty {
            fn schema() -> Option<&'static serde_json::Value> {
                static SCHEMA: std::sync::OnceLock<Option<serde_json::Value>> =
                    std::sync::OnceLock::new();
                SCHEMA
                    .get_or_init(|| serde_json::to_value(<$ty as utoipa::PartialSchema>::schema()).ok())
                    .as_ref()
            }
        }
    };
    (@one $ty:ty => $doc:ty) => {
        impl $crate::http::body_check::Body for $ty {
            fn schema() -> Option<&'static serde_json::Value> {
                static SCHEMA: std::sync::OnceLock<Option<serde_json::Value>> =
                    std::sync::OnceLock::new();
                SCHEMA
                    .get_or_init(|| serde_json::to_value(<$doc as utoipa::PartialSchema>::schema()).ok())
                    .as_ref()
            }
        }
    };
}

impl Body for Value {
    fn schema() -> Option<&'static Value> {
        None
    }
}

/// At most this many problems are answered (a huge wrong body gets a bounded answer).
const MAX_PROBLEMS: usize = 50;

/// The components of the OpenAPI document (for `$ref`s), as JSON.
fn components() -> &'static Map<String, Value> {
    /// The part of the document read here; the rest is skipped without being kept.
    #[derive(serde::Deserialize)]
    struct Doc {
        components: Components,
    }
    #[derive(serde::Deserialize)]
    struct Components {
        schemas: Map<String, Value>,
    }
    static COMPONENTS: OnceLock<Map<String, Value>> = OnceLock::new();
    COMPONENTS.get_or_init(|| {
        serde_json::from_str::<Doc>(super::docs::document())
            .map(|d| d.components.schemas)
            .unwrap_or_default()
    })
}

/// Compiled patterns, by their source.
fn pattern(source: &str) -> Option<Arc<regex::Regex>> {
    // The documented patterns, compiled once; looked up without a lock or an allocation
    // (this runs on every request with a body).
    static KNOWN: OnceLock<HashMap<&'static str, Arc<regex::Regex>>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        patterns::ALL
            .iter()
            .filter_map(|(_, p, _)| Some((*p, Arc::new(regex::Regex::new(p).ok()?))))
            .collect()
    });
    if let Some(re) = known.get(source) {
        return Some(Arc::clone(re));
    }
    static OTHERS: OnceLock<Mutex<HashMap<String, Option<Arc<regex::Regex>>>>> = OnceLock::new();
    let mut others = OTHERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    others
        .entry(source.to_owned())
        .or_insert_with(|| regex::Regex::new(source).ok().map(Arc::new))
        .clone()
}

/// Writes every number with no fractional part (`5.0`, `1e3`) as the integer it is: JSON
/// Schema counts `5.0` as an integer, and JSON clients (JavaScript among them) may send one
/// so. Only values an `f64` holds exactly (up to 2^53) are rewritten.
pub fn whole_numbers(value: &mut Value) {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                #[allow(clippy::cast_possible_truncation, reason = "whole and within 2^53")]
                let whole = f as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(members) => members.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Every problem of `value` under `schema` (empty: the value conforms).
pub fn check(schema: &Value, value: &Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(schema, value, "", &mut out, 0);
    out.truncate(MAX_PROBLEMS);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn field(path: &str) -> String {
    if path.is_empty() {
        ".".to_owned()
    } else {
        path.to_owned()
    }
}

fn resolve(schema: &Value) -> Option<&Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/components/schemas/")
            .and_then(|name| components().get(name)),
        None => Some(schema),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(wanted: &str, v: &Value) -> bool {
    let actual = type_of(v);
    actual == wanted || (wanted == "number" && actual == "integer")
}

/// The expected type in words, for the message.
fn type_words(t: &str) -> &'static str {
    match t {
        "null" => "null",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "an object",
        _ => "a value of another type",
    }
}

fn walk(schema: &Value, value: &Value, path: &str, out: &mut Vec<FieldError>, depth: u32) {
    if depth > 64 || out.len() >= MAX_PROBLEMS {
        return;
    }
    let Some(schema) = resolve(schema) else {
        return;
    };
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            walk(s, value, path, out, depth + 1);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            alternatives(options, value, path, out, depth);
        }
    }
    if !types(schema, value, path, out) {
        return;
    }
    if let Some(wanted) = schema.get("const")
        && wanted != value
    {
        let words = wanted
            .as_str()
            .map_or_else(|| wanted.to_string(), str::to_owned);
        out.push(
            FieldError::new(field(path), format!("must be {words}"))
                .with_rule(Rule::OneOf(vec![words])),
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let words: Vec<String> = allowed
            .iter()
            .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
            .collect();
        let detail = format!("must be one of: {}", words.join(", "));
        out.push(FieldError::new(field(path), detail).with_rule(Rule::OneOf(words)));
        return;
    }
    match value {
        Value::String(s) => string(schema, s, path, out),
        Value::Number(n) => number(schema, n, path, out),
        Value::Array(items) => array(schema, items, path, out, depth),
        Value::Object(members) => object(schema, members, path, out, depth),
        Value::Null | Value::Bool(_) => {}
    }
}

/// Checks `type`; false when it does not match (nothing more to say about the value).
fn types(schema: &Value, value: &Value, path: &str, out: &mut Vec<FieldError>) -> bool {
    let wanted: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    if wanted.iter().any(|t| type_matches(t, value)) {
        return true;
    }
    let main = wanted
        .iter()
        .copied()
        .find(|t| *t != "null")
        .unwrap_or("null");
    let nullable = wanted.contains(&"null") && main != "null";
    let detail = format!(
        "must be {}{}",
        type_words(main),
        if nullable { " (or null)" } else { "" }
    );
    let rule = Rule::Type(match main {
        "boolean" => "boolean",
        "integer" => "integer",
        "number" => "number",
        "string" => "string",
        "array" => "array",
        "object" => "object",
        _ => "null",
    });
    out.push(FieldError::new(field(path), detail).with_rule(rule));
    false
}

/// `oneOf` / `anyOf`: the value must match one option; when none does, the problems of the
/// option meant (the one whose `const` members, e.g. `type: "opie"`, the value has), or else
/// of the option that came closest (fewest problems), are answered.
fn alternatives(
    options: &[Value],
    value: &Value,
    path: &str,
    out: &mut Vec<FieldError>,
    depth: u32,
) {
    // Ranked by: the option the value names (a discriminator), then an option of the value's
    // own type (a string too long is closer to a string option than to `null`), then the
    // fewest problems; the first option wins a tie.
    let mut best: Option<(Rank, Vec<FieldError>)> = None;
    let here = field(path);
    for option in options {
        let mut found = Vec::new();
        walk(option, value, path, &mut found, depth + 1);
        if found.is_empty() {
            return;
        }
        let same_type = !found
            .iter()
            .any(|e| e.field == here && matches!(e.rule, Some(Rule::Type(_))));
        let rank = (
            discriminated(option, value),
            same_type,
            std::cmp::Reverse(found.len()),
        );
        if best.as_ref().is_none_or(|(b, _)| rank > *b) {
            best = Some((rank, found));
        }
    }
    out.extend(best.map(|(_, b)| b).unwrap_or_default());
}

/// How close an option of a `oneOf` came: it names the value, it is of the value's type,
/// fewer problems.
type Rank = (bool, bool, std::cmp::Reverse<usize>);

/// Whether an option of a `oneOf` names the value: it has `const` members (a discriminator)
/// and the value has those members with those values.
fn discriminated(option: &Value, value: &Value) -> bool {
    let Some(option) = resolve(option) else {
        return false;
    };
    let Some(props) = option.get("properties").and_then(Value::as_object) else {
        return option
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|all| all.iter().any(|o| discriminated(o, value)));
    };
    let mut consts = props
        .iter()
        .filter_map(|(k, s)| s.get("const").map(|c| (k, c)))
        .peekable();
    consts.peek().is_some() && consts.all(|(k, c)| value.get(k) == Some(c))
}

fn bound(schema: &Value, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

fn string(schema: &Value, s: &str, path: &str, out: &mut Vec<FieldError>) {
    let chars = s.chars().count() as u64;
    if let Some(min) = bound(schema, "minLength")
        && chars < min
    {
        let detail = if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters long")
        };
        out.push(FieldError::new(field(path), detail).with_rule(Rule::MinLength(min)));
    } else if let Some(max) = bound(schema, "maxLength")
        && chars > max
    {
        out.push(
            FieldError::new(
                field(path),
                format!("must be at most {max} characters long"),
            )
            .with_rule(Rule::MaxLength(max)),
        );
    } else if let Some(p) = schema.get("pattern").and_then(Value::as_str)
        && let Some(re) = pattern(p)
        && !re.is_match(s)
    {
        let known = patterns::ALL.iter().find(|(_, known, _)| *known == p);
        let detail = known.map_or_else(
            || format!("does not have the expected form ({p})"),
            |(name, _, words)| patterns::explain(name, s).unwrap_or_else(|| (*words).to_owned()),
        );
        out.push(FieldError::new(field(path), detail).with_rule(Rule::Pattern(known.map(|k| k.0))));
    }
}

fn number(schema: &Value, n: &serde_json::Number, path: &str, out: &mut Vec<FieldError>) {
    let Some(x) = n.as_f64() else { return };
    let limit = |key: &str| schema.get(key).and_then(Value::as_f64);
    let too_small = limit("minimum")
        .filter(|m| x < *m)
        .or(limit("exclusiveMinimum")
            .filter(|m| x <= *m)
            .map(|m| m + 1.0));
    let too_large = limit("maximum")
        .filter(|m| x > *m)
        .or(limit("exclusiveMaximum")
            .filter(|m| x >= *m)
            .map(|m| m - 1.0));
    let (lo, hi) = (limit("minimum"), limit("maximum"));
    let range = match (lo, hi) {
        (Some(lo), Some(hi)) => format!("must be between {lo} and {hi}"),
        (Some(lo), None) => format!("must be at least {lo}"),
        (None, Some(hi)) => format!("must be at most {hi}"),
        (None, None) => String::new(),
    };
    #[expect(
        clippy::cast_possible_truncation,
        reason = "documented bounds are small whole numbers"
    )]
    if let Some(m) = too_small {
        let detail = if range.is_empty() {
            format!("must be at least {m}")
        } else {
            range
        };
        out.push(FieldError::new(field(path), detail).with_rule(Rule::Minimum(m as i64)));
    } else if let Some(m) = too_large {
        let detail = if range.is_empty() {
            format!("must be at most {m}")
        } else {
            range
        };
        out.push(FieldError::new(field(path), detail).with_rule(Rule::Maximum(m as i64)));
    }
}

fn array(schema: &Value, items: &[Value], path: &str, out: &mut Vec<FieldError>, depth: u32) {
    let n = items.len() as u64;
    if let Some(min) = bound(schema, "minItems")
        && n < min
    {
        out.push(
            FieldError::new(field(path), format!("must have at least {min} items"))
                .with_rule(Rule::MinItems(min)),
        );
    }
    if let Some(max) = bound(schema, "maxItems")
        && n > max
    {
        out.push(
            FieldError::new(field(path), format!("must have at most {max} items"))
                .with_rule(Rule::MaxItems(max)),
        );
        return;
    }
    if let Some(item) = schema.get("items") {
        for (i, v) in items.iter().enumerate() {
            walk(item, v, &format!("{path}[{i}]"), out, depth + 1);
        }
    }
}

fn object(
    schema: &Value,
    members: &Map<String, Value>,
    path: &str,
    out: &mut Vec<FieldError>,
    depth: u32,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !members.contains_key(name) {
                out.push(FieldError::new(join(path, name), "required").with_rule(Rule::Required));
            }
        }
    }
    for (name, v) in members {
        let here = join(path, name);
        match (
            properties.and_then(|p| p.get(name)),
            schema.get("additionalProperties"),
        ) {
            (Some(s), _) => walk(s, v, &here, out, depth + 1),
            (None, Some(Value::Bool(false))) => out.push(
                FieldError::new(here, "is not a field of this request")
                    .with_rule(Rule::UnknownField),
            ),
            (None, Some(extra @ Value::Object(_))) => walk(extra, v, &here, out, depth + 1),
            (None, _) => {}
        }
    }
}

#[cfg(test)]
mod tests;
