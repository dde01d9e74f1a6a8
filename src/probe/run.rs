//! Running the probe a plan asks for and turning what it printed into
//! [`Observations`] for the analysis. I/O only; what to ask comes from
//! `analysis::plan_views`, how to judge the answers from `analysis`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::Client;

use super::job::{self, Cleanup, JobSpecInput, ProbeError, Progress};
use super::{Connect, ProbeRequest, TypedName, check_address, observe, parse, script};
use crate::analysis::{
    ConnectPlan, Observations, ProbeProblem, ProblemKind, View, ViewPlan, address_key,
};
use crate::model::{
    Cleanup as CleanupState, Connection, ProbeClient, ProbeMode, ProbeSummary, Via,
};

/// Per-query timeout handed to dig/nslookup, in seconds.
const QUERY_TIMEOUT_SECS: u32 = 2;

/// At most this many probe Jobs at once (a scan of many namespaces): the
/// next namespace's Job is created when one of these is done and deleted.
pub const MAX_JOBS_IN_FLIGHT: usize = 4;
/// At most this many typed names per exec: a view with more (a scan of a
/// namespace with many Services) is split over several execs.
pub const MAX_NAMES_PER_EXEC: usize = 100;
/// Nor a longer script per exec: it travels in the exec request's URL and
/// is one argument of `sh -c` (Linux caps one argument at 128 KiB).
pub const MAX_SCRIPT_BYTES: usize = 48 * 1024;
/// At most this many execs at once in one probe pod.
pub const MAX_EXECS_IN_FLIGHT: usize = 4;
/// At most this many TCP connections (`--connect`) in an exec of their own,
/// when they do not fit beside the first part's lookups (a scan).
pub const MAX_CONNECTS_PER_EXEC: usize = 400;

/// The TCP connections `--connect` asks the probe pods to open.
#[derive(Debug, Clone, Copy)]
pub enum Connects<'a> {
    /// The same connections from every client namespace (one Service).
    Everywhere(&'a [ConnectPlan]),
    /// Per client namespace: a scan opens, from each, the connections of
    /// the Services observed there.
    PerNamespace(&'a BTreeMap<String, Vec<ConnectPlan>>),
}

impl<'a> Connects<'a> {
    fn in_namespace(self, ns: &str) -> &'a [ConnectPlan] {
        match self {
            Connects::Everywhere(plans) => plans,
            Connects::PerNamespace(map) => map.get(ns).map(Vec::as_slice).unwrap_or_default(),
        }
    }
}

/// One exec's work in a pod: a part of view `view` (by index), and the
/// connections it opens, if it is the part that opens them.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    view: usize,
    plan: ViewPlan,
    connects: Option<Vec<ConnectPlan>>,
    /// The part carries lookups (else only connections).
    lookups: bool,
}

/// The execs of one pod: each view's parts ([`exec_chunks`]); the first
/// part of the pod's own view ([`connect_view`]) also opens the
/// connections when its script stays within [`MAX_SCRIPT_BYTES`] with
/// them (every single-Service run), else they get execs of their own, at
/// most [`MAX_CONNECTS_PER_EXEC`] each.
fn parts_of(views: &[&ViewPlan], connects: Option<&[ConnectPlan]>) -> Vec<Part> {
    let mut parts: Vec<Part> = views
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            exec_chunks(v).into_iter().map(move |plan| Part {
                view: i,
                plan,
                connects: None,
                lookups: true,
            })
        })
        .collect();
    let Some(plans) = connects else {
        return parts;
    };
    let carrier = connect_view(views);
    let Some(first) = parts.iter_mut().find(|p| p.view == carrier) else {
        return parts;
    };
    let fits = command_for(&first.plan, plans)
        .ok()
        .and_then(|cmd| cmd.last().map(String::len))
        .is_some_and(|len| len <= MAX_SCRIPT_BYTES);
    if fits || plans.is_empty() {
        first.connects = Some(plans.to_vec());
        return parts;
    }
    let empty = ViewPlan {
        names: Vec::new(),
        wildcard_checks: Vec::new(),
        ..first.plan.clone()
    };
    for group in plans.chunks(MAX_CONNECTS_PER_EXEC) {
        parts.push(Part {
            view: carrier,
            plan: empty.clone(),
            connects: Some(group.to_vec()),
            lookups: false,
        });
    }
    parts
}

