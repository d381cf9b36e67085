//! The settle stage: rows whose call may or may not have been performed (a lost answer, a
//! timeout, a 502/504, or `sending` rows of a dead run) are resolved by looking at the target
//! before anything is resent. A URL row is found by `sourceUrl` and name in its folder, an
//! upload by name and size; each file is claimed by one row at most. Found → accepted;
//! not found → certainly not done → queued again.
//!
//! A send answered with a 5xx is looked at the same way, by the stage that sent it, before it
//! resends ([`claim_found`]): the rows the target holds are recorded accepted there and then,
//! and only the others go again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::{PipelineError, RunContext};
use crate::api::client::MediaClient;
use crate::api::listing::{self, FolderResolver};
use crate::journal::{FileFacts, Journal, JournalError, JournalRow, Outcome};
use crate::sources::{served, stage};
use wix_media_wire::types::{FileDescriptor, MEDIA_ROOT, State};

/// Settles every in-doubt row; returns how many there were.
pub(crate) async fn settle_all(ctx: &Arc<RunContext>) -> Result<u64, PipelineError> {
    let rows = ctx.journal.with(|j| j.in_doubt()).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let total = rows.len() as u64;
    let mut by_folder: BTreeMap<String, Vec<JournalRow>> = BTreeMap::new();
    for row in rows {
        by_folder
            .entry(row.folder_path.clone())
            .or_default()
            .push(row);
    }
    for (path, rows) in by_folder {
        settle_folder(ctx, &path, rows).await?;
    }
    Ok(total)
}

async fn settle_folder(
    ctx: &Arc<RunContext>,
    path: &str,
    rows: Vec<JournalRow>,
) -> Result<(), PipelineError> {
    let (folder, files) = look(ctx, path).await?;
    let max_attempts = ctx.config.max_attempts;
    let path = path.to_string();
    ctx
        .journal
        .with(move |j| {
            let outcomes: Vec<Outcome> = claim(j, &rows, &files)?
                .into_iter()
                .zip(&rows)
                .map(|(found, row)| match found {
                    Some(f) => Outcome::Accepted {
                        key: row.key.clone(),
                        file: FileFacts::from_descriptor(f, f.id.as_deref().unwrap_or_default()),
                    },
                    None => Outcome::Retry {
                        key: row.key.clone(),
                        code: "NOT_FOUND_AFTER_DOUBT".to_string(),
                        message: "an earlier attempt's outcome was unknown and the target does not hold the file"
                            .to_string(),
                    },
                })
                .collect();
            j.record_found(&learned(&path, folder), &outcomes, max_attempts)
        })
        .await
}

/// Counts rows settled by looking at the target after a 5xx, once per send.
pub(crate) fn count_looked(ctx: &RunContext, rows: usize) {
    ctx.settled_after_errors
        .fetch_add(rows as u64, Ordering::Relaxed);
}

/// How long to wait before looking at the target after a 5xx: the backoff of resend `n`, but
/// at least a couple of seconds (never more than the request timeout) — a gateway may answer
/// while its backend is still making the file, and a look too soon would miss it.
pub(crate) fn look_delay(client: &MediaClient, n: u32, rng: &mut fastrand::Rng) -> Duration {
    let floor = LOOK_FLOOR.min(client.request_timeout());
    client.backoff().delay(n, rng).max(floor)
}

/// The least wait before looking at the target after a 5xx.
const LOOK_FLOOR: Duration = Duration::from_secs(2);

/// What looking at the target after a 5xx decided for each row it resolved, by key: the file
/// the target holds (recorded accepted), or `None` when another row in flight could stand for
/// the same file (recorded in doubt, for the settle stage once nothing is in flight). Rows not
/// in the map are certainly not done: the caller resends them.
pub(crate) type Resolved = HashMap<String, Option<FileDescriptor>>;

