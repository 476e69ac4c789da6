//! Tests of the parent module.

use super::*;

#[test]
fn seal_open_round_trip_and_context_binding() {
    let ring = Keyring::generate("k1");
    let sealed = ring.seal("token:abc", b"secret bytes");
    assert!(sealed.starts_with("k1$"));
    assert!(!sealed.contains("secret"));
    assert_eq!(&**ring.open("token:abc", &sealed).unwrap(), b"secret bytes");
    assert!(matches!(
        ring.open("token:other", &sealed),
        Err(CryptoError::Tampered)
    ));
    let mut flipped = sealed.clone();
    flipped.pop();
    flipped.push(if sealed.ends_with('A') { 'B' } else { 'A' });
    assert!(ring.open("token:abc", &flipped).is_err());
}

#[test]
fn rotation_keeps_old_ciphertexts_readable() {
    let mut ring = Keyring::generate("k1");
    let old = ring.seal("c", b"x");
    ring.add_key("k2").unwrap();
    ring.activate("k2").unwrap();
    let new = ring.seal("c", b"y");
    assert!(new.starts_with("k2$"));
    assert_eq!(&**ring.open("c", &old).unwrap(), b"x");
    let other = Keyring::generate("k1");
    assert!(matches!(other.open("c", &new), Err(CryptoError::UnknownKey(k)) if k == "k2"));
}

#[test]
fn keyring_file_round_trip_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let ring = Keyring::load_or_create(&path).unwrap();
    let sealed = ring.seal("c", b"z");
    let again = Keyring::load_or_create(&path).unwrap();
    assert_eq!(&**again.open("c", &sealed).unwrap(), b"z");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_serving_keyring_reads_the_file_for_an_unknown_key_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let node = serving(Keyring::load_or_create(&path).unwrap(), &path);
    // The operator adds and activates k2; another process seals under it.
    let mut file = Keyring::load(&path).unwrap();
    file.add_key("k2").unwrap();
    file.activate("k2").unwrap();
    file.save(&path).unwrap();
    let sealed = file.seal("c", b"new");
    let mac = file.code_mac("k2", "r", "123456").unwrap();
    assert_eq!(&**node.open("c", &sealed).unwrap(), b"new");
    assert_eq!(node.code_mac("k2", "r", "123456").unwrap(), mac);
    // The node's active key only changes with a full reload.
    assert_eq!(node.active_id(), "k1");
    // A keyring not bound to a file does not look.
    let plain = Keyring::load(&dir.path().join("keyring.json")).unwrap();
    let mut other = Keyring::generate("k1");
    other.add_key("k9").unwrap();
    other.activate("k9").unwrap();
    assert!(matches!(
        plain.open("c", &other.seal("c", b"x")),
        Err(CryptoError::UnknownKey(k)) if k == "k9"
    ));
}

#[test]
fn reload_swaps_the_keyring_and_keeps_it_on_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let shared = RwLock::new(serving(Keyring::load_or_create(&path).unwrap(), &path));
    assert!(!reload(&shared, &path).unwrap());
    let mut file = Keyring::load(&path).unwrap();
    file.add_key("k2").unwrap();
    file.save(&path).unwrap();
    assert!(reload(&shared, &path).unwrap());
    file.activate("k2").unwrap();
    file.save(&path).unwrap();
    assert!(reload(&shared, &path).unwrap());
    assert_eq!(shared.read().unwrap().active_id(), "k2");
    assert!(shared.read().unwrap().source.is_some(), "still serving");
    std::fs::write(&path, b"{not json").unwrap();
    assert!(reload(&shared, &path).is_err());
    assert_eq!(shared.read().unwrap().active_id(), "k2");
    assert!(shared.read().unwrap().seal("c", b"x").starts_with("k2$"));
}

#[test]
fn keyrings_without_creation_times_load_and_ids_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let key = BASE64.encode(&[7u8; 32]);
    std::fs::write(
        &path,
        format!("{{\"active\": \"k1\", \"keys\": {{\"k1\": \"{key}\"}}}}"),
    )
    .unwrap();
    let mut ring = Keyring::load(&path).unwrap();
    assert_eq!(ring.created_at("k1"), None);
    assert_eq!(ring.next_key_id(), "k2");
    for bad in ["", "a$b", "a b", "é", &"x".repeat(33)] {
        assert!(ring.add_key(bad).is_err(), "{bad:?}");
    }
    ring.add_key("2026-q4_main.v1").unwrap();
    assert!(ring.created_at("2026-q4_main.v1").is_some());
    assert!(!format!("{ring:?}").contains(&key), "Debug hides keys");
}

#[test]
fn code_mac_depends_on_request_and_code() {
    let ring = Keyring::generate("k1");
    let a = ring.code_mac("k1", "r1", "123456").unwrap();
    assert_eq!(a, ring.code_mac("k1", "r1", "123456").unwrap());
    assert_ne!(a, ring.code_mac("k1", "r2", "123456").unwrap());
    assert_ne!(a, ring.code_mac("k1", "r1", "123457").unwrap());
}
