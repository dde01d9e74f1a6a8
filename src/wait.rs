//! `--wait DURATION`: re-check until the Service (or every scanned Service)
//! passes the `--fail-on` gate, or the time runs out (docs/ci.md).
//!
//! Driven by watches, not by a timer: before the first check, the kinds
//! that decide the verdict in the read's scope are watched (the Services,
//! the EndpointSlices and the pods of the namespace, or of every namespace
//! for `-A`, and the cluster DNS's EndpointSlices), from the
//! resourceVersion of a one-item list, so that no change after it is
//! missed. A change starts a re-check once the changes have paused for
//! [`QUIET`] (at most [`BURST`] after the first). A re-check is a whole
//! diagnosis through the usual readers.
//!
//! A watch the server closes (its timeout) is opened again from the last
//! resourceVersion seen; one that expired (410 Gone), failed or is refused
//! (forbidden) is opened again after a backoff ([`RETRY_MIN`] doubling up to
//! [`RETRY_MAX`]), and since changes may have been missed meanwhile, every
//! such retry also re-checks: a watch that stays forbidden degrades to a
//! re-read every [`RETRY_MAX`], said once on stderr.
//!
//! The probe Job (the plan's pod probe) runs only once the prediction
//! passes the gate; when what it observes fails the gate, the wait goes on
//! and the probe is tried again on the next change or after a backoff
//! ([`PROBE_RETRY_MIN`] doubling up to [`RETRY_MAX`]): DNS caches change
//! without any event to watch.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::app::{self, Document, Outcome};
use crate::error::{Error, Result};
use crate::exit::{ExitStatus, FailOn};
use crate::model::{KUBE_DNS, KUBE_SYSTEM, Report, SERVICE_NAME_LABEL, Severity, Verdict};
use crate::plan::{Plan, ProbeMode, Source, What};
use crate::probe::job::{Cleanup, LABEL_RUN};
use crate::render;

/// How long the changes must pause before a re-check.
pub const QUIET: Duration = Duration::from_millis(300);
/// The longest a burst of changes delays a re-check.
pub const BURST: Duration = Duration::from_secs(2);
/// First delay before a failed watch is opened again.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest delay before a failed watch is opened again (and so the longest
/// between two re-reads when watching is forbidden).
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// First delay before a probe that failed the gate runs again, without a change.
pub const PROBE_RETRY_MIN: Duration = Duration::from_secs(5);

