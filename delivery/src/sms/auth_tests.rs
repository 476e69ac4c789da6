use super::*;

fn response_of(header: &str) -> String {
    let (_, params) = parse_challenges(header).into_iter().next().unwrap();
    params
        .into_iter()
        .find(|(name, _)| name == "response")
        .map(|(_, value)| value)
        .unwrap()
}

/// (row, challenge, username, password, uri, cnonce, expected response). Expected values are
/// the RFC's; the `-sess`, no-qop rows were computed with Python's hashlib.
#[test]
fn digest_vectors() {
    let rfc7616 = |algorithm: &str| {
        format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        )
    };
    let rfc2617 = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let rfc2617_sess = r#"Digest realm="testrealm@host.com", qop="auth", algorithm=MD5-sess, nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#;
    let rfc2069 =
        r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#;
    let cnonce_7616 = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    let rows: Vec<(&str, String, &str, &str)> = vec![
        (
            "RFC 7616 §3.9.1 MD5",
            rfc7616("MD5"),
            cnonce_7616,
            "8ca523f5e9506fed4657c9700eebdbec",
        ),
        (
            "RFC 7616 §3.9.1 SHA-256",
            rfc7616("SHA-256"),
            cnonce_7616,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        (
            "RFC 2617 §3.5",
            rfc2617.into(),
            "0a4f113b",
            "6629fae49393a05397450978507c4ef1",
        ),
        (
            "MD5-sess",
            rfc2617_sess.into(),
            "0a4f113b",
            "8e3825c57e897f5a0dec6c2d4e5059d0",
        ),
        (
            "RFC 2069 (no qop)",
            rfc2069.into(),
            "0a4f113b",
            "670fd8c2df070c60b045671b8b24ff02",
        ),
    ];
    for (row, challenge, cnonce, expected) in rows {
        let password = if row.starts_with("RFC 7616") {
            "Circle of Life"
        } else {
            "Circle Of Life"
        };
        let challenge = DigestChallenge::choose([challenge.as_str()]).unwrap();
        let header =
            challenge.authorization("Mufasa", password, "GET", "/dir/index.html", cnonce, 1);
        assert!(header.starts_with("Digest "), "row {row}: {}", *header);
        assert_eq!(response_of(&header), expected, "row {row}: {}", *header);
    }
}

#[test]
fn digest_header_fields() {
    let challenge = DigestChallenge::choose([
        r#"Digest realm="r\"q", nonce="n", opaque="o", qop="auth", algorithm=SHA-256, userhash=true"#,
    ])
    .unwrap();
    let header = challenge.authorization("Mufasa", "pw", "POST", "/a?b=c", "cn", 2);
    for expected in [
        r#"realm="r\"q""#,
        r#"uri="/a?b=c""#,
        "nc=00000002",
        r#"cnonce="cn""#,
        r#"opaque="o""#,
        "qop=auth",
        "algorithm=SHA-256",
        "userhash=true",
    ] {
        assert!(
            header.contains(expected),
            "missing {expected} in {}",
            *header
        );
    }
    assert!(
        !header.contains("Mufasa"),
        "userhash must hide the user name: {}",
        *header
    );
}

