//! A real pod's resolver: the resolv.conf the kubelet writes for it, from its
//! `dnsPolicy`, `hostNetwork` and `dnsConfig` (kubelet
//! `pkg/kubelet/network/dns/dns.go`, `GetPodDNS`; DNS.md §1;
//! docs/name-forms.md). Pure: the pod and what the tool knows of the
//! kubelet's settings in, the resolver (or why it is unknown) out.

use std::collections::BTreeMap;

use super::resolver::ResolverConf;
use crate::model::{DnsConfig, DnsPolicy, Pod};

/// The kubelet's `defaultDNSOptions`, the options of a cluster-DNS pod.
const CLUSTER_OPTIONS: [&str; 1] = ["ndots:5"];
/// `validation.MaxDNSNameservers`.
const MAX_NAMESERVERS: usize = 3;
/// `MaxDNSSearchPathsExpanded` and `MaxDNSSearchListCharsExpanded`
/// (ExpandedDNSConfig, GA in 1.28).
const MAX_SEARCH_PATHS: usize = 32;
const MAX_SEARCH_CHARS: usize = 2048;
/// `DNS1123SubdomainMaxLength`: a longer search entry is dropped.
const MAX_SEARCH_ENTRY: usize = 253;
/// glibc's `RES_MAXNDOTS`.
const MAX_NDOTS: usize = 15;
/// glibc's `ndots` when resolv.conf sets none.
const DEFAULT_NDOTS: usize = 1;

/// A pod's resolver, as far as the cluster state tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodResolver {
    /// Built from the cluster DNS (`ClusterFirst`, `ClusterFirstWithHostNet`)
    /// or from `dnsConfig` alone (`None`).
    Known {
        policy: DnsPolicy,
        /// The pod has a `dnsConfig` (merged into `conf`).
        dns_config: bool,
        /// Without the node's search domains (see `node_search_at`).
        conf: ResolverConf,
        /// Where in `conf.search` the kubelet inserts the node's search
        /// domains (cluster-DNS policies): the cluster state does not show
        /// them. `None` when there are none (`None` policy).
        node_search_at: Option<usize>,
        /// The cluster DNS address was not known, so `conf.nameservers`
        /// lacks the first nameserver.
        cluster_dns_unknown: bool,
        /// Search entries the kubelet leaves out to fit its limits (it
        /// reports a `DNSConfigForming` event).
        dropped: Vec<String>,
    },
    /// Built from the node's resolv.conf (`Default`, or `ClusterFirst` with
    /// `hostNetwork`), which the cluster state does not show: the search
    /// list, ndots and nameservers are unknown.
    NodeResolvConf {
        policy: DnsPolicy,
        host_network: bool,
        /// What the pod appends to the node's settings.
        dns_config: Option<DnsConfig>,
    },
}

/// The base the kubelet starts from (`getPodDNSType`).
enum Base {
    Cluster,
    Node,
    Empty,
}

fn base(pod: &Pod) -> Base {
    match &pod.dns_policy {
        DnsPolicy::None => Base::Empty,
        DnsPolicy::ClusterFirstWithHostNet => Base::Cluster,
        DnsPolicy::ClusterFirst if !pod.host_network => Base::Cluster,
        DnsPolicy::ClusterFirst | DnsPolicy::Default => Base::Node,
        // An invalid policy: the kubelet logs it and uses ClusterFirst.
        DnsPolicy::Other(_) => Base::Cluster,
    }
}

