//! Request budget and retry control: the token bucket shared by the server's rate limit and
//! the client's budget, the client's adaptive rate, priorities among its callers, and retry
//! classification.

pub mod adaptive;
pub mod budget;
pub mod retry;

pub use wix_media_wire::bucket;
