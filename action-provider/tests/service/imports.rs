//! Inventory, known secrets, HOTP resynchronisation and import jobs, in-process on every
//! backend with a manual clock. The crash of an importing node is simulated exactly: the
//! engine's progress callback panics after the first committed batch, leaving the job as a
//! killed process leaves it (running, leased, half its rows pending); the clock then moves
//! past the lease and another node's worker takes it over.

use std::io::BufReader;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use action_provider::service::decision::Reason;
use action_provider::service::enrol::Enrol;
use action_provider::service::import::engine::{self, End, Env, Run};
use action_provider::service::import::items;
use action_provider::service::import::source::ChunkReader;
use action_provider::service::import::tokens::TokenImporter;
use action_provider::service::import::upload::{ImportForm, Upload};
use action_provider::service::import::{self, JobKind, LocalImport, Params, worker};
use action_provider::service::input::Login;
use action_provider::service::inventory::{self, Assign, InventoryFilter};
use action_provider::service::page::PageRequest;
use action_provider::service::resync::{self, Resync};
use action_provider::service::{tokens, users};
use action_provider::store::jobs::Progress;
use delivery::SecretString;
use sae_core::import::pskc::KeyMaterial;
use sae_core::otp::{Algorithm, Digits, Hotp};
use sae_core::secret::Secret;

use super::gate::{otp_failures_of, validate_code};
use super::harness::{Database, Node, admin_caller, app_caller, clock, each_backend};

const SECRET_HEX: &str = "3132333435363738393031323334353637383930";

fn login(l: &str) -> Login {
    Login::parse(l.to_owned()).unwrap()
}

async fn create_user(node: &Node, name: &str) {
    let body: users::CreateUser =
        serde_json::from_value(serde_json::json!({ "login": name })).unwrap();
    users::create(&node.state, &admin_caller(), body)
        .await
        .unwrap();
}

fn hotp_code(counter: u64) -> String {
    let hotp = Hotp::new(
        &Secret::from_hex(SECRET_HEX).unwrap(),
        Algorithm::Sha1,
        Digits::new(6).unwrap(),
    );
    format!("{:06}", hotp.generate(counter))
}

/// A CSV in SAE's layout: `n` HOTP tokens with serials `S0..`, the RFC 4226 secret.
fn csv_tokens(n: usize, login: Option<&str>) -> String {
    let mut out = String::from("serial,type,secret_hex,login\n");
    for i in 0..n {
        out.push_str(&format!("S{i},hotp,{SECRET_HEX},{}\n", login.unwrap_or("")));
    }
    out
}

async fn local(
    state: &Node,
    kind: JobKind,
    text: &str,
    dry_run: bool,
    skip_bad: bool,
) -> (String, End) {
    let policies = state.state.policies().await.unwrap();
    let import = LocalImport {
        kind,
        params: Params {
            format: None,
            dry_run,
            skip_bad,
            file_name: None,
        },
        key: KeyMaterial::None,
        actor: "test".into(),
        bytes_total: text.len() as i64,
    };
    import::import_local(
        &state.state,
        policies,
        BufReader::new(text.as_bytes()),
        import,
        &mut |_| {},
    )
    .unwrap()
}

/// The whole inventory (every page), as JSON.
async fn inventory(node: &Node, assigned: Option<bool>) -> Vec<serde_json::Value> {
    let filter = InventoryFilter {
        assigned,
        ..InventoryFilter::default()
    };
    let mut all = Vec::new();
    let mut req = PageRequest::first(PageRequest::MAX);
    loop {
        let page = inventory::list(&node.state, &admin_caller(), filter.clone(), req)
            .await
            .unwrap();
        all.extend(
            page.items
                .into_iter()
                .map(|t| serde_json::to_value(t).unwrap()),
        );
        match page.next_cursor {
            Some(cursor) => req.cursor = cursor,
            None => return all,
        }
    }
}

