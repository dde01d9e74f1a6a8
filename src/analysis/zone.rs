//! What CoreDNS's `kubernetes` plugin answers for one absolute name
//! ([`Zone::answer`]), from Services, EndpointSlices and Namespaces
//! (docs/name-forms.md, after DNS.md §3).

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::index::Index;

use crate::model::{Answer, Candidate, ClusterState, Kind, Service, ServiceType};

/// Stands for "some other namespace" in hypothetical rows.
pub(crate) const OTHER_NS: &str = "<other-namespace>";
/// How deep CNAME chains inside the zone are followed.
const MAX_CNAME_DEPTH: usize = 8;

/// `pods` mode of the kubernetes plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodsMode {
    Disabled,
    Insecure,
    Verified,
}

/// What CoreDNS's `kubernetes` plugin would serve for one cluster domain.
pub struct Zone<'a> {
    state: &'a ClusterState,
    index: Cow<'a, Index>,
    domain: String,
    pods: PodsMode,
}

impl<'a> Zone<'a> {
    /// The zone over `state`, indexing it (one pass over its objects).
    pub fn new(state: &'a ClusterState, domain: &str, pods: PodsMode) -> Zone<'a> {
        Zone::with(state, Cow::Owned(Index::new(state)), domain, pods)
    }

    /// The zone over `state` with the index of its facts.
    pub(crate) fn indexed(
        state: &'a ClusterState,
        index: &'a Index,
        domain: &str,
        pods: PodsMode,
    ) -> Zone<'a> {
        Zone::with(state, Cow::Borrowed(index), domain, pods)
    }

