//! Private sources: `--source-header 'HOST: Name: value'` reaches the target as the imports'
//! `urlHeaders` and goes with `plan --probe`'s requests, so a source that needs a header is
//! imported and probed; without it the same rows fail. The value never reaches the journal,
//! the reports or the logs.

use std::path::Path;
use std::process::Command;

use rusqlite::OptionalExtension;

use crate::support::{
    Blip, ClosedPort, Source, SourceServer, TestServer, bin, kill_when, png, read_csv, run_to_end,
    wait_journal,
};

const TOKEN: &str = "tok-5e3c19a7-private";

/// A source server with three files that need `X-Token` and two public ones; returns the
/// manifest's rows (url, needs the header).
async fn private_sources(src: &SourceServer) -> Vec<(String, bool)> {
    (0..5)
        .map(|i| {
            let needs = i % 2 == 0;
            let mut source = Source::bytes("image/png", png(6 + i, 4));
            if needs {
                source.require_header = Some(("x-token".to_string(), TOKEN.to_string()));
            }
            (src.add(&format!("/p/{i}.png"), source), needs)
        })
        .collect()
}

fn write_manifest(work: &Path, rows: &[(String, bool)]) {
    let mut csv = String::from("source,folder_path\n");
    for (url, _) in rows {
        csv.push_str(&format!("{url},/private\n"));
    }
    std::fs::write(work.join("m.csv"), csv).expect("manifest");
}

