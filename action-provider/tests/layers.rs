//! The layers of `action-provider/src` hold: arrows only downward (http → service → outbox →
//! store, leaves below), no web framework below `http`, no store or diesel in `http`, small
//! files and thin handlers. This reads the sources, so a change that breaks a rule fails CI
//! with the file and line that broke it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a panic is the test failure report"
)]

use std::path::{Path, PathBuf};

/// Largest source file, in lines.
const MAX_FILE_LINES: usize = 600;
/// Longest handler (a `pub async fn` under `http/`), in lines.
const MAX_HANDLER_LINES: usize = 40;

/// A module's rank: code may name modules of a lower rank, or its own top-level module.
fn rank(top: &str) -> Option<u8> {
    Some(match top {
        "clock" | "config" | "crypto" | "metrics" | "proxies" | "timefmt" => 0,
        "store" => 1,
        "outbox" => 2,
        "service" => 3,
        "http" | "cli" => 4,
        _ => return None,
    })
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without its `#[cfg(test)]` module (tests may reach anywhere).
fn code_of(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// `crate::name` mentions in a line, outside comments.
fn crate_paths(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(i, _)| {
            let rest = &code[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn arrows_only_run_downward_and_files_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            broken.push(format!(
                "{}: {lines} lines (at most {MAX_FILE_LINES})",
                rel.display()
            ));
        }
        let Some(own) = rank(&top) else { continue };
        for (n, line) in code_of(&text).lines().enumerate() {
            let at = format!("{}:{}", rel.display(), n + 1);
            for target in crate_paths(line) {
                // Leaves may use each other (the clock formats with timefmt, …).
                if let Some(r) = rank(target)
                    && target != top
                    && (r > own || (r == own && own != 0))
                {
                    broken.push(format!(
                        "{at}: {top} names crate::{target} (upward or sideways)"
                    ));
                }
            }
            let code = line.split("//").next().unwrap_or("");
            if own <= 3 && (code.contains("actix_web") || code.contains("actix::")) {
                broken.push(format!("{at}: {top} uses actix"));
            }
            if top == "http" && (code.contains("diesel") || code.contains("crate::store")) {
                broken.push(format!("{at}: http reaches the store"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layer rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn handlers_are_thin() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = code_of(&text).lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.starts_with("pub async fn ") {
                continue;
            }
            let end = lines[i..]
                .iter()
                .position(|l| *l == "}")
                .map_or(lines.len(), |p| i + p);
            let len = end - i + 1;
            if len > MAX_HANDLER_LINES {
                long.push(format!("{}:{}: {len} lines", file.display(), i + 1));
            }
            for forbidden in ["write_tx!", "pool.get()", "blocking(", ".store."] {
                if lines[i..end].iter().any(|l| l.contains(forbidden)) {
                    long.push(format!(
                        "{}:{}: a handler uses {forbidden}",
                        file.display(),
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "handlers that do too much:\n{}",
        long.join("\n")
    );
}