    fn with(
        state: &'a ClusterState,
        index: Cow<'a, Index>,
        domain: &str,
        pods: PodsMode,
    ) -> Zone<'a> {
        Zone {
            state,
            index,
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
            pods,
        }
    }

    /// The predicted answer to an A/AAAA query for `name` (absolute, with or
    /// without the trailing dot).
    pub fn answer(&self, name: &str) -> Candidate {
        let (answer, why) = self.answer_inner(name, 0);
        Candidate {
            name: if name.ends_with('.') {
                name.to_owned()
            } else {
                format!("{name}.")
            },
            answer,
            why,
        }
    }

    fn answer_inner(&self, name: &str, depth: usize) -> (Answer, String) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let d = &self.domain;
        if name == *d {
            return (
                Answer::Nodata,
                format!("`{d}` is the zone apex: no address record"),
            );
        }
        let Some(rest) = name.strip_suffix(&format!(".{d}")) else {
            return (
                Answer::Upstream,
                format!(
                    "outside the cluster zone `{d}`: forwarded upstream, where it is assumed not to exist"
                ),
            );
        };
        let mut labels: Vec<&str> = rest.split('.').collect();
        let Some(kind) = labels.pop() else {
            return (Answer::Nxdomain, "empty name".to_owned());
        };
        match kind {
            "svc" => self.svc(&labels, depth),
            "pod" => self.pod(&labels),
            other => (
                Answer::Nxdomain,
                format!("the label before `{d}` is `{other}`, neither `svc` nor `pod`: NXDOMAIN"),
            ),
        }
    }

    fn namespace_exists(&self, ns: &str) -> Option<bool> {
        if ns == OTHER_NS {
            return Some(true);
        }
        self.index.namespace_exists(self.state, ns)
    }

    fn svc(&self, labels: &[&str], depth: usize) -> (Answer, String) {
        let d = &self.domain;
        let Some(&ns) = labels.last() else {
            return (
                Answer::Nodata,
                format!("`svc.{d}` exists but holds no address"),
            );
        };
        let exists = self.namespace_exists(ns);
        if labels.len() == 1 {
            return match exists {
                Some(true) => (
                    Answer::Nodata,
                    format!("read as namespace `{ns}`, which exists: NODATA"),
                ),
                Some(false) => (
                    Answer::Nxdomain,
                    format!("read as namespace `{ns}`, which does not exist: NXDOMAIN"),
                ),
                None => (
                    Answer::Nxdomain,
                    format!(
                        "read as namespace `{ns}`: NXDOMAIN (NODATA if such a namespace exists; the search goes on either way)"
                    ),
                ),
            };
        }
        if labels.len() > 4 {
            return (
                Answer::Nxdomain,
                format!(
                    "{} labels before `svc`: not a Kubernetes name",
                    labels.len()
                ),
            );
        }
        if exists == Some(false) {
            return (
                Answer::Nxdomain,
                format!("read as namespace `{ns}`, which does not exist: NXDOMAIN"),
            );
        }
        let svc_name = labels[labels.len() - 2];
        let Some(svc) = self.find_service(ns, svc_name) else {
            let unread = ns != OTHER_NS
                && !self
                    .state
                    .coverage
                    .covers_object(Kind::Service, ns, svc_name);
            if unread && labels.len() == 2 {
                // A Service of that name there would answer: not known.
                return (
                    Answer::Unknown,
                    format!(
                        "the Services of namespace `{ns}` were not read: a Service `{svc_name}` there would answer, else NXDOMAIN"
                    ),
                );
            }
            // Endpoint- and port-shaped names would need a Service named like
            // the target's namespace with a matching endpoint or port: assumed
            // absent, and said so.
            let assumed = if unread {
                " (assumed: the Services of that namespace were not read)"
            } else {
                ""
            };
            let what = match labels.len() {
                2 => format!("no Service `{svc_name}` in namespace `{ns}`: NXDOMAIN{assumed}"),
                3 => format!(
                    "read as endpoint `{}` of Service `{svc_name}` in namespace `{ns}`, which does not exist: NXDOMAIN{assumed}",
                    labels[0]
                ),
                _ => format!(
                    "read as port `{}`, protocol `{}` of Service `{svc_name}` in namespace `{ns}`, which does not exist: NXDOMAIN{assumed}",
                    labels[0], labels[1]
                ),
            };
            return (Answer::Nxdomain, what);
        };
        match labels.len() {
            2 => self.service_record(svc, depth),
            3 => self.endpoint_record(svc, labels[0]),
            _ => self.srv_shaped(svc, labels[0], labels[1]),
        }
    }

    fn find_service(&self, ns: &str, name: &str) -> Option<&'a Service> {
        if ns == OTHER_NS {
            return None;
        }
        self.index.service(self.state, ns, name)
    }

    fn service_record(&self, svc: &Service, depth: usize) -> (Answer, String) {
        let id = format!("{}/{}", svc.namespace, svc.name);
        if svc.type_ == ServiceType::ExternalName {
            let target = svc
                .external_name
                .clone()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if target.is_empty() {
                return (
                    Answer::Nxdomain,
                    format!(
                        "ExternalName Service {id} has an empty externalName: CoreDNS serves nothing, NXDOMAIN"
                    ),
                );
            }
            if target.parse::<std::net::IpAddr>().is_ok() {
                // plugin/kubernetes findServices keeps an ExternalName only
                // when msg.Service.HostType() is CNAME, and an address parses
                // as A/AAAA: the Service is skipped, the name does not exist.
                return (
                    Answer::Nxdomain,
                    format!(
                        "ExternalName Service {id} has the IP address {target} in externalName: CoreDNS serves an externalName only as a CNAME to a hostname and skips an address, so the name does not exist: NXDOMAIN"
                    ),
                );
            }
            let in_zone = target == self.domain || target.ends_with(&format!(".{}", self.domain));
            if in_zone && depth < MAX_CNAME_DEPTH {
                let (inner, why) = self.answer_inner(&target, depth + 1);
                return match inner {
                    Answer::Address { addresses } => (
                        Answer::Cname {
                            target,
                            addresses,
                            resolves: Some(true),
                        },
                        format!(
                            "ExternalName Service {id}: CNAME to an in-cluster name that resolves ({why})"
                        ),
                    ),
                    Answer::Cname {
                        addresses,
                        resolves,
                        ..
                    } => (
                        Answer::Cname {
                            target,
                            addresses,
                            resolves,
                        },
                        format!("ExternalName Service {id}: CNAME chain ({why})"),
                    ),
                    _ => (
                        Answer::Nodata,
                        format!(
                            "ExternalName Service {id} points at in-cluster `{target}`, which does not resolve ({why}): CoreDNS drops the CNAME and answers NODATA"
                        ),
                    ),
                };
            }
            return (
                Answer::Cname {
                    target: target.clone(),
                    addresses: Vec::new(),
                    resolves: None,
                },
                format!(
                    "ExternalName Service {id}: CNAME to `{target}`, resolved outside the cluster"
                ),
            );
        }
        if svc.headless {
            let addrs = self.ready_addresses(svc, None);
            if addrs.is_empty() {
                return (
                    Answer::Nxdomain,
                    format!("headless Service {id} has no ready endpoint: NXDOMAIN"),
                );
            }
            return (
                Answer::Address { addresses: addrs },
                format!("headless Service {id}: one record per ready endpoint"),
            );
        }
        (
            Answer::Address {
                addresses: svc.cluster_ips.clone(),
            },
            format!("Service {id}: its ClusterIP (answered with or without ready endpoints)"),
        )
    }

    fn endpoint_record(&self, svc: &Service, host: &str) -> (Answer, String) {
        let id = format!("{}/{}", svc.namespace, svc.name);
        let addrs = self.ready_addresses(svc, Some(host));
        if addrs.is_empty() {
            (
                Answer::Nxdomain,
                format!(
                    "read as endpoint `{host}` of Service {id}, which has no ready endpoint of that name: NXDOMAIN"
                ),
            )
        } else {
            (
                Answer::Address { addresses: addrs },
                format!("endpoint `{host}` of Service {id}"),
            )
        }
    }

    fn srv_shaped(&self, svc: &Service, port: &str, proto: &str) -> (Answer, String) {
        let id = format!("{}/{}", svc.namespace, svc.name);
        let port = port.trim_start_matches('_');
        let proto = proto.trim_start_matches('_');
        let matched = svc.ports.iter().any(|p| {
            p.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(port))
                && p.protocol.eq_ignore_ascii_case(proto)
        });
        if matched && !svc.headless && !svc.cluster_ips.is_empty() {
            (
                Answer::Address {
                    addresses: svc.cluster_ips.clone(),
                },
                format!("read as port `{port}`/`{proto}` of Service {id}, which has it"),
            )
        } else {
            (
                Answer::Nxdomain,
                format!(
                    "read as port `{port}`, protocol `{proto}` of Service {id}, which has no such named port: NXDOMAIN"
                ),
            )
        }
    }

    fn ready_addresses(&self, svc: &Service, host: Option<&str>) -> Vec<String> {
        let mut out = BTreeSet::new();
        for slice in self.index.slices_of(self.state, svc) {
            for ep in slice.endpoints.iter().filter(|e| e.is_ready()) {
                for addr in &ep.addresses {
                    let matches = match host {
                        None => true,
                        Some(h) => {
                            ep.hostname.as_deref() == Some(h) || addr.replace(['.', ':'], "-") == h
                        }
                    };
                    if matches {
                        out.insert(addr.clone());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    fn pod(&self, labels: &[&str]) -> (Answer, String) {
        if self.pods == PodsMode::Disabled {
            return (
                Answer::Nxdomain,
                "pod records are disabled in the Corefile (`pods disabled` is the default): NXDOMAIN".to_owned(),
            );
        }
        match labels {
            [ip, ns] => {
                let addr = ip.replace('-', ".");
                if addr.parse::<std::net::Ipv4Addr>().is_ok()
                    && self.namespace_exists(ns) != Some(false)
                {
                    (
                        Answer::Address {
                            addresses: vec![addr],
                        },
                        format!("pod record in namespace `{ns}`"),
                    )
                } else {
                    (
                        Answer::Nxdomain,
                        "not a valid pod record: NXDOMAIN".to_owned(),
                    )
                }
            }
            _ => (
                Answer::Nxdomain,
                "not a valid pod record: NXDOMAIN".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::resolver::{ResolverConf, replay};
    use crate::model::{Endpoint, EndpointSlice};

    pub(crate) fn svc(ns: &str, name: &str, ip: &str) -> Service {
        Service {
            namespace: ns.into(),
            name: name.into(),
            cluster_ips: vec![ip.into()],
            selector: Some([("app".to_owned(), name.to_owned())].into()),
            ..Service::default()
        }
    }

    pub(crate) fn state(services: Vec<Service>) -> ClusterState {
        let mut s = ClusterState {
            services,
            ..ClusterState::default()
        };
        s.coverage.add_all(Kind::Service);
        s.coverage.add_all(Kind::Namespace);
        s.namespaces = ["default", "client", "kube-system"]
            .map(String::from)
            .into();
        s
    }

    #[test]
    fn headless_service_answers_ready_endpoints_only_or_nxdomain() {
        let mut headless = svc("default", "db", "");
        headless.cluster_ips.clear();
        headless.headless = true;
        let mut st = state(vec![headless]);
        let ep = |ip: &str, ready| Endpoint {
            addresses: vec![ip.into()],
            ready: Some(ready),
            serving: Some(ready),
            terminating: None,
            hostname: Some(format!("h{}", ip.len())),
            pod: None,
            node_name: None,
        };
        st.endpoint_slices.push(EndpointSlice {
            namespace: "default".into(),
            name: "db-x".into(),
            service_name: Some("db".into()),
            address_type: "IPv4".into(),
            endpoints: vec![ep("10.244.0.1", true), ep("10.244.0.22", false)],
            ..EndpointSlice::default()
        });
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        assert_eq!(
            zone.answer("db.default.svc.cluster.local").answer,
            Answer::Address {
                addresses: vec!["10.244.0.1".into()]
            }
        );
        // Endpoint records by dashed IP and by hostname; a not-ready one is absent.
        assert!(matches!(
            zone.answer("10-244-0-1.db.default.svc.cluster.local")
                .answer,
            Answer::Address { .. }
        ));
        assert_eq!(
            zone.answer("10-244-0-22.db.default.svc.cluster.local")
                .answer,
            Answer::Nxdomain
        );

        st.endpoint_slices[0].endpoints[0].ready = Some(false);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        assert_eq!(
            zone.answer("db.default.svc.cluster.local").answer,
            Answer::Nxdomain
        );
    }

    #[test]
    fn external_name_is_a_cname_whose_outcome_is_unknown_outside_the_cluster() {
        let mut ext = svc("default", "billing", "");
        ext.type_ = ServiceType::ExternalName;
        ext.cluster_ips.clear();
        ext.selector = None;
        ext.external_name = Some("billing.example.com".into());
        let mut internal = ext.clone();
        internal.name = "alias".into();
        internal.external_name = Some("service-pay-v1.default.svc.cluster.local".into());
        let mut dangling = ext.clone();
        dangling.name = "dangling".into();
        dangling.external_name = Some("gone.default.svc.cluster.local".into());
        let st = state(vec![
            ext,
            internal,
            dangling,
            svc("default", "service-pay-v1", "10.96.0.20"),
        ]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let res = replay(
            "billing",
            &ResolverConf::cluster_first("default", "cluster.local"),
            &zone,
        );
        assert_eq!(res.resolves(), None);
        assert!(
            matches!(&res.candidates[0].answer, Answer::Cname { target, .. } if target == "billing.example.com")
        );
        let res = replay(
            "alias",
            &ResolverConf::cluster_first("default", "cluster.local"),
            &zone,
        );
        assert_eq!(res.resolves(), Some(true));
        assert!(
            matches!(&res.candidates[0].answer, Answer::Cname { addresses, .. } if addresses == &["10.96.0.20".to_owned()])
        );
        assert_eq!(
            zone.answer("dangling.default.svc.cluster.local").answer,
            Answer::Nodata
        );
    }

    #[test]
    fn zone_edges() {
        let st = state(vec![svc("default", "web", "10.96.0.5")]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Insecure);
        assert_eq!(zone.answer("cluster.local.").answer, Answer::Nodata);
        assert_eq!(zone.answer("svc.cluster.local.").answer, Answer::Nodata);
        assert_eq!(
            zone.answer("default.svc.cluster.local.").answer,
            Answer::Nodata
        );
        assert_eq!(
            zone.answer("nosuch.svc.cluster.local.").answer,
            Answer::Nxdomain
        );
        assert_eq!(zone.answer("web.cluster.local.").answer, Answer::Nxdomain);
        assert_eq!(zone.answer("web.default.").answer, Answer::Upstream);
        assert_eq!(
            zone.answer("a.b.c.d.e.svc.cluster.local.").answer,
            Answer::Nxdomain
        );
        assert_eq!(
            zone.answer("10-1-2-3.default.pod.cluster.local.").answer,
            Answer::Address {
                addresses: vec!["10.1.2.3".into()]
            }
        );
        let disabled = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        assert_eq!(
            disabled
                .answer("10-1-2-3.default.pod.cluster.local.")
                .answer,
            Answer::Nxdomain
        );
        // A namespace that does not exist answers NXDOMAIN even for a known name shape.
        assert_eq!(
            zone.answer("web.gone.svc.cluster.local.").answer,
            Answer::Nxdomain
        );
        // Case does not matter in DNS.
        assert!(matches!(
            zone.answer("WEB.Default.svc.Cluster.Local.").answer,
            Answer::Address { .. }
        ));
    }
}
