//! What `load million` measures on a populated server: validate (right and wrong HOTP codes
//! on users drawn at random from the whole population) and the console's calls of the
//! users screen (`GET /v1/users` with the limit, sorts, cursors and filters admin-gui sends).
//!
//! The population is deterministic: user `i` has the login `u{i:07}`, the e-mail, document
//! and mobile below and one HOTP token whose secret [`secret`] derives from `i`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use sae_core::otp::{Algorithm, Digits, Hotp, format_code};
use sae_core::secret::Secret;

use super::scenario::{Expect, Gen, Req};

/// Wallets the population is spread over (`w0` …); every eleventh user has none.
pub const WALLETS: usize = 10;

/// SplitMix64: the harness's deterministic generator (population and request draws).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// User `i`'s login.
pub fn login(i: usize) -> String {
    format!("u{i:07}")
}

/// User `i`'s e-mail address (not in login order, so the e-mail sort is its own).
pub fn email(i: usize) -> String {
    format!(
        "{:08x}.{i}@example.com",
        Rng::new(i as u64 ^ 0xE).next_u64() as u32
    )
}

/// User `i`'s display name.
pub fn name(i: usize) -> String {
    format!("Name {:08x}", Rng::new(i as u64 ^ 0x4E).next_u64() as u32)
}

/// User `i`'s document (digits).
pub fn document(i: usize) -> String {
    format!("{:011}", 10_000_000_000 + i)
}

/// User `i`'s mobile number (E.164).
pub fn mobile(i: usize) -> String {
    format!("+55119{i:08}")
}

/// User `i`'s wallet, if any.
pub fn wallet(i: usize) -> Option<String> {
    (!i.is_multiple_of(11)).then(|| format!("w{}", i % WALLETS))
}

