//! Orchestration: turn the command line into a [`Plan`], read the state,
//! diagnose, render, decide the exit status. All I/O of a run happens here or
//! in `source`.

use std::io::{IsTerminal, Write};

use crate::analysis;
use crate::cli::{Cli, Format};
use crate::error::{Error, Result};
use crate::exit::ExitStatus;
use crate::model::{ClusterState, LabelSelector, Report, Scan};
use crate::plan::{Output, Plan, ProbeMode, Source, What};
use crate::probe::job::Cleanup;
use crate::render::{self, RenderOpts};
use crate::source;

mod scan_probe;

/// What a run prints: one Service's report, or a scan.
pub enum Document {
    One(Box<Report>),
    Scan(Box<Scan>),
}

impl Document {
    pub fn verdict(&self) -> crate::model::Verdict {
        match self {
            Document::One(r) => r.verdict,
            Document::Scan(s) => s.verdict,
        }
    }

    fn verdict_reason(&self) -> &str {
        match self {
            Document::One(r) => &r.verdict_reason,
            Document::Scan(s) => &s.verdict_reason,
        }
    }
}

/// Everything a run produced.
pub struct Outcome {
    pub doc: Document,
    pub status: ExitStatus,
    /// One line per required read that failed (printed on stderr).
    pub errors: Vec<String>,
    /// Other lines for stderr (e.g. how to remove a kept probe).
    pub notes: Vec<String>,
}

/// Read the state the plan names, diagnose, and decide the exit status.
/// Probe Jobs are registered in `cleanup` while they exist, so that an
/// interrupt can delete them.
pub async fn diagnose(plan: &Plan, cleanup: &Cleanup) -> Result<Outcome> {
    if let What::Scan { selector, .. } = &plan.what {
        return scan(plan, selector.as_deref(), cleanup).await;
    }
    let (state, target, client) = match &plan.source {
        Source::Snapshot { path, max_size } => {
            let (path, max) = (path.clone(), *max_size);
            let state = tokio::task::spawn_blocking(move || source::snapshot::load(&path, max))
                .await
                .map_err(Error::SnapshotTask)??;
            (state, plan.what.target("default"), None)
        }
        Source::Live(access) => {
            let saving = source::capture::Saving::start(plan.save_snapshot.as_deref())?;
            let (client, context_ns, server) = source::live::client_and_server(access).await?;
            let target = plan.what.target(&context_ns);
            let Some(t) = &target else {
                return Err(Error::Usage("no Service named".to_owned()));
            };
            // The client namespaces named, whose NetworkPolicies are read.
            let opts = plan.options_for(t);
            let clients: Vec<String> = opts
                .from_namespaces
                .iter()
                .cloned()
                .chain(opts.from_pod.iter().map(|p| p.namespace.clone()))
                .collect();
            let state = source::live::read_kept(
                client.clone(),
                t,
                &clients,
                access.request_timeout.0,
                saving.kept(),
            )
            .await?;
            let captured = source::capture::CaptureTarget::Service {
                namespace: t.namespace.clone(),
                name: t.name.clone(),
            };
            saving.finish(&state, captured, server)?;
            (state, target, Some(client))
        }
    };
    // One Service: `What::One` always has a target (a scan returned above).
    let Some(target) = target else {
        return Err(Error::Usage("no Service named".to_owned()));
    };
    source::check_client_namespaces(&state, &plan.options.from_namespaces)?;
    let options = plan.options_for(&target);
    let mut state = state;
    if let (Some(client), Some(pod)) = (&client, &options.from_pod)
        && let Err(obs) = read_from_pod(client, &mut state, pod).await
    {
        let facts = analysis::Facts::compute(&state, &options);
        let report = analysis::diagnose_observed(&state, &facts, &target, &options, &obs);
        return Ok(outcome(&state, report));
    }
    let facts = analysis::Facts::compute(&state, &options);
    let predicted = analysis::diagnose_with(&state, &facts, &target, &options);
    let observations = match client {
        Some(client) => {
            probe(
                plan, &client, &state, &predicted, &target, &options, cleanup,
            )
            .await
        }
        None => analysis::Observations::default(),
    };
    let report = if observations.attempted() {
        analysis::diagnose_observed(&state, &facts, &target, &options, &observations)
    } else {
        predicted
    };
    let mut out = outcome(&state, report);
    for k in &observations.kept {
        let (ns, job) = k.split_once('/').unwrap_or(("default", k));
        out.notes.push(format!(
            "probe Job {k} kept (--keep-probe); remove it with `kubectl -n {ns} delete job {job}`"
        ));
    }
    Ok(out)
}

