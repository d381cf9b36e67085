//! Adaptation benchmark: the same migration as the budget bench, but the client's `--rate` is
//! well above the server's limit, which the client doesn't know. How long until the client's
//! rate settles near the limit, what share of calls are answered 429, and how much of the
//! budget becomes files READY once it has settled. Run on demand:
//!
//! ```sh
//! cargo bench --bench adaptation
//! cargo bench --bench adaptation -- --rows 40000 --limit 1200 --rate 4800
//! ```

mod support;

use std::time::Duration;

use support::{FILES_PER_CALL_AT_FLOOR, Measured, Scenario, migrate, pct};

fn default_scenario() -> Scenario {
    Scenario {
        rows: 12_000,
        files_per_folder: Some(50),
        limit: 240,
        burst: 10,
        rate: 960,
        concurrency: 8,
        latency: "20..80".to_string(),
        processing: "500..1500".to_string(),
        seed: 1,
        retry_after: true,
    }
}

/// The first instant after which the client's own rate stays within ±50% of the limit.
fn converged_at(m: &Measured, limit: f64) -> Option<Duration> {
    let last_out = m
        .samples
        .iter()
        .rposition(|s| s.rate > 1.5 * limit || s.rate < 0.5 * limit);
    match last_out {
        None => Some(Duration::ZERO),
        Some(i) if i + 1 < m.samples.len() => Some(m.samples[i + 1].at),
        Some(_) => None,
    }
}

fn report(s: &Scenario, m: &Measured) {
    let limit = f64::from(s.limit);
    let secs = m.duration.as_secs_f64();
    let ceiling = FILES_PER_CALL_AT_FLOOR * limit;
    println!(
        "{} rows in {} folder(s): {} READY in {secs:.2} s (first API call → last READY confirmed)",
        s.rows,
        s.folders(),
        m.ready
    );
    println!(
        "  429s: {} of {} calls = {}",
        m.server.throttled,
        m.server.total_calls,
        pct(m.server.throttled as f64 / m.server.total_calls.max(1) as f64)
    );
    println!(
        "  UTILISATION (whole run): {:.0} files READY/min ÷ ceiling {ceiling:.0} = {}; {:.2} calls per 100 files",
        m.ready_per_minute(),
        pct(m.ready_per_minute() / ceiling),
        m.server.total_calls as f64 / m.ready.max(1) as f64 * 100.0
    );
    let allowed = limit * secs / 60.0 + f64::from(s.burst);
    println!(
        "  strict utilisation, counting the server's burst of {} as budget too: {}",
        s.burst,
        pct(m.ready as f64 / (FILES_PER_CALL_AT_FLOOR * allowed))
    );
    match converged_at(m, limit) {
        Some(at) => {
            let window = (m.duration - at).as_secs_f64();
            let (calls, throttled) = m.calls_between(at, m.duration);
            let admitted = calls - throttled;
            println!(
                "  converged (client rate within ±50% of the limit from then on) at {:.2} s",
                at.as_secs_f64()
            );
            println!(
                "  after converging ({window:.2} s): budget spent {} (admitted calls {admitted} ÷ {:.0} allowed), 429s {} of {calls} calls",
                pct(admitted as f64 / (limit * window / 60.0)),
                limit * window / 60.0,
                pct(throttled as f64 / calls.max(1) as f64)
            );
            println!(
                "  after converging, files READY/min ÷ ceiling ≈ budget spent × whole-run call efficiency {} = {}",
                pct(m.ready as f64 / m.admitted() as f64 / FILES_PER_CALL_AT_FLOOR),
                pct(admitted as f64 / (limit * window / 60.0) * m.ready as f64
                    / m.admitted() as f64
                    / FILES_PER_CALL_AT_FLOOR)
            );
        }
        None => {
            println!("  never converged: the client's rate left ±50% of the limit until the end")
        }
    }
    let rates: Vec<String> = (0..)
        .map(|i| Duration::from_secs(i * 2))
        .take_while(|t| *t <= m.duration)
        .filter_map(|t| m.samples.iter().find(|s| s.at >= t))
        .map(|s| format!("{:.0}", s.rate))
        .collect();
    println!("  client rate every 2 s (/min): {}", rates.join(" "));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let s = default_scenario().parse(&args);
    println!(
        "adaptation bench on {} cores; server limit {}/min burst {} (unknown to the client), 429s {} Retry-After, client --rate {} --concurrency {}, latency {} ms, processing {} ms",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        s.limit,
        s.burst,
        if s.retry_after { "with" } else { "without" },
        s.rate,
        s.concurrency,
        s.latency,
        s.processing
    );
    let m = migrate(&s);
    report(&s, &m);
    println!(
        "  reproduce: cargo bench --bench adaptation -- {}",
        s.args()
    );
}