/// `view` split into the parts one exec each runs: at most
/// [`MAX_NAMES_PER_EXEC`] names and about [`MAX_SCRIPT_BYTES`] of script
/// each, in order; the wildcard checks go with the first. One part when
/// the view is small (every single-Service run).
pub fn exec_chunks(view: &ViewPlan) -> Vec<ViewPlan> {
    let base = script::base_bytes();
    let checks: usize = view.wildcard_checks.iter().map(|w| 14 + 2 * w.len()).sum();
    let empty = ViewPlan {
        names: Vec::new(),
        wildcard_checks: Vec::new(),
        ..view.clone()
    };
    let mut chunks = Vec::new();
    let mut cur = ViewPlan {
        names: Vec::new(),
        ..view.clone()
    };
    let mut bytes = base + checks;
    for (typed, candidates) in &view.names {
        let b = script::name_bytes(typed, candidates);
        if !cur.names.is_empty()
            && (cur.names.len() >= MAX_NAMES_PER_EXEC || bytes + b > MAX_SCRIPT_BYTES)
        {
            chunks.push(std::mem::replace(&mut cur, empty.clone()));
            bytes = base;
        }
        bytes += b;
        cur.names.push((typed.clone(), candidates.clone()));
    }
    chunks.push(cur);
    chunks
}

/// The parts of one view observed by several execs, as one view.
fn absorb(into: &mut Option<View>, part: View) {
    match into {
        Some(v) => {
            v.names.extend(part.names);
            v.wildcard_hits.extend(part.wildcard_hits);
        }
        None => *into = Some(part),
    }
}

/// Everything the pod probe needs besides the views.
#[derive(Debug, Clone)]
pub struct PodProbe {
    pub run_id: String,
    pub image: String,
    pub pull_secret: Option<String>,
    pub timeout: Duration,
    pub keep: bool,
    pub explicit: bool,
    pub now_unix: i64,
}

/// The names a view asks, with their candidates, as the script takes them.
fn typed_names(view: &ViewPlan) -> Vec<TypedName> {
    view.names
        .iter()
        .map(|(typed, candidates)| TypedName {
            typed: typed.clone(),
            candidates: candidates.clone(),
        })
        .collect()
}

/// The script for one view, and the command that runs it; `connects`: the
/// TCP connections it also opens (`--connect`).
fn command_for(view: &ViewPlan, connects: &[ConnectPlan]) -> Result<Vec<String>, String> {
    let names = typed_names(view);
    let targets: Vec<(String, i32)> = connects
        .iter()
        .map(|c| (c.address.clone(), c.port))
        .collect();
    let req = ProbeRequest::new(names, view.wildcard_checks.clone(), QUERY_TIMEOUT_SECS)
        .and_then(|r| r.with_connects(&targets))
        .map_err(|e| e.to_string())?;
    let sh = script(&req);
    let mut cmd = Vec::new();
    if let Some(search) = &view.search_override {
        // glibc reads LOCALDOMAIN in place of resolv.conf's search line.
        cmd.push("env".to_owned());
        cmd.push(format!("LOCALDOMAIN={}", search.join(" ")));
    }
    cmd.extend(["sh".to_owned(), "-c".to_owned(), sh]);
    Ok(cmd)
}

/// The connections `--connect` asked for, when it did: only those whose
/// address the script can carry (an IP literal).
fn connect_plans(connect: Option<&[ConnectPlan]>) -> Option<Vec<ConnectPlan>> {
    connect.map(|plans| {
        plans
            .iter()
            .filter(|p| check_address(&p.address).is_ok())
            .cloned()
            .collect()
    })
}

/// Which view of one probe pod also opens the connections: the one of the
/// pod's own resolver (no search list imposed), else the first.
fn connect_view(views: &[&ViewPlan]) -> usize {
    views
        .iter()
        .position(|v| v.search_override.is_none())
        .unwrap_or(0)
}

/// The planned connections joined with what the script recorded.
pub fn connections(from: &str, plans: &[ConnectPlan], seen: &[Connect]) -> Vec<Connection> {
    plans
        .iter()
        .filter_map(|p| {
            let c = seen.iter().find(|c| {
                address_key(&c.address) == address_key(&p.address) && i32::from(c.port) == p.port
            })?;
            Some(p.opened(from, c.port, c.result, &c.detail))
        })
        .collect()
}

