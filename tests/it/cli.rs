//! The binary's edges: `serve` refusing unsafe or unusable settings with clear messages and
//! shutting down cleanly on a signal; `run` stopping on Ctrl-C with the journal consistent and
//! resuming afterwards; usage errors.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Source, SourceServer, TestServer, bin, png, spawn_serve};
use crate::tools::signal;

async fn output(mut cmd: Command) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || {
        cmd.stdin(Stdio::null()).output().expect("binary runs")
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `serve` refuses a non-loopback address without an API key (usage error, exit 2).
#[tokio::test]
async fn serve_refuses_open_non_loopback() {
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path());
    let (code, _, err) = output(cmd).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("without an API key"), "{err}");
}

/// `serve` names the data dir it can't use, and the address it can't listen on (exit 1).
#[tokio::test]
async fn serve_reports_unusable_dir_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&file);
    let (code, _, err) = output(cmd).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("can't use data directory") && err.contains("not-a-dir"),
        "{err}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.path().join("d"));
    let (code, _, err) = output(cmd).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("can't listen on {addr}")), "{err}");
}

/// `serve` answers requests and exits 0 on SIGTERM, keeping what it stored.
#[tokio::test]
async fn serve_shuts_down_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_serve(|listen| {
        let mut cmd = Command::new(bin());
        cmd.args(["--quiet", "serve", "--listen", listen, "--data-dir"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        cmd
    })
    .await;
    let created = reqwest::Client::new()
        .post(format!("{base}/site-media/v1/folders"))
        .json(&serde_json::json!({"displayName": "kept"}))
        .send()
        .await
        .expect("serve answers");
    assert_eq!(created.status(), 200);
    signal(&child, libc::SIGTERM);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(dir.path().join("media-manager.sqlite").exists());
}

/// Ctrl-C stops a run: it exits 130 with reports written and the journal consistent, and the
/// same command then finishes the job without duplicating a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_and_rerun_finishes() {
    let src = SourceServer::start().await;
    let s = TestServer::start_with(|c| {
        c.api_keys = vec!["k".into()];
        c.site_id = "s".into();
        c.faults.latency = Some("40..80".parse().unwrap());
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    let image = png(4, 4);
    let urls: Vec<String> = (0..300)
        .map(|i| {
            src.add(
                &format!("/s/{i}.png"),
                Source::bytes("image/png", image.clone()),
            )
        })
        .collect();
    let mut csv = String::from("source,folder_path\n");
    for url in &urls {
        csv.push_str(&format!("{url},/stop\n"));
    }
    let manifest = work.path().join("m.csv");
    std::fs::write(&manifest, csv).unwrap();
    let command = || {
        let mut cmd = Command::new(bin());
        cmd.current_dir(work.path())
            .args(["--quiet", "run"])
            .arg(&manifest)
            .args([
                "--base-url",
                &s.url,
                "--api-key",
                "k",
                "--site-id",
                "s",
                "--batch-size",
                "10",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let mut child = command().spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while s.stats().await["calls"]["POST /site-media/v1/bulk/files/import-v2"]
        .as_u64()
        .unwrap_or(0)
        < 3
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(&child, libc::SIGINT);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130));
    let report = std::fs::read_to_string(work.path().join("reports/reconciliation.csv")).unwrap();
    assert_eq!(
        report.lines().count(),
        301,
        "one line per row even when stopped"
    );
    assert!(
        report.contains(",pending,"),
        "some rows were left for the next run"
    );
    let (code, _, err) = output(command()).await;
    assert_eq!(code, 0, "{err}");
    // Row by row, so a duplicate of one row can't hide a row that is missing.
    let mut by_source: HashMap<String, Vec<String>> = HashMap::new();
    for (path, f) in s.files_with_paths().await {
        let source = f["sourceUrl"]
            .as_str()
            .expect("an imported file")
            .to_string();
        by_source.entry(source).or_default().push(path);
    }
    for url in &urls {
        assert_eq!(
            by_source.remove(url),
            Some(vec!["/stop".to_string()]),
            "{url}: exactly one file, in /stop"
        );
    }
    assert!(by_source.is_empty(), "files of no row: {by_source:?}");
}

/// Giving only one of --api-key and --site-id is a usage error (exit 2) that never echoes the key.
#[tokio::test]
async fn half_credentials_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.csv");
    std::fs::write(&manifest, "source\nhttp://127.0.0.1:9/a.png\n").unwrap();
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir.path())
        .arg("run")
        .arg(&manifest)
        .args(["--api-key", "very-secret-key"]);
    cmd.env_remove("WIX_SITE_ID").env_remove("WIX_API_KEY");
    let (code, out, err) = output(cmd).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--site-id"), "{err}");
    assert!(!out.contains("very-secret-key") && !err.contains("very-secret-key"));
}

/// Runs `cmd` with the umask 022 (files 0644, folders 0755 unless the program says
/// otherwise), whatever the umask of the test: the modes seen are the program's own.
#[cfg(unix)]
fn with_umask_022(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask is async-signal-safe, and nothing else runs in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        })
    }
}