/// After a send of `rows` (all `sending`) was answered with a 5xx: looks at every folder of the
/// rows, then in one journal call records what it found — so a failed look records nothing,
/// and two lookers can't claim one file. A file another row's send may have made (a `sending`
/// row with the same folder, name and source, outside `rows`) is not claimed: that row's
/// answer may still come.
pub(crate) async fn claim_found(
    ctx: &Arc<RunContext>,
    rows: &[JournalRow],
) -> Result<Resolved, PipelineError> {
    let mut by_folder: BTreeMap<&str, Vec<JournalRow>> = BTreeMap::new();
    for row in rows {
        by_folder
            .entry(row.folder_path.as_str())
            .or_default()
            .push(row.clone());
    }
    let mut looked = Vec::with_capacity(by_folder.len());
    for (path, rows) in by_folder {
        let (folder, files) = look(ctx, path).await?;
        looked.push((path.to_string(), folder, files, rows));
    }
    let max_attempts = ctx.config.max_attempts;
    let resolved = ctx
        .journal
        .with(move |j| {
            let ours: HashSet<&str> = looked
                .iter()
                .flat_map(|(_, _, _, rows)| rows.iter().map(|r| r.key.as_str()))
                .collect();
            let rivals: HashSet<MatchKey> = j
                .sending()?
                .iter()
                .filter(|r| !ours.contains(r.key.as_str()))
                .map(MatchKey::of)
                .collect();
            let (mut folders, mut outcomes, mut resolved) =
                (Vec::new(), Vec::new(), Resolved::new());
            for (path, folder, files, rows) in &looked {
                folders.extend(learned(path, folder.clone()));
                let (contested, free): (Vec<&JournalRow>, Vec<&JournalRow>) =
                    rows.iter().partition(|r| rivals.contains(&MatchKey::of(r)));
                for row in contested {
                    outcomes.push(Outcome::InDoubt {
                        key: row.key.clone(),
                    });
                    resolved.insert(row.key.clone(), None);
                }
                let free: Vec<JournalRow> = free.into_iter().cloned().collect();
                for (found, row) in claim(j, &free, files)?.into_iter().zip(&free) {
                    let Some(f) = found else { continue };
                    outcomes.push(Outcome::Accepted {
                        key: row.key.clone(),
                        file: FileFacts::from_descriptor(f, f.id.as_deref().unwrap_or_default()),
                    });
                    resolved.insert(row.key.clone(), Some(f.clone()));
                }
            }
            j.record_found(&folders, &outcomes, max_attempts)?;
            Ok(resolved)
        })
        .await?;
    if ctx.config.wait {
        let processing = resolved
            .values()
            .flatten()
            .filter(|f| !f.operation_status.is_some_and(|s| s.is_final()));
        ctx.tracker
            .accepted(processing.filter_map(|f| f.id.clone()), Instant::now());
    }
    Ok(resolved)
}

/// What makes two rows look alike on the target: folder, name, and the source for a URL row
/// (an upload is matched by name and size, and the journal knows no size).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MatchKey {
    folder_path: String,
    display_name: String,
    source: Option<String>,
}

impl MatchKey {
    fn of(row: &JournalRow) -> Self {
        Self {
            folder_path: row.folder_path.clone(),
            display_name: row.display_name.clone(),
            source: (!row.is_file).then(|| row.source.clone()),
        }
    }
}

/// The id of the folder at `path` (when it exists) and every file in it, looking only.
async fn look(
    ctx: &RunContext,
    path: &str,
) -> Result<(Option<String>, Vec<FileDescriptor>), PipelineError> {
    let known = {
        let p = path.to_string();
        ctx.journal.with(move |j| j.folder_id(&p)).await?
    };
    let folder = match known {
        Some(id) => Some(id),
        None if path.is_empty() => Some(MEDIA_ROOT.to_string()),
        None => FolderResolver::new(&ctx.client)
            .resolve(path)
            .await
            .map_err(PipelineError::of_call)?,
    };
    let files = match &folder {
        Some(id) => listing::list_all_files(&ctx.client, id)
            .await
            .map_err(PipelineError::of_call)?,
        None => Vec::new(),
    };
    Ok((folder, files))
}