/// Run the probe the plan asks for, if any, and gather what it saw.
async fn probe(
    plan: &Plan,
    client: &kube::Client,
    state: &ClusterState,
    predicted: &crate::model::Report,
    target: &analysis::Target,
    options: &analysis::Options,
    cleanup: &Cleanup,
) -> analysis::Observations {
    use crate::analysis::{Reach, plan_views};
    let p = &plan.probe;
    if predicted.name_forms.is_empty() {
        return analysis::Observations::default();
    }
    let run_id = run_id();
    let other_ns = format!("svcdiscover-none-{run_id}");
    let absent = format!("svcdiscover-absent-{run_id}");
    let progress: crate::probe::job::Progress = std::io::stderr()
        .is_terminal()
        .then_some(progress_line as fn(&str));
    let connects = p.connect.then(|| analysis::plan_connects(state, target));
    let connects = connects.as_deref();
    match &p.mode {
        ProbeMode::None => analysis::Observations::default(),
        ProbeMode::Pod => {
            let views = plan_views(
                predicted,
                target,
                options,
                Reach::NamedNamespaces,
                &other_ns,
                &absent,
                None,
            );
            let pp = crate::probe::run::PodProbe {
                run_id,
                image: p.image.clone(),
                pull_secret: p.pull_secret.clone(),
                timeout: p.timeout,
                keep: p.keep,
                explicit: p.explicit,
                now_unix: now_unix(),
            };
            let connects = connects.map(crate::probe::run::Connects::Everywhere);
            crate::probe::run::pods(client, &pp, &views, connects, cleanup, progress).await
        }
        ProbeMode::From { container, .. } => {
            let Some(pod) = &options.from_pod else {
                return analysis::Observations::default();
            };
            let pod_conf = state
                .pods
                .iter()
                .find(|x| x.namespace == pod.namespace && x.name == pod.name)
                .and_then(|x| {
                    analysis::ResolverConf::for_pod(
                        x,
                        &predicted.dns.cluster_domain,
                        predicted.dns.cluster_ip.as_deref(),
                    )
                    .conf()
                    .cloned()
                });
            let Some(pod_conf) = pod_conf else {
                return not_run(
                    &pod.namespace,
                    format!(
                        "pod {pod} uses the node's resolv.conf (dnsPolicy Default or hostNetwork), which the tool cannot predict"
                    ),
                );
            };
            let views = plan_views(
                predicted,
                target,
                options,
                Reach::FromPod,
                &other_ns,
                &absent,
                Some(&pod_conf),
            );
            let from = crate::probe::run::FromPod {
                namespace: &pod.namespace,
                pod: &pod.name,
                container: container.as_deref(),
                image: &p.image,
                run_id: &run_id,
            };
            crate::probe::run::from_pod(client, &from, &views, connects, p.timeout, say_safe).await
        }
        ProbeMode::Local => {
            let Some(dns_pod) = predicted.dns.pods.iter().find(|b| b.ready) else {
                return not_run(
                    "kube-system",
                    "--probe local needs a ready CoreDNS pod (k8s-app=kube-dns in kube-system) to port-forward to, and there is none".to_owned(),
                );
            };
            let domain = &predicted.dns.cluster_domain;
            let views: Vec<_> = plan_views(
                predicted,
                target,
                options,
                Reach::Everywhere,
                &other_ns,
                &absent,
                None,
            )
            .into_iter()
            .map(|v| {
                let ns = v.client.clone().unwrap_or_else(|| other_ns.clone());
                let conf = analysis::ResolverConf::cluster_first(&ns, domain);
                (v, conf)
            })
            .collect();
            crate::probe::run::local(client, ("kube-system", &dns_pod.pod), &views, p.timeout).await
        }
    }
}

/// An explicit probe that cannot run, and why.
/// The `--from` pod, when it lives outside the namespaces read: read it
/// alone into `state`. `Err` is the probe that cannot run without it.
async fn read_from_pod(
    client: &kube::Client,
    state: &mut ClusterState,
    pod: &analysis::PodRef,
) -> std::result::Result<(), analysis::Observations> {
    if state
        .pods
        .iter()
        .any(|p| p.namespace == pod.namespace && p.name == pod.name)
    {
        return Ok(());
    }
    match source::live::read_pod(client, &pod.namespace, &pod.name).await {
        Ok(p) => {
            state.pods.push(p);
            Ok(())
        }
        Err(e) => Err(not_run(
            &pod.namespace,
            format!("cannot read pod {pod}: {e}"),
        )),
    }
}

fn not_run(namespace: &str, message: String) -> analysis::Observations {
    analysis::Observations {
        required: true,
        problems: vec![analysis::ProbeProblem {
            namespace: namespace.to_owned(),
            kind: analysis::ProblemKind::NotRun,
            message,
        }],
        ..analysis::Observations::default()
    }
}

