//! The API calls a manifest will cost and the time they take at the request budget. It
//! follows how `run` works: URL rows go through Bulk Import in batches, each local file takes
//! one upload-URL call, readiness is polled 100 ids per call, and folders cost nothing because
//! imports create them through `filePath` — but for paths longer than a `filePath` takes,
//! whose upper levels are made in steps (a listing and a Create Folder a level).

use serde::Serialize;

/// Ids per Get File Descriptors call (the API's maximum).
pub const IDS_PER_POLL: u64 = 100;

/// Calls by kind, as `plan.json` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallEstimate {
    pub bulk_import: u64,
    pub upload_url: u64,
    pub readiness_polls: u64,
    pub folders: u64,
    pub total: u64,
}

/// The calls for `url_rows` imports in batches of `batch_size` and `file_rows` uploads, each
/// file polled once for readiness.
pub fn estimate_calls(url_rows: u64, file_rows: u64, batch_size: u64) -> CallEstimate {
    let bulk_import = url_rows.div_ceil(batch_size.max(1));
    let upload_url = file_rows;
    let readiness_polls = (url_rows + file_rows).div_ceil(IDS_PER_POLL);
    CallEstimate {
        bulk_import,
        upload_url,
        readiness_polls,
        folders: 0,
        total: bulk_import + upload_url + readiness_polls,
    }
}

impl CallEstimate {
    /// The same with `calls` folder calls more.
    pub fn with_folder_calls(mut self, calls: u64) -> Self {
        self.folders += calls;
        self.total += calls;
        self
    }
}

/// One way of bringing local files in: its calls and their time at the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Way {
    pub calls: u64,
    pub secs: u64,
    pub time: String,
}

/// The manifest's local files, each way (`plan.json`'s `localFiles`): through upload URLs (a
/// call per file), staged in a bucket (`run --stage`) or served as signed URLs by the run
/// itself (`run --serve-sources`) — both Bulk Import, a call per batch, the bucket's calls
/// costing the site's budget nothing; readiness polls, 100 ids a call, every way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalFilesEstimate {
    pub files: u64,
    pub upload_urls: Way,
    pub stage: Way,
    pub serve_sources: Way,
}

/// What `files` local files cost each way at `per_minute`, in batches of `batch_size`.
pub fn local_files(files: u64, batch_size: u64, per_minute: u32) -> LocalFilesEstimate {
    let way = |calls: u64| {
        let secs = duration_secs(calls, per_minute);
        Way {
            calls,
            secs,
            time: crate::report::format::human_duration(secs),
        }
    };
    let polls = files.div_ceil(IDS_PER_POLL);
    let by_url = way(files.div_ceil(batch_size.max(1)) + polls);
    LocalFilesEstimate {
        files,
        upload_urls: way(files + polls),
        stage: by_url.clone(),
        serve_sources: by_url,
    }
}

/// Whole seconds `calls` take at `per_minute` requests a minute, rounded up.
pub fn duration_secs(calls: u64, per_minute: u32) -> u64 {
    (calls * 60).div_ceil(u64::from(per_minute.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 250 URL rows and 3 files: 3 bulk imports, 3 upload URLs, 3 polls.
    #[test]
    fn counts_calls_by_kind() {
        let e = estimate_calls(250, 3, 100);
        assert_eq!(
            e,
            CallEstimate {
                bulk_import: 3,
                upload_url: 3,
                readiness_polls: 3,
                folders: 0,
                total: 9
            }
        );
        assert_eq!(estimate_calls(0, 0, 100).total, 0);
        assert_eq!(estimate_calls(100, 0, 100).total, 2);
    }

    /// 50,000 local files at 180/min: 50,500 calls (~4.7 h) through upload URLs, 1,000 (~5.6
    /// min) served as URLs in batches of 100.
    #[test]
    fn local_files_each_way() {
        let e = local_files(50_000, 100, 180);
        assert_eq!(
            (e.upload_urls.calls, e.stage.calls, e.serve_sources.calls),
            (50_500, 1_000, 1_000)
        );
        assert_eq!(e.upload_urls.time, "4h 40m 34s");
        assert_eq!(e.serve_sources.time, "5m 34s");
    }

    /// Durations round up and read naturally.
    #[test]
    fn times_at_the_rate() {
        assert_eq!(duration_secs(9, 180), 3);
        assert_eq!(duration_secs(10, 180), 4);
    }
}