impl ResolverConf {
    /// The resolver the kubelet gives `pod`, with `cluster_domain` and
    /// `cluster_dns_ip` as the kubelet's `clusterDomain` and `clusterDNS`
    /// (`None`: not known to the tool; the kubelet is assumed to have one).
    ///
    /// ```
    /// use svcdiscover::analysis::ResolverConf;
    /// use svcdiscover::model::{DnsConfig, Pod};
    ///
    /// let pod = Pod {
    ///     namespace: "client".into(),
    ///     dns_config: Some(DnsConfig {
    ///         searches: vec!["corp.example".into()],
    ///         options: vec![("ndots".into(), Some("2".into()))],
    ///         ..DnsConfig::default()
    ///     }),
    ///     ..Pod::default()
    /// };
    /// let resolver = ResolverConf::for_pod(&pod, "cluster.local", Some("10.96.0.10"));
    /// let conf = resolver.conf().unwrap();
    /// assert_eq!(conf.ndots, 2);
    /// assert_eq!(conf.search.last().unwrap(), "corp.example");
    /// assert_eq!(
    ///     resolver.describe(),
    ///     "dnsPolicy ClusterFirst + dnsConfig: search client.svc.cluster.local \
    ///      svc.cluster.local cluster.local [node's search domains] corp.example, \
    ///      ndots:2, nameserver 10.96.0.10"
    /// );
    /// ```
    pub fn for_pod(pod: &Pod, cluster_domain: &str, cluster_dns_ip: Option<&str>) -> PodResolver {
        let cfg = pod.dns_config.as_ref();
        // The base: nameservers, search list, options, and where the node's
        // search domains go.
        let (mut nameservers, mut search, options, node_search_at) = match base(pod) {
            Base::Node => {
                return PodResolver::NodeResolvConf {
                    policy: pod.dns_policy.clone(),
                    host_network: pod.host_network,
                    dns_config: pod.dns_config.clone(),
                };
            }
            Base::Empty => (Vec::new(), Vec::new(), Vec::new(), None),
            Base::Cluster => {
                // generateSearchesForDNSClusterFirst: the cluster's three,
                // then the node's; only the node's without a cluster domain.
                let search = if cluster_domain.is_empty() {
                    Vec::new()
                } else {
                    vec![
                        format!("{}.svc.{cluster_domain}", pod.namespace),
                        format!("svc.{cluster_domain}"),
                        cluster_domain.to_owned(),
                    ]
                };
                let at = search.len();
                (
                    cluster_dns_ip.map(str::to_owned).into_iter().collect(),
                    search,
                    CLUSTER_OPTIONS.map(str::to_owned).to_vec(),
                    Some(at),
                )
            }
        };
        let cluster_dns_unknown = node_search_at.is_some() && cluster_dns_ip.is_none();
        let mut options = parse_options(&options);
        if let Some(cfg) = cfg {
            // appendDNSConfig: appended, duplicates omitted; options merged
            // by name, the pod's value winning.
            nameservers.extend(cfg.nameservers.iter().cloned());
            search.extend(cfg.searches.iter().cloned());
            for (name, value) in &cfg.options {
                options.insert(name.clone(), value.clone().unwrap_or_default());
            }
        }
        let mut nameservers = omit_duplicates(nameservers);
        // formDNSNameserversFitsLimits; an unknown cluster DNS takes a place.
        nameservers.truncate(MAX_NAMESERVERS - usize::from(cluster_dns_unknown));
        let search = omit_duplicates(search);
        let kept = fit_search(search.clone());
        let dropped = search.into_iter().filter(|s| !kept.contains(s)).collect();
        // The kubelet writes `name:value`, or `name` for an empty value; its
        // order comes from a Go map, so the model sorts by name. glibc reads
        // only `ndots:N` as ndots (a bare `ndots` leaves the default).
        let written: Vec<String> = options
            .into_iter()
            .map(|(n, v)| if v.is_empty() { n } else { format!("{n}:{v}") })
            .collect();
        let ndots = written
            .iter()
            .find_map(|o| o.strip_prefix("ndots:"))
            .map_or(DEFAULT_NDOTS, glibc_ndots);
        PodResolver::Known {
            policy: pod.dns_policy.clone(),
            dns_config: cfg.is_some(),
            conf: ResolverConf {
                search: kept,
                ndots,
                nameservers,
                options: written
                    .into_iter()
                    .filter(|o| !o.starts_with("ndots:"))
                    .collect(),
            },
            node_search_at,
            cluster_dns_unknown,
            dropped,
        }
    }
}

impl PodResolver {
    /// The resolver to replay, when known.
    pub fn conf(&self) -> Option<&ResolverConf> {
        match self {
            PodResolver::Known { conf, .. } => Some(conf),
            PodResolver::NodeResolvConf { .. } => None,
        }
    }

