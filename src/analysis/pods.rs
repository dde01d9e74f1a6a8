//! The selected pods: why each is not serving. One finding per cause, listing
//! the pods it affects.

use std::collections::BTreeMap;

use super::{Ctx, Facts, Out, name_list, pod_refs};
use crate::model::{
    Backend, Code, ContainerRole, ContainerStatus, Event, Pod, Severity, Terminated,
};

/// The Backend row of a pod.
pub fn backend(p: &Pod) -> Backend {
    Backend {
        pod: p.name.clone(),
        ready: p.is_ready(),
        phase: p.phase.clone(),
        status: status(p),
        ip: p.pod_ips.first().cloned(),
        node: p.node_name.clone(),
        restarts: p.statuses.iter().map(|s| s.restart_count).sum(),
    }
}

/// The most telling one-word state of a pod, kubectl-style.
pub fn status(p: &Pod) -> String {
    if p.terminating {
        return "Terminating".to_owned();
    }
    if let Some(reason) = &p.reason
        && p.phase.as_deref() == Some("Failed")
    {
        return reason.clone();
    }
    if !p.scheduling_gates.is_empty() {
        return "SchedulingGated".to_owned();
    }
    if let Some(c) = &p.scheduled
        && c.status == Some(false)
    {
        return c.reason.clone().unwrap_or_else(|| "Unscheduled".to_owned());
    }
    // A failing init container blocks the pod: kubectl shows `Init:<reason>`.
    if let Some(w) = p
        .statuses
        .iter()
        .filter(|s| s.role == ContainerRole::Init)
        .find_map(|s| s.waiting.as_ref())
        .filter(|w| w.reason != "PodInitializing")
    {
        return format!("Init:{}", w.reason);
    }
    if let Some(t) = p
        .statuses
        .iter()
        .filter(|s| s.role == ContainerRole::Init)
        .find_map(|s| s.terminated.as_ref())
        .filter(|t| t.exit_code != 0)
    {
        return match &t.reason {
            Some(r) => format!("Init:{r}"),
            None => format!("Init:ExitCode:{}", t.exit_code),
        };
    }
    // Regular containers first, as kubectl shows them; then sidecars.
    let mut statuses: Vec<_> = p.statuses.iter().collect();
    statuses.sort_by_key(|s| s.role != ContainerRole::Main);
    if let Some(w) = statuses.iter().find_map(|s| s.waiting.as_ref()) {
        return w.reason.clone();
    }
    if let Some(t) = statuses.iter().find_map(|s| s.terminated.as_ref()) {
        return t.reason.clone().unwrap_or_else(|| "Terminated".to_owned());
    }
    match p.phase.as_deref() {
        Some("Running") if !p.is_ready() => "Running, not ready".to_owned(),
        Some(phase) => phase.to_owned(),
        None => "Unknown".to_owned(),
    }
}

/// `container app`, `init container migrate`, `sidecar container proxy`.
fn container_label(s: &ContainerStatus) -> String {
    let role = match s.role {
        ContainerRole::Main => "container",
        ContainerRole::Init => "init container",
        ContainerRole::Sidecar => "sidecar container",
    };
    format!("{role} {}", s.name)
}

/// `exit code 137 (OOMKilled)`, with the message's first line when there is one.
fn exit_text(t: &Terminated) -> String {
    let mut text = match &t.reason {
        Some(r) => format!("exit code {} ({r})", t.exit_code),
        None => format!("exit code {}", t.exit_code),
    };
    if let Some(m) = t
        .message
        .as_deref()
        .map(first_line)
        .filter(|m| !m.is_empty())
    {
        text.push_str(&format!(": {m}"));
    }
    text
}

