//! Manifest entries as the plan sees them: each becomes one [`PlannedRow`] — valid, invalid
//! or a duplicate of an earlier line — read on a blocking thread and handed on in manifest
//! order. Also the tallies `plan.json` reports.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use tokio::sync::mpsc;

use super::PlanError;
use super::keys::KeySet;
use crate::api::folder_path;
use crate::manifest::{self, Entry, ManifestOptions, SkippedRow, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Valid,
    Invalid,
    Duplicate,
    /// No source, left out on request.
    Skipped,
}

impl RowStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RowStatus::Valid => "valid",
            RowStatus::Invalid => "invalid",
            RowStatus::Duplicate => "duplicate",
            RowStatus::Skipped => "skipped",
        }
    }
}

/// One manifest row, judged.
#[derive(Debug, Clone)]
pub struct PlannedRow {
    pub line: u64,
    /// Empty for invalid rows, which have no key.
    pub key: String,
    pub source: String,
    pub folder_path: String,
    pub display_name: String,
    pub status: RowStatus,
    /// The field that made the row invalid.
    pub field: String,
    /// Why it is invalid or a duplicate, or a warning about a valid row.
    pub reason: String,
    /// The source of a valid row (not of duplicates: they will not be imported).
    pub valid_source: Option<Source>,
    /// Whether the row alone tells Wix its type (mime_type or a known extension).
    pub typed: bool,
}

/// The warning on a valid row whose type Wix can't tell from the manifest alone.
pub const UNTYPED_WARNING: &str = "type not detectable: no extension, no mime_type";

/// Reads the manifest on the calling (blocking) thread and sends each row, judged, to `out`.
/// Stops early, without error, when the receiver is gone.
pub fn read_manifest(
    path: &Path,
    options: &ManifestOptions,
    out: &mpsc::Sender<PlannedRow>,
) -> Result<KeySet, PlanError> {
    let reader = manifest::open(path, options)?;
    let mut keys = KeySet::create()?;
    for entry in reader {
        let row = judge(entry?, &mut keys)?;
        if out.blocking_send(row).is_err() {
            break;
        }
    }
    Ok(keys)
}

/// One entry as a planned row, checking its key against those seen before.
pub fn judge(entry: Entry, keys: &mut KeySet) -> Result<PlannedRow, PlanError> {
    let row = match entry {
        Entry::Invalid(bad) => PlannedRow {
            line: bad.line,
            key: String::new(),
            source: bad.raw.get("source").unwrap_or_default().to_string(),
            folder_path: bad.raw.get("folder_path").unwrap_or_default().to_string(),
            display_name: bad.raw.get("display_name").unwrap_or_default().to_string(),
            status: RowStatus::Invalid,
            field: bad.field,
            reason: bad.reason,
            valid_source: None,
            typed: false,
        },
        Entry::Skipped(skipped) => PlannedRow {
            line: skipped.line,
            key: String::new(),
            source: String::new(),
            folder_path: skipped
                .raw
                .get("folder_path")
                .unwrap_or_default()
                .to_string(),
            display_name: skipped
                .raw
                .get("display_name")
                .unwrap_or_default()
                .to_string(),
            status: RowStatus::Skipped,
            field: String::new(),
            reason: SkippedRow::REASON.to_string(),
            valid_source: None,
            typed: false,
        },
        Entry::Valid(row) => {
            let first = keys.first_line(row.key.as_str(), row.line)?;
            let typed = row.type_detectable();
            let (status, reason) = match first {
                Some(line) => (RowStatus::Duplicate, format!("duplicate of line {line}")),
                None if !typed => (RowStatus::Valid, UNTYPED_WARNING.to_string()),
                None => (RowStatus::Valid, String::new()),
            };
            PlannedRow {
                line: row.line,
                key: row.key.0,
                source: row.source.text(),
                folder_path: row.folder_path,
                display_name: row.display_name,
                status,
                field: String::new(),
                reason,
                valid_source: first.is_none().then_some(row.source),
                typed,
            }
        }
    };
    Ok(row)
}

/// Rows by status and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCounts {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub skipped: u64,
    pub url_rows: u64,
    pub file_rows: u64,
    pub type_undetectable: u64,
}

impl PlanCounts {
    pub fn add(&mut self, row: &PlannedRow) {
        self.rows += 1;
        match row.status {
            RowStatus::Valid => self.valid += 1,
            RowStatus::Invalid => self.invalid += 1,
            RowStatus::Duplicate => self.duplicate += 1,
            RowStatus::Skipped => self.skipped += 1,
        }
        match &row.valid_source {
            Some(Source::Url(_)) => self.url_rows += 1,
            Some(Source::File(_)) => self.file_rows += 1,
            None => return,
        }
        if !row.typed {
            self.type_undetectable += 1;
        }
    }
}

/// The folder paths imports will create: each distinct path and all its ancestors; and the
/// rows' paths too long for a `filePath`, which a run reaches in steps.
#[derive(Debug, Default)]
pub struct FolderTree {
    paths: BTreeSet<String>,
    long: BTreeSet<String>,
}

impl FolderTree {
    pub fn add(&mut self, path: &str) {
        if path.is_empty() {
            return;
        }
        if !folder_path::fits(path) && !self.long.contains(path) {
            self.long.insert(path.to_string());
        }
        if self.paths.contains(path) {
            return; // and its ancestors
        }
        for prefix in folder_path::prefixes(path) {
            if !self.paths.contains(prefix) {
                self.paths.insert(prefix.to_string());
            }
        }
    }

    /// What reaching the long paths costs on a site that holds none of them: `(listings,
    /// Create Folder calls)`.
    pub fn step_calls(&self) -> (u64, u64) {
        folder_path::step_calls(self.long.iter().map(String::as_str))
    }

    /// Sorted paths.
    pub fn into_paths(self) -> Vec<String> {
        self.paths.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path brings all its ancestors, once, sorted.
    #[test]
    fn folder_tree_has_ancestors() {
        let mut tree = FolderTree::default();
        tree.add("/b/c/d");
        tree.add("/a");
        tree.add("/b/c");
        tree.add("");
        assert_eq!(tree.step_calls(), (0, 0));
        assert_eq!(tree.into_paths(), ["/a", "/b", "/b/c", "/b/c/d"]);
    }
}
