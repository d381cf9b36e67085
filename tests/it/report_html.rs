//! `report.html`: a real run (ready, failed and invalid rows, nested folders, names with markup
//! and unicode) writes a page whose numbers, read back with an HTML parser, are
//! `summary.json`'s; headless Chromium renders it without a network request or a console error.
//! `plan` and `reconcile` write theirs too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use scraper::{Html, Selector};
use serde_json::Value;

use crate::support::{Source, SourceServer, TestServer, bin, png, run_to_end};
use crate::tools;

/// Chromium takes a few seconds a page; past this it is taken for hung, killed, and the test
/// fails saying so (a loaded two-core machine stays well inside it).
const CHROMIUM_LIMIT: Duration = Duration::from_secs(120);
const KEY: &str = "report-test-key";
const SITE: &str = "site-report";

async fn start_target() -> TestServer {
    TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
    })
    .await
}

fn target_args(s: &TestServer) -> [&str; 6] {
    ["--base-url", &s.url, "--api-key", KEY, "--site-id", SITE]
}

/// A run of 4 ready rows in two folders, 3 failing sources and 2 invalid rows (a name with
/// markup, a source with a script tag) — counts that differ, so no two labels can be swapped
/// unseen; returns the report dir.
async fn a_run(s: &TestServer, src: &SourceServer, work: &Path) -> PathBuf {
    let mut csv = String::from("source,folder_path,display_name\n");
    for i in 0..5 {
        let url = src.add(
            &format!("/img/{i}.png"),
            Source::bytes("image/png", png(3 + i, 3)),
        );
        let folder = if i % 2 == 0 {
            "/shop/été"
        } else {
            "/blog/2024"
        };
        let name = if i == 0 {
            "\"<b>bold</b> & café.png\"".to_string()
        } else {
            format!("photo-{i}.png")
        };
        csv.push_str(&format!("{url},{folder},{name}\n"));
    }
    for i in 0..3 {
        csv.push_str(&format!(
            "{},/shop/été,gone-{i}.png\n",
            src.url(&format!("/gone/{i}.png"))
        ));
    }
    csv.push_str("not a url <script>,/bad,x.png\n");
    let manifest = work.join("manifest.csv");
    std::fs::write(&manifest, csv).unwrap();
    let mut cmd = Command::new(bin());
    cmd.current_dir(work)
        .args(["--quiet", "run"])
        .arg(&manifest)
        .args(target_args(s))
        .args(["--report-dir", "reports"])
        .args([
            "--journal",
            "journal.sqlite",
            "--max-processing-attempts",
            "1",
        ])
        .stdin(Stdio::null());
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 3, "{out}");
    work.join("reports")
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).expect("selector"))
        .collect()
}

/// The exact number a table row gives for `key` (its first number cell).
fn value(doc: &Html, table: &str, key: &str) -> u64 {
    let css = format!("table#{table} tr[data-key=\"{key}\"] td[data-value]");
    let cell = *select(doc, &css)
        .first()
        .unwrap_or_else(|| panic!("{css} in report.html"));
    let exact: u64 = cell.attr("data-value").unwrap().parse().unwrap();
    let shown: String = cell.text().collect::<String>().replace(',', "");
    assert_eq!(shown, exact.to_string(), "{css} shows its value");
    exact
}

fn fact(doc: &Html, key: &str) -> String {
    let css = format!("table#facts tr[data-key=\"{key}\"] td");
    select(doc, &css)[0].text().collect()
}

