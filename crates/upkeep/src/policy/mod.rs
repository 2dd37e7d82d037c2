//! Policy: what may change and how fast. Skip patterns and categories, the filter that judges a
//! detected update, the rate limit, the lint rules a repository's pins are held to, and the
//! config entries that match nothing in the repository.

pub mod filter;
pub mod lint;
pub mod rate_limit;
pub mod skip;
pub mod unused_config;
