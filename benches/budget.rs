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

mod support;

use support::{FILES_PER_CALL_AT_FLOOR, Measured, Scenario, migrate, pct};

fn default_scenario() -> Scenario {
    Scenario {
        rows: 12_000,
        files_per_folder: None,
        limit: 240,
        burst: 10,
        rate: 240,
        concurrency: 8,
        latency: "20..80".to_string(),
        processing: "500..1500".to_string(),
        seed: 1,
        retry_after: true,
    }
}

fn report(name: &str, s: &Scenario, m: &Measured) {
    let secs = m.duration.as_secs_f64();
    let ceiling = FILES_PER_CALL_AT_FLOOR * f64::from(s.limit);
    let utilisation = m.ready_per_minute() / ceiling;
    let allowed = f64::from(s.limit) * secs / 60.0 + f64::from(s.burst);
    let imports = m.endpoint("bulk/files/import");
    let polls = m.endpoint("files/get-files");
    let folders = m.endpoint("/folders");
    let listings = m.endpoint("GET /site-media/v1/files");
    let other = m.server.total_calls - imports - polls - folders - listings;
    println!("{name}: {} rows in {} folder(s)", s.rows, s.folders());
    println!(
        "  files READY: {} of {} rows, {secs:.2} s from the first API call to the poll that confirmed the last → {:.0}/min",
        m.ready,
        m.rows,
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
        "    ≈ budget spent {} (calls admitted {} ÷ {allowed:.0} the limit allowed in {secs:.2} s, its burst included)",
        pct(m.admitted() as f64 / allowed),
        m.admitted()
    );
    println!(
        "    × call efficiency {} (files READY per admitted call {:.1} ÷ {FILES_PER_CALL_AT_FLOOR})",
        pct(m.ready as f64 / m.admitted() as f64 / FILES_PER_CALL_AT_FLOOR),
        m.ready as f64 / m.admitted() as f64
    );
    println!(
        "  strict utilisation, counting the server's burst of {} as budget too: {}",
        s.burst,
        pct(m.ready as f64 / (FILES_PER_CALL_AT_FLOOR * allowed))
    );
    println!(
        "  API calls: {} = {imports} imports + {polls} polls + {folders} folder calls + {listings} listings + {other} other → {:.2} per 100 files (floor {:.2})",
        m.server.total_calls,
        m.server.total_calls as f64 / m.ready.max(1) as f64 * 100.0,
        2.0 * (s.rows.div_ceil(100) as f64) / s.rows as f64 * 100.0
    );
    println!(
        "  429s received: {} ({} of calls)",
        m.server.throttled,
        pct(m.server.throttled as f64 / m.server.total_calls.max(1) as f64)
    );
    // Where the time went.
    let first_poll = m.first_call_of("getFileDescriptors");
    let last_import = m.last_call_of("bulkImportFile");
    let (lo, hi) = (m.duration.mul_f64(0.1), m.duration.mul_f64(0.9));
    let (steady_calls, _) = m.calls_between(lo, hi);
    println!(
        "  steady state (10%–90% of the run): {:.0} calls/min = {} of the limit",
        steady_calls as f64 / (hi - lo).as_secs_f64() * 60.0,
        pct(steady_calls as f64 / (hi - lo).as_secs_f64() * 60.0 / f64::from(s.limit))
    );
    println!(
        "  timeline: first poll at {:.2} s, last import sent at {:.2} s, tail after it {:.2} s (budget at 100% would spend {:.0} calls there, spent {})",
        first_poll.as_secs_f64(),
        last_import.as_secs_f64(),
        secs - last_import.as_secs_f64(),
        (secs - last_import.as_secs_f64()) * f64::from(s.limit) / 60.0,
        m.calls_between(last_import, m.duration).0
    );
    let server_done = m
        .server_ready_at(m.ready)
        .map_or("not seen".to_string(), |t| {
            format!("{:.2} s", t.as_secs_f64())
        });
    let half = m
        .server_ready_at(m.ready / 2)
        .map_or("not seen".to_string(), |t| {
            format!("{:.2} s", t.as_secs_f64())
        });
    println!(
        "  server side (sampled every 250 ms): half the files READY at {half}, all at {server_done}"
    );
    // The server's bucket replayed from the client's calls: tokens that overflowed it are
    // budget nobody spent.
    let per_sec = f64::from(s.limit) / 60.0;
    let (mut tokens, mut lost_before, mut lost_after) = (f64::from(s.burst), 0.0, 0.0);
    for w in m.samples.windows(2) {
        let dt = (w[1].at - w[0].at).as_secs_f64();
        tokens += dt * per_sec;
        let over = (tokens - f64::from(s.burst)).max(0.0);
        tokens -= over;
        if w[1].at <= last_import {
            lost_before += over;
        } else {
            lost_after += over;
        }
        let admitted = (w[1].total() - w[1].throttled) - (w[0].total() - w[0].throttled);
        tokens -= admitted as f64;
    }
    println!(
        "  budget unused (the server's bucket overflowing): {lost_before:.1} calls before the last import, {lost_after:.1} after it"
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