#[actix_web::test]
async fn a_known_secret_is_not_echoed_and_validates_its_codes() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        create_user(&node, "alice").await;
        let enrol = Enrol {
            kind: "hotp".into(),
            secret_hex: Some(SecretString::new(SECRET_HEX.into())),
            counter: Some(5),
            serial: Some("HW-1".into()),
            ..Enrol::default()
        };
        let answer = tokens::enrol(&node.state, &admin_caller(), login("alice"), enrol)
            .await
            .unwrap();
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["serial"], "HW-1", "{backend:?}");
        for absent in ["secret_base32", "otpauth_uri", "qr_svg"] {
            assert!(
                json.get(absent).is_none(),
                "{backend:?}: {absent} echoed: {json}"
            );
        }
        // The counter given is the next one: code 4 counts as spent, code 5 is accepted.
        assert_eq!(
            validate_code(&node, "alice", &hotp_code(4)).await.reason,
            Some(Reason::Replayed)
        );
        assert!(
            validate_code(&node, "alice", &hotp_code(5)).await.valid,
            "{backend:?}"
        );
        // Bad known secrets are refused naming the field.
        for (body, field) in [
            (
                serde_json::json!({"type": "totp", "secret_hex": "zz"}),
                "secret_hex",
            ),
            (
                serde_json::json!({"type": "totp", "secret_hex": "00ff"}),
                "secret_hex",
            ),
            (
                serde_json::json!({"type": "totp", "secret_base32": "JBSWY3DPEHPK3PXP", "secret_hex": SECRET_HEX}),
                "secret_base32",
            ),
            (serde_json::json!({"type": "totp", "digits": 11}), "digits"),
            (serde_json::json!({"type": "totp", "period": 0}), "period"),
            (serde_json::json!({"type": "totp", "counter": 3}), "counter"),
            (
                serde_json::json!({"type": "hotp", "serial": "HW-1"}),
                "serial",
            ),
        ] {
            let enrol: Enrol = serde_json::from_value(body.clone()).unwrap();
            let err = tokens::enrol(&node.state, &admin_caller(), login("alice"), enrol)
                .await
                .unwrap_err();
            let text = format!("{err:?}");
            assert!(
                text.contains(&format!("\"{field}\"")),
                "{backend:?} {body}: {text}"
            );
            assert!(!text.contains("3132333435"), "a secret in an error: {text}");
        }
    }
}

#[actix_web::test]
async fn assigning_keeps_the_replay_state_and_unassigned_tokens_validate_nothing() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        create_user(&node, "alice").await;
        create_user(&node, "bob").await;
        let (_, end) = local(&node, JobKind::Tokens, &csv_tokens(2, None), false, false).await;
        assert!(
            matches!(end, End::Done(p) if p.imported == 2),
            "{backend:?}: {end:?}"
        );
        assert_eq!(inventory(&node, Some(false)).await.len(), 2);
        let assign = |who: &str| Assign { login: login(who) };
        inventory::assign(&node.state, &admin_caller(), "S0".into(), assign("alice"))
            .await
            .unwrap();
        let again =
            inventory::assign(&node.state, &admin_caller(), "S0".into(), assign("bob")).await;
        assert!(
            format!("{again:?}").contains("AlreadyAssigned"),
            "{again:?}"
        );
        assert!(validate_code(&node, "alice", &hotp_code(0)).await.valid);
        inventory::unassign(&node.state, &admin_caller(), "S0".into())
            .await
            .unwrap();
        assert_eq!(
            validate_code(&node, "alice", &hotp_code(1)).await.reason,
            Some(Reason::NoToken)
        );
        inventory::assign(&node.state, &admin_caller(), "S0".into(), assign("bob"))
            .await
            .unwrap();
        // Bob gets the token as it was: code 0 is spent, code 1 is next.
        assert_eq!(
            validate_code(&node, "bob", &hotp_code(0)).await.reason,
            Some(Reason::Replayed)
        );
        assert!(validate_code(&node, "bob", &hotp_code(1)).await.valid);
        let listed = inventory(&node, Some(true)).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["login"], "bob");
        assert!(
            listed[0].get("secret_enc").is_none() && !listed[0].to_string().contains(SECRET_HEX)
        );
        inventory::delete(&node.state, &admin_caller(), "S1".into())
            .await
            .unwrap();
        assert_eq!(inventory(&node, None).await.len(), 1, "{backend:?}");
    }
}

#[actix_web::test]
async fn resync_moves_the_counter_and_a_failed_resync_is_an_otp_failure() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        create_user(&node, "carol").await;
        let enrol = Enrol {
            kind: "hotp".into(),
            secret_hex: Some(SecretString::new(SECRET_HEX.into())),
            ..Enrol::default()
        };
        let id = tokens::enrol(&node.state, &admin_caller(), login("carol"), enrol)
            .await
            .unwrap()
            .id;
        // Counter 50 is beyond the look-ahead of a validation...
        assert_eq!(
            validate_code(&node, "carol", &hotp_code(50)).await.reason,
            Some(Reason::InvalidCode)
        );
        let before = otp_failures_of(&node, "carol").await;
        let pair = |a: u64, b: u64| Resync {
            code1: SecretString::new(hotp_code(a)),
            code2: SecretString::new(hotp_code(b)),
        };
        // ...a wrong pair is refused and counted...
        let bad = resync::resync(
            &node.state,
            &app_caller(),
            login("carol"),
            id.clone(),
            pair(50, 52),
        )
        .await
        .unwrap();
        assert_eq!(bad.reason, Some(Reason::InvalidCode), "{backend:?}");
        assert_eq!(otp_failures_of(&node, "carol").await, before + 1);
        // ...two consecutive codes resynchronise, once.
        let good = resync::resync(
            &node.state,
            &app_caller(),
            login("carol"),
            id.clone(),
            pair(50, 51),
        )
        .await
        .unwrap();
        assert!(good.valid, "{backend:?}: {good:?}");
        assert_eq!(otp_failures_of(&node, "carol").await, 0);
        let replay = resync::resync(
            &node.state,
            &app_caller(),
            login("carol"),
            id.clone(),
            pair(50, 51),
        )
        .await
        .unwrap();
        assert_eq!(replay.reason, Some(Reason::Replayed));
        assert_eq!(
            validate_code(&node, "carol", &hotp_code(51)).await.reason,
            Some(Reason::Replayed)
        );
        assert!(validate_code(&node, "carol", &hotp_code(52)).await.valid);
    }
}

