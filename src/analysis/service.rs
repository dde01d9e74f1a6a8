//! The Service itself and its selector: does it exist, what kind is it, and
//! which pods does it select (with near misses when it selects none).

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Facts, Out, name_list, text};
use crate::model::{Code, Kind, ObjectRef, Pod, Service, ServiceType, Severity, labels_match};

pub(crate) fn check(ctx: &Ctx<'_>, _facts: &Facts, out: &mut Out) {
    let Some(svc) = ctx.service else {
        not_found(ctx, out);
        return;
    };
    let me = || vec![ObjectRef::new("Service", &svc.namespace, &svc.name)];
    if svc.type_ == ServiceType::ExternalName {
        // An address is no CNAME target: external-name-unresolvable says so.
        if svc
            .external_name
            .as_deref()
            .is_some_and(|n| n.trim_end_matches('.').parse::<std::net::IpAddr>().is_ok())
        {
            return;
        }
        out.finding(
            Code::ExternalNameService,
            Severity::Info,
            format!(
                "ExternalName Service: its name is a CNAME to {}; it has no selector, pods or endpoints",
                svc.external_name.as_deref().unwrap_or("(empty)")
            ),
            format!("if the target does not resolve, fix spec.externalName (`kubectl -n {} edit service {}`) or the target's DNS; TLS and HTTP Host headers see the target's name, not the Service's", svc.namespace, svc.name),
            me(),
        );
        return;
    }
    if svc.headless {
        out.finding(
            Code::HeadlessService,
            Severity::Info,
            "headless Service (clusterIP: None): its name resolves to the ready pods' IPs, not to a virtual IP; with no ready endpoint it does not resolve at all".to_owned(),
            format!("connect to the pods' ports directly (`kubectl -n {} get endpointslices -l {}={}` lists them); use a ClusterIP Service if clients need one stable address", svc.namespace, crate::model::SERVICE_NAME_LABEL, svc.name),
            me(),
        );
    }
    if svc.publish_not_ready_addresses {
        out.finding(
            Code::PublishNotReadyAddresses,
            Severity::Info,
            "publishNotReadyAddresses is true: pods get traffic and DNS records before (and while not) Ready".to_owned(),
            format!("intended for StatefulSet peer discovery; if clients must only reach ready pods: `kubectl -n {} patch service {} -p '{{\"spec\":{{\"publishNotReadyAddresses\":false}}}}'`", svc.namespace, svc.name),
            me(),
        );
    }
    let Some(selector) = svc.selector.as_ref().filter(|s| !s.is_empty()) else {
        out.finding(
            Code::SelectorlessService,
            Severity::Info,
            "selectorless Service: its endpoints come from EndpointSlices made by hand or by another controller, not from pods".to_owned(),
            format!(
                "keep EndpointSlices labelled {}={} up to date with the backends' addresses (`kubectl -n {} get endpointslices -l {}={}`)",
                crate::model::SERVICE_NAME_LABEL,
                svc.name,
                svc.namespace,
                crate::model::SERVICE_NAME_LABEL,
                svc.name
            ),
            me(),
        );
        return;
    };
    if !ctx.pods.is_empty() {
        excluded(ctx, svc, selector, out);
        return;
    }
    if !ctx
        .state
        .coverage
        .covers_selection(Kind::Pod, &svc.namespace, selector)
    {
        ctx.require(out, "selector", Kind::Pod, &svc.namespace);
        return;
    }
    let hints = near_misses(ctx, svc, selector);
    if !ctx.state.coverage.covers(Kind::Pod, &svc.namespace) {
        ctx.require(out, "near-miss labels (pods)", Kind::Pod, &svc.namespace);
    }
    let mut objects = me();
    objects.extend(hints.iter().map(|h| h.object.clone()));
    let mut hint_text = if hints.is_empty() {
        String::new()
    } else {
        format!(
            "; near misses: {}",
            name_list(hints.iter().map(|h| h.text.as_str()), 6)
        )
    };
    let elsewhere = other_namespaces(ctx, svc, selector, out);
    if let Some((text, fix, refs)) = elsewhere {
        hint_text = format!("{text}{hint_text}");
        objects.extend(refs);
        out.finding(
            Code::SelectorMatchesNoPods,
            Severity::Error,
            format!(
                "the selector {} matches no pod in namespace {}{hint_text}",
                text::selector(selector),
                svc.namespace
            ),
            fix,
            objects,
        );
        return;
    }
    let fix = match hints.first() {
        Some(h) => format!("make the selector and the pod labels agree: {}", h.fix),
        None => format!(
            "no pod or workload in {} carries labels close to {}: check the selector against the pods' labels (`kubectl -n {} get pods --show-labels`), or deploy the backend",
            svc.namespace,
            text::selector(selector),
            svc.namespace
        ),
    };
    out.finding(
        Code::SelectorMatchesNoPods,
        Severity::Error,
        format!(
            "the selector {} matches no pod in namespace {}{hint_text}",
            text::selector(selector),
            svc.namespace
        ),
        fix,
        objects,
    );
}

