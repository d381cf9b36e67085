//! The fault matrix: throttling with and without `Retry-After`, 503s, lost responses, a server
//! restart (connections refused for a while), answers slower than the client's timeout, calls
//! performed and then answered 502/503, per-item failures, failing processing, sources that
//! hang and sources that send an HTML page — each alone, then all at once — against the real
//! `media-migrate run` of a few hundred URL rows and a few local files (small ones by `PUT`,
//! large ones by tus) over several folders. The faults of a route strike the upload URLs too,
//! and each case shows they did. Every case must end with each manifest row
//! once in the report, exactly one server file per row, READY unless its source is broken (or
//! its processing was failed on purpose), and a report whose counts are the server's. The
//! cases are data; `drive` runs one, `checks` judges it.

mod checks;
mod drive;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;
use wix_media_manager::ServerConfig;

use self::drive::{
    Drive, PUT_URL_CALLS, TUS_URL_CALLS, add_stats, drive, early_seed, run_cmd, write_manifest,
};
use crate::support::{SourceServer, TestServer, files_held, read_csv, timerless_client};

const KEY: &str = "faults-test-key";
const SITE: &str = "site-faults";
/// The server's limit for fetching one source where some hang: what a hanging source costs,
/// and still ample for a healthy one on a loaded machine. Other cases keep a long limit.
const HANG_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a restarted server keeps its port closed. While files wait to be READY the run
/// asks at least every 3 s (the readiness poll's longest lateness), sooner while rows are left
/// to send: twice that meets at least one of its calls, however late a loaded machine wakes it.
const OUTAGE: Duration = Duration::from_secs(6);

/// One row of the matrix: a named set of faults and the evidence that they happened.
struct Case {
    name: &'static str,
    /// Faults of the local Media Manager.
    server: fn(&mut ServerConfig),
    /// Every 41st URL row's source accepts the request and never answers.
    hanging_sources: bool,
    /// Every 31st URL row's source answers `text/html` with a page.
    html_sources: bool,
    /// Whether the manifest has local files too, by `PUT` and by tus.
    uploads: bool,
    /// Another client spends the site's budget until the run meets a 429.
    neighbour: bool,
    /// Stop the server once the run is importing, and keep its port closed this long.
    outage: Option<Duration>,
    /// Flags added to the run.
    client: &'static [&'static str],
    /// Faults that must have struck: `<kind>` of the server's `faults` (and, for the faults of
    /// a route, of its `uploadFaults` too when the case has uploads).
    evidence: &'static [&'static str],
    /// Whether rows must have been in doubt and settled by looking at the target.
    settles: bool,
}

impl Case {
    /// A case with `server`'s faults only: healthy sources, URL rows and local files, no side
    /// events, no evidence asked for.
    fn new(name: &'static str, server: fn(&mut ServerConfig)) -> Self {
        Self {
            name,
            server,
            hanging_sources: false,
            html_sources: false,
            uploads: true,
            neighbour: false,
            outage: None,
            client: &[],
            evidence: &[],
            settles: false,
        }
    }
}

fn throttle(c: &mut ServerConfig) {
    // The client asks for 6000/min; the server grants 600/min after a burst of 10 (no less
    // than the client's own burst, or every pause would end in another 429). The neighbour
    // makes sure the run meets the limit.
    c.rate_limit_per_minute = Some(600);
    c.rate_limit_burst = 10;
}

fn slow_answers(c: &mut ServerConfig) {
    // Past the client's one-second timeout: performed, but never answered in time.
    c.faults.slow_response_rate = 0.1;
    c.faults.slow_response = Some("1300..1600".parse().expect("range"));
}

fn processing_failures(c: &mut ServerConfig) {
    c.faults.processing_failure_rate = 0.1;
    c.faults.processing_time = Some("20..200".parse().expect("range"));
}

fn everything(c: &mut ServerConfig) {
    throttle(c);
    c.faults.omit_retry_after = true;
    slow_answers(c);
    processing_failures(c);
    c.faults.slow_response_rate = 0.05;
    c.faults.error_rate = 0.05;
    c.faults.performed_error_rate = 0.05;
    c.faults.lost_response_rate = 0.05;
    c.faults.item_failure_rate = 0.05;
    c.faults.processing_failure_rate = 0.05;
}

/// The faults of a call's route, which strike upload URLs as well as API calls.
const ROUTE_FAULTS: [&str; 4] = ["error503", "lostResponse", "slowResponse", "performedError"];

/// Timeouts of one second, the shortest the CLI takes.
const IMPATIENT: &[&str] = &["--request-timeout-secs", "1"];

