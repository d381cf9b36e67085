//! The contract's request limits (`@maxLength`, `@maxSize`, `@minSize`, `@min` of Wix's
//! generated packages, held in `limits`), checked before a handler does anything, as Wix's
//! gateway checks them: every violation of a request is collected into one 400 body
//! (`violatedRule` `MAX_LENGTH`, `MAX_SIZE`, `MIN_SIZE` or `MIN`, the limit in
//! `data.threshold`). What the limits don't say (a URL that isn't http, a folder that doesn't
//! exist) is the handlers' to check.

use serde_json::json;

use super::error::{WixError, WixResult, violation};
use wix_media_wire::types::{
    ExternalInfo, FieldViolation, GenerateFileDownloadUrlRequest,
    GenerateFileResumableUploadUrlRequest, GenerateFileUploadUrlRequest, ImportFileRequest, limits,
};

/// The violations found so far, each field named under a prefix (`""` or
/// `importFileRequests[3].`).
#[derive(Debug, Default)]
pub struct Violations {
    prefix: String,
    found: Vec<FieldViolation>,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the fields of one item of a list, named `{list}[{index}].{field}`.
    pub fn item(&mut self, list: &str, index: usize, check: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(&mut self.prefix, format!("{list}[{index}]."));
        check(self);
        self.prefix = outer;
    }

    fn push(&mut self, field: &str, description: String, rule: &str, threshold: usize) {
        let mut v = violation(&format!("{}{field}", self.prefix), description, rule);
        v.data = Some(json!({ "threshold": threshold }));
        self.found.push(v);
    }

    /// A string of at most `max` characters.
    pub fn max_len(&mut self, field: &str, value: Option<&str>, max: usize) {
        if value.is_some_and(|v| v.chars().count() > max) {
            self.push(
                field,
                format!("must be at most {max} characters long"),
                "MAX_LENGTH",
                max,
            );
        }
    }

    /// A list of at most `max` items.
    pub fn max_items(&mut self, field: &str, count: usize, max: usize) {
        if count > max {
            self.push(
                field,
                format!("must have at most {max} items, not {count}"),
                "MAX_SIZE",
                max,
            );
        }
    }

    /// A number of at least `min`.
    pub fn min_value(&mut self, field: &str, value: Option<u64>, min: u64) {
        if value.is_some_and(|v| v < min) {
            self.push(
                field,
                format!("must be at least {min}"),
                "MIN",
                usize::try_from(min).unwrap_or(usize::MAX),
            );
        }
    }

    /// A list of at least `min` items.
    pub fn min_items(&mut self, field: &str, count: usize, min: usize) {
        if count < min {
            self.push(
                field,
                format!("must have at least {min} item(s)"),
                "MIN_SIZE",
                min,
            );
        }
    }

    /// At most `max_items` labels of at most `LABEL_MAX_LEN` characters each.
    pub fn labels(&mut self, field: &str, labels: Option<&[String]>, max_items: usize) {
        let labels = labels.unwrap_or_default();
        self.max_items(field, labels.len(), max_items);
        for (i, label) in labels.iter().enumerate() {
            self.max_len(
                &format!("{field}[{i}]"),
                Some(label.as_str()),
                limits::LABEL_MAX_LEN,
            );
        }
    }

    /// `externalInfo`: an origin of at most 1000 characters, at most 30 ids of at most 4000.
    pub fn external_info(&mut self, info: Option<&ExternalInfo>) {
        let Some(info) = info else { return };
        self.max_len(
            "externalInfo.origin",
            Some(info.origin.as_str()),
            limits::EXTERNAL_ORIGIN_MAX_LEN,
        );
        self.max_items(
            "externalInfo.externalIds",
            info.external_ids.len(),
            limits::EXTERNAL_IDS_MAX_ITEMS,
        );
        for (i, id) in info.external_ids.iter().enumerate() {
            self.max_len(
                &format!("externalInfo.externalIds[{i}]"),
                Some(id.as_str()),
                limits::EXTERNAL_ID_MAX_LEN,
            );
        }
    }

    /// The fields every file-creating request shares: where it goes and what it is.
    fn placement(&mut self, parent: Option<&str>, file_path: Option<&str>, mime: Option<&str>) {
        self.max_len("parentFolderId", parent, limits::FOLDER_ID_MAX_LEN);
        self.max_len("filePath", file_path, limits::FILE_PATH_MAX_LEN);
        self.max_len("mimeType", mime, limits::MIME_TYPE_MAX_LEN);
    }

    /// One Import File request (or Bulk Import item).
    pub fn import(&mut self, req: &ImportFileRequest) {
        self.max_len(
            "displayName",
            req.display_name.as_deref(),
            limits::IMPORT_DISPLAY_NAME_MAX_LEN,
        );
        self.placement(
            req.parent_folder_id.as_deref(),
            req.file_path.as_deref(),
            req.mime_type.as_deref(),
        );
        self.labels(
            "labels",
            req.labels.as_deref(),
            limits::IMPORT_LABELS_MAX_ITEMS,
        );
        self.external_info(req.external_info.as_ref());
    }

