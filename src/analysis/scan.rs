//! A scan: every Service of a namespace or of the cluster, each diagnosed
//! by the same checks as a single-Service run, with the cluster-wide facts
//! computed once and their findings reported once.

use super::{Facts, Options, Target, diagnose_with};
use crate::model::{
    ClusterState, Kind, LabelSelector, Report, Scan, ScanSummary, Verdict, VerdictCounts,
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
    let (verdict, verdict_reason) = decide(state, namespace, &reports, &counts);
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
        },
        reports,
    }
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
}
