//! `media-migrate fleet` (issue 15): many sites against one multi-site local Media Manager,
//! sharded over concurrent processes, one of them SIGKILLed and run again; one site's trouble
//! (a refused key, a missing manifest) never stops the others; a site another process holds
//! is reported busy and skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use wix_media_manager::sites::SiteConfig;

use crate::support::{
    BULK_IMPORT, Source, SourceServer, TestServer, UPLOAD_URL, bin, kill_at, png, read_journal,
    run_to_end,
};

/// Valid rows per site; each manifest also holds one invalid row.
const ROWS: usize = 24;

fn key_of(site: &str) -> String {
    format!("key-of-{site}")
}

/// A multi-site server for `sites`, each with its own rate limit, and faults that make
/// answers late, lost or refused.
async fn fleet_server(sites: &[String], rpm: u32) -> TestServer {
    TestServer::start_with(|c| {
        c.sites = site_configs(sites, Some(rpm));
        c.rate_limit_burst = 20;
        c.faults.seed = 15;
        c.faults.error_rate = 0.03;
        c.faults.lost_response_rate = 0.02;
        c.faults.processing_time = Some("100..300".parse().expect("range"));
    })
    .await
}

/// Writes each site's manifest (ROWS valid rows and an invalid one), its key file, and the
/// sites file; returns the sites file.
fn write_fleet(work: &Path, src: &SourceServer, sites: &[String], rate: u32) -> PathBuf {
    let image = png(5, 4);
    std::fs::create_dir_all(work.join("keys")).expect("keys dir");
    let mut sites_csv = String::from("site_id,key_file,manifest,rate,folder_prefix\n");
    for site in sites {
        let mut m = String::from("source,folder_path,display_name\n");
        for i in 0..ROWS {
            let url = src.add(
                &format!("/{site}/{i}.png"),
                Source::bytes("image/png", image.clone()),
            );
            m.push_str(&format!("{url},/f{},{i}.png\n", i % 3));
        }
        m.push_str("not a source,/f0,bad.png\n");
        std::fs::write(work.join(format!("{site}.csv")), m).expect("manifest");
        std::fs::write(work.join("keys").join(site), key_of(site)).expect("key");
        sites_csv.push_str(&format!("{site},keys/{site},{site}.csv,{rate},/Migrated\n"));
    }
    let path = work.join("sites.csv");
    std::fs::write(&path, sites_csv).expect("sites file");
    path
}

