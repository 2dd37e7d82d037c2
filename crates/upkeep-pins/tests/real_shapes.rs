//! Pins as real repositories write them: every test is a shape found in a public
//! infrastructure repository (rewritten here in our own words), named after what went wrong
//! with it. Each scan runs twice, by outline and strictly, and both must find the same pins.

mod common;

use common::{read, scan_files, set, users};
use std::path::Path;
use upkeep_pins::{Pin, PinKind, PinStatus, ScanOptions, ScanReport, SetRequest, plan_set, scan};

/// `kind name version` of every pin, in report order.
fn pins(report: &ScanReport) -> Vec<String> {
    report.pins.iter().map(describe).collect()
}

fn describe(pin: &Pin) -> String {
    format!(
        "{} {} {}",
        pin.kind.as_str(),
        pin.name,
        pin.version.as_deref().unwrap_or("-")
    )
}

// 1. Parse what Terraform parses.

const REPEATED_ANNOTATION: &str = r#"resource "kubernetes_ingress_v1" "app" {
  metadata {
    name = "app"
    annotations = {
      "nginx.ingress.kubernetes.io/proxy-set-header" = "X-Forwarded-Proto: https"
      "nginx.ingress.kubernetes.io/proxy-body-size"  = "0"
      "nginx.ingress.kubernetes.io/proxy-set-header" = "X-Real-IP: $remote_addr"
    }
  }
}

resource "kubernetes_deployment" "app" {
  spec {
    template {
      spec {
        container {
          image = "vaultwarden/server:1.35.4"
        }
      }
    }
  }
}
"#;

#[test]
fn repeated_object_key_does_not_hide_the_files_pins() {
    let (_dir, report) = scan_files(&[("app/main.tf", REPEATED_ANNOTATION)]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(pins(&report), ["image vaultwarden/server 1.35.4"]);
}

#[test]
fn repeated_object_key_is_a_warning_naming_both_lines() {
    let (_dir, report) = scan_files(&[("app/main.tf", REPEATED_ANNOTATION)]);
    let [warning] = report.warnings.as_slice() else {
        panic!("one warning expected: {:?}", report.warnings);
    };
    assert_eq!(warning.kind.as_str(), "duplicate_key");
    assert_eq!((warning.line, warning.column), (5, 7));
    let later = warning.related.as_ref().expect("the later key");
    assert_eq!((later.line, later.column), (7, 7));
    assert!(
        warning
            .message
            .contains("nginx.ingress.kubernetes.io/proxy-set-header"),
        "{}",
        warning.message
    );
}

#[test]
fn repeated_key_in_a_values_object_the_last_value_wins() {
    let src = r#"resource "helm_release" "app" {
  name       = "app"
  repository = "https://charts.example.org"
  chart      = "app"
  version    = "1.0.0"
  values = [yamlencode({
    podLabels = { team = "a" }
    image = {
      repository = "ghcr.io/example/app"
      tag        = "1.0.0"
      tag        = "1.1.0"
    }
    podLabels = { team = "b" }
  })]
}
"#;
    let (dir, report) = scan_files(&[("app/main.tf", src)]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        pins(&report),
        ["helm_chart app 1.0.0", "helm_set ghcr.io/example/app 1.1.0"]
    );
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    set(dir.path(), "ghcr.io/example/app", "1.2.0", None);
    let after = read(dir.path(), "app/main.tf");
    assert_eq!(after, src.replace("\"1.1.0\"", "\"1.2.0\""));
}

#[test]
fn terraform_json_files_are_scanned_like_native_ones() {
    let json = r#"{
  "variable": {
    "ollama_version": { "type": "string", "default": "0.5.4" }
  },
  "resource": {
    "kubernetes_deployment": {
      "app": {
        "spec": [{ "template": [{ "spec": [{ "container": [{ "image": "vaultwarden/server:1.35.4" }] }] }] }],
        "lifecycle": { "ignore_changes": ["spec"] }
      }
    },
    "helm_release": {
      "grafana": { "chart": "grafana", "repository": "https://grafana.github.io/helm-charts", "version": "8.5.1" }
    }
  },
  "terraform": { "required_providers": { "helm": { "source": "hashicorp/helm", "version": "3.0.2" } } }
}
"#;
    let main = "resource \"kubernetes_deployment\" \"ollama\" {\n  spec {\n    container {\n      image = \"ollama/ollama:${var.ollama_version}\"\n    }\n  }\n}\n";
    let (dir, report) = scan_files(&[("app/main.tf.json", json), ("app/ollama.tf", main)]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(
        pins(&report),
        [
            "image ollama/ollama 0.5.4",
            "image vaultwarden/server 1.35.4",
            "helm_chart grafana 8.5.1",
            "provider hashicorp/helm 3.0.2"
        ]
    );
    assert!(pin(&report, "vaultwarden/server").ignored_by_terraform);
    set(dir.path(), "vaultwarden/server", "1.36.0", None);
    set(dir.path(), "ollama/ollama", "0.6.0", None);
    assert_eq!(
        read(dir.path(), "app/main.tf.json"),
        json.replace("1.35.4", "1.36.0").replace("0.5.4", "0.6.0")
    );
}

