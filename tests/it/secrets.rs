//! Secrets stay secret: API keys, upload tokens and download signatures never appear in the
//! logs of `serve` or `run` (at the most verbose level), nor in reports or `Debug` output.
//! Each secret is put to use first — a `PUT` upload, a tus upload, signed downloads — and its
//! redacted form is looked for, so the check can't pass because the code path never ran.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use media_migrate::api::client::{Secret, Target};
use serde_json::{Value, json};

use crate::support::{Source, SourceServer, bin, png, read_csv, spawn_serve};

const KEY: &str = "sk-live-7f3a9c1e5b2d4f60";

/// A PNG of noise, so it stays about `width * height * 3` bytes after compression.
fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let img = image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// `serve -vv` on a free port, logging to `log`; returns the child and its base URL once it answers.
async fn start_serve(work: &Path, log: &Path) -> (Child, String) {
    spawn_serve(|listen| {
        let mut cmd = Command::new(bin());
        cmd.args(["-vv", "serve", "--listen", listen])
            .args(["--api-key", KEY, "--site-id", "s1", "--data-dir"])
            .arg(work.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap());
        cmd
    })
    .await
}

/// Asks for signed URLs of `file_id` by both bindings and downloads each; returns the
/// signatures handed out.
async fn download_signed(base: &str, file_id: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut signatures = Vec::new();
    let calls = [
        (
            format!("{base}/site-media/v1/files/generate-file-download-url"),
            json!({ "fileId": file_id }),
        ),
        (
            format!("{base}/site-media/v1/files/{file_id}/generate-download-url"),
            json!({}),
        ),
    ];
    for (endpoint, body) in calls {
        let r = http
            .post(&endpoint)
            .header("Authorization", KEY)
            .header("wix-site-id", "s1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{endpoint}");
        let v: Value = r.json().await.unwrap();
        let urls = v["downloadUrls"].as_array().expect("downloadUrls");
        assert!(!urls.is_empty(), "{v}");
        for u in urls {
            let url = url::Url::parse(u["url"].as_str().expect("url")).unwrap();
            let sig = url
                .query_pairs()
                .find(|(k, _)| k == "sig")
                .expect("a signed URL")
                .1
                .into_owned();
            assert!(sig.len() >= 16, "a signature worth hiding: {sig}");
            signatures.push(sig);
            let got = http.get(url).send().await.unwrap();
            assert_eq!(got.status(), 200, "the signed URL serves the file");
        }
    }
    signatures
}

/// The log line that holds `secret`.
fn context<'a>(log: &'a str, secret: &str) -> &'a str {
    log.lines().find(|l| l.contains(secret)).unwrap_or_default()
}

/// Every upload session the server handed out: (kind, token, tus upload id).
fn upload_sessions(data: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(data.join("media-manager.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT kind, token, tus_upload_id FROM upload_sessions")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `serve -vv` and `run -vv` against it, with a URL import, a `PUT` upload, a tus upload and
/// signed downloads: the key, the upload tokens, the tus upload ids and the download
/// signatures appear in no log line and no report, while the redacted paths do appear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_tokens_never_logged() {
    let work = tempfile::tempdir().unwrap();
    let server_log = work.path().join("serve.log");
    let (mut server, base) = start_serve(work.path(), &server_log).await;
    let src = SourceServer::start().await;
    let url = src.add("/a.png", Source::bytes("image/png", png(5, 5)));
    std::fs::write(work.path().join("local.png"), png(6, 6)).unwrap();
    let big = noisy_png(700, 700);
    assert!(big.len() > 1024 * 1024, "over the 1 MiB threshold");
    std::fs::write(work.path().join("big.png"), &big).unwrap();
    let manifest = work.path().join("m.csv");
    std::fs::write(
        &manifest,
        format!("source,folder_path\n{url},/x\nlocal.png,/y\nbig.png,/z\n"),
    )
    .unwrap();
    let mut run = Command::new(bin());
    run.current_dir(work.path())
        .env("XDG_DATA_HOME", work.path().join("data"))
        .args(["-vv", "run"])
        .arg(&manifest)
        .args(["--base-url", &base, "--api-key", KEY, "--site-id", "s1"])
        .args(["--resumable-threshold-mib", "1"])
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
    let map = read_csv(&work.path().join("reports/url-map.csv"));
    assert_eq!(map.len(), 3, "{map:?}");
    let mut signatures = Vec::new();
    for row in &map {
        signatures.extend(download_signed(&base, &row["file_id"]).await);
    }
    crate::tools::signal(&server, libc::SIGTERM);
    tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    let serve_log = std::fs::read_to_string(&server_log).unwrap();

    let sessions = upload_sessions(&work.path().join("data"));
    let kinds: Vec<&str> = sessions.iter().map(|s| s.0.as_str()).collect();
    assert!(
        kinds.contains(&"put") && kinds.contains(&"tus"),
        "a PUT and a tus upload were both made: {kinds:?}"
    );
    let mut secrets: Vec<(&str, String)> = vec![("the API key", KEY.to_string())];
    for (_, token, tus_id) in sessions {
        secrets.push(("an upload token", token));
        if let Some(id) = tus_id {
            secrets.push(("a tus upload id", id));
        }
    }
    secrets.extend(signatures.into_iter().map(|s| ("a download signature", s)));
    for (name, log) in [("serve", &serve_log), ("run", &run_log)] {
        for (what, secret) in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "{what} is in the {name} log: {}",
                context(log, secret)
            );
        }
        assert!(
            !log.contains("sig="),
            "a download signature is in the {name} log"
        );
    }
    for redacted in ["/_upload/put/…", "/_upload/tus/…", "/_download/…/…"] {
        assert!(
            serve_log.contains(redacted),
            "{redacted} was logged — else this test proves nothing:\n{serve_log}"
        );
    }
    for report in [
        "reconciliation.csv",
        "summary.json",
        "url-map.csv",
        "failed.csv",
        "report.html",
    ] {
        let text = std::fs::read_to_string(work.path().join("reports").join(report)).unwrap();
        for (what, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "{what} is in {report}");
        }
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
