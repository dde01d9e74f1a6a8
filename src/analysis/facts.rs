//! Cluster-wide facts: what holds whatever the Service diagnosed, computed
//! once and handed to every check.
//!
//! A scan of many Services computes them once; the single-Service path
//! computes them for its one Service. The findings and gaps found here are
//! kept apart from each Service's own, and merged into every report.

use super::index::Index;
use super::zone::{PodsMode, Zone};
use super::{Options, Out, SHARED_CHECK, dns, shared_cause, shared_needs, skipped_needs};
use crate::model::{ClusterState, DnsSummary, Finding, NotChecked};

/// What the checks know about the cluster before looking at a Service.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The cluster DNS: the kube-dns Service, its endpoints and pods, the
    /// parsed Corefile, the cluster domain and its source, NodeLocal DNSCache.
    pub dns: DnsSummary,
    /// The cluster zone CoreDNS serves: the Corefile's kubernetes zone, else
    /// the cluster domain. It differs from the pods' search domain
    /// ([`Facts::search_domain`]) only with a mismatched `--cluster-domain`.
    pub served_zone: String,
    /// The `pods` mode of the Corefile's kubernetes plugin.
    pub pods_mode: PodsMode,
    /// Why no name resolves at all, when cluster DNS itself is down.
    pub dns_down: Option<String>,
    /// The cluster-wide findings (those of the cluster DNS).
    pub findings: Vec<Finding>,
    /// What the cluster DNS checks could not check; a report lists these
    /// before the Service's own entries.
    pub not_checked: Vec<NotChecked>,
    /// Reads that failed and snapshot objects that were skipped, whatever
    /// needed them; a report lists these after the Service's own entries.
    pub read_gaps: Vec<NotChecked>,
    /// Where the state's objects are, so a Service's checks look at its
    /// namespace only.
    pub(crate) index: Index,
}

impl Facts {
    /// The facts of `state`, with the cluster domain of `opts` if it has one.
    pub fn compute(state: &ClusterState, opts: &Options) -> Facts {
        let mut out = Out::default();
        let index = Index::new(state);
        let dns = dns::compute(state, opts, &mut out);
        Facts {
            served_zone: served_zone(&dns).to_owned(),
            pods_mode: pods_mode(&dns),
            dns_down: dns_down(&dns),
            dns,
            findings: out.findings,
            not_checked: out.not_checked,
            read_gaps: read_gaps(state),
            index,
        }
    }

    /// The domain of the pods' search list and of the FQDN: the flag's, else
    /// the Corefile's, else `cluster.local`.
    pub fn search_domain(&self) -> &str {
        &self.dns.cluster_domain
    }

    /// What CoreDNS's kubernetes plugin serves, over the objects of `state`.
    pub fn zone<'a>(&'a self, state: &'a ClusterState) -> Zone<'a> {
        Zone::indexed(state, &self.index, &self.served_zone, self.pods_mode)
    }
}

/// The `pods` mode of the Corefile's kubernetes plugin.
fn pods_mode(dns: &DnsSummary) -> PodsMode {
    match dns.corefile.as_ref().map(|c| c.pods.as_str()) {
        Some("insecure") => PodsMode::Insecure,
        Some("verified") => PodsMode::Verified,
        _ => PodsMode::Disabled,
    }
}

/// The cluster zone CoreDNS serves: the Corefile's, else the cluster domain.
fn served_zone(dns: &DnsSummary) -> &str {
    dns.corefile
        .as_ref()
        .and_then(|c| {
            c.kubernetes_zones
                .iter()
                .find(|z| !z.ends_with("in-addr.arpa") && !z.ends_with("ip6.arpa"))
        })
        .map_or(dns.cluster_domain.as_str(), String::as_str)
}

/// Why no name resolves at all, when cluster DNS itself is down.
fn dns_down(dns: &DnsSummary) -> Option<String> {
    if dns.service_found == Some(false) {
        Some("there is no kube-dns Service (dns-service-missing)".to_owned())
    } else if dns.ready_endpoints == Some(0) {
        Some("kube-dns has no ready endpoint (dns-no-ready-endpoints)".to_owned())
    } else if dns.corefile.as_ref().is_some_and(|c| {
        c.kubernetes_zones
            .iter()
            .all(|z| z.ends_with("in-addr.arpa") || z.ends_with("ip6.arpa"))
    }) {
        Some("CoreDNS serves no cluster zone (dns-corefile-no-kubernetes)".to_owned())
    } else {
        None
    }
}