fn say_safe(line: &str) {
    say(&render::safe(line));
}

fn progress_line(line: &str) {
    say(&render::safe(line));
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A short id for this run's probe objects: 8 lowercase hex digits from
/// the clock and the process id (unique enough for concurrent runs).
fn run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() & 0xffff_ffff)
}

fn outcome(state: &ClusterState, report: Report) -> Outcome {
    Outcome {
        status: ExitStatus::of_verdict(report.verdict),
        doc: Document::One(Box::new(report)),
        errors: read_errors(state),
        notes: Vec::new(),
    }
}

/// The stderr lines for the required reads that failed: one per cause (an
/// unreachable server fails every read alike).
fn read_errors(state: &ClusterState) -> Vec<String> {
    let mut errors: Vec<String> = Vec::new();
    let mut by_reason: Vec<(&str, Vec<String>, bool)> = Vec::new();
    for f in state.failures.iter().filter(|f| f.required) {
        match by_reason.iter_mut().find(|(r, _, _)| *r == f.reason) {
            Some((_, whats, _)) => whats.push(f.what()),
            None => by_reason.push((&f.reason, vec![f.what()], f.forbidden)),
        }
    }
    for (reason, whats, forbidden) in by_reason {
        let rbac = if forbidden {
            format!(" (grant RBAC: {})", whats.join("; "))
        } else {
            String::new()
        };
        errors.push(format!("cannot {}: {reason}{rbac}", whats.join(", ")));
    }
    errors
}

/// `--all`/`-A`: read the scope once, diagnose every Service of it; with
/// `--probe pod|local` or `--from`, observe every Service's names with one
/// probe (`scan_probe`).
async fn scan(plan: &Plan, selector: Option<&str>, cleanup: &Cleanup) -> Result<Outcome> {
    scan_probe::check(plan)?;
    let parsed = match selector {
        Some(s) => Some((
            LabelSelector::parse(s).map_err(|e| Error::Usage(e.to_string()))?,
            s,
        )),
        None => None,
    };
    let (state, namespace, client) = match &plan.source {
        Source::Snapshot { path, max_size } => {
            let (path, max) = (path.clone(), *max_size);
            let state = tokio::task::spawn_blocking(move || source::snapshot::load(&path, max))
                .await
                .map_err(Error::SnapshotTask)??;
            (state, plan.what.scan_namespace("default"), None)
        }
        Source::Live(access) => {
            let saving = source::capture::Saving::start(plan.save_snapshot.as_deref())?;
            let (client, context_ns, server) = source::live::client_and_server(access).await?;
            let namespace = plan.what.scan_namespace(&context_ns);
            let scope = source::ScanScope {
                namespace: namespace.clone(),
                selector: selector.map(str::to_owned),
                context_namespace: Some(context_ns.clone()),
                clients: plan
                    .options
                    .from_namespaces
                    .iter()
                    .cloned()
                    .chain(match &plan.probe.mode {
                        crate::plan::ProbeMode::From {
                            namespace: Some(ns),
                            ..
                        } => Some(ns.clone()),
                        _ => None,
                    })
                    .collect(),
            };
            // Each kind listed once for the scope; the analysis filters the
            // Services in scope by namespace and labels, as `targets` lists.
            let read = source::scope::read_scope_kept(
                client.clone(),
                &scope,
                access.request_timeout.0,
                source::scope::PAGE,
                saving.kept(),
            )
            .await?;
            let captured = source::capture::CaptureTarget::Scan {
                namespace: namespace.clone(),
                label_selector: selector.map(str::to_owned),
            };
            saving.finish(&read.state, captured, server)?;
            (read.state, namespace, Some(client))
        }
    };
    source::check_client_namespaces(&state, &plan.options.from_namespaces)?;
    if let Some(client) = client.filter(|_| plan.probe.mode != ProbeMode::None) {
        let selector = parsed.as_ref().map(|(s, t)| (s, *t));
        let p = scan_probe::probed(
            plan,
            &client,
            state,
            namespace.as_deref(),
            selector,
            cleanup,
        )
        .await;
        return Ok(Outcome {
            status: ExitStatus::of_verdict(p.scan.verdict),
            errors: read_errors(&p.state),
            doc: Document::Scan(Box::new(p.scan)),
            notes: p.notes,
        });
    }
    let scan = analysis::scan(
        &state,
        &plan.options,
        namespace.as_deref(),
        parsed.as_ref().map(|(s, t)| (s, *t)),
    );
    Ok(Outcome {
        status: ExitStatus::of_verdict(scan.verdict),
        doc: Document::Scan(Box::new(scan)),
        errors: read_errors(&state),
        notes: Vec::new(),
    })
}

