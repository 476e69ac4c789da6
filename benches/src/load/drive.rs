//! Driving a scenario: one thread per connection, closed loop (as fast as the server
//! answers) or open loop at a fixed rate (latency counts from when a request was due).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::scenario::{Gen, Req};
use super::server::rss_mib;

/// How to drive.
#[derive(Debug, Clone)]
pub struct Drive {
    /// How long.
    pub duration: Duration,
    /// Total requests per second over all connections; `None`: as fast as possible.
    pub rate: Option<u64>,
    /// The API key every request carries.
    pub key: String,
    /// The servers; connection `i` goes to `addrs[i % len]`.
    pub addrs: Vec<SocketAddr>,
    /// Processes whose RSS is sampled under load (the servers).
    pub pids: Vec<u32>,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Answers received.
    pub requests: usize,
    /// Answers per second.
    pub per_second: f64,
    /// Latency percentiles, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Slowest, ms.
    pub max: f64,
    /// Answers that were not the expected one.
    pub errors: u64,
    /// RSS of each server in the middle of the run, MiB.
    pub loaded_rss: Vec<u64>,
}

struct Worker {
    latencies_us: Vec<u32>,
    errors: u64,
}

fn work(
    addr: SocketAddr,
    key: &str,
    mut next: Gen,
    interval: Option<Duration>,
    first_due: Instant,
    stop: &AtomicBool,
) -> Worker {
    let mut conn = Conn::open(addr);
    let mut out = Worker {
        latencies_us: Vec::with_capacity(1 << 16),
        errors: 0,
    };
    let mut req = Req::default();
    let mut due = first_due;
    while !stop.load(Ordering::Relaxed) {
        let t0 = match interval {
            Some(interval) => {
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let t = due;
                due += interval;
                t
            }
            None => Instant::now(),
        };
        let expect = next(&mut req);
        let (status, body) = conn.send(req.method, &req.path, key, &req.body);
        if !expect.holds(status, body) {
            out.errors += 1;
            // The first few, so a figure with errors says what they were.
            if out.errors <= 3 {
                let shown: String = body.chars().take(300).collect();
                eprintln!(
                    "    unexpected answer to {} {}: {status} {shown}",
                    req.method, req.path
                );
            }
        }
        let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        out.latencies_us.push(us);
    }
    out
}

/// Runs the generators (one connection each) for `d.duration`.
pub fn run(d: &Drive, gens: Vec<Gen>) -> Stats {
    let stop = Arc::new(AtomicBool::new(false));
    let n = gens.len().max(1);
    let interval = d
        .rate
        .map(|r| Duration::from_secs_f64(n as f64 / r.max(1) as f64));
    let started = Instant::now();
    let handles: Vec<_> = gens
        .into_iter()
        .enumerate()
        .map(|(w, next)| {
            let addr = d.addrs[w % d.addrs.len()];
            let key = d.key.clone();
            let stop = Arc::clone(&stop);
            // Spread the open-loop workers' first requests over one interval.
            let first =
                started + interval.map_or(Duration::ZERO, |i| i.mul_f64(w as f64 / n as f64));
            std::thread::spawn(move || work(addr, &key, next, interval, first, &stop))
        })
        .collect();
    std::thread::sleep(d.duration / 2);
    let loaded_rss = d.pids.iter().map(|p| rss_mib(*p)).collect();
    std::thread::sleep(d.duration - d.duration / 2);
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    let mut errors = 0;
    for h in handles {
        let w = h.join().expect("a worker panicked");
        lat.extend(w.latencies_us);
        errors += w.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 - 1.0) * p).round();
        lat.get(i as usize).copied().unwrap_or(0) as f64 / 1000.0
    };
    Stats {
        requests: lat.len(),
        per_second: lat.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: pct(1.0),
        errors,
        loaded_rss,
    }
}
