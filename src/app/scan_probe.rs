//! A scan that probes (`--all`/`-A` with `--probe pod|local` or `--from`):
//! the views of every scanned Service planned as for a single run, merged
//! per client resolver (`analysis::merge_views`: one exec carries every
//! name of a view), run once through the probe machinery (one Job per
//! client namespace, one port-forward, or one `--from` pod), then split
//! back per Service (`analysis::observations_for`), whose report is the
//! one a single-Service run with the same probe flags gives.

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;

use crate::analysis::{
    self, ConnectPlan, Observations, Reach, ResolverConf, Target, ViewPlan, plan_views,
};
use crate::error::{Error, Result};
use crate::model::{ClusterState, LabelSelector, Report, Scan};
use crate::plan::{Plan, ProbeMode, ScanNamespaces, What};
use crate::probe::job::Cleanup;

/// The probe flags a scan refuses, before anything is read.
pub(super) fn check(plan: &Plan) -> Result<()> {
    if let ProbeMode::From {
        namespace: None,
        pod,
        ..
    } = &plan.probe.mode
        && matches!(
            plan.what,
            What::Scan {
                namespace: ScanNamespaces::All,
                ..
            }
        )
    {
        return Err(Error::Usage(format!(
            "--from {pod} with -A: name the pod's namespace, --from NAMESPACE/{pod}"
        )));
    }
    Ok(())
}

/// What a probed scan gives: the scan, and lines for stderr.
pub(super) struct Probed {
    pub state: ClusterState,
    pub scan: Scan,
    pub notes: Vec<String>,
}

/// One scanned Service: its prediction, the views its probe observes, and
/// the connections it asks for (`--connect`).
struct Planned {
    target: Target,
    predicted: Report,
    views: Vec<ViewPlan>,
    connects: Vec<ConnectPlan>,
}

impl Planned {
    /// Where its connections are opened from, in the order a single run
    /// lists them: the client namespaces its views run in, or the `--from`
    /// pod.
    fn froms(&self, from_pod: Option<&str>) -> Vec<String> {
        if let Some(pod) = from_pod {
            return vec![pod.to_owned()];
        }
        let mut froms: Vec<String> = Vec::new();
        for v in &self.views {
            if !froms.contains(&v.run_in) {
                froms.push(v.run_in.clone());
            }
        }
        froms
    }
}