// 2. Write the version given.

#[test]
fn set_writes_the_tag_given_even_when_the_scheme_changes() {
    let src = r#"resource "kubernetes_deployment" "a" {
  spec {
    container { image = "ghcr.io/example/one:v1.1.0" }
    container { image = "ghcr.io/example/two:1.7.4" }
    container { image = "postgres:16-alpine" }
  }
}
"#;
    let (dir, _) = scan_files(&[("a/main.tf", src)]);
    set(dir.path(), "ghcr.io/example/one", "3.2", None);
    set(dir.path(), "ghcr.io/example/two", "v1.0.32.0", None);
    set(dir.path(), "postgres", "17", None);
    let expected = src
        .replace(":v1.1.0", ":3.2")
        .replace(":1.7.4", ":v1.0.32.0")
        .replace(":16-alpine", ":17");
    assert_eq!(read(dir.path(), "a/main.tf"), expected);
}

#[test]
fn set_from_matches_with_or_without_v() {
    let src = "locals {\n  one = \"ghcr.io/example/one:v1.1.0\"\n}\nresource \"x\" \"y\" {\n  image = local.one\n}\n";
    let (dir, _) = scan_files(&[("a/main.tf", src)]);
    let plan = set(dir.path(), "ghcr.io/example/one", "1.2.0", Some("1.1.0"));
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        read(dir.path(), "a/main.tf"),
        src.replace("v1.1.0", "1.2.0")
    );
}

#[test]
fn set_to_the_same_tag_in_another_spelling_is_a_change() {
    let src = "resource \"x\" \"y\" {\n  image = \"ghcr.io/example/one:v1.1.0\"\n}\n";
    let (dir, _) = scan_files(&[("a/main.tf", src)]);
    let plan = set(dir.path(), "ghcr.io/example/one", "1.1.0", None);
    assert_eq!(plan.changes.len(), 1);
    assert!(read(dir.path(), "a/main.tf").contains(":1.1.0\""));
    let plan = set(dir.path(), "ghcr.io/example/one", "1.1.0", None);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.unchanged.len(), 1);
}

// 3. Every image shape.

fn pin<'a>(report: &'a ScanReport, name: &str) -> &'a Pin {
    report
        .pins
        .iter()
        .find(|pin| pin.name == name)
        .unwrap_or_else(|| panic!("no pin {name}: {:#?}", pins(report)))
}

#[test]
fn registry_repository_and_tag_in_separate_attributes_are_one_pin() {
    let main = r#"module "buildkit" {
  source           = "../kube_deployment"
  name             = "buildkitd"
  image_registry   = "docker.io"
  image_repository = "moby/buildkit"
  image_tag        = var.buildkit_image_version
}

resource "kubernetes_deployment" "exporter" {
  spec {
    template {
      spec {
        container {
          exporter_image = "quay.io/example/exporter"
          exporter_tag   = "v0.16.0"
        }
      }
    }
  }
}
"#;
    let vars = "variable \"buildkit_image_version\" {\n  default = \"v0.12.5\"\n}\n";
    let (dir, report) = scan_files(&[("kube/main.tf", main), ("kube/vars.tf", vars)]);
    assert_eq!(
        pins(&report),
        [
            "image quay.io/example/exporter v0.16.0",
            "image docker.io/moby/buildkit v0.12.5"
        ]
    );
    let buildkit = pin(&report, "docker.io/moby/buildkit");
    assert_eq!(buildkit.via.as_deref(), Some("var.buildkit_image_version"));
    assert_eq!(users(buildkit), ["kube/main.tf:6"]);
    set(dir.path(), "moby/buildkit", "v0.13.0", None);
    assert_eq!(
        read(dir.path(), "kube/vars.tf"),
        vars.replace("v0.12.5", "v0.13.0")
    );
}

