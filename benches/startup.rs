//! Start-up benchmark: does a healthy run spend the site's budget from its first second? The
//! same migration as the budget bench (a local Media Manager with a rate limit, latency and
//! processing time; one source host), each run checking the target while it reads the manifest
//! as `media-migrate run` does (that call is the first on the server's clock), in six scenarios:
//!
//! - `healthy`: 6,000 rows, a folder per 50, the limit (600/min) known to the client;
//! - `unknown`: the same with the client's `--rate` 3× above the limit it isn't told;
//! - `slow-budget`: 10,000 rows at 200/min (Wix's budget);
//! - `flaky`: `healthy` with a fifth of the sources failing their first GET (503);
//! - `gateway`: `healthy` with 3 % of the calls answered 5xx, half of them after the work
//!   was done (a gateway that lost the answer: the run looks at the target before resending);
//! - `overloaded`: 1,200 rows from a host that answers 503 to a GET finding 16 in flight
//!   (each GET takes 20 ms; the target fetches 32 at once), up to 6 imports a row.
//!
//! For each, on the server's clock (see `support`): the time to the first second at the full
//! rate (the first 1 s window, in 100 ms steps, holding at least 90 % of the limit's calls a
//! second, 429s excluded), the utilisation over the whole run (files READY ÷ what the limit
//! allows at 2 calls per 100 files, over the window from the first call's arrival to the poll
//! that confirmed the last file), calls per 100 files and 429s; and what the source host bore.
//! The bench fails (exit code 101) when a scenario misses its target:
//!
//! | scenario | target |
//! |---|---|
//! | `healthy` | utilisation ≥ 0.95, ≤ 2.1 calls per 100 files, no 429 |
//! | `unknown` | utilisation ≥ 0.85, < 2 % of calls 429 |
//! | `slow-budget` | all READY within 1.05× the floor (its calls at the limit plus the slowest processing) |
//! | `flaky` | every row READY, ≤ 2.5 calls per 100 files, ≤ 1.5× the healthy run's time |
//! | `overloaded` | every row READY |
//! | `gateway` | every row READY, once (the server holds no file twice) |
//!
//! ```sh
//! cargo bench --bench startup
//! cargo bench --bench startup -- --scenarios healthy,unknown
//! cargo bench --bench startup -- --scenarios healthy --source-host-limit 100000
//! ```
//! Other flags (as the budget bench's) apply to every scenario chosen.

mod support;

use std::time::Duration;

use support::{FILES_PER_CALL_AT_FLOOR, Measured, Scenario, migrate, pct};

const ALL: [&str; 6] = [
    "healthy",
    "unknown",
    "slow-budget",
    "flaky",
    "gateway",
    "overloaded",
];

fn scenario(name: &str) -> Scenario {
    let healthy = Scenario {
        preflight: true,
        rows: 6_000,
        files_per_folder: Some(50),
        limit: 600,
        rate: 600,
        processing: "200..1000".to_string(),
        ..Scenario::default()
    };
    match name {
        "healthy" => healthy,
        "unknown" => Scenario {
            rate: 1_800,
            ..healthy
        },
        "slow-budget" => Scenario {
            rows: 10_000,
            limit: 200,
            rate: 200,
            ..healthy
        },
        "flaky" => Scenario {
            flaky_per_mille: 200,
            ..healthy
        },
        "overloaded" => Scenario {
            rows: 1_200,
            overload_at: Some(16),
            source_latency_ms: 20,
            max_processing_attempts: 6,
            ..healthy
        },
        "gateway" => Scenario {
            error_per_mille: 15,
            performed_error_per_mille: 15,
            ..healthy
        },
        other => panic!("unknown scenario {other}; known: {}", ALL.join(", ")),
    }
}

/// Server clock: when the first 1 s window (100 ms steps) admitted at least 90 % of the limit's
/// calls a second.
fn full_rate_at(m: &Measured, limit: u32) -> Option<Duration> {
    let want = (0.9 * f64::from(limit) / 60.0).floor().max(1.0) as u64;
    let step = Duration::from_millis(100);
    (0..)
        .map(|i| step * i)
        .take_while(|t| *t < m.window())
        .find(|t| {
            let (calls, refused) = m.calls_between(*t, *t + Duration::from_secs(1));
            calls - refused >= want
        })
}

/// The floor: a run's calls at 2 per 100 files at the limit, plus the slowest processing.
fn floor(s: &Scenario) -> Duration {
    let calls = 2 * s.rows.div_ceil(100);
    let slowest: u64 = s
        .processing
        .split("..")
        .last()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0);
    Duration::from_secs_f64(calls as f64 * 60.0 / f64::from(s.limit))
        + Duration::from_millis(slowest)
}

struct Figures {
    utilisation: f64,
    per_100: f64,
    throttled_share: f64,
    window: Duration,
    all_ready: bool,
    /// Files the server holds, in any state.
    server_files: u64,
}