fn cases() -> Vec<Case> {
    vec![
        Case {
            neighbour: true,
            ..Case::new("429 with Retry-After", throttle)
        },
        Case {
            neighbour: true,
            ..Case::new("429 without Retry-After", |c| {
                throttle(c);
                c.faults.omit_retry_after = true;
            })
        },
        Case {
            evidence: &["error503"],
            settles: true,
            ..Case::new("503 share", |c| c.faults.error_rate = 0.15)
        },
        Case {
            // Two attempts per row: a storm of 503s must be waited out (looking at the target
            // before each resend), not spend the rows' attempts.
            evidence: &["error503"],
            client: &["--max-attempts", "2"],
            settles: true,
            ..Case::new("503 storm", |c| c.faults.error_rate = 0.4)
        },
        Case {
            // The work is done, then a gateway answers 502 or 503: resending without looking
            // would duplicate.
            evidence: &["performedError"],
            client: &["--max-attempts", "2"],
            settles: true,
            ..Case::new("performed, then 502/503", |c| {
                c.faults.performed_error_rate = 0.2
            })
        },
        Case {
            evidence: &["lostResponse"],
            settles: true,
            ..Case::new("lost responses", |c| c.faults.lost_response_rate = 0.15)
        },
        Case {
            // Few attempts, which refusals must not spend. Long enough that the run, however
            // paced (its source host's window may hold imports until files are READY), calls
            // while the port is closed.
            outage: Some(OUTAGE),
            client: &["--max-attempts", "3"],
            ..Case::new("restart (connections refused)", |_| {})
        },
        Case {
            client: IMPATIENT,
            evidence: &["slowResponse"],
            settles: true,
            ..Case::new("slow responses past the client timeout", slow_answers)
        },
        Case {
            evidence: &["itemFailure"],
            ..Case::new("per-item failures", |c| c.faults.item_failure_rate = 0.15)
        },
        Case {
            evidence: &["processingFailure"],
            ..Case::new("processing failures", processing_failures)
        },
        Case {
            hanging_sources: true,
            ..Case::new("hanging sources", |_| {})
        },
        Case {
            html_sources: true,
            ..Case::new("HTML sources", |_| {})
        },
        Case {
            hanging_sources: true,
            html_sources: true,
            neighbour: true,
            outage: Some(OUTAGE),
            client: IMPATIENT,
            evidence: &[
                "error503",
                "lostResponse",
                "slowResponse",
                "performedError",
                "itemFailure",
                "processingFailure",
            ],
            settles: true,
            ..Case::new("all combined", everything)
        },
    ]
}

/// What a case spent and how it ended, for the table printed at the end.
#[derive(Debug)]
struct Figures {
    rows: usize,
    ready: u64,
    failed: u64,
    server_calls: u64,
    client_calls: u64,
    client_throttled: u64,
    settled: u64,
    secs: f64,
    faults: BTreeMap<String, u64>,
}

/// Runs one case and checks how it ended; panics with the reason when it ended wrong.
async fn run_case(case: &Case, tag: &str, src: &SourceServer) -> Figures {
    let mut s = TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
        c.processing.concurrency = 16;
        if case.hanging_sources {
            c.processing.fetch_timeout = HANG_TIMEOUT;
        }
        (case.server)(c);
        c.faults.seed = early_seed(&c.faults);
    })
    .await;
    let work = tempfile::tempdir().expect("work dir");
    let rows = write_manifest(work.path(), tag, case, src);
    let cmd = run_cmd(&s, work.path(), case.client);
    let started = Instant::now();
    let Drive {
        code,
        out,
        first_life,
    } = drive(case, &mut s, cmd).await;
    let secs = started.elapsed().as_secs_f64();
    let summary: Value = serde_json::from_slice(
        &std::fs::read(work.path().join("reports/summary.json")).expect("summary"),
    )
    .expect("summary json");
    let client_calls = summary["apiCallsTotal"].as_u64().unwrap_or(0);
    let settled = summary["settledInDoubt"].as_u64().unwrap_or(0);
    let mut stats = BTreeMap::new();
    if let Some(first_life) = &first_life {
        add_stats(&mut stats, first_life);
        let second_life = s.stats().await["totalCalls"].as_u64().unwrap_or(0);
        assert!(second_life > 0, "no call reached the restarted server");
    }
    add_stats(&mut stats, &s.stats().await);
    let server_calls = stats["calls"];
    // Unless a 429's pause (up to 2 s) lets the run sit the outage out, it meets refusals.
    if first_life.is_some() && !case.neighbour {
        assert!(
            client_calls > server_calls,
            "the client sent {client_calls} calls and the server received {server_calls}: none was refused"
        );
    }
    if case.neighbour {
        assert!(
            summary["throttled"].as_u64() > Some(0),
            "the run met no 429: {summary}"
        );
    }
    for kind in case.evidence {
        let mut proofs = vec![format!("faults.{kind}")];
        if case.uploads && ROUTE_FAULTS.contains(kind) {
            proofs.push(format!("uploadFaults.{kind}"));
        }
        for proof in proofs {
            assert!(
                stats.get(&proof).copied().unwrap_or(0) > 0,
                "no {proof} happened: {stats:?}"
            );
        }
    }
    if case.uploads {
        for endpoint in [PUT_URL_CALLS, TUS_URL_CALLS] {
            assert!(
                stats.get(endpoint).copied().unwrap_or(0) > 0,
                "no {endpoint}: the run uploaded no file that way: {stats:?}"
            );
        }
    }
    assert!(
        !case.settles || settled > 0,
        "nothing was settled: {summary}"
    );
    // Look at the result without faults in the way.
    let s = s
        .restart(|c| {
            c.api_keys = vec![KEY.to_string()];
            c.site_id = SITE.to_string();
        })
        .await;
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    let files = s.files_with_paths().await;
    let injected = stats
        .get("faults.processingFailure")
        .is_some_and(|n| *n > 0);
    checks::every_row_once(&rows, &report);
    let failed = checks::one_file_per_row(&s, &rows, &report, &files, injected);
    checks::counts_agree(&rows, &summary, &files, failed, code, &out);
    Figures {
        rows: rows.len(),
        ready: summary["counts"]["ready"].as_u64().unwrap_or(0),
        failed,
        server_calls,
        client_calls,
        client_throttled: summary["throttled"].as_u64().unwrap_or(0),
        settled,
        secs,
        faults: stats
            .into_iter()
            .filter(|(k, v)| k.starts_with("faults.") && *v > 0)
            .collect(),
    }
}

