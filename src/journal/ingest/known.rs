//! A valid line whose key the journal already holds, met by a read: a repeat within the read
//! (a duplicate), a row pruned earlier and back in the manifest (imported again), a row whose
//! source, folder or name changed under its `external_id` (imported again as a new file, the
//! old one kept as superseded for `--replace`), or simply the same row seen again.

use rusqlite::{OptionalExtension, params};

use super::IngestCounts;
use super::insert::{insert_duplicate, source_columns};
use crate::journal::now_ms;
use crate::manifest::ManifestRow;

/// What the journal holds of a known key.
struct Known {
    seen_run: i64,
    line: i64,
    source: String,
    folder_path: String,
    display_name: String,
    state: String,
    file_id: Option<String>,
    prune_step: Option<String>,
}

/// Records a valid line whose key the journal holds (the insert of a new row found a conflict).
pub(super) fn record_known(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    row: &ManifestRow,
    counts: &mut IngestCounts,
) -> rusqlite::Result<()> {
    let Some(known) = tx
        .prepare_cached(
            "SELECT seen_run, line, source, folder_path, display_name, state, file_id, prune_step
             FROM rows WHERE key = ?1",
        )?
        .query_row([&row.key.0], |r| {
            Ok(Known {
                seen_run: r.get(0)?,
                line: r.get(1)?,
                source: r.get(2)?,
                folder_path: r.get(3)?,
                display_name: r.get(4)?,
                state: r.get(5)?,
                file_id: r.get(6)?,
                prune_step: r.get(7)?,
            })
        })
        .optional()?
    else {
        return Ok(());
    };
    if known.seen_run == run {
        counts.duplicate += 1;
        let cells = row
            .to_raw()
            .0
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>();
        return insert_duplicate(tx, run, row.line, &row.key.0, known.line, &cells).map(|_| ());
    }
    let in_flight = matches!(known.state.as_str(), "sending" | "in_doubt");
    if known.prune_step.as_deref() == Some("pruned") {
        // Its file went to the trash (or it never had one): imported afresh.
        counts.new += 1;
        return reimport(tx, run, row, known.file_id.as_deref(), "imported");
    }
    if known.prune_step.is_none() && !in_flight && changed(&known, row) {
        counts.updated += 1;
        if let Some(old) = &known.file_id {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO superseded (file_id, key, run) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![old, row.key.0, run])?;
        }
        let origin = if known.file_id.is_some() {
            "updated"
        } else {
            "imported"
        };
        return reimport(tx, run, row, known.file_id.as_deref(), origin);
    }
    // A row being sent keeps what it is sent as; a change is taken by a later read.
    counts.known += 1;
    tx.prepare_cached("UPDATE rows SET seen_run = ?2, line = ?3 WHERE key = ?1")?
        .execute(params![row.key.0, run, row.line as i64])?;
    Ok(())
}

/// Did the row's source, folder or name change? Only a row keyed by `external_id` can: any
/// other key is a hash of those three.
fn changed(known: &Known, row: &ManifestRow) -> bool {
    row.external_id.is_some()
        && (known.source != source_columns(&row.source).0
            || known.folder_path != row.folder_path
            || known.display_name != row.display_name)
}

/// Queues the row again as `row` says, forgetting its file (retired: never claimed again).
fn reimport(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    row: &ManifestRow,
    old_file: Option<&str>,
    origin: &str,
) -> rusqlite::Result<()> {
    if let Some(old) = old_file {
        tx.prepare_cached("INSERT OR IGNORE INTO retired_files (file_id) VALUES (?1)")?
            .execute([old])?;
    }
    let (source, is_file) = source_columns(&row.source);
    tx.prepare_cached(
        "UPDATE rows SET line = ?2, source = ?3, is_file = ?4, folder_path = ?5,
             display_name = ?6, mime_type = ?7, media_type = ?8, labels = ?9, private = ?10,
             external_id = ?11, expected_size = ?12, expected_md5 = ?13, state = 'queued',
             batch_id = NULL, file_id = NULL, file_url = NULL, operation_status = NULL,
             size = NULL, hash = NULL, attempts = 0, error_code = NULL, error_message = NULL,
             seen_run = ?14, accepted_ms = NULL, updated_ms = ?15, reimports = 0,
             adopt_check = 0, origin = ?16, prune_step = NULL, pruned_run = NULL
         WHERE key = ?1",
    )?
    .execute(params![
        row.key.0,
        row.line as i64,
        source,
        is_file,
        row.folder_path,
        row.display_name,
        row.mime_type,
        row.media_type.map(|t| t.as_str()),
        serde_json::to_string(&row.labels).expect("labels serialise"),
        row.private,
        row.external_id,
        row.expected_size.map(|s| s as i64),
        row.expected_md5,
        run,
        now_ms(),
        origin,
    ])?;
    Ok(())
}
