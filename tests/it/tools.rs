//! The outside programs some tests run (Chromium, a Prometheus Pushgateway, Python 3 and the
//! pinned venvs with prometheus_client and moto), found where `scripts/test` installs them; a
//! test that lacks one fails with a message naming it and what installs it, never with a bare
//! spawn error. Also signals sent from Rust (no `kill` executable) and a run of a program with
//! a deadline.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// How to get what the tests need, said in every "missing" message.
const HOW: &str =
    "`scripts/test` installs what the tests need (only what is missing) and then runs them";

/// An executable named `name` in a directory of PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A non-empty environment variable.
fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The program in `$env` (which must then be there), else the first of `names` on PATH, else a
/// panic naming the Debian package that provides it.
fn program(what: &str, env: &str, names: &[&str], package: &str) -> PathBuf {
    if let Some(path) = var(env) {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "{env}={} is not an executable ({what})",
            path.display()
        );
        return path;
    }
    names.iter().find_map(|n| on_path(n)).unwrap_or_else(|| {
        panic!(
            "{what} is missing: no {} on PATH and no {env}. {HOW}; it installs the Debian \
             package `{package}` (`apt-get install {package}` does the same)",
            names.join(" or ")
        )
    })
}

/// Headless Chromium (`$MEDIA_MIGRATE_CHROMIUM`, else `chromium` or `chromium-browser`).
pub fn chromium() -> PathBuf {
    program(
        "Chromium (it renders report.html)",
        "MEDIA_MIGRATE_CHROMIUM",
        &["chromium", "chromium-browser"],
        "chromium",
    )
}

/// The Prometheus Pushgateway (`$MEDIA_MIGRATE_PUSHGATEWAY`, else on PATH).
pub fn pushgateway() -> PathBuf {
    program(
        "The Prometheus Pushgateway",
        "MEDIA_MIGRATE_PUSHGATEWAY",
        &["prometheus-pushgateway"],
        "prometheus-pushgateway",
    )
}

/// Python 3 with its standard library (on PATH).
pub fn python3() -> PathBuf {
    program("Python 3", "MEDIA_MIGRATE_PYTHON3", &["python3"], "python3")
}

/// Where `scripts/provision.sh` keeps its venvs: `$XDG_CACHE_HOME/media-migrate`, else
/// `$HOME/.cache/media-migrate` — the same rule, so the tests find what it installed.
pub fn cache_dir() -> PathBuf {
    let cache = var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(var("HOME").expect("HOME or XDG_CACHE_HOME is set")).join(".cache")
    });
    cache.join("media-migrate")
}

/// An executable of one of the venvs `scripts/test` makes, or a panic naming the venv's pin.
fn in_venv(venv: &str, exe: &str, pin: &str) -> PathBuf {
    let path = cache_dir().join(venv).join("bin").join(exe);
    assert!(
        is_executable(&path),
        "{} is missing. {HOW}; it makes that venv with `{pin}` from PyPI",
        path.display()
    );
    path
}

/// The python that has prometheus_client (`$MEDIA_MIGRATE_TEST_PYTHON`, else scripts/test's
/// venv-test).
pub fn test_python() -> PathBuf {
    match var("MEDIA_MIGRATE_TEST_PYTHON") {
        Some(python) => PathBuf::from(python),
        None => in_venv("venv-test", "python", "prometheus-client"),
    }
}

/// moto's S3-compatible server (scripts/test's venv-moto).
pub fn moto_server() -> PathBuf {
    in_venv("venv-moto", "moto_server", "moto[server]")
}

/// Sends `sig` to `child` (from Rust: no `kill` executable to find).
pub fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill(2) takes plain integers; the child is not reaped yet (we hold it), so the pid
    // is still its own.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// Runs `cmd` (stdin closed) in a process group of its own and returns its exit code and
/// output (stdout then stderr); past `limit`, kills the whole group and panics saying so.
pub async fn run_with_deadline(
    mut cmd: std::process::Command,
    what: &str,
    limit: Duration,
) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    let group = libc::pid_t::try_from(child.id().expect("a running child has a pid"))
        .expect("a pid fits pid_t");
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(out) => {
            let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.code().unwrap_or(-1), text)
        }
        Err(_) => {
            // The whole group: a browser's helpers (zygote, renderers) too. The leader is not
            // reaped yet (the future holding it lives to the end of this match), so the group
            // id is still ours; dropping the future then reaps it (kill_on_drop).
            // SAFETY: kill(2) takes plain integers; the group is the one this test made.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            panic!("{what} did not finish within {limit:?}: killed it and its process group")
        }
    }
}

/// A program missing from PATH fails the test with a message naming `scripts/test` and the
/// package, not a spawn error.
#[test]
#[should_panic(expected = "`scripts/test` installs what the tests need")]
fn a_missing_program_is_named_with_what_installs_it() {
    program(
        "A program nobody has",
        "MEDIA_MIGRATE_NO_SUCH_PROGRAM",
        &["media-migrate-no-such-program"],
        "no-such-package",
    );
}

/// A program that doesn't finish (`serve` waits for a signal) is killed at its deadline and
/// the test fails saying so.
#[tokio::test]
#[should_panic(expected = "serve did not finish within 1s: killed it")]
async fn a_program_past_its_deadline_is_killed_and_fails_the_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut serve = std::process::Command::new(crate::support::bin());
    serve
        .args(["--quiet", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    run_with_deadline(serve, "serve", Duration::from_secs(1)).await;
}
