//! `GET /v1/users` as the console's users screen calls it: the search box (`q`, any unique
//! key), the sorts it offers, paging through `next_cursor`, and the wallet and status
//! filters — on both backends, with the same answers.

use serde_json::{Value, json};

use crate::support::{Server, backends};

fn logins(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap().to_owned())
        .collect()
}

fn get(s: &Server, path: &str) -> Value {
    let r = s.admin("GET", path, None);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

/// Every page of a listing, walking `next_cursor` one user at a time.
fn walk(s: &Server, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(s, &format!("/v1/users?limit=1&{query}{cursor}"));
        out.extend(logins(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

#[test]
fn search_sorts_pages_and_filters() {
    for backend in backends() {
        let s = Server::start(backend);
        for w in ["w1", "w2"] {
            let r = s.admin("POST", "/v1/wallets", Some(&json!({ "name": w })));
            assert_eq!(r.status, 201, "{}", r.body);
        }
        for user in [
            json!({"login": "Alice", "name": "Zed", "email": "Alice@Example.com",
                   "document": "123.456.789-01", "mobile": "+55 11 98765-0001", "wallet": "w2"}),
            json!({"login": "alfred", "name": "Amy", "email": "fred@example.com", "wallet": "w1"}),
            json!({"login": "al_x", "name": "Bea"}),
            json!({"login": "bob", "email": "bob@example.com", "wallet": "w1"}),
        ] {
            let r = s.admin("POST", "/v1/users", Some(&user));
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let search = |q: &str| logins(&get(&s, &format!("/v1/users?sort=login&q={q}")));
        // A login prefix, case-insensitively (the login's canonical key), with `_` and `%`
        // taken literally.
        assert_eq!(search("AL"), ["Alice", "al_x", "alfred"], "{backend:?}");
        assert_eq!(search("al_"), ["al_x"], "{backend:?}");
        assert_eq!(search("al%25"), Vec::<String>::new(), "{backend:?}");
        assert_eq!(search("alice"), ["Alice"], "{backend:?}");
        // The other unique keys, compared normalised.
        assert_eq!(search("alice@example.COM"), ["Alice"], "{backend:?}");
        assert_eq!(search("12345678901"), ["Alice"], "{backend:?}");
        assert_eq!(search("%2B5511987650001"), ["Alice"], "{backend:?}");
        assert_eq!(search("zz"), Vec::<String>::new(), "{backend:?}");
        let prefix = logins(&get(&s, "/v1/users?login_prefix=ALF"));
        assert_eq!(prefix, ["alfred"], "{backend:?}");

        // Each sort, paged one user at a time, and newest first.
        assert_eq!(
            walk(&s, "sort=login"),
            ["Alice", "al_x", "alfred", "bob"],
            "{backend:?}"
        );
        assert_eq!(
            walk(&s, "sort=-login"),
            ["bob", "alfred", "al_x", "Alice"],
            "{backend:?}"
        );
        assert_eq!(
            walk(&s, "sort=-created"),
            ["bob", "al_x", "alfred", "Alice"],
            "{backend:?}"
        );
        // Users without the value last (first descending), on both backends; descending
        // is the exact reverse.
        for (sort, expected) in [
            ("name", ["alfred", "al_x", "Alice", "bob"]),
            ("email", ["Alice", "bob", "alfred", "al_x"]),
            ("wallet", ["alfred", "bob", "Alice", "al_x"]),
        ] {
            assert_eq!(
                walk(&s, &format!("sort={sort}")),
                expected,
                "{backend:?} {sort}"
            );
            let mut reversed = expected;
            reversed.reverse();
            assert_eq!(
                walk(&s, &format!("sort=-{sort}")),
                reversed,
                "{backend:?} -{sort}"
            );
        }
        // A cursor names the last user of its page; once that user is deleted, it names
        // nothing (404 on the field).
        let first = get(&s, "/v1/users?limit=1&sort=name");
        assert_eq!(logins(&first), ["alfred"]);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        assert_eq!(s.admin("DELETE", "/v1/users/alfred", None).status, 204);
        let r = s.admin(
            "GET",
            &format!("/v1/users?limit=1&sort=name&cursor={cursor}"),
            None,
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (404, json!("cursor")),
            "{backend:?}: {}",
            r.body
        );

        // The wallet and status filters.
        assert_eq!(
            logins(&get(&s, "/v1/users?wallet=w1&sort=-created")),
            ["bob"],
            "{backend:?}"
        );
        let r = s.admin("PATCH", "/v1/users/bob", Some(&json!({"disabled": true})));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(logins(&get(&s, "/v1/users?status=disabled")), ["bob"]);
        assert_eq!(
            logins(&get(&s, "/v1/users?status=active&sort=login")),
            ["Alice", "al_x"],
            "{backend:?}"
        );
        assert!(logins(&get(&s, "/v1/users?status=locked")).is_empty());
    }
}

/// A search matching many users (past the store's probe of 1,000) is read in the order's
/// index; one matching few, through the keys' indexes: the same answers either way.
#[test]
fn broad_and_narrow_searches_answer_alike() {
    for backend in backends() {
        let s = Server::start(backend);
        let mut csv = String::from("login,email\n");
        for i in 0..1200 {
            csv.push_str(&format!("m{i:04},m{i}@example.com\n"));
        }
        let job = crate::api::imports::import(&s, "/v1/users/import", &[], &csv);
        assert_eq!(job["state"], "done", "{job}");
        let r = s.admin("POST", "/v1/users", Some(&json!({"login": "other"})));
        assert_eq!(r.status, 201, "{}", r.body);
        // Broad: every `m` user, newest first, by login, by e-mail, and a later page.
        let page = get(&s, "/v1/users?q=M&sort=-created&limit=3");
        assert_eq!(logins(&page), ["m1199", "m1198", "m1197"], "{backend:?}");
        let cursor = page["next_cursor"].as_str().unwrap();
        let next = get(
            &s,
            &format!("/v1/users?q=M&sort=-created&limit=2&cursor={cursor}"),
        );
        assert_eq!(logins(&next), ["m1196", "m1195"], "{backend:?}");
        let page = get(&s, "/v1/users?q=m&sort=-login&limit=2");
        assert_eq!(logins(&page), ["m1199", "m1198"], "{backend:?}");
        let page = get(&s, "/v1/users?login_prefix=m&sort=created&limit=2");
        assert_eq!(logins(&page), ["m0000", "m0001"], "{backend:?}");
        // Narrow: ten users, and one by e-mail.
        let page = get(&s, "/v1/users?q=m042&sort=-created&limit=20");
        let expected: Vec<String> = (0..10).rev().map(|i| format!("m042{i}")).collect();
        assert_eq!(logins(&page), expected, "{backend:?}");
        let page = get(&s, "/v1/users?q=m7@example.com");
        assert_eq!(logins(&page), ["m0007"], "{backend:?}");
    }
}