#[actix_web::test]
async fn a_bad_file_stores_nothing_unless_skip_bad_and_a_dry_run_stores_nothing() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        create_user(&node, "dave").await;
        local(&node, JobKind::Tokens, &csv_tokens(1, None), false, false).await;
        // S0 exists now: a file with S0 again, a good S1 and a row naming no user.
        let file = format!(
            "{}S2,hotp,{SECRET_HEX},nobody\n",
            csv_tokens(2, Some("dave"))
        );
        let (job, end) = local(&node, JobKind::Tokens, &file, false, false).await;
        let End::Failed(p, why) = end else {
            panic!("{backend:?}: {end:?}")
        };
        assert_eq!((p.done, p.imported, p.skipped), (3, 1, 2), "{why}");
        assert_eq!(
            inventory(&node, None).await.len(),
            1,
            "{backend:?}: nothing of a bad file stored"
        );
        let report = import::skipped(&node.state, &admin_caller(), job, PageRequest::first(50))
            .await
            .unwrap();
        let reasons: Vec<(i64, &str)> = report
            .items
            .iter()
            .map(|s| (s.position, s.reason.as_str()))
            .collect();
        assert_eq!(reasons, [(2, "duplicate_serial"), (4, "unknown_user")]);
        let (_, dry) = local(&node, JobKind::Tokens, &file, true, true).await;
        assert!(
            matches!(dry, End::Done(p) if p.imported == 1 && p.skipped == 2),
            "{dry:?}"
        );
        assert_eq!(
            inventory(&node, None).await.len(),
            1,
            "a dry run stores nothing"
        );
        let (_, end) = local(&node, JobKind::Tokens, &file, false, true).await;
        assert!(matches!(end, End::Done(p) if p.imported == 1), "{end:?}");
        let all = inventory(&node, None).await;
        assert_eq!(all.len(), 2, "{backend:?}: skip_bad stores the good token");
        assert!(
            all.iter()
                .any(|t| t["serial"] == "S1" && t["login"] == "dave")
        );
    }
}

#[actix_web::test]
async fn users_import_follows_the_creation_rules_and_exports_again() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let node = db.node(&clock());
        create_user(&node, "taken").await;
        let file = "login,name,email,mobile,password_hash\n\
                    erin,Erin,erin@example.com,+55 11 91234-5678,$sha256$0011$9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
                    taken,Dup,,,\n\
                    frank,Frank,not-an-email,,\n";
        let (_, end) = local(&node, JobKind::Users, file, false, true).await;
        assert!(
            matches!(end, End::Done(p) if p.imported == 1 && p.skipped == 2),
            "{backend:?}: {end:?}"
        );
        let erin = users::read(&node.state, &admin_caller(), login("erin"))
            .await
            .unwrap()
            .value();
        assert_eq!(erin["has_password"], true);
        assert_eq!(erin["mobile"], "+55 11 91234-5678");
        let mut export = import::export::start(&node.state, &admin_caller(), Default::default())
            .await
            .unwrap();
        let mut csv = Vec::new();
        while let Some(chunk) = export.next_chunk(&node.state).await.unwrap() {
            csv.extend(chunk);
        }
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.starts_with("login,name,email,document,mobile,wallet,password_hash\n"),
            "{csv}"
        );
        assert!(
            csv.contains("erin,Erin,erin@example.com,,+55 11 91234-5678,,\n"),
            "{csv}"
        );
        assert!(!csv.contains("$sha256$"), "no hashes unless asked: {csv}");
    }
}

