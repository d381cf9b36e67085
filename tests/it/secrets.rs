//! Secrets stay secret: API keys, upload tokens and download signatures never appear in the
//! logs of `serve` or `run` (at the most verbose level), nor in reports or `Debug` output.

use std::process::{Command, Stdio};
use std::time::Duration;

use media_migrate::api::client::{Secret, Target};

use crate::support::{Source, SourceServer, bin, png};

const KEY: &str = "sk-live-7f3a9c1e5b2d4f60";

/// Every stretch after a token-bearing path prefix is redacted (`…`), never the token itself.
fn assert_no_tokens(log: &str) {
    for prefix in ["/_upload/put/", "/_upload/resumable/", "/_upload/tus/"] {
        for (at, _) in log.match_indices(prefix) {
            let rest = &log[at + prefix.len()..];
            assert!(
                rest.is_empty()
                    || rest.starts_with('…')
                    || !rest.starts_with(|c: char| c.is_ascii_alphanumeric()),
                "token after {prefix}: {}",
                &rest[..rest.len().min(40)]
            );
        }
    }
    assert!(!log.contains("sig="), "a download signature was logged");
}

/// `serve -vv` and `run -vv` against it, with uploads and imports: the key and the upload
/// tokens appear in no log line and in no report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_tokens_never_logged() {
    let work = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server_log = work.path().join("serve.log");
    let mut server = Command::new(bin())
        .args([
            "-vv",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--api-key",
            KEY,
            "--site-id",
            "s1",
            "--data-dir",
        ])
        .arg(work.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&server_log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    media_migrate::install_crypto_provider();
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while http
        .get(format!("{base}/_local/stats"))
        .send()
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let src = SourceServer::start().await;
    let url = src.add("/a.png", Source::bytes("image/png", png(5, 5)));
    std::fs::write(work.path().join("local.png"), png(6, 6)).unwrap();
    let manifest = work.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!("source,folder_path\n{url},/x\nlocal.png,/y\n"),
    )
    .unwrap();
    let mut run = Command::new(bin());
    run.current_dir(work.path())
        .args(["-vv", "run"])
        .arg(&manifest)
        .args(["--base-url", &base, "--api-key", KEY, "--site-id", "s1"])
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || run.output().unwrap())
        .await
        .unwrap();
    let run_log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{run_log}");
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    let serve_log = std::fs::read_to_string(&server_log).unwrap();
    assert!(
        serve_log.contains("/_upload/put/"),
        "the upload was logged (redacted) — else this test proves nothing"
    );
    for log in [&serve_log, &run_log] {
        assert!(!log.contains(KEY), "the API key was logged");
        assert_no_tokens(log);
    }
    for report in [
        "reconciliation.csv",
        "summary.json",
        "url-map.csv",
        "failed.csv",
    ] {
        let text = std::fs::read_to_string(work.path().join("reports").join(report)).unwrap();
        assert!(!text.contains(KEY), "the API key is in {report}");
    }
}

/// `Debug` of a secret or a target shows no key.
#[test]
fn debug_output_hides_keys() {
    let target = Target {
        base_url: "https://www.wixapis.com".into(),
        api_key: Some(Secret::new(KEY)),
        site_id: Some("s".into()),
    };
    assert!(!format!("{target:?}").contains(KEY));
    assert!(!format!("{:?}", Secret::new(KEY)).contains(KEY));
}
