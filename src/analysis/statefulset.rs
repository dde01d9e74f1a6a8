//! StatefulSets and their governing headless Service: a pod's per-pod name
//! `<hostname>.<serviceName>.<ns>.svc.<domain>` exists only when
//! `spec.serviceName` names a headless Service in the same namespace that
//! selects the pod (the EndpointSlice controller then copies the pod's
//! hostname into its endpoint, and CoreDNS serves the name from it).

use std::collections::BTreeMap;

use super::{Ctx, Facts, Out};
use crate::model::{Code, Kind, ObjectRef, Service, ServiceType, Severity, Workload, labels_match};

const CHECK: &str = "StatefulSet serviceName";

/// Labels controllers add to pods, not part of a template's identity.
const CONTROLLER_LABELS: [&str; 3] = [
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "pod-template-hash",
];

pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    let Some(svc) = ctx.service.filter(|s| s.type_ != ServiceType::ExternalName) else {
        return;
    };
    let ns = svc.namespace.as_str();
    let owns_selected = |w: &Workload| {
        ctx.pods.iter().any(
            |p| matches!(&p.owner, Some((kind, name)) if kind == "StatefulSet" && *name == w.name),
        )
    };
    let any_set_pod = ctx
        .pods
        .iter()
        .any(|p| matches!(&p.owner, Some((kind, _)) if kind == "StatefulSet"));
    if !svc.headless && !any_set_pod {
        return;
    }
    if !ctx.require(out, CHECK, Kind::StatefulSet, ns) {
        return;
    }
    let mut sets: Vec<&Workload> = ctx
        .state
        .workloads
        .iter()
        .filter(|w| w.kind == Kind::StatefulSet && w.namespace == ns)
        .filter(|w| w.service_name.as_deref() == Some(svc.name.as_str()) || owns_selected(w))
        .collect();
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    let domain = facts.search_domain();
    for set in sets {
        let per_pod = format!(
            "{}-0.{}.{ns}.svc.{domain}",
            set.name,
            set.service_name.as_deref().unwrap_or(&svc.name)
        );
        let (problem, fix, governing) = match set.service_name.as_deref() {
            None if !svc.headless => continue,
            None => (
                "has no serviceName".to_owned(),
                format!(
                    "serviceName cannot be changed on an existing StatefulSet: recreate StatefulSet {} with serviceName: {} (`kubectl -n {ns} get statefulset {} -o yaml`, set spec.serviceName, delete with --cascade=orphan, apply)",
                    set.name, svc.name, set.name
                ),
                None,
            ),
            Some(name) => match ctx.index.service(ctx.state, ns, name) {
                None => {
                    if !ctx.state.coverage.covers_object(Kind::Service, ns, name) {
                        ctx.require(out, CHECK, Kind::Service, ns);
                        continue;
                    }
                    (
                        format!("names Service {name}, which does not exist in namespace {ns}"),
                        format!(
                            "create the headless Service {name} selecting its pods: {}",
                            headless_commands(name, ns, &selector_for(set, svc), svc)
                        ),
                        None,
                    )
                }
                Some(t) if t.type_ == ServiceType::ExternalName || !t.headless => (
                    format!(
                        "names Service {name}, which is not headless ({})",
                        if t.type_ == ServiceType::ExternalName {
                            "type ExternalName".to_owned()
                        } else {
                            format!("clusterIP {}", t.cluster_ips.join(","))
                        }
                    ),
                    format!(
                        "clusterIP cannot be changed to None on an existing Service: recreate {name} as headless (clients of its ClusterIP need another Service): `kubectl -n {ns} delete service {name}`, then {}",
                        headless_commands(name, ns, &selector_for(set, t), t)
                    ),
                    Some(t),
                ),
                Some(t) if !selects(t, set) => (
                    format!(
                        "names headless Service {name}, whose selector {} does not select its pods (template labels {})",
                        t.selector
                            .as_ref()
                            .map_or("(none)".to_owned(), crate::model::selector_string),
                        crate::model::selector_string(&identity(&set.template_labels))
                    ),
                    format!(
                        "make Service {name} select the StatefulSet's pods: `kubectl -n {ns} patch service {name} -p '{}'`",
                        selector_patch(t, set)
                    ),
                    Some(t),
                ),
                Some(_) => continue,
            },
        };
        let mut objects = vec![ObjectRef::new("StatefulSet", ns, &set.name)];
        match governing {
            Some(t) => objects.push(ObjectRef::new("Service", ns, &t.name)),
            None => objects.push(ObjectRef::new("Service", ns, &svc.name)),
        }
        out.finding(
            Code::StatefulsetServiceMismatch,
            Severity::Warning,
            format!(
                "StatefulSet {}: serviceName {problem}; its pods get no per-pod DNS records ({per_pod} does not exist)",
                set.name
            ),
            fix,
            objects,
        );
    }
}