fn report(name: &str, s: &Scenario, m: &Measured) -> Figures {
    use std::sync::atomic::Ordering::SeqCst;
    let window = m.window();
    let ready = m.server_ready_files();
    let ceiling = FILES_PER_CALL_AT_FLOOR * f64::from(s.limit);
    let utilisation = m.ready_per_minute() / ceiling;
    let per_100 = m.server.total_calls as f64 / ready.max(1) as f64 * 100.0;
    let throttled_share = m.server.throttled as f64 / m.server.total_calls.max(1) as f64;
    let first_full = full_rate_at(m, s.limit);
    println!(
        "{name}: {} rows in {} folder(s), limit {}/min, client --rate {}",
        s.rows,
        s.folders(),
        s.limit,
        s.rate
    );
    println!(
        "  files READY (server): {ready} of {} rows; window (server clock) {:.2} s; ideal {:.2} s (2 calls per 100 files at the limit); floor with the slowest processing {:.2} s",
        m.rows,
        window.as_secs_f64(),
        ready as f64 / ceiling * 60.0,
        floor(s).as_secs_f64()
    );
    println!(
        "  first second at the full rate (server clock): {}; first import arrived at {:.3} s, first poll at {:.3} s",
        first_full.map_or("never".to_string(), |t| format!(
            "from {:.1} s",
            t.as_secs_f64()
        )),
        m.first_call_of("bulk/files/import").as_secs_f64(),
        m.first_call_of("files/get-files").as_secs_f64()
    );
    let first: Vec<String> = m
        .received
        .iter()
        .take(4)
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect();
    println!("  first calls arrived at (s): {}", first.join(" "));
    if !m.refused.is_empty() {
        let at: Vec<String> = m
            .refused
            .iter()
            .map(|t| format!("{:.3}", t.as_secs_f64()))
            .collect();
        println!("  429s sent at (s): {}", at.join(" "));
    }
    println!(
        "  UTILISATION (whole run): {utilisation:.3} = ideal ÷ window; {:.2} calls per 100 files ({} calls: {} imports, {} polls, {} other); 429s {} ({})",
        per_100,
        m.server.total_calls,
        m.endpoint("bulk/files/import"),
        m.endpoint("files/get-files"),
        m.server.total_calls - m.endpoint("bulk/files/import") - m.endpoint("files/get-files"),
        m.server.throttled,
        pct(throttled_share)
    );
    let rates: Vec<String> = (0..)
        .map(Duration::from_secs)
        .take_while(|t| *t < window)
        .map(|t| {
            let (calls, refused) = m.calls_between(t, t + Duration::from_secs(1));
            (calls - refused).to_string()
        })
        .collect();
    println!(
        "  calls admitted each second (server clock): {}",
        rates.join(" ")
    );
    println!(
        "  source host: {} requests, at most {} at once, {} answered 503 for the load",
        m.source.requests.load(SeqCst),
        m.source.peak.load(SeqCst),
        m.source.overloaded.load(SeqCst)
    );
    println!(
        "  reproduce: cargo bench --bench startup -- --scenarios {name} {}",
        s.args()
    );
    Figures {
        utilisation,
        per_100,
        throttled_share,
        window,
        all_ready: ready == m.rows,
        server_files: m.server.files.values().sum(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let chosen: Vec<String> = args
        .iter()
        .position(|a| a == "--scenarios")
        .and_then(|i| args.get(i + 1))
        .map_or(ALL.iter().map(|s| s.to_string()).collect(), |v| {
            v.split(',').map(str::to_string).collect()
        });
    println!(
        "startup bench on {} cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        chosen.join(", ")
    );
    let mut missed = Vec::new();
    let mut healthy_window = None;
    for name in &chosen {
        let s = scenario(name).parse(&args);
        let m = migrate(&s);
        let f = report(name, &s, &m);
        let mut miss = |what: String| {
            println!("  MISSED: {what}");
            missed.push(format!("{name}: {what}"));
        };
        if !f.all_ready {
            miss("not every row READY".to_string());
        }
        match name.as_str() {
            "healthy" => {
                healthy_window = Some(f.window);
                if f.utilisation < 0.95 {
                    miss(format!("utilisation {:.3} < 0.95", f.utilisation));
                }
                if f.per_100 > 2.1 {
                    miss(format!("{:.2} calls per 100 files > 2.1", f.per_100));
                }
                if f.throttled_share > 0.0 {
                    miss(format!("{} of calls 429", pct(f.throttled_share)));
                }
            }
            "unknown" => {
                if f.utilisation < 0.85 {
                    miss(format!("utilisation {:.3} < 0.85", f.utilisation));
                }
                if f.throttled_share >= 0.02 {
                    miss(format!("{} of calls 429 (≥ 2 %)", pct(f.throttled_share)));
                }
            }
            "slow-budget" => {
                let ratio = f.window.as_secs_f64() / floor(&s).as_secs_f64();
                println!("  window ÷ floor: {ratio:.3} (target ≤ 1.05)");
                if ratio > 1.05 {
                    miss(format!("window {ratio:.3}× the floor > 1.05×"));
                }
            }
            "flaky" => {
                if f.per_100 > 2.5 {
                    miss(format!("{:.2} calls per 100 files > 2.5", f.per_100));
                }
                if let Some(h) = healthy_window {
                    let ratio = f.window.as_secs_f64() / h.as_secs_f64();
                    println!("  flaky ÷ healthy time: {ratio:.2}× (target ≤ 1.5×)");
                    if ratio > 1.5 {
                        miss(format!("{ratio:.2}× the healthy run's time > 1.5×"));
                    }
                }
            }
            "gateway" if f.server_files != s.rows as u64 => {
                miss(format!(
                    "the server holds {} files for {} rows",
                    f.server_files, s.rows
                ));
            }
            _ => {}
        }
    }
    assert!(missed.is_empty(), "targets missed: {}", missed.join("; "));
}
