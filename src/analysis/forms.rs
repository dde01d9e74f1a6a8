//! Name forms: which of `svc`, `svc.ns`, `svc.ns.svc` and the FQDN resolve,
//! from which client namespace, and why (docs/name-forms.md).
//!
//! Each form is [`replay`]ed over a `ClusterFirst` pod's search list
//! against the [`Zone`] CoreDNS serves; a Service of another namespace that
//! answers first is `name-shadowed`.

use std::collections::BTreeSet;

use super::pod_resolver::PodResolver;
use super::resolver::{Resolution, ResolverConf, replay};
use super::zone::OTHER_NS;
#[cfg(doc)]
use super::zone::Zone;
use super::{Ctx, Facts, Out, text};
use crate::model::{
    Answer, Code, DnsPolicy, Form, Kind, NameForm, ObjectRef, ServiceType, Severity,
};

/// The four names of a Service, with their form.
pub fn forms(name: &str, namespace: &str, domain: &str) -> [(String, Form); 4] {
    [
        (name.to_owned(), Form::Short),
        (format!("{name}.{namespace}"), Form::Namespaced),
        (format!("{name}.{namespace}.svc"), Form::Svc),
        (format!("{name}.{namespace}.svc.{domain}"), Form::Fqdn),
    ]
}

/// Predict every name form from every client namespace into
/// `out.name_forms`; add `name-shadowed`.
pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    let state = ctx.state;
    let t = ctx.target;
    let opts = ctx.opts;
    let domain = facts.search_domain();
    if ctx.service.is_none()
        && !ctx
            .index
            .service_presence_known(state, &t.namespace, &t.name)
    {
        out.not_checked(
            "name forms",
            format!("the Service {}/{} could not be read", t.namespace, t.name),
            format!("get services in namespace {}", t.namespace),
        );
        return;
    }
    // Pods search `domain` (the flag's, else the Corefile's); CoreDNS answers
    // for the zone of its Corefile. They differ only with a mismatched
    // --cluster-domain, which the DNS check reports.
    let served = facts.served_zone.as_str();
    let zone = facts.zone(state);
    let own_record = format!("{}.{}.svc.{served}.", t.name, t.namespace);
    let dns_down = facts.dns_down.as_deref();

    // Client namespaces: explicit, or own + hypothetical (+ shadowing, below).
    let mut clients: Vec<Option<String>> = Vec::new();
    let mut maybe_shadowing: BTreeSet<&str> = BTreeSet::new();
    if let Some(pod) = &opts.from_pod {
        // Observed from one pod: its rows (its namespace's resolver).
        clients.push(Some(pod.namespace.clone()));
    } else if opts.from_namespaces.is_empty() {
        clients.push(Some(t.namespace.clone()));
        clients.push(None);
        // A Service of the same name answers the short name first there;
        // a Service named like the target's namespace may answer `svc.ns`.
        let named = |n| ctx.index.services_named(state, n);
        for s in named(&t.name).chain(named(&t.namespace)) {
            if s.namespace != t.namespace {
                maybe_shadowing.insert(&s.namespace);
            }
        }
    } else {
        for ns in &opts.from_namespaces {
            if !clients.contains(&Some(ns.clone())) {
                clients.push(Some(ns.clone()));
            }
        }
    }
    if !state.coverage.covers_all(Kind::Service)
        && !ctx.state.failures.iter().any(|f| f.kind == Kind::Service)
    {
        // The rows of a client namespace look up Services named like the
        // target, like its namespace, and `svc` there (`svc.ns.svc`): those
        // read, or every Service there, the rows stand.
        let looked_up = [t.name.as_str(), t.namespace.as_str(), "svc"];
        let unread: Vec<&str> = clients
            .iter()
            .flatten()
            .filter(|ns| {
                !state.coverage.covers(Kind::Service, ns)
                    && !looked_up
                        .iter()
                        .all(|n| state.coverage.covers_object(Kind::Service, ns, n))
            })
            .map(String::as_str)
            .collect();
        if !unread.is_empty() {
            out.not_checked(
                "name-shadowed",
                format!("the Services of {} were not read", unread.join(", ")),
                "the Services of every namespace, with the namespaces in the same capture: add `kubectl get namespaces,services -A -o json` to the snapshot".to_owned(),
            );
        }
    }

    // The rows from one client namespace, and which of them another
    // Service answers (shadowed).
    let rows_from = |client: Option<&str>| -> (Vec<NameForm>, Vec<usize>) {
        let ns = client.unwrap_or(OTHER_NS);
        // The `--from` pod's own resolver (dnsPolicy, dnsConfig) for its rows.
        let pod_resolver = from_pod_resolver(ctx, facts, client, domain);
        let conf = pod_resolver
            .as_ref()
            .and_then(|r| r.conf().cloned())
            .unwrap_or_else(|| ResolverConf::cluster_first(ns, domain));
        let rows: Vec<NameForm> = forms(&t.name, &t.namespace, domain)
            .into_iter()
            .map(|(typed, form)| {
                let res = replay(&typed, &conf, &zone);
                let mut row = name_form(&typed, form, client, &res, &own_record, ctx);
                if let Some(why) = outside_served_zone(&typed, &res, domain, served) {
                    row.why = why;
                }
                match &pod_resolver {
                    Some(r @ PodResolver::NodeResolvConf { .. }) => {
                        row.expected_resolves = None;
                        row.reaches_target = None;
                        row.expected_addresses.clear();
                        row.answered_by = None;
                        row.candidates.clear();
                        row.why = format!(
                            "{}: which names it tries is decided on the node; with the cluster's search list: {}",
                            r.describe(),
                            row.why
                        );
                    }
                    // The pod's own resolver, said once: on its short-name row.
                    Some(r)
                        if form == Form::Short
                            && !matches!(
                                r,
                                PodResolver::Known {
                                    dns_config: false,
                                    policy: DnsPolicy::ClusterFirst,
                                    ..
                                }
                            ) =>
                    {
                        row.why = format!("pod {}'s resolver: {}; {}", from_pod_name(ctx), r.describe(), row.why);
                    }
                    _ => {}
                }
                if let Some(reason) = dns_down {
                    row.expected_resolves = Some(false);
                    row.reaches_target = Some(false);
                    row.expected_addresses.clear();
                    row.expected_cname = None;
                    row.answered_by = None;
                    row.why = format!(
                        "no DNS server answers: {reason}; once one does: {}",
                        row.why
                    );
                }
                row
            })
            .collect();
        let shadowed = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| {
                client.is_some()
                    && dns_down.is_none()
                    && ctx.service.is_some()
                    && row.answered_by.is_some()
                    && row.answered_by.as_deref() != Some(own_record.as_str())
            })
            .map(|(i, _)| i)
            .collect();
        (rows, shadowed)
    };
    let mut rows = Vec::new();
    // A client named (or the target's own namespace): every shadowed row
    // is a warning, that client reaches another Service.
    for client in &clients {
        let (more, hit) = rows_from(client.as_deref());
        for i in hit {
            shadowed(
                ctx,
                &more[i],
                client.as_deref().unwrap_or(OTHER_NS),
                served,
                out,
            );
        }
        rows.extend(more);
    }
    // By default, the other namespaces where a same-named Service, or one
    // named like the target's namespace, may answer first. A namespace's own
    // Service answering its own short name is what anyone there expects:
    // one info for all of them, no rows. Anything else (`svc.ns` answered
    // by an endpoint of a headless Service named like the target's
    // namespace) is a trap: a warning, with that namespace's rows.
    let mut own_short_name: Vec<&str> = Vec::new();
    for ns in maybe_shadowing {
        let (more, hit) = rows_from(Some(ns));
        let (expected, traps): (Vec<usize>, Vec<usize>) = hit
            .into_iter()
            .partition(|&i| answers_own_short_name(&more[i], &t.name, ns, served));
        if !expected.is_empty() {
            own_short_name.push(ns);
        }
        if !traps.is_empty() {
            for i in traps {
                shadowed(ctx, &more[i], ns, served, out);
            }
            rows.extend(more);
        }
    }
    if !own_short_name.is_empty() {
        same_name_elsewhere(ctx, &own_short_name, served, out);
    }
    for client in &clients {
        for (typed, pod) in pod_names(ctx, domain) {
            let conf = ResolverConf::cluster_first(client.as_deref().unwrap_or(OTHER_NS), domain);
            let res = replay(&typed, &conf, &zone);
            // The pod's own record, in the zone CoreDNS serves.
            let pod_record = match typed.strip_suffix(domain) {
                Some(head) => format!("{head}{served}."),
                None => format!("{typed}."),
            };
            let mut row = name_form(&typed, Form::Pod, client.as_deref(), &res, &pod_record, ctx);
            row.why = pod_why(ctx, pod, &res, &pod_record);
            if let Some(why) = outside_served_zone(&typed, &res, domain, served) {
                row.why = why;
            }
            if let Some(reason) = dns_down {
                row.expected_resolves = Some(false);
                row.expected_addresses.clear();
                row.answered_by = None;
                row.why = format!(
                    "no DNS server answers: {reason}; once one does: {}",
                    row.why
                );
            }
            rows.push(row);
        }
    }
    if let Some(pod) = &opts.from_pod {
        for row in &mut rows {
            if row.from_namespace.as_deref() == Some(pod.namespace.as_str()) {
                row.from_pod = Some(pod.to_string());
            }
        }
    }
    out.name_forms.extend(rows);
}

