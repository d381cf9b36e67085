//! The Wix Media Manager API as media-migrate sees it: the wire contract shared by client and
//! server, and the media type rules.

pub mod client;
pub mod media;
pub mod types;
pub mod upload;
