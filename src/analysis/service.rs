//! The Service itself and its selector: does it exist, what kind is it, and
//! which pods does it select (with near misses when it selects none).

use std::collections::BTreeMap;

use super::{Ctx, Out, name_list, text};
use crate::model::{Code, Kind, ObjectRef, Service, ServiceType, Severity};

pub(crate) fn check(ctx: &Ctx<'_>, out: &mut Out) {
    let Some(svc) = ctx.service else {
        not_found(ctx, out);
        return;
    };
    let me = || vec![ObjectRef::new("Service", &svc.namespace, &svc.name)];
    if svc.type_ == ServiceType::ExternalName {
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
    let hint_text = if hints.is_empty() {
        String::new()
    } else {
        format!(
            "; near misses: {}",
            name_list(hints.iter().map(|h| h.text.as_str()), 6)
        )
    };
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
    let mut pods: Vec<_> = ctx
        .state
        .pods
        .iter()
        .filter(|p| p.namespace == svc.namespace)
        .collect();
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
    if !ctx.require_object(out, "the Service", Kind::Service, &t.namespace, &t.name) {
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
    let mut message = format!("no Service {} in namespace {}", t.name, t.namespace);
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
