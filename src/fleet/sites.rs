//! The sites file of a fleet: one site a line, as CSV with a header row or as JSON Lines,
//! with `site_id`, where its key comes from (`key_env`: an environment variable's name, or
//! `key_file`: a file, as a Kubernetes Secret mounts it), `manifest`, and optionally `rate`
//! (requests per minute), `folder_prefix`, `mapping` (a file of `--column` items, one a line),
//! `source_header` (`HOST: Name: @env:VAR`, by reference only) and `stage` (a bucket URL).
//! Relative paths are taken from the sites file's folder. Keys and header values themselves
//! are never in the file, and never read here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
// The server's rule for a site id (it names the site's data directory) serves here too: an id
// names the site's journal and report folder, so nothing that could climb out of them.
use wix_media_wire::site::valid_site_id;

/// Where a site's key is read from (by the command, not here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable's name.
    Env(String),
    /// A file holding the key (its first line that is neither blank nor a `#` comment).
    File(PathBuf),
}

/// One site of the sites file, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteEntry {
    /// Its line in the sites file (1-based; the CSV header is line 1).
    pub line: u64,
    pub site_id: String,
    pub key: KeySource,
    pub manifest: PathBuf,
    /// Requests per minute for this site; `None` takes the fleet's `--rate`.
    pub rate: Option<u32>,
    /// "" or "/a/b": put before every row's folder path.
    pub folder_prefix: String,
    /// `--column` items replacing the fleet's, read from the site's mapping file.
    pub mapping: Option<Vec<String>>,
    /// `--source-header` items added to the fleet's, each value `@env:VAR`.
    pub source_headers: Vec<String>,
    /// Where this site stages local files, instead of the fleet's `--stage`.
    pub stage: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SitesError {
    #[error("can't read the sites file {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {field}: {reason}", path.display())]
    Field {
        path: PathBuf,
        line: u64,
        field: &'static str,
        reason: String,
    },
    #[error("{}:{line}: {reason}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{} holds no site", path.display())]
    Empty { path: PathBuf },
}

/// A line as written, before validation (CSV columns and JSON keys alike).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    site_id: Option<String>,
    key_env: Option<String>,
    key_file: Option<String>,
    manifest: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    rate: Option<String>,
    folder_prefix: Option<String>,
    mapping: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    source_header: Vec<String>,
    stage: Option<String>,
}

/// `source_header` as one string (a CSV cell) or, in JSON Lines, a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// `rate` as a JSON number or a string (CSV cells are all strings).
fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// Reads and validates the sites file at `path` (JSON Lines for `.jsonl`/`.ndjson`/`.json`,
/// CSV otherwise), in file order. Any defect is an error naming its line and field: a fleet
/// started on a half-understood sites file would migrate the wrong sites.
pub fn read_sites(path: &Path) -> Result<Vec<SiteEntry>, SitesError> {
    let text = std::fs::read_to_string(path).map_err(|source| SitesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let json = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "ndjson" | "json")
    );
    let raws = if json {
        read_jsonl(path, &text)?
    } else {
        read_csv(path, &text)?
    };
    let mut seen = HashSet::new();
    let mut sites = Vec::with_capacity(raws.len());
    for (line, raw) in raws {
        let site = validate(path, base, line, raw)?;
        if !seen.insert(site.site_id.clone()) {
            return Err(SitesError::Field {
                path: path.to_path_buf(),
                line,
                field: "site_id",
                reason: format!("{} is named twice", site.site_id),
            });
        }
        sites.push(site);
    }
    if sites.is_empty() {
        return Err(SitesError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(sites)
}

fn read_jsonl(path: &Path, text: &str) -> Result<Vec<(u64, RawSite)>, SitesError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n as u64 + 1;
        let trimmed = line.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let raw: RawSite = serde_json::from_str(trimmed).map_err(|e| SitesError::Line {
            path: path.to_path_buf(),
            line: line_no,
            reason: format!("not a site object: {e}"),
        })?;
        out.push((line_no, raw));
    }
    Ok(out)
}

