//! EndpointSlices: ready, serving and terminating endpoints, against the pods.

use super::index::Index;
use super::{Ctx, Facts, Out};
use crate::model::{
    ClusterState, Code, EndpointAddress, EndpointSummary, Kind, ObjectRef, Service, ServiceType,
    Severity,
};

/// Count a Service's endpoints; `None` when its slices were not read.
pub fn summary(state: &ClusterState, index: &Index, svc: &Service) -> Option<EndpointSummary> {
    let sel = super::dns::slice_selector(&svc.name);
    if !state
        .coverage
        .covers_selection(Kind::EndpointSlice, &svc.namespace, &sel)
    {
        return None;
    }
    let mut s = EndpointSummary {
        slices: 0,
        ready: 0,
        serving: 0,
        terminating: 0,
        not_ready: 0,
        from_endpoints: false,
        addresses: Vec::new(),
    };
    for slice in index.slices_of(state, svc) {
        s.slices += 1;
        s.from_endpoints |= slice.from_endpoints;
        for ep in &slice.endpoints {
            let Some(ip) = ep.addresses.first() else {
                continue;
            };
            if ep.is_ready() {
                s.ready += 1;
            } else {
                s.not_ready += 1;
            }
            if ep.is_serving() {
                s.serving += 1;
            }
            if ep.is_terminating() {
                s.terminating += 1;
            }
            s.addresses.push(EndpointAddress {
                ip: ip.clone(),
                pod: ep.pod.clone(),
                node: ep.node_name.clone(),
                ready: ep.is_ready(),
                serving: ep.is_serving(),
                terminating: ep.is_terminating(),
            });
        }
    }
    s.addresses
        .sort_by(|a, b| (&a.pod, &a.ip).cmp(&(&b.pod, &b.ip)));
    Some(s)
}

pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    let Some(svc) = ctx.service else { return };
    if svc.type_ == ServiceType::ExternalName {
        alias_target(ctx, facts, svc, out);
        return;
    }
    let Some(s) = &ctx.endpoints else {
        ctx.require(out, "endpoints", Kind::EndpointSlice, &svc.namespace);
        return;
    };
    let me = ObjectRef::new("Service", &svc.namespace, &svc.name);
    if s.terminating > 0 {
        out.finding(
            Code::TerminatingEndpoints,
            Severity::Info,
            format!(
                "{} endpoint(s) are terminating ({} still serving): normal during a rollout or scale-down",
                s.terminating,
                s.addresses.iter().filter(|a| a.terminating && a.serving).count()
            ),
            format!(
                "if they linger ({}), check preStop hooks and terminationGracePeriodSeconds",
                slices_cmd(svc)
            ),
            vec![me.clone()],
        );
    }
    out_of_sync(ctx, svc, s, out);
    if s.ready > 0 {
        return;
    }
    let why = if svc.selector.as_ref().is_none_or(|m| m.is_empty()) {
        if s.slices == 0 {
            "it is selectorless and no EndpointSlice is labelled for it".to_owned()
        } else {
            "its hand-made EndpointSlices list no ready endpoint".to_owned()
        }
    } else if ctx.pods.is_empty()
        && svc.selector.as_ref().is_some_and(|sel| {
            ctx.state
                .coverage
                .covers_selection(crate::model::Kind::Pod, &svc.namespace, sel)
        })
    {
        "its selector matches no pod".to_owned()
    } else if ctx.pods.is_empty() {
        "no endpoint is listed (its pods were not read)".to_owned()
    } else if s.not_ready > 0 {
        format!(
            "{} endpoint(s) exist but none is ready (see the pod findings)",
            s.not_ready
        )
    } else {
        format!(
            "{} pod(s) match but none is listed (not Ready, no pod IP yet, or no port maps)",
            ctx.pods.len()
        )
    };
    let dns = if svc.headless {
        "; being headless, its name does not resolve at all"
    } else {
        "; its name still resolves to the ClusterIP, but connections fail"
    };
    out.finding(
        Code::NoReadyEndpoints,
        Severity::Error,
        format!("the Service has no ready endpoint: {why}{dns}"),
        format!(
            "fix the cause named by the other findings; {} shows the endpoints",
            slices_cmd(svc)
        ),
        vec![me],
    );
}

