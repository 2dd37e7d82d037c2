//! Deliver: a planned update becomes a commit that is pushed, built by CI, verified, and reverted
//! (or held) when it breaks. Everything a run needs is checked first (preflight, gates), the
//! database is backed up before any edit, and only upkeep's own commits are pushed.

pub mod backup;
pub mod clock;
pub mod cluster;
pub mod deploy;
pub mod gates;
pub mod git;
pub mod hooks;
pub mod migrations;
pub mod notify;
pub mod preflight;
pub mod recover;
pub mod remote;
pub mod stack;
pub mod tree_lock;
pub mod verify;
pub mod woodpecker;