/// Issue 13, hole 6: the journal (it names every source, private ones included) and the
/// reports are created 0600, readable by their owner only — under a umask that would leave
/// them 0644.
#[cfg(unix)]
#[tokio::test]
async fn hole_6_journal_and_reports_private() {
    use std::os::unix::fs::PermissionsExt;
    let src = SourceServer::start().await;
    let s = TestServer::start_with(|c| c.api_keys = vec!["k".into()]).await;
    let work = tempfile::tempdir().unwrap();
    let url = src.add("/a.png", Source::bytes("image/png", png(4, 4)));
    let manifest = work.path().join("m.csv");
    std::fs::write(&manifest, format!("source\n{url}\n")).unwrap();
    let journal = work.path().join("j.sqlite");
    let reports = work.path().join("reports");
    let mut cmd = Command::new(bin());
    cmd.current_dir(work.path())
        .args(["--quiet", "run"])
        .arg(&manifest)
        .args([
            "--base-url",
            &s.url,
            "--api-key",
            "k",
            "--site-id",
            "local-site",
        ])
        .arg("--journal")
        .arg(&journal)
        .arg("--report-dir")
        .arg(&reports);
    cmd.stdin(Stdio::null());
    with_umask_022(&mut cmd);
    let (code, _, err) = output(cmd).await;
    assert_eq!(code, 0, "{err}");
    let mut checked = vec![journal];
    checked.extend(
        std::fs::read_dir(&reports)
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert!(checked.len() >= 4, "{checked:?}");
    for path in checked {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// Issue 13, hole 6: `serve`'s data dir and every folder in it are 0700, the database and the
/// blobs 0600, under a umask that would leave them 0755 and 0644.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hole_6_serve_data_dir_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, url) = spawn_serve(|listen| {
        let mut serve = Command::new(bin());
        serve
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        with_umask_022(&mut serve);
        serve
    })
    .await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let image = src.add("/a.png", Source::bytes("image/png", png(4, 4)));
    std::fs::write(work.path().join("m.csv"), format!("source\n{image}\n")).unwrap();
    let mut run = Command::new(bin());
    run.current_dir(work.path())
        .args(["--quiet", "run", "m.csv", "--base-url", &url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--journal", "j.sqlite", "--report-dir", "reports"]);
    let (code, _, err) = output(run).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(code, 0, "{err}");
    let (mut dirs, mut files) = (0, 0);
    let mut stack = vec![data];
    while let Some(at) = stack.pop() {
        let meta = std::fs::metadata(&at).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{:o} {}", mode, at.display());
            dirs += 1;
            stack.extend(std::fs::read_dir(&at).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{:o} {}", mode, at.display());
            files += 1;
        }
    }
    assert!(dirs >= 3 && files >= 2, "{dirs} folders, {files} files");
}

/// Issue 13, hole 10: `serve --api-key-file` takes its keys from a file, so they never show
/// in `ps`; a call needs one of them (and the site id).
#[tokio::test]
async fn hole_10_serve_api_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "# serve keys\nfile-key-1\n\n").unwrap();
    let (mut child, base) = spawn_serve(|listen| {
        let mut cmd = Command::new(bin());
        cmd.args(["--quiet", "serve", "--listen", listen])
            .arg("--api-key-file")
            .arg(&keys)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        cmd
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{base}/site-media/v1/folders");
    let refused = http.get(&url).send().await.expect("serve answers");
    assert_eq!(refused.status(), 401);
    let ok = http
        .get(&url)
        .header("Authorization", "file-key-1")
        .header("wix-site-id", "local-site")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    signal(&child, libc::SIGTERM);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// `serve --site ID=KEY` through the binary: each site answers its own key only (the key of
/// one from a file, the other's from the environment), and their files are apart.
#[tokio::test]
async fn serve_sites_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key-b"), "key-of-b\n").unwrap();
    let key_file = format!("b=@file:{}", dir.path().join("key-b").display());
    let (mut child, base) = spawn_serve(|listen| {
        let mut cmd = Command::new(bin());
        cmd.args(["--quiet", "serve", "--listen", listen])
            .args([
                "--site",
                "a=@env:KEY_OF_A",
                "--site",
                &key_file,
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .env("KEY_OF_A", "key-of-a")
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        cmd
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{base}/site-media/v1/folders");
    let create = |site: &'static str, key: &'static str| {
        http.post(&url)
            .header("Authorization", key)
            .header("wix-site-id", site)
            .json(&serde_json::json!({"displayName": format!("only-{site}")}))
            .send()
    };
    let made = create("a", "key-of-a").await.expect("serve answers");
    assert_eq!(made.status(), 200);
    assert_eq!(create("b", "key-of-b").await.unwrap().status(), 200);
    let crossed = create("b", "key-of-a").await.unwrap().status();
    assert!(
        crossed == 401 || crossed == 403,
        "a's key opened b: {crossed}"
    );
    let list = |site: &'static str, key: &'static str| {
        http.get(format!("{url}?parentFolderId=media-root"))
            .header("Authorization", key)
            .header("wix-site-id", site)
            .send()
    };
    let b: serde_json::Value = list("b", "key-of-b").await.unwrap().json().await.unwrap();
    let names: Vec<&str> = b["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["only-b"], "site b sees its own folder only");
    signal(&child, libc::SIGTERM);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
