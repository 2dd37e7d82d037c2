//! Which images are never bumped: the config's skip patterns and skip categories.

use crate::config::{Config, SkipCategory};
use upkeep_notes::glob_matches;
use upkeep_pins::canonical_image_name;

/// Database server images, by repository name (the last path segment, or its first
/// `-`-separated word): upgraded by hand, with a dump, never by a bot.
const DATABASES: [&str; 17] = [
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongo",
    "mongodb",
    "redis",
    "valkey",
    "keydb",
    "memcached",
    "clickhouse",
    "influxdb",
    "cassandra",
    "cockroach",
    "etcd",
    "couchdb",
    "timescaledb",
];

/// Words that make a database-named image a companion, not a server (`postgres-exporter`).
const COMPANIONS: [&str; 5] = ["exporter", "operator", "backup", "ui", "admin"];

/// Cluster infrastructure images, as normalized name patterns.
const INFRASTRUCTURE: [&str; 12] = [
    "registry.k8s.io/*",
    "k8s.gcr.io/*",
    "quay.io/cilium/*",
    "quay.io/metallb/*",
    "quay.io/jetstack/*",
    "ghcr.io/fluxcd/*",
    "docker.io/rancher/*",
    "quay.io/calico/*",
    "docker.io/calico/*",
    "ghcr.io/kube-vip/*",
    "quay.io/coreos/*",
    "docker.io/longhornio/*",
];

/// Why the config skips an image (by normalized name), or `None` when it does not.
pub fn skip_reason(config: &Config, canonical: &str) -> Option<String> {
    if let Some(pattern) = config
        .skip_image_patterns
        .iter()
        .find(|pattern| image_pattern_matches(pattern, canonical))
    {
        return Some(format!("matches skip pattern `{pattern}`"));
    }
    config.skip_categories.iter().find_map(|category| {
        let (hit, name) = match category {
            SkipCategory::Databases => (is_database(canonical), "databases"),
            SkipCategory::CustomImages => (is_custom(config, canonical), "custom_images"),
            SkipCategory::Infrastructure => (
                INFRASTRUCTURE.iter().any(|p| glob_matches(p, canonical)),
                "infrastructure",
            ),
        };
        hit.then(|| format!("in skip category `{name}`"))
    })
}

/// Whether a `*` pattern of image names matches the normalized name `canonical`. A pattern is
/// spelled as names are (`viktorbarzin/*` means `docker.io/viktorbarzin/*`, `nginx` means
/// `docker.io/library/nginx`), so its literal start is normalized like a name; one that starts
/// with a wildcard (`*postgres*`) matches as written.
pub fn image_pattern_matches(pattern: &str, canonical: &str) -> bool {
    if glob_matches(pattern, canonical) {
        return true;
    }
    let first = pattern.split('/').next().unwrap_or(pattern);
    !first.contains('*') && glob_matches(&canonical_image_name(pattern), canonical)
}

fn is_database(canonical: &str) -> bool {
    let repo = canonical.rsplit('/').next().unwrap_or(canonical);
    let mut words = repo.split(['-', '_']);
    let first = words.next().unwrap_or_default();
    DATABASES.contains(&first) && !words.any(|word| COMPANIONS.contains(&word))
}

fn is_custom(config: &Config, canonical: &str) -> bool {
    let host = canonical.split('/').next().unwrap_or_default();
    let name = host.split(':').next().unwrap_or(host);
    config
        .custom_image_registries
        .iter()
        .any(|r| r == host || r == name)
        || host.contains(':')
        || name.parse::<std::net::IpAddr>().is_ok()
        || [".lan", ".local", ".internal", ".home.arpa"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::skip_reason;
    use crate::config::{Config, SkipCategory};

    #[test]
    fn patterns_are_spelled_as_image_names_are() {
        for (pattern, image, hit) in [
            (
                "viktorbarzin/*",
                "docker.io/viktorbarzin/yt-highlights",
                true,
            ),
            ("mghee/*", "docker.io/mghee/novelapp", true),
            ("index.docker.io/mghee/*", "docker.io/mghee/novelapp", true),
            ("nginx", "docker.io/library/nginx", true),
            ("*postgres*", "ghcr.io/immich-app/postgres", true),
            ("registry.k8s.io/*", "registry.k8s.io/pause", true),
            ("viktorbarzin/*", "ghcr.io/viktorbarzin/app", false),
            ("*postgres*", "docker.io/library/redis", false),
        ] {
            assert_eq!(
                super::image_pattern_matches(pattern, image),
                hit,
                "{pattern} ~ {image}"
            );
        }
    }

    #[test]
    fn patterns_and_categories_say_why() {
        let config = Config {
            skip_image_patterns: vec!["docker.io/viktorbarzin/*".to_owned()],
            skip_categories: vec![
                SkipCategory::Databases,
                SkipCategory::CustomImages,
                SkipCategory::Infrastructure,
            ],
            custom_image_registries: vec!["registry.example.org".to_owned()],
            ..Config::default()
        };
        let cases = [
            (
                "docker.io/viktorbarzin/webhook",
                Some("matches skip pattern `docker.io/viktorbarzin/*`"),
            ),
            (
                "docker.io/library/postgres",
                Some("in skip category `databases`"),
            ),
            (
                "ghcr.io/immich-app/postgres",
                Some("in skip category `databases`"),
            ),
            (
                "docker.io/valkey/valkey",
                Some("in skip category `databases`"),
            ),
            ("quay.io/prometheuscommunity/postgres-exporter", None),
            (
                "10.0.20.10:5000/infra/restic-backup",
                Some("in skip category `custom_images`"),
            ),
            (
                "registry.example.org/app",
                Some("in skip category `custom_images`"),
            ),
            (
                "registry.k8s.io/ingress-nginx/controller",
                Some("in skip category `infrastructure`"),
            ),
            ("docker.io/vaultwarden/server", None),
        ];
        for (image, expected) in cases {
            assert_eq!(skip_reason(&config, image).as_deref(), expected, "{image}");
        }
        assert_eq!(
            skip_reason(&Config::default(), "docker.io/library/postgres"),
            None
        );
    }
}