/// Each Service's connections, once per client namespace it is observed
/// from (a pod probe), or once for the one `--from` pod (key `""`); the
/// same connection asked by two Services (endpoints they share) once.
fn connects_by_namespace<'a>(
    probed: impl Iterator<Item = &'a Planned>,
    everywhere: bool,
) -> BTreeMap<String, Vec<ConnectPlan>> {
    type Seen<'b> = HashSet<&'b ConnectPlan>;
    let mut map: BTreeMap<String, (Vec<ConnectPlan>, Seen<'a>)> = BTreeMap::new();
    for s in probed {
        let namespaces = if everywhere {
            vec![String::new()]
        } else {
            s.froms(None)
        };
        for ns in namespaces {
            let (list, have) = map.entry(ns).or_default();
            for c in &s.connects {
                if have.insert(c) {
                    list.push(c.clone());
                }
            }
        }
    }
    map.into_iter().map(|(ns, (list, _))| (ns, list)).collect()
}

/// Diagnose every Service of the scope, observed by the one probe the plan
/// asks for.
pub(super) async fn probed(
    plan: &Plan,
    client: &kube::Client,
    mut state: ClusterState,
    namespace: Option<&str>,
    selector: Option<(&LabelSelector, &str)>,
    cleanup: &Cleanup,
) -> Probed {
    let p = &plan.probe;
    // `--from POD`: the scanned namespace's pod (`check` refused -A).
    let options = plan.options_for(&Target {
        namespace: namespace.unwrap_or("default").to_owned(),
        name: String::new(),
    });
    // A probe that cannot start at all: the same for every Service, and
    // whether it stands even for Services without name-form rows (a
    // `--from` pod that cannot be read, as alone).
    let mut cannot: Option<(Observations, bool)> = None;
    if let Some(pod) = &options.from_pod
        && let Err(obs) = super::read_from_pod(client, &mut state, pod).await
    {
        cannot = Some((obs, true));
    }
    let facts = analysis::Facts::compute(&state, &options);
    let targets = analysis::scan_targets(&state, namespace, selector.map(|(s, _)| s));
    let run_id = super::run_id();
    let other_ns = format!("svcdiscover-none-{run_id}");
    let absent = format!("svcdiscover-absent-{run_id}");
    let domain = facts.dns.cluster_domain.clone();
    // Every mode's reach.
    let (reach, from_conf) = match &p.mode {
        ProbeMode::Pod | ProbeMode::None => (Reach::NamedNamespaces, None),
        ProbeMode::Local => (Reach::Everywhere, None),
        ProbeMode::From { .. } => {
            let conf = options.from_pod.as_ref().and_then(|pod| {
                state
                    .pods
                    .iter()
                    .find(|x| x.namespace == pod.namespace && x.name == pod.name)
                    .and_then(|x| {
                        ResolverConf::for_pod(x, &domain, facts.dns.cluster_ip.as_deref())
                            .conf()
                            .cloned()
                    })
            });
            if conf.is_none()
                && cannot.is_none()
                && let Some(pod) = &options.from_pod
            {
                cannot = Some((
                    super::not_run(
                        &pod.namespace,
                        format!(
                            "pod {pod} uses the node's resolv.conf (dnsPolicy Default or hostNetwork), which the tool cannot predict"
                        ),
                    ),
                    false,
                ));
            }
            (Reach::FromPod, conf)
        }
    };
    let dns_pod = facts
        .dns
        .pods
        .iter()
        .find(|b| b.ready)
        .map(|b| b.pod.clone());
    if p.mode == ProbeMode::Local && dns_pod.is_none() && cannot.is_none() {
        cannot = Some((
            super::not_run(
                "kube-system",
                "--probe local needs a ready CoreDNS pod (k8s-app=kube-dns in kube-system) to port-forward to, and there is none".to_owned(),
            ),
            false,
        ));
    }
    let dns_ns = "kube-system";
    let planned: Vec<Planned> = targets
        .into_iter()
        .map(|target| {
            let predicted = analysis::diagnose_with(&state, &facts, &target, &options);
            let mut views = plan_views(
                &predicted,
                &target,
                &options,
                reach,
                &other_ns,
                &absent,
                from_conf.as_ref(),
            );
            if reach == Reach::Everywhere {
                // In-process: every view is asked through the one
                // port-forward, wherever its rows' clients are.
                for v in &mut views {
                    dns_ns.clone_into(&mut v.run_in);
                }
            }
            let connects = if p.connect && !predicted.name_forms.is_empty() {
                analysis::plan_connects(&state, &target)
            } else {
                Vec::new()
            };
            Planned {
                target,
                predicted,
                views,
                connects,
            }
        })
        .collect();
    // A Service without name-form rows is not probed (as alone).
    let probed: Vec<&Planned> = planned
        .iter()
        .filter(|s| !s.predicted.name_forms.is_empty())
        .collect();
    let merged = analysis::merge_views(probed.iter().map(|s| s.views.as_slice()));
    // `--connect`: every Service's connections, from each of its probes.
    let from_pod = options.from_pod.as_ref().map(ToString::to_string);
    let connects = p
        .connect
        .then(|| connects_by_namespace(probed.iter().copied(), from_pod.is_some()));
    let all = match (&cannot, &p.mode) {
        (Some((obs, _)), _) => obs.clone(),
        _ if probed.is_empty() => Observations::default(),
        (None, ProbeMode::Pod) => {
            let pp = crate::probe::run::PodProbe {
                run_id: run_id.clone(),
                image: p.image.clone(),
                pull_secret: p.pull_secret.clone(),
                timeout: p.timeout,
                keep: p.keep,
                explicit: p.explicit,
                now_unix: super::now_unix(),
            };
            let progress: crate::probe::job::Progress = std::io::stderr()
                .is_terminal()
                .then_some(super::progress_line as fn(&str));
            let connects = connects
                .as_ref()
                .map(crate::probe::run::Connects::PerNamespace);
            crate::probe::run::pods(client, &pp, &merged, connects, cleanup, progress).await
        }
        (None, ProbeMode::From { container, .. }) => match &options.from_pod {
            Some(pod) => {
                let from = crate::probe::run::FromPod {
                    namespace: &pod.namespace,
                    pod: &pod.name,
                    container: container.as_deref(),
                    image: &p.image,
                    run_id: &run_id,
                };
                let connects = connects
                    .as_ref()
                    .map(|m| m.get("").map(Vec::as_slice).unwrap_or_default());
                crate::probe::run::from_pod(
                    client,
                    &from,
                    &merged,
                    connects,
                    p.timeout,
                    super::say_safe,
                )
                .await
            }
            None => Observations::default(),
        },
        (None, ProbeMode::Local) => match &dns_pod {
            Some(dns) => {
                let views: Vec<_> = merged
                    .iter()
                    .map(|v| {
                        let ns = v.client.clone().unwrap_or_else(|| other_ns.clone());
                        (v.clone(), ResolverConf::cluster_first(&ns, &domain))
                    })
                    .collect();
                crate::probe::run::local(client, (dns_ns, dns), &views, p.timeout).await
            }
            None => Observations::default(),
        },
        (None, ProbeMode::None) => Observations::default(),
    };
    let seen = analysis::SeenConnections::new(&all);
    let reports: Vec<Report> = planned
        .into_iter()
        .map(|s| {
            // A pod that cannot be read is every Service's problem (as
            // alone); otherwise a Service without rows stays predicted.
            let obs = match &cannot {
                Some((obs, true)) => obs.clone(),
                _ if s.predicted.name_forms.is_empty() => return s.predicted,
                Some((obs, false)) => obs.clone(),
                None => {
                    let mut obs = analysis::observations_for(&all, &s.views);
                    if p.connect {
                        let froms = s.froms(from_pod.as_deref());
                        obs.connections = seen.for_service(&froms, &s.connects);
                    }
                    obs
                }
            };
            if obs.attempted() {
                analysis::diagnose_observed(&state, &facts, &s.target, &options, &obs)
            } else {
                s.predicted
            }
        })
        .collect();
    let mut scan = analysis::scan_of(&state, &facts, namespace, selector, reports);
    scan.summary.probe = all.summary.clone().map(Box::new);
    let notes = all
        .kept
        .iter()
        .map(|k| {
            let (ns, job) = k.split_once('/').unwrap_or(("default", k));
            format!(
                "probe Job {k} kept (--keep-probe); remove it with `kubectl -n {ns} delete job {job}`"
            )
        })
        .collect();
    Probed { state, scan, notes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::plan::Env;
    use clap::Parser;

    fn plan(args: &[&str]) -> Plan {
        let cli =
            Cli::try_parse_from(std::iter::once("kubectl-svcdiscover").chain(args.iter().copied()))
                .expect("valid arguments");
        Plan::with_env(&cli, &Env::default())
    }

    #[test]
    fn a_scan_takes_connect_and_refuses_a_from_pod_without_namespace_across_namespaces() {
        for args in [
            &["--all", "--probe", "pod"][..],
            &["-A", "--probe", "local"][..],
            &["--all", "-n", "shop", "--from", "client"][..],
            &["-A", "--from", "client/client"][..],
            &["-A"][..],
            &["--all", "--connect"][..],
            &["-A", "--probe", "pod", "--connect"][..],
            &["-A", "--from", "client/client", "--connect"][..],
        ] {
            assert!(check(&plan(args)).is_ok(), "{args:?}");
        }
        assert!(plan(&["--all", "--connect"]).probe.connect);
        match check(&plan(&["-A", "--from", "client"])) {
            Err(Error::Usage(m)) => assert!(m.contains("--from NAMESPACE/client"), "{m}"),
            other => panic!("{:?}", other.err()),
        }
    }

    fn connect(address: &str, service_port: i32) -> ConnectPlan {
        ConnectPlan {
            address: address.into(),
            port: service_port,
            service_port,
            target: crate::model::ConnectionTarget::Service,
            pod: None,
        }
    }

    fn planned(ns: &str, run_in: &[&str], connects: Vec<ConnectPlan>) -> Planned {
        let target = Target {
            namespace: ns.into(),
            name: "s".into(),
        };
        let state = ClusterState::default();
        let options = analysis::Options::default();
        let facts = analysis::Facts::compute(&state, &options);
        Planned {
            predicted: analysis::diagnose_with(&state, &facts, &target, &options),
            target,
            views: run_in
                .iter()
                .map(|r| ViewPlan {
                    client: Some((*r).into()),
                    from_pod: None,
                    run_in: (*r).into(),
                    search_override: None,
                    names: Vec::new(),
                    wildcard_checks: Vec::new(),
                })
                .collect(),
            connects,
        }
    }

    #[test]
    fn each_namespace_opens_the_connections_of_the_services_it_observes_once() {
        let shared = connect("10.0.0.9", 80);
        let a = planned(
            "a",
            &["a", "a"],
            vec![connect("10.96.0.1", 80), shared.clone()],
        );
        let b = planned(
            "b",
            &["b", "c"],
            vec![connect("10.96.0.2", 80), shared.clone()],
        );
        let c = planned("a", &["a"], vec![shared.clone()]);
        assert_eq!(a.froms(None), ["a"]);
        assert_eq!(b.froms(None), ["b", "c"]);
        assert_eq!(b.froms(Some("x/p")), ["x/p"]);
        let map = connects_by_namespace([&a, &b, &c].into_iter(), false);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(map["a"], [connect("10.96.0.1", 80), shared.clone()]);
        assert_eq!(map["b"], [connect("10.96.0.2", 80), shared.clone()]);
        assert_eq!(map["c"], map["b"]);
        // One `--from` pod opens every Service's, each once.
        let one = connects_by_namespace([&a, &b, &c].into_iter(), true);
        assert_eq!(
            one[""],
            [connect("10.96.0.1", 80), shared, connect("10.96.0.2", 80)]
        );
    }
}