#[test]
fn helm_values_image_with_separate_tag_key_is_one_pin_not_an_untagged_image() {
    let values = "elasticsearch:\n  image: docker.elastic.co/elasticsearch/elasticsearch\n  imageTag: \"8.5.1\"\nkibana:\n  image:\n    registry: docker.elastic.co\n    repository: kibana/kibana\n    tag: 8.5.1\n    digest: sha256:4b6c1c5b0a0bd1d9e0a2e4d1f0b8f1f6f5a1c1e1d1b1a191817161514131211\n";
    let (_dir, report) = scan_files(&[("elastic/values.yaml", values)]);
    assert_eq!(
        pins(&report),
        [
            "values_image docker.elastic.co/elasticsearch/elasticsearch 8.5.1",
            "values_image docker.elastic.co/kibana/kibana 8.5.1"
        ]
    );
    let kibana = pin(&report, "docker.elastic.co/kibana/kibana");
    assert!(
        kibana
            .digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
}

const IMAGES_LOCAL: &str = r#"locals {
  # Container image definitions (uri + tag)
  images = {
    vaultwarden = {
      uri = "vaultwarden/server"
      tag = "1.35.4"
    }
    gitsave = {
      uri = "timwitzdam/gitsave"
      tag = "2.1.0"
    }
  }
}
"#;

const IMAGES_USERS: &str = r#"module "vaultwarden" {
  source = "../modules/service"
  image  = local.images.vaultwarden
}

resource "kubernetes_deployment" "backup" {
  spec {
    template {
      spec {
        container {
          image = "${local.images.vaultwarden.uri}:${local.images.vaultwarden.tag}"
        }
      }
    }
  }
}
"#;

#[test]
fn image_objects_in_a_locals_map_are_pins_used_by_reference() {
    let (dir, report) = scan_files(&[
        ("apps/versions.tf", IMAGES_LOCAL),
        ("apps/vaultwarden.tf", IMAGES_USERS),
    ]);
    assert_eq!(
        pins(&report),
        [
            "image vaultwarden/server 1.35.4",
            "image timwitzdam/gitsave 2.1.0"
        ]
    );
    let vaultwarden = pin(&report, "vaultwarden/server");
    assert_eq!((vaultwarden.line, vaultwarden.column), (6, 14));
    assert_eq!(
        users(vaultwarden),
        ["apps/vaultwarden.tf:3", "apps/vaultwarden.tf:11"]
    );
    assert!(
        vaultwarden
            .users
            .iter()
            .all(|user| user.resolved == "vaultwarden/server:1.35.4"),
        "{:#?}",
        vaultwarden.users
    );
    let unused = pin(&report, "timwitzdam/gitsave");
    assert!(unused.users.is_empty(), "{:#?}", unused.users);
    set(dir.path(), "vaultwarden/server", "1.36.0", None);
    assert_eq!(
        read(dir.path(), "apps/versions.tf"),
        IMAGES_LOCAL.replace("1.35.4", "1.36.0")
    );
}

#[test]
fn an_image_in_a_local_that_nothing_uses_is_still_a_pin() {
    let src = "locals {\n  exporter_image = \"quay.io/example/exporter:v0.16.0\"\n}\n";
    let (_dir, report) = scan_files(&[("a/main.tf", src)]);
    assert_eq!(pins(&report), ["image quay.io/example/exporter v0.16.0"]);
    assert!(report.pins[0].users.is_empty());
}

// 6. No false pins.

#[test]
fn null_objects_and_vm_images_are_not_pins() {
    let src = r#"module "job" {
  source          = "./job"
  container_image = null
}

resource "google_compute_instance" "vm" {
  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
    }
  }
}

resource "google_compute_instance_template" "graph" {
  disk {
    source_image = module.container.source_image
  }
}

resource "hcloud_server" "node" {
  image = "ubuntu-24.04"
}
"#;
    let (_dir, report) = scan_files(&[("a/main.tf", src)]);
    assert_eq!(pins(&report), Vec::<String>::new());
}