    /// One line for people: the policy, then the resolver or why it is
    /// unknown.
    pub fn describe(&self) -> String {
        match self {
            PodResolver::Known {
                policy,
                dns_config,
                conf,
                node_search_at,
                cluster_dns_unknown,
                dropped,
            } => {
                let mut search: Vec<&str> = conf.search.iter().map(String::as_str).collect();
                if let Some(at) = *node_search_at {
                    search.insert(at.min(search.len()), "[node's search domains]");
                }
                let mut line = format!("{}{}: ", policy_text(policy, false), plus(*dns_config));
                if search.is_empty() {
                    line.push_str("no search list");
                } else {
                    line.push_str(&format!("search {}", search.join(" ")));
                }
                line.push_str(&format!(", ndots:{}", conf.ndots));
                let mut servers: Vec<&str> = conf.nameservers.iter().map(String::as_str).collect();
                if *cluster_dns_unknown {
                    servers.insert(0, "[cluster DNS, address unknown]");
                }
                if !servers.is_empty() {
                    line.push_str(&format!(", nameserver {}", servers.join(" ")));
                }
                if !conf.options.is_empty() {
                    line.push_str(&format!(", options {}", conf.options.join(" ")));
                }
                if !dropped.is_empty() {
                    line.push_str(&format!(
                        "; the kubelet drops {} (at most {MAX_SEARCH_PATHS} search entries, {MAX_SEARCH_CHARS} characters, {MAX_SEARCH_ENTRY} each)",
                        dropped.join(" ")
                    ));
                }
                line
            }
            PodResolver::NodeResolvConf {
                policy,
                host_network,
                dns_config,
            } => {
                let mut line = format!(
                    "{}{}: search list unknown (the node's resolv.conf)",
                    policy_text(policy, *host_network),
                    plus(dns_config.is_some())
                );
                if let Some(cfg) = dns_config {
                    let mut adds = Vec::new();
                    if !cfg.searches.is_empty() {
                        adds.push(format!("search {}", cfg.searches.join(" ")));
                    }
                    if !cfg.nameservers.is_empty() {
                        adds.push(format!("nameserver {}", cfg.nameservers.join(" ")));
                    }
                    if !cfg.options.is_empty() {
                        let opts: Vec<String> = cfg
                            .options
                            .iter()
                            .map(|(n, v)| match v.as_deref() {
                                Some(v) if !v.is_empty() => format!("{n}:{v}"),
                                _ => n.clone(),
                            })
                            .collect();
                        adds.push(format!("options {}", opts.join(" ")));
                    }
                    if !adds.is_empty() {
                        line.push_str(&format!("; dnsConfig adds {}", adds.join(", ")));
                    }
                }
                line
            }
        }
    }
}

fn plus(dns_config: bool) -> &'static str {
    if dns_config { " + dnsConfig" } else { "" }
}

fn policy_text(policy: &DnsPolicy, host_network: bool) -> String {
    match policy {
        DnsPolicy::ClusterFirst if host_network => {
            "dnsPolicy ClusterFirst with hostNetwork (the kubelet uses Default)".to_owned()
        }
        DnsPolicy::Other(p) => {
            format!("dnsPolicy {p} (not a policy: the kubelet uses ClusterFirst)")
        }
        p => format!("dnsPolicy {}", p.as_str()),
    }
}

/// Options as `name[:value]` strings into a map by name (`mergeDNSOptions`).
fn parse_options(options: &[String]) -> BTreeMap<String, String> {
    options
        .iter()
        .map(|o| match o.split_once(':') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (o.clone(), String::new()),
        })
        .collect()
}