#[test]
fn digest_challenge_choice() {
    let rows: &[(&str, &[&str], Result<DigestAlgorithm, &str>)] = &[
        (
            "prefers SHA-256 over MD5 across headers",
            &[
                r#"Digest realm="r", nonce="1", algorithm=MD5"#,
                r#"Digest realm="r", nonce="2", algorithm=SHA-256"#,
            ],
            Ok(DigestAlgorithm::Sha256),
        ),
        (
            "several challenges in one header",
            &[r#"Basic realm="b", Digest realm="r", nonce="1", qop="auth""#],
            Ok(DigestAlgorithm::Md5),
        ),
        (
            "basic only",
            &[r#"Basic realm="b""#],
            Err("no Digest challenge"),
        ),
        (
            "auth-int only",
            &[r#"Digest realm="r", nonce="1", qop="auth-int""#],
            Err("unsupported Digest qop"),
        ),
        (
            "unknown algorithm",
            &[r#"Digest realm="r", nonce="1", algorithm=SHA-512-256"#],
            Err("unsupported Digest algorithm"),
        ),
        ("no nonce", &[r#"Digest realm="r""#], Err("no nonce")),
    ];
    for (row, headers, expected) in rows {
        let got = DigestChallenge::choose(headers.iter().copied());
        match (got, expected) {
            (Ok(challenge), Ok(algorithm)) => {
                assert_eq!(challenge.algorithm, *algorithm, "row {row}")
            }
            (Err(reason), Err(part)) => assert!(reason.contains(part), "row {row}: {reason}"),
            (got, _) => panic!("row {row}: unexpected {got:?}"),
        }
    }
}

#[test]
fn basic_authorization_rfc7617() {
    // RFC 7617 §2: Aladdin / open sesame.
    assert_eq!(
        *basic_authorization("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
}

/// Signature vectors: OAuth Core 1.0 Appendix A, RFC 5849 §1.2 and §3.4.1 (checked with
/// Python oauthlib's `signature` module), and a UTF-8 / reserved-characters row computed with
/// oauthlib.
#[test]
fn oauth_signature_vectors() {
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
        &'static str,
        &'static str,
        &'static str,
    );
    let photos = vec![("file", "vacation.jpg"), ("size", "original")];
    let with = |mut base: Vec<(&'static str, &'static str)>,
                extra: &[(&'static str, &'static str)]| {
        base.extend_from_slice(extra);
        base
    };
    let rows: Vec<Row> = vec![
        (
            "OAuth Core 1.0 Appendix A",
            "GET",
            "http://photos.example.net/photos",
            with(
                photos.clone(),
                &[
                    ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                    ("oauth_token", "nnch734d00sl2jdk"),
                    ("oauth_signature_method", "HMAC-SHA1"),
                    ("oauth_timestamp", "1191242096"),
                    ("oauth_nonce", "kllo9940pd9333jh"),
                    ("oauth_version", "1.0"),
                ],
            ),
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00",
            "tR3+Ty81lMeYAr/Fid0kMTYa/WM=",
        ),
        (
            "RFC 5849 §1.2",
            "GET",
            "http://photos.example.net/photos",
            with(
                photos,
                &[
                    ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
                    ("oauth_token", "nnch734d00sl2jdk"),
                    ("oauth_signature_method", "HMAC-SHA1"),
                    ("oauth_timestamp", "137131202"),
                    ("oauth_nonce", "chapoH"),
                ],
            ),
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00",
            "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
        ),
        (
            "RFC 5849 §3.4.1",
            "POST",
            "http://example.com/request",
            vec![
                ("b5", "=%3D"),
                ("a3", "a"),
                ("c@", ""),
                ("a2", "r b"),
                ("c2", ""),
                ("a3", "2 q"),
                ("oauth_consumer_key", "9djdj82h48djs9d2"),
                ("oauth_token", "kkk9d7dh3k39sjv7"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "7d8f3e4a"),
            ],
            "j49sk3j29djd",
            "dh893hdasih9",
            "r6/TJjbCOr97/+UU0NsvSne7s5g=",
        ),
        (
            "UTF-8, reserved characters, port, two-legged",
            "GET",
            "http://127.0.0.1:8080/oauth/ok",
            vec![
                ("text", "Olá 123456 & +"),
                ("to", "5511999998888"),
                ("oauth_consumer_key", "sae-consumer"),
                ("oauth_nonce", "abcdef0123456789"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "1700000000"),
                ("oauth_version", "1.0"),
            ],
            "consumer-secret",
            "",
            "GIWDpNJWJ+ds/BJtd+hpY7HUVn8=",
        ),
    ];
    for (row, method, url, params, consumer_secret, token_secret, expected) in rows {
        let url = Url::parse(url).unwrap();
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let base = signature_base_string(method, &url, &params);
        assert_eq!(
            hmac_sha1_signature(&base, consumer_secret, token_secret),
            expected,
            "row {row}: {base}"
        );
    }
}

#[test]
fn rfc5849_base_string() {
    // RFC 5849 §3.4.1.1, the example's signature base string.
    let url = Url::parse("http://example.com/request").unwrap();
    let params: Vec<(String, String)> = [
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("c2", ""),
        ("a3", "2 q"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(
        signature_base_string("post", &url, &params),
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    );
}

#[test]
fn oauth_header_reads_query_and_form_params() {
    let credentials = OAuthCredentials {
        key: "dpf43f3p2l4k3l03".into(),
        secret: "kd94hf93k423kf44".into(),
        token: Some("nnch734d00sl2jdk".into()),
        token_secret: Some("pfkkdhi9sl3r4s00".into()),
    };
    let url = Url::parse("http://photos.example.net/photos?file=vacation.jpg").unwrap();
    let form = [("size".to_owned(), "original".to_owned())];
    let header = oauth_authorization(
        &credentials,
        "GET",
        &url,
        &form,
        "kllo9940pd9333jh",
        1191242096,
    );
    // Same parameters as OAuth Core 1.0 Appendix A, split between query and form body.
    assert!(
        header.contains(r#"oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D""#),
        "{}",
        *header
    );
    assert!(
        header.contains(r#"oauth_token="nnch734d00sl2jdk""#),
        "{}",
        *header
    );
    assert!(header.starts_with("OAuth "), "{}", *header);
}

#[test]
fn encode_is_rfc3986() {
    let rows = [
        ("a b", "a%20b"),
        ("~-._", "~-._"),
        ("+&=", "%2B%26%3D"),
        ("é", "%C3%A9"),
        ("*", "%2A"),
    ];
    for (input, expected) in rows {
        assert_eq!(encode(input), expected, "row {input:?}");
    }
}