    /// Generate File Upload URL.
    pub fn upload_url(&mut self, req: &GenerateFileUploadUrlRequest) {
        self.max_len(
            "fileName",
            req.file_name.as_deref(),
            limits::UPLOAD_FILE_NAME_MAX_LEN,
        );
        self.placement(
            req.parent_folder_id.as_deref(),
            req.file_path.as_deref(),
            Some(&req.mime_type),
        );
        self.labels(
            "labels",
            req.labels.as_deref(),
            limits::UPLOAD_URL_LABELS_MAX_ITEMS,
        );
        self.external_info(req.external_info.as_ref());
    }

    /// Generate File Resumable Upload URL.
    pub fn resumable_upload_url(&mut self, req: &GenerateFileResumableUploadUrlRequest) {
        self.max_len(
            "fileName",
            req.file_name.as_deref(),
            limits::UPLOAD_FILE_NAME_MAX_LEN,
        );
        self.placement(
            req.parent_folder_id.as_deref(),
            req.file_path.as_deref(),
            Some(&req.mime_type),
        );
        self.labels(
            "labels",
            req.labels.as_deref(),
            limits::RESUMABLE_UPLOAD_LABELS_MAX_ITEMS,
        );
    }

    /// Generate File Download URL: the name, the expiry's floor and the asset keys.
    pub fn download_url(&mut self, req: &GenerateFileDownloadUrlRequest) {
        self.max_len(
            "downloadFileName",
            req.download_file_name.as_deref(),
            limits::DOWNLOAD_FILE_NAME_MAX_LEN,
        );
        self.min_value(
            "expirationInMinutes",
            req.expiration_in_minutes.map(u64::from),
            u64::from(limits::DOWNLOAD_EXPIRATION_FLOOR_MIN),
        );
        let keys = req.asset_keys.as_deref().unwrap_or_default();
        self.max_items("assetKeys", keys.len(), limits::ASSET_KEYS_MAX_ITEMS);
        for (i, key) in keys.iter().enumerate() {
            self.max_len(
                &format!("assetKeys[{i}]"),
                Some(key.as_str()),
                limits::ASSET_KEY_MAX_LEN,
            );
        }
    }

    /// `Ok` when nothing was found, else one 400 naming every violation.
    pub fn into_result(self) -> WixResult<()> {
        if self.found.is_empty() {
            Ok(())
        } else {
            Err(WixError::violations(self.found))
        }
    }
}

/// Checks one request with `check`: `Ok`, or the 400 of everything it violates.
pub fn check(f: impl FnOnce(&mut Violations)) -> WixResult<()> {
    let mut v = Violations::new();
    f(&mut v);
    v.into_result()
}

/// A name the contract takes longer than a file keeps, cut to `DISPLAY_NAME_MAX_LEN`
/// characters as Wix cuts it ("truncated to 255 characters if longer").
pub fn kept_name(name: &str) -> String {
    name.chars().take(limits::DISPLAY_NAME_MAX_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: WixResult<()>) -> Vec<String> {
        r.err()
            .map(|e| {
                e.field_violations()
                    .iter()
                    .map(|v| format!("{}:{}", v.field, v.violated_rule))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Each limit of an import item is found, named under its list index, all in one answer.
    #[test]
    fn import_limits_name_their_fields() {
        let req = ImportFileRequest {
            url: "https://h/a.png".into(),
            display_name: Some("n".repeat(1001)),
            file_path: Some("/p".repeat(51)),
            mime_type: Some(format!("image/{}", "x".repeat(100))),
            labels: Some(vec!["l".into(); 501]),
            external_info: Some(ExternalInfo {
                origin: "o".repeat(1001),
                external_ids: vec!["i".repeat(4001); 31],
            }),
            ..ImportFileRequest::default()
        };
        let got = fields(check(|v| {
            v.item("importFileRequests", 3, |v| v.import(&req))
        }));
        let p = "importFileRequests[3].";
        for want in [
            "displayName:MAX_LENGTH",
            "filePath:MAX_LENGTH",
            "mimeType:MAX_LENGTH",
            "labels:MAX_SIZE",
            "externalInfo.origin:MAX_LENGTH",
            "externalInfo.externalIds:MAX_SIZE",
            "externalInfo.externalIds[30]:MAX_LENGTH",
        ] {
            assert!(got.contains(&format!("{p}{want}")), "{want} in {got:?}");
        }
    }

    /// At the limits everything passes: 1000-character names, 100-character paths, 500 labels.
    #[test]
    fn at_the_limits_passes() {
        let req = ImportFileRequest {
            url: "https://h/a.png".into(),
            display_name: Some("n".repeat(1000)),
            file_path: Some("/p".repeat(50)),
            labels: Some(vec!["l".repeat(200); 500]),
            ..ImportFileRequest::default()
        };
        assert!(check(|v| v.import(&req)).is_ok());
        assert_eq!(kept_name(&"é".repeat(1000)).chars().count(), 255);
    }

    /// Upload URLs take 50 labels, resumable ones 500.
    #[test]
    fn upload_label_limits_differ() {
        let labels = Some(vec!["l".to_string(); 51]);
        let put = GenerateFileUploadUrlRequest {
            mime_type: "image/png".into(),
            labels: labels.clone(),
            ..GenerateFileUploadUrlRequest::default()
        };
        assert_eq!(fields(check(|v| v.upload_url(&put))), ["labels:MAX_SIZE"]);
        let tus = GenerateFileResumableUploadUrlRequest::from(put);
        assert!(check(|v| v.resumable_upload_url(&tus)).is_ok());
    }
}
