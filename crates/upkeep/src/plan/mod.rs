//! Plan: one update becomes a decision with its evidence. Pins located, the release notes read,
//! the risk decided, and the review (report and draft commit message) written.

pub mod downgrade;
pub mod prepare;
pub mod review;
pub mod rollout;
