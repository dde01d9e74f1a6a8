//! The probe Job: its manifest (least privilege, admitted under Pod
//! Security `restricted`), create, wait, exec, delete, and the sweep of
//! earlier runs' Jobs. Labels, deadlines and the TTL live here in one place.
//!
//! The pod only waits (`sleep`); the tool execs the generated script into it,
//! so the container command never holds cluster data (the kubelet would
//! expand `$(VAR)` in it). Deleting the Job on every exit path is the tool's
//! job ([`Cleanup`] also runs on Ctrl-C); `activeDeadlineSeconds` and
//! `ttlSecondsAfterFinished` are the net for `kill -9`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, Event, LocalObjectReference, Pod,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, AttachParams, DeleteParams, ListParams, PostParams, PropagationPolicy};
use tokio::io::AsyncReadExt;

use crate::source::retry;

/// Labels on the Job and its pod; the sweep finds earlier runs by them.
pub const LABEL_NAME: (&str, &str) = ("app.kubernetes.io/name", "kubectl-svcdiscover");
pub const LABEL_COMPONENT: (&str, &str) = ("app.kubernetes.io/component", "probe");
/// The run's id.
pub const LABEL_RUN: &str = "svcdiscover.io/run";
/// When the Job's deadline has passed: the sweep of later runs deletes it.
pub const ANNOTATION_EXPIRES: &str = "svcdiscover.io/expires-at";
/// The probe container's name.
pub const CONTAINER: &str = "probe";
/// The non-root user and group the probe runs as (Pod Security `restricted`
/// needs a numeric non-root user when the image's is root or a name).
pub const RUN_AS: i64 = 65532;
/// Seconds added to the probe timeout for the Job's deadline, and the TTL
/// after it finished: the default 30 s + 60 s + 60 s stays under 3 minutes.
pub const DEADLINE_MARGIN_SECS: i64 = 60;
pub const TTL_SECS: i32 = 60;

/// The label selector of every probe Job.
pub fn selector() -> String {
    format!(
        "{}={},{}={}",
        LABEL_NAME.0, LABEL_NAME.1, LABEL_COMPONENT.0, LABEL_COMPONENT.1
    )
}

/// What the probe Job is made of.
#[derive(Debug, Clone)]
pub struct JobSpecInput {
    pub namespace: String,
    pub run_id: String,
    pub image: String,
    pub pull_secret: Option<String>,
    pub timeout: Duration,
    /// Now, as seconds since the Unix epoch (for the expiry annotation).
    pub now_unix: i64,
}

impl JobSpecInput {
    pub fn job_name(&self) -> String {
        format!("svcdiscover-probe-{}", self.run_id)
    }

    fn deadline_secs(&self) -> i64 {
        let t = i64::try_from(self.timeout.as_secs()).unwrap_or(i64::MAX / 2);
        t.saturating_add(DEADLINE_MARGIN_SECS)
    }
}

