//! The glibc resolver replayed: the absolute names `res_search` tries for a
//! pod's resolv.conf ([`ResolverConf::candidates`]), and the walk over them
//! against the predicted zone ([`replay`]), stopping at the first candidate
//! with data (DNS.md §2). The probe reuses both to explain what it observes.

use super::zone::Zone;
use crate::model::{Answer, Candidate};

/// A pod's resolver settings: what its resolv.conf says, as glibc reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConf {
    pub search: Vec<String>,
    /// glibc reads `ndots:N` as `atoi(N)`, at most 15; 1 without one.
    pub ndots: usize,
    /// In order, at most 3; empty when not known.
    pub nameservers: Vec<String>,
    /// The other options as resolv.conf writes them (`edns0`,
    /// `timeout:2`), sorted. Shown, not modelled, except `no-tld-query`.
    pub options: Vec<String>,
}

impl ResolverConf {
    /// What the kubelet writes for a `ClusterFirst` pod in `namespace`.
    pub fn cluster_first(namespace: &str, domain: &str) -> ResolverConf {
        ResolverConf {
            search: vec![
                format!("{namespace}.svc.{domain}"),
                format!("svc.{domain}"),
                domain.to_owned(),
            ],
            ndots: 5,
            nameservers: Vec::new(),
            options: Vec::new(),
        }
    }

    /// The absolute names glibc's `res_search` tries, in order.
    ///
    /// ```
    /// use svcdiscover::analysis::ResolverConf;
    ///
    /// let pod = ResolverConf::cluster_first("client", "cluster.local");
    /// assert_eq!(
    ///     pod.candidates("service-pay-v1"),
    ///     [
    ///         "service-pay-v1.client.svc.cluster.local.",
    ///         "service-pay-v1.svc.cluster.local.",
    ///         "service-pay-v1.cluster.local.",
    ///         "service-pay-v1.",
    ///     ]
    /// );
    /// ```
    pub fn candidates(&self, typed: &str) -> Vec<String> {
        if let Some(abs) = typed.strip_suffix('.') {
            return vec![format!("{abs}.")];
        }
        let dots = typed.matches('.').count();
        let absolute = format!("{typed}.");
        let mut out = Vec::with_capacity(self.search.len() + 1);
        if dots >= self.ndots {
            out.push(absolute.clone());
        }
        out.extend(self.search.iter().map(|d| format!("{typed}.{d}.")));
        // glibc res_search: the name as-is last, unless it was tried first,
        // or `no-tld-query` is set and the name has no dot and was searched.
        let no_tld_query = dots == 0 && !self.search.is_empty() && self.no_tld_query();
        if dots < self.ndots && !no_tld_query {
            out.push(absolute);
        }
        out
    }

    /// glibc's `no-tld-query` (or `no_tld_query`), matched as a prefix as
    /// `res_setoptions` does.
    fn no_tld_query(&self) -> bool {
        self.options
            .iter()
            .any(|o| o.starts_with("no-tld-query") || o.starts_with("no_tld_query"))
    }
}

/// The result of replaying a resolver over its candidates.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Every candidate tried, up to and including the one that answered.
    pub candidates: Vec<Candidate>,
    /// Index into `candidates` of the one that answered with data.
    pub answered_by: Option<usize>,
}

impl Resolution {
    /// `Some(true)` resolves, `Some(false)` does not, `None` cannot be known
    /// (a CNAME to a name outside the cluster).
    pub fn resolves(&self) -> Option<bool> {
        match self.answered_by.map(|i| &self.candidates[i].answer) {
            Some(Answer::Address { .. }) => Some(true),
            Some(Answer::Cname { resolves, .. }) => *resolves,
            // Nothing known answers; an unknown candidate might.
            _ if self.uncertain() => None,
            _ => Some(false),
        }
    }

    /// A candidate tried before the answer (or at all, when none answers)
    /// is unknown: another name might answer first.
    pub fn uncertain(&self) -> bool {
        let upto = self.answered_by.unwrap_or(self.candidates.len());
        self.candidates[..upto]
            .iter()
            .any(|c| c.answer == Answer::Unknown)
    }
}