/// A template's labels without the ones controllers add.
fn identity(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| !CONTROLLER_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn selects(svc: &Service, set: &Workload) -> bool {
    svc.selector
        .as_ref()
        .is_some_and(|sel| !sel.is_empty() && labels_match(&set.template_labels, sel))
}

/// The selector a governing Service needs: `svc`'s when it selects the
/// StatefulSet's pods, else the template's labels.
fn selector_for(set: &Workload, svc: &Service) -> BTreeMap<String, String> {
    if selects(svc, set) {
        svc.selector.clone().unwrap_or_default()
    } else {
        identity(&set.template_labels)
    }
}

/// A strategic-merge patch that replaces `svc`'s selector with the template's labels.
fn selector_patch(svc: &Service, set: &Workload) -> String {
    let want = identity(&set.template_labels);
    let mut sel = serde_json::Map::new();
    for k in svc.selector.iter().flatten().map(|(k, _)| k) {
        if !want.contains_key(k) {
            sel.insert(k.clone(), serde_json::Value::Null);
        }
    }
    for (k, v) in &want {
        sel.insert(k.clone(), serde_json::Value::from(v.as_str()));
    }
    serde_json::json!({"spec": {"selector": sel}}).to_string()
}

fn headless_commands(
    name: &str,
    ns: &str,
    selector: &BTreeMap<String, String>,
    ports_from: &Service,
) -> String {
    let tcp = super::text::tcp_flags(ports_from);
    format!(
        "`kubectl -n {ns} create service clusterip {name} --clusterip=None{tcp}` and `kubectl -n {ns} set selector service {name} '{}'`",
        crate::model::selector_string(selector)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, Target, diagnose};
    use crate::model::{
        ClusterState, Condition, Endpoint, EndpointSlice, Form, Pod, Report, SERVICE_NAME_LABEL,
    };

    fn db_labels() -> BTreeMap<String, String> {
        [("app".to_owned(), "db".to_owned())].into()
    }

    /// Headless Service `db` and StatefulSet `db` (serviceName `service_name`)
    /// with two ready pods whose endpoints carry their hostnames.
    fn state(service_name: Option<&str>, headless: bool) -> ClusterState {
        let mut s = ClusterState::default();
        s.services.push(Service {
            namespace: "default".into(),
            name: "db".into(),
            headless,
            cluster_ips: if headless {
                vec![]
            } else {
                vec!["10.96.0.30".into()]
            },
            selector: Some(db_labels()),
            ..Service::default()
        });
        s.services.push(Service {
            namespace: "kube-system".into(),
            name: "kube-dns".into(),
            cluster_ips: vec!["10.96.0.10".into()],
            ..Service::default()
        });
        s.workloads.push(Workload {
            kind: Kind::StatefulSet,
            namespace: "default".into(),
            name: "db".into(),
            template_labels: db_labels(),
            service_name: service_name.map(str::to_owned),
        });
        let mut endpoints = Vec::new();
        for i in 0..2 {
            let name = format!("db-{i}");
            let ip = format!("10.244.0.{}", 10 + i);
            let subdomain_ok = service_name == Some("db");
            endpoints.push(Endpoint {
                addresses: vec![ip.clone()],
                ready: Some(true),
                serving: Some(true),
                terminating: None,
                hostname: subdomain_ok.then(|| name.clone()),
                pod: Some(name.clone()),
                node_name: None,
            });
            s.pods.push(Pod {
                namespace: "default".into(),
                name: name.clone(),
                labels: db_labels(),
                pod_ips: vec![ip],
                ready: Some(Condition {
                    status: Some(true),
                    reason: None,
                    message: None,
                }),
                owner: Some(("StatefulSet".into(), "db".into())),
                hostname: Some(name),
                subdomain: service_name.map(str::to_owned),
                ..Pod::default()
            });
        }
        s.endpoint_slices.push(EndpointSlice {
            namespace: "default".into(),
            name: "db-abc".into(),
            service_name: Some("db".into()),
            address_type: "IPv4".into(),
            endpoints,
            ..EndpointSlice::default()
        });
        s.coverage.add_all(Kind::Service);
        s.coverage.add_all(Kind::Pod);
        s.coverage.add_all(Kind::StatefulSet);
        s.coverage.add_all(Kind::Namespace);
        s.coverage.add_selection(
            Kind::EndpointSlice,
            "default",
            &[(SERVICE_NAME_LABEL.to_owned(), "db".to_owned())].into(),
        );
        s.namespaces = ["default", "kube-system"].map(String::from).into();
        s
    }

    fn run(st: &ClusterState) -> Report {
        diagnose(
            st,
            &Target {
                namespace: "default".into(),
                name: "db".into(),
            },
            &Options::default(),
        )
    }

    fn mismatch(r: &Report) -> Vec<&crate::model::Finding> {
        r.findings
            .iter()
            .filter(|f| f.code == Code::StatefulsetServiceMismatch)
            .collect()
    }

    #[test]
    fn a_governing_headless_service_gives_per_pod_rows_that_resolve() {
        let r = run(&state(Some("db"), true));
        assert!(mismatch(&r).is_empty(), "{:?}", r.findings);
        let rows: Vec<_> = r
            .name_forms
            .iter()
            .filter(|f| f.form == Form::Pod)
            .collect();
        // Two pods, from the own namespace and a hypothetical other one.
        assert_eq!(rows.len(), 4);
        let row = rows
            .iter()
            .find(|f| f.name == "db-0.db.default.svc.cluster.local" && !f.hypothetical)
            .unwrap();
        assert_eq!(row.expected_resolves, Some(true));
        assert_eq!(row.expected_addresses, ["10.244.0.10"]);
        assert!(row.why.contains("endpoint `db-0`"), "{}", row.why);
    }

    #[test]
    fn a_service_name_naming_a_missing_service_is_a_mismatch() {
        let r = run(&state(Some("db-headless"), true));
        let f = mismatch(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].message.contains(
                "StatefulSet db: serviceName names Service db-headless, which does not exist in namespace default"
            ),
            "{}",
            f[0].message
        );
        assert!(
            f[0].fix.contains(
                "`kubectl -n default create service clusterip db-headless --clusterip=None`"
            ),
            "{}",
            f[0].fix
        );
        // Its pods get no per-pod record, and the rows say why.
        let row = r
            .name_forms
            .iter()
            .find(|f| f.form == Form::Pod && !f.hypothetical)
            .unwrap();
        assert_eq!(row.expected_resolves, Some(false));
        assert!(
            row.why.contains("spec.subdomain is `db-headless`"),
            "{}",
            row.why
        );
    }

    #[test]
    fn a_service_that_is_not_headless_or_does_not_select_is_a_mismatch() {
        let r = run(&state(Some("db"), false));
        let f = mismatch(&r);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("which is not headless (clusterIP 10.96.0.30)"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].fix.contains("`kubectl -n default delete service db`, then `kubectl -n default create service clusterip db --clusterip=None"),
            "{}",
            f[0].fix
        );

        let mut st = state(Some("db"), true);
        st.services[0].selector = Some([("app".to_owned(), "database".to_owned())].into());
        st.pods.clear();
        let r = run(&st);
        let f = mismatch(&r);
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        assert!(
            f[0].message
                .contains("whose selector app=database does not select its pods"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].fix,
            r#"make Service db select the StatefulSet's pods: `kubectl -n default patch service db -p '{"spec":{"selector":{"app":"db"}}}'`"#
        );
    }

    #[test]
    fn unread_statefulsets_are_not_checked() {
        let mut st = state(Some("db"), true);
        st.coverage = crate::model::Coverage::default();
        st.coverage.add_all(Kind::Service);
        st.coverage.add_all(Kind::Pod);
        let r = run(&st);
        assert!(mismatch(&r).is_empty());
        assert!(r.not_checked.iter().any(|n| n.check == CHECK));
    }
}
