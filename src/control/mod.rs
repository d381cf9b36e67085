//! Request budget and retry control: the token bucket shared by the server's rate limit and
//! the client's budget.

pub mod bucket;
pub mod budget;
pub mod retry;