fn fleet_cmd(s: &TestServer, work: &Path, sites: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("fleet")
        .arg(sites)
        .args([
            "--base-url",
            &s.url,
            "--batch-size",
            "8",
            "--concurrency-sites",
            "2",
        ])
        .args(["--connect-timeout-secs", "5", "--request-timeout-secs", "5"])
        .arg("--journal-dir")
        .arg(work.join("journals"))
        .arg("--report-dir")
        .arg(work.join("reports"))
        .args(extra)
        .env("XDG_DATA_HOME", work.join("xdg"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("JOB_COMPLETIONS")
        .stdin(Stdio::null());
    cmd
}

/// A site's `/_local/stats`, asked with its own key.
async fn site_stats(s: &TestServer, site: &str) -> Value {
    let r = s
        .http
        .get(format!("{}/_local/stats?site={site}", s.url))
        .header("Authorization", key_of(site))
        .send()
        .await
        .expect("stats");
    assert!(r.status().is_success(), "stats of {site}: {}", r.status());
    r.json().await.expect("stats json")
}

fn wait_child(child: Child) -> (i32, String) {
    let out = child.wait_with_output().expect("waited");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// 12 sites over 3 shards as 3 concurrent processes against one multi-site server with
/// per-site rate limits and faults; one shard SIGKILLed mid-way and run again. Every site
/// then holds exactly one file per valid row (under its folder prefix), no site was
/// throttled, and the merged fleet summaries equal the per-site reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_sites_three_shards_one_killed() {
    let sites: Vec<String> = (0..12).map(|i| format!("shop-{i:02}")).collect();
    // The server allows each site twice what its client spends.
    let s = fleet_server(&sites, 1200).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let sites_file = write_fleet(work.path(), &src, &sites, 600);
    let victim = 1u32;
    let spawn = |i: u32| {
        fleet_cmd(
            &s,
            work.path(),
            &sites_file,
            &["--shard", &format!("{i}/3"), "-q"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
    };
    let mut children: Vec<Child> = (0..3).map(spawn).collect();
    let victim_journals: Vec<PathBuf> = sites
        .iter()
        .filter(|id| media_migrate::fleet::shard::owner(id, 3) == victim)
        .map(|id| work.path().join("journals").join(format!("{id}.sqlite")))
        .collect();
    assert!(!victim_journals.is_empty(), "the victim shard has sites");
    // Mid-way: a site of the shard has rows accepted and rows not yet READY.
    let (accepted, waiting) = kill_at(
        &mut children[victim as usize],
        "a site of the shard with rows accepted and rows not yet READY",
        || {
            victim_journals.iter().find_map(|j| {
                read_journal(j, |c| {
                    c.query_row(
                        "SELECT (SELECT COUNT(*) FROM rows WHERE state IN ('accepted', 'ready')),
                                (SELECT COUNT(*) FROM rows WHERE state IN ('queued', 'sending', 'in_doubt', 'accepted'))",
                        [],
                        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                    )
                })
                .filter(|&(accepted, waiting)| accepted > 0 && waiting > 0)
            })
        },
    )
    .await;
    assert!(
        waiting <= ROWS as i64,
        "{accepted} rows accepted, {waiting} not yet READY"
    );
    let mut codes = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        if i as u32 != victim {
            codes.push(
                tokio::task::spawn_blocking(move || wait_child(child))
                    .await
                    .unwrap(),
            );
        }
    }
    let (code, out) = run_to_end(fleet_cmd(
        &s,
        work.path(),
        &sites_file,
        &["--shard", &format!("{victim}/3")],
    ))
    .await;
    codes.push((code, out));
    for (code, out) in &codes {
        // Every site has one invalid row: finished, rows not done (3).
        assert_eq!(*code, 3, "{out}");
    }

    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    for i in 0..3 {
        let path = work
            .path()
            .join(format!("reports/fleet-summary-{i}-of-3.json"));
        let summary: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("fleet summary")).unwrap();
        assert_eq!(summary["shard"], format!("{i}/3"));
        assert_eq!(summary["sitesTotal"], 12);
        assert_eq!(summary["exitCode"], 3);
        for site in summary["sites"].as_array().expect("sites") {
            let id = site["siteId"].as_str().unwrap().to_string();
            assert_eq!(
                media_migrate::fleet::shard::owner(&id, 3),
                i,
                "{id} in shard {i}"
            );
            assert!(
                merged.insert(id, site.clone()).is_none(),
                "a site in two shards"
            );
        }
        assert!(
            work.path()
                .join(format!("reports/fleet-summary-{i}-of-3.csv"))
                .is_file()
        );
    }
    assert_eq!(merged.keys().cloned().collect::<Vec<_>>(), sites);
    for site in &sites {
        let line = &merged[site];
        assert_eq!(line["status"], "partial", "{line}");
        let report: Value = serde_json::from_slice(
            &std::fs::read(work.path().join("reports").join(site).join("summary.json"))
                .expect("site summary"),
        )
        .unwrap();
        let o = &line["outcome"];
        for (ours, theirs) in [
            ("ready", "ready"),
            ("pending", "pending"),
            ("failed", "failed"),
            ("invalid", "invalid"),
            ("duplicate", "duplicate"),
        ] {
            assert_eq!(
                o[ours], report["counts"][theirs],
                "{site} {ours}: {line} vs {report}"
            );
        }
        assert_eq!(o["apiCalls"], report["apiCallsTotal"], "{site}");
        assert_eq!(o["throttled"], report["throttled"], "{site}");
        assert_eq!(o["ready"], ROWS as u64, "{site}: {line}");
        assert_eq!(o["invalid"], 1, "{site}");

        let stats = site_stats(&s, site).await;
        assert_eq!(stats["files"]["READY"], ROWS as u64, "{site}: {stats}");
        let held: u64 = stats["files"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert_eq!(
            held, ROWS as u64,
            "{site}: exactly one file per valid row: {stats}"
        );
        assert_eq!(stats["throttled"], 0, "{site} exceeded its limit: {stats}");
    }
    // The folder prefix: every site's files are under /Migrated.
    let r = s
        .http
        .get(s.api("/v1/folders?parentFolderId=media-root"))
        .header("Authorization", key_of(&sites[0]))
        .header("wix-site-id", &sites[0])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let names: BTreeSet<&str> = r["folders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(["Migrated"]), "{r}");
}

/// A refused key and a missing manifest are their sites' failures (exit 1 for the fleet);
/// the other site runs to its end, and no key shows in the summary or the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sites_trouble_never_stops_the_others() {
    let sites: Vec<String> = ["good", "wrong-key", "no-manifest"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let s = fleet_server(&sites, 6000).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let sites_file = write_fleet(work.path(), &src, &sites, 3000);
    std::fs::write(work.path().join("keys/wrong-key"), "a-guessed-key").unwrap();
    std::fs::remove_file(work.path().join("no-manifest.csv")).unwrap();
    let (code, out) = run_to_end(fleet_cmd(&s, work.path(), &sites_file, &[])).await;
    assert_eq!(code, 1, "{out}");
    let summary: Value = serde_json::from_slice(
        &std::fs::read(work.path().join("reports/fleet-summary.json")).unwrap(),
    )
    .unwrap();
    let by_id: BTreeMap<&str, &Value> = summary["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["siteId"].as_str().unwrap(), s))
        .collect();
    assert_eq!(by_id["good"]["status"], "partial", "{summary}");
    assert_eq!(by_id["good"]["outcome"]["ready"], ROWS as u64);
    assert_eq!(by_id["wrong-key"]["status"], "failed");
    assert_eq!(by_id["wrong-key"]["exitCode"], 1);
    assert_eq!(by_id["no-manifest"]["status"], "failed");
    assert!(
        by_id["no-manifest"]["error"]
            .as_str()
            .unwrap()
            .contains("sites file line 4"),
        "{summary}"
    );
    let csv = std::fs::read_to_string(work.path().join("reports/fleet-summary.csv")).unwrap();
    for text in [&out, &summary.to_string(), &csv] {
        assert!(
            !text.contains("a-guessed-key") && !text.contains("key-of-good"),
            "{text}"
        );
    }
}

/// A site whose journal lock another process holds is reported busy, with its holder, and
/// skipped — not failed: the fleet's other site decides the exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_site_is_busy_not_failed() {
    let sites: Vec<String> = vec!["free".into(), "held".into()];
    let s = fleet_server(&sites, 6000).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let sites_file = write_fleet(work.path(), &src, &sites, 3000);
    // Only valid rows, so the free site ends done (0).
    for site in &sites {
        let m = work.path().join(format!("{site}.csv"));
        let text = std::fs::read_to_string(&m)
            .unwrap()
            .replace("not a source,/f0,bad.png\n", "");
        std::fs::write(&m, text).unwrap();
    }
    let journal = work.path().join("journals/held.sqlite");
    let _held =
        media_migrate::journal::RunLock::acquire_as(&journal, "shard 2/3, pid 7, host pod-2")
            .expect("lock taken");
    let (code, out) = run_to_end(fleet_cmd(&s, work.path(), &sites_file, &[])).await;
    assert_eq!(code, 0, "{out}");
    let summary: Value = serde_json::from_slice(
        &std::fs::read(work.path().join("reports/fleet-summary.json")).unwrap(),
    )
    .unwrap();
    let held = &summary["sites"][1];
    assert_eq!(held["siteId"], "held");
    assert_eq!(held["status"], "busy", "{summary}");
    assert!(
        held["error"].as_str().unwrap().contains("pod-2"),
        "{summary}"
    );
    assert_eq!(summary["sites"][0]["status"], "done", "{summary}");
    assert_eq!(files_of(&s, "held").await, 0);
}

async fn files_of(s: &TestServer, site: &str) -> u64 {
    site_stats(s, site).await["files"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum()
}

/// Issue 24: every site of a fleet runs `run`'s job. Two Shopify-like exports mapped by the
/// fleet's `--column` flags (one site by its own mapping file), their images behind a header
/// each site sends by reference (`source_header` … `@env:VAR`), `--metrics-file` with `{site}`
/// written per site, then `--prune` on a second run trashing only the row one site dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_runs_the_whole_job_per_site() {
    let sites = ["shop-a".to_string(), "shop-b".to_string()];
    let s = fleet_server_without_faults(&sites).await;
    let src = SourceServer::start().await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    std::fs::create_dir_all(w.join("keys")).expect("keys dir");
    let export = |site: &str, rows: usize| {
        let mut m = String::from("Handle,Type,Image Src\n");
        for i in 0..rows {
            let mut source = Source::bytes("image/png", png(4 + i as u32, 3));
            source.require_header = Some(("x-token".to_string(), format!("token-{site}")));
            let url = src.add(&format!("/{site}/{i}.png"), source);
            m.push_str(&format!("hat-{i},Straw Hats,{url}\n"));
        }
        std::fs::write(w.join(format!("{site}.csv")), m).expect("manifest");
    };
    for site in &sites {
        export(site, 4);
        std::fs::write(w.join("keys").join(site), key_of(site)).expect("key");
    }
    std::fs::write(
        w.join("b.map"),
        "# shop-b files by handle only\nsource=Image Src\nfolder_path=/B/{Handle}\n",
    )
    .expect("mapping");
    std::fs::write(
        w.join("sites.csv"),
        "site_id,key_file,manifest,mapping,source_header\n\
         shop-a,keys/shop-a,shop-a.csv,,127.0.0.1: X-Token: @env:TOKEN_A\n\
         shop-b,keys/shop-b,shop-b.csv,b.map,127.0.0.1: X-Token: @env:TOKEN_B\n",
    )
    .expect("sites file");
    let metrics = w.join("metrics-{site}.prom");
    let fleet = |extra: &[&str]| {
        let mut cmd = fleet_cmd(&s, w, &w.join("sites.csv"), extra);
        cmd.args(["--column", "source=Image Src"])
            .args(["--column", "folder_path=/Shop/{Type|slug}/{Handle}"])
            .arg("--metrics-file")
            .arg(&metrics)
            .env("TOKEN_A", "token-shop-a")
            .env("TOKEN_B", "token-shop-b");
        cmd
    };
    let (code, out) = run_to_end(fleet(&[])).await;
    assert_eq!(code, 0, "{out}");
    let folders = |site: &str| -> BTreeSet<String> {
        crate::support::read_csv(&w.join("reports").join(site).join("reconciliation.csv"))
            .into_iter()
            .map(|r| {
                assert_eq!(r["status"], "ready", "{site}: {r:?}");
                r["folder_path"].clone()
            })
            .collect()
    };
    let expect = |prefix: &str| -> BTreeSet<String> {
        (0..4).map(|i| format!("{prefix}/hat-{i}")).collect()
    };
    assert_eq!(folders("shop-a"), expect("/Shop/straw-hats"));
    assert_eq!(folders("shop-b"), expect("/B"));
    for site in &sites {
        let text = std::fs::read_to_string(w.join(format!("metrics-{site}.prom")))
            .unwrap_or_else(|e| panic!("{site}'s metrics file: {e}"));
        assert!(
            text.contains(&format!("#{site}\",status=\"ready\"}} 4\n")),
            "{site}: {text}"
        );
    }

    // shop-a's export drops a product; shop-b's is unchanged.
    export("shop-a", 3);
    let (code, out) = run_to_end(fleet(&["--prune", "--max-prune", "50"])).await;
    assert_eq!(code, 0, "{out}");
    let pruned = |site: &str| {
        let summary: Value = serde_json::from_slice(
            &std::fs::read(w.join("reports").join(site).join("summary.json")).expect("summary"),
        )
        .expect("summary json");
        summary["pruned"].as_u64().expect("pruned")
    };
    assert_eq!((pruned("shop-a"), pruned("shop-b")), (1, 0), "{out}");
    let text = std::fs::read_to_string(w.join("metrics-shop-a.prom")).expect("metrics");
    assert!(text.contains("status=\"ready\"} 3\n"), "{text}");
}

/// The long flags `media-migrate COMMAND --help` lists.
fn help_flags(command: &str) -> BTreeSet<String> {
    let out = Command::new(bin())
        .args([command, "--help"])
        .output()
        .expect("help");
    assert!(out.status.success(), "{command} --help");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .flat_map(|l| {
            l.split([' ', ','])
                .take_while(|w| w.starts_with('-') || w.is_empty() || w.starts_with('<'))
                .filter(|w| w.starts_with("--"))
                .map(|w| w.split(['[', '=']).next().unwrap_or(w).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Issue 24: `fleet --help` lists every job flag of `run --help`: the two differ only by
/// what names one site (its key, id, local dir and journal) and what spreads many.
#[test]
fn fleet_help_lists_every_job_flag_of_run() {
    let run = help_flags("run");
    let fleet = help_flags("fleet");
    assert!(run.len() > 40, "{run:?}");
    let only = |set: &BTreeSet<String>, own: &[&str]| -> BTreeSet<String> {
        set.iter()
            .filter(|f| !own.contains(&f.as_str()))
            .cloned()
            .collect()
    };
    let run_only = ["--api-key", "--site-id", "--local-dir", "--journal"];
    let fleet_only = ["--shard", "--concurrency-sites", "--journal-dir"];
    assert_eq!(only(&run, &run_only), only(&fleet, &fleet_only));
    for own in run_only {
        assert!(run.contains(own) && !fleet.contains(own), "{own}");
    }
}

/// A job flag that would be one thing shared by every site is refused by name, with why
/// (exit 2): one metrics file, one metrics instance, one public address for listeners.
#[tokio::test]
async fn fleet_refuses_what_sites_would_share() {
    let work = tempfile::tempdir().expect("work");
    let sites = work.path().join("sites.csv");
    std::fs::write(&sites, "site_id,key_env,manifest\na,K,m.csv\n").expect("sites");
    let cases: [(&[&str], &str); 4] = [
        (&["--metrics-file", "m.prom"], "--metrics-file m.prom"),
        (&["--metrics-instance", "one"], "--metrics-instance one"),
        (
            &["--serve-sources", "https://tunnel.example"],
            "--serve-sources PUBLIC_BASE_URL",
        ),
        (
            &[
                "--serve-sources",
                "--serve-sources-listen",
                "127.0.0.1:8080",
            ],
            "--serve-sources-listen 127.0.0.1:8080",
        ),
    ];
    for (flags, named) in cases {
        let mut cmd = Command::new(bin());
        cmd.arg("fleet").arg(&sites).args(flags);
        let (code, out) = run_to_end(cmd).await;
        assert_eq!(code, 2, "{flags:?}: {out}");
        assert!(out.contains(named), "{flags:?}: {out}");
    }
    // One site at a time, the listener and the address are the site's own while it runs.
    let mut cmd = Command::new(bin());
    cmd.arg("fleet")
        .arg(&sites)
        .args(["--serve-sources", "https://tunnel.example"])
        .args(["--concurrency-sites", "1", "--journal-dir"])
        .arg(work.path().join("j"))
        .arg("--report-dir")
        .arg(work.path().join("r"))
        .env_remove("K")
        .env_remove("JOB_COMPLETION_INDEX");
    let (code, out) = run_to_end(cmd).await;
    assert_eq!(code, 1, "the site fails on its key, not the flags: {out}");
    assert!(out.contains("K is not set"), "{out}");
}

/// Issue 24: `fleet --serve-sources` serves each site's local files from a listener of its
/// own while that site runs (two sites at once, two addresses): every file rides Bulk Import,
/// no site asks for an upload URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_serves_each_sites_local_files() {
    let sites = ["shop-a".to_string(), "shop-b".to_string()];
    let s = fleet_server_without_faults(&sites).await;
    let work = tempfile::tempdir().expect("work");
    let w = work.path();
    std::fs::create_dir_all(w.join("keys")).expect("keys dir");
    let mut sites_csv = String::from("site_id,key_file,manifest\n");
    for site in &sites {
        let dir = w.join(site);
        std::fs::create_dir_all(&dir).expect("site dir");
        let mut m = String::from("source,folder_path\n");
        for i in 0..5 {
            std::fs::write(dir.join(format!("p{i}.png")), png(6 + i, 4)).expect("photo");
            m.push_str(&format!("p{i}.png,/local\n"));
        }
        std::fs::write(dir.join("m.csv"), m).expect("manifest");
        std::fs::write(w.join("keys").join(site), key_of(site)).expect("key");
        sites_csv.push_str(&format!("{site},keys/{site},{site}/m.csv\n"));
    }
    std::fs::write(w.join("sites.csv"), sites_csv).expect("sites file");
    let (code, out) =
        run_to_end(fleet_cmd(&s, w, &w.join("sites.csv"), &["--serve-sources"])).await;
    assert_eq!(code, 0, "{out}");
    let mut addresses = BTreeSet::new();
    for site in &sites {
        let marker = format!("[{site}] --serve-sources: serving the manifest's local files on ");
        let addr = out
            .split(&marker)
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .unwrap_or_else(|| panic!("no listener of {site} in: {out}"));
        addresses.insert(addr.to_string());
        let stats = site_stats(&s, site).await;
        assert!(
            stats["calls"][BULK_IMPORT].as_u64().unwrap_or(0) >= 1,
            "{site}: {stats}"
        );
        assert_eq!(
            stats["calls"][UPLOAD_URL].as_u64().unwrap_or(0),
            0,
            "{site}: {stats}"
        );
        let rows =
            crate::support::read_csv(&w.join("reports").join(site).join("reconciliation.csv"));
        assert_eq!(rows.len(), 5, "{site}");
        assert!(
            rows.iter().all(|r| r["status"] == "ready"),
            "{site}: {rows:?}"
        );
    }
    assert_eq!(
        addresses.len(),
        2,
        "each site its own listener: {addresses:?}"
    );
}

/// A multi-site server for `sites`, without faults.
async fn fleet_server_without_faults(sites: &[String]) -> TestServer {
    TestServer::start_with(|c| c.sites = site_configs(sites, None)).await
}

/// Each of `sites` with its key and rate limit.
fn site_configs(sites: &[String], rpm: Option<u32>) -> Vec<SiteConfig> {
    sites
        .iter()
        .map(|id| SiteConfig {
            id: id.clone(),
            api_keys: vec![key_of(id)],
            rate_limit_per_minute: rpm,
        })
        .collect()
}