/// The probe Job's manifest.
pub fn manifest(input: &JobSpecInput) -> Job {
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_NAME.0.to_owned(), LABEL_NAME.1.to_owned());
    labels.insert(LABEL_COMPONENT.0.to_owned(), LABEL_COMPONENT.1.to_owned());
    labels.insert(LABEL_RUN.to_owned(), input.run_id.clone());
    let deadline = input.deadline_secs();
    let expires = input.now_unix.saturating_add(deadline);
    let mut annotations = BTreeMap::new();
    annotations.insert(ANNOTATION_EXPIRES.to_owned(), expires.to_string());
    let quantity = |q: &str| Quantity(q.to_owned());
    let resources = ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), quantity("10m")),
            ("memory".to_owned(), quantity("16Mi")),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_owned(), quantity("100m")),
            ("memory".to_owned(), quantity("64Mi")),
        ])),
        ..ResourceRequirements::default()
    };
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(input.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        // Waits for the execs; no `$(…)` for the kubelet to expand, and it
        // ends by itself within the deadline.
        command: Some(vec!["sleep".to_owned(), deadline.to_string()]),
        resources: Some(resources),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            privileged: Some(false),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".to_owned(),
            mount_path: "/tmp".to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    let pod_spec = PodSpec {
        containers: vec![container],
        restart_policy: Some("Never".to_owned()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(0),
        node_selector: Some(BTreeMap::from([(
            "kubernetes.io/os".to_owned(),
            "linux".to_owned(),
        )])),
        image_pull_secrets: input
            .pull_secret
            .as_ref()
            .map(|s| vec![LocalObjectReference { name: s.clone() }]),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        volumes: Some(vec![Volume {
            name: "tmp".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(quantity("8Mi")),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(input.job_name()),
            namespace: Some(input.namespace.clone()),
            labels: Some(labels.clone()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: Some(deadline),
            ttl_seconds_after_finished: Some(TTL_SECS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// Why the probe pod could not serve the lookups.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("{verb} {resource} is forbidden in namespace {namespace}: {message}")]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: String,
        message: String,
    },
    #[error("{0}")]
    Rejected(String),
    #[error("cannot pull image {image}: {message}")]
    ImagePull { image: String, message: String },
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Failed(String),
    /// The container has no `sh` (distroless): an ephemeral container can
    /// run the script instead.
    #[error("{0}")]
    NoShell(String),
}

/// Objects a run created, deleted on every exit path (also from `main` on
/// Ctrl-C, while the run's future is dropped).
#[derive(Clone, Default)]
pub struct Cleanup {
    inner: Arc<Mutex<Vec<(Client, String, String)>>>,
}

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cleanup")
    }
}

impl Cleanup {
    fn add(&self, client: &Client, namespace: &str, job: &str) {
        if let Ok(mut v) = self.inner.lock() {
            v.push((client.clone(), namespace.to_owned(), job.to_owned()));
        }
    }

    /// Keep everything registered (`--keep-probe`): forget it without
    /// deleting; returns `NS/NAME` of each.
    pub fn release(&self) -> Vec<String> {
        match self.inner.lock() {
            Ok(mut v) => std::mem::take(&mut *v)
                .into_iter()
                .map(|(_, ns, job)| format!("{ns}/{job}"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Delete one registered Job now (its namespace is done), and forget it
    /// once deleted; a Job that could not be deleted stays registered for
    /// [`Cleanup::run`]. `None` when no such Job was registered (never
    /// created).
    pub async fn delete_now(&self, namespace: &str, job: &str) -> Option<Result<(), String>> {
        let client = {
            let v = self.inner.lock().ok()?;
            v.iter()
                .find(|(_, ns, j)| ns == namespace && j == job)
                .map(|(c, _, _)| c.clone())?
        };
        let r = delete(&client, namespace, job).await;
        if r.is_ok()
            && let Ok(mut v) = self.inner.lock()
        {
            v.retain(|(_, ns, j)| !(ns == namespace && j == job));
        }
        Some(r)
    }

    /// Whether anything is left to delete.
    pub fn pending(&self) -> bool {
        self.inner.lock().map(|v| !v.is_empty()).unwrap_or(false)
    }

    /// Delete everything registered; returns the Jobs that could not be
    /// deleted (`NS/NAME: why`).
    pub async fn run(&self) -> Vec<String> {
        let items: Vec<_> = match self.inner.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => Vec::new(),
        };
        let mut failed = Vec::new();
        for (client, ns, job) in items {
            if let Err(e) = delete(&client, &ns, &job).await {
                failed.push(format!("{ns}/{job}: {e}"));
            }
        }
        failed
    }
}

/// Delete a probe Job and (in the background) its pod. A Job already gone
/// counts as deleted.
pub async fn delete(client: &Client, namespace: &str, job: &str) -> Result<(), String> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    // A delete is idempotent (gone is done), so it is tried again like a
    // read (`source::retry`): a throttled or cut cleanup must not leave the
    // Job behind.
    let res = retry::retrying(
        async || match jobs.delete(job, &dp).await {
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            other => other.map(|_| ()),
        },
        |e| match e {
            kube::Error::Api(s) if retry::transient_status(s.code, None) => {
                Some(retry::Transient::Status {
                    code: s.code,
                    retry_after: None,
                })
            }
            e if retry::broken_connection(e) => Some(retry::Transient::Broken),
            _ => None,
        },
        |_, _, _| {},
    )
    .await;
    res.map(|_| ()).map_err(|f| match f.gave_up {
        Some(why) => format!("{}; {}", short_error(&f.error), why.describe(f.made)),
        None => short_error(&f.error),
    })
}

/// Delete probe Jobs of earlier runs in `namespace` whose deadline has
/// passed (a run killed before its own cleanup). Best effort: a failure is
/// logged, never fatal.
pub async fn sweep(client: &Client, namespace: &str, now_unix: i64) -> usize {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let list = match jobs.list(&ListParams::default().labels(&selector())).await {
        Ok(l) => l,
        Err(e) => {
            tracing::debug!(target: "svcdiscover", namespace, error = %short_error(&e), "probe sweep: cannot list probe Jobs");
            return 0;
        }
    };
    let mut n = 0;
    for j in list.items {
        let expired = j
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_EXPIRES))
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|t| t < now_unix);
        if let (true, Some(name)) = (expired, j.metadata.name.as_deref())
            && delete(client, namespace, name).await.is_ok()
        {
            tracing::info!(target: "svcdiscover", namespace, job = name, "removed an expired probe Job of an earlier run");
            n += 1;
        }
    }
    n
}

/// A kube error in one line, without a Debug dump.
pub fn short_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

/// A probe pod that runs and takes execs.
#[derive(Debug, Clone)]
pub struct Running {
    pub pod: String,
}

/// Progress lines on stderr, only when it is a terminal.
pub type Progress = Option<fn(&str)>;

/// Create the Job and wait until its pod runs, within `until`. The Job is
/// registered in `cleanup` as soon as it exists.
pub async fn start(
    client: &Client,
    input: &JobSpecInput,
    cleanup: &Cleanup,
    until: Instant,
    progress: Progress,
) -> Result<Running, ProbeError> {
    let ns = &input.namespace;
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    let job = manifest(input);
    let name = input.job_name();
    match jobs.create(&PostParams::default(), &job).await {
        Ok(_) => cleanup.add(client, ns, &name),
        Err(kube::Error::Api(s)) if s.code == 403 && is_rbac_denial(&s.message) => {
            return Err(ProbeError::Forbidden {
                verb: refused_verb(&s.message, "create"),
                resource: "jobs",
                namespace: ns.clone(),
                message: s.message.clone(),
            });
        }
        Err(kube::Error::Api(s)) if matches!(s.code, 400 | 403 | 422) => {
            return Err(ProbeError::Rejected(s.message.clone()));
        }
        Err(e) => return Err(ProbeError::Failed(short_error(&e))),
    }
    if let Some(p) = progress {
        p(&format!(
            "probe: created Job {ns}/{name}, waiting for its pod"
        ));
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("{LABEL_RUN}={}", input.run_id));
    let mut last_state = String::new();
    let mut shown = String::new();
    loop {
        let list = pods.list(&lp).await;
        match list {
            Ok(list) => {
                for pod in &list.items {
                    match pod_state(pod) {
                        PodState::Running => {
                            let pod = pod.metadata.name.clone().unwrap_or_default();
                            return Ok(Running { pod });
                        }
                        PodState::ImagePull(message) => {
                            return Err(ProbeError::ImagePull {
                                image: input.image.clone(),
                                message,
                            });
                        }
                        PodState::Ended(why) => return Err(ProbeError::Failed(why)),
                        PodState::Waiting(why) => last_state = why,
                    }
                }
                if list.items.is_empty() {
                    // Pod Security and other admission act on the pod the
                    // Job controller creates: its FailedCreate event says.
                    let elp = ListParams::default()
                        .fields(&format!("involvedObject.name={name},reason=FailedCreate"));
                    if let Ok(ev) = events.list(&elp).await
                        && let Some(msg) = ev.items.iter().rev().find_map(|e| e.message.clone())
                    {
                        return Err(ProbeError::Rejected(msg));
                    }
                    last_state = "no pod created yet".to_owned();
                }
            }
            Err(kube::Error::Api(s)) if s.code == 403 => {
                return Err(ProbeError::Forbidden {
                    verb: refused_verb(&s.message, "list"),
                    resource: "pods",
                    namespace: ns.clone(),
                    message: s.message.clone(),
                });
            }
            Err(e) => last_state = short_error(&e),
        }
        if Instant::now() >= until {
            return Err(ProbeError::Timeout(format!(
                "its pod did not start within the probe timeout ({last_state})"
            )));
        }
        if let Some(p) = progress
            && last_state != shown
        {
            p(&format!("probe: waiting for the pod in {ns}: {last_state}"));
            shown.clone_from(&last_state);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The verb the API server refused, read from its 403 message (`User "…"
/// cannot get resource "pods/exec" …`), else `asked`. They differ for an
/// exec or a port-forward over WebSocket: the upgrade is a GET, authorized as
/// `get` on the subresource and, since Kubernetes 1.35 (feature gate
/// AuthorizePodWebsocketUpgradeCreatePermission), as `create` as well.
pub(crate) fn refused_verb(message: &str, asked: &'static str) -> &'static str {
    const VERBS: [&str; 8] = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    message
        .rsplit_once(" cannot ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|verb| VERBS.into_iter().find(|v| *v == verb))
        .unwrap_or(asked)
}

/// A 403 from RBAC, not from an admission plugin (Pod Security, webhooks
/// and quotas answer 403 "forbidden" too, with their own words).
fn is_rbac_denial(message: &str) -> bool {
    message.contains("cannot ") && message.contains("User ")
        || message.contains("cannot create resource")
}

enum PodState {
    Running,
    Waiting(String),
    ImagePull(String),
    Ended(String),
}

fn pod_state(pod: &Pod) -> PodState {
    let Some(status) = &pod.status else {
        return PodState::Waiting("pod created".to_owned());
    };
    let phase = status.phase.as_deref().unwrap_or("Pending");
    for cs in status.container_statuses.iter().flatten() {
        if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.as_deref().unwrap_or_default();
            if matches!(
                reason,
                "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull"
            ) {
                let msg = w.message.clone().unwrap_or_else(|| reason.to_owned());
                return PodState::ImagePull(format!("{reason}: {msg}"));
            }
            return PodState::Waiting(format!("container waiting: {reason}"));
        }
        if cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some() && phase == "Running" {
            return PodState::Running;
        }
        if let Some(t) = cs.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            return PodState::Ended(format!(
                "the probe container ended ({}, exit {})",
                t.reason.as_deref().unwrap_or("terminated"),
                t.exit_code
            ));
        }
    }
    match phase {
        "Failed" | "Succeeded" => PodState::Ended(format!(
            "the probe pod is {phase}{}",
            status
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )),
        _ => {
            let unschedulable = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False");
            match unschedulable {
                Some(c) => PodState::Waiting(format!(
                    "not scheduled: {}",
                    c.message.as_deref().unwrap_or("Unschedulable")
                )),
                None => PodState::Waiting(format!("pod {phase}")),
            }
        }
    }
}

/// What one exec printed.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    /// The process's exit status as the server reported it (`Success`, or
    /// the failure message).
    pub status: Option<String>,
    /// The time ran out before the process ended: `stdout` holds what it
    /// printed until then.
    pub cut_short: bool,
}

/// Run `command` in `container` of `pod`, within `until`. When the time
/// runs out after the exec started, what it printed so far is returned
/// with `cut_short` (the process is abandoned, and ends with its pod).
pub async fn exec(
    client: &Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    command: Vec<String>,
    until: Instant,
) -> Result<ExecOutput, ProbeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut ap = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true);
    if let Some(c) = container {
        ap = ap.container(c);
    }
    let deadline = tokio::time::Instant::from_std(until);
    let timed_out = || {
        ProbeError::Timeout(format!(
            "the lookups in {namespace}/{pod} did not start within the probe timeout"
        ))
    };
    let started = tokio::time::timeout_at(deadline, pods.exec(pod, command, &ap))
        .await
        .map_err(|_| timed_out())?;
    let mut proc = match started {
        Ok(p) => p,
        Err(kube::Error::Api(s)) if s.code == 403 => {
            return Err(ProbeError::Forbidden {
                verb: refused_verb(&s.message, "create"),
                resource: "pods/exec",
                namespace: namespace.to_owned(),
                message: s.message.clone(),
            });
        }
        Err(e) => {
            return Err(exec_failure(
                &format!("{namespace}/{pod}"),
                &format!("exec into {namespace}/{pod}"),
                &short_error(&e),
            ));
        }
    };
    let status = proc.take_status();
    let mut out = proc.stdout();
    let mut err = proc.stderr();
    // Read into buffers owned here: on a timeout the reads are dropped and
    // what they had appended stays.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let read = async {
        let read_out = async {
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut stdout).await;
            }
        };
        let read_err = async {
            if let Some(o) = err.as_mut() {
                // Bounded: stderr is only for messages.
                let _ = o.take(64 * 1024).read_to_end(&mut stderr).await;
            }
        };
        tokio::join!(read_out, read_err);
        match status {
            Some(s) => s.await,
            None => None,
        }
    };
    let finished = tokio::time::timeout_at(deadline, read).await;
    let cut_short = finished.is_err();
    let status = finished.ok().flatten();
    if cut_short {
        proc.abort();
    } else {
        let _ = proc.join().await;
    }
    Ok(ExecOutput {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        status: status.map(|s| {
            if s.status.as_deref() == Some("Success") {
                "Success".to_owned()
            } else {
                s.message.unwrap_or_else(|| s.reason.unwrap_or_default())
            }
        }),
        cut_short,
    })
}

