//! Probing a scan: the views of every scanned Service merged, so that one
//! exec per client resolver asks every name ([`merge_views`]), and what
//! that probe observed split back per Service ([`observations_for`]), so
//! that each Service's report is the one a single-Service run with the
//! same probe flags gives.
//!
//! Pure: the probe's I/O (src/probe/run.rs) runs the merged views.

use std::collections::{BTreeSet, HashMap};

use super::connect::address_key;
use super::{ConnectPlan, Observations, ProbeProblem, ProblemKind, View, ViewPlan};
use crate::model::{Connection, ProbeSummary};

/// Whether two planned views are the same resolver view: the same client
/// rows, run in the same namespace under the same search list. Their
/// wildcard checks are then the same too (one label per run, under that
/// resolver's search domains).
fn same_view(a: &ViewPlan, b: &ViewPlan) -> bool {
    a.run_in == b.run_in
        && a.client == b.client
        && a.from_pod == b.from_pod
        && a.search_override == b.search_override
}

/// The views of many Services (each from `plan_views`) merged into one per
/// resolver view: the namespace it runs in, the client rows it stands for,
/// the search list imposed. A name planned by several Services (the same
/// typed name from the same client has the same candidates) is asked once;
/// the order is the first Service's, then the next one's new names.
pub fn merge_views<'a>(per_service: impl IntoIterator<Item = &'a [ViewPlan]>) -> Vec<ViewPlan> {
    let mut merged: Vec<ViewPlan> = Vec::new();
    for views in per_service {
        for v in views {
            match merged.iter_mut().find(|m| same_view(m, v)) {
                Some(m) => {
                    for (typed, candidates) in &v.names {
                        if !m.names.iter().any(|(t, _)| t == typed) {
                            m.names.push((typed.clone(), candidates.clone()));
                        }
                    }
                    for w in &v.wildcard_checks {
                        if !m.wildcard_checks.contains(w) {
                            m.wildcard_checks.push(w.clone());
                        }
                    }
                }
                None => merged.push(v.clone()),
            }
        }
    }
    merged
}

/// The observed view that answers the planned view `p`: the same client
/// rows, observed in `p`'s namespace (a view observed in no namespace,
/// `--probe local`, answers wherever it was planned).
fn answering<'a>(all: &'a Observations, p: &ViewPlan) -> Option<&'a View> {
    all.views.iter().find(|v| {
        v.client == p.client
            && v.from_pod == p.from_pod
            && v.observed_in.as_deref().is_none_or(|o| o == p.run_in)
    })
}

/// What the merged probe `all` observed for one Service, whose own views
/// are `plans` (its `plan_views`): its names only, the probe clients of
/// the namespaces its views ran in, and the problems of those namespaces
/// when they cost it an observation. A namespace whose probe failed
/// therefore leaves the Services of other namespaces as they are.
///
/// A namespace where none of the Service's names was observed, without a
/// problem to say why (its names were in an exec the probe timeout cut
/// short), gets the problem a single-Service run reports then:
/// `probe-timeout`, no lookup finished.
pub fn observations_for(all: &Observations, plans: &[ViewPlan]) -> Observations {
    let mut obs = Observations {
        required: all.required,
        ..Observations::default()
    };
    let mut namespaces: Vec<&str> = Vec::new();
    // Namespaces where some of the Service's names were not observed, and
    // those where none was (in some view).
    let mut short: BTreeSet<&str> = BTreeSet::new();
    let mut nothing: BTreeSet<&str> = BTreeSet::new();
    for p in plans {
        if !namespaces.contains(&p.run_in.as_str()) {
            namespaces.push(&p.run_in);
        }
        let Some(found) = answering(all, p) else {
            short.insert(&p.run_in);
            nothing.insert(&p.run_in);
            continue;
        };
        let names: std::collections::BTreeMap<_, _> = p
            .names
            .iter()
            .filter_map(|(typed, _)| found.names.get(typed).map(|o| (typed.clone(), o.clone())))
            .collect();
        if names.len() < p.names.len() {
            short.insert(&p.run_in);
        }
        if names.is_empty() && !p.names.is_empty() {
            nothing.insert(&p.run_in);
            continue;
        }
        obs.views.push(View {
            client: found.client.clone(),
            from_pod: found.from_pod.clone(),
            search_override: found.search_override.clone(),
            observed_in: found.observed_in.clone(),
            names,
            wildcard_hits: found
                .wildcard_hits
                .iter()
                .filter(|(w, _)| p.wildcard_checks.contains(w))
                .cloned()
                .collect(),
        });
    }
    for ns in &namespaces {
        if !short.contains(ns) {
            continue;
        }
        let before = obs.problems.len();
        obs.problems
            .extend(all.problems.iter().filter(|p| p.namespace == *ns).cloned());
        if obs.problems.len() == before && nothing.contains(ns) && all.summary.is_some() {
            obs.problems.push(ProbeProblem {
                namespace: (*ns).to_owned(),
                kind: ProblemKind::Timeout,
                message: format!("no lookup finished within the probe timeout in {ns}"),
            });
        }
    }
    obs.summary = all.summary.as_ref().map(|s| ProbeSummary {
        clients: namespaces
            .iter()
            .filter_map(|ns| s.clients.iter().find(|c| c.namespace == *ns).cloned())
            .collect(),
        ..s.clone()
    });
    obs
}