/// What a container's state says when no finding of its own covers it:
/// an unusual waiting reason, a failed init container, a stopped container.
fn container_story(s: &ContainerStatus) -> Option<String> {
    let label = container_label(s);
    if let Some(w) = &s.waiting {
        if matches!(w.reason.as_str(), "ContainerCreating" | "PodInitializing") {
            return None;
        }
        let last = s
            .last_terminated
            .as_ref()
            .map(|t| format!(", last {}", exit_text(t)))
            .unwrap_or_default();
        let msg = w
            .message
            .as_deref()
            .map(first_line)
            .filter(|m| !m.is_empty())
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        return Some(format!("{label} waiting: {}{msg}{last}", w.reason));
    }
    let t = s.terminated.as_ref()?;
    match s.role {
        // A finished init container is the normal case.
        ContainerRole::Init if t.exit_code == 0 => None,
        ContainerRole::Init => Some(format!("{label} failed: {}", exit_text(t))),
        _ => Some(format!("{label} terminated: {}", exit_text(t))),
    }
}

/// Warning events about a pod, latest first.
fn warnings<'a>(ctx: &'a Ctx<'_>, pod: &Pod) -> Vec<&'a Event> {
    let mut v: Vec<&Event> = ctx.index.pod_warnings(ctx.state, pod).collect();
    v.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
    v
}

fn latest<'a>(events: &[&'a Event], reason: &str) -> Option<&'a Event> {
    events.iter().copied().find(|e| e.reason == reason)
}

/// What an image pull error says about its cause (from the kubelet's event text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PullCause {
    NotFound,
    Unauthorized,
    RegistryUnreachable,
    InvalidName,
    Unknown,
}

pub fn classify_pull(text: &str) -> PullCause {
    let t = text.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| t.contains(n));
    if any(&[
        "no such host",
        "server misbehaving",
        "i/o timeout",
        "connection refused",
        "network is unreachable",
        "tls handshake timeout",
        "temporary failure in name resolution",
        "context deadline exceeded",
        "connection reset",
    ]) {
        PullCause::RegistryUnreachable
    } else if any(&[
        "unauthorized",
        "authentication required",
        "pull access denied",
        "401 unauthorized",
        "403 forbidden",
        "insufficient_scope",
        "access denied",
    ]) {
        PullCause::Unauthorized
    } else if any(&["not found", "manifest unknown", "notfound", "name unknown"]) {
        PullCause::NotFound
    } else if any(&[
        "invalidimagename",
        "invalid reference format",
        "couldn't parse image",
    ]) {
        PullCause::InvalidName
    } else {
        PullCause::Unknown
    }
}

impl PullCause {
    /// What the cause means, and the fix for `container` of `pod` pulling `image`.
    fn describe(self, pod: &Pod, container: &str, image: &str) -> (&'static str, String) {
        let (ns, owner) = (&pod.namespace, template_owner(pod));
        let host = registry(image);
        match self {
            PullCause::NotFound => (
                "the registry says the image or tag does not exist",
                format!(
                    "correct the image of container {container} (`kubectl -n {ns} edit {owner}`), or push {image}"
                ),
            ),
            PullCause::Unauthorized => {
                let secret = format!(
                    "{}-pull",
                    host.to_ascii_lowercase().replace(['.', ':'], "-")
                );
                let server = if host == "docker.io" {
                    String::new()
                } else {
                    format!(" --docker-server={host}")
                };
                let create = format!(
                    "`kubectl -n {ns} create secret docker-registry {secret}{server} --docker-username=USER --docker-password=PASSWORD`"
                );
                let refer = match owner.split_once(' ') {
                    Some((kind, name)) if kind != "pod" => format!(
                        "`kubectl -n {ns} patch {kind} {name} -p '{{\"spec\":{{\"template\":{{\"spec\":{{\"imagePullSecrets\":[{{\"name\":\"{secret}\"}}]}}}}}}}}'`"
                    ),
                    _ => format!("recreate pod {} with imagePullSecrets {secret}", pod.name),
                };
                (
                    "the registry refused the credentials",
                    format!("give the pods credentials for {host}: {create}, then {refer}"),
                )
            }
            PullCause::RegistryUnreachable => (
                "the node cannot resolve or reach the registry (node DNS or egress, not cluster DNS)",
                format!(
                    "check the resolver, proxy and firewall of node {} itself towards {host} (`kubectl -n {ns} describe pod {}` shows the error); cluster DNS (CoreDNS) plays no part in image pulls",
                    pod.node_name.as_deref().unwrap_or("(not yet assigned)"),
                    pod.name
                ),
            ),
            PullCause::InvalidName => (
                "the image reference is not valid",
                format!(
                    "correct the image reference of container {container} (`kubectl -n {ns} edit {owner}`)"
                ),
            ),
            PullCause::Unknown => (
                "the pull fails",
                format!(
                    "read the pull error (`kubectl -n {ns} describe pod {}`, Events) and fix the image, credentials or registry access",
                    pod.name
                ),
            ),
        }
    }
}