/// The slices against the selected pods: Ready pods the slices do not list,
/// and endpoints whose pod the selector does not (or no longer) select.
fn out_of_sync(ctx: &Ctx<'_>, svc: &crate::model::Service, s: &EndpointSummary, out: &mut Out) {
    let Some(sel) = svc.selector.as_ref().filter(|m| !m.is_empty()) else {
        return; // selectorless: the slices are the truth
    };
    if !ctx
        .state
        .coverage
        .covers_selection(Kind::Pod, &svc.namespace, sel)
    {
        return;
    }
    let mut problems = Vec::new();
    let mut objects = vec![ObjectRef::new("Service", &svc.namespace, &svc.name)];
    for pod in ctx.pods.iter().filter(|p| p.is_ready() && !p.terminating) {
        let listed = s.addresses.iter().any(|a| pod.pod_ips.contains(&a.ip));
        if !pod.pod_ips.is_empty() && !listed {
            problems.push(format!(
                "Ready pod {} ({}) is not listed",
                pod.name,
                pod.pod_ips.join(",")
            ));
            objects.push(ObjectRef::new("Pod", &pod.namespace, &pod.name));
        }
    }
    for a in &s.addresses {
        let Some(name) = &a.pod else { continue };
        match ctx.pods.iter().find(|p| &p.name == name) {
            None => problems.push(format!(
                "endpoint {} points at pod {name}, which the selector does not select",
                a.ip
            )),
            Some(p) if a.ready && !p.is_ready() && !svc.publish_not_ready_addresses => {
                problems.push(format!("endpoint {} is ready but pod {name} is not", a.ip));
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        return;
    }
    out.finding(
        Code::EndpointsOutOfSync,
        Severity::Warning,
        format!("the EndpointSlices disagree with the pods: {}", problems.join("; ")),
        format!(
            "usually momentary (the EndpointSlice controller catches up within seconds); if it lasts, check kube-controller-manager's endpointslice controller and for hand-made slices labelled with this Service's name ({} --show-labels`)",
            slices_cmd(svc).trim_end_matches('`')
        ),
        objects,
    );
}

/// `kubectl -n NS get endpointslices -l kubernetes.io/service-name=NAME`, in backticks.
fn slices_cmd(svc: &Service) -> String {
    format!(
        "`kubectl -n {} get endpointslices -l {}={}`",
        svc.namespace,
        crate::model::SERVICE_NAME_LABEL,
        svc.name
    )
}

/// An ExternalName alias of an in-cluster ClusterIP Service resolves to that
/// Service's virtual IP, which serves only through its ready endpoints.
fn alias_target(ctx: &Ctx<'_>, facts: &Facts, svc: &Service, out: &mut Out) {
    let Some(target) = svc.external_name.as_deref() else {
        return;
    };
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    let Some(rest) = target.strip_suffix(&format!(".svc.{}", facts.served_zone)) else {
        return;
    };
    let Some((name, ns)) = rest.split_once('.').filter(|(_, ns)| !ns.contains('.')) else {
        return;
    };
    let Some(t) = ctx.index.service(ctx.state, ns, name) else {
        return; // a target that does not exist is external-name-unresolvable
    };
    if t.type_ == ServiceType::ExternalName || t.headless {
        return; // a chain, or a headless target that does not resolve without endpoints
    }
    let Some(s) = summary(ctx.state, ctx.index, t) else {
        ctx.require(
            out,
            "ExternalName target endpoints",
            Kind::EndpointSlice,
            ns,
        );
        return;
    };
    if s.ready > 0 {
        return;
    }
    out.finding(
        Code::NoReadyEndpoints,
        Severity::Error,
        format!(
            "ExternalName alias of Service {ns}/{name}, which has no ready endpoint ({} not ready): the name resolves to its ClusterIP, but connections fail",
            s.not_ready
        ),
        format!("diagnose the target: `kubectl svcdiscover {name} -n {ns}`"),
        vec![
            ObjectRef::new("Service", &svc.namespace, &svc.name),
            ObjectRef::new("Service", ns, name),
        ],
    );
}