/// Replay glibc's search: try each candidate, continue on NXDOMAIN, NODATA
/// (and SERVFAIL), stop at the first answer with data.
///
/// ```
/// use svcdiscover::analysis::{PodsMode, ResolverConf, Zone, replay};
/// use svcdiscover::model::{ClusterState, Kind, Service};
///
/// let mut state = ClusterState::default();
/// state.services.push(Service {
///     namespace: "default".into(),
///     name: "service-pay-v1".into(),
///     cluster_ips: vec!["10.96.0.20".into()],
///     ..Service::default()
/// });
/// let zone = Zone::new(&state, "cluster.local", PodsMode::Disabled);
/// let from = |ns| ResolverConf::cluster_first(ns, "cluster.local");
///
/// assert_eq!(replay("service-pay-v1", &from("default"), &zone).resolves(), Some(true));
/// assert_eq!(replay("service-pay-v1.default", &from("client"), &zone).resolves(), Some(true));
/// // The Services of `client` were not read: one named so there might answer.
/// assert_eq!(replay("service-pay-v1", &from("client"), &zone).resolves(), None);
///
/// // Once every namespace's Services are known, the short name fails there.
/// state.coverage.add_all(Kind::Service);
/// let zone = Zone::new(&state, "cluster.local", PodsMode::Disabled);
/// assert_eq!(replay("service-pay-v1", &from("client"), &zone).resolves(), Some(false));
/// ```
pub fn replay(typed: &str, conf: &ResolverConf, zone: &Zone<'_>) -> Resolution {
    let mut candidates = Vec::new();
    for name in conf.candidates(typed) {
        let candidate = zone.answer(&name);
        let has_data = matches!(
            candidate.answer,
            Answer::Address { .. } | Answer::Cname { .. }
        );
        candidates.push(candidate);
        if has_data {
            let at = candidates.len() - 1;
            return Resolution {
                candidates,
                answered_by: Some(at),
            };
        }
    }
    Resolution {
        candidates,
        answered_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::zone::PodsMode;
    use crate::analysis::zone::tests::{state, svc};

    fn answered(res: &Resolution) -> Option<&str> {
        res.answered_by.map(|i| res.candidates[i].name.as_str())
    }

    #[test]
    fn glibc_candidate_order_follows_ndots() {
        let conf = ResolverConf::cluster_first("client", "cluster.local");
        assert_eq!(
            conf.candidates("svc.ns"),
            [
                "svc.ns.client.svc.cluster.local.",
                "svc.ns.svc.cluster.local.",
                "svc.ns.cluster.local.",
                "svc.ns."
            ]
        );
        // Five dots or more: the absolute name goes first.
        assert_eq!(conf.candidates("a.b.c.d.e.f")[0], "a.b.c.d.e.f.");
        // A trailing dot: one query.
        assert_eq!(
            conf.candidates("svc.ns.svc.cluster.local."),
            ["svc.ns.svc.cluster.local."]
        );
    }

    #[test]
    fn no_tld_query_drops_the_bare_name_of_a_dotless_name_only() {
        let mut conf = ResolverConf::cluster_first("client", "cluster.local");
        conf.options = vec!["no-tld-query".into()];
        assert_eq!(
            conf.candidates("web"),
            [
                "web.client.svc.cluster.local.",
                "web.svc.cluster.local.",
                "web.cluster.local.",
            ]
        );
        // A name with a dot is still tried as-is last.
        assert_eq!(conf.candidates("web.shop").last().unwrap(), "web.shop.");
        // Without a search list the bare name is the one query.
        conf.search.clear();
        assert_eq!(conf.candidates("web"), ["web."]);
    }

    #[test]
    fn the_classic_lesson_short_name_only_in_own_namespace() {
        let st = state(vec![svc("default", "service-pay-v1", "10.96.0.20")]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let own = replay(
            "service-pay-v1",
            &ResolverConf::cluster_first("default", "cluster.local"),
            &zone,
        );
        assert_eq!(own.resolves(), Some(true));
        assert_eq!(
            answered(&own),
            Some("service-pay-v1.default.svc.cluster.local.")
        );
        assert_eq!(own.candidates.len(), 1);

        let other = replay(
            "service-pay-v1",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(other.resolves(), Some(false));
        let answers: Vec<&Answer> = other.candidates.iter().map(|c| &c.answer).collect();
        assert_eq!(
            answers,
            [
                &Answer::Nxdomain,
                &Answer::Nxdomain,
                &Answer::Nxdomain,
                &Answer::Upstream
            ]
        );

        let ns_form = replay(
            "service-pay-v1.default",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(ns_form.resolves(), Some(true));
        assert_eq!(
            ns_form.answered_by,
            Some(1),
            "answered through the svc.<domain> search entry"
        );
    }

    #[test]
    fn namespace_named_like_the_service_answers_nodata_and_search_goes_on() {
        let mut st = state(vec![svc("default", "pay", "10.96.0.20")]);
        st.namespaces.insert("pay".into());
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let c = zone.answer("pay.svc.cluster.local.");
        assert_eq!(c.answer, Answer::Nodata);
        let res = replay(
            "pay",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(res.resolves(), Some(false));
        assert_eq!(res.candidates[1].answer, Answer::Nodata);
    }

    #[test]
    fn shadowing_service_in_client_namespace_answers_first() {
        let st = state(vec![
            svc("default", "service-pay-v1", "10.96.0.20"),
            svc("client", "service-pay-v1", "10.96.0.99"),
        ]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let res = replay(
            "service-pay-v1",
            &ResolverConf::cluster_first("client", "cluster.local"),
            &zone,
        );
        assert_eq!(
            answered(&res),
            Some("service-pay-v1.client.svc.cluster.local.")
        );
        assert_eq!(
            res.candidates[0].answer,
            Answer::Address {
                addresses: vec!["10.96.0.99".into()]
            }
        );
    }

    #[test]
    fn custom_cluster_domain_with_more_labels() {
        let st = state(vec![svc("default", "web", "10.96.0.5")]);
        let zone = Zone::new(&st, "k8s.corp.example", PodsMode::Disabled);
        let conf = ResolverConf::cluster_first("client", "k8s.corp.example");
        // 5 dots: the FQDN is tried as-is first.
        let res = replay("web.default.svc.k8s.corp.example", &conf, &zone);
        assert_eq!(res.answered_by, Some(0));
        assert_eq!(
            zone.answer("web.default.svc.cluster.local.").answer,
            Answer::Upstream
        );
    }
}