/// The tail of an exec error: the runtime's words, without the command
/// line it repeats (the whole script).
pub fn exec_error(full: &str) -> String {
    match full.rfind(": exec failed: ") {
        Some(i) => full[i + 2..].to_owned(),
        None => full.to_owned(),
    }
}

/// An exec that could not run the script, from the runtime's words `raw`:
/// no shell in the image (`who` has none), or another failure (`failed`).
pub fn exec_failure(who: &str, failed: &str, raw: &str) -> ProbeError {
    let msg = exec_error(raw);
    if no_shell(&msg) {
        ProbeError::NoShell(format!(
            "{who} has no shell to run the probe script ({})",
            super::show(&msg)
        ))
    } else {
        ProbeError::Failed(format!("{failed}: {}", super::show(&msg)))
    }
}

/// The runtime's answer when the command does not exist in the image.
pub fn no_shell(message: &str) -> bool {
    message.contains("executable file not found")
        || message.contains("no such file or directory") && message.contains("\"sh\"")
}

/// The container kubectl would exec into: the pod's
/// `kubectl.kubernetes.io/default-container` annotation, else its first
/// container. `None` when the pod cannot be read (the exec then says why).
pub async fn default_container(client: &Client, namespace: &str, pod: &str) -> Option<String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let p = pods.get(pod).await.ok()?;
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container").cloned())
        .or_else(|| p.spec?.containers.first().map(|c| c.name.clone()))
}