#[test]
fn an_expression_is_never_printed_as_a_multi_line_name() {
    let src = r#"resource "kubernetes_deployment" "a" {
  spec {
    container {
      image = join(":", [
        var.repository,
        var.tag,
      ])
    }
  }
}
"#;
    let (_dir, report) = scan_files(&[("a/main.tf", src)]);
    assert_eq!(report.pins.len(), 1, "{:#?}", report.pins);
    assert_eq!(report.pins[0].status, PinStatus::Unresolved);
    assert!(
        !report.pins[0].name.contains('\n'),
        "{:?}",
        report.pins[0].name
    );
}

#[test]
fn workflow_placeholders_are_not_pinned_versions() {
    let src = r#"locals {
  scraper = {
    name  = "scraper"
    image = "891377197483.dkr.ecr.us-east-2.amazonaws.com/scraper:{{inputs.parameters.image_version}}"
  }
}
"#;
    let (_dir, report) = scan_files(&[("a/main.tf", src)]);
    assert!(
        report
            .pins
            .iter()
            .all(|pin| pin.status != PinStatus::Pinned),
        "{:#?}",
        report.pins
    );
}

#[test]
fn a_helm_values_path_is_never_an_image_name() {
    let src = r#"resource "helm_release" "vpa" {
  name       = "vpa"
  repository = "https://charts.fairwinds.com/stable"
  chart      = "vpa"
  version    = "4.10.2"
  values = [yamlencode({
    recommender = {
      image = {
        tag = var.vpa_image_version
      }
    }
  })]
  set {
    name  = "global.image.tag"
    value = "1.5.0"
  }
}

variable "vpa_image_version" {
  default = "1.5.0"
}
"#;
    let (_dir, report) = scan_files(&[("vpa/main.tf", src)]);
    for pin in &report.pins {
        if pin.kind == PinKind::HelmSet {
            // Named by the chart that supplies the image, never as an image of its own.
            assert!(pin.name.starts_with("vpa["), "{pin:#?}");
            assert!(
                upkeep_pins::ImageRef::parse(&pin.name).is_none(),
                "{pin:#?}"
            );
            assert!(!pin.canonical.contains("docker.io"), "{pin:#?}");
        }
    }
    let request = SetRequest {
        name: "global.image.tag",
        version: "1.6.0",
        from: None,
        kind: None,
    };
    let plan = plan_set(dir_of(&report), &report, &request);
    assert!(plan.is_ok_and(|plan| plan.changes.is_empty()));
}

/// Any folder: `plan_set` only reads files that do not parse, and there are none.
fn dir_of(_: &ScanReport) -> &'static Path {
    Path::new(".")
}

#[test]
fn one_reference_is_one_user() {
    let src = r#"variable "tag" {
  default = "v0.5.7"
}

locals {
  webui = {
    repository = "ghcr.io/open-webui/open-webui"
    tag        = var.tag
  }
}

resource "kubernetes_deployment" "a" {
  spec {
    container {
      image = "${local.webui.repository}:${local.webui.tag}"
    }
  }
}
"#;
    let (_dir, report) = scan_files(&[("a/main.tf", src)]);
    let webui = pin(&report, "ghcr.io/open-webui/open-webui");
    assert_eq!(users(webui), ["a/main.tf:15"]);
}

// 5. Values files as Helm and Terraform see them.