/// Every fault alone, then all together: no row lost, no file twice, every row READY or
/// FAILED with a reason as its source deserves, report counts equal to the server's. The
/// cases run at once; `FAULT_CASE=<part of a name>` runs only the matching ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_loses_nothing_and_duplicates_nothing() {
    let only = std::env::var("FAULT_CASE").ok();
    let src = SourceServer::start_on_own_thread();
    let mut tasks = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        if only.as_deref().is_some_and(|o| !case.name.contains(o)) {
            continue;
        }
        let src = src.clone();
        tasks.push((
            case.name,
            tokio::spawn(async move { run_case(&case, &format!("case-{i}"), &src).await }),
        ));
    }
    assert!(!tasks.is_empty(), "FAULT_CASE={only:?} matches no case");
    let mut failures = Vec::new();
    for (name, task) in tasks {
        match task.await {
            Ok(f) => eprintln!(
                "{name:<40} {} rows: {} ready, {} failed; {} calls received ({} sent), {} throttled, {} settled, {:.1}s; {:?}",
                f.rows,
                f.ready,
                f.failed,
                f.server_calls,
                f.client_calls,
                f.client_throttled,
                f.settled,
                f.secs,
                f.faults
            ),
            Err(e) => {
                let panic = e.into_panic();
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(no message)".to_string());
                failures.push(format!("case `{name}`: {message}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `omit_retry_after` (serve `--no-retry-after`) answers 429 with the Wix body but no
/// `Retry-After` header; the stats count the 429 by endpoint. The clock is paused, so the
/// bucket can't refill between the two calls however slow the machine.
#[tokio::test(start_paused = true)]
async fn throttle_without_retry_after_has_no_header() {
    let s = TestServer::start_with(|c| {
        c.rate_limit_per_minute = Some(60);
        c.rate_limit_burst = 1;
        c.faults.omit_retry_after = true;
    })
    .await;
    let http = timerless_client();
    let t0 = Instant::now();
    let first = http.get(s.api("/v1/folders")).send().await.expect("sent");
    assert_eq!(first.status(), StatusCode::OK, "the burst's one call");
    let r = http.get(s.api("/v1/folders")).send().await.expect("sent");
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "beyond the burst"
    );
    assert_eq!(t0.elapsed(), Duration::ZERO, "the clock stood still");
    assert!(
        r.headers().get("retry-after").is_none(),
        "{:?}",
        r.headers()
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["details"]["applicationError"]["code"],
        "RESOURCE_EXHAUSTED"
    );
    let stats: Value = http
        .get(format!("{}/_local/stats", s.url))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json");
    assert_eq!(stats["throttled"], 1, "{stats}");
    assert_eq!(
        stats["throttledCalls"],
        json!({"GET /site-media/v1/folders": 1}),
        "429s are counted by endpoint"
    );
}

/// A slow response is performed at once and answered late: a client that gives up first gets
/// no answer, yet the files exist.
#[tokio::test]
async fn slow_response_performs_then_answers_late() {
    let s = TestServer::start_with(|c| {
        c.faults.slow_response_rate = 1.0;
        c.faults.slow_response = Some("3000".parse().expect("range"));
    })
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let err = impatient
        .post(s.api("/v1/bulk/files/import-v2"))
        .json(&json!({"importFileRequests": [{"url": "http://127.0.0.1:9/a.png"}, {"url": "http://127.0.0.1:9/b.png"}]}))
        .send()
        .await
        .expect_err("the answer comes too late");
    assert!(err.is_timeout(), "{err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = s.stats().await;
        let files = files_held(&stats);
        if files == 2 {
            assert_eq!(stats["faults"]["slowResponse"], 1, "{stats}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the import was never performed: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