/// The registry host of an image reference (`docker.io` when it names none).
fn registry(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// The object whose pod template makes `pod`, as kubectl names it
/// (`deployment v4`): a ReplicaSet `<deployment>-<pod-template-hash>` stands
/// for its Deployment; a pod without owner, or a static pod (owned by its
/// Node, made from a file on it), stands for itself.
pub(crate) fn template_owner(pod: &Pod) -> String {
    match &pod.owner {
        Some((kind, rs)) if kind == "ReplicaSet" => pod
            .labels
            .get("pod-template-hash")
            .and_then(|hash| rs.strip_suffix(hash.as_str()))
            .and_then(|d| d.strip_suffix('-'))
            .filter(|d| !d.is_empty())
            .map_or_else(|| format!("replicaset {rs}"), |d| format!("deployment {d}")),
        Some((kind, name)) if kind != "Node" => format!("{} {name}", kind.to_ascii_lowercase()),
        _ => format!("pod {}", pod.name),
    }
}

/// One cause: a code, a key that groups pods, details per pod, and the fix.
struct Group<'a> {
    pods: Vec<&'a Pod>,
    details: Vec<String>,
    message: String,
    fix: String,
}

pub(crate) fn check<'a>(ctx: &Ctx<'a>, _facts: &Facts, out: &mut Out) {
    let mut groups: BTreeMap<(Code, String), Group<'a>> = BTreeMap::new();
    let mut add =
        |code: Code, key: String, pod: &'a Pod, detail: String, message: String, fix: String| {
            let g = groups.entry((code, key)).or_insert_with(|| Group {
                pods: Vec::new(),
                details: Vec::new(),
                message,
                fix,
            });
            if !g.pods.iter().any(|q: &&Pod| std::ptr::eq(*q, pod)) {
                g.pods.push(pod);
            }
            if !detail.is_empty() && !g.details.contains(&detail) {
                g.details.push(detail);
            }
        };

    if ctx.pods.iter().any(|p| !p.is_ready())
        && !ctx
            .state
            .coverage
            .covers(crate::model::Kind::Event, &ctx.target.namespace)
    {
        ctx.require(
            out,
            "pod events (pull errors, probe failures)",
            crate::model::Kind::Event,
            &ctx.target.namespace,
        );
    }
    for &pod in &ctx.pods {
        let events = warnings(ctx, pod);
        let mut explained = false;

        if !pod.scheduling_gates.is_empty() {
            add(
                Code::PodUnschedulable,
                "gated".to_owned(),
                pod,
                format!("gates: {}", pod.scheduling_gates.join(", ")),
                "pods are held back by scheduling gates".to_owned(),
                format!(
                    "the controller that added the gates must remove them; to release a pod by hand: `kubectl -n {} patch pod {} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/spec/schedulingGates\"}}]'`",
                    pod.namespace, pod.name
                ),
            );
            explained = true;
        } else if pod
            .scheduled
            .as_ref()
            .is_some_and(|c| c.status == Some(false))
        {
            let msg = pod
                .scheduled
                .as_ref()
                .and_then(|c| c.message.clone())
                .or_else(|| latest(&events, "FailedScheduling").map(|e| e.message.clone()))
                .unwrap_or_default();
            add(
                Code::PodUnschedulable,
                "unschedulable".to_owned(),
                pod,
                if msg.is_empty() {
                    String::new()
                } else {
                    format!("scheduler: {msg}")
                },
                "pods cannot be scheduled".to_owned(),
                format!(
                    "make a node fit: relax nodeSelector, affinity or tolerations (`kubectl -n {} edit {}`), free capacity, or add nodes (the scheduler's message says which constraint fails)",
                    pod.namespace,
                    template_owner(pod)
                ),
            );
            explained = true;
        }

        // The first cause found for this pod; stories of its other
        // containers are added to that finding.
        let mut first: Option<(Code, String)> = None;
        let mut stories: Vec<String> = Vec::new();
        for s in &pod.statuses {
            let label = container_label(s);
            let Some(w) = &s.waiting else {
                stories.extend(container_story(s));
                continue;
            };
            match w.reason.as_str() {
                "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => {
                    let image = pod
                        .containers
                        .iter()
                        .find(|c| c.name == s.name)
                        .map(|c| c.image.as_str())
                        .unwrap_or("?");
                    // The kubelet's "Failed to pull image" event carries the
                    // registry's answer; its later "Error: ImagePullBackOff"
                    // events do not. The waiting message of ErrImagePull does.
                    let pulled = events.iter().find(|e| {
                        e.reason == "Failed"
                            && e.message.starts_with("Failed to pull image")
                            && e.message.contains(image)
                    });
                    let text = pulled
                        .map(|e| e.message.clone())
                        .or_else(|| w.message.clone())
                        .unwrap_or_default();
                    let cause = if w.reason == "InvalidImageName" {
                        PullCause::InvalidName
                    } else {
                        classify_pull(&text)
                    };
                    let (what, fix) = cause.describe(pod, &s.name, image);
                    let key = format!("{cause:?}");
                    first.get_or_insert((Code::ImagePullFailure, key.clone()));
                    add(
                        Code::ImagePullFailure,
                        key,
                        pod,
                        format!("{label}: {} {image}: {}", w.reason, first_line(&text)),
                        format!("pods cannot pull their image: {what}"),
                        fix.to_owned(),
                    );
                    explained = true;
                }
                "CrashLoopBackOff" => {
                    let last = s.last_terminated.as_ref();
                    let reason = last
                        .and_then(|t| t.reason.clone())
                        .unwrap_or_else(|| "unknown".to_owned());
                    let code = last.map(|t| t.exit_code);
                    let fix = if reason == "OOMKilled" {
                        format!(
                            "the container runs out of memory: raise its memory limit (`kubectl -n {} edit {}`) or reduce its use (`kubectl logs --previous -n {} {} -c {}`)",
                            pod.namespace,
                            template_owner(pod),
                            pod.namespace,
                            pod.name,
                            s.name
                        )
                    } else {
                        format!(
                            "read why it exits: `kubectl logs --previous -n {} {} -c {}`, then fix its command, config or dependencies",
                            pod.namespace, pod.name, s.name
                        )
                    };
                    let key = format!("{}/{reason}/{code:?}", s.name);
                    first.get_or_insert((Code::CrashLoop, key.clone()));
                    let state = if s.role == ContainerRole::Init {
                        "Init:CrashLoopBackOff"
                    } else {
                        "CrashLoopBackOff"
                    };
                    add(
                        Code::CrashLoop,
                        key,
                        pod,
                        format!(
                            "{label} restarted {} times, last exit: {reason}{}",
                            s.restart_count,
                            code.map(|c| format!(" (exit code {c})"))
                                .unwrap_or_default()
                        ),
                        format!("{label} keeps crashing ({state})"),
                        fix,
                    );
                    explained = true;
                }
                "CreateContainerConfigError" | "CreateContainerError" => {
                    let msg = w.message.clone().unwrap_or_default();
                    first.get_or_insert((Code::ContainerConfigError, msg.clone()));
                    add(
                        Code::ContainerConfigError,
                        msg.clone(),
                        pod,
                        format!("{label}: {msg}"),
                        format!("{label} cannot be created from its configuration"),
                        format!(
                            "create the Secret or ConfigMap (or the key) it references in namespace {}, or correct the reference (`kubectl -n {} edit {}`)",
                            pod.namespace,
                            pod.namespace,
                            template_owner(pod)
                        ),
                    );
                    explained = true;
                }
                "RunContainerError" | "ContainerCannotRun" | "PreStartHookError"
                | "PostStartHookError" => {
                    let msg = w.message.clone().unwrap_or_default();
                    let key = format!("{}/{}/{msg}", w.reason, s.name);
                    first.get_or_insert((Code::ContainerConfigError, key.clone()));
                    add(
                        Code::ContainerConfigError,
                        key,
                        pod,
                        format!("{label}: {}: {}", w.reason, first_line(&msg)),
                        format!("{label} cannot start ({})", w.reason),
                        start_fix(&w.reason, pod, &s.name),
                    );
                    explained = true;
                }
                _ => stories.extend(container_story(s)),
            }
        }
        if let Some((code, key)) = &first {
            // Other containers' states join the pod's first finding.
            for story in &stories {
                add(
                    *code,
                    key.clone(),
                    pod,
                    format!("{}: {story}", pod.name),
                    String::new(),
                    String::new(),
                );
            }
        }
        if explained || pod.is_ready() {
            if pod.is_ready() {
                let restarts: i32 = pod.statuses.iter().map(|s| s.restart_count).sum();
                if restarts > 0 {
                    let last: Vec<String> = pod
                        .statuses
                        .iter()
                        .filter_map(|s| {
                            s.last_terminated
                                .as_ref()
                                .map(|t| format!("{} last {}", container_label(s), exit_text(t)))
                        })
                        .collect();
                    let last = if last.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", last.join(", "))
                    };
                    add(
                        Code::PodRestarts,
                        String::new(),
                        pod,
                        format!("{}: {restarts} restarts{last}", pod.name),
                        "ready pods have restarted".to_owned(),
                        restarted_fix(pod),
                    );
                }
            }
            continue;
        }

        if !stories.is_empty() && !pod.terminating {
            add(
                Code::PodsNotReady,
                "containers".to_owned(),
                pod,
                format!("{}: {}", pod.name, stories.join("; ")),
                "pods have containers that stopped or cannot run".to_owned(),
                format!(
                    "read each container's state and last output: `kubectl -n {ns} describe pod {name}` and `kubectl -n {ns} logs {name} --all-containers`",
                    ns = pod.namespace,
                    name = pod.name
                ),
            );
            continue;
        }

        // Not ready, no specific cause above: say what is known.
        let (key, detail, message, fix) = not_ready_cause(pod, &events);
        add(Code::PodsNotReady, key, pod, detail, message, fix);
    }

    for ((code, _), g) in groups {
        let severity = if code == Code::PodRestarts {
            Severity::Info
        } else {
            ctx.pod_severity()
        };
        let names = name_list(g.pods.iter().map(|p| p.name.as_str()), 5);
        let detail = if g.details.is_empty() {
            String::new()
        } else {
            format!(" — {}", g.details.join("; "))
        };
        out.finding(
            code,
            severity,
            format!(
                "{} ({} of {}): {names}{detail}",
                g.message,
                g.pods.len(),
                ctx.pods.len()
            ),
            g.fix,
            pod_refs(g.pods.iter().copied()),
        );
    }
}