fn run(s: &TestServer, work: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["-vv", "run", "m.csv", "--base-url", &s.url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--journal", "journal.sqlite", "--report-dir", "reports"])
        .args(["--rate", "6000", "--wait-timeout-secs", "60"])
        .args(extra)
        .env("SOURCE_TOKEN", TOKEN);
    cmd
}

/// Every file under `dir`, read as bytes (reports, the journal and its WAL).
fn contains_anywhere(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            hits.push(entry.display().to_string());
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// With the header (read from the environment) every row is READY; without it the rows that
/// need it fail and the public ones don't. The token is in no journal, report or log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_headers_open_private_sources_and_stay_secret() {
    let s = TestServer::start_with(|c| {
        c.api_keys = vec!["k".to_string()];
    })
    .await;
    let src = SourceServer::start().await;
    let rows = private_sources(&src).await;

    let with = tempfile::tempdir().expect("work dir");
    write_manifest(with.path(), &rows);
    let header = "127.0.0.1: X-Token: @env:SOURCE_TOKEN";
    let (code, out) = run_to_end(run(&s, with.path(), &["--source-header", header])).await;
    assert_eq!(code, 0, "{out}");
    let report = read_csv(&with.path().join("reports/reconciliation.csv"));
    assert_eq!(report.len(), rows.len(), "{report:?}");
    for r in &report {
        assert_eq!(r["status"], "ready", "{r:?}");
    }
    assert!(!out.contains(TOKEN), "the token is in the run's output");
    let leaks = contains_anywhere(with.path(), TOKEN);
    assert!(leaks.is_empty(), "the token is in {leaks:?}");

    // A fresh journal on the same site would adopt the files the first run made: imported
    // afresh instead, to meet the sources again.
    let without = tempfile::tempdir().expect("work dir");
    write_manifest(without.path(), &rows);
    let (code, out) = run_to_end(run(&s, without.path(), &["--no-adopt"])).await;
    assert_eq!(code, 3, "rows needing the header must fail: {out}");
    let report = read_csv(&without.path().join("reports/reconciliation.csv"));
    for ((url, needs), r) in rows.iter().zip(&report) {
        assert_eq!(&r["source"], url);
        let want = if *needs { "failed" } else { "ready" };
        assert_eq!(r["status"], want, "{r:?}");
    }
}

/// `plan --probe` sends the header to its host: the private sources answer `ok` with it and
/// 403 without it.
#[tokio::test]
async fn probes_send_source_headers() {
    let src = SourceServer::start().await;
    let rows = private_sources(&src).await;
    let work = tempfile::tempdir().expect("work dir");
    write_manifest(work.path(), &rows);
    let plan = |extra: &[&str]| {
        let mut cmd = Command::new(bin());
        cmd.current_dir(work.path())
            .args(["plan", "m.csv", "--probe", "--probe-timeout-secs", "5"])
            .args(extra);
        cmd
    };
    let header = format!("127.0.0.1: X-Token: {TOKEN}");
    let (code, out) = run_to_end(plan(&["--source-header", &header])).await;
    assert_eq!(code, 0, "{out}");
    let probed = read_csv(&work.path().join("plan/plan.csv"));
    assert!(
        probed.iter().all(|r| r["probe_status"] == "ok"),
        "{probed:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(work.path().join("plan/plan.json")).expect("plan.json"),
    )
    .expect("json");
    assert_eq!(
        summary["sourceHosts"],
        serde_json::json!({"127.0.0.1": rows.len()}),
        "the hosts the Media Manager will fetch from"
    );
    assert!(out.contains("1 source hosts (127.0.0.1 5)"), "{out}");
    assert!(!out.contains(TOKEN), "the token is in plan's output");
    let leaks = contains_anywhere(&work.path().join("plan"), TOKEN);
    assert!(leaks.is_empty(), "the token is in {leaks:?}");

    let (code, out) = run_to_end(plan(&[])).await;
    assert_eq!(code, 3, "{out}");
    let probed = read_csv(&work.path().join("plan/plan.csv"));
    for ((_, needs), r) in rows.iter().zip(&probed) {
        let want = if *needs { "http-403" } else { "ok" };
        assert_eq!(r["probe_status"], want, "{r:?}");
    }
}

/// A malformed flag is a usage error (exit 2) that names the flag, not its value.
#[tokio::test]
async fn a_bad_source_header_is_a_usage_error() {
    let work = tempfile::tempdir().expect("work dir");
    std::fs::write(
        work.path().join("m.csv"),
        "source\nhttps://example.com/a.png\n",
    )
    .unwrap();
    let mut cmd = Command::new(bin());
    cmd.current_dir(work.path()).args([
        "plan",
        "m.csv",
        "--source-header",
        "example.com X-Token hush-value",
    ]);
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--source-header #1"), "{out}");
    assert!(!out.contains("hush-value"), "{out}");
}

/// A row whose file comes back FAILED is explained by asking its source: each kind of broken
/// source gets its own code, what was seen and a hint, in the reconciliation and in
/// `failed.csv` (with its line); a healthy-looking source keeps `PROCESSING_FAILED`; the last
/// line names the reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_rows_are_explained_by_their_sources() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".to_string()]).await;
    let src = SourceServer::start().await;
    let mut forbidden = Source::bytes("image/png", png(5, 5));
    forbidden.require_header = Some(("x-token".to_string(), TOKEN.to_string()));
    let mut missing = Source::bytes("text/plain", b"not here".to_vec());
    missing.status = 404;
    let mut looping = Source::bytes("image/png", Vec::new());
    looping.redirect_to = Some("/loop.png".to_string());
    let closed_port = ClosedPort::bind();
    let closed = format!("{}/gone.png", closed_port.url());
    let cases = [
        (
            src.add("/ok.png", Source::bytes("image/png", png(7, 7))),
            "",
        ),
        (src.add("/missing.png", missing), "SOURCE_NOT_FOUND"),
        (
            src.add("/page.png", Source::html_page()),
            "SOURCE_NOT_MEDIA",
        ),
        (src.add("/private.png", forbidden), "SOURCE_FORBIDDEN"),
        (src.add("/loop.png", looping), "SOURCE_REDIRECT_LOOP"),
        (closed, "SOURCE_UNREACHABLE"),
        (
            src.add(
                "/fake.png",
                Source::bytes("image/png", b"no png at all".to_vec()),
            ),
            "PROCESSING_FAILED",
        ),
    ];
    let work = tempfile::tempdir().expect("work dir");
    let rows: Vec<(String, bool)> = cases.iter().map(|(u, _)| (u.clone(), false)).collect();
    write_manifest(work.path(), &rows);
    let (code, out) = run_to_end(run(&s, work.path(), &[])).await;
    assert_eq!(code, 3, "{out}");
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(report.len(), cases.len());
    for ((url, want), r) in cases.iter().zip(&report) {
        assert_eq!(&r["source"], url);
        if want.is_empty() {
            assert_eq!(r["status"], "ready", "{r:?}");
            continue;
        }
        assert_eq!(r["status"], "failed", "{r:?}");
        assert_eq!(&r["error_code"], want, "{r:?}");
        assert!(
            !r["error_message"].is_empty() && !r["hint"].is_empty(),
            "{r:?}"
        );
    }
    let by_code = |code: &str| {
        report
            .iter()
            .find(|r| r["error_code"] == code)
            .expect("row")
            .clone()
    };
    assert!(by_code("SOURCE_NOT_FOUND")["error_message"].contains("404"));
    assert!(by_code("SOURCE_NOT_MEDIA")["error_message"].contains("text/html"));
    assert!(by_code("SOURCE_FORBIDDEN")["error_message"].contains("403"));
    let failed = read_csv(&work.path().join("reports/failed.csv"));
    assert_eq!(failed.len(), cases.len() - 1);
    for f in &failed {
        let line: usize = f["line"].parse().expect("line");
        let (url, want) = &cases[line - 2];
        assert_eq!(&f["source"], url, "{f:?}");
        assert_eq!(&f["error_code"], want, "{f:?}");
        assert!(!f["hint"].is_empty(), "{f:?}");
    }
    assert!(out.contains("why: "), "{out}");
    assert!(out.contains("SOURCE_NOT_FOUND"), "{out}");
}

