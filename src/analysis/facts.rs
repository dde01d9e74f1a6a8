//! Cluster-wide facts: what holds whatever the Service diagnosed, computed
//! once and handed to every check.
//!
//! A scan of many Services computes them once; the single-Service path
//! computes them for its one Service. The findings and gaps found here are
//! kept apart from each Service's own, and merged into every report.

use super::names::{PodsMode, Zone};
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
}

impl Facts {
    /// The facts of `state`, with the cluster domain of `opts` if it has one.
    pub fn compute(state: &ClusterState, opts: &Options) -> Facts {
        let mut out = Out::default();
        let dns = dns::compute(state, opts, &mut out);
        Facts {
            served_zone: served_zone(&dns).to_owned(),
            pods_mode: pods_mode(&dns),
            dns_down: dns_down(&dns),
            dns,
            findings: out.findings,
            not_checked: out.not_checked,
            read_gaps: read_gaps(state),
        }
    }

    /// The domain of the pods' search list and of the FQDN: the flag's, else
    /// the Corefile's, else `cluster.local`.
    pub fn search_domain(&self) -> &str {
        &self.dns.cluster_domain
    }

    /// What CoreDNS's kubernetes plugin serves, over the objects of `state`.
    pub fn zone<'a>(&self, state: &'a ClusterState) -> Zone<'a> {
        Zone::new(state, &self.served_zone, self.pods_mode)
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
