//! The Wix Media Manager API as media-migrate sees it: the wire contract shared by client and
//! server, and the media type rules.

pub mod client;
pub mod upload;

pub use wix_media_wire::{media, types};