/// The per-pod names of a headless Service's StatefulSet pods:
/// `<hostname>.<service>.<ns>.svc.<domain>`, served from the endpoints'
/// `hostname` (the StatefulSet controller sets the pods' hostname and
/// subdomain; the EndpointSlice controller copies the hostname when the
/// subdomain is the Service's name).
fn pod_names<'a>(ctx: &Ctx<'a>, domain: &str) -> Vec<(String, &'a crate::model::Pod)> {
    let Some(svc) = ctx
        .service
        .filter(|s| s.headless && s.type_ != ServiceType::ExternalName)
    else {
        return Vec::new();
    };
    ctx.pods
        .iter()
        .filter(|p| matches!(&p.owner, Some((kind, _)) if kind == "StatefulSet"))
        .map(|p| {
            let host = p.hostname.as_deref().unwrap_or(&p.name);
            (
                format!("{host}.{}.{}.svc.{domain}", svc.name, svc.namespace),
                *p,
            )
        })
        .collect()
}

/// Why a per-pod name resolves or not.
fn pod_why(ctx: &Ctx<'_>, pod: &crate::model::Pod, res: &Resolution, pod_record: &str) -> String {
    let t = ctx.target;
    let host = pod.hostname.as_deref().unwrap_or(&pod.name);
    if let Some(i) = res.answered_by {
        return format!(
            "endpoint `{host}` of headless Service {}/{} (pod {}): {}",
            t.namespace, t.name, pod.name, res.candidates[i].why
        );
    }
    // The pod's own record says why; the other candidates only fail.
    let mut why = match res
        .candidates
        .iter()
        .find(|c| c.name == pod_record)
        .or(res.candidates.last())
    {
        Some(c) => c.why.clone(),
        None => "no candidate".to_owned(),
    };
    if pod.subdomain.as_deref() != Some(t.name.as_str()) {
        why.push_str(&format!(
            "; pod {}'s spec.subdomain is {}, not {}, so its endpoint carries no hostname (statefulset-service-mismatch)",
            pod.name,
            pod.subdomain.as_deref().map_or("unset".to_owned(), |s| format!("`{s}`")),
            t.name
        ));
    } else if !pod.is_ready() {
        why.push_str(&format!(
            "; pod {} is not Ready, and only ready endpoints get records (unless publishNotReadyAddresses)",
            pod.name
        ));
    }
    why
}