/// The kubelet's `omitDuplicates`: the first of equal strings stays.
fn omit_duplicates(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

/// The kubelet's `formDNSSearchFitsLimits`, in its order: at most 32
/// entries; entries over 253 characters dropped; then entries cut from the
/// end until the line `a b c` has at most 2048 characters.
fn fit_search(mut search: Vec<String>) -> Vec<String> {
    search.truncate(MAX_SEARCH_PATHS);
    search.retain(|s| s.len() <= MAX_SEARCH_ENTRY);
    let mut len = search.iter().map(|e| e.len() + 1).sum::<usize>();
    // `len` counts a space after the last entry too.
    while len > MAX_SEARCH_CHARS + 1 {
        let Some(last) = search.pop() else { break };
        len -= last.len() + 1;
    }
    search
}

/// glibc's `ndots:` value: `atoi` (leading digits; none is 0), at most 15.
/// A negative value, which no real pod uses, is taken as 0.
fn glibc_ndots(value: &str) -> usize {
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return 0;
    }
    digits
        .parse::<usize>()
        .map_or(MAX_NDOTS, |n| n.min(MAX_NDOTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CD: &str = "cluster.local";
    const DNS: Option<&str> = Some("10.96.0.10");

    fn pod(policy: &str, host_network: bool, cfg: Option<DnsConfig>) -> Pod {
        Pod {
            namespace: "client".into(),
            name: "app".into(),
            dns_policy: DnsPolicy::parse(Some(policy)),
            host_network,
            dns_config: cfg,
            ..Pod::default()
        }
    }

    fn cfg(nameservers: &[&str], searches: &[&str], options: &[(&str, Option<&str>)]) -> DnsConfig {
        DnsConfig {
            nameservers: nameservers.iter().map(|s| s.to_string()).collect(),
            searches: searches.iter().map(|s| s.to_string()).collect(),
            options: options
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_owned)))
                .collect(),
        }
    }

    const CLUSTER_SEARCH: [&str; 3] = [
        "client.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local",
    ];

    /// The expected resolver: search, ndots, nameservers, other options,
    /// where the node's search domains go.
    struct Want {
        search: Vec<&'static str>,
        ndots: usize,
        nameservers: Vec<&'static str>,
        options: Vec<&'static str>,
        node_search_at: Option<usize>,
    }

    fn cluster(
        extra: &[&'static str],
        ndots: usize,
        ns: &[&'static str],
        opts: &[&'static str],
    ) -> Want {
        Want {
            search: CLUSTER_SEARCH.iter().chain(extra).copied().collect(),
            ndots,
            nameservers: ns.to_vec(),
            options: opts.to_vec(),
            node_search_at: Some(3),
        }
    }

    #[test]
    fn each_policy_and_merge_rule_follows_the_kubelet() {
        // (kubelet rule checked, pod, cluster DNS, expected; None: unknown).
        let cases: Vec<(&str, Pod, Option<&str>, Option<Want>)> = vec![
            (
                "getPodDNSType: ClusterFirst without hostNetwork is cluster DNS; generateSearchesForDNSClusterFirst; defaultDNSOptions ndots:5",
                pod("ClusterFirst", false, None),
                DNS,
                Some(cluster(&[], 5, &["10.96.0.10"], &[])),
            ),
            (
                "appendDNSConfig: searches and nameservers appended after the base (and the node's search domains); mergeDNSOptions: the pod's ndots wins, other options kept",
                pod(
                    "ClusterFirst",
                    false,
                    Some(cfg(
                        &["1.1.1.1"],
                        &["corp.example"],
                        &[("ndots", Some("2")), ("edns0", None)],
                    )),
                ),
                DNS,
                Some(cluster(
                    &["corp.example"],
                    2,
                    &["10.96.0.10", "1.1.1.1"],
                    &["edns0"],
                )),
            ),
            (
                "omitDuplicates: a dnsConfig search or nameserver already in the list is dropped",
                pod(
                    "ClusterFirst",
                    false,
                    Some(cfg(
                        &["10.96.0.10"],
                        &["svc.cluster.local", "corp.example", "corp.example"],
                        &[],
                    )),
                ),
                DNS,
                Some(cluster(&["corp.example"], 5, &["10.96.0.10"], &[])),
            ),
            (
                "formDNSNameserversFitsLimits: at most 3 nameservers, the first kept",
                pod(
                    "ClusterFirst",
                    false,
                    Some(cfg(&["1.1.1.1", "8.8.8.8", "9.9.9.9"], &[], &[])),
                ),
                DNS,
                Some(cluster(&[], 5, &["10.96.0.10", "1.1.1.1", "8.8.8.8"], &[])),
            ),
            (
                "GetPodDNS: the cluster DNS is the first nameserver; unknown here, it still takes one of the 3 places",
                pod(
                    "ClusterFirst",
                    false,
                    Some(cfg(&["1.1.1.1", "8.8.8.8", "9.9.9.9"], &[], &[])),
                ),
                None,
                Some(cluster(&[], 5, &["1.1.1.1", "8.8.8.8"], &[])),
            ),
            (
                "mergeDNSOptions writes an option without value as its bare name; glibc reads only `ndots:N`, so ndots stays 1",
                pod(
                    "ClusterFirst",
                    false,
                    Some(cfg(&[], &[], &[("ndots", None)])),
                ),
                DNS,
                Some(cluster(&[], 1, &["10.96.0.10"], &["ndots"])),
            ),
            (
                "getPodDNSType: ClusterFirst with hostNetwork falls through to Default: the node's resolv.conf",
                pod("ClusterFirst", true, None),
                DNS,
                None,
            ),
            (
                "getPodDNSType: ClusterFirstWithHostNet is cluster DNS even with hostNetwork",
                pod("ClusterFirstWithHostNet", true, None),
                DNS,
                Some(cluster(&[], 5, &["10.96.0.10"], &[])),
            ),
            (
                "getPodDNSType: Default is the node's resolv.conf; appendDNSConfig adds to it, still unknown",
                pod(
                    "Default",
                    false,
                    Some(cfg(&["1.1.1.1"], &["corp.example"], &[])),
                ),
                DNS,
                None,
            ),
            (
                "GetPodDNS: None starts from an empty config; dnsConfig only; no ndots option is glibc's 1",
                pod(
                    "None",
                    false,
                    Some(cfg(
                        &["1.1.1.1"],
                        &["corp.example", "lab.example"],
                        &[("timeout", Some("2"))],
                    )),
                ),
                DNS,
                Some(Want {
                    search: vec!["corp.example", "lab.example"],
                    ndots: 1,
                    nameservers: vec!["1.1.1.1"],
                    options: vec!["timeout:2"],
                    node_search_at: None,
                }),
            ),
            (
                "None with ndots:20: glibc res_setoptions caps ndots at RES_MAXNDOTS (15)",
                pod(
                    "None",
                    false,
                    Some(cfg(&["1.1.1.1"], &[], &[("ndots", Some("20"))])),
                ),
                DNS,
                Some(Want {
                    search: vec![],
                    ndots: 15,
                    nameservers: vec!["1.1.1.1"],
                    options: vec![],
                    node_search_at: None,
                }),
            ),
            (
                "getPodDNSType: an invalid policy is logged and treated as ClusterFirst",
                pod("Bogus", true, None),
                DNS,
                Some(cluster(&[], 5, &["10.96.0.10"], &[])),
            ),
        ];
        for (rule, pod, dns, want) in cases {
            let got = ResolverConf::for_pod(&pod, CD, dns);
            let Some(want) = want else {
                assert!(got.conf().is_none(), "{rule}: {got:?}");
                assert!(
                    got.describe()
                        .contains("search list unknown (the node's resolv.conf)"),
                    "{rule}: {}",
                    got.describe()
                );
                continue;
            };
            let PodResolver::Known {
                conf,
                node_search_at,
                cluster_dns_unknown,
                dropped,
                ..
            } = &got
            else {
                panic!("{rule}: {got:?}");
            };
            assert_eq!(conf.search, want.search, "{rule}");
            assert_eq!(conf.ndots, want.ndots, "{rule}");
            assert_eq!(conf.nameservers, want.nameservers, "{rule}");
            assert_eq!(conf.options, want.options, "{rule}");
            assert_eq!(*node_search_at, want.node_search_at, "{rule}");
            assert_eq!(*cluster_dns_unknown, dns.is_none(), "{rule}");
            assert!(dropped.is_empty(), "{rule}: {dropped:?}");
        }
    }

    #[test]
    fn generate_searches_without_a_cluster_domain_keeps_only_the_nodes() {
        let got = ResolverConf::for_pod(
            &pod(
                "ClusterFirst",
                false,
                Some(cfg(&[], &["corp.example"], &[])),
            ),
            "",
            DNS,
        );
        let PodResolver::Known {
            conf,
            node_search_at,
            ..
        } = &got
        else {
            panic!("{got:?}")
        };
        assert_eq!(conf.search, ["corp.example"]);
        assert_eq!(*node_search_at, Some(0));
    }

    #[test]
    fn form_dns_search_fits_limits_cuts_like_the_kubelet() {
        let dropped_of = |searches: Vec<String>| {
            let refs: Vec<&str> = searches.iter().map(String::as_str).collect();
            match ResolverConf::for_pod(
                &pod("None", false, Some(cfg(&["1.1.1.1"], &refs, &[]))),
                CD,
                DNS,
            ) {
                PodResolver::Known { conf, dropped, .. } => (conf.search, dropped),
                other => panic!("{other:?}"),
            }
        };
        // MaxDNSSearchPathsExpanded: 32 entries; the rest is cut from the end.
        let many: Vec<String> = (0..40).map(|i| format!("d{i}.example")).collect();
        let (kept, dropped) = dropped_of(many.clone());
        assert_eq!(kept, many[..32]);
        assert_eq!(dropped, many[32..]);
        // DNS1123SubdomainMaxLength: an entry over 253 characters is dropped
        // wherever it is; 253 is kept.
        let long = format!("{}.example", "a".repeat(250));
        let max = format!("{}.example", "b".repeat(245));
        assert_eq!(max.len(), 253);
        let (kept, dropped) = dropped_of(vec!["x.example".into(), long.clone(), max.clone()]);
        assert_eq!(kept, ["x.example".to_owned(), max]);
        assert_eq!(dropped, [long]);
        // MaxDNSSearchListCharsExpanded: the line `a b …` at most 2048
        // characters, cut from the end. 10 entries of 200 characters and
        // 9 spaces make 2009; an eleventh (2210) is cut, and one of 38
        // (2048 exactly) is kept.
        let entry = |c: char, n: usize| format!("{}.example", c.to_string().repeat(n - 8));
        let ten: Vec<String> = "abcdefghij".chars().map(|c| entry(c, 200)).collect();
        let mut over = ten.clone();
        over.push(entry('k', 200));
        let (kept, dropped) = dropped_of(over);
        assert_eq!(kept, ten);
        assert_eq!(dropped, [entry('k', 200)]);
        let mut exact = ten.clone();
        exact.push(entry('k', 38));
        let (kept, dropped) = dropped_of(exact.clone());
        assert_eq!(kept.iter().map(|s| s.len() + 1).sum::<usize>() - 1, 2048);
        assert_eq!(kept, exact);
        assert!(dropped.is_empty());
    }

    #[test]
    fn describe_names_the_policy_and_what_is_unknown() {
        let cases = [
            (
                pod(
                    "ClusterFirst",
                    false,
                    Some(cfg(&[], &["corp.example"], &[("ndots", Some("2"))])),
                ),
                DNS,
                "dnsPolicy ClusterFirst + dnsConfig: search client.svc.cluster.local svc.cluster.local cluster.local [node's search domains] corp.example, ndots:2, nameserver 10.96.0.10",
            ),
            (
                pod("ClusterFirst", false, None),
                None,
                "dnsPolicy ClusterFirst: search client.svc.cluster.local svc.cluster.local cluster.local [node's search domains], ndots:5, nameserver [cluster DNS, address unknown]",
            ),
            (
                pod("Default", false, None),
                DNS,
                "dnsPolicy Default: search list unknown (the node's resolv.conf)",
            ),
            (
                pod(
                    "ClusterFirst",
                    true,
                    Some(cfg(
                        &[],
                        &["corp.example"],
                        &[("ndots", Some("2")), ("edns0", None)],
                    )),
                ),
                DNS,
                "dnsPolicy ClusterFirst with hostNetwork (the kubelet uses Default) + dnsConfig: search list unknown (the node's resolv.conf); dnsConfig adds search corp.example, options ndots:2 edns0",
            ),
            (
                pod(
                    "None",
                    false,
                    Some(cfg(&["1.1.1.1"], &[], &[("edns0", None)])),
                ),
                DNS,
                "dnsPolicy None + dnsConfig: no search list, ndots:1, nameserver 1.1.1.1, options edns0",
            ),
        ];
        for (pod, dns, want) in cases {
            assert_eq!(ResolverConf::for_pod(&pod, CD, dns).describe(), want);
        }
        let many: Vec<String> = (0..33).map(|i| format!("d{i}.example")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let line = ResolverConf::for_pod(
            &pod("None", false, Some(cfg(&["1.1.1.1"], &refs, &[]))),
            CD,
            DNS,
        )
        .describe();
        assert!(
            line.ends_with("; the kubelet drops d32.example (at most 32 search entries, 2048 characters, 253 each)"),
            "{line}"
        );
    }

    #[test]
    fn the_replay_uses_the_pods_ndots_and_search_list() {
        let p = pod(
            "None",
            false,
            Some(cfg(
                &["1.1.1.1"],
                &["svc.cluster.local"],
                &[("ndots", Some("1"))],
            )),
        );
        let conf = ResolverConf::for_pod(&p, CD, DNS).conf().cloned().unwrap();
        // ndots:1: a name with a dot is tried as-is first.
        assert_eq!(
            conf.candidates("web.shop"),
            ["web.shop.", "web.shop.svc.cluster.local."]
        );
        assert_eq!(conf.candidates("web"), ["web.svc.cluster.local.", "web."]);
    }
}