/// The workload a pod belongs to: `(kind, name)`. A ReplicaSet named
/// `<deploy>-<pod-template-hash>` belongs to Deployment `<deploy>`.
pub(crate) fn workload_of(pod: &Pod) -> Option<(String, String)> {
    workload_ref(pod).map(|(k, n)| (k.to_owned(), n.to_owned()))
}

/// [`workload_of`], borrowed from the pod.
fn workload_ref(pod: &Pod) -> Option<(&str, &str)> {
    let (kind, name) = pod.owner.as_ref()?;
    if kind == "ReplicaSet"
        && let Some(hash) = pod.labels.get("pod-template-hash")
        && let Some(deploy) = name
            .strip_suffix(hash.as_str())
            .and_then(|d| d.strip_suffix('-'))
        && !deploy.is_empty()
    {
        return Some(("Deployment", deploy));
    }
    Some((kind.as_str(), name.as_str()))
}

/// The selector pairs `labels` lack (absent, or with another value).
fn missing<'s>(
    selector: &'s BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> Vec<(&'s str, &'s str)> {
    selector
        .iter()
        .filter(|(k, v)| labels.get(*k) != Some(*v))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `tier=web` or `tier=web (it has tier=api)`.
fn describe_missing(pairs: &[(&str, &str)], labels: &BTreeMap<String, String>) -> String {
    pairs
        .iter()
        .map(|(k, v)| match labels.get(*k) {
            Some(have) => format!("{k}={v} (they have {k}={have})"),
            None => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pods the selector leaves out: pods of a workload it partly selects, and
/// pods of a sibling workload that carry every selector label but one.
fn excluded(ctx: &Ctx<'_>, svc: &Service, selector: &BTreeMap<String, String>, out: &mut Out) {
    const CHECK: &str = "pods left out by the selector";
    if !ctx.require(out, CHECK, Kind::Pod, &svc.namespace) {
        return;
    }
    let selected: BTreeSet<(&str, &str)> =
        ctx.pods.iter().filter_map(|p| workload_ref(p)).collect();
    // Unselected pods of the namespace, by workload and missing pairs.
    let mut left_out: BTreeMap<(&str, &str), Vec<&Pod>> = BTreeMap::new();
    for p in ctx
        .index
        .pods_in(ctx.state, &svc.namespace)
        .filter(|p| !p.terminating && !p.matches(selector))
    {
        let Some(w) = workload_ref(p) else { continue };
        let partly = selected.contains(&w);
        let sibling = selector.len() > 1
            && selector
                .iter()
                .filter(|(k, v)| p.labels.get(*k) != Some(*v))
                .count()
                == 1;
        if partly || sibling {
            left_out.entry(w).or_default().push(p);
        }
    }
    for ((kind, name), mut pods) in left_out {
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        let lack = missing(selector, &pods[0].labels);
        let lack_text = describe_missing(&lack, &pods[0].labels);
        let names = name_list(pods.iter().map(|p| p.name.as_str()), 5);
        let id = format!("{kind} {name}");
        let in_selection = ctx
            .pods
            .iter()
            .filter(|p| workload_of(p).is_some_and(|(k, n)| k == kind && n == name))
            .count();
        let message = if in_selection > 0 {
            format!(
                "the selector {} selects {in_selection} of the {} pods of {id}: {names} {} {lack_text}",
                text::selector(selector),
                in_selection + pods.len(),
                if pods.len() == 1 { "lacks" } else { "lack" },
            )
        } else {
            format!(
                "{id} runs pods the selector {} leaves out: {names} carry every selector label but {lack_text}",
                text::selector(selector),
            )
        };
        let template = ctx
            .state
            .workloads
            .iter()
            .find(|w| w.namespace == svc.namespace && w.kind.name() == kind && w.name == name);
        let labels: serde_json::Map<String, serde_json::Value> = lack
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect();
        let patch = serde_json::json!({"spec": {"template": {"metadata": {"labels": labels}}}});
        let wanted = lack
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let ns = &svc.namespace;
        // The same revision as a selected pod (same template hash): its labels
        // were changed by hand, and no rollout will change them back.
        let revision = |p: &Pod| {
            ["pod-template-hash", "controller-revision-hash"]
                .iter()
                .find_map(|k| p.labels.get(*k).cloned())
        };
        let same_revision = pods.iter().any(|p| {
            revision(p).is_some_and(|r| {
                ctx.pods.iter().any(|q| {
                    workload_of(q).is_some_and(|(k, n)| k == kind && n == name)
                        && revision(q).as_deref() == Some(r.as_str())
                })
            })
        });
        let pairs = lack
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let fix = match kind {
            _ if same_revision => format!(
                "{names} {} the same revision as the selected pods of {id}, so {} labels were changed by hand: restore them (`kubectl -n {ns} label pod {} {pairs} --overwrite`) or delete the pod so that {id} recreates it (`kubectl -n {ns} delete pod {}`)",
                if pods.len() == 1 {
                    "is from"
                } else {
                    "are from"
                },
                if pods.len() == 1 { "its" } else { "their" },
                pods[0].name,
                pods[0].name,
            ),
            _ if template.is_some_and(|w| labels_match(&w.template_labels, selector)) => format!(
                "the pod template of {id} already carries {wanted}: the other pods are from an older revision; let the rollout finish: `kubectl -n {ns} rollout status {} {name}`",
                kind.to_ascii_lowercase()
            ),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => format!(
                "add {wanted} to {id}'s pod template (its pods are replaced): `kubectl -n {ns} patch {} {name} -p '{patch}'`; or, if those pods must not serve, give them a label that tells them apart",
                kind.to_ascii_lowercase()
            ),
            _ => {
                format!(
                    "label the pods, or the template of their owner {id}: `kubectl -n {ns} label pod {} {pairs} --overwrite`",
                    pods.iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        };
        let mut objects = vec![
            ObjectRef::new("Service", &svc.namespace, &svc.name),
            ObjectRef::new(kind, &svc.namespace, name),
        ];
        objects.extend(super::pod_refs(pods.iter().copied()));
        out.finding(
            Code::SelectorExcludesPods,
            Severity::Warning,
            message,
            fix,
            objects,
        );
    }
}

/// Pods carrying every selector label in other namespaces: a Service only
/// selects pods of its own namespace. Returns the message part, the fix and
/// the pods' references.
fn other_namespaces(
    ctx: &Ctx<'_>,
    svc: &Service,
    selector: &BTreeMap<String, String>,
    out: &mut Out,
) -> Option<(String, String, Vec<ObjectRef>)> {
    let state = ctx.state;
    if !state
        .coverage
        .covers_selection_everywhere(Kind::Pod, selector)
        && !state
            .failures
            .iter()
            .any(|f| f.kind == Kind::Pod && f.namespace.is_none())
    {
        out.not_checked(
            "selected pods in other namespaces",
            "the pods of every namespace were not read".to_owned(),
            // With the namespaces in the same List, the capture covers them
            // all (a label-selected list would leave the Namespaces out).
            "the pods of every namespace, with the namespaces in the same capture: add `kubectl get namespaces,pods -A -o json` to the snapshot".to_owned(),
        );
    }
    let mut by_ns: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for p in ctx
        .index
        .pods_selected(state, selector)
        .filter(|p| p.namespace != svc.namespace)
    {
        by_ns.entry(p.namespace.as_str()).or_default().push(p);
    }
    if by_ns.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    let mut refs = Vec::new();
    for (ns, pods) in &mut by_ns {
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        parts.push(format!(
            "{ns} ({})",
            name_list(pods.iter().map(|p| p.name.as_str()), 3)
        ));
        refs.extend(super::pod_refs(pods.iter().take(3).copied()));
    }
    let (target_ns, _) = by_ns.iter().next()?;
    let text = format!(
        "; pods with all of these labels run in namespace {}: a Service selects pods of its own namespace only",
        parts.join(", ")
    );
    // A Service of that name may already serve them there: then the
    // clients' name is what to fix, and creating one would overwrite it.
    let existing = state
        .service(target_ns, &svc.name)
        .filter(|other| other.selector.as_ref().is_some_and(|sel| !sel.is_empty()));
    let fix = match existing {
        Some(other) => format!(
            "Service {target_ns}/{name} already exists beside the pods{selects}: clients reach it as `{name}.{target_ns}` (or the FQDN); delete {ns}/{name} if it was created in the wrong namespace (`kubectl -n {ns} delete service {name}`)",
            name = svc.name,
            ns = svc.namespace,
            selects = if other.selector.as_ref() == Some(selector) {
                " with the same selector"
            } else {
                ""
            },
        ),
        None => format!(
            "the Service must live in the pods' namespace (clients then use {name}.{target_ns}), or the pods in {ns}; to create it beside the pods: {commands}",
            name = svc.name,
            ns = svc.namespace,
            commands = service_commands(svc, target_ns),
        ),
    };
    Some((text, fix, refs))
}

/// Commands that create a copy of `svc` in namespace `ns`: `kubectl create
/// service` (numeric ports only: a named targetPort keeps the port number),
/// then its selector.
fn service_commands(svc: &Service, ns: &str) -> String {
    let kind = match svc.type_ {
        ServiceType::NodePort => "nodeport",
        ServiceType::LoadBalancer => "loadbalancer",
        _ => "clusterip",
    };
    let headless = if svc.headless {
        " --clusterip=None"
    } else {
        ""
    };
    let tcp = text::tcp_flags(svc);
    let selector = svc
        .selector
        .as_ref()
        .map(crate::model::selector_string)
        .unwrap_or_default();
    format!(
        "`kubectl -n {ns} create service {kind} {name}{headless}{tcp}` and `kubectl -n {ns} set selector service {name} '{selector}'`",
        name = svc.name
    )
}

struct Hint {
    object: ObjectRef,
    text: String,
    fix: String,
}

/// Workload templates and pods whose labels miss the selector by one key or value.
fn near_misses(ctx: &Ctx<'_>, svc: &Service, selector: &BTreeMap<String, String>) -> Vec<Hint> {
    let mut hints = Vec::new();
    let mut covered_by_workload: Vec<String> = Vec::new();
    let mut workloads: Vec<_> = ctx
        .state
        .workloads
        .iter()
        .filter(|w| w.namespace == svc.namespace && w.kind != Kind::ReplicaSet)
        .collect();
    workloads.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    for w in workloads {
        if let Some((text, fix)) = one_off(svc, selector, &w.template_labels) {
            covered_by_workload.push(w.name.clone());
            hints.push(Hint {
                object: ObjectRef::new(w.kind.name(), &w.namespace, &w.name),
                text: format!("{} {} has {text}", w.kind.name(), w.name),
                fix,
            });
        }
    }
    let mut pods: Vec<_> = ctx.index.pods_in(ctx.state, &svc.namespace).collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    for p in pods {
        // A near-miss workload's own pods would repeat its hint.
        if covered_by_workload.iter().any(|w| owned_by(p, w)) {
            continue;
        }
        if let Some((text, fix)) = one_off(svc, selector, &p.labels) {
            hints.push(Hint {
                object: ObjectRef::new("Pod", &p.namespace, &p.name),
                text: format!("pod {} has {text}", p.name),
                fix,
            });
        }
    }
    hints
}

/// Whether `pod` belongs to workload `w`: directly (StatefulSet, DaemonSet)
/// or through a ReplicaSet `<w>-<hash>` (Deployment).
fn owned_by(pod: &crate::model::Pod, w: &str) -> bool {
    match &pod.owner {
        Some((kind, name)) if kind == "ReplicaSet" => name
            .strip_prefix(w)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hash| !hash.is_empty() && !hash.contains('-')),
        Some((_, name)) => name == w,
        None => false,
    }
}

/// If `labels` miss `selector` by exactly one pair, describe the difference
/// and the fix (a `kubectl patch` of `svc`'s selector, or a label).
fn one_off(
    svc: &Service,
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> Option<(String, String)> {
    let missed: Vec<(&String, &String)> = selector
        .iter()
        .filter(|(k, v)| labels.get(*k) != Some(*v))
        .collect();
    let [(key, want)] = missed.as_slice() else {
        return None;
    };
    // Selector keys and values are label syntax: no quotes to escape.
    let patch = |set: String| {
        format!(
            "`kubectl -n {} patch service {} -p '{{\"spec\":{{\"selector\":{{{set}}}}}}}'`",
            svc.namespace, svc.name
        )
    };
    match labels.get(*key) {
        Some(have) => Some((
            format!("{key}={have} (selector wants {key}={want})"),
            format!(
                "use {key}={have} in the selector ({}), or label the pods {key}={want}",
                patch(format!("\"{key}\":\"{have}\""))
            ),
        )),
        None => {
            // Same value under another key (`name=pay` vs `app=pay`), or a
            // multi-key selector where only this key is absent.
            if let Some((other, _)) = labels.iter().find(|(_, v)| *v == *want) {
                Some((
                    format!("{other}={want} but no {key} label (selector wants {key}={want})"),
                    format!(
                        "use {other}={want} in the selector ({}), or label the pods {key}={want}",
                        patch(format!("\"{key}\":null,\"{other}\":\"{want}\""))
                    ),
                ))
            } else if selector.len() > 1 {
                Some((
                    format!("every selector label but {key}={want}"),
                    format!(
                        "add the label {key}={want} to the pods, or drop it from the selector ({})",
                        patch(format!("\"{key}\":null"))
                    ),
                ))
            } else {
                None
            }
        }
    }
}

fn not_found(ctx: &Ctx<'_>, out: &mut Out) {
    let t = ctx.target;
    let no_namespace = !ctx
        .state
        .coverage
        .covers_object(Kind::Service, &t.namespace, &t.name)
        && ctx
            .index
            .service_presence_known(ctx.state, &t.namespace, &t.name);
    if !no_namespace
        && !ctx.require_object(out, "the Service", Kind::Service, &t.namespace, &t.name)
    {
        return;
    }
    let elsewhere: Vec<&str> = ctx
        .state
        .services
        .iter()
        .filter(|s| s.name == t.name && s.namespace != t.namespace)
        .map(|s| s.namespace.as_str())
        .collect();
    let mut close: Vec<&str> = ctx
        .state
        .services
        .iter()
        .filter(|s| s.namespace == t.namespace && text::is_close(&t.name, &s.name))
        .map(|s| s.name.as_str())
        .collect();
    close.sort_by_key(|n| (text::edit_distance(&t.name, n), *n));
    let mut message = if no_namespace {
        format!(
            "no Service {}: namespace {} does not exist",
            t.name, t.namespace
        )
    } else {
        format!("no Service {} in namespace {}", t.name, t.namespace)
    };
    let mut fix = format!(
        "check the name and namespace (`kubectl get services -n {}`)",
        t.namespace
    );
    if !elsewhere.is_empty() {
        message.push_str(&format!(
            "; a Service of that name exists in {}",
            name_list(elsewhere.iter().copied(), 5)
        ));
        fix = format!(
            "from pods, reach it as `{}.{}` (or the FQDN); to diagnose it: `kubectl svcdiscover {} -n {}`",
            t.name, elsewhere[0], t.name, elsewhere[0]
        );
    }
    if !close.is_empty() {
        message.push_str(&format!(
            "; close names in {}: {}",
            t.namespace,
            name_list(close.iter().copied(), 5)
        ));
        if elsewhere.is_empty() {
            fix = format!(
                "did you mean `{}` (`kubectl svcdiscover {} -n {}`)? Otherwise create the Service",
                close[0], close[0], t.namespace
            );
        }
    }
    if !ctx.state.coverage.covers(Kind::Service, &t.namespace) {
        ctx.require(out, "similar Service names", Kind::Service, &t.namespace);
    }
    let mut objects = vec![ObjectRef::new("Service", &t.namespace, &t.name)];
    objects.extend(
        elsewhere
            .iter()
            .map(|ns| ObjectRef::new("Service", ns, &t.name)),
    );
    out.finding(
        Code::ServiceNotFound,
        Severity::Error,
        message,
        fix,
        objects,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, Target, diagnose};
    use crate::model::{ClusterState, Condition, Finding, Report};

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn pod(ns: &str, name: &str, rs: &str, l: &[(&str, &str)]) -> Pod {
        let hash = rs.rsplit('-').next().unwrap_or_default();
        let mut all = labels(l);
        all.insert("pod-template-hash".into(), hash.into());
        Pod {
            namespace: ns.into(),
            name: name.into(),
            labels: all,
            owner: Some(("ReplicaSet".into(), rs.into())),
            ready: Some(Condition {
                status: Some(true),
                reason: None,
                message: None,
            }),
            ..Pod::default()
        }
    }

    fn state(selector: &[(&str, &str)], pods: Vec<Pod>) -> ClusterState {
        let mut s = ClusterState {
            services: vec![Service {
                namespace: "default".into(),
                name: "pay".into(),
                cluster_ips: vec!["10.96.0.20".into()],
                selector: Some(labels(selector)),
                ..Service::default()
            }],
            pods,
            ..ClusterState::default()
        };
        s.coverage.add_all(Kind::Service);
        s.coverage.add_all(Kind::Pod);
        s
    }

    fn run(st: &ClusterState) -> Report {
        diagnose(
            st,
            &Target {
                namespace: "default".into(),
                name: "pay".into(),
            },
            &Options::default(),
        )
    }

    fn with(r: &Report, code: Code) -> Vec<&Finding> {
        r.findings.iter().filter(|f| f.code == code).collect()
    }

    #[test]
    fn a_sibling_deployment_missing_one_label_is_named_with_the_patch() {
        let st = state(
            &[("app", "pay"), ("tier", "web")],
            vec![
                pod(
                    "default",
                    "pay-v1-7d9f-a",
                    "pay-v1-7d9f",
                    &[("app", "pay"), ("tier", "web")],
                ),
                pod("default", "pay-v2-5c4b-a", "pay-v2-5c4b", &[("app", "pay")]),
                pod("default", "pay-v2-5c4b-b", "pay-v2-5c4b", &[("app", "pay")]),
                // Another app entirely: not a sibling.
                pod("default", "user-1b2c-a", "user-1b2c", &[("app", "user")]),
            ],
        );
        let r = run(&st);
        let f = with(&r, Code::SelectorExcludesPods);
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message.contains("Deployment pay-v2")
                && f[0].message.contains("pay-v2-5c4b-a, pay-v2-5c4b-b")
                && f[0].message.contains("but tier=web"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].fix.contains(
                r#"kubectl -n default patch deployment pay-v2 -p '{"spec":{"template":{"metadata":{"labels":{"tier":"web"}}}}}'"#
            ),
            "{}",
            f[0].fix
        );
        assert!(with(&r, Code::SelectorMatchesNoPods).is_empty());
    }

    #[test]
    fn a_workload_only_partly_selected_is_reported_even_with_one_key() {
        let st = state(
            &[("app", "pay")],
            vec![
                pod("default", "pay-7d9f-a", "pay-7d9f", &[("app", "pay")]),
                pod("default", "pay-5c4b-a", "pay-5c4b", &[("app", "payments")]),
            ],
        );
        let r = run(&st);
        let f = with(&r, Code::SelectorExcludesPods);
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        assert!(
            f[0].message
                .contains("selects 1 of the 2 pods of Deployment pay: pay-5c4b-a lacks app=pay (they have app=payments)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn unrelated_pods_and_unread_pods_give_no_finding() {
        let st = state(
            &[("app", "pay")],
            vec![
                pod("default", "pay-7d9f-a", "pay-7d9f", &[("app", "pay")]),
                pod("default", "user-1b2c-a", "user-1b2c", &[("app", "user")]),
            ],
        );
        assert!(with(&run(&st), Code::SelectorExcludesPods).is_empty());

        let mut st = state(
            &[("app", "pay"), ("tier", "web")],
            vec![pod(
                "default",
                "pay-7d9f-a",
                "pay-7d9f",
                &[("app", "pay"), ("tier", "web")],
            )],
        );
        st.coverage = crate::model::Coverage::default();
        st.coverage.add_all(Kind::Service);
        st.coverage.add_selection(
            Kind::Pod,
            "default",
            &labels(&[("app", "pay"), ("tier", "web")]),
        );
        let r = run(&st);
        assert!(with(&r, Code::SelectorExcludesPods).is_empty());
        assert!(
            r.not_checked
                .iter()
                .any(|n| n.check == "pods left out by the selector")
        );
    }

    #[test]
    fn pods_in_another_namespace_are_named_when_none_match_here() {
        let st = state(
            &[("app", "pay")],
            vec![
                pod("payments", "pay-7d9f-a", "pay-7d9f", &[("app", "pay")]),
                pod("payments", "pay-7d9f-b", "pay-7d9f", &[("app", "pay")]),
            ],
        );
        let r = run(&st);
        let f = with(&r, Code::SelectorMatchesNoPods);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("run in namespace payments (pay-7d9f-a, pay-7d9f-b)"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].fix
                .contains("the Service must live in the pods' namespace")
                && f[0]
                    .fix
                    .contains("`kubectl -n payments create service clusterip pay")
                && f[0]
                    .fix
                    .contains("`kubectl -n payments set selector service pay 'app=pay'`"),
            "{}",
            f[0].fix
        );
        assert!(
            !r.not_checked
                .iter()
                .any(|n| n.check == "selected pods in other namespaces")
        );
    }
}
