//! Budget benchmark: how much of a site's request budget becomes files confirmed READY. A
//! migration runs in-process against a local Media Manager whose rate limit equals the client's
//! `--rate`, with latency and processing time injected, on a single-folder manifest and on one
//! with a folder per 50 files. Run on demand:
//!
//! ```sh
//! cargo bench --bench budget
//! cargo bench --bench budget -- --rows 24000 --limit 300 --files-per-folder 50
//! ```
//! With `--files-per-folder` only that manifest runs; otherwise both.
//!
//! The default limit is 240/minute, not more: the ceiling is 50 files READY a minute per
//! request a minute, and on a 2-core machine the local server processes (fetches, decodes,
//! hashes) only ~500 files a second while the client runs beside it. Past that, the bench would
//! measure the server's CPU, not the client's use of the budget; the report prints when the
//! server had every file READY so that can be checked.
//!
//! Every figure is counted on the server (see `support`): files READY from its database, calls
//! and 429s from its `/_local/stats`, times from its clock (`/_local/stats?timeline=true`). The
//! run panics if the client's journal or call counters disagree with the server's.

mod support;

use support::{FILES_PER_CALL_AT_FLOOR, Measured, Scenario, migrate, pct};

fn default_scenario() -> Scenario {
    Scenario::default()
}

fn report(name: &str, s: &Scenario, m: &Measured) {
    let window = m.window();
    let secs = window.as_secs_f64();
    let ceiling = FILES_PER_CALL_AT_FLOOR * f64::from(s.limit);
    let ready = m.server_ready_files();
    let utilisation = m.ready_per_minute() / ceiling;
    let allowed = m.allowed(s.limit, s.burst);
    let imports = m.endpoint("bulk/files/import");
    let polls = m.endpoint("files/get-files");
    let folders = m.endpoint("/folders");
    let listings = m.endpoint("GET /site-media/v1/files");
    let other = m.server.total_calls - imports - polls - folders - listings;
    println!("{name}: {} rows in {} folder(s)", s.rows, s.folders());
    println!(
        "  files READY (server's database; client journal agrees): {ready} of {} rows",
        m.rows
    );
    println!(
        "  window (server clock, first call's arrival → last call's, the poll that confirmed the last file): {secs:.2} s (client clock, first call sent → run over: {:.2} s) → {:.0} READY/min",
        m.duration.as_secs_f64(),
        m.ready_per_minute()
    );
    println!(
        "  ceiling for {}/min: {ceiling:.0} files READY/min (1 Bulk Import of 100 + 1 poll of 100 ids per 100 files)",
        s.limit
    );
    println!(
        "  UTILISATION (whole run) = {:.0} ÷ {ceiling:.0} = {}",
        m.ready_per_minute(),
        pct(utilisation)
    );
    println!(
        "    = budget spent {} (calls the server admitted {} ÷ {allowed:.0} its limit allowed in the window, burst included)",
        pct(m.admitted() as f64 / allowed),
        m.admitted()
    );
    println!(
        "    × call efficiency {} (files READY per admitted call {:.1} ÷ {FILES_PER_CALL_AT_FLOOR}) × burst bonus {} (allowance ÷ limit × window)",
        pct(ready as f64 / m.admitted() as f64 / FILES_PER_CALL_AT_FLOOR),
        ready as f64 / m.admitted() as f64,
        pct(allowed / (f64::from(s.limit) * secs / 60.0))
    );
    println!(
        "  strict utilisation, counting the server's burst of {} as budget too: {}",
        s.burst,
        pct(ready as f64 / (FILES_PER_CALL_AT_FLOOR * allowed))
    );
    println!(
        "  API calls (server): {} = {imports} imports + {polls} polls + {folders} folder calls + {listings} listings + {other} other → {:.2} per 100 files (floor {:.2}); client counted {}",
        m.server.total_calls,
        m.server.total_calls as f64 / ready.max(1) as f64 * 100.0,
        2.0 * (s.rows.div_ceil(100) as f64) / s.rows as f64 * 100.0,
        m.client.calls.values().sum::<u64>()
    );
    println!(
        "  429s sent (server): {} ({} of calls); client counted {}",
        m.server.throttled,
        pct(m.server.throttled as f64 / m.server.total_calls.max(1) as f64),
        m.client.throttled
    );
    // Where the time went, on the server's clock.
    let first_poll = m.first_call_of("files/get-files");
    let last_import = m.last_call_of("bulk/files/import");
    let (lo, hi) = (window.mul_f64(0.1), window.mul_f64(0.9));
    let (steady_calls, steady_429s) = m.calls_between(lo, hi);
    let steady_rate = (steady_calls - steady_429s) as f64 / (hi - lo).as_secs_f64() * 60.0;
    println!(
        "  steady state (10%–90% of the window, server): {steady_rate:.0} calls admitted/min = {} of the limit",
        pct(steady_rate / f64::from(s.limit))
    );
    let (after_calls, after_429s) = m.calls_between(last_import, window);
    let tail = secs - last_import.as_secs_f64();
    println!(
        "  timeline (server): first poll arrived at {:.2} s, last import at {:.2} s, tail after it {tail:.2} s (the limit allowed {:.0} calls there, {} admitted)",
        first_poll.as_secs_f64(),
        last_import.as_secs_f64(),
        tail * f64::from(s.limit) / 60.0,
        after_calls - after_429s
    );
    let at = |t: Option<std::time::Duration>| {
        t.map_or("not seen".to_string(), |t| {
            format!("{:.2} s", t.as_secs_f64())
        })
    };
    println!(
        "  files READY on the server (sampled every 250 ms, server clock): half at {}, all at {}",
        at(m.server_ready_at(ready / 2)),
        at(m.server_ready_at(ready))
    );
    // Budget unused = what the server's bucket allowed minus what it admitted: before the last
    // import the burst plus the limit's rate over that time; after it, the rate alone (a
    // negative figure there spends tokens saved before).
    let (before_calls, before_429s) = m.calls_between(std::time::Duration::ZERO, last_import);
    let unused_before = f64::from(s.burst) + f64::from(s.limit) * last_import.as_secs_f64() / 60.0
        - (before_calls - before_429s) as f64;
    let unused_after = f64::from(s.limit) * tail / 60.0 - (after_calls - after_429s) as f64;
    println!(
        "  budget unused (server: the limit's allowance minus calls admitted): {unused_before:.1} calls before the last import, {unused_after:.1} after it, {:.1} in all ({} of the allowance)",
        allowed - m.admitted() as f64,
        pct((allowed - m.admitted() as f64) / allowed)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = default_scenario().parse(&args);
    println!(
        "budget bench on {} cores; server limit {}/min burst {}, client --rate {} --concurrency {}, latency {} ms, processing {} ms",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        base.limit,
        base.burst,
        base.rate,
        base.concurrency,
        base.latency,
        base.processing
    );
    let scenarios: Vec<(&str, Scenario)> = if args.iter().any(|a| a == "--files-per-folder") {
        vec![("manifest", base.clone())]
    } else {
        vec![
            (
                "single folder",
                Scenario {
                    files_per_folder: None,
                    ..base.clone()
                },
            ),
            (
                "one folder per 50 files",
                Scenario {
                    files_per_folder: Some(50),
                    ..base.clone()
                },
            ),
        ]
    };
    for (name, s) in &scenarios {
        let m = migrate(s);
        report(name, s, &m);
        println!("  reproduce: cargo bench --bench budget -- {}", s.args());
    }
}