#[test]
fn a_charts_templates_folder_is_go_templates_not_values() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n          {{- with .Values.resources }}\n          resources: {{ toYaml . | nindent 12 }}\n          {{- end }}\n";
    let (_dir, report) = scan_files(&[
        (
            "charts/app/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ),
        (
            "charts/app/values.yaml",
            "image:\n  repository: ghcr.io/example/app\n  tag: 1.2.3\n",
        ),
        ("charts/app/templates/deployment.yaml", deployment),
        (
            "charts/app/templates/_helpers.tpl",
            "{{- define \"app.name\" -}}\n{{ .Chart.Name }}\n{{- end }}\n",
        ),
    ]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    assert_eq!(pins(&report), ["values_image ghcr.io/example/app 1.2.3"]);
}

#[test]
fn templates_that_are_not_yaml_are_not_errors() {
    let (_dir, report) = scan_files(&[
        (
            "app/main.tf",
            "resource \"helm_release\" \"argo\" {\n  chart   = \"argo-cd\"\n  version = \"7.8.0\"\n  values = [yamlencode({\n    server = { styles = templatefile(\"${path.module}/custom.css.tpl\", {}) }\n  })]\n}\n",
        ),
        (
            "app/startup.sh.tftpl",
            "#!/bin/sh\nset -eu\nif [ -n \"${image}\" ]; then docker run \"${image}\"; fi\n",
        ),
        (
            "app/config.py.tpl",
            "c.ServerApp.tornado_settings = {\"headers\": {\"Content-Security-Policy\": \"frame-ancestors 'self'\"}}\nc.Spawner.args = ['--debug']\n",
        ),
        (
            "app/schema.json.tpl",
            "{\n  \"queues\": [\n    \"${name}\"\n  ]: 1\n}\n",
        ),
        (
            "app/custom.css.tpl",
            ".sidebar {\n  background: url(data:image/png;base64,AAAA);\n}\n",
        ),
    ]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
}

#[test]
fn a_values_template_that_does_not_parse_is_still_an_error() {
    let main = r#"resource "helm_release" "app" {
  name       = "app"
  repository = "https://charts.example.org"
  chart      = "app"
  version    = "1.0.0"
  values     = [templatefile("${path.module}/values.tpl", { tag = "1.2.3" })]
}
"#;
    let (_dir, report) = scan_files(&[
        ("app/main.tf", main),
        ("app/values.tpl", "image:\n  tag: [${tag}\n"),
    ]);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    assert_eq!(report.errors[0].file, Path::new("app/values.tpl"));
}

#[test]
fn yaml_tftpl_and_tfpl_values_are_read_and_directives_do_not_sink_them() {
    let values = "cephClusterSpec:\n  mon:\n    volumeClaimTemplate:\n      spec:\n        %{ if storageClassName != null }storageClassName: ${storageClassName}%{ endif }\n        resources:\n          requests:\n            storage: 10Gi\n  cephVersion:\n    image: quay.io/ceph/ceph:v18.2.2\n  pools:\n%{~ for pool in pools ~}\n    - name: ${pool}\n%{~ endfor ~}\ntoolbox:\n  image:\n    repository: quay.io/ceph/ceph\n    tag: v18.2.2\n";
    let main = r#"resource "helm_release" "ceph" {
  name       = "ceph"
  repository = "https://charts.rook.io/release"
  chart      = "rook-ceph-cluster"
  version    = "v1.14.0"
  values = [
    templatefile("${path.module}/cluster-values.yaml.tftpl", { storageClassName = null, pools = [] }),
    templatefile("${path.module}/operator.yaml.tfpl", {}),
  ]
}
"#;
    let (_dir, report) = scan_files(&[
        ("ceph/main.tf", main),
        ("ceph/cluster-values.yaml.tftpl", values),
        (
            "ceph/operator.yaml.tfpl",
            "image:\n  repository: docker.io/rook/ceph\n  tag: v1.14.0\n",
        ),
    ]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(
        pins(&report),
        [
            "values_image quay.io/ceph/ceph v18.2.2",
            "values_image quay.io/ceph/ceph v18.2.2",
            "helm_chart rook-ceph-cluster v1.14.0",
            "values_image docker.io/rook/ceph v1.14.0"
        ]
    );
    let cluster = &report.pins[0];
    assert_eq!((cluster.line, cluster.column), (10, 30));
}

#[test]
fn yaml_comments_anchors_aliases_tags_and_empty_registries() {
    let values = "app:\n  image:\n    repository: ghcr.io/example/app\n    tag: \"3.6.1\" # pinned until the migration\nworker:\n  image:\n    repository: &repo ghcr.io/example/worker\n    tag: &tag 2.0.0\nreplica:\n  image:\n    repository: *repo\n    tag: *tag\nexporter:\n  image:\n    registry: \"\"\n    repository: example/exporter\n    tag: !!str 1.10\n";
    let (dir, report) = scan_files(&[("app/values.yaml", values)]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(
        pins(&report),
        [
            "values_image ghcr.io/example/app 3.6.1",
            "values_image ghcr.io/example/worker 2.0.0",
            "values_image example/exporter 1.10"
        ]
    );
    assert_eq!(users(pin(&report, "ghcr.io/example/worker")).len(), 2);
    set(dir.path(), "ghcr.io/example/app", "3.7.0", None);
    set(dir.path(), "ghcr.io/example/worker", "2.1.0", None);
    set(dir.path(), "example/exporter", "1.11", None);
    let expected = values
        .replace("3.6.1", "3.7.0")
        .replace("2.0.0", "2.1.0")
        .replace("1.10", "1.11");
    assert_eq!(read(dir.path(), "app/values.yaml"), expected);
}

// 7. Excludes and tolerance.

#[test]
fn upkeepignore_and_exclude_globs_leave_files_out() {
    let image = |tag: &str| {
        format!("resource \"x\" \"y\" {{\n  image = \"vaultwarden/server:{tag}\"\n}}\n")
    };
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            ".upkeepignore",
            "# vendored modules are not ours\nvendor/\n*.generated.tf\n".to_owned(),
        ),
        ("app/main.tf", image("1.35.4")),
        ("app/main.generated.tf", image("0.1.0")),
        ("vendor/mod/main.tf", image("0.2.0")),
        ("legacy/old/main.tf", "resource \"x\" {\n".to_owned()),
    ];
    for (path, text) in &files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let options = ScanOptions {
        exclude: vec!["legacy/**".to_owned()],
        ..ScanOptions::default()
    };
    let report = scan(dir.path(), &options).unwrap();
    assert_eq!(pins(&report), ["image vaultwarden/server 1.35.4"]);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let unfiltered = scan(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(
        unfiltered.errors.len(),
        1,
        "without the exclude, legacy/ is read"
    );
}

#[test]
fn set_refuses_only_files_that_hold_the_name_as_a_whole_token() {
    let broken =
        "resource \"kubernetes_secret\" \"registry-credentials\" {\n  target_node = \"pve\"\n";
    let main = "resource \"x\" \"y\" {\n  image = \"registry:2.8.3\"\n}\nresource \"x\" \"z\" {\n  image = \"node:20.11.0\"\n}\n";
    let (dir, report) = scan_files(&[("app/main.tf", main), ("other/broken.tf", broken)]);
    assert_eq!(report.errors.len(), 1);
    set(dir.path(), "registry", "2.8.4", None);
    set(dir.path(), "node", "20.12.0", None);
    assert_eq!(
        read(dir.path(), "app/main.tf"),
        main.replace("2.8.3", "2.8.4").replace("20.11.0", "20.12.0")
    );
    std::fs::write(
        dir.path().join("other/broken.tf"),
        format!("{broken}# registry:2.8.4\n"),
    )
    .unwrap();
    let strict = ScanOptions {
        strict: true,
        ..ScanOptions::default()
    };
    let report = scan(dir.path(), &strict).unwrap();
    let request = SetRequest {
        name: "registry",
        version: "2.8.5",
        from: None,
        kind: None,
    };
    assert!(plan_set(dir.path(), &report, &request).is_err());
}

#[test]
fn a_yaml_file_holding_something_else_is_a_warning_not_an_error() {
    let (_dir, report) = scan_files(&[
        (
            "deploy/configmap.yaml",
            "apiVersion: v1\ndata:\n  config: ${CONFIG}\n  list: [${A}, ${B}]\n",
        ),
        (
            "metrics/sample.yml",
            "# HELP probe_errors_total Probe errors.\n# TYPE probe_errors_total counter\nprobe_errors_total{job=\"a\"} 1\nprobe_errors_total{message=\"dial tcp: lookup db\"} 3\n",
        ),
        ("broken/values.yaml", "image:\n  tag: [1.0\n"),
    ]);
    let warned: Vec<_> = report
        .warnings
        .iter()
        .map(|w| w.file.display().to_string())
        .collect();
    assert_eq!(warned, ["deploy/configmap.yaml", "metrics/sample.yml"]);
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.kind.as_str() == "unexpected_content")
    );
    let errors: Vec<_> = report
        .errors
        .iter()
        .map(|e| e.file.display().to_string())
        .collect();
    assert_eq!(errors, ["broken/values.yaml"]);
}