/// The folder found by looking, to record (the root is no folder of the manifest's).
fn learned(path: &str, folder: Option<String>) -> Vec<(String, String)> {
    folder
        .filter(|_| !path.is_empty())
        .map(|id| (path.to_string(), id))
        .into_iter()
        .collect()
}

/// For each row, the first of `files` that stands for it, that the row's sends may have made,
/// and that no row holds yet (in the journal or earlier in `rows`). Run inside one journal
/// call with recording the claims, so two lookers can't claim one file.
///
/// A file of the row's name and source (or name and size) is not proof that the row's send
/// made it: the folder may have held one before (a FAILED import of the same URL by someone
/// else, say), and taking it would make it the run's — moved to the trash when the row's
/// failure heals, or pruned later. So a file is left alone when the journal knows it was
/// there before the row was sent — adoption listed the folder before any send and no row took
/// it (`foreign_files`: exact, and free, adoption lists anyway) — or when it was created
/// clearly before the row's first send ([`made_before_sent`]: for files the journal never saw,
/// `--no-adopt` or placed after the listing). What is left is a file the row's sends may
/// have made — FAILED ones too: an own import whose answer was lost and whose processing
/// failed is the row's, and must be claimed, or it is left behind and the row imported again.
fn claim<'f>(
    j: &Journal,
    rows: &[JournalRow],
    files: &'f [FileDescriptor],
) -> Result<Vec<Option<&'f FileDescriptor>>, JournalError> {
    let mut claimed_now = HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let size = local_size(row);
        let staged = staged_hash(j, row)?;
        let mut found = None;
        for f in files.iter().filter(|f| {
            matches(f, row, size, staged.as_deref()) && !made_before_sent(f, row.sent_floor_ms)
        }) {
            let Some(id) = f.id.as_deref() else { continue };
            if !claimed_now.contains(id) && !j.file_claimed(id, &row.key)? && !j.file_foreign(id)? {
                claimed_now.insert(id);
                found = Some(f);
                break;
            }
        }
        out.push(found);
    }
    Ok(out)
}

/// The content hash of the object row `key` was staged as (`run --stage`), if it was.
fn staged_hash(j: &Journal, row: &JournalRow) -> Result<Option<String>, JournalError> {
    if !row.is_file {
        return Ok(None);
    }
    Ok(j.staged_object(&row.key)?
        .as_deref()
        .and_then(stage::object_hash))
}

/// Does the target's file stand for this row? `staged` is the content hash of the object the
/// journal says the row was staged as: a file imported from a staged object stands for the row
/// only if it is that content, not just any staged file of the same name and size.
pub(crate) fn matches(
    f: &FileDescriptor,
    row: &JournalRow,
    local_size: Option<u64>,
    staged: Option<&str>,
) -> bool {
    if f.state == Some(State::Deleted)
        || f.display_name.as_deref() != Some(row.display_name.as_str())
    {
        return false;
    }
    if row.is_file {
        // Uploaded (no source URL), imported from this row's served URL in any run, or from
        // a staged object: the row's own when the journal knows it, else any (named by
        // content; the name and size below still have to match).
        let ours = f.source_url.as_deref().is_none_or(|url| {
            served::served_token(url).is_some_and(|t| t == served::token_of(&row.key))
                || stage::staged_hash(url)
                    .is_some_and(|h| staged.is_none_or(|own| own == h.as_str()))
        });
        ours && local_size.is_some() && f.size_in_bytes.is_none_or(|s| Some(s) == local_size)
    } else {
        f.source_url.as_deref() == Some(row.source.as_str())
    }
}

/// How much earlier than a row's send floor a file made by the send may still be stamped.
/// The floor is already on the target's clock and no later than the send arrived (the
/// client's clock is measured against the answers' `Date`, never assumed right), so client
/// skew needs no allowance here; what remains is the target's side: `createdDate` comes in
/// whole seconds (Wix's examples have no fraction; the local server rounds down), which is up
/// to 1 s early, and it may be stamped by another of the target's machines than the one that
/// stamped `Date` — machines kept by NTP within milliseconds, allowed a full second more.
const CREATED_SLACK_MS: i64 = 2_000;

