//! One file's bytes turned into its processing outcome: an upload's stored bytes, or an
//! import's source fetched, then typed, hashed, measured and (for images) thumbnailed.

use super::detect::{self, HEAD_LEN, Hints};
use super::fetch::Fetcher;
use super::{Failure, raster};
use crate::SharedState;
use crate::store::files::{FileRow, ProcessingOutcome};
use wix_media_wire::types::{ImportFileRequest, MediaType};

/// The stored bytes and what is known of them so far.
struct Stored {
    blob: String,
    size: u64,
    md5: String,
}

pub(super) async fn analyse(
    state: &SharedState,
    fetcher: &Fetcher,
    row: &FileRow,
) -> Result<ProcessingOutcome, Failure> {
    let req = row
        .import_request
        .as_deref()
        .map(serde_json::from_str::<ImportFileRequest>)
        .transpose()
        .map_err(|e| Failure::internal("reading the stored import request", &e))?;
    let declared = req.as_ref().and_then(|r| r.media_type);
    let url_path = row
        .source_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.path().to_string());
    let hints = Hints {
        declared_mime: row.mime_type.as_deref(),
        display_name: &row.display_name,
        url_path: url_path.as_deref(),
        content_type: None,
    };
    let (stored, found) = match (&row.blob, &row.source_url, &req) {
        (Some(blob), _, _) => stored_upload(state, row, blob, &hints, declared).await?,
        (None, Some(url), Some(req)) => {
            fetch_import(state, fetcher, url, req, hints, declared).await?
        }
        _ => {
            return Err(Failure::internal(
                "reading the file",
                &"neither stored bytes nor an import request",
            ));
        }
    };
    conclude(state, stored, found).await
}

/// An upload: the bytes are stored already; read their head from disk.
async fn stored_upload(
    state: &SharedState,
    row: &FileRow,
    blob: &str,
    hints: &Hints<'_>,
    declared: Option<MediaType>,
) -> Result<(Stored, detect::Detected), Failure> {
    use tokio::io::AsyncReadExt;
    let path = state.blobs.path(blob);
    let read = async {
        let file = tokio::fs::File::open(&path).await?;
        let mut head = Vec::with_capacity(HEAD_LEN);
        file.take(HEAD_LEN as u64).read_to_end(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = read
        .await
        .map_err(|e| Failure::internal("reading the stored file", &e))?;
    let found = detect::detect(&head, hints)?;
    detect::check_declared(declared, &found)?;
    let stored = Stored {
        blob: blob.to_string(),
        size: row.size.unwrap_or_default(),
        md5: row.md5.clone().unwrap_or_default(),
    };
    Ok((stored, found))
}

/// An import: stream the source into a blob, deciding its type from the first bytes so a
/// wrong file is refused before it is stored.
async fn fetch_import(
    state: &SharedState,
    fetcher: &Fetcher,
    url: &str,
    req: &ImportFileRequest,
    mut hints: Hints<'_>,
    declared: Option<MediaType>,
) -> Result<(Stored, detect::Detected), Failure> {
    let limit = state.config.processing.max_source_bytes;
    let mut source = fetcher.open(url, req, limit).await?;
    let mut writer = state
        .blobs
        .writer(limit)
        .await
        .map_err(|e| Failure::internal("storing the fetched file", &e))?;
    let head = source.copy_head(fetcher, &mut writer, HEAD_LEN).await?;
    let content_type = source.content_type();
    hints.content_type = content_type.as_deref();
    let found = detect::detect(&head, &hints)?;
    detect::check_declared(declared, &found)?;
    source.copy_rest(fetcher, &mut writer).await?;
    let info = writer
        .finish()
        .await
        .map_err(|e| Failure::internal("storing the fetched file", &e))?;
    let stored = Stored {
        blob: info.sha256,
        size: info.size,
        md5: info.md5,
    };
    Ok((stored, found))
}

/// Reads a raster image's dimensions and stores its thumbnail; other types are ready as is.
async fn conclude(
    state: &SharedState,
    stored: Stored,
    found: detect::Detected,
) -> Result<ProcessingOutcome, Failure> {
    let (mut width, mut height, mut thumb_blob) = (None, None, None);
    if found.media_type == MediaType::Image {
        match raster::format_of(&found.mime) {
            Some(format) => {
                let path = state.blobs.path(&stored.blob);
                let r = raster::read(path, format, found.mime.clone()).await?;
                let thumb = state
                    .blobs
                    .put_bytes(&r.thumbnail)
                    .await
                    .map_err(|e| Failure::internal("storing the thumbnail", &e))?;
                (width, height, thumb_blob) = (Some(r.width), Some(r.height), Some(thumb.sha256));
            }
            // Formats we can't decode (TIFF, HEIC, …) pass when their bytes proved them.
            None if found.sniffed => {}
            None => {
                return Err(Failure::new(
                    "IMAGE_UNREADABLE",
                    format!(
                        "the file claims to be {} but its content is not an image",
                        found.mime
                    ),
                ));
            }
        }
    }
    Ok(ProcessingOutcome::Ready {
        mime_type: found.mime,
        media_type: found.media_type,
        size: stored.size,
        md5: stored.md5,
        blob: stored.blob,
        width,
        height,
        thumb_blob,
    })
}