/// Turn one exec's output into a view. An exec cut short by the probe
/// timeout gives the names it finished (each with a note), or the timeout
/// when it finished none.
fn view_of(
    plan: &ViewPlan,
    out: &job::ExecOutput,
    via: Via,
) -> Result<(View, Vec<Connect>), ProbeError> {
    let parsed = if out.cut_short {
        super::parse_partial(&out.stdout)
    } else {
        parse(&out.stdout)
    };
    let parsed = parsed.map_err(|e| {
        let err = out.stderr.lines().next().unwrap_or_default();
        let status = out.status.as_deref().unwrap_or_default();
        ProbeError::Failed(format!(
            "the probe script's output cannot be read ({e}){}{}",
            if status.is_empty() || status == "Success" {
                String::new()
            } else {
                format!("; exec: {status}")
            },
            if err.is_empty() {
                String::new()
            } else {
                format!("; stderr: {}", super::show(err))
            }
        ))
    })?;
    let mut view = View {
        client: plan.client.clone(),
        from_pod: plan.from_pod.clone(),
        search_override: plan.search_override.clone(),
        observed_in: Some(plan.run_in.clone()),
        ..View::default()
    };
    let asks = parsed.tools.contains_key("dig") || parsed.busybox_nslookup;
    for (typed, candidates) in &plan.names {
        // Cut short: only names whose lookup and per-candidate queries all
        // finished (a partial set would misstate why the name failed).
        let finished = parsed.name(typed).is_some_and(|n| n.app.is_some())
            && (!asks || candidates.iter().all(|c| parsed.rcode(c).is_some()));
        if out.cut_short && !finished {
            continue;
        }
        if let Some(mut o) = observe(&parsed, typed, via) {
            if out.cut_short {
                o.notes.push(
                    "the probe timeout ran out before every name was looked up; this one finished"
                        .to_owned(),
                );
            }
            view.names.insert(typed.clone(), o);
        }
    }
    if out.cut_short && view.names.is_empty() && !plan.names.is_empty() {
        return Err(ProbeError::Timeout(format!(
            "no lookup finished within the probe timeout in {}",
            plan.run_in
        )));
    }
    for hit in parsed.wildcard_hits() {
        let addrs = match parsed.rcode(hit) {
            Some(super::Rcode::Noerror(a)) => a,
            _ => Vec::new(),
        };
        view.wildcard_hits.push((hit.to_owned(), addrs));
    }
    Ok((view, parsed.connections))
}

fn problem(namespace: &str, e: &ProbeError) -> ProbeProblem {
    let kind = match e {
        ProbeError::Forbidden { verb, resource, .. } => ProblemKind::Forbidden {
            verb: (*verb).to_owned(),
            resource: (*resource).to_owned(),
        },
        ProbeError::Rejected(_) => ProblemKind::Rejected,
        ProbeError::ImagePull { image, .. } => ProblemKind::ImagePull {
            image: image.clone(),
        },
        ProbeError::Timeout(_) => ProblemKind::Timeout,
        ProbeError::Failed(_) | ProbeError::NoShell(_) => ProblemKind::NotRun,
    };
    let message = match e {
        ProbeError::ImagePull { message, .. } => message.clone(),
        other => other.to_string(),
    };
    ProbeProblem {
        namespace: namespace.to_owned(),
        kind,
        message,
    }
}