// 4. Versioned things that are not images.

const TRAEFIK: &str = r#"resource "helm_release" "traefik" {
  name       = "traefik"
  repository = "https://traefik.github.io/charts"
  chart      = "traefik"
  version    = "34.4.1"
  values = [yamlencode({
    experimental = {
      plugins = {
        bouncer = {
          moduleName = "github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin"
          version    = "v1.4.2"
        }
      }
    }
    deployment = {
      initContainers = [{
        name  = "plugins"
        image = "alpine:3.21.3"
        command = ["sh", "-c", join(" && ", [
          "wget -qO /plugins/bouncer.zip https://github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin/archive/refs/tags/v1.4.2.zip",
          "wget -qO /plugins/bouncer.sha https://github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin/archive/refs/tags/v1.4.2.zip.sha256",
          "printf '%s' '{\"moduleName\":\"github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin\",\"version\":\"v1.4.2\"}' > /plugins/state.json",
        ])]
      }]
    }
    # The changelog of v1.4.2 mentions github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin too; comments stay.
    env = [{ name = "OTHER_PLUGIN", value = "github.com/example/other-plugin v1.4.2" }]
  })]
}
"#;

#[test]
fn a_plugin_object_is_a_pin_and_the_strings_naming_its_version_move_with_it() {
    let (dir, report) = scan_files(&[("traefik/main.tf", TRAEFIK)]);
    let plugin = pin(
        &report,
        "github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin",
    );
    assert_eq!(plugin.kind, PinKind::Artifact);
    assert_eq!(plugin.version.as_deref(), Some("v1.4.2"));
    let linked: Vec<(usize, usize)> = plugin.linked.iter().map(|l| (l.line, l.column)).collect();
    assert_eq!(
        linked,
        [(20, 124), (21, 124), (22, 115)],
        "{:#?}",
        plugin.linked
    );
    let plan = set(
        dir.path(),
        "github.com/maxlerebourg/crowdsec-bouncer-traefik-plugin",
        "v1.4.3",
        None,
    );
    assert_eq!(plan.changes.len(), 1);
    let after = read(dir.path(), "traefik/main.tf");
    let expected = TRAEFIK
        .replace("version    = \"v1.4.2\"", "version    = \"v1.4.3\"")
        .replace("tags/v1.4.2.zip", "tags/v1.4.3.zip")
        .replace(
            "\\\"version\\\":\\\"v1.4.2\\\"",
            "\\\"version\\\":\\\"v1.4.3\\\"",
        );
    assert_eq!(after, expected);
    assert!(
        after.contains("The changelog of v1.4.2"),
        "a comment is not a string"
    );
    assert!(
        after.contains("other-plugin v1.4.2"),
        "another artifact's string stays"
    );
}