/// Read the previous logs of the first restarted container of `pod`.
fn restarted_fix(pod: &Pod) -> String {
    let c = pod
        .statuses
        .iter()
        .find(|s| s.restart_count > 0)
        .map_or("", |s| s.name.as_str());
    format!(
        "read why they exited: `kubectl logs --previous -n {} {} -c {c}`; repeated restarts drop the pod from the endpoints each time",
        pod.namespace, pod.name
    )
}

fn not_ready_cause(pod: &Pod, events: &[&Event]) -> (String, String, String, String) {
    let name = &pod.name;
    let describe = format!("`kubectl -n {} describe pod {name}`", pod.namespace);
    if pod.terminating {
        return (
            "terminating".into(),
            String::new(),
            "pods are terminating".into(),
            format!(
                "normal during a rollout; if they linger, check preStop hooks, terminationGracePeriodSeconds and finalizers (`kubectl -n {} get pod {name} -o yaml`)",
                pod.namespace
            ),
        );
    }
    if pod.phase.as_deref() == Some("Failed") {
        let why = pod.reason.clone().unwrap_or_else(|| "Failed".into());
        return (
            format!("failed/{why}"),
            format!(
                "{name}: {why}{}",
                pod.message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            "pods have failed and will not serve".into(),
            format!(
                "delete the failed pods so their controller replaces them (`kubectl -n {} delete pod {name}`), and address the cause (an eviction means node pressure)",
                pod.namespace
            ),
        );
    }
    if let Some(e) = latest(events, "Unhealthy").filter(|e| e.message.contains("Readiness")) {
        return (
            "readiness".into(),
            format!("{name}: {}", first_line(&e.message)),
            "pods run but fail their readiness probe".into(),
            format!(
                "make the probe match the app (path, port, timeouts: `kubectl -n {} edit {}`), or fix what the app waits for; {describe} shows the probe",
                pod.namespace,
                template_owner(pod)
            ),
        );
    }
    let creating = pod.statuses.iter().any(|s| {
        s.waiting
            .as_ref()
            .is_some_and(|w| w.reason == "ContainerCreating" || w.reason == "PodInitializing")
    });
    if let Some(e) =
        latest(events, "FailedCreatePodSandBox").or_else(|| latest(events, "FailedMount"))
    {
        return (
            format!("sandbox/{}", e.reason),
            format!("{name}: {} {}", e.reason, first_line(&e.message)),
            "pods cannot start: their sandbox or volumes fail".into(),
            format!(
                "a FailedCreatePodSandBox points at the node's CNI plugin; a FailedMount at the volume or its Secret/ConfigMap; {describe} shows the events"
            ),
        );
    }
    if creating || pod.phase.as_deref() == Some("Pending") {
        return (
            "starting".into(),
            format!("{name}: {}", status(pod)),
            "pods are still starting".into(),
            format!("wait, or read {describe} if they stay there"),
        );
    }
    let running = pod.statuses.iter().any(|s| s.running && !s.ready);
    (
        "not-ready".into(),
        format!("{name}: {}", status(pod)),
        if running {
            "pods run but are not Ready (no readiness-probe event seen)".into()
        } else {
            "pods are not Ready".into()
        },
        format!(
            "{describe} shows the conditions and events; check readiness probes and readiness gates"
        ),
    )
}

/// How to get a container past a start failure, by the kubelet's reason.
fn start_fix(reason: &str, pod: &Pod, container: &str) -> String {
    let (ns, name) = (&pod.namespace, &pod.name);
    match reason {
        "PostStartHookError" => format!(
            "the postStart hook of container {container} fails and the kubelet kills the container: fix or remove lifecycle.postStart in the pod template (`kubectl -n {ns} describe pod {name}` shows the hook's error)"
        ),
        "PreStartHookError" => format!(
            "the kubelet's pre-start step (CPU, memory or device allocation on the node) fails for container {container}: `kubectl -n {ns} describe pod {name}` and the node's kubelet log say which resource"
        ),
        _ => format!(
            "the runtime cannot start container {container} (wrong command or entrypoint, missing binary, bad mount or security settings): correct the pod template; `kubectl -n {ns} describe pod {name}` shows the runtime's error"
        ),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, Target, diagnose};
    use crate::model::{ClusterState, Condition, Kind, Report, Service, Waiting};

    fn st(name: &str, role: ContainerRole) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            role,
            ready: false,
            started: None,
            restart_count: 0,
            waiting: None,
            running: false,
            terminated: None,
            last_terminated: None,
        }
    }

    fn waiting(reason: &str, message: &str) -> Option<Waiting> {
        Some(Waiting {
            reason: reason.into(),
            message: Some(message.into()),
        })
    }

    fn exited(code: i32, reason: &str) -> Option<Terminated> {
        Some(Terminated {
            reason: Some(reason.into()),
            exit_code: code,
            message: None,
        })
    }

    fn report(statuses: Vec<ContainerStatus>) -> Report {
        let mut s = ClusterState {
            services: vec![Service {
                namespace: "default".into(),
                name: "pay".into(),
                cluster_ips: vec!["10.96.0.20".into()],
                selector: Some([("app".to_owned(), "pay".to_owned())].into()),
                ..Service::default()
            }],
            pods: vec![Pod {
                namespace: "default".into(),
                name: "pay-0".into(),
                labels: [("app".to_owned(), "pay".to_owned())].into(),
                phase: Some("Running".into()),
                ready: Some(Condition {
                    status: Some(false),
                    reason: None,
                    message: None,
                }),
                statuses,
                ..Pod::default()
            }],
            ..ClusterState::default()
        };
        s.coverage.add_all(Kind::Pod);
        s.coverage.add_all(Kind::Event);
        diagnose(
            &s,
            &Target {
                namespace: "default".into(),
                name: "pay".into(),
            },
            &Options::default(),
        )
    }

    fn text(r: &Report) -> String {
        r.findings
            .iter()
            .map(|f| format!("{} {} | {}", f.code, f.message, f.fix))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn start_failures_name_the_container_and_its_role() {
        for (reason, role, expect) in [
            (
                "RunContainerError",
                ContainerRole::Main,
                "container app cannot start (RunContainerError)",
            ),
            (
                "PreStartHookError",
                ContainerRole::Main,
                "container app cannot start (PreStartHookError)",
            ),
            (
                "PostStartHookError",
                ContainerRole::Sidecar,
                "sidecar container app cannot start (PostStartHookError)",
            ),
            (
                "CreateContainerConfigError",
                ContainerRole::Init,
                "init container app cannot be created",
            ),
        ] {
            let mut s = st("app", role);
            s.waiting = waiting(reason, "boom");
            let r = report(vec![s]);
            let all = text(&r);
            assert!(all.contains(expect), "{reason}: {all}");
            assert!(all.contains("boom"), "{reason}: {all}");
            assert!(
                r.findings.iter().all(|f| f.code != Code::PodsNotReady),
                "{reason}: {all}"
            );
        }
    }

    #[test]
    fn a_failing_init_container_and_a_terminated_main_container_are_told() {
        let mut init = st("migrate", ContainerRole::Init);
        init.waiting = waiting("CrashLoopBackOff", "back-off 5m0s");
        init.last_terminated = exited(3, "Error");
        init.restart_count = 6;
        let mut app = st("app", ContainerRole::Main);
        app.waiting = waiting("PodInitializing", "");
        let r = report(vec![app, init]);
        let all = text(&r);
        assert!(
            all.contains("init container migrate keeps crashing (Init:CrashLoopBackOff)"),
            "{all}"
        );
        assert!(all.contains("last exit: Error (exit code 3)"), "{all}");
        assert_eq!(
            r.backends.as_ref().unwrap()[0].status,
            "Init:CrashLoopBackOff"
        );

        let mut app = st("app", ContainerRole::Main);
        app.terminated = exited(137, "OOMKilled");
        let mut proxy = st("proxy", ContainerRole::Sidecar);
        proxy.running = true;
        let r = report(vec![app, proxy]);
        let all = text(&r);
        assert!(
            all.contains("container app terminated: exit code 137 (OOMKilled)"),
            "{all}"
        );

        let mut init = st("migrate", ContainerRole::Init);
        init.terminated = exited(1, "Error");
        let r = report(vec![init]);
        assert!(
            text(&r).contains("init container migrate failed: exit code 1 (Error)"),
            "{}",
            text(&r)
        );
        assert_eq!(r.backends.as_ref().unwrap()[0].status, "Init:Error");
    }

    #[test]
    fn every_container_reaches_the_pods_finding() {
        // A crash loop in one container and an unusual state in another: both told.
        let mut app = st("app", ContainerRole::Main);
        app.waiting = waiting("CrashLoopBackOff", "back-off");
        app.last_terminated = exited(137, "OOMKilled");
        let mut side = st("proxy", ContainerRole::Sidecar);
        side.waiting = waiting("SomeNewReason", "the runtime said so");
        let r = report(vec![app, side]);
        let crash: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.code == Code::CrashLoop)
            .collect();
        assert_eq!(crash.len(), 1, "{}", text(&r));
        assert!(
            crash[0]
                .message
                .contains("sidecar container proxy waiting: SomeNewReason: the runtime said so"),
            "{}",
            crash[0].message
        );
        assert!(crash[0].fix.contains("memory"), "{}", crash[0].fix);
    }

    #[test]
    fn classifies_kubelet_pull_errors() {
        let not_found = r#"Failed to pull image "registry.example/v4:missing": rpc error: code = NotFound desc = failed to pull and unpack image "registry.example/v4:missing": failed to resolve reference "registry.example/v4:missing": registry.example/v4:missing: not found"#;
        assert_eq!(classify_pull(not_found), PullCause::NotFound);
        let auth = r#"Failed to pull image "private.example/app:1": rpc error: code = Unknown desc = failed to pull and unpack image "private.example/app:1": failed to resolve reference "private.example/app:1": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"#;
        assert_eq!(classify_pull(auth), PullCause::Unauthorized);
        let dns = r#"Failed to pull image "registry.internal/app:1": rpc error: code = Unknown desc = failed to pull and unpack image: failed to resolve reference "registry.internal/app:1": failed to do request: Head "https://registry.internal/v2/app/manifests/1": dial tcp: lookup registry.internal on 10.0.0.2:53: no such host"#;
        assert_eq!(classify_pull(dns), PullCause::RegistryUnreachable);
        let unknown = "Failed to pull image \"x\": rpc error: code = Unknown desc = something else";
        assert_eq!(classify_pull(unknown), PullCause::Unknown);
    }

    #[test]
    fn fixes_name_the_workload_behind_the_pod_and_its_registry() {
        let mut pod = Pod {
            namespace: "default".into(),
            name: "v4-f464dd4db-pxz9j".into(),
            labels: [("pod-template-hash".to_owned(), "f464dd4db".to_owned())].into(),
            owner: Some(("ReplicaSet".into(), "v4-f464dd4db".into())),
            ..Pod::default()
        };
        assert_eq!(template_owner(&pod), "deployment v4");
        pod.labels.clear(); // a ReplicaSet of its own, not a Deployment's
        assert_eq!(template_owner(&pod), "replicaset v4-f464dd4db");
        pod.owner = Some(("StatefulSet".into(), "db".into()));
        assert_eq!(template_owner(&pod), "statefulset db");
        pod.owner = Some(("Node".into(), "kwok-node-0".into()));
        assert_eq!(template_owner(&pod), "pod v4-f464dd4db-pxz9j");
        pod.owner = None;
        assert_eq!(template_owner(&pod), "pod v4-f464dd4db-pxz9j");

        assert_eq!(registry("registry.example/v4:missing"), "registry.example");
        assert_eq!(registry("localhost:5000/app"), "localhost:5000");
        assert_eq!(registry("library/nginx"), "docker.io");
        assert_eq!(registry("nginx:1.27"), "docker.io");
        let (_, fix) = PullCause::Unauthorized.describe(&pod, "app", "nginx:1.27");
        assert!(
            fix.contains("create secret docker-registry docker-io-pull --docker-username"),
            "{fix}"
        );
        assert!(fix.contains("recreate pod v4-f464dd4db-pxz9j"), "{fix}");
    }
}
