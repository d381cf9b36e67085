//! Downloads: signed file URLs, zip archives, and the static URLs of public files.

use axum::Router;

use super::SharedState;

pub fn api_routes() -> Router<SharedState> {
    Router::new()
}

pub fn public_routes() -> Router<SharedState> {
    Router::new()
}
