//! The target checked before the work: a wrong key stops at the first call (exit 1, what to
//! check, never the key); nothing listening stops after `--connect-timeout-secs`; a key
//! refused in the middle of a run stops it with the rows not done left queued, and the same
//! command with the right key finishes them, each file once.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{
    ClosedPort, Source, SourceServer, TestServer, bin, png, poll_until, read_csv,
};

const KEY: &str = "right-key-7f3a";
const WRONG: &str = "wrong-key-91c2";

fn manifest(work: &Path, src: &SourceServer, rows: u32) {
    let mut csv = String::from("source,folder_path\n");
    for i in 0..rows {
        let url = src.add(
            &format!("/t/{i}.png"),
            Source::bytes("image/png", png(4 + i % 9, 4 + i / 9)),
        );
        csv.push_str(&format!("{url},/target\n"));
    }
    std::fs::write(work.join("m.csv"), csv).expect("manifest");
}

fn run(work: &Path, base_url: &str, key: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args([
            "run",
            "m.csv",
            "--base-url",
            base_url,
            "--site-id",
            "local-site",
        ])
        .args(["--journal", "journal.sqlite", "--report-dir", "reports"])
        .args(extra)
        .env("WIX_API_KEY", key)
        .stdin(Stdio::null());
    cmd
}

async fn output(mut cmd: Command) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("join");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn journal_states(work: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(work.join("journal.sqlite")).expect("journal");
    let mut stmt = conn
        .prepare("SELECT state, COUNT(*) FROM rows GROUP BY state ORDER BY state")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(Result::unwrap)
        .collect()
}

/// A wrong key: one call, exit 1, the advice names what to check and never the key; then the
/// right key migrates everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_stops_after_the_first_call() {
    let s = TestServer::start_with(|c| c.api_keys = vec![KEY.to_string()]).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    manifest(work.path(), &src, 30);
    let (code, out) = output(run(work.path(), &s.url, WRONG, &[])).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused the API key"), "{out}");
    assert!(out.contains("WIX_API_KEY"), "{out}");
    assert!(!out.contains(WRONG), "the key never shows: {out}");
    let stats = s.stats().await;
    assert!(
        stats["totalCalls"].as_u64() <= Some(1),
        "one call, then stop: {stats}"
    );
    assert_eq!(
        stats["calls"]["POST /site-media/v1/bulk/files/import-v2"],
        serde_json::Value::Null
    );
    let (code, out) = output(run(work.path(), &s.url, KEY, &[])).await;
    assert_eq!(code, 0, "{out}");
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(report.len(), 30);
    assert!(report.iter().all(|r| r["status"] == "ready"), "{report:?}");
}

/// Nothing listening at the base URL: asked again with backoff until the patience runs out,
/// then exit 1 saying what to check.
#[tokio::test]
async fn an_unreachable_target_exits_after_the_connect_timeout() {
    let closed_port = ClosedPort::bind();
    let closed = closed_port.url();
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    manifest(work.path(), &src, 3);
    let flags = ["--connect-timeout-secs", "2"];
    let (code, out) = output(run(work.path(), &closed, KEY, &flags)).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did not answer"), "{out}");
    assert!(out.contains(&closed), "names the base URL: {out}");
    assert!(out.contains("--connect-timeout-secs"), "{out}");
}

/// The key refused in the middle of a run (revoked while it ran): the run stops with exit 1
/// and no row failed for it; the same command with a valid key finishes every row, each file
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_refused_mid_run_leaves_rows_queued_and_a_rerun_finishes() {
    let mut s = TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.processing.concurrency = 2;
    })
    .await;
    let src = SourceServer::start().await;
    src.load
        .latency_ms
        .store(20, std::sync::atomic::Ordering::SeqCst);
    let work = tempfile::tempdir().expect("work");
    manifest(work.path(), &src, 200);
    let slow = ["--batch-size", "10", "--rate", "120", "--concurrency", "2"];
    let mut child = run(work.path(), &s.url, KEY, &slow)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    // Revoke the key once some rows are in.
    let imports = |stats: serde_json::Value| {
        stats["calls"]["POST /site-media/v1/bulk/files/import-v2"]
            .as_u64()
            .unwrap_or(0)
    };
    poll_until(&mut child, "two imports started", async || {
        (imports(s.stats().await) >= 2).then_some(())
    })
    .await;
    s.config.api_keys = vec!["another-key".to_string()];
    s.bounce(Duration::ZERO).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("run ends");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("refused the API key"), "{text}");
    let states = journal_states(work.path());
    assert!(
        !states.iter().any(|(s, _)| s == "failed"),
        "no row failed for the key: {states:?}"
    );
    assert!(
        states.iter().any(|(s, n)| s == "queued" && *n > 0),
        "rows left to send: {states:?}"
    );
    s.config.api_keys = vec![KEY.to_string()];
    s.bounce(Duration::ZERO).await;
    let (code, out) = output(run(work.path(), &s.url, KEY, &[])).await;
    assert_eq!(code, 0, "{out}");
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert!(report.iter().all(|r| r["status"] == "ready"), "{out}");
    let live = s.files_with_paths().await;
    assert_eq!(live.len(), 200, "each file once");
}

/// A target refused at first (its port bound, not yet listening) and up a moment later, within
/// `--connect-timeout-secs`: the check asks again with backoff instead of giving up at the first
/// refusal, and the run migrates every row. The target starts listening only once the run has
/// said it is asking again, so the first attempt was certainly refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_comes_up_late_is_waited_for() {
    use std::io::BufRead;
    // Bound and not listening: connections are refused, and the port stays ours.
    let port = ClosedPort::bind();
    let base_url = port.url();
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    manifest(work.path(), &src, 5);
    let flags = ["--connect-timeout-secs", "60"];
    let mut child = run(work.path(), &base_url, KEY, &flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let stdout = child.stdout.take().expect("stdout");
    let stdout = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    // Every stderr line goes to the channel; the thread returns them all at the end.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stderr = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let asked_again = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = rx.recv().await {
            if line.contains("asking again") {
                return true;
            }
        }
        false
    })
    .await
    .expect("the run said something within 30 s");
    if !asked_again {
        let status = child.wait().expect("run ends");
        panic!(
            "the run gave up at the first refused connection ({status}):\n{}{}",
            stdout.join().expect("stdout"),
            stderr.join().expect("stderr")
        );
    }
    let listener = port.listen();
    wix_media_manager::install_crypto_provider();
    let mut config = wix_media_manager::ServerConfig::new(work.path().join("target-data"));
    config.api_keys = vec![KEY.to_string()];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(wix_media_manager::serve(listener, config, async move {
        let _ = stopped.await;
    }));
    let status = tokio::task::spawn_blocking(move || child.wait().expect("run ends"))
        .await
        .expect("join");
    let text = stdout.join().expect("stdout") + &stderr.join().expect("stderr");
    assert_eq!(status.code(), Some(0), "{text}");
    let report = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(report.len(), 5, "{text}");
    assert!(report.iter().all(|r| r["status"] == "ready"), "{report:?}");
    let _ = stop.send(());
    server.await.expect("server task").expect("server ran");
}