/// Re-check until the gate passes or `limit` runs out. Returns the last
/// outcome: the passing one, or on expiry the last failing one with a
/// "still failing after" note.
pub async fn diagnose(plan: &Plan, cleanup: &Cleanup, limit: Duration) -> Result<Outcome> {
    let Source::Live(access) = &plan.source else {
        return Err(Error::Usage(
            "--wait re-reads a live cluster; a --snapshot cannot be waited on".to_owned(),
        ));
    };
    let started = Instant::now();
    let deadline = started + limit;
    let (client, context_ns) = crate::source::live::client(access).await?;
    let changes = Arc::new(Notify::new());
    let notes: Notes = Arc::new(Mutex::new(Vec::new()));
    let watches = scope_watches(plan, &context_ns);
    // Each watch starts from a resourceVersion read before the first check,
    // so that every later change reaches the loop.
    let starts = futures::future::join_all(watches.iter().map(|w| w.start(&client))).await;
    let tasks: Vec<_> = watches
        .into_iter()
        .zip(starts)
        .map(|(w, rv)| {
            tokio::spawn(w.run(client.clone(), rv, Arc::clone(&changes), Arc::clone(&notes)))
        })
        .collect();
    let _abort = AbortOnDrop(tasks);

    let progress = std::io::stderr().is_terminal();
    let mut probe_retry = PROBE_RETRY_MIN;
    let mut first = true;
    let mut last: Option<Outcome> = None;
    // The notes of every check, not only the last: each probed check with
    // --keep-probe keeps its own Jobs, and each must be named.
    let mut notes_so_far: Vec<String> = Vec::new();
    loop {
        let checked = if first {
            // The first check is never cut short: without it there is no
            // report to print.
            Some(check(plan, cleanup).await?)
        } else {
            match tokio::time::timeout_at(deadline, check(plan, cleanup)).await {
                Ok(r) => Some(r?),
                Err(_) => None,
            }
        };
        first = false;
        let Some(mut outcome) = checked else { break };
        flush_notes(&notes, progress);
        for n in outcome.inner.notes.drain(..) {
            if !notes_so_far.contains(&n) {
                notes_so_far.push(n);
            }
        }
        outcome.inner.notes.clone_from(&notes_so_far);
        if passes(&outcome.doc, plan.fail_on) {
            clear_progress(progress);
            return Ok(outcome.into());
        }
        let probe_failed = outcome.probed;
        last = Some(outcome.inner);
        let line = last
            .as_ref()
            .map(|o| still_failing(&o.doc, plan.fail_on))
            .unwrap_or_default();
        if progress {
            show_progress(started.elapsed(), limit, &line);
        }
        let retry_at = probe_failed.then(|| Instant::now() + probe_retry);
        if probe_failed {
            probe_retry = (probe_retry * 2).min(RETRY_MAX);
        }
        // On a terminal the progress line's clock ticks every second.
        let mut tick = progress.then(|| Instant::now() + Duration::from_secs(1));
        let woke = loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break false,
                () = changes.notified() => {
                    settle(&changes, deadline).await;
                    break true;
                }
                () = sleep_until_some(retry_at) => break true,
                () = sleep_until_some(tick) => {
                    show_progress(started.elapsed(), limit, &line);
                    tick = Some(Instant::now() + Duration::from_secs(1));
                }
            }
        };
        if !woke || Instant::now() >= deadline {
            break;
        }
    }
    clear_progress(progress);
    flush_notes(&notes, false);
    // The loop ran at least once, so there is a last outcome.
    let Some(mut out) = last else {
        return Err(Error::Usage(
            "--wait ended before the first check".to_owned(),
        ));
    };
    out.notes.push(format!(
        "still failing after {}: {}",
        humantime::format_duration(limit),
        still_failing(&out.doc, plan.fail_on)
    ));
    Ok(out)
}

/// One check: the diagnosis, with the pod probe only once the prediction
/// passes the gate.
async fn check(plan: &Plan, cleanup: &Cleanup) -> Result<Checked> {
    // A probe Job takes seconds: predict first. `--from` and `--probe
    // local` create nothing and the prediction of `--from` depends on its
    // pod, so they run as asked.
    if plan.probe.mode != ProbeMode::Pod {
        let inner = app::diagnose(plan, cleanup).await?;
        return Ok(Checked {
            inner,
            probed: false,
        });
    }
    let mut predict = plan.clone();
    predict.probe.mode = ProbeMode::None;
    let predicted = app::diagnose(&predict, cleanup).await?;
    if !passes(&predicted.doc, plan.fail_on) {
        return Ok(Checked {
            inner: predicted,
            probed: false,
        });
    }
    Ok(Checked {
        inner: app::diagnose(plan, cleanup).await?,
        probed: true,
    })
}

struct Checked {
    inner: Outcome,
    /// The probe ran (the prediction had passed the gate).
    probed: bool,
}

impl std::ops::Deref for Checked {
    type Target = Outcome;
    fn deref(&self) -> &Outcome {
        &self.inner
    }
}

impl From<Checked> for Outcome {
    fn from(c: Checked) -> Outcome {
        c.inner
    }
}

/// Whether a document passes the gate: exit 0 under `--fail-on`.
pub fn passes(doc: &Document, fail_on: FailOn) -> bool {
    ExitStatus::gated(doc.verdict(), fail_on) == ExitStatus::Clean
}

/// The severities `--fail-on` fails on.
fn failing(severity: Severity, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Error => severity == Severity::Error,
        FailOn::Warning => matches!(severity, Severity::Error | Severity::Warning),
        FailOn::Never => false,
    }
}

/// What keeps one report from passing: `NS/NAME: code, code` or
/// `NS/NAME: unknown (reason)`; `None` when it passes.
fn report_failing(r: &Report, fail_on: FailOn) -> Option<String> {
    let name = format!("{}/{}", r.service.namespace, r.service.name);
    if r.verdict == Verdict::Unknown {
        return Some(format!("{name}: unknown ({})", r.verdict_reason));
    }
    if ExitStatus::gated(r.verdict, fail_on) == ExitStatus::Clean {
        return None;
    }
    let mut codes = BTreeSet::new();
    let codes: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| failing(f.severity, fail_on))
        .map(|f| f.code.as_str())
        .filter(|c| codes.insert(*c))
        .collect();
    Some(if codes.is_empty() {
        format!("{name}: {} ({})", r.verdict, r.verdict_reason)
    } else {
        format!("{name}: {}", codes.join(", "))
    })
}