/// A host that doesn't answer is asked a few times, not once per failed row: after four
/// silent probes its other rows get the same reason without a probe of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_host_is_not_probed_for_every_row() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".to_string()]).await;
    let closed_port = ClosedPort::bind();
    let closed = closed_port.addr;
    let rows: Vec<(String, bool)> = (0..7)
        .map(|i| (format!("http://{closed}/gone-{i}.png"), false))
        .collect();
    let work = tempfile::tempdir().expect("work dir");
    write_manifest(work.path(), &rows);
    let (code, out) = run_to_end(run(&s, work.path(), &[])).await;
    assert_eq!(code, 3, "{out}");
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert!(
        report
            .iter()
            .all(|r| r["error_code"] == "SOURCE_UNREACHABLE"),
        "{report:?}"
    );
    let unprobed = report
        .iter()
        .filter(|r| r["error_message"].contains("did not answer probes of 4 other rows"))
        .count();
    assert_eq!(unprobed, 3, "{report:?}");
}

/// `--retry-failed` after the source was fixed: the failed rows are imported again and end
/// READY, and their FAILED files go to the trash (`--keep-failed-files` leaves them live);
/// without the flag a re-run leaves them failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_failed_reimports_after_the_source_is_fixed() {
    for keep in [false, true] {
        let s = TestServer::start_with(|c| c.api_keys = vec!["k".to_string()]).await;
        let src = SourceServer::start().await;
        let mut gone = Source::bytes("text/plain", b"not yet".to_vec());
        gone.status = 404;
        let broken = src.add("/later.png", gone);
        let fine = src.add("/fine.png", Source::bytes("image/png", png(9, 9)));
        let rows = vec![(fine.clone(), false), (broken.clone(), false)];
        let work = tempfile::tempdir().expect("work dir");
        write_manifest(work.path(), &rows);
        let (code, out) = run_to_end(run(&s, work.path(), &[])).await;
        assert_eq!(code, 3, "{out}");
        let first = read_csv(&work.path().join("reports/reconciliation.csv"));
        assert_eq!(first[1]["error_code"], "SOURCE_NOT_FOUND", "{first:?}");
        let failed_file = first[1]["file_id"].clone();
        assert!(!failed_file.is_empty(), "{first:?}");

        src.add("/later.png", Source::bytes("image/png", png(11, 11)));
        let (code, out) = run_to_end(run(&s, work.path(), &[])).await;
        assert_eq!(code, 3, "a plain re-run leaves failed rows failed: {out}");

        let flags: &[&str] = if keep {
            &["--retry-failed", "--keep-failed-files"]
        } else {
            &["--retry-failed"]
        };
        let (code, out) = run_to_end(run(&s, work.path(), flags)).await;
        assert_eq!(code, 0, "{out}");
        let last = read_csv(&work.path().join("reports/reconciliation.csv"));
        assert!(last.iter().all(|r| r["status"] == "ready"), "{last:?}");
        assert_eq!(
            last[0]["file_id"], first[0]["file_id"],
            "the ready row is untouched"
        );
        assert_ne!(
            last[1]["file_id"], failed_file,
            "a new file for the retried row"
        );
        let live = s.files_with_paths().await;
        let of = |url: &str| -> Vec<String> {
            live.iter()
                .filter(|(_, f)| f["sourceUrl"] == url)
                .map(|(_, f)| f["operationStatus"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(of(&fine), vec!["READY"], "{live:?}");
        let want: Vec<&str> = if keep {
            vec!["READY", "FAILED"]
        } else {
            vec!["READY"]
        };
        let mut got = of(&broken);
        got.sort_by(|a, b| b.cmp(a));
        assert_eq!(got, want, "keep={keep}: {live:?}");
    }
}

/// Sources that blip — the first requests answered 503, or 429 with `Retry-After`, or a body
/// cut off halfway — are imported again automatically, their FAILED files moved to the trash
/// first: every row ends READY with one live file. With `--max-processing-attempts 1` they stay
/// failed, each with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_source_failures_are_imported_again() {
    for attempts in ["3", "1"] {
        let s = TestServer::start_with(|c| c.api_keys = vec!["k".to_string()]).await;
        let src = SourceServer::start().await;
        // The Media Manager's fetch and the probe that explains it both meet the blip.
        let blips = [
            (Blip::Unavailable, "SOURCE_ERROR"),
            (Blip::Throttled, "SOURCE_THROTTLED"),
            // A probe asks for no body, so the cut one looks healthy.
            (Blip::CutBody, "PROCESSING_FAILED"),
        ];
        let mut rows = vec![(
            src.add("/steady.png", Source::bytes("image/png", png(6, 6))),
            false,
        )];
        for (i, (blip, _)) in blips.iter().enumerate() {
            let source = Source::bytes("image/png", png(8 + i as u32, 8)).failing_first(2, *blip);
            rows.push((src.add(&format!("/blip-{i}.png"), source), false));
        }
        let work = tempfile::tempdir().expect("work dir");
        write_manifest(work.path(), &rows);
        let flags = ["--max-processing-attempts", attempts];
        let (code, out) = run_to_end(run(&s, work.path(), &flags)).await;
        let report = read_csv(&work.path().join("reports/reconciliation.csv"));
        let live = s.files_with_paths().await;
        for (i, (url, _)) in rows.iter().enumerate() {
            let statuses: Vec<&str> = live
                .iter()
                .filter(|(_, f)| f["sourceUrl"] == url.as_str())
                .map(|(_, f)| f["operationStatus"].as_str().unwrap_or(""))
                .collect();
            if attempts == "3" || i == 0 {
                assert_eq!(report[i]["status"], "ready", "{:?}", report[i]);
                assert_eq!(statuses, vec!["READY"], "one live file for {url}: {live:?}");
            } else {
                let (blip, code) = blips[i - 1];
                assert_eq!(report[i]["status"], "failed", "{blip:?}: {:?}", report[i]);
                assert_eq!(report[i]["error_code"], code, "{blip:?}: {:?}", report[i]);
                assert_eq!(statuses, vec!["FAILED"], "{live:?}");
            }
        }
        if attempts == "3" {
            assert_eq!(code, 0, "{out}");
            assert!(out.contains("importing them again"), "{out}");
        } else {
            assert_eq!(code, 3, "{out}");
        }
    }
}

/// `n` distinct PNGs at `/f/<i>.png` of `src`, as manifest rows.
fn many(src: &SourceServer, n: u32) -> Vec<(String, bool)> {
    (0..n)
        .map(|i| {
            let source = Source::bytes("image/png", png(4 + i % 13, 3 + i / 13));
            (src.add(&format!("/f/{i}.png"), source), false)
        })
        .collect()
}

/// Every row ready, one live file for each, READY.
async fn all_ready_once(s: &TestServer, work: &Path, rows: &[(String, bool)]) {
    let report = read_csv(&work.join("reports/reconciliation.csv"));
    assert!(report.iter().all(|r| r["status"] == "ready"), "{report:?}");
    let live = s.files_with_paths().await;
    for (url, _) in rows {
        let statuses: Vec<&str> = live
            .iter()
            .filter(|(_, f)| f["sourceUrl"] == url.as_str())
            .map(|(_, f)| f["operationStatus"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(statuses, vec!["READY"], "one live file for {url}");
    }
}

/// `--source-host-limit N`: the target never fetches more than N files of one host at once,
/// where it would fetch as many as its workers allow without the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_host_limit_caps_the_files_in_fetch() {
    for limit in [Some("3"), None] {
        let s = TestServer::start_with(|c| {
            c.api_keys = vec!["k".to_string()];
            c.processing.concurrency = 16;
        })
        .await;
        let src = SourceServer::start().await;
        // Slow answers, so fetches overlap as much as the target lets them.
        src.load
            .latency_ms
            .store(150, std::sync::atomic::Ordering::SeqCst);
        let rows = many(&src, 40);
        let work = tempfile::tempdir().expect("work dir");
        write_manifest(work.path(), &rows);
        let flags: Vec<&str> = limit.map_or(vec![], |n| vec!["--source-host-limit", n]);
        let (code, out) = run_to_end(run(&s, work.path(), &flags)).await;
        assert_eq!(code, 0, "{out}");
        all_ready_once(&s, work.path(), &rows).await;
        let peak = src.load.peak();
        match limit {
            Some(_) => assert!(peak <= 3, "peak {peak} fetches at once with a limit of 3"),
            None => assert!(peak > 3, "peak {peak}: without the flag the cap is a batch"),
        }
    }
}

/// A host that answers 503 once it has a few requests in flight: its window is cut, the rows
/// that failed under the load are imported again at the pace it bears, and every row arrives
/// once. The run says which host it paced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_host_is_paced_and_every_row_arrives() {
    let s = TestServer::start_with(|c| {
        c.api_keys = vec!["k".to_string()];
        c.processing.concurrency = 16;
    })
    .await;
    let src = SourceServer::start().await;
    src.load
        .refuse_at
        .store(4, std::sync::atomic::Ordering::SeqCst);
    src.load
        .latency_ms
        .store(100, std::sync::atomic::Ordering::SeqCst);
    let rows = many(&src, 60);
    let work = tempfile::tempdir().expect("work dir");
    write_manifest(work.path(), &rows);
    let flags = ["--batch-size", "20", "--max-processing-attempts", "6"];
    let (code, out) = run_to_end(run(&s, work.path(), &flags)).await;
    assert_eq!(code, 0, "{out}");
    assert!(src.load.refused() > 0, "the host was overloaded at first");
    assert!(
        out.contains(&format!("source host {} failed under load", src.addr)),
        "{out}"
    );
    all_ready_once(&s, work.path(), &rows).await;
}

/// A host that refuses connections at first (not listening yet) and comes up a moment later:
/// its rows fail SOURCE_UNREACHABLE, are imported again, and arrive once each, with no FAILED
/// file of ours left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_refusing_connections_for_a_while_heals() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".to_string()]).await;
    // A port of ours that refuses connections until it listens.
    let closed = ClosedPort::bind();
    let port = closed.addr.port();
    let rows: Vec<(String, bool)> = (0..6)
        .map(|i| (format!("http://127.0.0.1:{port}/late/{i}.png"), false))
        .collect();
    let work = tempfile::tempdir().expect("work dir");
    write_manifest(work.path(), &rows);
    let mut child = run(&s, work.path(), &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // The host comes up once every row's first fetch failed and the run knows why (the
    // journal, read beside the run, says so).
    let journal = work.path().join("journal.sqlite");
    wait_journal(
        &mut child,
        &journal,
        "every row's first fetch failed",
        |c| {
            let failed: i64 = c.query_row(
                "SELECT COUNT(*) FROM rows
                 WHERE error_code = 'SOURCE_UNREACHABLE' OR reimports > 0",
                [],
                |r| r.get(0),
            )?;
            Ok((failed == rows.len() as i64).then_some(()))
        },
    )
    .await;
    let listener = closed.listen();
    let src = SourceServer::start_on(listener);
    for i in 0..6 {
        src.add(
            &format!("/late/{i}.png"),
            Source::bytes("image/png", png(5 + i, 5)),
        );
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("run ends");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("importing them again"), "{text}");
    all_ready_once(&s, work.path(), &rows).await;
    let journal = rusqlite::Connection::open(work.path().join("journal.sqlite")).expect("journal");
    let reimports: i64 = journal
        .query_row("SELECT MIN(reimports) FROM rows", [], |r| r.get(0))
        .expect("reimports");
    assert!(reimports >= 1, "every row was imported again");
}

/// Every kind of source trouble at once, with API answers lost, and the run SIGKILLed while
/// it imports rows again, then resumed: the rows that can heal end READY with one live file
/// each and no FAILED file of theirs left live; the others end failed with their reason and
/// one FAILED file; the trash holds only FAILED files the runs made for rows that healed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_trouble_lost_answers_and_a_kill_during_reimport() {
    let s = TestServer::start_with(|c| {
        c.api_keys = vec!["k".to_string()];
        c.faults.seed = 11;
        c.faults.lost_response_rate = 0.1;
    })
    .await;
    let src = SourceServer::start().await;
    let mut rows: Vec<(String, &str)> = Vec::new();
    for i in 0..4 {
        let ok = Source::bytes("image/png", png(5 + i, 5));
        rows.push((src.add(&format!("/ok/{i}.png"), ok), "ready"));
    }
    for (i, blip) in [Blip::Unavailable, Blip::Throttled, Blip::CutBody]
        .into_iter()
        .cycle()
        .take(6)
        .enumerate()
    {
        let flaky = Source::bytes("image/png", png(7 + i as u32, 7)).failing_first(2, blip);
        rows.push((src.add(&format!("/blip/{i}.png"), flaky), "ready"));
    }
    let mut private = Source::bytes("image/png", png(9, 4));
    private.require_header = Some(("x-token".to_string(), TOKEN.to_string()));
    rows.push((src.add("/private.png", private), "ready"));
    let mut gone = Source::bytes("text/plain", b"no".to_vec());
    gone.status = 404;
    rows.push((src.add("/gone.png", gone), "SOURCE_NOT_FOUND"));
    rows.push((
        src.add("/page.png", Source::html_page()),
        "SOURCE_NOT_MEDIA",
    ));
    let mut looping = Source::bytes("image/png", Vec::new());
    looping.redirect_to = Some("/loop.png".to_string());
    rows.push((src.add("/loop.png", looping), "SOURCE_REDIRECT_LOOP"));
    let work = tempfile::tempdir().expect("work dir");
    let manifest: Vec<(String, bool)> = rows.iter().map(|(u, _)| (u.clone(), false)).collect();
    write_manifest(work.path(), &manifest);
    let flags = ["--source-header", "127.0.0.1: X-Token: @env:SOURCE_TOKEN"];

    // Killed once rows imported again are on their way: sent, in doubt or accepted.
    let log = work.path().join("first-run.log");
    let mut child = run(&s, work.path(), &flags)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("run");
    let journal = work.path().join("journal.sqlite");
    // Not `queued`: rows to import again wait through a pause before they are sent.
    let at_kill = kill_when(
        &mut child,
        &journal,
        &format!("rows imported again on their way (log: {})", log.display()),
        |c| {
            c.query_row(
                "SELECT state, COUNT(*) FROM rows
                 WHERE reimports > 0 AND state IN ('sending', 'in_doubt', 'accepted')
                 GROUP BY state ORDER BY 2 DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
        },
    )
    .await;
    eprintln!("killed with rows imported again {at_kill:?}");

    // Resumed until it ends.
    let mut ended = None;
    for _ in 0..5 {
        let (code, out) = run_to_end(run(&s, work.path(), &flags)).await;
        if code == 0 || code == 3 {
            ended = Some((code, out));
            break;
        }
    }
    let (code, out) = ended.expect("a resumed run ends");
    assert_eq!(code, 3, "the permanent failures remain: {out}");

    // Looked at through the same data served again without faults.
    let mut s = s;
    s.config.faults = Default::default();
    s.bounce(std::time::Duration::ZERO).await;
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    let live = s.files_with_paths().await;
    let trash = s.ok_get("/v1/trash-bin/files?paging.limit=100").await;
    let trashed = trash["files"].as_array().expect("trashed files");
    let conn = rusqlite::Connection::open(&journal).expect("journal");
    for ((url, want), r) in rows.iter().zip(&report) {
        assert_eq!(&r["source"], url);
        let statuses: Vec<&str> = live
            .iter()
            .filter(|(_, f)| f["sourceUrl"] == url.as_str())
            .map(|(_, f)| f["operationStatus"].as_str().unwrap_or(""))
            .collect();
        if *want == "ready" {
            assert_eq!(r["status"], "ready", "{r:?}");
            assert_eq!(statuses, vec!["READY"], "one live READY file for {url}");
        } else {
            assert_eq!(r["status"], "failed", "{r:?}");
            assert_eq!(&r["error_code"], want, "{r:?}");
            assert_eq!(statuses, vec!["FAILED"], "one FAILED file for {url}");
        }
        if url.contains("/blip/") {
            let reimports: i64 = conn
                .query_row("SELECT reimports FROM rows WHERE source = ?1", [url], |r| {
                    r.get(0)
                })
                .expect("row");
            assert!(reimports >= 1, "{url} was imported again");
        }
    }
    for f in trashed {
        let url = f["sourceUrl"].as_str().unwrap_or("");
        assert!(
            url.contains("/blip/"),
            "only FAILED files of healed rows go to the trash: {f}"
        );
        assert_eq!(f["operationStatus"], "FAILED", "{f}");
    }
    assert!(
        !trashed.is_empty(),
        "the FAILED files of healed rows were trashed"
    );
}

/// A stock `python3 -m http.server` (its listen backlog is 5), killed when dropped.
struct PythonServer {
    child: std::process::Child,
    base: String,
}

impl PythonServer {
    /// Serves `dir` on a port the system picks; waits until it answers.
    fn start(dir: &Path) -> Self {
        use std::io::BufRead;
        let python = crate::tools::python3();
        let mut child = Command::new(&python)
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}", python.display()));
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("python3 -m http.server says where it serves");
        // "Serving HTTP on 127.0.0.1 port 43117 (http://127.0.0.1:43117/) ..."
        let port: u16 = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stock `python3 -m http.server` (one thread per connection, a listen backlog of 5) as the
/// only source host, under the burst a trusted host gets (full batches at once, the target
/// fetching 64 at a time): every row READY with one live file, three runs in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_python_http_server_gets_every_row_home() {
    let files = tempfile::tempdir().expect("files dir");
    for i in 0..400u32 {
        std::fs::write(
            files.path().join(format!("{i}.png")),
            png(4 + i % 17, 3 + i / 17),
        )
        .expect("png");
    }
    let python = PythonServer::start(files.path());
    let rows: Vec<(String, bool)> = (0..400)
        .map(|i| (format!("{}/{i}.png", python.base), false))
        .collect();
    for attempt in 1..=3 {
        let s = TestServer::start_with(|c| {
            c.api_keys = vec!["k".to_string()];
            c.processing.concurrency = 64;
        })
        .await;
        let work = tempfile::tempdir().expect("work dir");
        write_manifest(work.path(), &rows);
        let (code, out) = run_to_end(run(&s, work.path(), &[])).await;
        assert_eq!(code, 0, "run {attempt}: {out}");
        all_ready_once(&s, work.path(), &rows).await;
    }
}
