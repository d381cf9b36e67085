//! The stage's store: one `object_store` backend (S3, GCS or Azure, opened by the CLI from
//! the environment's credential chain; both its object calls and its URL signer) seen through
//! the few calls staging makes — a check
//! that the bucket is there and takes the credentials, HEAD, PUT (see [`super::upload`]),
//! DELETE and presigned GET URLs — with its errors turned into [`StageError`]s that carry no
//! secret.

use std::sync::Arc;
use std::time::Duration;

use object_store::PutPayload;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt};

use super::{StageError, StageLocation};

/// The object stored and deleted under the prefix to check the stage before any import.
const PROBE: &str = ".media-migrate-check";

/// The bucket of a stage. Cloning shares the backend and its connections.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn ObjectStore>,
    signer: Arc<dyn Signer>,
    location: StageLocation,
}

impl Store {
    /// The store at `location`: `backend` for its objects, `signer` for URLs of them (the same
    /// backend, as each of S3, GCS and Azure is both).
    pub fn new(
        backend: Arc<dyn ObjectStore>,
        signer: Arc<dyn Signer>,
        location: StageLocation,
    ) -> Self {
        Self {
            backend,
            signer,
            location,
        }
    }

    pub fn location(&self) -> &StageLocation {
        &self.location
    }

    pub(super) fn backend(&self) -> &dyn ObjectStore {
        self.backend.as_ref()
    }

    /// Checks that the bucket exists and takes the credentials for what staging does — store
    /// and delete — by storing a tiny probe object under the prefix and deleting it. (A listing
    /// would need a right staging doesn't, and its errors don't tell a missing bucket apart;
    /// a HEAD can't tell a missing bucket from a missing object.) Any failure is fatal.
    pub async fn check(&self) -> Result<(), StageError> {
        let probe = match self.location.prefix.as_str() {
            "" => PROBE.to_string(),
            prefix => format!("{prefix}/{PROBE}"),
        };
        let path = ObjectPath::from(probe.as_str());
        let stored = self
            .backend
            .put(
                &path,
                PutPayload::from_static(b"media-migrate --stage check\n"),
            )
            .await;
        let stored = match stored {
            Ok(_) => self.backend.delete(&path).await,
            Err(e) => Err(e),
        };
        let stage = self.location.to_string();
        match stored {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Err(StageError::NoBucket { stage }),
            Err(
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. },
            ) => Err(StageError::Refused { stage }),
            Err(e) => Err(StageError::Unusable {
                stage,
                message: scrub(&e.to_string()),
            }),
        }
    }

    /// Whether the object `key` is stored.
    pub async fn exists(&self, key: &str) -> Result<bool, StageError> {
        match self.backend.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("look up", key, e)),
        }
    }

    /// Deletes the object `key` (already gone is fine).
    pub async fn delete(&self, key: &str) -> Result<(), StageError> {
        match self.backend.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", key, e)),
        }
    }

    /// A GET URL of `key` valid for `lifetime`, signed now.
    pub async fn presign_get(&self, key: &str, lifetime: Duration) -> Result<String, StageError> {
        let url = self
            .signer
            .signed_url(Method::GET, &ObjectPath::from(key), lifetime)
            .await
            .map_err(|e| self.error("sign a URL of", key, e))?;
        Ok(url.to_string())
    }

    /// The error of `op` on `key`: refused credentials and a missing bucket are told apart
    /// (they stop the run); anything else is the store's message without query strings.
    pub(super) fn error(&self, op: &'static str, key: &str, e: object_store::Error) -> StageError {
        let stage = self.location.to_string();
        match e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StageError::Refused { stage },
            e => StageError::Store {
                op,
                key: key.to_string(),
                message: scrub(&e.to_string()),
            },
        }
    }
}

/// `text` with the query string of every URL in it cut: a SAS token or a signature rides
/// there, never in the path.
pub(crate) fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, url) = rest.split_at(at);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '<' || c == '>')
            .unwrap_or(url.len());
        let (link, after) = url.split_at(end);
        match link.find('?') {
            Some(q) => {
                out.push_str(&link[..q]);
                out.push_str("?…");
            }
            None => out.push_str(link),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Query strings (SAS tokens, signatures) are cut from a store's messages; the rest stays.
    #[test]
    fn scrub_cuts_query_strings() {
        let msg = "Error performing PUT https://acct.blob.core.windows.net/c/k?sv=2022&sig=SECRET in 1s, \
                   then http://h/x ok; see <https://a/b?token=T>";
        let s = scrub(msg);
        assert!(!s.contains("SECRET") && !s.contains("token=T"), "{s}");
        assert!(
            s.contains("https://acct.blob.core.windows.net/c/k?… in 1s"),
            "{s}"
        );
        assert!(s.contains("then http://h/x ok"), "{s}");
        assert_eq!(scrub("no urls here"), "no urls here");
    }
}
