//! Wix's generated packages as read from a `node_modules/@wix` directory: per package, the REST
//! interfaces of `build/cjs/meta.d.ts`, the validation rules of `build/cjs/index.typings.d.ts`,
//! each method's HTTP binding from `build/cjs/index.js`, and the version of `package.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wix_media_wire::contract::Package;

use crate::dts::{self, Module};

/// A method's HTTP binding: `method: "POST"` and `protoPath: "/v1/…"` in `index.js`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub http: String,
    pub path: String,
}

/// One generated package.
#[derive(Debug, Clone, Default)]
pub struct Sdk {
    pub version: String,
    /// The REST-shaped interfaces (plain `id`, `createdDate`).
    pub types: Module,
    /// `bulkImportFile` → the rule names of `BulkImportFileValidationErrors` (absent: none).
    pub rules: BTreeMap<String, Vec<String>>,
    pub bindings: BTreeMap<String, Binding>,
}

impl Sdk {
    /// A package from the text of its files.
    pub fn from_sources(version: &str, meta_dts: &str, typings_dts: &str, index_js: &str) -> Self {
        let typings = dts::parse(typings_dts);
        let rules = typings
            .aliases
            .keys()
            .filter_map(|alias| {
                let method = alias.strip_suffix("ValidationErrors")?;
                let mut chars = method.chars();
                let first = chars.next()?.to_lowercase();
                let names = typings.rule_names(alias)?;
                Some((first.chain(chars).collect(), names))
            })
            .collect();
        Sdk {
            version: version.to_string(),
            types: dts::parse(meta_dts),
            rules,
            bindings: bindings(index_js),
        }
    }
}

/// The packages the contract is made of.
#[derive(Debug, Clone, Default)]
pub struct Contract {
    pub packages: BTreeMap<Package, Sdk>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has no \"version\"")]
    NoVersion { path: PathBuf },
}

fn read(path: PathBuf) -> Result<String, LoadError> {
    std::fs::read_to_string(&path).map_err(|source| LoadError::Read { path, source })
}

/// Reads both packages from `dir` (a `node_modules/@wix` directory).
pub fn load(dir: &Path) -> Result<Contract, LoadError> {
    let mut packages = BTreeMap::new();
    for package in [Package::Files, Package::Folders] {
        let root = dir.join(package.dir());
        let cjs = root.join("build").join("cjs");
        let manifest_path = root.join("package.json");
        let manifest = read(manifest_path.clone())?;
        let version = serde_json::from_str::<serde_json::Value>(&manifest)
            .ok()
            .and_then(|v| v.get("version")?.as_str().map(str::to_string))
            .ok_or(LoadError::NoVersion {
                path: manifest_path,
            })?;
        let sdk = Sdk::from_sources(
            &version,
            &read(cjs.join("meta.d.ts"))?,
            &read(cjs.join("index.typings.d.ts"))?,
            &read(cjs.join("index.js"))?,
        );
        packages.insert(package, sdk);
    }
    Ok(Contract { packages })
}

/// The value of the first `key: "value"` in `text`.
fn quoted_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(key)? + key.len();
    let rest = text[start..].trim_start().strip_prefix('"')?;
    rest.split('"').next()
}

/// Each `function name(payload) { … method: "…" … protoPath: "…" … }` of the generated
/// `index.js`: the request builders. Functions without a `protoPath` are something else.
pub fn bindings(index_js: &str) -> BTreeMap<String, Binding> {
    let mut out = BTreeMap::new();
    for chunk in index_js.split("\nfunction ").skip(1) {
        let Some(name) = chunk.split('(').next() else {
            continue;
        };
        if let (Some(http), Some(path)) = (
            quoted_after(chunk, "method:"),
            quoted_after(chunk, "protoPath:"),
        ) {
            out.entry(name.trim().to_string()).or_insert(Binding {
                http: http.to_string(),
                path: path.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binding of each request builder is read; helpers without one are not.
    #[test]
    fn reads_bindings() {
        let js = r#"
var x = 1;
function resolveUrl(opts) {
  return opts.protoPath;
}
function importFile(payload) {
  function __importFile({ host }) {
    const metadata = {
      method: "POST",
      url: resolveUrl({
        protoPath: "/v1/files/import",
        data: payload,
      }),
      fallback: [{ method: "GET", url: resolveUrl({ protoPath: "/v1/other" }) }]
    };
  }
}
function listFiles(payload) {
  const metadata = { method: "GET", url: r({ protoPath: "/v1/files" }) };
}
"#;
        let b = bindings(js);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b["importFile"],
            Binding {
                http: "POST".to_string(),
                path: "/v1/files/import".to_string()
            }
        );
        assert_eq!(b["listFiles"].http, "GET");
    }
}