/// The page's numbers are `summary.json`'s, read back with an HTML parser; its markup is
/// accessible and every manifest string is escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_report_numbers_match_the_summary() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let reports = a_run(&s, &src, work.path()).await;
    let summary: Value =
        serde_json::from_slice(&std::fs::read(reports.join("summary.json")).unwrap()).unwrap();
    let text = std::fs::read_to_string(reports.join("report.html")).expect("report.html");
    let doc = Html::parse_document(&text);
    let counts = &summary["counts"];
    for status in [
        "ready",
        "pending",
        "failed",
        "invalid",
        "duplicate",
        "skipped",
    ] {
        assert_eq!(
            value(&doc, "totals", status),
            counts[status].as_u64().unwrap(),
            "{status}"
        );
    }
    assert_eq!(value(&doc, "totals", "total"), 9);
    assert_eq!(value(&doc, "totals", "ready"), 4, "{summary}");
    // Each label shows its own number: 3 failed, 2 invalid.
    assert_eq!(value(&doc, "totals", "failed"), 3, "{summary}");
    assert_eq!(value(&doc, "totals", "invalid"), 2, "{summary}");
    let reasons = summary["failureReasons"].as_object().unwrap();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    for (code, n) in reasons {
        assert_eq!(value(&doc, "reasons", code), n.as_u64().unwrap(), "{code}");
        let examples = select(&doc, &format!("table#reasons tr[data-key=\"{code}\"] li"));
        assert!((1..=3).contains(&examples.len()), "{code}");
    }
    let calls = summary["apiCalls"].as_object().unwrap();
    for (endpoint, n) in calls {
        assert_eq!(value(&doc, "calls", endpoint), n.as_u64().unwrap());
    }
    assert_eq!(
        value(&doc, "calls", "total"),
        summary["apiCallsTotal"].as_u64().unwrap()
    );
    // The timeline's data adds up to the run's calls and files.
    let column = |i: usize| -> u64 {
        select(&doc, "table#timeline tbody tr")
            .iter()
            .map(|tr| {
                let cells: Vec<_> = tr.select(&Selector::parse("td").unwrap()).collect();
                cells[i].attr("data-value").unwrap().parse::<u64>().unwrap()
            })
            .sum()
    };
    assert_eq!(column(2), summary["apiCallsTotal"].as_u64().unwrap());
    assert_eq!(column(3), summary["throttled"].as_u64().unwrap());
    assert_eq!(column(0), 7, "accepted: every valid row");
    assert_eq!(column(1), 4, "ready");
    assert_eq!(value(&doc, "folders", "/shop/été"), 6);
    assert_eq!(
        fact(&doc, "manifest"),
        summary["manifest"]["path"].as_str().unwrap()
    );
    assert!(fact(&doc, "target").contains(summary["target"]["baseUrl"].as_str().unwrap()));
    // Accessible: captions and scoped headers on every table, text alternatives on charts.
    for table in select(&doc, "table") {
        assert!(
            table
                .select(&Selector::parse("caption").unwrap())
                .next()
                .is_some()
        );
        assert!(
            table
                .select(&Selector::parse("th[scope]").unwrap())
                .next()
                .is_some()
        );
    }
    let charts = select(&doc, "svg[role=img]");
    assert_eq!(charts.len(), 3);
    for svg in charts {
        assert!(svg.attr("aria-labelledby").is_some());
        assert!(
            svg.select(&Selector::parse("title").unwrap())
                .next()
                .is_some()
        );
    }
    // Self-contained and escaped: no script, nothing to fetch, the markup name shown as text.
    assert!(select(&doc, "script, link, img, iframe, object").is_empty());
    assert!(!text.contains("<b>bold"));
    assert!(!text.contains("url("));
    let names: String = select(&doc, "table#reasons, table#folders")
        .iter()
        .flat_map(|t| t.text())
        .collect();
    assert!(names.contains("not a url <script>"), "{names}");
}

