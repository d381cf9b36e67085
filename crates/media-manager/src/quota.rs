//! The site quota (`ServerConfig::quota_files`, `quota_bytes`): how many live files, and how
//! many of their bytes, a site may hold. Checked inside the transaction that creates a file, so
//! concurrent calls can't both take the last place. A file counts from its creation until it
//! is trashed; its bytes count once known — at once for uploads, once processed for URL
//! imports (whose size nobody knows before the fetch), so imports in flight can take a site
//! past its byte quota, never past its file quota.

use rusqlite::Connection;
use serde_json::json;

use super::error::{WixError, WixResult};
use wix_media_wire::types::rules;

/// A site's limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    pub files: Option<u64>,
    pub bytes: Option<u64>,
}

/// What a site holds: live files, and the bytes of those whose size is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub files: u64,
    pub bytes: u64,
}

impl Quota {
    pub fn is_limited(&self) -> bool {
        self.files.is_some() || self.bytes.is_some()
    }

    /// Whether one more file of `size` bytes (`None`: not known yet) fits beside `used`.
    pub fn fits(&self, used: Usage, size: Option<u64>) -> bool {
        let files_ok = self.files.is_none_or(|max| used.files < max);
        let bytes_ok = self.bytes.is_none_or(|max| {
            used.bytes < max && used.bytes.saturating_add(size.unwrap_or(0)) <= max
        });
        files_ok && bytes_ok
    }

    /// What the answers say of the quota and its use, in `data`.
    fn data(&self, used: Usage) -> serde_json::Value {
        json!({
            "quotaFiles": self.files, "quotaBytes": self.bytes,
            "usedFiles": used.files, "usedBytes": used.bytes,
        })
    }

    /// The 400 of a call that would create a file the site has no room for.
    pub fn exceeded(&self, field: &str, used: Usage) -> WixError {
        WixError::rule(
            field,
            rules::SITE_QUOTA_EXCEEDED,
            self.description(used),
            Some(self.data(used)),
        )
    }

    fn description(&self, used: Usage) -> String {
        let files = self.files.map_or_else(String::new, |max| {
            format!(" {} of {max} files;", used.files)
        });
        let bytes = self.bytes.map_or_else(String::new, |max| {
            format!(" {} of {max} bytes;", used.bytes)
        });
        format!("the site's quota is exceeded:{files}{bytes} no more files can be added")
    }

    /// Refuses one more file of `size` bytes, unless it fits: `Ok` with what the site holds.
    pub fn admit(&self, conn: &Connection, field: &str, size: Option<u64>) -> WixResult<Usage> {
        if !self.is_limited() {
            return Ok(Usage::default());
        }
        let used = usage(conn)?;
        if self.fits(used, size) {
            Ok(used)
        } else {
            Err(self.exceeded(field, used))
        }
    }
}

/// What the site holds now: live (not trashed) files, and their known bytes.
pub fn usage(conn: &Connection) -> WixResult<Usage> {
    let (files, bytes): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE trashed = 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Usage {
        files: u64::try_from(files).unwrap_or(0),
        bytes: u64::try_from(bytes).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file fits while fewer are held than allowed and its known bytes fit; a file of
    /// unknown size needs only a byte to spare.
    #[test]
    fn fits_by_count_and_bytes() {
        let q = Quota {
            files: Some(2),
            bytes: Some(100),
        };
        let used = |files, bytes| Usage { files, bytes };
        assert!(q.fits(used(1, 0), Some(100)));
        assert!(!q.fits(used(2, 0), None));
        assert!(!q.fits(used(1, 60), Some(41)));
        assert!(q.fits(used(1, 99), None));
        assert!(!q.fits(used(1, 100), None));
        assert!(Quota::default().fits(used(u64::MAX, u64::MAX), Some(1)));
    }
}