/// Add an ephemeral debug container running `image` to `pod` (sharing the
/// process namespace of `target` or the pod's first container), and wait
/// until it runs. It cannot be removed afterwards: the caller says so
/// before calling. Returns the container's name.
pub async fn add_ephemeral(
    client: &Client,
    namespace: &str,
    pod: &str,
    target: Option<&str>,
    image: &str,
    run_id: &str,
    until: Instant,
) -> Result<String, ProbeError> {
    use kube::api::{Patch, PatchParams};
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let current = pods.get(pod).await.map_err(|e| match &e {
        kube::Error::Api(s) if s.code == 403 => ProbeError::Forbidden {
            verb: refused_verb(&s.message, "get"),
            resource: "pods",
            namespace: namespace.to_owned(),
            message: s.message.clone(),
        },
        _ => ProbeError::Failed(short_error(&e)),
    })?;
    let target = match target {
        Some(t) => t.to_owned(),
        None => current
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .map(|c| c.name.clone())
            .ok_or_else(|| ProbeError::Failed(format!("pod {namespace}/{pod} has no container")))?,
    };
    let name = format!("svcdiscover-{run_id}");
    let secs = until
        .saturating_duration_since(Instant::now())
        .as_secs()
        .saturating_add(u64::try_from(DEADLINE_MARGIN_SECS).unwrap_or(60));
    let patch = serde_json::json!({
        "spec": {
            "ephemeralContainers": [{
                "name": name,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                // Ends by itself; the script is exec'd into it.
                "command": ["sleep", secs.to_string()],
                "targetContainerName": target,
                "stdin": false,
                "tty": false,
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": true,
                    "runAsNonRoot": true,
                    "runAsUser": RUN_AS,
                    "runAsGroup": RUN_AS,
                    "privileged": false,
                    "seccompProfile": {"type": "RuntimeDefault"}
                }
            }]
        }
    });
    match pods
        .patch_ephemeral_containers(pod, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 403 && is_rbac_denial(&s.message) => {
            return Err(ProbeError::Forbidden {
                verb: refused_verb(&s.message, "patch"),
                resource: "pods/ephemeralcontainers",
                namespace: namespace.to_owned(),
                message: s.message.clone(),
            });
        }
        Err(kube::Error::Api(s)) if matches!(s.code, 400 | 403 | 422) => {
            return Err(ProbeError::Rejected(s.message.clone()));
        }
        Err(e) => return Err(ProbeError::Failed(short_error(&e))),
    }
    let mut last = String::from("added");
    loop {
        if let Ok(p) = pods.get(pod).await {
            let st = p
                .status
                .as_ref()
                .and_then(|s| s.ephemeral_container_statuses.as_ref())
                .and_then(|v| v.iter().find(|c| c.name == name));
            if let Some(cs) = st {
                if cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some() {
                    return Ok(name);
                }
                if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                    let reason = w.reason.as_deref().unwrap_or_default();
                    if matches!(
                        reason,
                        "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName"
                    ) {
                        return Err(ProbeError::ImagePull {
                            image: image.to_owned(),
                            message: format!(
                                "{reason}: {}",
                                w.message.as_deref().unwrap_or_default()
                            ),
                        });
                    }
                    last = format!("waiting: {reason}");
                }
                if let Some(t) = cs.state.as_ref().and_then(|s| s.terminated.as_ref()) {
                    return Err(ProbeError::Failed(format!(
                        "the ephemeral container ended ({}, exit {})",
                        t.reason.as_deref().unwrap_or("terminated"),
                        t.exit_code
                    )));
                }
            }
        }
        if Instant::now() >= until {
            return Err(ProbeError::Timeout(format!(
                "the ephemeral container in {namespace}/{pod} did not start within the probe timeout ({last})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refused_verb_is_the_servers() {
        let ws = r#"pods "p" is forbidden: User "system:serviceaccount:a:b" cannot get resource "pods/exec" in API group "" in the namespace "a""#;
        assert_eq!(super::refused_verb(ws, "create"), "get");
        let jobs = r#"jobs.batch is forbidden: User "u" cannot create resource "jobs" in API group "batch" in the namespace "default""#;
        assert_eq!(super::refused_verb(jobs, "list"), "create");
        assert_eq!(
            super::refused_verb("forbidden by a webhook", "create"),
            "create"
        );
        assert_eq!(
            super::refused_verb("User \"u\" cannot frobnicate x", "create"),
            "create"
        );
    }

    use super::*;

    fn input() -> JobSpecInput {
        JobSpecInput {
            namespace: "client".into(),
            run_id: "0a1b2c3d".into(),
            image: "registry.example/dnsutils:1".into(),
            pull_secret: Some("regcred".into()),
            timeout: Duration::from_secs(30),
            now_unix: 1_000,
        }
    }

    /// Every field Pod Security `restricted` checks, the deadline, the TTL
    /// and the labels, as docs/probe.md documents them.
    #[test]
    fn the_job_is_least_privilege_and_bounded() {
        let job = manifest(&input());
        let v = serde_json::to_value(&job).unwrap();
        let spec = &v["spec"];
        assert_eq!(spec["backoffLimit"], 0);
        assert_eq!(spec["activeDeadlineSeconds"], 90);
        assert_eq!(spec["ttlSecondsAfterFinished"], 60);
        // Deadline + TTL (90 + 60 s) stay under three minutes.
        assert_eq!(v["metadata"]["annotations"][ANNOTATION_EXPIRES], "1090");
        for meta in [&v["metadata"], &spec["template"]["metadata"]] {
            assert_eq!(
                meta["labels"]["app.kubernetes.io/name"],
                "kubectl-svcdiscover"
            );
            assert_eq!(meta["labels"]["app.kubernetes.io/component"], "probe");
            assert_eq!(meta["labels"][LABEL_RUN], "0a1b2c3d");
        }
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
        assert_eq!(pod["imagePullSecrets"][0]["name"], "regcred");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "registry.example/dnsutils:1");
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"][0], "ALL");
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["runAsNonRoot"], true);
        assert!(sc["runAsUser"].as_i64().unwrap() > 0);
        assert!(sc["runAsGroup"].as_i64().unwrap() > 0);
        assert_eq!(c["volumeMounts"][0]["mountPath"], "/tmp");
        assert!(c["resources"]["limits"]["memory"].is_string());
        // The command never holds `$(` for the kubelet to expand.
        let cmd = c["command"].to_string();
        assert!(!cmd.contains("$("), "{cmd}");
        assert_eq!(c["command"][0], "sleep");
    }

    #[test]
    fn exec_errors_keep_the_runtime_words_not_the_script() {
        let full = "Internal error occurred: error executing command in container: cmd start: sh -c #!/bin/sh\\nrec end\\n: chdir /x: OCI runtime exec failed: exec failed: unable to start container process: exec: \"sh\": executable file not found in $PATH: no such file or directory";
        let tail = exec_error(full);
        assert!(tail.starts_with("exec failed: unable to start"), "{tail}");
        assert!(no_shell(&tail));
        assert!(!no_shell(
            "command terminated with non-zero exit code: error executing command [sh -c x], exit code 2"
        ));
    }

    #[test]
    fn rbac_denials_are_told_from_admission_refusals() {
        assert!(is_rbac_denial(
            "jobs.batch is forbidden: User \"e2e-no-create\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"default\""
        ));
        assert!(!is_rbac_denial(
            "pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": runAsNonRoot != true"
        ));
    }
}
