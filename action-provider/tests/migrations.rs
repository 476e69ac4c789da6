//! The SQLite and PostgreSQL migration trees must have the same migrations, by name.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_do_not_drift() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let sqlite = names(&root.join("sqlite"));
    let postgres = names(&root.join("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migration folders differ between backends"
    );
    for name in &sqlite {
        for file in ["up.sql", "down.sql"] {
            assert!(
                root.join("sqlite").join(name).join(file).exists(),
                "sqlite/{name}/{file}"
            );
            assert!(
                root.join("postgres").join(name).join(file).exists(),
                "postgres/{name}/{file}"
            );
        }
    }
}