#[test]
fn chart_dependencies_are_chart_pins_and_api_versions_are_not_pins() {
    let chart = "apiVersion: v2\nname: platform\nversion: 0.3.0\ndependencies:\n  - name: postgresql\n    version: 16.4.1\n    repository: https://charts.bitnami.com/bitnami\n  - name: common\n    version: 2.x.x\n    repository: oci://registry-1.docker.io/bitnamicharts\n";
    let crd = r#"resource "kubernetes_manifest" "crd" {
  manifest = {
    spec = {
      versions = [{ name = "v1", served = true }]
      conversion = { webhook = { name = "convert", version = "v1" } }
    }
  }
}
"#;
    let (_dir, report) = scan_files(&[("platform/Chart.yaml", chart), ("crd/main.tf", crd)]);
    assert_eq!(
        pins(&report),
        ["helm_chart postgresql 16.4.1"],
        "{:#?}",
        report.pins
    );
    assert_eq!(
        report.pins[0].repository.as_deref(),
        Some("https://charts.bitnami.com/bitnami")
    );
}

#[test]
fn an_image_in_a_values_block_string_is_a_pin() {
    let values = "image:\n  repository: quay.io/keycloak/keycloak\n  tag: 25.0.6\nextraInitContainers: |\n  - name: initialize-spi-metrics-jar\n    command:\n      - sh\n      - -c\n      - wget https://example.org/spi-7.0.0.jar\n    image: busybox:1.36\n    securityContext:\n      runAsUser: 0\nextraEnv: |\n  - name: KC_PROXY\n    value: \"{{ .Values.proxy }}\"\n";
    let (dir, report) = scan_files(&[("keycloak/values.yaml", values)]);
    assert_eq!(
        pins(&report),
        [
            "values_image quay.io/keycloak/keycloak 25.0.6",
            "values_image busybox 1.36"
        ]
    );
    let busybox = pin(&report, "busybox");
    assert_eq!((busybox.line, busybox.column), (10, 20));
    set(dir.path(), "busybox", "1.37", None);
    assert_eq!(
        read(dir.path(), "keycloak/values.yaml"),
        values.replace("busybox:1.36", "busybox:1.37")
    );
}

