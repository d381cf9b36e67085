//! Helpers of the migration's tests: the local Media Manager's test support (a server on
//! 127.0.0.1, sources, images, API helpers), shared with that crate's own tests, plus the
//! `media-migrate` binary and its reports.

use std::collections::HashMap;

#[path = "../../crates/media-manager/tests/it/support.rs"]
mod server;

pub use self::server::*;

/// The calls a local file can go by, as `/_local/stats` counts them.
pub const BULK_IMPORT: &str = "POST /site-media/v1/bulk/files/import-v2";
pub const UPLOAD_URL: &str = "POST /site-media/v1/files/generate-upload-url";

/// Checks that a run in `work` brought the local `files` (name, size) by Bulk Import only — no
/// upload URL asked for — every line of its reconciliation ready, each file READY in `folder`
/// with its name and size.
pub async fn assert_local_files_bulk_imported(
    s: &TestServer,
    work: &std::path::Path,
    files: &[(String, u64)],
    folder: &str,
) {
    let stats = s.stats().await;
    assert!(
        stats["calls"][BULK_IMPORT].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    assert_eq!(
        stats["calls"][UPLOAD_URL].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
    let rows = read_csv(&work.join("reports/reconciliation.csv"));
    assert_eq!(rows.len(), files.len());
    assert!(rows.iter().all(|r| r["status"] == "ready"), "{rows:?}");
    let held = s.files_with_paths().await;
    for (name, size) in files {
        let (path, f) = held
            .iter()
            .find(|(_, f)| f["displayName"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not at the target"));
        assert_eq!(path, folder, "{name}");
        assert_eq!(f["sizeInBytes"].as_str(), Some(size.to_string().as_str()));
        assert_eq!(f["operationStatus"], "READY");
    }
}

/// The `media-migrate` binary under test.
pub fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_media-migrate"))
}

/// Runs a command to completion off the async runtime; returns its exit code and its
/// stdout followed by its stderr.
pub async fn run_to_end(mut cmd: std::process::Command) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || {
        cmd.stdin(std::process::Stdio::null())
            .output()
            .expect("binary runs")
    })
    .await
    .expect("the command's thread");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A CSV report as one map (header → cell) per record.
pub fn read_csv(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).expect("report exists");
    let headers = rdr.headers().expect("header").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// How long a test waits for a run to reach the state it kills it in, or for a child to answer.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(90);

/// Polls `check` every few milliseconds until it gives `Some`; panics, naming `claim`, if
/// `child` ends first or after [`PATIENCE`].
pub async fn poll_until<T>(
    child: &mut std::process::Child,
    claim: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        if let Some(status) = child.try_wait().expect("the child's status") {
            panic!("the child ended ({status}) before {claim}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not seen in {PATIENCE:?}: {claim}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Reads the journal at `path` that a run may be writing, read-only; `None` while it can't be
/// read. It is opened only once it is in WAL mode (its `-wal` and `-shm` files are there): a
/// reader then never blocks the run's writes, while one that came as the run created it could
/// keep the run from switching to WAL ("database is locked").
pub fn read_journal<T>(
    path: &std::path::Path,
    read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Option<T> {
    let in_wal_mode = ["-wal", "-shm"].iter().all(|suffix| {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        std::path::Path::new(&file).exists()
    });
    if !in_wal_mode {
        return None;
    }
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.busy_timeout(std::time::Duration::from_secs(1)).ok()?;
    read(&conn).ok()
}

/// Waits until `when`, read from the journal at `journal` ([`read_journal`]), gives `Some`: the
/// state `claim` names. Panics if `child` ends first or after [`PATIENCE`].
pub async fn wait_journal<T>(
    child: &mut std::process::Child,
    journal: &std::path::Path,
    claim: &str,
    mut when: impl FnMut(&rusqlite::Connection) -> rusqlite::Result<Option<T>>,
) -> T {
    poll_until(child, claim, async || {
        read_journal(journal, &mut when).flatten()
    })
    .await
}

/// Polls `state` until it gives `Some` (as [`poll_until`] does), then SIGKILLs `child`, reaps
/// it and asks `state` once more about what the dead run left: it must still give `Some`, so
/// the kill landed in the state `claim` names and not after it. Returns that last reading, the
/// state at the kill.
pub async fn kill_at<T>(
    child: &mut std::process::Child,
    claim: &str,
    mut state: impl FnMut() -> Option<T>,
) -> T {
    poll_until(child, claim, async || state()).await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    state().unwrap_or_else(|| panic!("the kill landed after the run left the state: {claim}"))
}

/// [`kill_at`] the state `when` reads from the journal at `journal` ([`read_journal`]).
pub async fn kill_when<T>(
    child: &mut std::process::Child,
    journal: &std::path::Path,
    claim: &str,
    mut when: impl FnMut(&rusqlite::Connection) -> rusqlite::Result<Option<T>>,
) -> T {
    kill_at(child, claim, || read_journal(journal, &mut when).flatten()).await
}

/// `Some(n)` when `n` (counted by `sql`) is positive: a condition for [`kill_when`].
pub fn positive(c: &rusqlite::Connection, sql: &str) -> rusqlite::Result<Option<i64>> {
    let n: i64 = c.query_row(sql, [], |r| r.get(0))?;
    Ok((n > 0).then_some(n))
}

/// A port of 127.0.0.1 that refuses connections and stays ours: a socket bound to it that
/// never listens, kept until dropped. A port picked by binding and closing a listener could be
/// taken by another test's server meanwhile, and would then answer.
pub struct ClosedPort {
    socket: tokio::net::TcpSocket,
    pub addr: std::net::SocketAddr,
}

impl ClosedPort {
    pub fn bind() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .expect("bound to a free port");
        let addr = socket.local_addr().expect("its address");
        Self { socket, addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts listening on the port: connections are accepted from now on.
    pub fn listen(self) -> tokio::net::TcpListener {
        self.socket.listen(1024).expect("listening")
    }
}

/// A child that listens on a port picked for it: `command(port)` is spawned on a port free a
/// moment ago, and until `ready(port)` says it answers (and it is still running) it is waited
/// for; one that ends first (another socket took the port before it bound it) is spawned again
/// on another port. Panics after [`PATIENCE`].
pub async fn spawn_listening(
    mut command: impl FnMut(u16) -> std::process::Command,
    mut ready: impl AsyncFnMut(u16) -> bool,
) -> (std::process::Child, u16) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    'port: loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = command(port).spawn().expect("the child starts");
        loop {
            if child.try_wait().expect("the child's status").is_some() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the child never listened"
                );
                continue 'port;
            }
            if ready(port).await && child.try_wait().expect("the child's status").is_none() {
                return (child, port);
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child never answered on port {port}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// `media-migrate serve` listening on a free port ([`spawn_listening`]): `command(listen)`
/// makes the command, `listen` the address to pass to `--listen`. Returns the child and its
/// base URL once it answers HTTP.
pub async fn spawn_serve(
    mut command: impl FnMut(&str) -> std::process::Command,
) -> (std::process::Child, String) {
    media_migrate::install_crypto_provider();
    let http = reqwest::Client::new();
    let (child, port) = spawn_listening(
        |port| command(&format!("127.0.0.1:{port}")),
        async |port| {
            http.get(format!("http://127.0.0.1:{port}/_local/stats"))
                .send()
                .await
                .is_ok()
        },
    )
    .await;
    (child, format!("http://127.0.0.1:{port}"))
}
