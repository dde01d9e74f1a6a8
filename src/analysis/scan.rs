//! A scan: every Service of a namespace or of the cluster, each diagnosed
//! by the same checks as a single-Service run, with the cluster-wide facts
//! computed once and their findings reported once.

use super::{Facts, Options, Target, diagnose_with};
use crate::model::{
    ClusterState, Kind, LabelSelector, NotChecked, ReadFailure, Report, Scan, ScanSummary, Verdict,
    VerdictCounts,
};

/// Diagnose every Service of `namespace` (`None`: every namespace) whose
/// labels match `selector`. `selector_text` is kept in the summary.
pub fn scan(
    state: &ClusterState,
    opts: &Options,
    namespace: Option<&str>,
    selector: Option<(&LabelSelector, &str)>,
) -> Scan {
    let facts = Facts::compute(state, opts);
    let reports = scan_targets(state, namespace, selector.map(|(s, _)| s))
        .iter()
        .map(|target| diagnose_with(state, &facts, target, opts))
        .collect();
    scan_of(state, &facts, namespace, selector, reports)
}

/// The Services a scan covers: those of `namespace` (`None`: every
/// namespace) whose labels match `selector`, each once, by namespace and
/// name.
pub fn scan_targets(
    state: &ClusterState,
    namespace: Option<&str>,
    selector: Option<&LabelSelector>,
) -> Vec<Target> {
    let mut services: Vec<_> = state
        .services
        .iter()
        .filter(|s| namespace.is_none_or(|ns| s.namespace == ns))
        .filter(|s| selector.is_none_or(|sel| sel.matches(&s.labels)))
        .collect();
    services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    services.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
    services
        .iter()
        .map(|s| Target {
            namespace: s.namespace.clone(),
            name: s.name.clone(),
        })
        .collect()
}

/// The scan of `reports`, one per Service of [`scan_targets`], each made
/// with `facts` (predicted, or observed by a probe): the cluster-wide
/// findings moved to the summary, worst first, counted, and the worst
/// verdict. `summary.probe` is left `None` for the caller.
pub fn scan_of(
    state: &ClusterState,
    facts: &Facts,
    namespace: Option<&str>,
    selector: Option<(&LabelSelector, &str)>,
    mut reports: Vec<Report>,
) -> Scan {
    for r in &mut reports {
        // Reported once, in the summary.
        r.findings.retain(|f| {
            !facts
                .findings
                .iter()
                .any(|c| c.code == f.code && c.message == f.message)
        });
    }
    reports.sort_by(|a, b| {
        b.verdict
            .badness()
            .cmp(&a.verdict.badness())
            .then_with(|| a.service.namespace.cmp(&b.service.namespace))
            .then_with(|| a.service.name.cmp(&b.service.name))
    });
    let mut counts = VerdictCounts::default();
    for r in &reports {
        counts.add(r.verdict);
    }
    let (verdict, mut verdict_reason) = decide(state, namespace, &reports, &counts);
    let (not_checked, unread) = not_scanned(state, namespace);
    if !reports.is_empty() && !not_checked.is_empty() {
        verdict_reason.push_str(&format!("; not scanned: {unread}"));
    }
    Scan {
        api_version: crate::model::API_VERSION,
        kind: crate::model::SCAN_KIND,
        verdict,
        verdict_reason,
        summary: ScanSummary {
            namespace: namespace.map(str::to_owned),
            selector: selector.map(|(_, t)| t.to_owned()),
            services: reports.len(),
            by_verdict: counts,
            cluster_findings: facts.findings.clone(),
            probe: None,
            not_checked,
        },
        reports,
    }
}

/// Namespaces listed one by one in `not_checked`; more make one entry.
const MAX_NAMESPACE_ENTRIES: usize = 5;

