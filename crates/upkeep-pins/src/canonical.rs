//! Canonical names of charts, Terraform registry addresses and git sources, so that every
//! spelling of one source compares equal.

/// `https://grafana.github.io/helm-charts` + `grafana` → `grafana.github.io/helm-charts/grafana`;
/// an `oci://` chart reference is its own name.
pub(crate) fn chart_canonical(chart: &str, repository: Option<&str>) -> String {
    let strip = |s: &str| {
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        s.trim_end_matches('/').to_ascii_lowercase()
    };
    match repository {
        Some(repository) if !chart.contains("://") => {
            format!("{}/{}", strip(repository), chart.to_ascii_lowercase())
        }
        _ => strip(chart),
    }
}

/// A registry address: `hashicorp/helm` → `registry.terraform.io/hashicorp/helm`. `parts` is
/// the number of components without a host; `default_namespace` fills a bare name.
pub(crate) fn registry_canonical(
    source: &str,
    parts: usize,
    default_namespace: Option<&str>,
) -> String {
    let source = source.to_ascii_lowercase();
    let count = source.split('/').count();
    if source.starts_with('.') || source.contains("::") || source.contains("://") {
        return git_canonical(&source);
    }
    match (count, default_namespace) {
        (1, Some(namespace)) => format!("registry.terraform.io/{namespace}/{source}"),
        (n, _) if n == parts => format!("registry.terraform.io/{source}"),
        _ => source,
    }
}

/// `git::https://github.com/org/repo.git//modules/x` → `github.com/org/repo`.
pub(crate) fn git_canonical(source: &str) -> String {
    let source = source.strip_prefix("git::").unwrap_or(source);
    let source = source.split_once("://").map_or(source, |(_, rest)| rest);
    let source = source
        .strip_prefix("git@")
        .map_or_else(|| source.to_owned(), |rest| rest.replacen(':', "/", 1));
    let repo = source.split("//").next().unwrap_or(&source);
    repo.trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::{chart_canonical, git_canonical, registry_canonical};

    #[test]
    fn canonical_names_of_charts_providers_and_modules() {
        assert_eq!(
            chart_canonical("grafana", Some("https://grafana.github.io/helm-charts/")),
            "grafana.github.io/helm-charts/grafana"
        );
        assert_eq!(
            chart_canonical("oci://ghcr.io/x/charts/app", None),
            "ghcr.io/x/charts/app"
        );
        assert_eq!(
            registry_canonical("Telmate/proxmox", 2, Some("hashicorp")),
            "registry.terraform.io/telmate/proxmox"
        );
        assert_eq!(
            registry_canonical("helm", 2, Some("hashicorp")),
            "registry.terraform.io/hashicorp/helm"
        );
        assert_eq!(
            registry_canonical("terraform-aws-modules/vpc/aws", 3, None),
            "registry.terraform.io/terraform-aws-modules/vpc/aws"
        );
        assert_eq!(
            git_canonical("git::https://github.com/org/repo.git//modules/x"),
            "github.com/org/repo"
        );
        assert_eq!(
            git_canonical("git@github.com:org/repo.git"),
            "github.com/org/repo"
        );
    }
}
