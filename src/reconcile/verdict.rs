//! The verdict on one manifest row against the target: the file that stands for it (a URL
//! row's by `sourceUrl` and name, a local file's by name and size, in the row's folder) and
//! whether that file is present and as expected, failed, still pending, or differs.

use serde::Serialize;

use super::target::TargetIndex;
use crate::manifest::{ManifestRow, Source};
use wix_media_wire::types::{FileDescriptor, OperationStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// READY and as expected.
    Present,
    Missing,
    /// Processing FAILED.
    Failed,
    /// Still PENDING.
    Pending,
    /// READY, but its size or hash isn't what the manifest or the local file says.
    Differs,
    /// A file in a manifest folder that no row claims.
    Extra,
    Invalid,
    Duplicate,
    /// No source, left out on request.
    Skipped,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Missing => "missing",
            Status::Failed => "failed",
            Status::Pending => "pending",
            Status::Differs => "differs",
            Status::Extra => "extra",
            Status::Invalid => "invalid",
            Status::Duplicate => "duplicate",
            Status::Skipped => "skipped",
        }
    }
}

/// Lines of `reconcile.csv` by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileCounts {
    pub rows: u64,
    pub present: u64,
    pub missing: u64,
    pub failed: u64,
    pub pending: u64,
    pub differs: u64,
    pub extra: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub skipped: u64,
}

impl ReconcileCounts {
    pub fn add(&mut self, status: Status) {
        if status != Status::Extra {
            self.rows += 1;
        }
        *match status {
            Status::Present => &mut self.present,
            Status::Missing => &mut self.missing,
            Status::Failed => &mut self.failed,
            Status::Pending => &mut self.pending,
            Status::Differs => &mut self.differs,
            Status::Extra => &mut self.extra,
            Status::Invalid => &mut self.invalid,
            Status::Duplicate => &mut self.duplicate,
            Status::Skipped => &mut self.skipped,
        } += 1;
    }

    /// Valid rows the target doesn't hold as expected.
    pub fn not_present(&self) -> u64 {
        self.missing + self.failed + self.pending + self.differs
    }
}

/// A row's verdict, and the file behind it when one was found.
pub struct Verdict {
    pub status: Status,
    pub file: Option<FileDescriptor>,
    pub detail: String,
    /// A READY file's content was compared with something the row expects (a size or hash
    /// given in the manifest, a local file's size).
    pub compared: bool,
}

/// Finds and claims the file of `row` in `index` and judges it. `strict`
/// (`--verify-content`): a value the row expects that the target does not report differs.
pub fn judge(row: &ManifestRow, index: &mut TargetIndex, strict: bool) -> Verdict {
    let folder = row.folder_path.as_str();
    let name = row.display_name.as_str();
    let (found, local_size) = match &row.source {
        Source::Url(url) => {
            let source = url.to_string();
            let found = index.claim(folder, name, |f| {
                f.source_url.as_deref() == Some(source.as_str())
            });
            (found.cloned(), None)
        }
        Source::File(path) => {
            let local = std::fs::metadata(path).ok().map(|m| m.len());
            // Uploaded, or imported from a URL `run --serve-sources` served.
            let upload = |f: &FileDescriptor| {
                f.source_url
                    .as_deref()
                    .is_none_or(|url| crate::sources::served::served_token(url).is_some())
            };
            // The same size first; failing that, the same name, which then shows as differs.
            let found = match index.claim(folder, name, |f| {
                upload(f) && f.size_in_bytes.is_none_or(|s| Some(s) == local)
            }) {
                Some(f) => Some(f.clone()),
                None => index.claim(folder, name, upload).cloned(),
            };
            (found, local)
        }
    };
    let Some(file) = found else {
        return Verdict {
            status: Status::Missing,
            file: None,
            detail: "no matching file in the target folder".to_string(),
            compared: false,
        };
    };
    let compared =
        row.expected_size.is_some() || row.expected_md5.is_some() || local_size.is_some();
    let (status, detail) = match file.operation_status {
        Some(OperationStatus::Failed) => (Status::Failed, "processing FAILED".to_string()),
        Some(OperationStatus::Pending) | None => (Status::Pending, "still PENDING".to_string()),
        Some(OperationStatus::Ready) => {
            let differences = differences(row, &file, local_size, strict);
            if differences.is_empty() {
                (Status::Present, String::new())
            } else {
                (Status::Differs, differences.join("; "))
            }
        }
    };
    Verdict {
        compared: compared && status != Status::Pending && status != Status::Failed,
        status,
        file: Some(file),
        detail,
    }
}

/// How a READY file departs from what the row expects; empty when it doesn't. What the
/// target doesn't report can't differ, unless `strict`.
fn differences(
    row: &ManifestRow,
    file: &FileDescriptor,
    local_size: Option<u64>,
    strict: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let size = file.size_in_bytes;
    for (expected, what) in [
        (row.expected_size, "expected_size"),
        (local_size, "local file"),
    ] {
        match (expected, size) {
            (Some(e), Some(s)) if e != s => out.push(format!("size {s}, {what} {e}")),
            (Some(e), None) if strict => out.push(format!("size not reported, {what} {e}")),
            _ => {}
        }
    }
    match (&row.expected_md5, &file.hash) {
        (Some(e), Some(h)) if !e.eq_ignore_ascii_case(h) => {
            out.push(format!("hash {h}, expected_md5 {e}"));
        }
        (Some(e), None) if strict => out.push(format!("hash not reported, expected_md5 {e}")),
        _ => {}
    }
    out
}

/// How a READY file departs from its source's bytes (`--verify-content=source`).
pub fn source_differences(
    file_size: Option<u64>,
    file_hash: Option<&str>,
    size: u64,
    md5: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    match file_size {
        Some(s) if s != size => out.push(format!("size {s}, source {size}")),
        None => out.push(format!("size not reported, source {size}")),
        _ => {}
    }
    match file_hash {
        Some(h) if !h.eq_ignore_ascii_case(md5) => out.push(format!("hash {h}, source md5 {md5}")),
        None => out.push(format!("hash not reported, source md5 {md5}")),
        _ => {}
    }
    out
}