/// One probe Job per namespace the views run in; every view of that
/// namespace is one exec in it (or a few, [`exec_chunks`], when it has many
/// names). At most [`MAX_JOBS_IN_FLIGHT`] namespaces at once, each Job
/// deleted as soon as its namespace is done (unless kept); each namespace
/// has the probe timeout from the moment its turn comes.
pub async fn pods(
    client: &Client,
    probe: &PodProbe,
    views: &[ViewPlan],
    connect: Option<Connects<'_>>,
    cleanup: &Cleanup,
    progress: Progress,
) -> Observations {
    use futures::StreamExt as _;
    let begun = Instant::now();
    let mut namespaces: Vec<&str> = Vec::new();
    for v in views {
        if !namespaces.contains(&v.run_in.as_str()) {
            namespaces.push(&v.run_in);
        }
    }
    let runs = futures::stream::iter(namespaces.iter().copied()).map(|ns| async move {
        let until = Instant::now() + probe.timeout;
        // For the expiry annotation: now, not when the run began.
        let waited = i64::try_from(begun.elapsed().as_secs()).unwrap_or(0);
        let input = JobSpecInput {
            namespace: ns.to_owned(),
            run_id: probe.run_id.clone(),
            image: probe.image.clone(),
            pull_secret: probe.pull_secret.clone(),
            timeout: probe.timeout,
            now_unix: probe.now_unix.saturating_add(waited),
        };
        job::sweep(client, ns, input.now_unix).await;
        let mine: Vec<&ViewPlan> = views.iter().filter(|v| v.run_in == ns).collect();
        let mut started = None;
        let result = async {
            let running = job::start(client, &input, cleanup, until, progress).await?;
            started = Some(running.pod.clone());
            // The views' execs run side by side in the one pod (at most
            // MAX_EXECS_IN_FLIGHT at once); the first part of one view
            // also opens the connections (`--connect`).
            let pod = running.pod.as_str();
            let plans = connect_plans(connect.map(|c| c.in_namespace(ns)));
            let parts = parts_of(&mine, plans.as_deref());
            let got: Vec<_> = futures::stream::iter(parts.iter())
                .map(|part| async move {
                    let wanted = part.connects.as_deref();
                    let r = async {
                        let cmd = command_for(&part.plan, wanted.unwrap_or_default())
                            .map_err(ProbeError::Failed)?;
                        let out =
                            job::exec(client, ns, pod, Some(job::CONTAINER), cmd, until).await?;
                        let (view, seen) = view_of(&part.plan, &out, Via::ProbePod)?;
                        Ok::<_, ProbeError>((view, wanted.map(|p| connections(ns, p, &seen))))
                    }
                    .await;
                    (part, r)
                })
                .buffered(MAX_EXECS_IN_FLIGHT)
                .collect()
                .await;
            // Keep what was observed; a part that failed is the problem.
            let mut merged: Vec<Option<View>> = vec![None; mine.len()];
            let mut conns: Option<Vec<Connection>> = None;
            let mut first_error = None;
            for (part, g) in got {
                match g {
                    Ok((v, c)) => {
                        if part.lookups {
                            absorb(&mut merged[part.view], v);
                        }
                        if let Some(c) = c {
                            conns.get_or_insert_with(Vec::new).extend(c);
                        }
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            let views: Vec<View> = merged.into_iter().flatten().collect();
            Ok::<_, ProbeError>((views, conns, first_error))
        }
        .await;
        // This namespace is done: its Job goes now, so that no more than
        // MAX_JOBS_IN_FLIGHT exist at once. One that cannot be deleted
        // stays registered for the cleanup below.
        let created = if probe.keep {
            None
        } else {
            cleanup.delete_now(ns, &input.job_name()).await
        };
        (ns.to_owned(), (started, result), created.is_some())
    });
    let results: Vec<_> = runs.buffered(MAX_JOBS_IN_FLIGHT).collect().await;
    let mut obs = Observations {
        required: probe.explicit,
        ..Observations::default()
    };
    let mut clients = Vec::new();
    let mut deleted_any = false;
    for (ns, (pod, result), deleted) in results {
        deleted_any |= deleted;
        match result {
            Ok((views, conns, error)) => {
                obs.views.extend(views);
                if let Some(c) = conns {
                    obs.connections.get_or_insert_with(Vec::new).extend(c);
                    obs.connected_from.push(ns.clone());
                }
                if let Some(e) = error {
                    obs.problems.push(problem(&ns, &e));
                }
            }
            Err(e) => obs.problems.push(problem(&ns, &e)),
        }
        clients.push(ProbeClient {
            namespace: ns.clone(),
            pod,
            via: Via::ProbePod,
        });
    }
    let mut cleanup_state = if deleted_any {
        CleanupState::Deleted
    } else {
        CleanupState::None
    };
    if cleanup.pending() {
        if probe.keep {
            // Only the Jobs that were created: forgotten, so that nothing
            // (not even main's interrupt path) deletes them.
            obs.kept = cleanup.release();
            cleanup_state = CleanupState::Kept;
        } else {
            let failed = cleanup.run().await;
            cleanup_state = if failed.is_empty() {
                CleanupState::Deleted
            } else {
                for f in &failed {
                    tracing::warn!(target: "svcdiscover", "cannot delete probe Job {f}");
                }
                CleanupState::Failed
            };
        }
    }
    obs.summary = Some(ProbeSummary {
        mode: ProbeMode::Pod,
        image: Some(probe.image.clone()),
        clients,
        cleanup: cleanup_state,
    });
    obs
}

/// Where `--from` runs the script.
#[derive(Debug, Clone)]
pub struct FromPod<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: Option<&'a str>,
    /// For the ephemeral container, when the pod has no shell.
    pub image: &'a str,
    pub run_id: &'a str,
}

/// Observe from an existing pod (`--from`): exec into it; when it has no
/// shell, add an ephemeral debug container (after saying so on stderr:
/// it cannot be removed) and exec into that.
pub async fn from_pod(
    client: &Client,
    from: &FromPod<'_>,
    views: &[ViewPlan],
    connect: Option<&[ConnectPlan]>,
    timeout: Duration,
    say: fn(&str),
) -> Observations {
    let until = Instant::now() + timeout;
    let plans = connect_plans(connect);
    let execs = Execs {
        views,
        connect: plans.as_deref(),
        from: format!("{}/{}", from.namespace, from.pod),
        until,
    };
    let (namespace, pod) = (from.namespace, from.pod);
    let mut via = Via::Exec;
    // As kubectl: the default-container annotation, else the first one.
    let container = match from.container {
        Some(c) => Some(c.to_owned()),
        None => job::default_container(client, namespace, pod).await,
    };
    let mut obs = exec_views(client, namespace, pod, container.as_deref(), &execs, via).await;
    if obs
        .problems
        .first()
        .is_some_and(|p| p.message.contains("has no shell"))
    {
        say(&format!(
            "note: pod {namespace}/{pod} has no shell; adding an ephemeral container with {} to run the lookups in its network and resolv.conf. Ephemeral containers cannot be removed from a pod, and Pod Security checks them like the pod.",
            from.image
        ));
        via = Via::Ephemeral;
        obs = match job::add_ephemeral(
            client,
            namespace,
            pod,
            container.as_deref(),
            from.image,
            from.run_id,
            until,
        )
        .await
        {
            Ok(name) => {
                say(&format!(
                    "note: added ephemeral container {name} to pod {namespace}/{pod}"
                ));
                exec_views(client, namespace, pod, Some(&name), &execs, via).await
            }
            Err(e) => Observations {
                required: true,
                problems: vec![problem(namespace, &e)],
                ..Observations::default()
            },
        };
    }
    obs.summary = Some(ProbeSummary {
        mode: ProbeMode::From,
        image: (via == Via::Ephemeral).then(|| from.image.to_owned()),
        clients: vec![ProbeClient {
            namespace: namespace.to_owned(),
            pod: Some(pod.to_owned()),
            via,
        }],
        cleanup: CleanupState::None,
    });
    obs
}

/// What to run in a `--from` pod: the views, the connections (opened by
/// the first view), the `from` they are reported with, and the deadline.
struct Execs<'a> {
    views: &'a [ViewPlan],
    connect: Option<&'a [ConnectPlan]>,
    from: String,
    until: Instant,
}

async fn exec_views(
    client: &Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    execs: &Execs<'_>,
    via: Via,
) -> Observations {
    let mut obs = Observations {
        required: true,
        ..Observations::default()
    };
    let mut result = Ok(());
    let refs: Vec<&ViewPlan> = execs.views.iter().collect();
    let all_parts = parts_of(&refs, execs.connect);
    for i in 0..execs.views.len() {
        // One exec per part of the view (one part unless it has many names).
        let mut merged = None;
        for p in all_parts.iter().filter(|p| p.view == i) {
            let (part, wanted) = (&p.plan, p.connects.as_deref());
            let r = async {
                let cmd =
                    command_for(part, wanted.unwrap_or_default()).map_err(ProbeError::Failed)?;
                let out = job::exec(client, namespace, pod, container, cmd, execs.until).await?;
                if out.stdout.trim().is_empty() {
                    let raw = out
                        .status
                        .clone()
                        .or_else(|| out.stderr.lines().next().map(str::to_owned))
                        .unwrap_or_else(|| "no output".to_owned());
                    return Err(job::exec_failure(
                        &format!("the pod {namespace}/{pod}"),
                        &format!("the pod {namespace}/{pod} cannot run the probe script"),
                        &raw,
                    ));
                }
                view_of(part, &out, via)
            }
            .await;
            match r {
                Ok((view, seen)) => {
                    if let Some(c) = wanted {
                        obs.connections
                            .get_or_insert_with(Vec::new)
                            .extend(connections(&execs.from, c, &seen));
                        if !obs.connected_from.contains(&execs.from) {
                            obs.connected_from.push(execs.from.clone());
                        }
                    }
                    if p.lookups {
                        absorb(&mut merged, view);
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Some(view) = merged {
            obs.views.push(view);
        }
        if result.is_err() {
            break;
        }
    }
    if let Err(e) = &result {
        obs.problems.push(problem(namespace, e));
    }
    obs
}

/// `--probe local`: no pod; every view resolved in-process through **one**
/// port-forward to the CoreDNS pod `dns_pod` (namespace, name), each
/// absolute name asked once whatever the number of views.
pub async fn local(
    client: &Client,
    dns_pod: (&str, &str),
    views: &[(ViewPlan, crate::analysis::ResolverConf)],
    timeout: Duration,
) -> Observations {
    let mut obs = Observations {
        required: true,
        ..Observations::default()
    };
    let mut reqs = Vec::new();
    for (plan, conf) in views {
        match ProbeRequest::new(
            typed_names(plan),
            plan.wildcard_checks.clone(),
            QUERY_TIMEOUT_SECS,
        ) {
            Ok(r) => reqs.push((r, conf.clone())),
            Err(e) => {
                obs.problems
                    .push(problem(dns_pod.0, &ProbeError::Failed(e.to_string())));
                break;
            }
        }
    }
    match super::resolve_local_many(client.clone(), dns_pod, &reqs, timeout).await {
        Ok(all) => {
            for ((plan, _), lo) in views.iter().zip(all) {
                let mut view = View {
                    client: plan.client.clone(),
                    from_pod: plan.from_pod.clone(),
                    search_override: None,
                    observed_in: None,
                    ..View::default()
                };
                for n in &lo.names {
                    view.names.insert(n.typed.clone(), n.observed.clone());
                }
                for hit in &lo.wildcard_hits {
                    let addrs = lo
                        .asked
                        .iter()
                        .find(|(n, _)| n == hit)
                        .and_then(|(_, a)| match a {
                            super::LocalAnswer::Data(a) => Some(a.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    view.wildcard_hits.push((hit.clone(), addrs));
                }
                obs.views.push(view);
            }
        }
        Err(e) => {
            let p = match &e {
                super::LocalError::Forbidden { namespace, .. } => ProbeProblem {
                    namespace: namespace.clone(),
                    kind: ProblemKind::Forbidden {
                        verb: e.refused_verb().unwrap_or("create").to_owned(),
                        resource: "pods/portforward".to_owned(),
                    },
                    message: e.to_string(),
                },
                super::LocalError::Timeout { .. } => ProbeProblem {
                    namespace: dns_pod.0.to_owned(),
                    kind: ProblemKind::Timeout,
                    message: e.to_string(),
                },
                _ => ProbeProblem {
                    namespace: dns_pod.0.to_owned(),
                    kind: ProblemKind::NotRun,
                    message: e.to_string(),
                },
            };
            obs.problems.push(p);
        }
    }
    obs.summary = Some(ProbeSummary {
        mode: ProbeMode::Local,
        image: None,
        clients: vec![ProbeClient {
            namespace: dns_pod.0.to_owned(),
            pod: Some(dns_pod.1.to_owned()),
            via: Via::Local,
        }],
        cleanup: CleanupState::None,
    });
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(names: usize, label_len: usize) -> ViewPlan {
        let label = |i: usize| {
            let s = format!("s{i}-");
            format!("{s}{}", "x".repeat(label_len.saturating_sub(s.len())))
        };
        ViewPlan {
            client: Some("shop".into()),
            from_pod: None,
            run_in: "shop".into(),
            search_override: None,
            names: (0..names)
                .map(|i| {
                    let typed = label(i);
                    let cands = [
                        "shop.svc.cluster.local",
                        "svc.cluster.local",
                        "cluster.local",
                    ]
                    .iter()
                    .map(|d| format!("{typed}.{d}."))
                    .chain([format!("{typed}.")])
                    .collect();
                    (typed, cands)
                })
                .collect(),
            wildcard_checks: vec!["svcdiscover-absent-x1.shop.svc.cluster.local.".into()],
        }
    }

    #[test]
    fn a_small_view_is_one_exec() {
        let v = view(4, 10);
        assert_eq!(exec_chunks(&v), [v]);
    }

    #[test]
    fn many_names_are_split_in_order_with_the_wildcard_checks_once() {
        let v = view(250, 10);
        let parts = exec_chunks(&v);
        let sizes: Vec<usize> = parts.iter().map(|p| p.names.len()).collect();
        assert_eq!(sizes, [MAX_NAMES_PER_EXEC, MAX_NAMES_PER_EXEC, 50]);
        let again: Vec<_> = parts.iter().flat_map(|p| p.names.clone()).collect();
        assert_eq!(again, v.names, "every name once, in order");
        assert_eq!(parts[0].wildcard_checks, v.wildcard_checks);
        assert!(parts[1..].iter().all(|p| p.wildcard_checks.is_empty()));
        assert!(
            parts
                .iter()
                .all(|p| p.run_in == v.run_in && p.client == v.client)
        );
    }

    #[test]
    fn long_names_split_by_the_size_of_the_script() {
        // 63-character labels: each name's lines take ~1.4 KB.
        let v = view(100, 63);
        let parts = exec_chunks(&v);
        assert!(parts.len() > 1, "{}", parts.len());
        for p in &parts {
            let cmd = command_for(p, &[]).unwrap();
            let sh = cmd.last().unwrap();
            assert!(sh.len() <= MAX_SCRIPT_BYTES, "{} bytes", sh.len());
        }
        assert_eq!(
            parts.iter().map(|p| p.names.len()).sum::<usize>(),
            v.names.len()
        );
    }

    fn plans(n: usize) -> Vec<ConnectPlan> {
        (0..n)
            .map(|i| ConnectPlan {
                address: format!("10.1.{}.{}", i / 250, i % 250 + 1),
                port: 8080,
                service_port: 80,
                target: crate::model::ConnectionTarget::Endpoint,
                pod: None,
            })
            .collect()
    }

    #[test]
    fn connections_ride_with_the_own_views_first_part_when_they_fit() {
        let own = view(4, 10);
        let other = ViewPlan {
            client: None,
            search_override: Some(vec!["x.svc.cluster.local".into()]),
            ..view(4, 10)
        };
        let c = plans(20);
        let parts = parts_of(&[&other, &own], Some(&c));
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].connects, None);
        assert_eq!((parts[1].view, parts[1].connects.as_ref()), (1, Some(&c)));
        assert!(parts.iter().all(|p| p.lookups));
        // Asked with nothing to connect to: the part still says it opened
        // its (no) connections.
        assert_eq!(parts_of(&[&own], Some(&[]))[0].connects, Some(Vec::new()));
        assert!(parts_of(&[&own], None).iter().all(|p| p.connects.is_none()));
    }

    #[test]
    fn many_connections_get_execs_of_their_own_within_the_script_limit() {
        let own = view(250, 10);
        let c = plans(1000);
        let parts = parts_of(&[&own], Some(&c));
        let lookups: Vec<&Part> = parts.iter().filter(|p| p.lookups).collect();
        assert_eq!(lookups.len(), exec_chunks(&own).len());
        assert!(lookups.iter().all(|p| p.connects.is_none()));
        let only: Vec<&Part> = parts.iter().filter(|p| !p.lookups).collect();
        assert_eq!(only.len(), 1000_usize.div_ceil(MAX_CONNECTS_PER_EXEC));
        let again: Vec<ConnectPlan> = only
            .iter()
            .flat_map(|p| p.connects.clone().unwrap())
            .collect();
        assert_eq!(again, c, "every connection once, in order");
        for p in &only {
            assert!(p.plan.names.is_empty() && p.plan.wildcard_checks.is_empty());
            let cmd = command_for(&p.plan, p.connects.as_deref().unwrap()).unwrap();
            assert!(cmd.last().unwrap().len() <= MAX_SCRIPT_BYTES);
        }
    }
}