/// With a `--cluster-domain` the Corefile does not serve, the pod's search
/// list and the FQDN use the flag's domain, so nothing reaches the zone
/// CoreDNS serves: say so instead of a search-list reason.
fn outside_served_zone(
    typed: &str,
    res: &Resolution,
    domain: &str,
    served: &str,
) -> Option<String> {
    let in_served = |name: &str| {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        let z = served.to_ascii_lowercase();
        n == z || n.ends_with(&format!(".{z}"))
    };
    if domain.eq_ignore_ascii_case(served)
        || res.answered_by.is_some()
        || res.candidates.iter().any(|c| in_served(&c.name))
    {
        return None;
    }
    let tried = res.candidates.len();
    Some(format!(
        "outside the zone CoreDNS serves: the Corefile serves {served}, the flag says {domain}; `{typed}` and its search-list completions under {domain} ({tried} tried) are all outside {served}, go upstream and do not exist there"
    ))
}

fn name_form(
    typed: &str,
    form: Form,
    client: Option<&str>,
    res: &Resolution,
    own_record: &str,
    ctx: &Ctx<'_>,
) -> NameForm {
    let answered = res.answered_by.map(|i| &res.candidates[i]);
    let (addresses, cname) = match answered.map(|c| &c.answer) {
        Some(Answer::Address { addresses }) => (addresses.clone(), None),
        Some(Answer::Cname {
            target, addresses, ..
        }) => (addresses.clone(), Some(target.clone())),
        _ => (Vec::new(), None),
    };
    NameForm {
        name: typed.to_owned(),
        form,
        from_namespace: client.map(str::to_owned),
        hypothetical: client.is_none(),
        expected_resolves: res.resolves(),
        // The Service's own record answers (even a CNAME whose target only an
        // upstream resolver knows), another Service's does, or none does.
        // An unknown candidate before the Service's own record might be
        // another Service that answers first.
        reaches_target: match (res.resolves(), answered) {
            (Some(false), _) | (_, None) => Some(false),
            (_, Some(hit)) if hit.name != own_record => Some(false),
            _ if res.uncertain() => None,
            _ => Some(true),
        },
        expected_addresses: addresses,
        expected_cname: cname,
        answered_by: answered.map(|c| c.name.clone()),
        why: explain(form, res, own_record, ctx),
        candidates: res.candidates.clone(),
        from_pod: None,
        observed: None,
    }
}

