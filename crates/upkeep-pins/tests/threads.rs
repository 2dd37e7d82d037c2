//! A scan's report does not depend on how many threads read the tree: on one thread every
//! folder reads its own files; on more, the files the walk lists are read and parsed ahead
//! while it is still walking, and the folders take them from there.

use std::path::Path;
use upkeep_pins::{ScanOptions, scan};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A tree of `stacks` stacks in the shapes the user's repository has: a module of another
/// branch and one below the stack, values files literal and templated, a chart with its
/// templates, and files that do not parse, are too large, or are links.
fn operator_tree(root: &Path, stacks: usize) {
    write(
        root,
        "modules/app/main.tf",
        "variable \"tag\" {\n  default = \"1.0.0\"\n}\n\nresource \"kubernetes_deployment\" \"app\" {\n  spec {\n    container {\n      image = \"ghcr.io/example/app:${var.tag}\"\n    }\n  }\n}\n",
    );
    write(root, ".gitignore", "ignored/\n");
    for stack in 0..stacks {
        let dir = format!("stacks/s{stack:03}");
        write(
            root,
            &format!("{dir}/main.tf"),
            &format!(
                "module \"app\" {{\n  source = \"../../modules/app\"\n  tag    = \"1.{stack}.0\"\n}}\n\nmodule \"local\" {{\n  source = \"./modules/local\"\n  tag    = \"2.{stack}.0\"\n}}\n\nresource \"helm_release\" \"chart\" {{\n  chart   = \"chart\"\n  version = \"3.{stack}.0\"\n  values  = [templatefile(\"${{path.module}}/values.tpl\", {{ tag = \"4.{stack}.0\" }})]\n}}\n"
            ),
        );
        write(
            root,
            &format!("{dir}/modules/local/main.tf"),
            "variable \"tag\" {}\n\nresource \"kubernetes_deployment\" \"x\" {\n  spec {\n    container {\n      image = \"example/local:${var.tag}\"\n    }\n  }\n}\n",
        );
        write(
            root,
            &format!("{dir}/values.tpl"),
            "image:\n  repository: example/templated\n  tag: ${tag}\n",
        );
        write(
            root,
            &format!("{dir}/values.yaml"),
            &format!(
                "image:\n  repository: example/literal\n  tag: 5.{stack}.0\nconfig: |\n  a: b\n"
            ),
        );
        write(
            root,
            &format!("{dir}/chart/Chart.yaml"),
            "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
        );
        write(
            root,
            &format!("{dir}/chart/templates/deployment.yaml"),
            "image: {{ .Values.image }}\n",
        );
        if stack % 7 == 0 {
            write(root, &format!("{dir}/broken.tf"), "resource \"x\" {\n");
            write(root, &format!("{dir}/broken.yaml"), "a: [\n");
        }
        if stack % 11 == 0 {
            write(
                root,
                &format!("{dir}/large.yaml"),
                &format!("image:\n  tag: 1.0.0\n# {}\n", "x".repeat(4096)),
            );
            std::os::unix::fs::symlink("values.yaml", root.join(format!("{dir}/linked.yaml")))
                .expect("link");
            write(
                root,
                &format!("{dir}/ignored/main.tf"),
                "image = \"example/ignored:1.0.0\"\n",
            );
        }
    }
}

#[test]
fn files_read_ahead_of_their_folders_give_the_report_one_thread_gives() {
    let dir = tempfile::tempdir().expect("temp dir");
    operator_tree(dir.path(), 120);
    for strict in [false, true] {
        let options = |threads| ScanOptions {
            threads: Some(threads),
            strict,
            max_file_size: 4000,
            ..ScanOptions::default()
        };
        let alone = scan(dir.path(), &options(1)).expect("scan");
        // The tree holds every kind of outcome, so a difference in any would show.
        assert!(alone.pins.len() > 120 * 5, "{} pins", alone.pins.len());
        assert!(alone.errors.len() >= 2 * 18 + 11, "{:#?}", alone.errors);
        for threads in 2..=4 {
            for _ in 0..3 {
                let again = scan(dir.path(), &options(threads)).expect("scan");
                assert_eq!(again, alone, "{threads} threads, strict: {strict}");
            }
        }
    }
}
