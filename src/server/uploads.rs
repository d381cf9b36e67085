//! Uploads: upload URLs (one PUT) and resumable uploads (tus 1.0.0 plus the finalize PUT).

use axum::Router;

use super::SharedState;

pub fn api_routes() -> Router<SharedState> {
    Router::new()
}

pub fn upload_routes(_state: &SharedState) -> Router<SharedState> {
    Router::new()
}
