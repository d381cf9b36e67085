//! The recipes of `manifests/recipes/`: each sample export migrated by the real
//! `media-migrate run` with the command its README gives, against a local Media Manager, its
//! URLs pointed at a local source server; then the folders, names and labels on the server,
//! and the reconciliation report, are checked. Also the mapping mistakes the CLI must refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{Source, SourceServer, TestServer, bin, jpeg, png, read_csv, run_to_end};

const KEY: &str = "recipes-test-key";
const SITE: &str = "site-recipes";

/// A file of `manifests/` (a recipe, or the media the examples use).
fn manifests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests")
}

/// A body the local Media Manager accepts for a file name's type.
fn media_for(path: &str) -> Source {
    if path.ends_with(".png") {
        Source::bytes("image/png", png(8, 6))
    } else if path.ends_with(".pdf") {
        let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
        Source::bytes("application/pdf", pdf)
    } else {
        Source::bytes("image/jpeg", jpeg(8, 6))
    }
}

/// One migrated recipe: the server, the work folder, the exit code and output.
struct Migrated {
    server: TestServer,
    work: tempfile::TempDir,
    manifest: PathBuf,
    /// The mapping flags, rewritten for the local source server.
    args: Vec<String>,
    code: i32,
    output: String,
}

impl Migrated {
    /// Runs `media-migrate COMMAND` on the same manifest with the same mapping flags.
    async fn again(&self, command: &str, extra: &[&str]) -> (i32, String) {
        let mut cmd = Command::new(bin());
        cmd.current_dir(self.work.path())
            .args(["--quiet", command])
            .arg(&self.manifest)
            .args(&self.args)
            .args(extra)
            .stdin(Stdio::null());
        run_to_end(cmd).await
    }