/// The connections (`--connect`) a merged probe opened, indexed by probe,
/// address and port, to give each scanned Service its own
/// ([`SeenConnections::for_service`]) without a pass over all of them per
/// Service (a scan of thousands of Services opens tens of thousands).
pub struct SeenConnections<'a> {
    opened: Option<HashMap<(&'a str, String, u16), &'a Connection>>,
    ran: &'a [String],
}

impl<'a> SeenConnections<'a> {
    pub fn new(all: &'a Observations) -> SeenConnections<'a> {
        let opened = all.connections.as_ref().map(|seen| {
            let mut by = HashMap::with_capacity(seen.len());
            for c in seen {
                by.entry((c.from.as_str(), address_key(&c.address), c.port))
                    .or_insert(c);
            }
            by
        });
        SeenConnections {
            opened,
            ran: &all.connected_from,
        }
    }

    /// The connections of one Service, whose own connections are `plans`
    /// (its `plan_connects`) and whose probes are `froms` (the client
    /// namespaces its views ran in, or the `--from` pod as `NS/POD`), in
    /// the order a single-Service run lists them: per probe, then per
    /// planned connection. `None` when none of its probes opened
    /// connections (as alone, when its probe could not run).
    pub fn for_service(&self, froms: &[String], plans: &[ConnectPlan]) -> Option<Vec<Connection>> {
        let opened = self.opened.as_ref()?;
        let ran: Vec<&String> = froms.iter().filter(|f| self.ran.contains(f)).collect();
        if ran.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for from in ran {
            for p in plans {
                let Ok(port) = u16::try_from(p.port) else {
                    continue;
                };
                let Some(c) = opened.get(&(from.as_str(), address_key(&p.address), port)) else {
                    continue;
                };
                out.push(p.opened(from, c.port, c.result, &c.detail));
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{
        Facts, Options, Reach, ResolverConf, Target, diagnose_observed, diagnose_with, plan_views,
    };
    use crate::model::{
        Cleanup, ClusterState, Observed, ObservedCandidate, ObservedRcode, ObservedStatus,
        ProbeClient, ProbeMode, Report, ResolverSeen, Via,
    };

    fn scenario() -> ClusterState {
        crate::source::snapshot::from_bytes(
            std::path::Path::new("scenario.json"),
            include_bytes!("../../tests/fixtures/scenario.json").to_vec(),
        )
        .unwrap()
    }

    const OTHER: &str = "svcdiscover-none-x1";
    const ABSENT: &str = "svcdiscover-absent-x1";

    /// Every Service of `namespace` with its predicted report and its views.
    fn planned(
        st: &ClusterState,
        opts: &Options,
        namespace: &str,
        reach: Reach,
    ) -> (Facts, Vec<(Target, Report, Vec<ViewPlan>)>) {
        let facts = Facts::compute(st, opts);
        let services = crate::analysis::scan_targets(st, Some(namespace), None)
            .into_iter()
            .map(|t| {
                let r = diagnose_with(st, &facts, &t, opts);
                let v = plan_views(&r, &t, opts, reach, OTHER, ABSENT, None);
                (t, r, v)
            })
            .collect();
        (facts, services)
    }

    /// What a probe sees when CoreDNS serves what the objects imply, for
    /// one planned name: the predicted rows' outcome (the first Service's
    /// row of that name from that client).
    fn seen(reports: &[&Report], plan: &ViewPlan, typed: &str, cands: &[String]) -> Observed {
        let row = reports
            .iter()
            .flat_map(|r| r.name_forms.iter())
            .find(|r| r.name == typed && r.from_namespace == plan.client)
            .expect("a planned name has its row");
        let resolves = row.expected_resolves == Some(true);
        Observed {
            status: if resolves {
                ObservedStatus::Resolved
            } else {
                ObservedStatus::Nxdomain
            },
            addresses: if resolves {
                row.expected_addresses.clone()
            } else {
                Vec::new()
            },
            answered_by: row.answered_by.clone().filter(|_| resolves),
            candidates: cands
                .iter()
                .map(|c| ObservedCandidate {
                    name: c.clone(),
                    rcode: if resolves && row.answered_by.as_ref() == Some(c) {
                        ObservedRcode::Noerror
                    } else {
                        ObservedRcode::Nxdomain
                    },
                })
                .collect(),
            via: Via::ProbePod,
            resolver: ResolverSeen {
                nameservers: vec!["10.96.0.10".into()],
                search: plan.search_override.clone().unwrap_or_else(|| {
                    ResolverConf::cluster_first(
                        plan.client.as_deref().unwrap_or(OTHER),
                        "cluster.local",
                    )
                    .search
                }),
                ndots: 5,
            },
            as_predicted: None,
            notes: vec![],
        }
    }

    /// The views a probe of `plans` brings back; `short` leaves out the
    /// short name `svc` from `client` (as if CoreDNS said NXDOMAIN).
    fn probe(reports: &[&Report], plans: &[ViewPlan], nx: Option<&str>) -> Vec<View> {
        plans
            .iter()
            .map(|p| View {
                client: p.client.clone(),
                from_pod: p.from_pod.clone(),
                search_override: p.search_override.clone(),
                observed_in: Some(p.run_in.clone()),
                names: p
                    .names
                    .iter()
                    .map(|(typed, cands)| {
                        let mut o = seen(reports, p, typed, cands);
                        if Some(typed.as_str()) == nx && p.client.is_some() {
                            o.status = ObservedStatus::Nxdomain;
                            o.addresses.clear();
                            o.answered_by = None;
                        }
                        (typed.clone(), o)
                    })
                    .collect(),
                wildcard_hits: Vec::new(),
            })
            .collect()
    }

    fn summary(namespaces: &[&str]) -> ProbeSummary {
        ProbeSummary {
            mode: ProbeMode::Pod,
            image: Some("img".into()),
            clients: namespaces
                .iter()
                .map(|ns| ProbeClient {
                    namespace: (*ns).into(),
                    pod: Some(format!("svcdiscover-probe-x1-{ns}")),
                    via: Via::ProbePod,
                })
                .collect(),
            cleanup: Cleanup::Deleted,
        }
    }

    #[test]
    fn the_views_of_a_namespace_merge_into_one_per_resolver_and_names_are_asked_once() {
        let st = scenario();
        let opts = Options {
            from_namespaces: vec!["client".into()],
            ..Options::default()
        };
        let (_, services) = planned(&st, &opts, "default", Reach::NamedNamespaces);
        assert!(services.len() >= 5, "{}", services.len());
        let merged = merge_views(services.iter().map(|(_, _, v)| v.as_slice()));
        // With --from-namespace only that namespace's rows: one view, run
        // in `client`, carrying every Service's names.
        assert_eq!(merged.len(), 1, "{merged:#?}");
        assert_eq!(merged[0].run_in, "client");
        let planned_names: usize = services
            .iter()
            .flat_map(|(_, _, v)| v.iter())
            .map(|v| v.names.len())
            .sum();
        assert_eq!(merged[0].names.len(), planned_names, "each Service's names");
        let typed: BTreeSet<&str> = merged[0].names.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(typed.len(), merged[0].names.len(), "each name once");
        assert_eq!(
            merged[0].wildcard_checks, services[0].2[0].wildcard_checks,
            "one set of wildcard checks per view"
        );

        // Without it: the Service namespace's own view and the "any other
        // namespace" view, each once for every Service of `default`.
        let (_, services) = planned(&st, &Options::default(), "default", Reach::NamedNamespaces);
        let merged = merge_views(services.iter().map(|(_, _, v)| v.as_slice()));
        assert_eq!(merged.len(), 2, "{merged:#?}");
        assert!(merged.iter().all(|v| v.run_in == "default"));
        let other = merged.iter().find(|v| v.client.is_none()).unwrap();
        assert!(other.search_override.is_some());
        assert!(other.wildcard_checks.is_empty());

        // The same name planned twice (the same client) is asked once.
        let twice = merge_views([services[0].2.as_slice(), services[0].2.as_slice()]);
        assert_eq!(twice, services[0].2);
    }

    #[test]
    fn split_back_each_service_gets_the_report_a_single_run_gets() {
        let st = scenario();
        let opts = Options::default();
        let (facts, services) = planned(&st, &opts, "default", Reach::NamedNamespaces);
        let reports: Vec<&Report> = services.iter().map(|(_, r, _)| r).collect();
        let merged = merge_views(services.iter().map(|(_, _, v)| v.as_slice()));
        // One Service's short name is NXDOMAIN (a dns-mismatch): it stays
        // that Service's.
        let nx = Some("service-pay-v1");
        let all = Observations {
            required: true,
            summary: Some(summary(&["default"])),
            views: probe(&reports, &merged, nx),
            ..Observations::default()
        };
        let mut mismatches = 0;
        for (t, _, plans) in &services {
            let split = observations_for(&all, plans);
            let single = Observations {
                required: true,
                summary: Some(summary(&["default"])),
                views: probe(&reports, plans, nx),
                ..Observations::default()
            };
            let a = diagnose_observed(&st, &facts, t, &opts, &split);
            let b = diagnose_observed(&st, &facts, t, &opts, &single);
            assert_eq!(
                serde_json::to_value(&a).unwrap(),
                serde_json::to_value(&b).unwrap(),
                "{}/{}",
                t.namespace,
                t.name
            );
            assert!(
                a.name_forms.iter().all(|r| r.observed.is_some()),
                "{}",
                t.name
            );
            mismatches += a
                .findings
                .iter()
                .filter(|f| f.code == crate::model::Code::DnsMismatch)
                .count();
        }
        assert_eq!(mismatches, 1, "only service-pay-v1's short name differs");
    }

    #[test]
    fn a_namespace_whose_probe_failed_leaves_other_namespaces_services_observed() {
        let st = scenario();
        let opts = Options::default();
        let facts = Facts::compute(&st, &opts);
        let mut services = Vec::new();
        for ns in ["default", "trouble"] {
            services.extend(planned(&st, &opts, ns, Reach::NamedNamespaces).1);
        }
        let reports: Vec<&Report> = services.iter().map(|(_, r, _)| r).collect();
        let merged = merge_views(services.iter().map(|(_, _, v)| v.as_slice()));
        assert_eq!(merged.len(), 4, "two views in each namespace");
        // The probe of `trouble` could not start: only `default` observed.
        let ok: Vec<ViewPlan> = merged
            .iter()
            .filter(|v| v.run_in == "default")
            .cloned()
            .collect();
        let all = Observations {
            required: true,
            summary: Some(summary(&["default", "trouble"])),
            views: probe(&reports, &ok, None),
            problems: vec![ProbeProblem {
                namespace: "trouble".into(),
                kind: ProblemKind::Forbidden {
                    verb: "create".into(),
                    resource: "jobs".into(),
                },
                message: "jobs.batch is forbidden".into(),
            }],
            ..Observations::default()
        };
        for (t, _, plans) in &services {
            let split = observations_for(&all, plans);
            let clients: Vec<&str> = split
                .summary
                .as_ref()
                .unwrap()
                .clients
                .iter()
                .map(|c| c.namespace.as_str())
                .collect();
            assert_eq!(clients, [t.namespace.as_str()], "its own client only");
            let r = diagnose_observed(&st, &facts, t, &opts, &split);
            let probe_findings: Vec<&str> = r
                .findings
                .iter()
                .filter(|f| f.code.as_str().starts_with("probe-"))
                .map(|f| f.code.as_str())
                .collect();
            if t.namespace == "trouble" {
                assert_eq!(probe_findings, ["probe-forbidden"], "{}", t.name);
                assert_eq!(r.verdict, crate::model::Verdict::Unknown, "{}", t.name);
            } else {
                assert!(probe_findings.is_empty(), "{}: {probe_findings:?}", t.name);
                assert!(r.name_forms.iter().all(|x| x.observed.is_some()));
            }
        }
    }

    #[test]
    fn names_an_exec_cut_short_did_not_finish_are_a_timeout_of_their_service_only() {
        let st = scenario();
        let opts = Options::default();
        let (facts, services) = planned(&st, &opts, "default", Reach::NamedNamespaces);
        let reports: Vec<&Report> = services.iter().map(|(_, r, _)| r).collect();
        let merged = merge_views(services.iter().map(|(_, _, v)| v.as_slice()));
        let mut views = probe(&reports, &merged, None);
        // The time ran out before the last Service's names were looked up.
        let (late, _, late_plans) = services.last().unwrap();
        for v in &mut views {
            for p in late_plans {
                for (typed, _) in &p.names {
                    v.names.remove(typed);
                }
            }
        }
        let all = Observations {
            required: true,
            summary: Some(summary(&["default"])),
            views,
            ..Observations::default()
        };
        for (t, _, plans) in &services {
            let split = observations_for(&all, plans);
            let r = diagnose_observed(&st, &facts, t, &opts, &split);
            if t.namespace == late.namespace && t.name == late.name {
                assert!(split.views.is_empty());
                assert_eq!(split.problems.len(), 1);
                assert_eq!(split.problems[0].kind, ProblemKind::Timeout);
                assert_eq!(r.verdict, crate::model::Verdict::Unknown);
            } else {
                assert!(split.problems.is_empty(), "{}", t.name);
            }
        }
    }

    #[test]
    fn a_services_connections_are_those_its_single_run_lists() {
        use crate::analysis::plan_connects;
        use crate::model::{ConnectionResult, ConnectionTarget};
        let st = scenario();
        let opts = Options::default();
        let facts = Facts::compute(&st, &opts);
        let targets: Vec<Target> = [
            "service-pay-v1",
            "pay-headless",
            "service-user-v1",
            "service-v4",
        ]
        .iter()
        .map(|n| Target {
            namespace: "default".into(),
            name: (*n).into(),
        })
        .collect();
        // What a probe saw: endpoints answer, ClusterIPs time out.
        let result = |p: &ConnectPlan| match p.target {
            ConnectionTarget::Service => ConnectionResult::Timeout,
            ConnectionTarget::Endpoint => ConnectionResult::Connected,
        };
        let opened = |from: &str, p: &ConnectPlan| Connection {
            from: from.into(),
            address: p.address.clone(),
            port: u16::try_from(p.port).unwrap(),
            service_port: p.service_port,
            target: p.target,
            pod: p.pod.clone(),
            result: result(p),
            detail: "bash /dev/tcp".into(),
        };
        let plans: Vec<Vec<ConnectPlan>> = targets.iter().map(|t| plan_connects(&st, t)).collect();
        assert!(plans.iter().filter(|p| !p.is_empty()).count() >= 2);
        // The scan's probe in `default` opened each distinct connection of
        // every Service once (pay-v1 and pay-headless share endpoints).
        let mut merged: Vec<ConnectPlan> = Vec::new();
        for p in plans.iter().flatten() {
            if !merged
                .iter()
                .any(|m| m.address == p.address && m.port == p.port)
            {
                merged.push(p.clone());
            }
        }
        assert!(merged.len() < plans.iter().map(Vec::len).sum::<usize>());
        let all = Observations {
            connections: Some(merged.iter().map(|p| opened("default", p)).collect()),
            connected_from: vec!["default".into()],
            ..Observations::default()
        };
        let froms = ["default".to_owned()];
        for (t, plans) in targets.iter().zip(&plans) {
            let single = Observations {
                connections: Some(plans.iter().map(|p| opened("default", p)).collect()),
                ..Observations::default()
            };
            let split = Observations {
                connections: SeenConnections::new(&all).for_service(&froms, plans),
                ..Observations::default()
            };
            assert_eq!(split.connections, single.connections, "{}", t.name);
            let a = diagnose_observed(&st, &facts, t, &opts, &single);
            let b = diagnose_observed(&st, &facts, t, &opts, &split);
            let json = |r: &Report| serde_json::to_value(r).unwrap();
            assert_eq!(json(&a), json(&b), "{}", t.name);
        }
        // A probe whose connections did not run: none, as alone; one that
        // ran without any of this Service's: an empty list.
        let seen = SeenConnections::new(&all);
        assert_eq!(seen.for_service(&["other".to_owned()], &plans[0]), None);
        assert_eq!(seen.for_service(&froms, &[]), Some(Vec::new()));
        let nothing = Observations::default();
        assert_eq!(
            SeenConnections::new(&nothing).for_service(&froms, &plans[0]),
            None
        );
    }
}
