//! `run --serve-sources`: local files imported through Bulk Import from URLs this run serves —
//! signed, expiring, only the manifest's files, nothing else on the disk — and the listener
//! closed once the run is done.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use media_migrate::sources::served::ServedSources;

use crate::support::{
    ClosedPort, TestServer, assert_local_files_bulk_imported, bin, png, read_csv, run_to_end,
    timerless_client,
};

/// Writes `n` PNG files under `work/photos` and a manifest of them into `/shoot`.
fn photos(work: &Path, n: u32) -> Vec<(String, u64)> {
    let dir = work.join("photos");
    std::fs::create_dir_all(&dir).expect("photos dir");
    let mut csv = String::from("source,folder_path\n");
    let mut files = Vec::new();
    for i in 0..n {
        let name = format!("p{i}.png");
        let bytes = png(8 + i, 5);
        std::fs::write(dir.join(&name), &bytes).expect("photo");
        csv.push_str(&format!("photos/{name},/shoot\n"));
        files.push((name, bytes.len() as u64));
    }
    std::fs::write(work.join("m.csv"), csv).expect("manifest");
    files
}

fn run(s: &TestServer, work: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["run", "m.csv", "--base-url", &s.url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--journal", "journal.sqlite", "--report-dir", "reports"])
        .args(["--rate", "6000", "--wait-timeout-secs", "60"])
        .args(extra)
        .env("XDG_DATA_HOME", work.join("xdg"));
    cmd
}

/// With --serve-sources, local files ride Bulk Import (no upload URL asked for), every row
/// ends READY in its folder with its name and size, and the listener is closed after the run.
#[tokio::test]
async fn local_files_ride_bulk_import_and_serving_ends_with_the_run() {
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 12);
    std::fs::write(work.path().join("photos/secret.txt"), "not in the manifest").unwrap();
    let (code, out) = run_to_end(run(&s, work.path(), &["--serve-sources"])).await;
    assert_eq!(code, 0, "{out}");
    assert_local_files_bulk_imported(&s, work.path(), &files, "/shoot").await;
    let addr = out
        .split("serving the manifest's local files on http://")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no listener address in: {out}"));
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "still listening on {addr} after the run");
    // A second run finds everything done (settle and adopt match served files by name+size).
    let (code, out) = run_to_end(run(&s, work.path(), &["--serve-sources"])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.files_with_paths().await.len(), files.len(), "duplicated");
}

/// A journal that lost track of a served run adopts its files instead of importing again.
#[tokio::test]
async fn served_files_are_adopted_by_a_fresh_journal() {
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 3);
    let (code, out) = run_to_end(run(&s, work.path(), &["--serve-sources"])).await;
    assert_eq!(code, 0, "{out}");
    std::fs::remove_file(work.path().join("journal.sqlite")).unwrap();
    let (code, out) = run_to_end(run(&s, work.path(), &[])).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.files_with_paths().await.len(), files.len(), "{out}");
}

/// Serves files signed for `lifetime` on 127.0.0.1:0; returns them, the base URL and the stop
/// switch.
async fn serve(lifetime: Duration) -> (ServedSources, String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sources = ServedSources::new(&base, lifetime);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(media_migrate::sources::served::serve(
        listener,
        sources.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    (sources, base, stop)
}

/// Only the files registered are served, with a valid signature before its expiry; GET/HEAD
/// and ranges only; no path in a URL reaches the disk.
#[tokio::test]
async fn only_signed_manifest_files_are_served() {
    let work = tempfile::tempdir().unwrap();
    let photo = work.path().join("a.png");
    let bytes = png(9, 9);
    std::fs::write(&photo, &bytes).unwrap();
    std::fs::write(work.path().join("beside.png"), png(3, 3)).unwrap();
    let (sources, base_now, stop) = serve(Duration::from_secs(600)).await;
    let url = sources.url_for("row-a", &photo);
    let http = timerless_client();
    let get = |u: String| {
        let http = http.clone();
        async move { http.get(u).send().await.unwrap() }
    };

    let ok = get(url.clone()).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );
    let part = http
        .get(&url)
        .header("range", "bytes=1-4")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[1..5]);
    let posted = http.post(&url).send().await.unwrap();
    assert_eq!(posted.status(), 405);
    let put = http.put(&url).body("x").send().await.unwrap();
    assert_eq!(put.status(), 405);

    // Tampered signature, expiry or token: 403.
    let tampered_sig = format!("{}A", url.trim_end_matches(|c| c != '='));
    assert_eq!(get(tampered_sig).await.status(), 403);
    let (path, query) = url.split_once('?').unwrap();
    let exp: u64 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("exp="))
        .unwrap()
        .parse()
        .unwrap();
    let later = url.replace(&format!("exp={exp}"), &format!("exp={}", exp + 3600));
    assert_eq!(get(later).await.status(), 403);
    let other_token = format!(
        "{}/s/{}?{query}",
        base_now,
        media_migrate::sources::served::token_of("row-b")
    );
    assert_eq!(get(other_token).await.status(), 403);
    assert_eq!(get(path.to_string()).await.status(), 403, "unsigned");

    // Expired: a URL signed with no lifetime left.
    let (expiring, _, stop_expiring) = serve(Duration::ZERO).await;
    let expired = expiring.url_for("row-a", &photo);
    assert_eq!(get(expired).await.status(), 410);
    let _ = stop_expiring.send(());

    let gone = sources.url_for("row-c", &work.path().join("gone.png"));
    assert_eq!(
        get(gone).await.status(),
        404,
        "a registered file no longer on disk"
    );

    // Nothing beside the manifest's files, and no path tricks.
    for path in [
        "/beside.png",
        "/a.png",
        "/s/beside.png",
        "/s/../beside.png",
        "/s/..%2Fbeside.png",
        "/s/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/s/",
        "/etc/passwd",
    ] {
        let status = get(format!("{base_now}{path}?{query}")).await.status();
        assert!(status == 404 || status == 403, "{path} answered {status}");
        assert_ne!(status, 200, "{path}");
    }
    let _ = stop.send(());
}

/// A public address that stops answering (a tunnel gone down) is explained like any source
/// that doesn't answer — `SOURCE_UNREACHABLE`, probed at a URL signed like the target's —
/// and the rows are imported again, then end failed with that reason.
#[tokio::test]
async fn a_public_address_that_does_not_answer_is_explained_and_retried() {
    let s = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let files = photos(work.path(), 3);
    // A port nothing listens on stands for the tunnel's public end.
    let dead = ClosedPort::bind();
    let public = dead.url();
    let flags = [
        "--serve-sources",
        &public,
        "--serve-sources-listen",
        "127.0.0.1:0",
        "--max-processing-attempts",
        "2",
    ];
    let (code, out) = run_to_end(run(&s, work.path(), &flags)).await;
    assert_eq!(code, 3, "{out}");
    let rows = read_csv(&work.path().join("reports/reconciliation.csv"));
    assert_eq!(rows.len(), files.len());
    for r in &rows {
        assert_eq!(r["status"], "failed", "{r:?}");
        assert_eq!(r["error_code"], "SOURCE_UNREACHABLE", "{r:?}");
        assert!(
            r["error_message"].starts_with("at its --serve-sources URL: unreachable"),
            "{r:?}"
        );
        assert!(
            !r["error_message"].contains(&public),
            "no signed URL: {r:?}"
        );
    }
    let journal = rusqlite::Connection::open(work.path().join("journal.sqlite")).unwrap();
    let reimports: Vec<i64> = journal
        .prepare("SELECT reimports FROM rows ORDER BY line")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(reimports, vec![1; files.len()], "imported again once each");
}