    /// Every file on the server: (folder, name) → labels.
    async fn tree(&self) -> BTreeMap<(String, String), Vec<String>> {
        self.server
            .files_with_paths()
            .await
            .into_iter()
            .map(|(folder, file)| {
                let name = file["displayName"].as_str().expect("name").to_string();
                let labels = file["labels"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|v| v.as_str().expect("label").to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                ((folder, name), labels)
            })
            .collect()
    }

    /// The reconciliation report's status of each line.
    fn statuses(&self) -> BTreeMap<u64, String> {
        read_csv(&self.work.path().join("reports/reconciliation.csv"))
            .into_iter()
            .map(|r| (r["line"].parse().expect("line"), r["status"].clone()))
            .collect()
    }
}

fn recipe_text(name: &str) -> String {
    std::fs::read_to_string(manifests_dir().join("recipes").join(name)).expect("recipe")
}

/// The paths after `base` in `text` (up to a quote, comma, query or line end).
fn paths_after(text: &str, base: &str) -> Vec<String> {
    text.match_indices(base)
        .map(|(i, _)| {
            text[i + base.len()..]
                .chars()
                .take_while(|c| !matches!(c, '"' | ',' | '\n' | '?' | ' '))
                .collect()
        })
        .collect()
}

/// Copies recipe `name` into a work folder with each `(from, to)` text replaced (the URL
/// base becomes the source server's), serves `paths` (relative to `base`), and runs
/// `media-migrate run` with `args` (each with the same replacements).
async fn migrate(
    name: &str,
    base: &str,
    paths: Vec<String>,
    extra: &[(&str, String)],
    args: &[&str],
) -> Migrated {
    let server = TestServer::start_with(|c| {
        c.api_keys = vec![KEY.to_string()];
        c.site_id = SITE.to_string();
    })
    .await;
    let sources = SourceServer::start().await;
    let local = sources.url("/");
    let rewrite = |text: &str| {
        let mut text = text.replace(base, &local);
        for (from, to) in extra {
            text = text.replace(from, to);
        }
        text
    };
    let rewritten = rewrite(&recipe_text(name));
    for path in paths {
        sources.add(&format!("/{path}"), media_for(&path));
    }
    let work = tempfile::tempdir().expect("work dir");
    let manifest = work.path().join(name);
    std::fs::write(&manifest, rewritten).expect("write manifest");
    let args: Vec<String> = args.iter().map(|a| rewrite(a)).collect();
    let mut cmd = Command::new(bin());
    cmd.current_dir(work.path())
        .arg("--quiet")
        .arg("run")
        .arg(&manifest)
        .args([
            "--base-url",
            &server.url,
            "--api-key",
            KEY,
            "--site-id",
            SITE,
        ])
        .args(["--report-dir", "reports", "--journal", "journal.sqlite"])
        .args(&args)
        .stdin(Stdio::null());
    let (code, output) = run_to_end(cmd).await;
    Migrated {
        server,
        work,
        manifest,
        args,
        code,
        output,
    }
}

fn entry(folder: &str, name: &str, labels: &[&str]) -> ((String, String), Vec<String>) {
    (
        (folder.to_string(), name.to_string()),
        labels.iter().map(|l| l.to_string()).collect(),
    )
}

/// Shopify products: folders from a template over Type (filled down per product) and
/// Handle, labels from Tags, variant rows without an image skipped; exit 0.
#[tokio::test]
async fn shopify_products_recipe_migrates() {
    let run = migrate(
        "shopify-products.csv",
        "https://cdn.shopify.com/",
        paths_after(
            &recipe_text("shopify-products.csv"),
            "https://cdn.shopify.com/",
        ),
        &[],
        &[
            "--column",
            "source=Image Src",
            "--column",
            "folder_path=/Shop/{Type|slug}/{Handle}",
            "--column",
            "labels=Tags",
            "--labels-separator",
            ",",
            "--fill-down",
            "Type@Handle",
            "--fill-down",
            "Tags@Handle",
            "--skip-empty-source",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.output);
    let sneaker = ["sneakers", "red", "sale"];
    let expected: BTreeMap<_, _> = [
        entry(
            "/Shop/shoes/classic-sneaker",
            "classic-sneaker-side.jpg",
            &sneaker,
        ),
        entry(
            "/Shop/shoes/classic-sneaker",
            "classic-sneaker-top.jpg",
            &sneaker,
        ),
        entry(
            "/Shop/hats-caps/straw-hat",
            "straw-hat.png",
            &["summer", "hats"],
        ),
        entry("/Shop/shoes/leather-boot", "leather-boot.jpg", &["boots"]),
        entry(
            "/Shop/shoes/leather-boot",
            "leather-boot-sole.jpg",
            &["boots"],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(run.tree().await, expected);
    let statuses = run.statuses();
    let skipped: BTreeSet<u64> = statuses
        .iter()
        .filter(|(_, s)| *s == "skipped")
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(skipped, BTreeSet::from([4, 7]), "{statuses:?}");
    assert!(statuses.values().all(|s| s == "ready" || s == "skipped"));
    let summary = read_json(&run.work.path().join("reports/summary.json"));
    assert_eq!(summary["counts"]["skipped"], 2);
    assert_eq!(summary["counts"]["invalid"], 0);
    let failed = read_csv(&run.work.path().join("reports/failed.csv"));
    assert!(
        failed.is_empty(),
        "skipped rows are not failures: {failed:?}"
    );

    // plan, reconcile and a second run see the same skipped rows, and exit 0 too.
    let (code, out) = run.again("plan", &[]).await;
    assert_eq!(code, 0, "{out}");
    let plan = read_json(&run.work.path().join("plan/plan.json"));
    assert_eq!(plan["counts"]["valid"], 5, "{plan}");
    assert_eq!(plan["counts"]["skipped"], 2, "{plan}");
    let target = [
        "--base-url",
        &run.server.url,
        "--api-key",
        KEY,
        "--site-id",
        SITE,
    ];
    let (code, out) = run.again("reconcile", &target).await;
    assert_eq!(code, 0, "{out}");
    let reconciled = read_csv(&run.work.path().join("reconcile/reconcile.csv"));
    let statuses: Vec<&str> = reconciled.iter().map(|r| r["status"].as_str()).collect();
    let present = "present";
    assert_eq!(
        statuses,
        [
            present, present, "skipped", present, present, "skipped", present
        ]
    );
    let mut rerun = target.to_vec();
    rerun.extend(["--report-dir", "reports2", "--journal", "journal.sqlite"]);
    let (code, out) = run.again("run", &rerun).await;
    assert_eq!(code, 0, "{out}");
    let summary = read_json(&run.work.path().join("reports2/summary.json"));
    assert_eq!(summary["counts"]["skipped"], 2, "{summary}");
    assert_eq!(
        summary["ingest"]["skipped"], 2,
        "an unchanged manifest adopts its skipped lines: {summary}"
    );
    assert_eq!(run.tree().await.len(), 5, "nothing imported twice");
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("report exists")).expect("json")
}

/// WordPress media library JSON: names from `title.rendered` with entities decoded, folders
/// from `media_details.file`, WordPress's own `media_type` unmapped (PDFs pass) yet used in
/// the labels; ids as external ids.
#[tokio::test]
async fn wordpress_media_recipe_migrates() {
    let run = migrate(
        "wordpress-media.json",
        "https://blog.example.com/",
        paths_after(
            &recipe_text("wordpress-media.json"),
            "https://blog.example.com/",
        ),
        &[],
        &[
            "--column",
            "source=source_url",
            "--column",
            "display_name={title.rendered|html|trim}",
            "--column",
            "folder_path=/WordPress/{media_details.file|dirname}",
            "--column",
            "external_id=id",
            "--column",
            "labels=wordpress|{media_type}",
            "--column",
            "media_type=",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.output);
    let expected: BTreeMap<_, _> = [
        entry(
            "/WordPress/2021/03",
            "Photo – Spring in the park",
            &["wordpress", "image"],
        ),
        entry(
            "/WordPress/2022/11",
            "Team & friends’ banner",
            &["wordpress", "image"],
        ),
        entry("/WordPress", "Price list – 2023", &["wordpress", "file"]),
    ]
    .into_iter()
    .collect();
    assert_eq!(run.tree().await, expected);
    let report = read_csv(&run.work.path().join("reports/reconciliation.csv"));
    let keys: Vec<&str> = report.iter().map(|r| r["key"].as_str()).collect();
    assert_eq!(keys, ["ext:4101", "ext:5230", "ext:5388"]);
}

/// A plain URL list (.txt): comments and blank lines skipped, a local file uploaded, folders
/// from the last folder of each URL or path; line numbers are the file's.
#[tokio::test]
async fn url_list_recipe_migrates() {
    let media = format!("{}/", manifests_dir().join("media").display());
    let root = manifests_dir().display().to_string();
    let run = migrate(
        "urls.txt",
        "https://static.example.com/",
        paths_after(&recipe_text("urls.txt"), "https://static.example.com/"),
        &[("../media/", media)],
        &[
            "--column",
            "folder_path=/Imported/{source|dirname|basename}",
            "--local-root",
            &root,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.output);
    let expected: BTreeMap<_, _> = [
        entry("/Imported/catalog", "red-sneaker.jpg", &[]),
        entry("/Imported/catalog", "straw-hat.png", &[]),
        entry("/Imported/docs", "price-list.pdf", &[]),
        entry("/Imported/audio", "jingle.wav", &[]),
    ]
    .into_iter()
    .collect();
    assert_eq!(run.tree().await, expected);
    let lines: Vec<u64> = run.statuses().into_keys().collect();
    assert_eq!(lines, [4, 5, 7, 8]);
}

/// An S3 bucket listing: keys become public URLs through a source template, folders the
/// keys' folders, labels from the storage class.
#[tokio::test]
async fn bucket_listing_recipe_migrates() {
    // The listing names keys, not URLs: serve each key.
    let keys = recipe_text("bucket-listing.csv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect();
    let run = migrate(
        "bucket-listing.csv",
        "https://my-media-bucket.s3.amazonaws.com/",
        keys,
        &[],
        &[
            "--column",
            "source=https://my-media-bucket.s3.amazonaws.com/{Key}",
            "--column",
            "folder_path=/Bucket/{Key|dirname}",
            "--column",
            "labels=s3|{StorageClass|lower}",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.output);
    let expected: BTreeMap<_, _> = [
        entry(
            "/Bucket/products/shoes",
            "red-sneaker.jpg",
            &["s3", "standard"],
        ),
        entry(
            "/Bucket/products/shoes",
            "blue-boot.png",
            &["s3", "standard"],
        ),
        entry(
            "/Bucket/products/hats",
            "straw-hat.jpg",
            &["s3", "standard_ia"],
        ),
        entry("/Bucket/blog/2024", "cover.png", &["s3", "standard"]),
        entry("/Bucket", "price-list.pdf", &["s3", "glacier_ir"]),
    ]
    .into_iter()
    .collect();
    assert_eq!(run.tree().await, expected);
}

/// Runs `media-migrate ARGS` in a fresh folder; returns the exit code and the output.
async fn cli(args: &[&str], files: &[(&str, &[u8])]) -> (i32, String) {
    let work = tempfile::tempdir().expect("work dir");
    for (name, content) in files {
        std::fs::write(work.path().join(name), content).expect("write");
    }
    let mut cmd = Command::new(bin());
    cmd.current_dir(work.path()).args(args);
    run_to_end(cmd).await
}

/// `--base-url` without credentials is a usage error saying how to reach a `serve`
/// instance, not a silent migration into the embedded server.
#[tokio::test]
async fn base_url_without_credentials_is_a_usage_error() {
    let files: &[(&str, &[u8])] = &[("m.csv", b"source\nhttps://x.test/a.jpg\n")];
    for command in ["run", "reconcile"] {
        let (code, out) = cli(
            &[command, "m.csv", "--base-url", "http://127.0.0.1:9"],
            files,
        )
        .await;
        assert_eq!(code, 2, "{command}: {out}");
        assert!(
            out.contains("--base-url http://127.0.0.1:9 needs --api-key and --site-id")
                && out.contains("media-migrate serve")
                && out.contains("local-site"),
            "{command}: {out}"
        );
    }
}

/// Mapping mistakes stop `plan` (and so `run`) before any row: a bad template or filter is
/// a usage error naming the field and the filters; a mapped column the header lacks is
/// fatal, listing the columns found; a workbook is named, not dumped as columns.
#[tokio::test]
async fn mapping_mistakes_are_refused_with_what_was_found() {
    let shop: &[(&str, &[u8])] = &[(
        "p.csv",
        b"Handle,Type,Image Src\nhat,Hats,https://x.test/a.jpg\n",
    )];
    let (code, out) = cli(
        &[
            "plan",
            "p.csv",
            "--column",
            "source=Image Src",
            "--column",
            "folder_path=/{Type|slugify}",
        ],
        shop,
    )
    .await;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("folder_path")
            && out.contains("unknown filter \"slugify\"")
            && out.contains("dirname, basename"),
        "{out}"
    );
    let (code, out) = cli(
        &[
            "plan",
            "p.csv",
            "--column",
            "source=Image Src",
            "--column",
            "display_name=Image Alt",
        ],
        shop,
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("p.csv, line 1")
            && out.contains("no \"image alt\" column")
            && out.contains("columns found: \"Handle\", \"Type\", \"Image Src\""),
        "{out}"
    );
    let mut xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00[Content_Types].xml".to_vec();
    xlsx.extend_from_slice(b"\x00\x00xl/workbook.xml\x00\x00\x00");
    let (code, out) = cli(&["plan", "products.xlsx"], &[("products.xlsx", &xlsx)]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("looks like an Excel workbook (.xlsx)")
            && out.contains("save it as CSV UTF-8"),
        "{out}"
    );
    assert!(!out.contains("Content_Types"), "no raw bytes: {out}");
}