/// Was `f` created clearly before `sent_floor_ms` (the row's first send, on the target's
/// clock), so that no send of the row made it? Unknown when either time is: then it may be
/// the row's (a file is claimed by name and source alone, as before the floor was kept).
pub(crate) fn made_before_sent(f: &FileDescriptor, sent_floor_ms: Option<i64>) -> bool {
    let Some(floor) = sent_floor_ms else {
        return false;
    };
    let Some(created) = f
        .created_date
        .as_deref()
        .and_then(|d| d.parse::<jiff::Timestamp>().ok())
    else {
        return false;
    };
    created.as_millisecond() + CREATED_SLACK_MS < floor
}

pub(crate) fn local_size(row: &JournalRow) -> Option<u64> {
    row.is_file
        .then(|| std::fs::metadata(&row.source).ok().map(|m| m.len()))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RowState;

    fn file_row() -> JournalRow {
        JournalRow {
            key: "k".to_string(),
            line: 1,
            source: "photos/a.png".to_string(),
            is_file: true,
            folder_path: "/shoot".to_string(),
            display_name: "a.png".to_string(),
            mime_type: None,
            media_type: None,
            labels: Vec::new(),
            private: false,
            external_id: None,
            expected_size: None,
            expected_md5: None,
            state: RowState::InDoubt,
            batch_id: None,
            file_id: None,
            file_url: None,
            operation_status: None,
            size: None,
            hash: None,
            attempts: 1,
            error_code: None,
            error_message: None,
            reimports: 0,
            origin: "imported".to_string(),
            sent_floor_ms: None,
        }
    }

    fn staged_file(hash: &str) -> FileDescriptor {
        FileDescriptor {
            id: Some("f".to_string()),
            display_name: Some("a.png".to_string()),
            source_url: Some(format!(
                "http://127.0.0.1:9/media-in/pfx/{hash}.png?X-Amz-Signature=s"
            )),
            size_in_bytes: Some(10),
            ..FileDescriptor::default()
        }
    }

    fn created(date: &str) -> FileDescriptor {
        FileDescriptor {
            created_date: Some(date.to_string()),
            ..FileDescriptor::default()
        }
    }

    /// A file stamped (in whole seconds) more than the slack before the row's first send is
    /// not the send's; one within it, or with either time unknown, may be.
    #[test]
    fn only_files_clearly_older_than_the_first_send_are_not_the_rows() {
        let sent: i64 = "2024-05-01T10:00:10.500Z"
            .parse::<jiff::Timestamp>()
            .expect("time")
            .as_millisecond();
        assert!(made_before_sent(
            &created("2024-05-01T10:00:08Z"),
            Some(sent)
        ));
        assert!(made_before_sent(
            &created("2024-04-30T10:00:10Z"),
            Some(sent)
        ));
        // Rounded down to its second and stamped by another machine: may still be the send's.
        assert!(!made_before_sent(
            &created("2024-05-01T10:00:09Z"),
            Some(sent)
        ));
        assert!(!made_before_sent(
            &created("2024-05-01T10:00:10Z"),
            Some(sent)
        ));
        assert!(!made_before_sent(
            &created("2024-05-01T10:00:12Z"),
            Some(sent)
        ));
        assert!(!made_before_sent(&created("2024-05-01T10:00:08Z"), None));
        assert!(!made_before_sent(&created("not a date"), Some(sent)));
        assert!(!made_before_sent(&FileDescriptor::default(), Some(sent)));
    }

    /// A staged row in doubt is matched by its own staged content, not by any staged file of
    /// its name and size; a row with no staged record still takes any staged copy.
    #[test]
    fn a_staged_row_matches_only_its_own_content() {
        let row = file_row();
        let (own, other) = ("a".repeat(64), "b".repeat(64));
        assert!(matches(&staged_file(&own), &row, Some(10), Some(&own)));
        assert!(!matches(&staged_file(&other), &row, Some(10), Some(&own)));
        assert!(matches(&staged_file(&other), &row, Some(10), None));
        assert!(!matches(&staged_file(&own), &row, Some(11), Some(&own)));
    }
}
