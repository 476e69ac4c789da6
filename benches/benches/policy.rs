#![allow(
    clippy::expect_used,
    reason = "benchmark set-up on fixed, valid inputs"
)]
//! Password-policy benchmarks (issue 3), each with a reference measured in the same run.
//!
//! - `effective_rule_50x5`: `AuthsysRules::effective` over 50 AuthSys rules for a user in 5
//!   AuthSys, whose only match is rule 47 (so ~48 × 5 name comparisons) vs the same search
//!   written as a bare nested loop over `&[String]` (the floor for a first-match-wins list).
//! - `strength_strong`: the `strong` preset's password test (length + 4 Unicode-class
//!   patterns) on a passing and a failing password (a message is built for each unmet
//!   requirement) vs one precompiled `regex` `is_match` of `\p{Ll}` on the same password (the
//!   floor per pattern) and vs the same 4 patterns as bare `Regex::is_match` calls plus the
//!   length check (the floor for the whole test).
//! - `strength_custom`: the same for a custom policy (min 12, 5 administrator patterns).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use regex::Regex;
use sae_core::password::{PasswordPolicy, PatternInput, Strength, StrengthLevel};
use sae_core::rules::authsys::{AuthsysId, AuthsysRule, AuthsysRules, RuleSource};

/// Rules in the list.
const RULES: usize = 50;
/// Index of the rule the user matches.
const MATCHED: usize = 47;
/// A password meeting the strong preset and the custom policy below.
const GOOD_PASSWORD: &str = "Tr0ub4dor&3-horse-Battery";
/// A password failing most requirements.
const BAD_PASSWORD: &str = "password";

fn authsys_name(i: usize) -> String {
    format!("ldap-branch-office-{i:02}.corp.example")
}

fn effective_rule(c: &mut Criterion) {
    let rules: Vec<AuthsysRule<PasswordPolicy>> = (0..RULES)
        .map(|i| {
            AuthsysRule::new(
                AuthsysId::new(authsys_name(i)).expect("valid id"),
                PasswordPolicy::default(),
            )
        })
        .collect();
    let rules = AuthsysRules::new(true, rules).expect("distinct ids");
    let global = PasswordPolicy::default();
    // Four names no rule has, then the one of rule 47.
    let user: Vec<String> = (0..4)
        .map(|i| format!("radius-{i}.corp.example"))
        .chain([authsys_name(MATCHED)])
        .collect();
    let (_, source) = rules.effective(&global, &user);
    assert_eq!(
        source,
        RuleSource::Authsys {
            index: MATCHED,
            authsys_id: &authsys_name(MATCHED)
        }
    );
    let names: Vec<String> = (0..RULES).map(authsys_name).collect();
    assert_eq!(first_match(&names, &user), Some(MATCHED));

    let mut group = c.benchmark_group("effective_rule_50x5");
    group.bench_function("sae_effective", |b| {
        b.iter(|| {
            black_box(&rules)
                .effective(black_box(&global), black_box(&user))
                .1
        })
    });
    group.bench_function("reference_nested_loop", |b| {
        b.iter(|| first_match(black_box(&names), black_box(&user)))
    });
    group.finish();
}

/// First-match-wins over a plain list of names.
fn first_match(rules: &[String], user: &[String]) -> Option<usize> {
    rules
        .iter()
        .position(|rule| user.iter().any(|name| name == rule))
}

fn strength_strong(c: &mut Criterion) {
    let strong = Strength::preset(StrengthLevel::Strong);
    assert!(strong.test(GOOD_PASSWORD).is_empty());
    assert_eq!(
        strong.test(BAD_PASSWORD).len(),
        4,
        "length, upper, digit, special"
    );
    let lower = Regex::new(r"\p{Ll}").expect("valid regex");
    let all = regexes(&[r"\p{Ll}", r"\p{Lu}", r"\p{N}", r"[^\p{L}\p{N}]"]);
    let mut group = c.benchmark_group("strength_strong");
    group.bench_function("sae_test_passing", |b| {
        b.iter(|| black_box(&strong).test(black_box(GOOD_PASSWORD)))
    });
    group.bench_function("sae_test_failing", |b| {
        b.iter(|| black_box(&strong).test(black_box(BAD_PASSWORD)))
    });
    group.bench_function("reference_one_regex_is_match", |b| {
        b.iter(|| black_box(&lower).is_match(black_box(GOOD_PASSWORD)))
    });
    group.bench_function("reference_same_4_regexes_is_match", |b| {
        b.iter(|| all_match(black_box(&all), black_box(GOOD_PASSWORD)))
    });
    group.finish();
}

/// Plain `Regex::new` of each pattern.
fn regexes(patterns: &[&str]) -> Vec<Regex> {
    patterns
        .iter()
        .map(|p| Regex::new(p).expect("valid regex"))
        .collect()
}

/// Whether every regex matches, with the length check the strength test also does.
fn all_match(regexes: &[Regex], password: &str) -> bool {
    let chars = password.chars().count();
    (12..=128).contains(&chars) && regexes.iter().all(|r| r.is_match(password))
}

fn strength_custom(c: &mut Criterion) {
    let pattern = |pattern: &str, message: &str| PatternInput {
        pattern: pattern.to_owned(),
        message: message.to_owned(),
    };
    let patterns = [
        r"[0-9].*[0-9]",
        r"[A-Z]",
        r"[a-z]{3}",
        r"[!@#$%^&*()\-_=+]",
        r"^.{12,64}$",
    ];
    let inputs: Vec<PatternInput> = patterns.iter().map(|p| pattern(p, "needs this")).collect();
    let custom = Strength::custom(12, &inputs).expect("valid custom policy");
    let all = regexes(&patterns);
    assert!(custom.test(GOOD_PASSWORD).is_empty());
    assert!(!custom.test(BAD_PASSWORD).is_empty());
    let lower = Regex::new(r"[a-z]{3}").expect("valid regex");
    let mut group = c.benchmark_group("strength_custom");
    group.bench_function("sae_test_passing", |b| {
        b.iter(|| black_box(&custom).test(black_box(GOOD_PASSWORD)))
    });
    group.bench_function("sae_test_failing", |b| {
        b.iter(|| black_box(&custom).test(black_box(BAD_PASSWORD)))
    });
    group.bench_function("reference_one_regex_is_match", |b| {
        b.iter(|| black_box(&lower).is_match(black_box(GOOD_PASSWORD)))
    });
    group.bench_function("reference_same_5_regexes_is_match", |b| {
        b.iter(|| all_match(black_box(&all), black_box(GOOD_PASSWORD)))
    });
    group.finish();
}

criterion_group!(benches, effective_rule, strength_strong, strength_custom);
criterion_main!(benches);