/// The 20-byte secret of user `i`'s HOTP token.
pub fn secret(i: usize) -> [u8; 20] {
    let mut r = Rng::new(i as u64 ^ 0x005E_C2E7);
    let mut out = [0u8; 20];
    for chunk in out.chunks_mut(8) {
        let bytes = r.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    out
}

/// Each user's next HOTP counter, shared by the phases of a run (a worker only draws the
/// users `i` with `i % workers == w`, so no two workers present codes of one user).
pub type Counters = Arc<Vec<AtomicU32>>;

/// Validate generators over users `0..users`: right codes (`right`) or wrong ones.
pub fn validate(
    users: usize,
    workers: usize,
    counters: &Counters,
    right: bool,
    round: u64,
) -> Vec<Gen> {
    (0..workers)
        .map(|w| {
            let counters = Arc::clone(counters);
            // Each round draws other users, so a round does not find the pages the
            // previous one read in cache.
            let mut rng = Rng::new(0xA11D ^ (w as u64) << 32 ^ users as u64 ^ round << 48);
            let span = users.div_ceil(workers);
            Box::new(move |r: &mut Req| {
                let i = loop {
                    let i = rng.below(span) * workers + w;
                    if i < users {
                        break i;
                    }
                };
                let secret = Secret::from_bytes(&secret(i)).expect("a 20-byte secret");
                let hotp = Hotp::new(&secret, Algorithm::Sha1, Digits::SIX);
                let counter = if right {
                    counters[i].fetch_add(1, Ordering::Relaxed)
                } else {
                    counters[i].load(Ordering::Relaxed)
                };
                let code = hotp.generate(u64::from(counter));
                let code = if right { code } else { (code + 1) % 1_000_000 };
                r.validate(login(i), format_code(code, Digits::SIX).as_str());
                Expect::Valid(right)
            }) as Gen
        })
        .collect()
}

/// A console call: its label and how to draw its path for a population of `n` users.
pub struct Probe {
    /// What it is, in the table.
    pub label: &'static str,
    /// The path (`GET`), drawn from a random user `i` of the population.
    pub path: fn(n: usize, i: usize) -> String,
}

const fn probe(label: &'static str, path: fn(usize, usize) -> String) -> Probe {
    Probe { label, path }
}

/// The users screen's calls (admin-gui `screens/users.js`: `limit=20`, the sorts it offers,
/// `next_cursor` for the next page, the search box `q`, the wallet and status filters).
pub const PROBES: &[Probe] = &[
    probe("list newest (-created)", |_, _| {
        "/v1/users?limit=20&sort=-created".into()
    }),
    probe("list oldest (created)", |_, _| {
        "/v1/users?limit=20&sort=created".into()
    }),
    probe("list by login", |_, _| {
        "/v1/users?limit=20&sort=login".into()
    }),
    probe("list by -login", |_, _| {
        "/v1/users?limit=20&sort=-login".into()
    }),
    probe("list by name", |_, _| "/v1/users?limit=20&sort=name".into()),
    probe("list by email", |_, _| {
        "/v1/users?limit=20&sort=email".into()
    }),
    probe("list by wallet", |_, _| {
        "/v1/users?limit=20&sort=wallet".into()
    }),
    probe("deep page newest", |_, i| {
        format!("/v1/users?limit=20&sort=-created&cursor={}", i + 1)
    }),
    probe("deep page by login", |_, i| {
        format!("/v1/users?limit=20&sort=login&cursor={}", i + 1)
    }),
    probe("deep page by name", |_, i| {
        format!("/v1/users?limit=20&sort=name&cursor={}", i + 1)
    }),
    probe("deep page by email", |_, i| {
        format!("/v1/users?limit=20&sort=email&cursor={}", i + 1)
    }),
    probe("deep page by wallet", |_, i| {
        format!("/v1/users?limit=20&sort=wallet&cursor={}", i + 1)
    }),
    probe("search q=login", |_, i| {
        format!("/v1/users?limit=20&sort=-created&q={}", login(i))
    }),
    probe("search q=login prefix (≤10)", |_, i| {
        format!("/v1/users?limit=20&sort=-created&q={}", &login(i)[..7])
    }),
    probe("search q=login prefix, by login", |_, i| {
        format!("/v1/users?limit=20&sort=login&q={}", &login(i)[..6])
    }),
    probe("search q=u (all), newest", |_, _| {
        "/v1/users?limit=20&sort=-created&q=u".into()
    }),
    probe("search q=e-mail", |_, i| {
        format!("/v1/users?limit=20&sort=-created&q={}", email(i))
    }),
    probe("search q=mobile", |_, i| {
        format!("/v1/users?limit=20&sort=-created&q=%2B{}", &mobile(i)[1..])
    }),
    probe("search q=document", |_, i| {
        format!("/v1/users?limit=20&sort=-created&q={}", document(i))
    }),
    probe("search q=no match", |_, _| {
        "/v1/users?limit=20&sort=-created&q=zz9".into()
    }),
    probe("filter wallet", |_, i| {
        format!("/v1/users?limit=20&sort=-created&wallet=w{}", i % WALLETS)
    }),
    probe("filter status=active", |_, _| {
        "/v1/users?limit=20&sort=-created&status=active".into()
    }),
    probe("filter status=disabled", |_, _| {
        "/v1/users?limit=20&sort=-created&status=disabled".into()
    }),
    probe("filter status=locked", |_, _| {
        "/v1/users?limit=20&sort=-created&status=locked".into()
    }),
];

/// Generators of one probe over users `0..n`.
pub fn console(p: &Probe, n: usize, workers: usize) -> Vec<Gen> {
    (0..workers)
        .map(|w| {
            let mut rng = Rng::new(0xC0 ^ (w as u64) << 32 ^ n as u64);
            let path = p.path;
            Box::new(move |r: &mut Req| {
                r.method = "GET";
                r.path = path(n, rng.below(n));
                r.body.clear();
                Expect::Status(200)
            }) as Gen
        })
        .collect()
}
