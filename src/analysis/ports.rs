//! Service ports against the selected pods' declared container ports.

use super::{Ctx, Facts, Out, name_list, pod_refs};
use crate::model::{Code, Pod, ServicePort, Severity, TargetPort};

/// Whether `pod` can serve `port`; `None` when it cannot be told (numeric
/// targetPort and a pod that declares no ports at all).
fn serves(pod: &Pod, port: &ServicePort) -> Option<bool> {
    // Regular containers and native sidecars serve; plain init containers do not.
    let serving: Vec<_> = pod
        .containers
        .iter()
        .filter(|c| c.role != crate::model::ContainerRole::Init)
        .collect();
    let declared: Vec<_> = serving.iter().flat_map(|c| c.ports.iter()).collect();
    match &port.target_port {
        TargetPort::Number(n) => {
            // A container that declares no ports may listen anywhere (an app
            // beside a mesh sidecar that declares its own): not a mismatch.
            if serving.iter().any(|c| c.ports.is_empty()) {
                return None;
            }
            Some(
                declared
                    .iter()
                    .any(|p| p.port == *n && p.protocol.eq_ignore_ascii_case(&port.protocol)),
            )
        }
        TargetPort::Name(name) => Some(declared.iter().any(|p| {
            p.name.as_deref() == Some(name.as_str())
                && p.protocol.eq_ignore_ascii_case(&port.protocol)
        })),
    }
}

fn declared_list(pod: &Pod) -> String {
    let v: Vec<String> = pod
        .containers
        .iter()
        .flat_map(|c| {
            c.ports.iter().map(move |p| match &p.name {
                Some(n) => format!("{}:{n}/{}/{}", c.name, p.port, p.protocol),
                None => format!("{}:{}/{}", c.name, p.port, p.protocol),
            })
        })
        .collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

/// `: kubectl … patch service …` setting port `index`'s targetPort to the first
/// port of `pod` with its protocol (by name when the targetPort is a name and
/// the port has one); empty when the pod declares none.
fn retarget(svc: &crate::model::Service, index: usize, port: &ServicePort, pod: &Pod) -> String {
    let Some(p) = pod
        .containers
        .iter()
        .filter(|c| c.role != crate::model::ContainerRole::Init)
        .flat_map(|c| c.ports.iter())
        .find(|p| p.protocol.eq_ignore_ascii_case(&port.protocol))
    else {
        return String::new();
    };
    let value = match (&port.target_port, &p.name) {
        (TargetPort::Name(_), Some(name)) => format!("\"{name}\""),
        _ => p.port.to_string(),
    };
    format!(
        ": `kubectl -n {} patch service {} --type=json -p '[{{\"op\":\"replace\",\"path\":\"/spec/ports/{index}/targetPort\",\"value\":{value}}}]'`",
        svc.namespace, svc.name
    )
}

pub(crate) fn check(ctx: &Ctx<'_>, _facts: &Facts, out: &mut Out) {
    let Some(svc) = ctx.service else { return };
    if ctx.pods.is_empty() {
        return;
    }
    for (index, port) in svc.ports.iter().enumerate() {
        let bad: Vec<&Pod> = ctx
            .pods
            .iter()
            .copied()
            .filter(|p| serves(p, port) == Some(false))
            .collect();
        if bad.is_empty() {
            continue;
        }
        let good_ready = ctx
            .pods
            .iter()
            .any(|p| p.is_ready() && serves(p, port) != Some(false));
        let severity = if good_ready {
            Severity::Warning
        } else {
            Severity::Error
        };
        let label = match &port.name {
            Some(n) => format!("port {n} ({}/{})", port.port, port.protocol),
            None => format!("port {}/{}", port.port, port.protocol),
        };
        let what = match &port.target_port {
            TargetPort::Number(n) => format!("targetPort {n}"),
            TargetPort::Name(n) => format!("named targetPort {n}"),
        };
        let consequence = match &port.target_port {
            TargetPort::Number(_) => {
                "connections to it are refused unless the app listens there without declaring it"
            }
            TargetPort::Name(_) => {
                "the EndpointSlice controller cannot map it, so these pods get no endpoint port for it"
            }
        };
        let example = bad[0];
        let (ns, owner) = (&svc.namespace, super::pods::template_owner(example));
        let retarget = retarget(svc, index, port, example);
        let fix = match &port.target_port {
            TargetPort::Number(_) => format!(
                "point targetPort at the port the container listens on (declared: {}){retarget}, or declare and listen on {} (`kubectl -n {ns} edit {owner}`)",
                declared_list(example),
                port.target_port
            ),
            TargetPort::Name(n) => format!(
                "name a container port `{n}` (`kubectl -n {ns} edit {owner}`), or point targetPort at an existing name or number (declared: {}){retarget}",
                declared_list(example)
            ),
        };
        let mut objects = vec![crate::model::ObjectRef::new(
            "Service",
            &svc.namespace,
            &svc.name,
        )];
        objects.extend(pod_refs(bad.iter().copied()));
        out.finding(
            Code::TargetPortMismatch,
            severity,
            format!(
                "{label}: {what} matches no declared container port of {} of {} pods ({}): {consequence}",
                bad.len(),
                ctx.pods.len(),
                name_list(bad.iter().map(|p| p.name.as_str()), 5)
            ),
            fix,
            objects,
        );
    }
}
