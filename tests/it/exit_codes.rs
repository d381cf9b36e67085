//! One meaning per exit code across `plan`, `run` and `reconcile` for the same manifest and
//! target: 0 every row done, 3 some rows not done, 1 fatal, 2 usage (130, interrupted, is
//! `cli::ctrl_c_stops_cleanly_and_rerun_finishes`'s).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{ClosedPort, Source, SourceServer, TestServer, bin, png};

async fn code_of(work: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(bin());
    // The default journal of a site goes under the data dir: keep it in the test's folder.
    cmd.current_dir(work)
        .args(args)
        .env("XDG_DATA_HOME", work.join("data"))
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("join");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Each command on `manifest` against `s`: plan, run, reconcile, in that order.
async fn three(s: &TestServer, work: &Path, manifest: &str) -> [(i32, String); 3] {
    let target = [
        "--base-url",
        &s.url,
        "--api-key",
        "k",
        "--site-id",
        "local-site",
    ];
    let plan = code_of(work, &["plan", manifest]).await;
    let run = code_of(work, &[&["run", manifest][..], &target].concat()).await;
    let reconcile = code_of(work, &[&["reconcile", manifest][..], &target].concat()).await;
    [plan, run, reconcile]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_run_and_reconcile_agree_on_every_code() {
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".to_string()]).await;
    let src = SourceServer::start().await;
    let a = src.add("/a.png", Source::bytes("image/png", png(5, 5)));
    let b = src.add("/b.png", Source::bytes("image/png", png(6, 6)));
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    // Clean, with a duplicate line: every row done → 0 everywhere.
    std::fs::write(
        w.join("clean.csv"),
        format!("source,folder_path\n{a},/x\n{b},/x\n{a},/x\n"),
    )
    .expect("write");
    for (cmd, (code, out)) in ["plan", "run", "reconcile"]
        .iter()
        .zip(three(&s, w, "clean.csv").await)
    {
        assert_eq!(code, 0, "{cmd} on a clean manifest: {out}");
    }
    // The same rows and an invalid one: some rows not done → 3 everywhere.
    std::fs::write(
        w.join("partial.csv"),
        format!("source,folder_path\n{a},/x\n{b},/x\nnot a url at all,/x\n"),
    )
    .expect("write");
    for (cmd, (code, out)) in ["plan", "run", "reconcile"]
        .iter()
        .zip(three(&s, w, "partial.csv").await)
    {
        assert_eq!(code, 3, "{cmd} with an invalid row: {out}");
    }
    // A flag that doesn't exist → 2 everywhere.
    for cmd in ["plan", "run", "reconcile"] {
        let (code, out) = code_of(w, &[cmd, "clean.csv", "--no-such-flag"]).await;
        assert_eq!(code, 2, "{cmd}: {out}");
    }
    // A batch over Bulk Import's 100 items → 2, naming the limit, before any call.
    for cmd in ["plan", "run"] {
        let (code, out) = code_of(w, &[cmd, "clean.csv", "--batch-size", "101"]).await;
        assert_eq!(code, 2, "{cmd}: {out}");
        assert!(out.contains("at most 100 files a call"), "{cmd}: {out}");
    }
    let (code, out) = code_of(w, &["fleet", "sites.csv", "--batch-size", "500"]).await;
    assert_eq!(code, 2, "fleet: {out}");
    assert!(out.contains("--batch-size 500"), "fleet: {out}");
    // --base-url without credentials → 2 for the commands that reach a target.
    for cmd in ["run", "reconcile"] {
        let (code, out) = code_of(w, &[cmd, "clean.csv", "--base-url", &s.url]).await;
        assert_eq!(code, 2, "{cmd}: {out}");
    }
    // Naming a manifest that isn't there is a usage error too.
    let (code, out) = code_of(w, &["plan", "missing.csv"]).await;
    assert_eq!(code, 2, "{out}");
    // Fatal → 1: a manifest that can't be read as mapped; a target that doesn't answer.
    let (code, out) = code_of(w, &["plan", "clean.csv", "--column", "display_name=Nope"]).await;
    assert_eq!(code, 1, "{out}");
    let closed_port = ClosedPort::bind();
    let closed = closed_port.url();
    for cmd in ["run", "reconcile"] {
        let args = [
            cmd,
            "clean.csv",
            "--base-url",
            &closed,
            "--api-key",
            "k",
            "--site-id",
            "s",
            "--connect-timeout-secs",
            "1",
        ];
        let (code, out) = code_of(w, &args).await;
        assert_eq!(code, 1, "{cmd}: {out}");
    }
}
