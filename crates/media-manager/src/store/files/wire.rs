//! A file row's wire form: the REST descriptor every endpoint answers with, its static URL,
//! and the media part, present only once the file is READY.

use wix_media_wire::types::{
    AssetMedia, AudioAsset, AudioMedia, DocumentMedia, FileDescriptor, FileMedia, Image,
    ImageMedia, MediaType, OperationStatus, State, VideoMedia, VideoResolution,
};

use super::FileRow;
use crate::store::rfc3339;

impl FileRow {
    /// Where the file's bytes are served: `{base}/media/{id}` (403 for private files).
    pub fn static_url(&self, base: &str) -> String {
        format!("{base}/media/{}", self.id)
    }

    /// The REST descriptor. `media` is only present once the file is READY.
    pub fn to_wire(&self, base: &str, site_id: &str) -> FileDescriptor {
        let url = self.static_url(base);
        let ready = self.status == OperationStatus::Ready;
        let thumbnail_url = self.thumb_blob.as_ref().map(|_| format!("{url}/thumbnail"));
        FileDescriptor {
            id: Some(self.id.clone()),
            display_name: Some(self.display_name.clone()),
            url: Some(url.clone()),
            parent_folder_id: Some(self.parent_id.clone()),
            hash: self.md5.clone(),
            size_in_bytes: self.size,
            private: Some(self.private),
            media_type: Some(self.media_type),
            media: ready.then(|| self.media(&url, thumbnail_url.as_deref())),
            operation_status: Some(self.status),
            source_url: self.source_url.clone(),
            thumbnail_url,
            labels: Some(self.labels.clone()),
            created_date: Some(rfc3339(self.created_ms)),
            updated_date: Some(rfc3339(self.updated_ms)),
            site_id: Some(site_id.to_string()),
            state: Some(if self.is_live() {
                State::Ok
            } else {
                State::Deleted
            }),
        }
    }

    fn media(&self, url: &str, thumbnail_url: Option<&str>) -> FileMedia {
        let image = || Image {
            id: self.id.clone(),
            url: url.to_string(),
            height: self.height.unwrap_or(0),
            width: self.width.unwrap_or(0),
            filename: Some(self.display_name.clone()),
        };
        let preview = thumbnail_url.map(|t| Image {
            id: format!("{}/thumbnail", self.id),
            url: t.to_string(),
            ..Image::default()
        });
        let asset = || AssetMedia {
            id: self.id.clone(),
            url: url.to_string(),
            filename: Some(self.display_name.clone()),
            size_in_bytes: self.size,
        };
        let mut media = FileMedia::default();
        match self.media_type {
            MediaType::Image => {
                media.image = Some(ImageMedia {
                    image: image(),
                    preview_image: preview,
                })
            }
            MediaType::Vector => {
                media.vector = Some(ImageMedia {
                    image: image(),
                    preview_image: preview,
                })
            }
            MediaType::Video => {
                media.video = Some(VideoMedia {
                    id: self.id.clone(),
                    resolutions: vec![VideoResolution {
                        url: url.to_string(),
                        height: self.height.unwrap_or(0),
                        width: self.width.unwrap_or(0),
                        format: self
                            .mime_type
                            .as_deref()
                            .and_then(|m| m.split('/').nth(1))
                            .map(str::to_string),
                    }],
                    filename: Some(self.display_name.clone()),
                })
            }
            MediaType::Audio => {
                media.audio = Some(AudioMedia {
                    id: self.id.clone(),
                    assets: vec![AudioAsset {
                        id: self.id.clone(),
                        url: url.to_string(),
                        filename: Some(self.display_name.clone()),
                    }],
                    format: self
                        .mime_type
                        .as_deref()
                        .and_then(|m| m.split('/').nth(1))
                        .map(str::to_string),
                    size_in_bytes: self.size,
                })
            }
            MediaType::Archive => media.archive = Some(asset()),
            MediaType::Model3d => media.model3d = Some(asset()),
            _ => {
                media.document = Some(DocumentMedia {
                    id: self.id.clone(),
                    url: url.to_string(),
                    filename: Some(self.display_name.clone()),
                })
            }
        }
        media
    }
}