/// The page renders in headless Chromium: a non-trivial screenshot, no request beyond the
/// file itself, no console error. Fails (does not skip) without Chromium, naming what installs
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_report_renders_in_chromium() {
    let chromium = tools::chromium();
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    let reports = a_run(&s, &src, work.path()).await;
    let page = reports.join("report.html");
    let shot = work.path().join("report.png");
    let netlog = work.path().join("netlog.json");
    let (code, out) = render(&chromium, &page, &shot, &netlog).await;
    assert_eq!(code, 0, "{out}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{}",
        png.len()
    );
    for bad in ["Uncaught", "ERROR:CONSOLE", "Refused to", "net::ERR"] {
        assert!(!out.contains(bad), "{bad} in chromium's output:\n{out}");
    }
    let requested = page_requests(&netlog);
    assert!(
        requested.iter().all(|u| u.starts_with("file://")),
        "the page requested {requested:?}"
    );
    // The check sees a request when a page makes one.
    let control = work.path().join("control.html");
    std::fs::write(&control, "<p>x<img src=\"http://127.0.0.1:9/x.png\"></p>").unwrap();
    let (code, out) = render(&chromium, &control, &work.path().join("c.png"), &netlog).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(page_requests(&netlog), ["http://127.0.0.1:9/x.png"]);
}

/// Runs Chromium on `page` (killed past CHROMIUM_LIMIT); returns its exit code and output.
async fn render(chromium: &Path, page: &Path, shot: &Path, netlog: &Path) -> (i32, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless=new",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
        "--virtual-time-budget=3000",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("--log-net-log={}", netlog.display()))
    .arg(format!("--screenshot={}", shot.display()))
    .arg(format!("file://{}", page.display()));
    let result = tools::run_with_deadline(cmd, "Chromium", CHROMIUM_LIMIT).await;
    drop(profile);
    result
}

/// The URLs the page itself (not Chromium's own services: network time, updates) asked for,
/// from Chromium's net log: requests whose initiator is an origin (`"null"` for a file page)
/// rather than the browser (`"not an origin"`), other than the page's own file.
fn page_requests(netlog: &Path) -> Vec<String> {
    let log = std::fs::read_to_string(netlog).expect("chromium's net log");
    // Each event is one line (a log cut short by exit lacks its closing brackets).
    log.lines()
        .filter_map(|line| {
            let event: Value = serde_json::from_str(line.trim().trim_end_matches(',')).ok()?;
            let params = &event["params"];
            let initiator = params["initiator"].as_str()?;
            let url = params["url"].as_str()?;
            (initiator != "not an origin").then(|| url.to_string())
        })
        .collect()
}

/// `plan` and `reconcile` write a `report.html` too, with their JSON's counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_reconcile_reports() {
    let src = SourceServer::start().await;
    let s = start_target().await;
    let work = tempfile::tempdir().unwrap();
    a_run(&s, &src, work.path()).await;
    let manifest = work.path().join("manifest.csv");
    let mut plan = Command::new(bin());
    plan.current_dir(work.path())
        .args(["--quiet", "plan"])
        .arg(&manifest)
        .args(["--report-dir", "plan"]);
    let (code, out) = run_to_end(plan).await;
    assert_eq!(code, 3, "{out}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("plan/plan.json")).unwrap())
            .unwrap();
    let doc = Html::parse_document(
        &std::fs::read_to_string(work.path().join("plan/report.html")).unwrap(),
    );
    for status in ["valid", "invalid", "duplicate", "skipped"] {
        assert_eq!(
            value(&doc, "totals", status),
            json["counts"][status].as_u64().unwrap()
        );
    }
    let mut reconcile = Command::new(bin());
    reconcile
        .current_dir(work.path())
        .args(["--quiet", "reconcile"])
        .arg(&manifest)
        .args(target_args(&s))
        .args(["--report-dir", "rec"]);
    let (code, out) = run_to_end(reconcile).await;
    assert_eq!(code, 3, "{out}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("rec/reconcile.json")).unwrap())
            .unwrap();
    let doc = Html::parse_document(
        &std::fs::read_to_string(work.path().join("rec/report.html")).unwrap(),
    );
    for status in [
        "present", "missing", "failed", "pending", "differs", "invalid",
    ] {
        assert_eq!(
            value(&doc, "totals", status),
            json["counts"][status].as_u64().unwrap(),
            "{status}"
        );
    }
    assert_eq!(value(&doc, "totals", "present"), 4);
    assert_eq!(value(&doc, "reasons", "FAILED"), 3);
}