/// At most this many failing Services are named in a scan's line.
const NAMED: usize = 5;

/// One line: what still fails the gate.
pub fn still_failing(doc: &Document, fail_on: FailOn) -> String {
    let line = match doc {
        Document::One(r) => report_failing(r, fail_on).unwrap_or_else(|| format!("{}", r.verdict)),
        Document::Scan(s) => {
            let failing: Vec<String> = s
                .reports
                .iter()
                .filter_map(|r| report_failing(r, fail_on))
                .collect();
            if failing.is_empty() {
                format!("scan: {} ({})", s.verdict, s.verdict_reason)
            } else {
                let more = failing.len().saturating_sub(NAMED);
                let mut line = failing
                    .into_iter()
                    .take(NAMED)
                    .collect::<Vec<_>>()
                    .join("; ");
                if more > 0 {
                    line.push_str(&format!("; and {more} more"));
                }
                line
            }
        }
    };
    render::safe(&line).into_owned()
}

/// After a first change, wait for the changes to pause for [`QUIET`], at
/// most [`BURST`] (and never past the deadline).
async fn settle(changes: &Notify, deadline: Instant) {
    let bound = (Instant::now() + BURST).min(deadline);
    loop {
        let quiet_end = (Instant::now() + QUIET).min(bound);
        tokio::select! {
            () = changes.notified() => {
                if Instant::now() >= bound {
                    return;
                }
            }
            () = tokio::time::sleep_until(quiet_end) => return,
        }
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Lines the watches leave for stderr (a watch that cannot be opened).
type Notes = Arc<Mutex<Vec<String>>>;

fn flush_notes(notes: &Notes, progress: bool) {
    let lines = match notes.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(_) => return,
    };
    if lines.is_empty() {
        return;
    }
    clear_progress(progress);
    for l in lines {
        app::say(&format!("warning: {}", render::safe(&l)));
    }
}

/// The longest progress line, so that it fits a terminal line.
const PROGRESS_WIDTH: usize = 110;

fn show_progress(elapsed: Duration, limit: Duration, what: &str) {
    use std::io::Write as _;
    let elapsed = Duration::from_secs(elapsed.as_secs());
    let mut line = format!(
        "waiting {}/{}: {what}",
        humantime::format_duration(elapsed),
        humantime::format_duration(limit)
    );
    if line.chars().count() > PROGRESS_WIDTH {
        line = line.chars().take(PROGRESS_WIDTH - 1).collect::<String>() + "…";
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[K{line}");
    let _ = err.flush();
}

fn clear_progress(progress: bool) {
    use std::io::Write as _;
    if progress {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}

/// Aborts the watch tasks when the wait ends, whichever way.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// One watched kind, in one namespace or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub kind: WatchKind,
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub labels: Option<String>,
    pub fields: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    Services,
    EndpointSlices,
    Pods,
}

impl WatchKind {
    fn resource(self) -> &'static str {
        match self {
            WatchKind::Services => "services",
            WatchKind::EndpointSlices => "endpointslices",
            WatchKind::Pods => "pods",
        }
    }
}

/// The probe's own pods change as it runs; they decide nothing.
fn not_probe_pods() -> String {
    format!("!{LABEL_RUN}")
}

/// What the wait watches for the plan: the Services, EndpointSlices and
/// pods of the read's scope (the probe's pods left out), and the cluster
/// DNS's EndpointSlices when kube-system is not in the scope.
pub fn scope_watches(plan: &Plan, context_namespace: &str) -> Vec<Watch> {
    let w = |kind, namespace: Option<&str>, labels: Option<String>, fields: Option<String>| Watch {
        kind,
        namespace: namespace.map(str::to_owned),
        labels,
        fields,
    };
    let mut out = Vec::new();
    let namespace = match &plan.what {
        What::One { .. } => {
            let Some(t) = plan.what.target(context_namespace) else {
                return out;
            };
            let ns = t.namespace.as_str();
            out.push(w(
                WatchKind::Services,
                Some(ns),
                None,
                Some(format!("metadata.name={}", t.name)),
            ));
            out.push(w(
                WatchKind::EndpointSlices,
                Some(ns),
                Some(format!("{SERVICE_NAME_LABEL}={}", t.name)),
                None,
            ));
            out.push(w(WatchKind::Pods, Some(ns), Some(not_probe_pods()), None));
            Some(t.namespace)
        }
        What::Scan { .. } => {
            let ns = plan.what.scan_namespace(context_namespace);
            out.push(w(WatchKind::Services, ns.as_deref(), None, None));
            out.push(w(WatchKind::EndpointSlices, ns.as_deref(), None, None));
            out.push(w(
                WatchKind::Pods,
                ns.as_deref(),
                Some(not_probe_pods()),
                None,
            ));
            ns
        }
    };
    if namespace.as_deref().is_some_and(|ns| ns != KUBE_SYSTEM) {
        out.push(w(
            WatchKind::EndpointSlices,
            Some(KUBE_SYSTEM),
            Some(format!("{SERVICE_NAME_LABEL}={KUBE_DNS}")),
            None,
        ));
    }
    out
}

impl Watch {
    /// `pods in default (labelSelector=…)`: for the stderr notes.
    pub fn describe(&self) -> String {
        let mut s = self.kind.resource().to_owned();
        match &self.namespace {
            Some(ns) => s.push_str(&format!(" in namespace {ns}")),
            None => s.push_str(" in every namespace"),
        }
        if let Some(l) = &self.labels {
            s.push_str(&format!(" labelSelector={l}"));
        }
        if let Some(f) = &self.fields {
            s.push_str(&format!(" fieldSelector={f}"));
        }
        s
    }

    fn list_params(&self) -> ListParams {
        let mut lp = ListParams::default().limit(1);
        if let Some(l) = &self.labels {
            lp = lp.labels(l);
        }
        if let Some(f) = &self.fields {
            lp = lp.fields(f);
        }
        lp
    }

    fn watch_params(&self) -> WatchParams {
        let mut wp = WatchParams::default();
        if let Some(l) = &self.labels {
            wp = wp.labels(l);
        }
        if let Some(f) = &self.fields {
            wp = wp.fields(f);
        }
        wp
    }

    /// The resourceVersion to watch from: a one-item list's. `Err` with
    /// why when it cannot be listed (the watch loop then retries).
    async fn start(&self, client: &Client) -> std::result::Result<String, String> {
        match self.kind {
            WatchKind::Services => self.start_rv::<Service>(client).await,
            WatchKind::EndpointSlices => self.start_rv::<EndpointSlice>(client).await,
            WatchKind::Pods => self.start_rv::<Pod>(client).await,
        }
    }

    fn api<K>(&self, client: &Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        match &self.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }

    async fn start_rv<K>(&self, client: &Client) -> std::result::Result<String, String>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        <K as Resource>::DynamicType: Default,
    {
        let api: Api<K> = self.api(client);
        api.list_metadata(&self.list_params())
            .await
            .map_err(|e| crate::source::live::chain(&e))
            .and_then(|l| {
                l.metadata
                    .resource_version
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| "the list has no resourceVersion".to_owned())
            })
    }

    async fn run(
        self,
        client: Client,
        rv: std::result::Result<String, String>,
        changes: Arc<Notify>,
        notes: Notes,
    ) {
        match self.kind {
            WatchKind::Services => self.run_kind::<Service>(client, rv, changes, notes).await,
            WatchKind::EndpointSlices => {
                self.run_kind::<EndpointSlice>(client, rv, changes, notes)
                    .await;
            }
            WatchKind::Pods => self.run_kind::<Pod>(client, rv, changes, notes).await,
        }
    }

    /// Watch for ever (the wait aborts the task): signal each change; open
    /// the watch again when it ends, after a backoff when it failed.
    async fn run_kind<K>(
        self,
        client: Client,
        first: std::result::Result<String, String>,
        changes: Arc<Notify>,
        notes: Notes,
    ) where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + 'static,
        <K as Resource>::DynamicType: Default,
    {
        let api: Api<K> = self.api(&client);
        let wp = self.watch_params();
        let mut rv = first;
        let mut backoff = RETRY_MIN;
        let mut warned = false;
        loop {
            let failure = match &rv {
                Err(why) => Some(why.clone()),
                Ok(version) => match api.watch_metadata(&wp, version).await {
                    Err(e) => Some(crate::source::live::chain(&e)),
                    Ok(stream) => {
                        let mut stream = std::pin::pin!(stream);
                        let mut ended = None;
                        let mut gone = false;
                        while let Some(ev) = stream.next().await {
                            match ev {
                                Ok(
                                    WatchEvent::Added(o)
                                    | WatchEvent::Modified(o)
                                    | WatchEvent::Deleted(o),
                                ) => {
                                    if let Some(v) = o.metadata.resource_version {
                                        rv = Ok(v);
                                    }
                                    backoff = RETRY_MIN;
                                    changes.notify_one();
                                }
                                Ok(WatchEvent::Bookmark(b)) => {
                                    rv = Ok(b.metadata.resource_version);
                                }
                                Ok(WatchEvent::Error(s)) if s.code == 410 => {
                                    // Too old to resume (410 Gone): start
                                    // again from now; what happened in
                                    // between is re-read by a re-check.
                                    gone = true;
                                    break;
                                }
                                Ok(WatchEvent::Error(s)) => {
                                    ended = Some(format!("{} ({})", s.message, s.code));
                                    break;
                                }
                                Err(e) => {
                                    ended = Some(crate::source::live::chain(&e));
                                    break;
                                }
                            }
                        }
                        if gone {
                            rv = self.start(&client).await;
                            changes.notify_one();
                        }
                        // `None`: the server closed it (its timeout):
                        // open it again from the last version seen.
                        ended
                    }
                },
            };
            let Some(why) = failure else { continue };
            tracing::debug!(target: "svcdiscover", watch = %self.describe(), error = %why, "watch failed");
            if !warned {
                warned = true;
                if let Ok(mut n) = notes.lock() {
                    n.push(format!(
                        "cannot watch {}: {}; re-checking after each retry ({}s, doubling up to {}s)",
                        self.describe(),
                        why.lines().next().unwrap_or_default(),
                        RETRY_MIN.as_secs(),
                        RETRY_MAX.as_secs()
                    ));
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(RETRY_MAX);
            rv = self.start(&client).await;
            // Changes may have been missed while it was down.
            changes.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Code, Finding, Scan, ScanSummary, VerdictCounts};

    fn report(ns: &str, name: &str, verdict: Verdict, findings: &[(Code, Severity)]) -> Report {
        let state = crate::model::ClusterState::default();
        let t = crate::analysis::Target {
            namespace: ns.to_owned(),
            name: name.to_owned(),
        };
        let mut r = crate::analysis::diagnose(&state, &t, &crate::analysis::Options::default());
        r.verdict = verdict;
        r.verdict_reason = "the reason".to_owned();
        r.findings = findings
            .iter()
            .map(|(code, severity)| Finding {
                code: *code,
                severity: *severity,
                message: "m".to_owned(),
                fix: "f".to_owned(),
                objects: Vec::new(),
            })
            .collect();
        r
    }

    #[test]
    fn the_line_names_what_fails_the_gate_and_only_that() {
        let r = report(
            "default",
            "pay",
            Verdict::Unreachable,
            &[
                (Code::ImagePullFailure, Severity::Error),
                (Code::NoReadyEndpoints, Severity::Error),
                (Code::ImagePullFailure, Severity::Error),
                (Code::PodRestarts, Severity::Warning),
            ],
        );
        let doc = Document::One(Box::new(r));
        assert!(!passes(&doc, FailOn::Error));
        assert!(passes(&doc, FailOn::Never));
        assert_eq!(
            still_failing(&doc, FailOn::Error),
            "default/pay: image-pull-failure, no-ready-endpoints"
        );
        assert_eq!(
            still_failing(&doc, FailOn::Warning),
            "default/pay: image-pull-failure, no-ready-endpoints, pod-restarts"
        );
        let degraded = Document::One(Box::new(report(
            "default",
            "pay",
            Verdict::Degraded,
            &[(Code::PodRestarts, Severity::Warning)],
        )));
        assert!(passes(&degraded, FailOn::Error));
        assert!(!passes(&degraded, FailOn::Warning));
        assert_eq!(
            still_failing(&degraded, FailOn::Warning),
            "default/pay: pod-restarts"
        );
        // Unknown never passes, whatever --fail-on says.
        let unknown = Document::One(Box::new(report("a", "b", Verdict::Unknown, &[])));
        for f in [FailOn::Error, FailOn::Warning, FailOn::Never] {
            assert!(!passes(&unknown, f));
            assert_eq!(still_failing(&unknown, f), "a/b: unknown (the reason)");
        }
    }

    #[test]
    fn a_scan_names_its_failing_services_up_to_five() {
        let mut reports: Vec<Report> = (0..7)
            .map(|i| {
                report(
                    "shop",
                    &format!("svc-{i}"),
                    Verdict::Unreachable,
                    &[(Code::NoReadyEndpoints, Severity::Error)],
                )
            })
            .collect();
        reports.push(report("shop", "ok", Verdict::Reachable, &[]));
        let scan = Scan {
            api_version: crate::model::API_VERSION,
            kind: crate::model::SCAN_KIND,
            verdict: Verdict::Unreachable,
            verdict_reason: "r".to_owned(),
            summary: ScanSummary {
                namespace: Some("shop".to_owned()),
                selector: None,
                services: reports.len(),
                by_verdict: VerdictCounts::default(),
                cluster_findings: Vec::new(),
                probe: None,
                not_checked: Vec::new(),
            },
            reports,
        };
        let line = still_failing(&Document::Scan(Box::new(scan)), FailOn::Error);
        assert!(
            line.starts_with("shop/svc-0: no-ready-endpoints; shop/svc-1"),
            "{line}"
        );
        assert!(line.ends_with("; and 2 more"), "{line}");
        assert!(!line.contains("shop/ok"), "{line}");
    }

    fn plan(args: &[&str]) -> Plan {
        let cli = crate::cli::Cli::try_parse_kubectl(
            std::iter::once("kubectl-svcdiscover").chain(args.iter().copied()),
        )
        .expect("valid arguments");
        Plan::with_env(&cli, &crate::plan::Env::default())
    }

    #[test]
    fn one_service_watches_its_own_objects_and_the_cluster_dns() {
        let got: Vec<String> = scope_watches(&plan(&["pay", "--wait", "1m"]), "team")
            .iter()
            .map(Watch::describe)
            .collect();
        assert_eq!(
            got,
            [
                "services in namespace team fieldSelector=metadata.name=pay",
                "endpointslices in namespace team labelSelector=kubernetes.io/service-name=pay",
                "pods in namespace team labelSelector=!svcdiscover.io/run",
                "endpointslices in namespace kube-system labelSelector=kubernetes.io/service-name=kube-dns",
            ]
        );
    }

    #[test]
    fn a_scan_watches_its_scope() {
        let got: Vec<String> = scope_watches(&plan(&["-A", "--wait", "1m"]), "team")
            .iter()
            .map(Watch::describe)
            .collect();
        assert_eq!(
            got,
            [
                "services in every namespace",
                "endpointslices in every namespace",
                "pods in every namespace labelSelector=!svcdiscover.io/run",
            ]
        );
        let ns = scope_watches(&plan(&["--all", "-n", "kube-system", "--wait", "1m"]), "x");
        assert_eq!(ns.len(), 3, "{ns:?}");
        assert!(
            ns.iter()
                .all(|w| w.namespace.as_deref() == Some("kube-system"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_is_one_recheck_bounded_in_time() {
        let n = Arc::new(Notify::new());
        let far = Instant::now() + Duration::from_secs(600);
        // Quiet: returns after QUIET.
        let t0 = Instant::now();
        settle(&n, far).await;
        assert_eq!(t0.elapsed(), QUIET);
        // A change every 100 ms for ever: returns at BURST.
        let feeder = {
            let n = Arc::clone(&n);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    n.notify_one();
                }
            })
        };
        let t0 = Instant::now();
        settle(&n, far).await;
        let took = t0.elapsed();
        feeder.abort();
        assert!(took >= BURST && took < BURST + QUIET, "{took:?}");
        // Never past the deadline.
        let t0 = Instant::now();
        settle(&n, t0 + Duration::from_millis(50)).await;
        assert!(t0.elapsed() <= Duration::from_millis(50));
    }
}