/// One entry per optional read that failed (one for all that failed alike)
/// and per snapshot object that was skipped.
fn read_gaps(state: &ClusterState) -> Vec<NotChecked> {
    let mut out = Out::default();
    for failure in state.failures.iter().filter(|f| !f.required) {
        if shared_cause(state, failure) {
            out.not_checked(
                SHARED_CHECK,
                failure.reason.clone(),
                shared_needs(state, failure),
            );
            continue;
        }
        let needs = if failure.forbidden {
            format!("RBAC: {}", failure.what())
        } else {
            failure.what()
        };
        out.not_checked(
            &format!("read {}", failure.kind.resource()),
            failure.reason.clone(),
            needs,
        );
    }
    for s in &state.skipped {
        out.not_checked(
            &format!("read {}", s.what()),
            s.reason.clone(),
            skipped_needs(s),
        );
    }
    out.not_checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Code, ConfigMap, DomainSource, Endpoint, EndpointSlice, KUBE_DNS, KUBE_SYSTEM, Kind, Pod,
        ReadFailure, Service,
    };

    const COREFILE: &str = ".:53 {\n    errors\n    kubernetes corp.example in-addr.arpa ip6.arpa {\n        pods insecure\n    }\n    forward . /etc/resolv.conf\n    loop\n}\n";

    /// A cluster whose DNS is whole: the Corefile, kube-dns, one ready
    /// CoreDNS pod and its endpoint, all read.
    fn cluster() -> ClusterState {
        let dns_labels: std::collections::BTreeMap<String, String> =
            [("k8s-app".to_owned(), "kube-dns".to_owned())].into();
        let mut state = ClusterState {
            services: vec![Service {
                namespace: KUBE_SYSTEM.into(),
                name: KUBE_DNS.into(),
                cluster_ips: vec!["10.96.0.10".into()],
                selector: Some(dns_labels.clone()),
                ..Service::default()
            }],
            pods: vec![Pod {
                namespace: KUBE_SYSTEM.into(),
                name: "coredns-1".into(),
                labels: dns_labels,
                ready: Some(crate::model::Condition {
                    status: Some(true),
                    reason: None,
                    message: None,
                }),
                ..Pod::default()
            }],
            endpoint_slices: vec![EndpointSlice {
                namespace: KUBE_SYSTEM.into(),
                name: "kube-dns-abcde".into(),
                service_name: Some(KUBE_DNS.into()),
                address_type: "IPv4".into(),
                endpoints: vec![Endpoint {
                    addresses: vec!["10.244.0.2".into()],
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                    hostname: None,
                    pod: Some("coredns-1".into()),
                    node_name: None,
                }],
                ..EndpointSlice::default()
            }],
            config_maps: vec![ConfigMap {
                namespace: KUBE_SYSTEM.into(),
                name: "coredns".into(),
                data: [("Corefile".to_owned(), COREFILE.to_owned())].into(),
            }],
            ..ClusterState::default()
        };
        for kind in [
            Kind::Service,
            Kind::Pod,
            Kind::EndpointSlice,
            Kind::ConfigMap,
            Kind::DaemonSet,
        ] {
            state.coverage.add_namespace(kind, KUBE_SYSTEM);
        }
        state
    }

    #[test]
    fn a_whole_cluster_dns_gives_its_zone_and_no_finding() {
        let facts = Facts::compute(&cluster(), &Options::default());
        assert_eq!(facts.search_domain(), "corp.example");
        assert_eq!(facts.dns.cluster_domain_source, DomainSource::Corefile);
        assert_eq!(facts.served_zone, "corp.example");
        assert_eq!(facts.pods_mode, PodsMode::Insecure);
        assert_eq!(facts.dns.service_found, Some(true));
        assert_eq!(facts.dns.cluster_ip.as_deref(), Some("10.96.0.10"));
        assert_eq!(facts.dns.ready_endpoints, Some(1));
        assert_eq!(facts.dns.pods.len(), 1);
        assert_eq!(facts.dns.node_local_dns, Some(false));
        assert_eq!(facts.dns_down, None);
        assert!(facts.findings.is_empty(), "{:?}", facts.findings);
        assert!(facts.not_checked.is_empty(), "{:?}", facts.not_checked);
        assert!(facts.read_gaps.is_empty(), "{:?}", facts.read_gaps);
    }

    #[test]
    fn a_flag_the_corefile_does_not_serve_splits_search_domain_and_zone() {
        let opts = Options {
            cluster_domain: Some("cluster.local.".into()),
            ..Options::default()
        };
        let facts = Facts::compute(&cluster(), &opts);
        assert_eq!(facts.search_domain(), "cluster.local");
        assert_eq!(facts.dns.cluster_domain_source, DomainSource::Flag);
        assert_eq!(facts.served_zone, "corp.example");
        let codes: Vec<Code> = facts.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::ClusterDomainMismatch]);
    }

    #[test]
    fn dns_without_a_ready_endpoint_is_down_for_every_service() {
        let mut state = cluster();
        state.endpoint_slices[0].endpoints[0].ready = Some(false);
        let facts = Facts::compute(&state, &Options::default());
        assert_eq!(facts.dns.ready_endpoints, Some(0));
        assert_eq!(
            facts.dns_down.as_deref(),
            Some("kube-dns has no ready endpoint (dns-no-ready-endpoints)")
        );
        let codes: Vec<Code> = facts.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::DnsNoReadyEndpoints]);
    }

    #[test]
    fn nothing_read_is_a_default_domain_gaps_and_read_gaps() {
        let state = ClusterState {
            failures: vec![ReadFailure {
                verb: "list",
                kind: Kind::Event,
                namespace: Some("default".into()),
                reason: "events are forbidden".into(),
                forbidden: true,
                required: false,
            }],
            ..ClusterState::default()
        };
        let facts = Facts::compute(&state, &Options::default());
        assert_eq!(facts.search_domain(), "cluster.local");
        assert_eq!(facts.dns.cluster_domain_source, DomainSource::Default);
        assert_eq!(facts.served_zone, "cluster.local");
        assert_eq!(facts.pods_mode, PodsMode::Disabled);
        assert_eq!(facts.dns.service_found, None);
        assert_eq!(facts.dns_down, None);
        assert!(facts.findings.is_empty(), "{:?}", facts.findings);
        let checks: Vec<&str> = facts.not_checked.iter().map(|n| n.check.as_str()).collect();
        assert_eq!(checks, ["Corefile (cluster domain)", "cluster DNS"]);
        let gaps: Vec<(&str, &str)> = facts
            .read_gaps
            .iter()
            .map(|n| (n.check.as_str(), n.needs.as_str()))
            .collect();
        assert_eq!(
            gaps,
            [("read events", "RBAC: list events in namespace default")]
        );
    }
}
