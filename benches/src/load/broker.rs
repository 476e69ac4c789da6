//! A local HTTP SMS broker and the two delivery scenarios that need one: outbox throughput
//! and the latency a failing primary broker adds.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::conn::Conn;

/// Starts a minimal HTTP broker that answers every request 200 `{"data":{"id":1}}` and
/// counts them; returns its port and the count.
pub fn sink() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the broker");
    let port = listener.local_addr().expect("broker address").port();
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let c = Arc::clone(&c);
            std::thread::spawn(move || serve_one(BufReader::new(stream), &c));
        }
    });
    (port, count)
}

fn serve_one(mut reader: BufReader<std::net::TcpStream>, count: &AtomicU64) {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                len = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        count.fetch_add(1, Ordering::Relaxed);
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"data\":{\"id\":1}}";
        if reader.get_mut().write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// `PUT /v1/delivery/sms` body: a REST broker at `primary`, optionally `backup`.
pub fn sms_config(primary: &str, backup: Option<&str>) -> String {
    let broker = |url: &str| {
        format!(
            r#"{{"kind":"rest","url":"{url}","method":"POST","authorization":"none","body":"{{\"to\":\"{{phone}}\",\"text\":\"{{message}}\"}}","timeout_ms":5000}}"#
        )
    };
    match backup {
        None => format!(
            r#"{{"primary":{},"broker2":{{"mode":"none"}}}}"#,
            broker(primary)
        ),
        Some(b) => format!(
            r#"{{"primary":{},"broker2":{{"mode":"backup","broker":{}}}}}"#,
            broker(primary),
            broker(b)
        ),
    }
}

/// Sends/s through the outbox: queues `n` SMS requests, times until the broker has them all.
pub fn outbox(c: &mut Conn, key: &str, n: usize) {
    let (port, received) = sink();
    let config = sms_config(&format!("http://127.0.0.1:{port}/sms"), None);
    c.must("PUT", "/v1/delivery/sms", key, &config);
    for u in 0..n {
        let user = format!(r#"{{"login":"o{u}","mobile":"+5511900{u:06}"}}"#);
        c.must("POST", "/v1/users", key, &user);
    }
    let started = Instant::now();
    for u in 0..n {
        let body = format!(r#"{{"login":"o{u}","channel":"sms"}}"#);
        c.must("POST", "/v1/otp/request", key, &body);
    }
    let queued = started.elapsed().as_secs_f64();
    while received.load(Ordering::Relaxed) < n as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the outbox did not drain"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "scenario=outbox requests={n} queued_in={queued:.2}s delivered_in={total:.2}s sends/s={:.0}",
        n as f64 / total
    );
}

/// Median latency of test sends, directly and with a primary that refuses connections.
pub fn failover(c: &mut Conn, key: &str, n: usize) {
    let (port, _) = sink();
    let sink_url = format!("http://127.0.0.1:{port}/sms");
    let mut run = |config: &str| -> f64 {
        c.must("PUT", "/v1/delivery/sms", key, config);
        let mut ms: Vec<f64> = (0..n.clamp(1, 200))
            .map(|_| {
                let t = Instant::now();
                let body = c.must(
                    "POST",
                    "/v1/delivery/sms/test",
                    key,
                    r#"{"phone":"+5511912345678","message":"bench"}"#,
                );
                assert!(body.contains("\"delivered\":true"), "{body}");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        ms[ms.len() / 2]
    };
    let direct = run(&sms_config(&sink_url, None));
    let failing = run(&sms_config("http://127.0.0.1:9/refused", Some(&sink_url)));
    println!(
        "scenario=failover direct_median={direct:.2}ms with_refused_primary_median={failing:.2}ms failover_adds={:.2}ms",
        failing - direct
    );
}
