//! Adaptation benchmark: the same migration as the budget bench, but the client's `--rate` is
//! well above the server's limit, which the client doesn't know. How long until the client's
//! rate settles near the limit, what share of calls are answered 429, and how much of the
//! budget becomes files READY once it has settled. Every figure is counted on the server (see
//! `support`), and the run panics if the client's counts disagree with the server's; the
//! client's own rate is printed beside the server's for comparison only. Run on demand:
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
        files_per_folder: Some(50),
        rate: 960,
        ..Scenario::default()
    }
}

/// Width of the windows over which the server's rate is read: at 240/min a window holds 4
/// calls, and ±50% is 2 to 6; the client paces its calls evenly, so wider windows only hide
/// the first burst.
const WINDOW: Duration = Duration::from_secs(1);
const STEP: Duration = Duration::from_millis(100);

/// Server clock: calls arriving (429s included) per minute in `[from, from + width)`.
fn server_rate_over(m: &Measured, from: Duration, width: Duration) -> f64 {
    m.calls_between(from, from + width).0 as f64 / width.as_secs_f64() * 60.0
}

fn server_rate(m: &Measured, from: Duration) -> f64 {
    server_rate_over(m, from, WINDOW)
}

/// Server clock: the first instant from which the rate the server saw — calls arriving in every
/// 1 s window that starts then or later, in 100 ms steps, and ends by the last import (after it
/// only polls remain, and the rate falls by design) — stays within ±50% of the limit. Also
/// returns the last window out of that band and its rate.
fn converged_at(
    m: &Measured,
    limit: f64,
    width: Duration,
) -> (Option<Duration>, Option<(Duration, f64)>) {
    let end = m.last_call_of("bulk/files/import");
    let starts: Vec<Duration> = (0..)
        .map(|i| STEP * i)
        .take_while(|t| *t + width <= end)
        .collect();
    let last_out = starts.iter().rposition(|t| {
        let r = server_rate_over(m, *t, width);
        r > 1.5 * limit || r < 0.5 * limit
    });
    let out = last_out.map(|i| (starts[i], server_rate_over(m, starts[i], width)));
    let at = match last_out {
        None => Some(Duration::ZERO),
        Some(i) if i + 1 < starts.len() => Some(starts[i + 1]),
        Some(_) => None,
    };
    (at, out)
}

/// Client clock, for comparison: the first instant after which the client's own rate stays
/// within ±50% of the limit.
fn client_converged_at(m: &Measured, limit: f64) -> Option<Duration> {
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
    let window = m.window();
    let secs = window.as_secs_f64();
    let ceiling = FILES_PER_CALL_AT_FLOOR * limit;
    let ready = m.server_ready_files();
    println!(
        "{} rows in {} folder(s): {ready} READY on the server (client journal agrees) in {secs:.2} s (server clock: first call's arrival → last call's; client clock {:.2} s)",
        s.rows,
        s.folders(),
        m.duration.as_secs_f64()
    );
    println!(
        "  429s (server): {} of {} calls = {}; client counted {} of {}",
        m.server.throttled,
        m.server.total_calls,
        pct(m.server.throttled as f64 / m.server.total_calls.max(1) as f64),
        m.client.throttled,
        m.client.calls.values().sum::<u64>()
    );
    println!(
        "  UTILISATION (whole run): {:.0} files READY/min ÷ ceiling {ceiling:.0} = {}; {:.2} calls per 100 files",
        m.ready_per_minute(),
        pct(m.ready_per_minute() / ceiling),
        m.server.total_calls as f64 / ready.max(1) as f64 * 100.0
    );
    println!(
        "  strict utilisation, counting the server's burst of {} as budget too: {}",
        s.burst,
        pct(ready as f64 / (FILES_PER_CALL_AT_FLOOR * m.allowed(s.limit, s.burst)))
    );
    let (converged, last_out) = converged_at(m, limit, WINDOW);
    match converged {
        Some(at) => {
            let after = (window - at).as_secs_f64();
            let (calls, throttled) = m.calls_between(at, window);
            let admitted = calls - throttled;
            let allowed = limit * after / 60.0;
            println!(
                "  converged (server: calls arriving in every 1 s window from then to the last import within ±50% of the limit) at {:.2} s",
                at.as_secs_f64()
            );
            if let Some((t, r)) = last_out {
                println!(
                    "    (the last 1 s window out of the band starts at {:.2} s: {r:.0}/min)",
                    t.as_secs_f64()
                );
            }
            let wider: Vec<String> = [2, 5]
                .into_iter()
                .map(|w| {
                    let (at, _) = converged_at(m, limit, Duration::from_secs(w));
                    format!(
                        "{w} s windows: {}",
                        at.map_or("never".to_string(), |t| format!("{:.2} s", t.as_secs_f64()))
                    )
                })
                .collect();
            println!(
                "    (read over wider windows, which smooth the first burst away: {})",
                wider.join(", ")
            );
            println!(
                "  after converging ({after:.2} s, server): budget spent {} (calls admitted {admitted} ÷ {allowed:.0} the limit allowed; {} counting the burst too), 429s {} of {calls} calls",
                pct(admitted as f64 / allowed),
                pct(admitted as f64 / (allowed + f64::from(s.burst))),
                pct(throttled as f64 / calls.max(1) as f64)
            );
            let ready_after = ready - m.server_ready_at_time(at);
            println!(
                "  after converging (server, READY sampled every 250 ms): {ready_after} files became READY = {:.0}/min ÷ ceiling {ceiling:.0} = {}",
                ready_after as f64 / after * 60.0,
                pct(ready_after as f64 / after * 60.0 / ceiling)
            );
        }
        None => println!(
            "  never converged: the rate the server saw left ±50% of the limit until the last import"
        ),
    }
    match client_converged_at(m, limit) {
        Some(at) => println!(
            "  for comparison, the client's own rate (client clock) stayed within ±50% of the limit from {:.2} s",
            at.as_secs_f64()
        ),
        None => println!("  for comparison, the client's own rate never settled within ±50%"),
    }
    let rates: Vec<String> = (0..)
        .map(|i| Duration::from_secs(i * 2))
        .take_while(|t| *t + WINDOW <= window)
        .map(|t| format!("{:.0}", server_rate(m, t)))
        .collect();
    println!(
        "  rate the server saw every 2 s (calls arriving/min over the next 1 s): {}",
        rates.join(" ")
    );
    let rates: Vec<String> = (0..)
        .map(|i| Duration::from_secs(i * 2))
        .take_while(|t| *t <= m.duration)
        .filter_map(|t| m.samples.iter().find(|s| s.at >= t))
        .map(|s| format!("{:.0}", s.rate))
        .collect();
    println!(
        "  client's own rate every 2 s (/min, client clock): {}",
        rates.join(" ")
    );
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