/// Write the report to `w` as the plan's output says; JSON and YAML are
/// written as they are encoded, so a scan's document is never whole in
/// memory.
pub fn write(doc: &Document, out: &Output, w: &mut impl Write) -> Result<()> {
    let opts = RenderOpts {
        color: out.color,
        wide: out.format == Format::Wide,
        no_headers: out.no_headers,
        width: out.width,
    };
    let text = match (doc, out.format) {
        (Document::One(r), Format::Json) => return render::write_json(r, w),
        (Document::One(r), Format::Yaml) => return render::write_yaml(r, w),
        (Document::Scan(s), Format::Json) => return render::write_json(s, w),
        (Document::Scan(s), Format::Yaml) => return render::write_yaml(s, w),
        (Document::One(r), Format::Table | Format::Wide) => render::table(r, &opts),
        (Document::Scan(s), Format::Table | Format::Wide) => render::scan_table(s, &opts),
        (Document::One(r), Format::Junit) => render::junit_one(r, out.fail_on),
        (Document::Scan(s), Format::Junit) => render::junit_scan(s, out.fail_on),
    };
    w.write_all(text.as_bytes()).map_err(Error::Output)
}

/// Run the command: plan, diagnose, print, return the exit status.
pub async fn run(cli: &Cli, cleanup: &Cleanup) -> Result<ExitStatus> {
    let plan = Plan::from_cli(cli);
    let mut outcome = match plan.wait {
        Some(limit) => crate::wait::diagnose(&plan, cleanup, limit).await?,
        None => diagnose(&plan, cleanup).await?,
    };
    outcome.status = ExitStatus::gated(outcome.doc.verdict(), plan.fail_on);
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = write(&outcome.doc, &plan.output, &mut stdout)
        .and_then(|()| stdout.flush().map_err(Error::Output));
    match written {
        // A reader that stopped early (`| head`) does not change the verdict.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(outcome.status);
        }
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    for e in &outcome.errors {
        say(&format!("error: {}", render::safe(e)));
    }
    for n in &outcome.notes {
        say(&render::safe(n));
    }
    if outcome.status == ExitStatus::Unknown && outcome.errors.is_empty() {
        say(&format!(
            "error: verdict unknown: {}",
            render::safe(outcome.doc.verdict_reason())
        ));
    }
    Ok(outcome.status)
}

/// Write one line to stderr. A stderr that cannot be written (closed, full)
/// must not change the exit code, so the error is dropped: unlike
/// `eprintln!`, which panics.
pub fn say(line: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// `kubectl-svcdiscover __complete WORDS…` (the completion shim's call):
/// the candidates for the last word, in Cobra's protocol. The cluster's names
/// are read within [`complete::LIVE_TIMEOUT`]; any failure (no kubeconfig, an
/// unreachable server, a refused list, the time running out) gives no
/// candidate, only the directive: a completion never prints an error.
pub fn complete(words: &[std::ffi::OsString]) -> String {
    use crate::cli::complete::{self, Answer, Lookup, Request};
    use source::live::NameKind;
    let words: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let live = match complete::request(&words) {
        Request::Done(answer) => return answer.render(),
        Request::Live(live) => live,
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Answer::nothing().render();
    };
    let read = async {
        let (client, context_ns) = source::live::client(&live.access).await?;
        let (kind, namespace) = match &live.lookup {
            Lookup::Services { namespace } => (NameKind::Services, namespace.clone()),
            Lookup::Pods { namespace } => (NameKind::RunningPods, namespace.clone()),
            Lookup::Namespaces => (NameKind::Namespaces, None),
        };
        let namespace = match kind {
            NameKind::Namespaces => None,
            _ => Some(namespace.unwrap_or(context_ns)),
        };
        let names = source::live::names(&client, kind, namespace.as_deref());
        if live.or_namespaces {
            let (names, namespaces) = tokio::join!(
                names,
                source::live::names(&client, NameKind::Namespaces, None)
            );
            // The namespaces are only a fall-back: their failure is no failure.
            Ok::<_, Error>((names?, namespaces.unwrap_or_default()))
        } else {
            Ok((names.await?, Vec::new()))
        }
    };
    let answer = match runtime
        .block_on(async { tokio::time::timeout(complete::LIVE_TIMEOUT, read).await })
    {
        Ok(Ok((names, namespaces))) => live.answer(&names, &namespaces),
        _ => Answer::nothing(),
    };
    // Do not wait for a request the timeout abandoned.
    runtime.shutdown_background();
    answer.render()
}

/// `--completions SHELL`: the completion script generated from the
/// command line's definition (completions/ holds the committed ones).
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-svcdiscover", &mut out);
    out
}