/// One or two sentences on why this form resolves (or not) from this namespace.
fn explain(form: Form, res: &Resolution, own_record: &str, ctx: &Ctx<'_>) -> String {
    let t = ctx.target;
    let Some(i) = res.answered_by else {
        if ctx.service.is_none() {
            return format!(
                "no candidate answers: there is no Service {}/{} ({} tried)",
                t.namespace,
                t.name,
                res.candidates.len()
            );
        }
        let walk = || {
            res.candidates
                .iter()
                .map(|c| format!("{} {}", c.name, c.answer.short()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let own = res.candidates.iter().find(|c| c.name == own_record);
        if let Some(u) = res.candidates.iter().find(|c| c.answer == Answer::Unknown) {
            let otherwise = match (form, own) {
                (Form::Short, None) => format!(
                    "; either way it never reaches {}: use {}.{}",
                    own_record.trim_end_matches('.'),
                    t.name,
                    t.namespace
                ),
                _ => String::new(),
            };
            return format!("unknown: {}{otherwise}", u.why);
        }
        return match (form, own) {
            (Form::Short, None) => format!(
                "never completed to {}: a short name reaches only the client's own namespace; use {}.{}",
                own_record.trim_end_matches('.'),
                t.name,
                t.namespace
            ),
            (_, Some(c)) => format!(
                "the Service's own record {own_record} does not answer: {}",
                c.why
            ),
            _ => format!("no candidate answers ({})", walk()),
        };
    };
    let hit = &res.candidates[i];
    let domain = own_record
        .trim_end_matches('.')
        .strip_prefix(&format!("{}.{}.svc.", t.name, t.namespace))
        .unwrap_or("<domain>");
    let nth = ordinal(i + 1);
    let via = if hit.name == own_record {
        match form {
            Form::Short => format!(
                "the 1st search domain {}.svc.{domain} completes it; works only from namespace {}",
                t.namespace, t.namespace
            ),
            Form::Namespaced => format!("the search domain svc.{domain} completes it ({nth} try)"),
            Form::Svc => format!("the search domain {domain} completes it ({nth} try)"),
            Form::Fqdn | Form::Pod if i == 0 => "the absolute name is tried first".to_owned(),
            Form::Fqdn | Form::Pod => format!(
                "{nth} try: with under 5 dots, {i} search tries fail first; a trailing dot skips them"
            ),
        }
    } else {
        format!(
            "`{}` ({nth} try) answers before the Service's own record: {}",
            hit.name.trim_end_matches('.'),
            hit.why
        )
    };
    let plain_cluster_ip = hit.name == own_record
        && ctx
            .service
            .is_some_and(|s| !s.headless && s.type_ != crate::model::ServiceType::ExternalName);
    match &hit.answer {
        Answer::Cname {
            resolves: None,
            target,
            ..
        } => format!("{via}; CNAME to `{target}`, which only an upstream resolver can answer"),
        _ if plain_cluster_ip => via,
        _ if hit.name == own_record => format!("{via}; {}", hit.why),
        _ => via,
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The short name `name`, from namespace `ns`, answered by the Service of
/// that name in `ns` itself: the search list at work, not a trap.
fn answers_own_short_name(row: &NameForm, name: &str, ns: &str, served: &str) -> bool {
    row.form == Form::Short
        && row.answered_by.as_deref() == Some(format!("{name}.{ns}.svc.{served}.").as_str())
}

/// How many namespaces the message of [`same_name_elsewhere`] names; its
/// `objects` list every one of them.
const NAMESPACES_NAMED: usize = 3;

/// One `name-shadowed` info for all the namespaces (none of them a client
/// asked about) where a Service of the target's name answers the short
/// name: expected there, but whoever copies the short name from the
/// target's namespace to one of them reaches another Service.
fn same_name_elsewhere(ctx: &Ctx<'_>, namespaces: &[&str], served: &str, out: &mut Out) {
    let t = ctx.target;
    let mut objects = vec![ObjectRef::new("Service", &t.namespace, &t.name)];
    objects.extend(
        namespaces
            .iter()
            .map(|ns| ObjectRef::new("Service", ns, &t.name)),
    );
    let (there, each) = match namespaces.len() {
        1 => ("namespace", "that namespace's"),
        _ => ("namespaces", "each namespace's"),
    };
    out.finding(
        Code::NameShadowed,
        Severity::Info,
        format!(
            "a Service named {name} also exists in {there} {}: there the short name `{name}` reaches {each} own Service, not {}/{name}",
            super::name_list(namespaces.iter().copied(), NAMESPACES_NAMED),
            t.namespace,
            name = t.name,
        ),
        format!(
            "from there, use `{}.{}` or the FQDN `{}.{}.svc.{served}` to reach {}/{}",
            t.name, t.namespace, t.name, t.namespace, t.namespace, t.name
        ),
        objects,
    );
}

fn shadowed(ctx: &Ctx<'_>, row: &NameForm, client_ns: &str, served: &str, out: &mut Out) {
    let t = ctx.target;
    let hit = row.answered_by.as_deref().unwrap_or_default();
    // `…<svc>.<ns>.svc.<zone>.`: the last two labels before `.svc.<zone>.`.
    let mut labels = hit
        .strip_suffix(&format!(".svc.{served}."))
        .unwrap_or_default()
        .rsplit('.');
    let (other_ns, other_svc) = match (labels.next(), labels.next()) {
        (Some(ns), Some(svc)) => (ns, svc),
        _ => ("?", "?"),
    };
    let mut objects = vec![ObjectRef::new("Service", &t.namespace, &t.name)];
    if other_ns != "?" {
        objects.push(ObjectRef::new("Service", other_ns, other_svc));
    }
    let message = format!(
        "from namespace {client_ns}, `{}` reaches Service {other_ns}/{other_svc} ({}), not {}/{}",
        row.name,
        text::join_addrs(&row.expected_addresses),
        t.namespace,
        t.name
    );
    let key = message.clone();
    if out.findings.iter().any(|f| f.message == key) {
        return;
    }
    out.finding(
        Code::NameShadowed,
        Severity::Warning,
        message,
        format!(
            "from {client_ns}, use `{}.{}` or the FQDN `{}.{}.svc.{served}` to reach {}/{}",
            t.name, t.namespace, t.name, t.namespace, t.namespace, t.name
        ),
        objects,
    );
}

fn from_pod_name(ctx: &Ctx<'_>) -> String {
    ctx.opts
        .from_pod
        .as_ref()
        .map_or_else(String::new, ToString::to_string)
}

/// The resolver of the `--from` pod, for the rows of its namespace.
fn from_pod_resolver(
    ctx: &Ctx<'_>,
    facts: &Facts,
    client: Option<&str>,
    domain: &str,
) -> Option<PodResolver> {
    let p = ctx.opts.from_pod.as_ref()?;
    if client != Some(p.namespace.as_str()) {
        return None;
    }
    let pod = ctx
        .state
        .pods
        .iter()
        .find(|x| x.namespace == p.namespace && x.name == p.name)?;
    Some(ResolverConf::for_pod(
        pod,
        domain,
        facts.dns.cluster_ip.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::zone::tests::{state, svc};
    use crate::analysis::zone::{PodsMode, Zone};

    #[test]
    fn a_cluster_domain_the_corefile_does_not_serve_is_named_as_the_reason() {
        let st = state(vec![svc("default", "web", "10.96.0.5")]);
        let zone = Zone::new(&st, "cluster.local", PodsMode::Disabled);
        let conf = ResolverConf::cluster_first("default", "corp.example");
        let res = replay("web", &conf, &zone);
        let why = outside_served_zone("web", &res, "corp.example", "cluster.local");
        assert_eq!(
            why.as_deref(),
            Some(
                "outside the zone CoreDNS serves: the Corefile serves cluster.local, the flag says corp.example; `web` and its search-list completions under corp.example (4 tried) are all outside cluster.local, go upstream and do not exist there"
            )
        );
        // Same domain: the usual search-list reasons stand.
        let conf = ResolverConf::cluster_first("default", "cluster.local");
        let res = replay("web", &conf, &zone);
        assert_eq!(
            outside_served_zone("web", &res, "cluster.local", "cluster.local"),
            None
        );
    }

    /// An EndpointSlice of Service `ns/name`: one ready endpoint, with
    /// `hostname` if given.
    fn slice(
        ns: &str,
        name: &str,
        ip: &str,
        hostname: Option<&str>,
    ) -> crate::model::EndpointSlice {
        crate::model::EndpointSlice {
            namespace: ns.into(),
            name: format!("{name}-x"),
            service_name: Some(name.into()),
            address_type: "IPv4".into(),
            endpoints: vec![crate::model::Endpoint {
                addresses: vec![ip.into()],
                ready: Some(true),
                serving: Some(true),
                terminating: None,
                hostname: hostname.map(str::to_owned),
                pod: None,
                node_name: None,
            }],
            ..Default::default()
        }
    }

    /// `default/web` (selectorless, one ready endpoint: reachable) and
    /// kube-dns, with `more`, over namespaces default, kube-system and a
    /// to e; every Service and EndpointSlice read.
    fn cluster(more: Vec<crate::model::Service>) -> crate::model::ClusterState {
        let mut web = svc("default", "web", "10.96.0.5");
        web.selector = None;
        let mut dns = svc(
            crate::model::KUBE_SYSTEM,
            crate::model::KUBE_DNS,
            "10.96.0.10",
        );
        dns.selector = None;
        let mut services = vec![web, dns];
        services.extend(more);
        let mut st = state(services);
        st.namespaces = ["default", "kube-system", "a", "b", "c", "d", "e"]
            .map(String::from)
            .into();
        st.endpoint_slices = vec![
            slice("default", "web", "10.244.0.5", None),
            slice(
                crate::model::KUBE_SYSTEM,
                crate::model::KUBE_DNS,
                "10.244.0.2",
                None,
            ),
        ];
        st.coverage.add_all(Kind::EndpointSlice);
        st
    }

    fn web() -> crate::analysis::Target {
        crate::analysis::Target {
            namespace: "default".into(),
            name: "web".into(),
        }
    }

    fn shadowed(r: &crate::model::Report) -> Vec<&crate::model::Finding> {
        r.findings
            .iter()
            .filter(|f| f.code == Code::NameShadowed)
            .collect()
    }

    fn clients(r: &crate::model::Report) -> BTreeSet<Option<&str>> {
        r.name_forms
            .iter()
            .map(|row| row.from_namespace.as_deref())
            .collect()
    }

    #[test]
    fn a_service_of_the_same_name_elsewhere_is_one_info_without_rows() {
        let opts = crate::analysis::Options::default();
        let alone = crate::analysis::diagnose(&cluster(vec![]), &web(), &opts);
        assert!(shadowed(&alone).is_empty());
        assert_eq!(
            alone.verdict,
            crate::model::Verdict::Reachable,
            "{}",
            alone.verdict_reason
        );
        // Listed in another order than the namespaces sort.
        let twins = ["e", "c", "a", "d", "b"]
            .iter()
            .enumerate()
            .map(|(i, ns)| svc(ns, "web", &format!("10.96.1.{i}")))
            .collect();
        let r = crate::analysis::diagnose(&cluster(twins), &web(), &opts);
        let f = shadowed(&r);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(
            f[0].message,
            "a Service named web also exists in namespaces a, b, c and 2 more: there the short name `web` reaches each namespace's own Service, not default/web"
        );
        assert_eq!(
            f[0].fix,
            "from there, use `web.default` or the FQDN `web.default.svc.cluster.local` to reach default/web"
        );
        // The JSON names every one of them.
        let objects: Vec<String> = f[0]
            .objects
            .iter()
            .map(|o| format!("{}/{}", o.namespace.as_deref().unwrap_or("-"), o.name))
            .collect();
        assert_eq!(
            objects,
            ["default/web", "a/web", "b/web", "c/web", "d/web", "e/web"]
        );
        // No rows for those namespaces, and the verdict is what it was.
        assert_eq!(clients(&r), BTreeSet::from([Some("default"), None]));
        assert_eq!(r.name_forms.len(), alone.name_forms.len());
        assert_eq!(r.verdict, alone.verdict);
        assert_eq!(r.verdict_reason, alone.verdict_reason);

        // One namespace: said in the singular.
        let r =
            crate::analysis::diagnose(&cluster(vec![svc("a", "web", "10.96.1.1")]), &web(), &opts);
        assert_eq!(
            shadowed(&r)[0].message,
            "a Service named web also exists in namespace a: there the short name `web` reaches that namespace's own Service, not default/web"
        );
    }

    #[test]
    fn a_client_named_that_reaches_another_service_is_a_warning_with_its_rows() {
        let st = cluster(vec![
            svc("a", "web", "10.96.1.1"),
            svc("b", "web", "10.96.1.2"),
        ]);
        let opts = crate::analysis::Options {
            from_namespaces: vec!["a".into()],
            ..Default::default()
        };
        let r = crate::analysis::diagnose(&st, &web(), &opts);
        let f = shadowed(&r);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "from namespace a, `web` reaches Service a/web (10.96.1.1), not default/web"
        );
        assert_eq!(clients(&r), BTreeSet::from([Some("a")]));
        assert_eq!(r.name_forms.len(), 4);
        assert_eq!(r.verdict, crate::model::Verdict::Degraded);

        // Observed from a pod of a: the same.
        let opts = crate::analysis::Options {
            from_pod: Some(crate::analysis::PodRef {
                namespace: "a".into(),
                name: "client-0".into(),
            }),
            ..Default::default()
        };
        let r = crate::analysis::diagnose(&st, &web(), &opts);
        let f = shadowed(&r);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message
                .starts_with("from namespace a, `web` reaches Service a/web")
        );
    }

    #[test]
    fn a_headless_service_named_like_the_namespace_answering_svc_ns_stays_a_warning() {
        // In namespace a, a headless Service `default` with an endpoint
        // whose hostname is `web`: `web.default` from a is its record.
        let mut trap = svc("a", "default", "");
        trap.cluster_ips.clear();
        trap.headless = true;
        let mut st = cluster(vec![
            trap,
            svc("a", "web", "10.96.1.1"),
            svc("b", "web", "10.96.1.2"),
        ]);
        st.endpoint_slices
            .push(slice("a", "default", "10.244.0.7", Some("web")));
        let r = crate::analysis::diagnose(&st, &web(), &crate::analysis::Options::default());
        let f = shadowed(&r);
        let warnings: Vec<&str> = f
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            warnings,
            [
                "from namespace a, `web.default` reaches Service a/default (10.244.0.7), not default/web"
            ]
        );
        // The short names of a and b reach their own Service: one info.
        let infos: Vec<&str> = f
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(infos.len(), 1, "{f:#?}");
        assert!(infos[0].contains("in namespaces a, b:"), "{}", infos[0]);
        // The trap's namespace gets its rows; b does not.
        assert_eq!(
            clients(&r),
            BTreeSet::from([Some("default"), None, Some("a")])
        );
        let row = r
            .name_forms
            .iter()
            .find(|row| row.name == "web.default" && row.from_namespace.as_deref() == Some("a"))
            .expect("the row of web.default from a");
        assert_eq!(row.reaches_target, Some(false));
        assert_eq!(r.verdict, crate::model::Verdict::Degraded);
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(4), "4th");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(22), "22nd");
    }
}