fn read_csv(path: &Path, text: &str) -> Result<Vec<(u64, RawSite)>, SitesError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let line_err = |line: u64, reason: String| SitesError::Line {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let headers = reader
        .headers()
        .map_err(|e| line_err(1, e.to_string()))?
        .clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| line_err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        // Comments and blank lines (csv's own comment support would hide line numbers).
        if record.iter().all(str::is_empty) || record.get(0).is_some_and(|f| f.starts_with('#')) {
            continue;
        }
        if record.len() != headers.len() {
            return Err(line_err(
                line,
                format!(
                    "{} fields where the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        let raw: RawSite = record
            .deserialize(Some(&headers))
            .map_err(|e| line_err(line, e.to_string()))?;
        out.push((line, raw));
    }
    Ok(out)
}

fn validate(path: &Path, base: &Path, line: u64, raw: RawSite) -> Result<SiteEntry, SitesError> {
    let field = |field: &'static str, reason: String| SitesError::Field {
        path: path.to_path_buf(),
        line,
        field,
        reason,
    };
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let site_id = given(raw.site_id).ok_or_else(|| field("site_id", "missing".into()))?;
    if !valid_site_id(&site_id) {
        return Err(field(
            "site_id",
            format!("{site_id:?} is not 1-64 of A-Z a-z 0-9 . _ - (not starting with .)"),
        ));
    }
    let key = match (given(raw.key_env), given(raw.key_file)) {
        (Some(var), None) => KeySource::Env(var),
        (None, Some(file)) => KeySource::File(base.join(file)),
        (Some(_), Some(_)) => {
            return Err(field(
                "key_env",
                "give key_env or key_file, not both".into(),
            ));
        }
        (None, None) => {
            return Err(field(
                "key_env",
                "missing: name an environment variable (key_env) or a file (key_file) holding the key".into(),
            ));
        }
    };
    let manifest = given(raw.manifest)
        .map(|m| base.join(m))
        .ok_or_else(|| field("manifest", "missing".into()))?;
    let rate = match given(raw.rate) {
        None => None,
        Some(text) => Some(text.parse::<u32>().ok().filter(|r| *r > 0).ok_or_else(|| {
            field(
                "rate",
                format!("{text:?} is not a whole number of requests per minute ≥ 1"),
            )
        })?),
    };
    let folder_prefix = crate::manifest::parse_folder_path(given(raw.folder_prefix).as_deref())
        .map_err(|reason| field("folder_prefix", reason))?;
    let mapping = given(raw.mapping)
        .map(|file| read_mapping(&base.join(file)))
        .transpose()
        .map_err(|reason| field("mapping", reason))?;
    let source_headers: Vec<String> = raw
        .source_header
        .into_iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    for header in &source_headers {
        check_header_reference(header).map_err(|reason| field("source_header", reason))?;
    }
    let stage = given(raw.stage);
    if let Some(url) = &stage {
        crate::sources::stage::StageLocation::parse(url)
            .map_err(|reason| field("stage", reason))?;
    }
    Ok(SiteEntry {
        line,
        site_id,
        key,
        manifest,
        rate,
        folder_prefix,
        mapping,
        source_headers,
        stage,
    })
}

/// A mapping file: one `--column` item (`FIELD=HEADER`, `FIELD=TEMPLATE` or `FIELD=`) a line;
/// blank lines and `#` comments skipped. Each item is checked here, so a typo is the sites
/// file's error, not a site's failure.
fn read_mapping(path: &Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    let items: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    crate::manifest::ColumnMap::parse_all(&items)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(items)
}

/// `HOST: Name: @env:VAR`: a header by reference — a value written in the sites file would
/// be a secret in a file that is shared, versioned and printed.
fn check_header_reference(spec: &str) -> Result<(), String> {
    let value = spec.splitn(3, ':').nth(2).map(str::trim).unwrap_or("");
    if !value.starts_with("@env:") {
        return Err(
            "give the value by reference, as 'HOST: Name: @env:VAR' (the variable holds the value); a value written here would be a secret in the sites file"
                .to_string(),
        );
    }
    crate::sources::SourceHeaders::parse_all(&[spec.to_string()], |_| Some("set".to_string()))
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// CSV and JSON Lines say the same; relative paths are the sites file's folder's.
    #[test]
    fn csv_and_jsonl_read_alike() {
        let (dir, csv) = write(
            "sites.csv",
            "site_id,key_env,key_file,manifest,rate,folder_prefix\n\
             shop-a,KEY_A,,a.csv,120,/Imported/\n\
             # a comment\n\
             shop-b,,keys/b,/abs/b.csv,,\n",
        );
        let sites = read_sites(&csv).unwrap();
        assert_eq!(sites.len(), 2);
        assert_eq!(sites[0].site_id, "shop-a");
        assert_eq!(sites[0].key, KeySource::Env("KEY_A".into()));
        assert_eq!(sites[0].manifest, dir.path().join("a.csv"));
        assert_eq!(sites[0].rate, Some(120));
        assert_eq!(sites[0].folder_prefix, "/Imported");
        assert_eq!(sites[1].key, KeySource::File(dir.path().join("keys/b")));
        assert_eq!(sites[1].manifest, PathBuf::from("/abs/b.csv"));
        assert_eq!((sites[1].rate, sites[1].folder_prefix.as_str()), (None, ""));
        assert_eq!(sites[1].line, 4);
        let (_d2, jsonl) = write(
            "sites.jsonl",
            "{\"site_id\":\"shop-a\",\"key_env\":\"KEY_A\",\"manifest\":\"a.csv\",\"rate\":120,\"folder_prefix\":\"/Imported\"}\n\n\
             {\"site_id\":\"shop-b\",\"key_file\":\"keys/b\",\"manifest\":\"/abs/b.csv\"}\n",
        );
        let from_json = read_sites(&jsonl).unwrap();
        assert_eq!(from_json[0].rate, Some(120));
        assert_eq!(from_json[1].line, 3);
        assert_eq!(from_json[0].site_id, sites[0].site_id);
    }

    /// Each defect names the file, its line and the field.
    #[test]
    fn defects_name_line_and_field() {
        let cases = [
            ("site_id,key_env,manifest\n../x,K,m.csv\n", ":2: site_id"),
            (
                "site_id,key_env,manifest\na,K,m.csv\na,K,n.csv\n",
                ":3: site_id",
            ),
            ("site_id,key_env,manifest\na,,m.csv\n", ":2: key_env"),
            (
                "site_id,key_env,key_file,manifest\na,K,f,m.csv\n",
                ":2: key_env",
            ),
            ("site_id,key_env,manifest\na,K,\n", ":2: manifest"),
            ("site_id,key_env,manifest,rate\na,K,m,0\n", ":2: rate"),
            (
                "site_id,key_env,manifest,folder_prefix\na,K,m,/x/../y\n",
                ":2: folder_prefix",
            ),
            ("site_id,key_env,manifest,colour\na,K,m,red\n", "colour"),
            ("site_id,key_env,manifest\n", "holds no site"),
        ];
        for (text, expected) in cases {
            let (_dir, path) = write("sites.csv", text);
            let err = read_sites(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let (_dir, path) = write("sites.jsonl", "{\"site_id\":\"a\"\n");
        let err = read_sites(&path).unwrap_err().to_string();
        assert!(err.contains("sites.jsonl:1:"), "{err}");
    }

    /// What may differ per site: a mapping file, source headers by reference only, a stage;
    /// each defect names the line and field.
    #[test]
    fn per_site_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("shop.map"),
            "# Shopify\nsource=Image Src\n\nfolder_path=/Shop/{Handle}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.map"), "colour=Red\n").unwrap();
        let sites = dir.path().join("sites.jsonl");
        std::fs::write(
            &sites,
            "{\"site_id\":\"a\",\"key_env\":\"K\",\"manifest\":\"a.csv\",\"mapping\":\"shop.map\",\"source_header\":[\"cdn.example.com: X-A: @env:A\",\"img.example.com: X-B: @env:B\"],\"stage\":\"s3://bucket/a\"}\n\
             {\"site_id\":\"b\",\"key_env\":\"K\",\"manifest\":\"b.csv\",\"source_header\":\"cdn.example.com: X-A: @env:A\"}\n",
        )
        .unwrap();
        let read = read_sites(&sites).unwrap();
        assert_eq!(
            read[0].mapping.as_deref(),
            Some(
                &[
                    "source=Image Src".to_string(),
                    "folder_path=/Shop/{Handle}".to_string()
                ][..]
            )
        );
        assert_eq!(read[0].source_headers.len(), 2);
        assert_eq!(read[0].stage.as_deref(), Some("s3://bucket/a"));
        assert_eq!(
            (read[1].mapping.as_ref(), read[1].source_headers.len()),
            (None, 1)
        );
        let cases = [
            ("mapping\nbad.map", ":2: mapping"),
            ("mapping\nnone.map", ":2: mapping"),
            (
                "source_header\ncdn.example.com: X-A: s3cr3t-9f",
                ":2: source_header",
            ),
            (
                "source_header\ncdn.example.com X-A @env:A",
                ":2: source_header",
            ),
            ("stage\nftp://bucket", ":2: stage"),
        ];
        for (tail, expected) in cases {
            let (head, cell) = tail.split_once('\n').unwrap();
            let path = dir.path().join("sites.csv");
            std::fs::write(
                &path,
                format!("site_id,key_env,manifest,{head}\na,K,a.csv,\"{cell}\"\n"),
            )
            .unwrap();
            let err = read_sites(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{tail:?}: {err}");
            assert!(
                !err.contains("s3cr3t-9f"),
                "the value is in the error: {err}"
            );
        }
    }
}
