//! Cluster DNS: the kube-dns Service, its endpoints and pods, the Corefile,
//! the cluster domain and NodeLocal DNSCache.
//!
//! None of it depends on the Service diagnosed: [`compute`] runs once, for
//! the cluster's [`super::Facts`], and its findings are cluster-wide.

use super::{Options, Out, pods, require, require_object, text};
use crate::model::{
    ClusterState, Code, CorefileSummary, DnsSummary, DomainSource, KUBE_DNS, KUBE_SYSTEM, Kind,
    ObjectRef, Pod, Severity,
};

use super::Corefile;

const DEFAULT_DOMAIN: &str = "cluster.local";
const CHECK: &str = "cluster DNS";

/// The cluster DNS as the report shows it; adds its findings and gaps to `out`.
pub(crate) fn compute(state: &ClusterState, opts: &Options, out: &mut Out) -> DnsSummary {
    let corefile_cm = state.config_map(KUBE_SYSTEM, "coredns");
    let corefile = corefile_cm
        .and_then(|cm| cm.data.get("Corefile"))
        .map(|t| Corefile::parse(t));
    let corefile_known = state
        .coverage
        .covers_object(Kind::ConfigMap, KUBE_SYSTEM, "coredns");

    // Cluster domain: flag, else Corefile, else the default.
    let from_corefile = corefile
        .as_ref()
        .and_then(|c| c.cluster_domain())
        .map(str::to_owned);
    let (cluster_domain, source) = match (&opts.cluster_domain, &from_corefile) {
        (Some(flag), _) => (flag.trim_end_matches('.').to_owned(), DomainSource::Flag),
        (None, Some(d)) => (d.clone(), DomainSource::Corefile),
        (None, None) => (DEFAULT_DOMAIN.to_owned(), DomainSource::Default),
    };
    if let (Some(flag), Some(zone), Some(c)) = (&opts.cluster_domain, &from_corefile, &corefile)
        && !c
            .kubernetes_zones
            .iter()
            .any(|z| z.eq_ignore_ascii_case(flag.trim_end_matches('.')))
    {
        out.finding(
            Code::ClusterDomainMismatch,
            Severity::Warning,
            format!("--cluster-domain is {flag} but CoreDNS serves the zone {zone}: names under {flag} get no answer from the kubernetes plugin"),
            format!("check the kubelet's clusterDomain; if pods really search {flag}, add it to the kubernetes plugin's zones in ConfigMap kube-system/coredns (`kubectl -n kube-system edit configmap coredns`)"),
            vec![ObjectRef::new("ConfigMap", KUBE_SYSTEM, "coredns")],
        );
    }
    match (&corefile, corefile_cm) {
        (Some(c), _) if c.cluster_domain().is_none() => out.finding(
            Code::DnsCorefileNoKubernetes,
            Severity::Warning,
            "the Corefile in ConfigMap kube-system/coredns has no kubernetes plugin zone: CoreDNS serves no Service names".to_owned(),
            format!("add the plugin line `kubernetes {cluster_domain} in-addr.arpa ip6.arpa` to the Corefile (`kubectl -n kube-system edit configmap coredns`)"),
            vec![ObjectRef::new("ConfigMap", KUBE_SYSTEM, "coredns")],
        ),
        (None, _) if corefile_known && opts.cluster_domain.is_none() => out.finding(
            Code::DnsCorefileMissing,
            Severity::Info,
            format!("no ConfigMap kube-system/coredns with a Corefile (kube-dns or a managed DNS): assuming the cluster domain {DEFAULT_DOMAIN}"),
            "pass --cluster-domain if the cluster uses another domain".to_owned(),
            vec![],
        ),
        (None, _) if !corefile_known => {
            require_object(state, out, "Corefile (cluster domain)", Kind::ConfigMap, KUBE_SYSTEM, "coredns");
        }
        _ => {}
    }

    let mut summary = DnsSummary {
        cluster_domain,
        cluster_domain_source: source,
        service_found: None,
        cluster_ip: None,
        ready_endpoints: None,
        pods: Vec::new(),
        corefile: corefile.as_ref().map(|c| CorefileSummary {
            kubernetes_zones: c.kubernetes_zones.clone(),
            forward: c.forward.clone(),
            loop_plugin: c.loop_plugin,
            pods: c.pods.clone(),
        }),
        node_local_dns: None,
    };

    if state
        .coverage
        .covers_object(Kind::DaemonSet, KUBE_SYSTEM, "node-local-dns")
    {
        let nld = state.workloads.iter().find(|w| {
            w.kind == Kind::DaemonSet && w.namespace == KUBE_SYSTEM && w.name == "node-local-dns"
        });
        summary.node_local_dns = Some(nld.is_some());
        if let Some(nld) = nld {
            out.finding(
                Code::NodeLocalDns,
                Severity::Info,
                "NodeLocal DNSCache runs (DaemonSet kube-system/node-local-dns): pods' queries to the kube-dns IP are answered by the cache on their node, which forwards to Service kube-dns-upstream".to_owned(),
                format!("if one node's pods fail to resolve, check the node-local-dns pod on that node (`kubectl -n kube-system get pods -l {} -o wide`)", text::selector(&nld.template_labels)),
                vec![ObjectRef::new("DaemonSet", KUBE_SYSTEM, "node-local-dns")],
            );
        }
    }

    if !require_object(state, out, CHECK, Kind::Service, KUBE_SYSTEM, KUBE_DNS) {
        return summary;
    }
    let Some(svc) = state.service(KUBE_SYSTEM, KUBE_DNS) else {
        summary.service_found = Some(false);
        out.finding(
            Code::DnsServiceMissing,
            Severity::Error,
            "there is no Service kube-system/kube-dns: pods' resolv.conf points at its ClusterIP, so no name resolves".to_owned(),
            "restore the kube-dns Service (clusterIP equal to the kubelet's clusterDNS, ports 53/UDP and 53/TCP, selector k8s-app=kube-dns)".to_owned(),
            vec![ObjectRef::new("Service", KUBE_SYSTEM, KUBE_DNS)],
        );
        return summary;
    };
    summary.service_found = Some(true);
    summary.cluster_ip = svc.cluster_ips.first().cloned();

    // Its pods: those its selector picks, else the conventional label.
    let sel = svc.selector.clone().unwrap_or_else(|| {
        [(
            crate::model::DNS_APP_LABEL.0.to_owned(),
            crate::model::DNS_APP_LABEL.1.to_owned(),
        )]
        .into()
    });
    let pods_read = state
        .coverage
        .covers_selection(Kind::Pod, KUBE_SYSTEM, &sel);
    let dns_pods: Vec<&Pod> = if pods_read {
        let mut v: Vec<&Pod> = state
            .pods
            .iter()
            .filter(|p| p.namespace == KUBE_SYSTEM && p.matches(&sel))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    } else {
        require(state, out, "CoreDNS pods", Kind::Pod, KUBE_SYSTEM);
        Vec::new()
    };
    summary.pods = dns_pods.iter().map(|p| pods::backend(p)).collect();

    let ready = if state.coverage.covers_selection(
        Kind::EndpointSlice,
        KUBE_SYSTEM,
        &slice_selector(KUBE_DNS),
    ) {
        let n: usize = state
            .slices_of(svc)
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.is_ready())
            .map(|e| e.addresses.len().min(1))
            .sum();
        Some(n)
    } else {
        require(
            state,
            out,
            "kube-dns endpoints",
            Kind::EndpointSlice,
            KUBE_SYSTEM,
        );
        None
    };
    summary.ready_endpoints = ready;

    let unhealthy: Vec<&&Pod> = dns_pods.iter().filter(|p| !p.is_ready()).collect();
    // Every DNS pod unhealthy (or none at all, when the pods were read).
    let all_down = ready == Some(0) || (pods_read && unhealthy.len() == dns_pods.len());
    if all_down || !unhealthy.is_empty() {
        let mut objects = vec![ObjectRef::new("Service", KUBE_SYSTEM, KUBE_DNS)];
        objects.extend(super::pod_refs(unhealthy.iter().map(|p| **p)));
        let states = unhealthy
            .iter()
            .map(|p| format!("{} ({})", p.name, pods::status(p)))
            .collect::<Vec<_>>();
        let (severity, message) = if all_down {
            (
                Severity::Error,
                if ready == Some(0) {
                    format!(
                        "the kube-dns Service has no ready endpoint: no name in the cluster resolves{}",
                        if states.is_empty() {
                            String::new()
                        } else {
                            format!("; DNS pods: {}", states.join(", "))
                        }
                    )
                } else if states.is_empty() {
                    "the kube-dns Service selects no DNS pod: no name in the cluster resolves"
                        .to_owned()
                } else {
                    format!("every DNS pod is unhealthy: {}", states.join(", "))
                },
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "{} of {} DNS pods are unhealthy: {}; the others still answer",
                    unhealthy.len(),
                    dns_pods.len(),
                    states.join(", ")
                ),
            )
        };
        let crashing = unhealthy
            .iter()
            .any(|p| pods::status(p) == "CrashLoopBackOff");
        let loop_hint = if summary.corefile.as_ref().is_some_and(|c| c.loop_plugin) && crashing {
            "; a crash-looping CoreDNS with the `loop` plugin usually means `forward . /etc/resolv.conf` points back at itself (a node stub resolver such as 127.0.0.53): set the kubelet's resolvConf to the real upstream file"
        } else {
            ""
        };
        out.finding(
            Code::DnsNoReadyEndpoints,
            severity,
            message,
            format!(
                "`kubectl -n kube-system get pods -l {sel} -o wide` and `kubectl -n kube-system logs -l {sel}{previous}`{loop_hint}",
                sel = text::selector(&sel),
                previous = if crashing { " --previous" } else { "" },
            ),
            objects,
        );
    }
    summary
}

/// The label selector of a Service's EndpointSlices.
pub(crate) fn slice_selector(service: &str) -> std::collections::BTreeMap<String, String> {
    [(
        crate::model::SERVICE_NAME_LABEL.to_owned(),
        service.to_owned(),
    )]
    .into()
}
