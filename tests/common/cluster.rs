//! A local server playing the Kubernetes API server (pods, ingresses, cron jobs, jobs, logs)
//! and a kubeconfig file that points at it, as `kubectl` users write them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Writes a kubeconfig for `server` (plain HTTP, a bearer token) into `dir`; returns its path.
pub fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let file = dir.join("kubeconfig");
    std::fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: homelab\n  cluster:\n    server: {server}\ncontexts:\n- name: homelab\n  context:\n    cluster: homelab\n    user: upkeep\n    namespace: default\ncurrent-context: homelab\nusers:\n- name: upkeep\n  user:\n    token: k8s-secret-token-456\n"
        ),
    )
    .expect("write kubeconfig");
    file
}

/// A `PodList` of one pod per `(name, ready, restarts, waiting reason)`.
pub fn pod_list(namespace: &str, pods: &[(&str, bool, u64, Option<&str>)]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = pods
        .iter()
        .map(|(name, ready, restarts, waiting)| {
            let state = match waiting {
                Some(reason) => serde_json::json!({"waiting": {"reason": reason, "message": "back-off 1m20s restarting failed container"}}),
                None => serde_json::json!({"running": {"startedAt": "2026-11-21T08:00:00Z"}}),
            };
            serde_json::json!({
                "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"),
                             "labels": {"app": namespace}},
                "spec": {"containers": [{"name": namespace, "image": "example/app:1"}]},
                "status": {"phase": "Running",
                           "conditions": [{"type": "Ready", "status": if *ready {"True"} else {"False"}}],
                           "containerStatuses": [{"name": namespace, "ready": ready, "restartCount": restarts,
                                                   "image": "example/app:1", "imageID": "", "state": state}]}
            })
        })
        .collect();
    serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "812345"}, "items": items})
}

/// An `IngressList` with one ingress per host (TLS for each).
pub fn ingress_list(namespace: &str, hosts: &[&str]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = hosts
        .iter()
        .map(|host| {
            serde_json::json!({
                "metadata": {"name": namespace, "namespace": namespace,
                             "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}},
                "spec": {"ingressClassName": "traefik",
                         "tls": [{"hosts": [host], "secretName": format!("{namespace}-tls")}],
                         "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                            "backend": {"service": {"name": namespace, "port": {"number": 80}}}}]}}]},
                "status": {"loadBalancer": {"ingress": [{"ip": "10.0.20.5"}]}}
            })
        })
        .collect();
    serde_json::json!({"kind": "IngressList", "apiVersion": "networking.k8s.io/v1", "metadata": {}, "items": items})
}

/// The `CronJob` of a shared database backup, as a Helm chart or Terraform writes it.
pub fn backup_cronjob(namespace: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "CronJob", "apiVersion": "batch/v1",
        "metadata": {"name": name, "namespace": namespace, "uid": "4f6a1c2e-9b7d-4e3f-8a21-0c5d6e7f8a9b",
                     "labels": {"app.kubernetes.io/name": name}},
        "spec": {"schedule": "0 3 * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"metadata": {"labels": {"app.kubernetes.io/name": name}},
                                 "spec": {"backoffLimit": 1, "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}},
                                   "spec": {"restartPolicy": "Never", "containers": [{"name": "backup",
                                     "image": "10.0.20.10:5000/infra/db-backup:2026.2.5",
                                     "args": ["--all-databases", "--to", "s3://backups/db"]}]}}}}},
        "status": {"lastScheduleTime": "2026-11-21T03:00:00Z"}
    })
}

/// How a backup job created by upkeep behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JobRun {
    /// Active for two polls, then succeeded.
    Succeeds,
    /// Active for two polls, then failed (backoff limit reached).
    Fails,
    /// Never ends.
    Hangs,
}

/// Answers `GET …/jobs/NAME` with the status of a job that runs as `run` says.
struct JobStatus {
    run: JobRun,
    polls: Arc<AtomicUsize>,
}

