//! The Kubernetes API, through the `kube` crate: the kubeconfig (`KUBECONFIG`, else
//! `~/.kube/config`) or, when `upkeep serve` runs as a Deployment, the pod's service account.
//! Pods, Ingress hosts, CronJobs, Jobs and pod logs; no `kubectl`. TLS is rustls with ring.
//!
//! The rest of upkeep is synchronous: each call runs on a small runtime of its own.

use anyhow::{Context, anyhow};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, ListParams, LogParams, PostParams};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A connection to the cluster.
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    /// Where the API server is (for reports; no credentials).
    pub server: String,
}

/// One container of a pod, as verification reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// `pod/container`.
    pub name: String,
    /// Ready.
    pub ready: bool,
    /// Restarts so far.
    pub restarts: i32,
    /// Why it waits (`CrashLoopBackOff`, `ImagePullBackOff`…), if it does.
    pub waiting: Option<String>,
}

/// How a Job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Still running (or not started).
    Running,
    /// Completed.
    Succeeded,
    /// Failed, with the condition's reason and message.
    Failed(String),
}

/// Where the kubeconfig would be read from, when one is there.
fn kubeconfig_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".kube/config")).filter(|path| path.is_file())
}

impl Cluster {
    /// Connects as kubectl would: the kubeconfig when one is set or present, else the
    /// in-cluster service account. `Ok(None)` when there is neither; an error when one is
    /// there but cannot be used (it does not parse, names no current context, …).
    pub fn connect() -> anyhow::Result<Option<Cluster>> {
        // rustls needs one process-wide provider when several are compiled in: ring. An
        // error means one is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let config = if let Some(path) = kubeconfig_path() {
            runtime
                .block_on(kube::Config::from_kubeconfig(
                    &kube::config::KubeConfigOptions::default(),
                ))
                .with_context(|| format!("the kubeconfig {} cannot be used", path.display()))?
        } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            kube::Config::incluster().context("the in-cluster service account cannot be used")?
        } else {
            return Ok(None);
        };
        let mut config = config;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(30));
        let server = config.cluster_url.to_string();
        let client = {
            let _context = runtime.enter();
            kube::Client::try_from(config).context("cannot set up the Kubernetes client")?
        };
        Ok(Some(Cluster {
            runtime,
            client,
            server,
        }))
    }

    /// The containers of the pods in `namespace` (matching `selector`, if given).
    pub fn containers(
        &self,
        namespace: &str,
        selector: Option<&str>,
    ) -> anyhow::Result<(usize, Vec<ContainerState>)> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let mut params = ListParams::default();
        if let Some(selector) = selector {
            params = params.labels(selector);
        }
        let list = self
            .runtime
            .block_on(pods.list(&params))
            .with_context(|| format!("cannot list the pods of namespace {namespace}"))?;
        let mut containers = Vec::new();
        for pod in &list.items {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let statuses = pod
                .status
                .as_ref()
                .and_then(|status| status.container_statuses.clone())
                .unwrap_or_default();
            for status in statuses {
                containers.push(ContainerState {
                    name: format!("{name}/{}", status.name),
                    ready: status.ready,
                    restarts: status.restart_count,
                    waiting: status
                        .state
                        .and_then(|state| state.waiting)
                        .and_then(|waiting| waiting.reason),
                });
            }
        }
        Ok((list.items.len(), containers))
    }

    /// The URLs of the Ingress rules of `namespace`: `https://host` when the host is under
    /// the ingress's TLS, else `http://host`; sorted, once each.
    pub fn ingress_urls(&self, namespace: &str) -> anyhow::Result<Vec<String>> {
        let ingresses: Api<Ingress> = Api::namespaced(self.client.clone(), namespace);
        let list = self
            .runtime
            .block_on(ingresses.list(&ListParams::default()))
            .with_context(|| format!("cannot list the ingresses of namespace {namespace}"))?;
        let mut urls = Vec::new();
        for ingress in &list.items {
            let Some(spec) = &ingress.spec else { continue };
            let tls: Vec<&String> = spec
                .tls
                .iter()
                .flatten()
                .flat_map(|tls| tls.hosts.iter().flatten())
                .collect();
            for host in spec.rules.iter().flatten().filter_map(|r| r.host.as_ref()) {
                if host.starts_with('*') {
                    continue;
                }
                let scheme = if tls.contains(&host) { "https" } else { "http" };
                urls.push(format!("{scheme}://{host}"));
            }
        }
        urls.sort();
        urls.dedup();
        Ok(urls)
    }

    /// The CronJob `namespace/name`, if it exists.
    pub fn cronjob(&self, namespace: &str, name: &str) -> anyhow::Result<Option<CronJob>> {
        let cronjobs: Api<CronJob> = Api::namespaced(self.client.clone(), namespace);
        self.runtime
            .block_on(cronjobs.get_opt(name))
            .with_context(|| format!("cannot read CronJob {namespace}/{name}"))
    }

    /// The names of the CronJobs of `namespace`.
    pub fn cronjob_names(&self, namespace: &str) -> anyhow::Result<Vec<String>> {
        let cronjobs: Api<CronJob> = Api::namespaced(self.client.clone(), namespace);
        let list = self
            .runtime
            .block_on(cronjobs.list(&ListParams::default()))
            .with_context(|| format!("cannot list the CronJobs of namespace {namespace}"))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|cronjob| cronjob.metadata.name)
            .collect())
    }

    /// Creates Job `name` from `cronjob`, as `kubectl create job NAME --from=cronjob/…` does:
    /// the CronJob's jobTemplate, the `cronjob.kubernetes.io/instantiate: manual`
    /// annotation, and the CronJob as its owner.
    pub fn create_job_from(&self, cronjob: &CronJob, name: &str) -> anyhow::Result<()> {
        let namespace = cronjob
            .metadata
            .namespace
            .clone()
            .ok_or_else(|| anyhow!("the CronJob has no namespace"))?;
        let template = cronjob
            .spec
            .as_ref()
            .map(|spec| spec.job_template.clone())
            .ok_or_else(|| anyhow!("the CronJob has no jobTemplate"))?;
        let template_meta = template.metadata.unwrap_or_default();
        let mut annotations: BTreeMap<String, String> =
            template_meta.annotations.unwrap_or_default();
        annotations.insert(
            "cronjob.kubernetes.io/instantiate".to_owned(),
            "manual".to_owned(),
        );
        let owner = OwnerReference {
            api_version: "batch/v1".to_owned(),
            kind: "CronJob".to_owned(),
            name: cronjob.metadata.name.clone().unwrap_or_default(),
            uid: cronjob.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        };
        let job = Job {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.clone()),
                labels: template_meta.labels,
                annotations: Some(annotations),
                owner_references: Some(vec![owner]),
                ..ObjectMeta::default()
            },
            spec: template.spec,
            status: None,
        };
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &namespace);
        self.runtime
            .block_on(jobs.create(&PostParams::default(), &job))
            .with_context(|| format!("cannot create Job {namespace}/{name}"))?;
        Ok(())
    }

    /// How Job `namespace/name` stands.
    pub fn job_state(&self, namespace: &str, name: &str) -> anyhow::Result<JobState> {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let job = self
            .runtime
            .block_on(jobs.get(name))
            .with_context(|| format!("cannot read Job {namespace}/{name}"))?;
        let conditions = job
            .status
            .and_then(|status| status.conditions)
            .unwrap_or_default();
        let holds = |kind: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == kind && c.status == "True")
        };
        if let Some(failed) = holds("Failed") {
            let reason = failed.reason.clone().unwrap_or_else(|| "Failed".to_owned());
            let message = failed.message.clone().unwrap_or_default();
            return Ok(JobState::Failed(format!("{reason}: {message}")));
        }
        if holds("Complete").is_some() {
            return Ok(JobState::Succeeded);
        }
        Ok(JobState::Running)
    }

    /// The last `lines` lines of the log of Job `namespace/name`'s newest pod (empty when
    /// it has none yet).
    pub fn job_log(&self, namespace: &str, name: &str, lines: i64) -> anyhow::Result<String> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let list = self
            .runtime
            .block_on(pods.list(&ListParams::default().labels(&format!("job-name={name}"))))
            .with_context(|| format!("cannot list the pods of Job {namespace}/{name}"))?;
        let Some(pod) = list
            .items
            .iter()
            .max_by_key(|pod| pod.metadata.creation_timestamp.clone())
            .and_then(|pod| pod.metadata.name.clone())
        else {
            return Ok(String::new());
        };
        let params = LogParams {
            tail_lines: Some(lines),
            ..LogParams::default()
        };
        self.runtime
            .block_on(pods.logs(&pod, &params))
            .with_context(|| format!("cannot read the log of pod {namespace}/{pod}"))
    }
}