#[test]
fn a_local_that_references_a_variable_is_a_user_of_it() {
    let main = r#"variable "default_container_image" {
  type    = string
  default = "docker.io/library/busybox:1.36.1"
}

locals {
  container_defaults = {
    image           = var.default_container_image
    imagePullPolicy = "IfNotPresent"
  }
}
"#;
    let (_dir, report) = scan_files(&[("wf/main.tf", main)]);
    let busybox = pin(&report, "docker.io/library/busybox");
    assert_eq!(busybox.via.as_deref(), Some("var.default_container_image"));
    assert_eq!(users(busybox), ["wf/main.tf:8"]);
}

#[test]
fn flags_and_environment_variables_are_not_images_and_unknown_images_are_unresolved() {
    let src = r#"variable "jupyterlab-image" {
  type = string
}

locals {
  common_env = {
    PUSH_IMAGE     = tostring(var.push_image_enabled)
    IMAGE_REGISTRY = "example.dkr.ecr.us-east-2.amazonaws.com"
  }
}

module "build" {
  source     = "./build"
  push_image = var.push_image_enabled
}

resource "kubernetes_deployment" "lab" {
  spec {
    container {
      image = "${var.jupyterlab-image}"
    }
  }
}
"#;
    let (_dir, report) = scan_files(&[("lab/main.tf", src)]);
    let statuses: Vec<(String, PinStatus)> = report
        .pins
        .iter()
        .map(|pin| (pin.name.clone(), pin.status))
        .collect();
    assert_eq!(
        statuses,
        [("${var.jupyterlab-image}".to_owned(), PinStatus::Unresolved)]
    );
}

#[test]
fn a_tag_local_used_in_images_is_named_by_them() {
    let main = r#"locals {
  image_tag      = "e61269a70c071f8c41f16647f735c90bd372d6de"
  image_registry = "public.ecr.aws"
}

output "images" {
  value = {
    panfactum = {
      image = "${local.image_registry}/panfactum/panfactum:${local.image_tag}"
    }
  }
}
"#;
    let (_dir, report) = scan_files(&[("constants/main.tf", main)]);
    assert_eq!(
        pins(&report),
        ["image public.ecr.aws/panfactum/panfactum e61269a70c071f8c41f16647f735c90bd372d6de"]
    );
    assert_eq!(report.pins[0].status, PinStatus::Pinned);
}

#[test]
fn a_values_file_under_ignore_changes_values_is_not_rolled_out() {
    let main = "variable \"tag\" {\n  default = \"v2.1.0\"\n}\n\nresource \"helm_release\" \"immich\" {\n  name       = \"immich\"\n  chart      = \"immich\"\n  repository = \"https://immich-app.github.io/immich-charts\"\n  version    = \"0.9.3\"\n  values     = [templatefile(\"${path.module}/values.yaml\", { tag = var.tag })]\n\n  lifecycle {\n    ignore_changes = [values]\n  }\n}\n";
    let values = "image:\n  repository: ghcr.io/immich-app/immich-server\n  tag: ${tag}\n";
    let literal =
        "server:\n  image:\n    repository: ghcr.io/immich-app/immich-ml\n    tag: v2.1.0\n";
    let literal_main = main
        .replace("immich\" {", "ml\" {")
        .replace("values.yaml\", { tag = var.tag })", "ml.yaml\", {})")
        .replace("variable \"tag\" {\n  default = \"v2.1.0\"\n}\n\n", "");
    {
        // Outline and strict scans agree (checked by `scan_files`).
        let (_dir, report) = scan_files(&[
            ("immich/main.tf", main),
            ("immich/values.yaml", values),
            ("ml/main.tf", &literal_main),
            ("ml/ml.yaml", literal),
        ]);
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        let server = pin(&report, "ghcr.io/immich-app/immich-server");
        assert!(server.ignored_by_terraform, "{server:#?}");
        assert!(
            server.users.iter().all(|user| user.ignored_by_terraform),
            "{server:#?}"
        );
        assert!(pin(&report, "ghcr.io/immich-app/immich-ml").ignored_by_terraform);
        // The chart's own version is not under `values`.
        assert!(!pin(&report, "immich").ignored_by_terraform);
    }
}
