//! Request extractors that fail the Wix way: a JSON body that doesn't match its type gives a
//! 400 `validationError` naming the field, and query strings keep repeated keys
//! (`mediaTypes=IMAGE&mediaTypes=VIDEO`) and dotted names (`paging.limit`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::SharedState;
use super::conn::{Stall, next_chunk};
use super::error::WixError;
use super::store::{PageRequest, PagingFields, SortKey};
use wix_media_wire::types::{CursorPaging, MEDIA_ROOT, SortOrder, Sorting, TRASH_ROOT};

/// A JSON body; an empty body counts as `{}`. A body must come as `application/json` (415
/// otherwise): a browser can send `text/plain` or a form to any site without asking, but not
/// JSON, so this is what keeps other web pages from driving the API. The body is read under
/// `max_json_body_bytes` (413 beyond it) and must not stall for the idle timeout (408).
pub struct WixJson<T>(pub T);

impl<T> FromRequest<SharedState> for WixJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = WixError;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE);
        let declared_json = content_type.is_some_and(is_json);
        if content_type.is_some() && !declared_json {
            return Err(WixError::unsupported_media_type());
        }
        let limit = state.config.max_json_body_bytes;
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit as u64) {
            return Err(WixError::payload_too_large(limit));
        }
        let mut stream = req.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = next_chunk(&mut stream, state.config.idle_timeout).await {
            let chunk = chunk.map_err(|stall| match stall {
                Stall::Idle => WixError::request_timeout(),
                Stall::Broken => {
                    WixError::bad_request("INVALID_BODY", "The request body could not be read")
                }
            })?;
            if bytes.len() + chunk.len() > limit {
                return Err(WixError::payload_too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else if !declared_json {
            // A body with no Content-Type at all is what `fetch(..., {mode: "no-cors"})` sends.
            return Err(WixError::unsupported_media_type());
        } else {
            &bytes
        };
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de)
            .map(WixJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let description = e.into_inner().to_string();
                WixError::invalid(&field_of(&path), description)
            })
    }
}

/// The field a decoding error is about: its path (for a field the contract doesn't have, which
/// request types refuse, the path ends at that field: `importFileRequests[0].extra`), or
/// `body` for the body as a whole.
fn field_of(path: &str) -> String {
    if path == "." {
        "body".to_string()
    } else {
        path.to_string()
    }
}

/// `application/json`, or any `+json` type, with or without parameters (`; charset=utf-8`).
fn is_json(value: &axum::http::HeaderValue) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or_default().trim();
    let Some((top, sub)) = essence.split_once('/') else {
        return false;
    };
    top.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json") || sub.to_ascii_lowercase().ends_with("+json"))
}

/// Query parameters in order, repeated keys kept.
pub struct QueryList(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryList {
    type Rejection = WixError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Self(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl QueryList {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, WixError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(WixError::invalid(key, "must be true or false")),
        }
    }

    /// `sort.fieldName` / `sort.order` and `paging.limit` / `paging.cursor`.
    pub fn sort_and_paging(&self) -> Result<(Option<Sorting>, CursorPaging), WixError> {
        let sort = match (self.get("sort.fieldName"), self.get("sort.order")) {
            (None, None) => None,
            (field, order) => Some(Sorting {
                field_name: field.unwrap_or_default().to_string(),
                order: match order {
                    None | Some("DESC") => SortOrder::Desc,
                    Some("ASC") => SortOrder::Asc,
                    Some(_) => return Err(WixError::invalid("sort.order", "must be ASC or DESC")),
                },
            }),
        };
        let limit = match self.get("paging.limit") {
            None | Some("") => None,
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                WixError::invalid("paging.limit", "must be an integer between 0 and 100")
            })?),
        };
        let paging = CursorPaging {
            limit,
            cursor: self.get("paging.cursor").map(str::to_string),
        };
        Ok((sort, paging))
    }

    /// What a listing of one folder reads: `parentFolderId` (the media or trash root when
    /// absent or empty) and the page asked for, sorted by one of `sorts`.
    pub fn listing(
        &self,
        deleted: bool,
        sorts: &[SortKey],
    ) -> Result<(String, PageRequest), WixError> {
        let default_parent = if deleted { TRASH_ROOT } else { MEDIA_ROOT };
        let parent = self
            .get("parentFolderId")
            .filter(|p| !p.is_empty())
            .unwrap_or(default_parent)
            .to_string();
        let (sort, paging) = self.sort_and_paging()?;
        let page =
            PageRequest::from_wire(sort.as_ref(), Some(&paging), sorts, PagingFields::LISTING)?;
        Ok((parent, page))
    }
}
