//! Detect: where each pin's newer versions are published, and the clients that list them
//! (registries, Helm chart indexes, the Terraform registry, git tags), for `upkeep outdated`.

pub mod chart_index;
pub mod http_retry;
pub mod lookup;
pub mod registry;
pub mod terraform_registry;