/// The parts of the scope whose Services could not be listed: one entry per
/// namespace (one for all when there are many), and one for a failed
/// cluster-wide list that no per-namespace read replaced; and those parts in
/// a few words, for the verdict's reason.
fn not_scanned(state: &ClusterState, namespace: Option<&str>) -> (Vec<NotChecked>, String) {
    let unread = |f: &&ReadFailure| {
        f.kind == Kind::Service && f.required && f.verb == "list" && f.namespace.is_some()
    };
    let failed: Vec<&ReadFailure> = state
        .failures
        .iter()
        .filter(unread)
        .filter(|f| {
            f.namespace.as_deref().is_some_and(|n| {
                namespace.is_none_or(|s| s == n) && !state.coverage.covers(Kind::Service, n)
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut words = Vec::new();
    if !failed.is_empty() {
        words.push(format!(
            "the Services of {} namespace(s) could not be read",
            failed.len()
        ));
    }
    let why = |f: &ReadFailure| {
        if f.forbidden {
            format!("forbidden: {}", f.reason)
        } else {
            f.reason.clone()
        }
    };
    let needs = |f: &ReadFailure| {
        if f.forbidden {
            format!("RBAC: {}", f.what())
        } else {
            f.what()
        }
    };
    if failed.len() <= MAX_NAMESPACE_ENTRIES {
        for f in &failed {
            out.push(NotChecked {
                check: format!(
                    "Services of namespace {}",
                    f.namespace.as_deref().unwrap_or_default()
                ),
                reason: why(f),
                needs: needs(f),
            });
        }
    } else {
        let names: Vec<&str> = failed
            .iter()
            .filter_map(|f| f.namespace.as_deref())
            .collect();
        let shown = format!(
            "{} and {} more",
            names[..MAX_NAMESPACE_ENTRIES].join(", "),
            names.len() - MAX_NAMESPACE_ENTRIES
        );
        let forbidden = failed.iter().all(|f| f.forbidden);
        out.push(NotChecked {
            check: format!("Services of {} namespaces", names.len()),
            reason: if forbidden {
                format!("forbidden: list services in namespaces {shown}")
            } else {
                format!("list services failed in namespaces {shown}")
            },
            needs: if forbidden {
                format!("RBAC: list services in namespaces {shown} (or cluster-wide)")
            } else {
                format!("list services in namespaces {shown}")
            },
        });
    }
    // A cluster-wide list that failed, and no namespace list to go on: only
    // the namespaces read one by one (the context's) were scanned.
    if namespace.is_none()
        && let Some(f) = state.failures.iter().find(|f| {
            f.kind == Kind::Service && f.required && f.verb == "list" && f.namespace.is_none()
        })
    {
        let read: Vec<String> = state
            .coverage
            .entries()
            .into_iter()
            .filter(|e| e.kind == Kind::Service && e.name.is_none() && e.label_selector.is_none())
            .filter_map(|e| e.namespace)
            .collect();
        let tried = if read.is_empty() {
            "no namespace could be read".to_owned()
        } else {
            format!("only namespace {} was read", read.join(", "))
        };
        words.push("the namespaces could not be listed".to_owned());
        out.push(NotChecked {
            check: "Services of every namespace".to_owned(),
            reason: format!(
                "{}; the namespaces could not be listed to read them one by one, so {tried}",
                why(f)
            ),
            needs: if f.forbidden {
                format!(
                    "RBAC: {}, or list namespaces to scan each namespace you may read",
                    f.what()
                )
            } else {
                f.what()
            },
        });
    }
    (out, words.join(" and "))
}

fn decide(
    state: &ClusterState,
    namespace: Option<&str>,
    reports: &[Report],
    counts: &VerdictCounts,
) -> (Verdict, String) {
    let Some(worst) = reports.first() else {
        let where_ =
            namespace.map_or_else(|| "the cluster".to_owned(), |ns| format!("namespace {ns}"));
        let read = match namespace {
            Some(ns) => state.coverage.covers(Kind::Service, ns),
            None => state.coverage.covers_all(Kind::Service),
        };
        let why = if read {
            format!("no Service to scan in {where_}")
        } else {
            format!(
                "no Service to scan in {where_} as far as it was read: the input does not cover the Services of {where_}"
            )
        };
        // Nothing scanned is never a pass.
        return (Verdict::Unknown, why);
    };
    let n = reports.len();
    let mut parts = Vec::new();
    for (k, word) in [
        (counts.unreachable, "unreachable"),
        (counts.unknown, "unknown"),
        (counts.degraded, "degraded"),
        (counts.reachable, "reachable"),
    ] {
        if k > 0 {
            parts.push(format!("{k} {word}"));
        }
    }
    let reason = if worst.verdict == Verdict::Reachable {
        format!("all {n} Service(s) reachable")
    } else {
        format!(
            "{} of {n} Service(s); worst: {}/{}: {}",
            parts.join(", "),
            worst.service.namespace,
            worst.service.name,
            worst.verdict_reason
        )
    };
    (worst.verdict, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::zone::tests::svc;
    use crate::model::{Endpoint, EndpointSlice, Verdict};

    /// Two selectorless Services of `shop`, one with a ready endpoint, one
    /// with none, and one of `other`.
    fn state() -> ClusterState {
        let mut st = ClusterState::default();
        for (ns, name, ready) in [
            ("shop", "db", true),
            ("shop", "cache", false),
            ("other", "api", true),
        ] {
            let mut s = svc(ns, name, "10.96.0.50");
            s.selector = None;
            st.services.push(s);
            st.endpoint_slices.push(EndpointSlice {
                namespace: ns.into(),
                name: format!("{name}-1"),
                service_name: Some(name.into()),
                address_type: "IPv4".into(),
                endpoints: vec![Endpoint {
                    addresses: vec!["10.0.0.9".into()],
                    ready: Some(ready),
                    serving: Some(ready),
                    terminating: None,
                    hostname: None,
                    pod: None,
                    node_name: None,
                }],
                ..EndpointSlice::default()
            });
            st.coverage.add_namespace(Kind::Service, ns);
            st.coverage.add_namespace(Kind::EndpointSlice, ns);
        }
        st
    }

    #[test]
    fn one_namespace_worst_first_and_the_worst_verdict() {
        let st = state();
        let s = scan(&st, &Options::default(), Some("shop"), None);
        let names: Vec<&str> = s.reports.iter().map(|r| r.service.name.as_str()).collect();
        assert_eq!(names, ["cache", "db"]);
        assert_eq!(s.reports[0].verdict, Verdict::Unreachable);
        assert_eq!(s.verdict, Verdict::Unreachable);
        assert_eq!(s.summary.by_verdict.unreachable, 1);
        assert_eq!(s.summary.services, 2);
        assert!(
            s.verdict_reason.contains("shop/cache"),
            "{}",
            s.verdict_reason
        );
        // Each report is the single-Service report.
        for r in &s.reports {
            let t = Target {
                namespace: r.service.namespace.clone(),
                name: r.service.name.clone(),
            };
            let one = crate::analysis::diagnose(&st, &t, &Options::default());
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::to_value(&one).unwrap()
            );
        }
    }

    #[test]
    fn every_namespace_and_a_selector() {
        let mut st = state();
        st.services[2].labels.insert("tier".into(), "api".into());
        let all = scan(&st, &Options::default(), None, None);
        assert_eq!(all.summary.services, 3);
        let sel = LabelSelector::parse("tier=api").unwrap();
        let some = scan(&st, &Options::default(), None, Some((&sel, "tier=api")));
        assert_eq!(some.summary.services, 1);
        assert_eq!(some.verdict, Verdict::Reachable);
        assert_eq!(some.summary.selector.as_deref(), Some("tier=api"));
        let none = scan(&st, &Options::default(), Some("empty"), None);
        assert_eq!(none.verdict, Verdict::Unknown);
    }

    fn forbidden(ns: Option<&str>) -> ReadFailure {
        ReadFailure {
            verb: "list",
            kind: Kind::Service,
            namespace: ns.map(str::to_owned),
            reason: "services is forbidden".to_owned(),
            forbidden: true,
            required: true,
        }
    }

    #[test]
    fn namespaces_not_read_are_named_and_do_not_make_the_scan_unknown() {
        let mut st = state();
        st.failures.push(forbidden(Some("locked")));
        let s = scan(&st, &Options::default(), None, None);
        assert_eq!(s.summary.services, 3);
        assert_ne!(s.verdict, Verdict::Unknown, "{}", s.verdict_reason);
        assert!(s.reports.iter().all(|r| r.verdict != Verdict::Unknown));
        assert_eq!(s.summary.not_checked.len(), 1);
        let n = &s.summary.not_checked[0];
        assert_eq!(n.check, "Services of namespace locked");
        assert_eq!(n.needs, "RBAC: list services in namespace locked");
        assert!(
            s.verdict_reason
                .ends_with("; not scanned: the Services of 1 namespace(s) could not be read"),
            "{}",
            s.verdict_reason
        );

        // Many: one entry for them all.
        for i in 0..6 {
            st.failures.push(forbidden(Some(&format!("locked-{i}"))));
        }
        let s = scan(&st, &Options::default(), None, None);
        assert_eq!(
            s.summary.not_checked.len(),
            1,
            "{:?}",
            s.summary.not_checked
        );
        assert_eq!(s.summary.not_checked[0].check, "Services of 7 namespaces");
        assert!(s.summary.not_checked[0].reason.ends_with(" and 2 more"));
    }

    #[test]
    fn a_cluster_wide_failure_with_nothing_read_is_unknown() {
        let mut st = ClusterState::default();
        st.failures.push(forbidden(None));
        st.failures.push(forbidden(Some("default")));
        let s = scan(&st, &Options::default(), None, None);
        assert_eq!(s.verdict, Verdict::Unknown);
        let checks: Vec<&str> = s
            .summary
            .not_checked
            .iter()
            .map(|n| n.check.as_str())
            .collect();
        assert_eq!(
            checks,
            [
                "Services of namespace default",
                "Services of every namespace"
            ]
        );
        assert!(
            s.summary.not_checked[1]
                .reason
                .contains("no namespace could be read")
        );
    }
}