impl Respond for JobStatus {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let poll = self.polls.fetch_add(1, Ordering::SeqCst);
        let name = request.url.path().rsplit('/').next().unwrap_or_default();
        let status = match (self.run, poll) {
            (_, 0 | 1) | (JobRun::Hangs, _) => {
                serde_json::json!({"startTime": "2026-11-21T09:00:00Z", "active": 1, "ready": 1})
            }
            (JobRun::Succeeds, _) => {
                serde_json::json!({"startTime": "2026-11-21T09:00:00Z", "completionTime": "2026-11-21T09:01:12Z", "succeeded": 1,
                    "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]})
            }
            (JobRun::Fails, _) => {
                serde_json::json!({"startTime": "2026-11-21T09:00:00Z", "failed": 2,
                    "conditions": [{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
            }
        };
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "kind": "Job", "apiVersion": "batch/v1",
            "metadata": {"name": name, "namespace": "dbaas"},
            "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "backup", "image": "10.0.20.10:5000/infra/db-backup:2026.2.5"}]}}},
            "status": status
        }))
    }
}

/// Echoes a created Job back as the API server does (with a uid).
struct Created;

impl Respond for Created {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut job: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        job["metadata"]["uid"] = "7d1f0c3a-2b4e-4c5d-9e8f-1a2b3c4d5e6f".into();
        job["metadata"]["creationTimestamp"] = "2026-11-21T09:00:00Z".into();
        ResponseTemplate::new(201).set_body_json(job)
    }
}

/// Mounts a shared backup CronJob `namespace/name` whose manual jobs behave as `run` says,
/// with the backup pod's log. Returns the counter of status polls.
pub async fn mount_backup(
    server: &MockServer,
    namespace: &str,
    name: &str,
    run: JobRun,
) -> Arc<AtomicUsize> {
    Mock::given(method("GET"))
        .and(path(format!(
            "/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(backup_cronjob(namespace, name)))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/apis/batch/v1/namespaces/{namespace}/jobs")))
        .respond_with(Created)
        .mount(server)
        .await;
    let polls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path_regex(format!(
            "^/apis/batch/v1/namespaces/{namespace}/jobs/pre-upgrade-[a-z0-9-]+$"
        )))
        .respond_with(JobStatus {
            run,
            polls: polls.clone(),
        })
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/namespaces/{namespace}/pods")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pod_list(
            namespace,
            &[("pre-upgrade-backup-x7k2p", false, 0, None)],
        )))
        .mount(server)
        .await;
    let log = match run {
        JobRun::Fails => {
            "pg_dump: error: connection to server at \"postgres.dbaas\" failed: FATAL: password authentication failed\n"
        }
        _ => {
            "2026-11-21T09:00:03Z dumping vaultwarden\n2026-11-21T09:01:10Z wrote s3://backups/db/vaultwarden-20261121T090003.sql.gz (14.2 MiB)\n"
        }
    };
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v1/namespaces/{namespace}/pods/pre-upgrade-backup-x7k2p/log"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_string(log))
        .mount(server)
        .await;
    polls
}

/// The requests the server received whose path starts with `prefix`.
pub async fn requests_to(server: &MockServer, prefix: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .collect()
}

/// Prometheus `/api/v1/alerts` answering these firing alerts `(name, namespace)`.
pub async fn mount_alerts(server: &MockServer, firing: &[(&str, Option<&str>)]) {
    let alerts: Vec<serde_json::Value> = firing
        .iter()
        .map(|(name, namespace)| {
            let mut labels = serde_json::json!({"alertname": name, "severity": "warning", "prometheus": "monitoring/kube-prometheus-stack-prometheus"});
            if let Some(namespace) = namespace {
                labels["namespace"] = (*namespace).into();
            }
            serde_json::json!({"labels": labels, "annotations": {"summary": format!("{name} is firing")},
                               "state": "firing", "activeAt": "2026-11-21T07:58:00Z", "value": "1e+00"})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v1/alerts"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"status": "success", "data": {"alerts": alerts}}),
            ),
        )
        .mount(server)
        .await;
}