/// Uploads `text` as an API import job (as the HTTP layer does).
async fn upload(node: &Node, text: &str) -> String {
    let mut up = Upload::start(&node.state, &admin_caller(), JobKind::Tokens)
        .await
        .unwrap();
    up.file_part(Some("tokens.csv".into())).unwrap();
    for piece in text.as_bytes().chunks(7000) {
        up.push(&node.state, piece).await.unwrap();
    }
    up.finish(&node.state, ImportForm::default())
        .await
        .unwrap()
        .job_id
}

#[actix_web::test]
async fn a_job_interrupted_by_a_crash_is_resumed_by_another_node_and_imports_once() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let time = clock();
        let first = db.node(&time);
        let n = engine::BATCH * 3 + 7;
        let job_id = upload(&first, &csv_tokens(n, None)).await;
        // The first node claims the job and "dies" right after its first batch commits.
        let owner = "crashed-node".to_owned();
        let now = first.state.now().secs();
        let lease = first.state.config.job_lease_s;
        let claimed = first
            .state
            .store
            .write(move |c| {
                Ok::<_, action_provider::store::StoreError>(c.job_claim(
                    now,
                    &owner,
                    now + lease,
                )?)
            })
            .await
            .unwrap()
            .unwrap();
        let state = Arc::clone(&first.state);
        let crashed = std::thread::spawn(move || {
            let env = Env {
                store: state.store.clone(),
                clock: Arc::clone(&state.clock),
                lease_s: lease,
            };
            let run = Run {
                id: claimed.id.clone(),
                owner: claimed.owner.clone().unwrap(),
                dry_run: false,
                skip_bad: false,
                resume: Progress::default(),
                actor: claimed.actor.clone(),
                client: None,
                audit: serde_json::json!({}),
            };
            let bytes = Arc::new(AtomicU64::new(0));
            let input = ChunkReader::new(
                state.store.clone(),
                Arc::clone(&state.keyring),
                claimed.id.clone(),
            );
            let items = items::tokens(input, None, KeyMaterial::None, false);
            let mut importer = TokenImporter::new(Arc::clone(&state.keyring), state.now());
            let _ = engine::run(&env, &run, &mut importer, items, &bytes, &mut |_| {
                panic!("killed")
            });
        })
        .join();
        assert!(crashed.is_err(), "the simulated crash happened");
        let half = import::status(&first.state, &admin_caller(), job_id.clone())
            .await
            .unwrap();
        assert_eq!(
            (half.state.as_str(), half.done),
            ("running", engine::BATCH as i64),
            "{backend:?}"
        );
        assert_eq!(
            inventory(&first, None).await.len(),
            0,
            "pending rows are invisible"
        );
        // Within the lease nobody takes it; past it, a second node resumes it.
        let second = db.node(&time);
        assert!(!worker::run_one(&second.state).await.unwrap());
        time.advance(std::time::Duration::from_secs(
            u64::try_from(lease).unwrap() + 1,
        ));
        assert!(worker::run_one(&second.state).await.unwrap());
        let done = import::status(&second.state, &admin_caller(), job_id)
            .await
            .unwrap();
        assert_eq!(done.state, "done", "{backend:?}: {:?}", done.error);
        assert_eq!(
            (done.total, done.done, done.imported),
            (Some(n as i64), n as i64, n as i64)
        );
        let all = inventory(&second, None).await;
        let mut serials: Vec<String> = all
            .iter()
            .map(|t| t["serial"].as_str().unwrap().to_owned())
            .collect();
        serials.sort();
        serials.dedup();
        assert_eq!(
            (all.len(), serials.len()),
            (n, n),
            "{backend:?}: every token once"
        );
    }
}

#[actix_web::test]
async fn an_interrupted_cli_import_is_failed_and_rolled_back() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let time = clock();
        let node = db.node(&time);
        let file = csv_tokens(engine::BATCH * 2, None);
        let state = Arc::clone(&node.state);
        let policies = node.state.policies().await.unwrap();
        let crashed = std::thread::spawn(move || {
            let import = LocalImport {
                kind: JobKind::Tokens,
                params: Params::default(),
                key: KeyMaterial::None,
                actor: "cli:test".into(),
                bytes_total: 0,
            };
            let _ = import::import_local(
                &state,
                policies,
                BufReader::new(file.as_bytes()),
                import,
                &mut |_| panic!("killed"),
            );
        })
        .join();
        assert!(crashed.is_err());
        time.advance(std::time::Duration::from_secs(
            u64::try_from(node.state.config.job_lease_s).unwrap() + 1,
        ));
        worker::sweep_abandoned(&node.state).await.unwrap();
        let pending = node
            .state
            .store
            .read(|c| {
                Ok::<_, action_provider::store::StoreError>(c.serials_taken(&["S0".to_owned()])?)
            })
            .await
            .unwrap();
        assert!(
            pending.is_empty(),
            "{backend:?}: the rows of the dead import are gone"
        );
    }
}
