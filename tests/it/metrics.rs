//! `run --metrics-file` and `--pushgateway`: the metrics reach a real Prometheus Pushgateway
//! (Debian's `prometheus-pushgateway`, started here on 127.0.0.1) and a file that
//! prometheus_client's text-format parser reads, with the values of the run's summary.json;
//! a failed run keeps the last success time; a push or file that fails is only a warning.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{
    ClosedPort, Source, SourceServer, TestServer, bin, png, run_to_end, spawn_listening,
};
use crate::tools;

/// A Pushgateway of our own on a free loopback port, killed when dropped.
struct Pushgateway {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Pushgateway {
    async fn start() -> Self {
        media_migrate::install_crypto_provider();
        let gateway = tools::pushgateway();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("gateway.log");
        let http = reqwest::Client::new();
        let (child, port) = spawn_listening(
            |port| {
                let log = std::fs::File::create(&log).expect("log");
                let mut cmd = Command::new(&gateway);
                cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log);
                cmd
            },
            async |port| {
                http.get(format!("http://127.0.0.1:{port}/-/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The gateway's groups (`/api/v1/metrics`), one of which must have these labels.
    async fn group(&self, job: &str, instance: &str) -> Value {
        let body: Value = reqwest::get(format!("{}/api/v1/metrics", self.url))
            .await
            .expect("GET /api/v1/metrics")
            .json()
            .await
            .expect("json");
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|g| g["labels"]["job"] == job && g["labels"]["instance"] == instance)
            .unwrap_or_else(|| panic!("no group {job}/{instance} in {body:#}"))
            .clone()
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A metric's samples in a gateway group: (labels other than job/instance, value).
fn gateway_samples(group: &Value, name: &str) -> Vec<(Value, f64)> {
    group[name]["metrics"]
        .as_array()
        .unwrap_or_else(|| panic!("no {name} in {group:#}"))
        .iter()
        .map(|m| {
            let mut labels = m["labels"].clone();
            let map = labels.as_object_mut().expect("labels");
            map.remove("job");
            map.remove("instance");
            let value = m["value"].as_str().expect("value").parse().expect("float");
            (labels, value)
        })
        .collect()
}

fn gateway_value(group: &Value, name: &str) -> f64 {
    let samples = gateway_samples(group, name);
    assert_eq!(samples.len(), 1, "{name}: {samples:?}");
    samples[0].1
}

/// The metrics file as prometheus_client's parser reads it: family → samples (name, labels,
/// value).
fn parse_with_prometheus_client(path: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/metrics_parse.py");
    let python = tools::test_python();
    let out = Command::new(&python)
        .arg(script)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{} did not start: {e}", python.display()));
    assert!(
        out.status.success(),
        "prometheus_client refused {}: {}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The value of the one sample `sample` of `family` whose labels include `with`.
fn file_value(parsed: &Value, family: &str, sample: &str, with: &[(&str, &str)]) -> f64 {
    let f = &parsed[family];
    let hits: Vec<f64> = f["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family} in {parsed:#}"))
        .iter()
        .filter(|s| s[0] == sample && with.iter().all(|(k, v)| s[1][k] == *v))
        .map(|s| s[2].as_f64().expect("value"))
        .collect();
    assert_eq!(hits.len(), 1, "{family} {sample} {with:?}: {f:#}");
    hits[0]
}

const STATUSES: [&str; 6] = [
    "ready",
    "pending",
    "failed",
    "invalid",
    "duplicate",
    "skipped",
];

fn seconds(rfc3339: &Value) -> f64 {
    let t: jiff::Timestamp = rfc3339.as_str().expect("time").parse().expect("timestamp");
    t.as_millisecond() as f64 / 1000.0
}

/// The gateway group says what summary.json says.
fn assert_group_matches(group: &Value, summary: &Value, exit: f64, uploaded: u64) {
    let rows = gateway_samples(group, "media_migrate_rows");
    assert_eq!(rows.len(), STATUSES.len(), "{rows:?}");
    for status in STATUSES {
        let (_, v) = rows
            .iter()
            .find(|(l, _)| l["status"] == status)
            .unwrap_or_else(|| panic!("no rows{{status={status}}} in {rows:?}"));
        assert_eq!(
            *v,
            summary["counts"][status].as_f64().expect("count"),
            "{status}"
        );
    }
    let calls = gateway_samples(group, "media_migrate_api_calls_total");
    let expected = summary["apiCalls"].as_object().expect("apiCalls");
    assert_eq!(calls.len(), expected.len(), "{calls:?} vs {expected:?}");
    for (endpoint, n) in expected {
        let (_, v) = calls
            .iter()
            .find(|(l, _)| l["endpoint"] == endpoint.as_str())
            .unwrap_or_else(|| panic!("no calls to {endpoint} in {calls:?}"));
        assert_eq!(*v, n.as_f64().expect("n"), "{endpoint}");
    }
    let single = [
        (
            "media_migrate_api_throttled_total",
            summary["throttled"].as_f64(),
        ),
        (
            "media_migrate_api_retries_total",
            summary["retries"].as_f64(),
        ),
        (
            "media_migrate_run_duration_seconds",
            summary["durationSecs"].as_f64(),
        ),
        ("media_migrate_exit_status", Some(exit)),
        ("media_migrate_uploaded_bytes_total", Some(uploaded as f64)),
        (
            "media_migrate_last_run_timestamp_seconds",
            Some(seconds(&summary["finishedAt"])),
        ),
    ];
    for (name, want) in single {
        let (got, want) = (gateway_value(group, name), want.expect("figure"));
        // The gateway's figure is parsed exactly (str::parse); summary.json's by serde_json,
        // whose default float parsing may land one ULP off (2.0513943550000002 read as
        // 2.051394355): a duration can differ by that much and no more.
        assert!(
            got == want || (got - want).abs() <= want.abs() * f64::EPSILON,
            "{name}: {got} != {want}"
        );
    }
}

/// The file, read by prometheus_client, says what summary.json says, under job/instance.
fn assert_file_matches(
    parsed: &Value,
    summary: &Value,
    exit: f64,
    uploaded: u64,
    labels: &[(&str, &str)],
) {
    for status in STATUSES {
        let with: Vec<(&str, &str)> = labels.iter().copied().chain([("status", status)]).collect();
        let v = file_value(parsed, "media_migrate_rows", "media_migrate_rows", &with);
        assert_eq!(
            v,
            summary["counts"][status].as_f64().expect("count"),
            "{status}"
        );
        assert_eq!(parsed["media_migrate_rows"]["type"], "gauge");
    }
    for (endpoint, n) in summary["apiCalls"].as_object().expect("apiCalls") {
        let with: Vec<(&str, &str)> = labels
            .iter()
            .copied()
            .chain([("endpoint", endpoint.as_str())])
            .collect();
        let v = file_value(
            parsed,
            "media_migrate_api_calls",
            "media_migrate_api_calls_total",
            &with,
        );
        assert_eq!(v, n.as_f64().expect("n"), "{endpoint}");
    }
    assert_eq!(parsed["media_migrate_api_calls"]["type"], "counter");
    let single = [
        (
            "media_migrate_api_throttled",
            "media_migrate_api_throttled_total",
            summary["throttled"].as_f64(),
        ),
        (
            "media_migrate_api_retries",
            "media_migrate_api_retries_total",
            summary["retries"].as_f64(),
        ),
        (
            "media_migrate_run_duration_seconds",
            "media_migrate_run_duration_seconds",
            summary["durationSecs"].as_f64(),
        ),
        (
            "media_migrate_exit_status",
            "media_migrate_exit_status",
            Some(exit),
        ),
        (
            "media_migrate_uploaded_bytes",
            "media_migrate_uploaded_bytes_total",
            Some(uploaded as f64),
        ),
    ];
    for (family, sample, want) in single {
        assert_eq!(
            file_value(parsed, family, sample, labels),
            want.expect("figure"),
            "{sample}"
        );
        assert!(
            !parsed[family]["help"].as_str().expect("help").is_empty(),
            "{family} has HELP"
        );
    }
}

fn run(s: &TestServer, work: &Path, manifest: &str, gateway: &str) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["run", manifest, "--base-url", &s.url])
        .args(["--api-key", "k", "--site-id", "local-site"])
        .args(["--journal", "journal.sqlite", "--report-dir", "reports"])
        .args(["--rate", "6000", "--wait-timeout-secs", "60"])
        .args([
            "--pushgateway",
            gateway,
            "--metrics-file",
            "metrics/media-migrate.prom",
        ]);
    cmd
}

fn summary(work: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(work.join("reports/summary.json")).expect("summary"))
        .expect("json")
}

/// A run of URL and local rows pushes to a real Pushgateway and writes a file that
/// prometheus_client parses, both with summary.json's figures, the bytes of the local files
/// and the last success time; a later run with an invalid row (exit 3) updates the figures
/// but leaves the last success time where the first run put it, in the gateway and the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_a_real_pushgateway_and_a_parsed_file_as_the_summary_says() {
    let gateway = Pushgateway::start().await;
    let s = TestServer::start().await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work dir");
    std::fs::create_dir(work.path().join("metrics")).expect("metrics dir");
    let mut csv = String::from("source,folder_path\n");
    for i in 0..3 {
        csv.push_str(&format!(
            "{},/urls\n",
            src.add(
                &format!("/{i}.png"),
                Source::bytes("image/png", png(8 + i, 5))
            )
        ));
    }
    let mut uploaded = 0;
    for i in 0..2 {
        let path = work.path().join(format!("local-{i}.png"));
        let bytes = png(20 + i, 9);
        uploaded += bytes.len() as u64;
        std::fs::write(&path, bytes).expect("local file");
        csv.push_str(&format!("{},/locals\n", path.display()));
    }
    std::fs::write(work.path().join("m.csv"), &csv).expect("manifest");
    let (code, out) = run_to_end(run(&s, work.path(), "m.csv", &gateway.url)).await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("warning"), "{out}");
    let first = summary(work.path());
    assert_eq!(first["counts"]["ready"], 5, "{first:#}");
    let instance = format!("{}#local-site", s.url.trim_end_matches('/'));
    let group = gateway.group("media-migrate", &instance).await;
    assert_group_matches(&group, &first, 0.0, uploaded);
    let succeeded = seconds(&first["finishedAt"]);
    assert_eq!(
        gateway_value(&group, "media_migrate_last_success_timestamp_seconds"),
        succeeded
    );
    let file = work.path().join("metrics/media-migrate.prom");
    let parsed = parse_with_prometheus_client(&file);
    let labels = [("job", "media-migrate"), ("instance", instance.as_str())];
    assert_file_matches(&parsed, &first, 0.0, uploaded, &labels);
    let last = "media_migrate_last_success_timestamp_seconds";
    assert_eq!(file_value(&parsed, last, last, &labels), succeeded);

    // The same rows plus one without a source: invalid, exit 3, nothing new uploaded.
    std::fs::write(work.path().join("m2.csv"), format!("{csv},/urls\n")).expect("manifest");
    let (code, out) = run_to_end(run(&s, work.path(), "m2.csv", &gateway.url)).await;
    assert_eq!(code, 3, "{out}");
    let second = summary(work.path());
    assert_eq!(second["counts"]["invalid"], 1, "{second:#}");
    let group = gateway.group("media-migrate", &instance).await;
    assert_group_matches(&group, &second, 3.0, 0);
    assert_eq!(
        gateway_value(&group, "media_migrate_last_success_timestamp_seconds"),
        succeeded
    );
    let parsed = parse_with_prometheus_client(&file);
    assert_file_matches(&parsed, &second, 3.0, 0, &labels);
    assert_eq!(file_value(&parsed, last, last, &labels), succeeded);
}

/// A gateway that doesn't answer and a metrics file that can't be written are warnings: the
/// run ends 0, and the gateway's password appears nowhere in its output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_metrics_are_warnings_without_secrets() {
    let closed_port = ClosedPort::bind();
    let closed = closed_port.addr.port();
    let work = tempfile::tempdir().expect("work dir");
    let local = work.path().join("a.png");
    std::fs::write(&local, png(7, 7)).expect("file");
    std::fs::write(
        work.path().join("m.csv"),
        format!("source\n{}\n", local.display()),
    )
    .expect("manifest");
    let mut cmd = Command::new(bin());
    cmd.current_dir(work.path())
        .args([
            "run",
            "m.csv",
            "--report-dir",
            "reports",
            "--wait-timeout-secs",
            "60",
        ])
        .args([
            "--metrics-file",
            "no/such/dir/m.prom",
            "--connect-timeout-secs",
            "5",
        ])
        .env(
            "MEDIA_MIGRATE_PUSHGATEWAY",
            format!("http://ops:pw-93f1c2@127.0.0.1:{closed}/"),
        );
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: writing metrics to no/such/dir/m.prom"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "warning: pushing metrics to http://127.0.0.1:{closed}/ failed"
        )),
        "{out}"
    );
    assert!(!out.contains("pw-93f1c2"), "{out}");
}
