//! Deliver: a planned update becomes a commit that is pushed, built by CI, verified, and reverted
//! when it breaks. Git, hooks, the CI client, verification, notifications and the tree lock.

pub mod clock;
pub mod deploy;
pub mod git;
pub mod hooks;
pub mod notify;
pub mod tree_lock;
pub mod verify;
pub mod woodpecker;
