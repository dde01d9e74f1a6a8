//! ExternalName Services whose CNAME cannot resolve: an IP address in
//! `externalName`, or an in-cluster target that does not exist.
//!
//! What CoreDNS does (plugin/kubernetes `findServices`): an ExternalName
//! Service is served only when `externalName` is a hostname, as a CNAME to it
//! as written; an address parses as A/AAAA, not CNAME, and the Service is
//! skipped, so its name does not exist (NXDOMAIN). A target inside the
//! cluster zone is resolved by CoreDNS itself; when it does not exist the
//! CNAME is dropped. A target outside the cluster is left to the upstream
//! resolvers and is not judged here (`expected_resolves: null`).

use std::net::IpAddr;

use super::{Ctx, Facts, Out, name_list, text};
use crate::model::{Answer, Code, Kind, ObjectRef, Service, ServiceType, Severity};

const CHECK: &str = "ExternalName target";

pub(crate) fn check(ctx: &Ctx<'_>, facts: &Facts, out: &mut Out) {
    let Some(svc) = ctx.service.filter(|s| s.type_ == ServiceType::ExternalName) else {
        return;
    };
    let target = svc
        .external_name
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if target.is_empty() {
        return;
    }
    let me = vec![ObjectRef::new("Service", &svc.namespace, &svc.name)];
    if let Ok(ip) = target.parse::<IpAddr>() {
        let served = &facts.served_zone;
        out.finding(
            Code::ExternalNameUnresolvable,
            Severity::Error,
            format!(
                "externalName is the IP address {ip}: CoreDNS serves an ExternalName Service only as a CNAME to a hostname and skips one holding an address, so {}.{}.svc.{served} does not exist (NXDOMAIN) and no name form resolves",
                svc.name, svc.namespace
            ),
            ip_fix(svc, ip),
            me,
        );
        return;
    }
    let served = facts.served_zone.to_ascii_lowercase();
    let Some(rest) = target
        .strip_suffix(&served)
        .and_then(|r| r.strip_suffix('.'))
    else {
        relative_target(ctx, facts, svc, &target, out);
        return; // otherwise outside the cluster: the upstream resolvers answer
    };
    let zone = facts.zone(ctx.state);
    let answer = zone.answer(&target);
    if matches!(answer.answer, Answer::Address { .. } | Answer::Cname { .. }) {
        return;
    }
    let labels: Vec<&str> = rest.split('.').collect();
    // `<svc>.<ns>.svc`: the usual shape. Anything else in the zone that does
    // not answer is a malformed name.
    let (svc_name, ns) = match labels.as_slice() {
        [.., name, ns, "svc"] => (*name, *ns),
        _ => {
            out.finding(
                Code::ExternalNameUnresolvable,
                Severity::Error,
                format!(
                    "externalName {target} is inside the cluster zone {served} but is no Service name ({}): the CNAME leads nowhere",
                    answer.why
                ),
                format!(
                    "point it at a Service as <service>.<namespace>.svc.{served}: `kubectl -n {} edit service {}`",
                    svc.namespace, svc.name
                ),
                me,
            );
            return;
        }
    };
    let state = ctx.state;
    let mut close: Vec<(String, String)> = Vec::new();
    let index = ctx.index;
    let message_why = match index.namespace_exists(state, ns) {
        Some(false) => {
            let mut near: Vec<&String> = state
                .namespaces
                .iter()
                .filter(|n| text::is_close(ns, n))
                .collect();
            near.sort_by_key(|n| (text::edit_distance(ns, n), n.as_str()));
            close.extend(near.into_iter().map(|n| {
                let fits = index.service(state, n, svc_name).is_some();
                (
                    n.clone(),
                    if fits {
                        svc_name.to_owned()
                    } else {
                        String::new()
                    },
                )
            }));
            format!("namespace {ns} does not exist")
        }
        Some(true) => {
            if !state.coverage.covers_object(Kind::Service, ns, svc_name) {
                ctx.require(out, CHECK, Kind::Service, ns);
                return;
            }
            if index.service(state, ns, svc_name).is_some() {
                return; // it exists but has no ready endpoint: not a typo
            }
            let mut near: Vec<&Service> = index
                .services_in(state, ns)
                .filter(|s| text::is_close(svc_name, &s.name))
                .collect();
            near.sort_by_key(|s| (text::edit_distance(svc_name, &s.name), s.name.as_str()));
            close.extend(
                near.into_iter()
                    .map(|s| (s.namespace.clone(), s.name.clone())),
            );
            format!("there is no Service {svc_name} in namespace {ns}")
        }
        None => {
            ctx.require(out, CHECK, Kind::Namespace, ns);
            return;
        }
    };
    let suggestions: Vec<String> = close
        .iter()
        .filter(|(_, name)| !name.is_empty())
        .map(|(ns, name)| format!("{name}.{ns}.svc.{served}"))
        .collect();
    let close_ns: Vec<&str> = close
        .iter()
        .filter(|(_, name)| name.is_empty())
        .map(|(ns, _)| ns.as_str())
        .collect();
    let mut message = format!(
        "externalName {target} points inside the cluster zone, but {message_why}: CoreDNS drops the CNAME and the name does not resolve"
    );
    if !suggestions.is_empty() {
        message.push_str(&format!(
            "; did you mean {}",
            name_list(suggestions.iter().map(String::as_str), 3)
        ));
    } else if !close_ns.is_empty() {
        message.push_str(&format!(
            "; close namespaces: {}",
            name_list(close_ns.iter().copied(), 3)
        ));
    }
    let fix = match suggestions.first() {
        Some(good) => format!(
            "`kubectl -n {} patch service {} -p '{{\"spec\":{{\"externalName\":\"{good}\"}}}}'`",
            svc.namespace, svc.name
        ),
        None => format!(
            "create Service {svc_name} in namespace {ns}, or correct spec.externalName: `kubectl -n {} edit service {}`",
            svc.namespace, svc.name
        ),
    };
    let mut objects = me;
    objects.extend(
        close
            .iter()
            .filter(|(_, name)| !name.is_empty())
            .map(|(ns, name)| ObjectRef::new("Service", ns, name)),
    );
    out.finding(
        Code::ExternalNameUnresolvable,
        Severity::Error,
        message,
        fix,
        objects,
    );
}

/// `svc`, `svc.ns` or `svc.ns.svc` naming an existing Service: a CNAME
/// target is looked up as it is (no search list), so it never resolves.
fn relative_target(ctx: &Ctx<'_>, facts: &Facts, svc: &Service, target: &str, out: &mut Out) {
    let labels: Vec<&str> = target.split('.').collect();
    let (name, ns) = match labels.as_slice() {
        [name] => (*name, svc.namespace.as_str()),
        [name, ns] | [name, ns, "svc"] => (*name, *ns),
        _ => return,
    };
    if ctx.index.service(ctx.state, ns, name).is_none() {
        return;
    }
    let fqdn = format!("{name}.{ns}.svc.{}", facts.served_zone);
    out.finding(
        Code::ExternalNameUnresolvable,
        Severity::Error,
        format!(
            "externalName {target} is the short form of Service {ns}/{name}, but a CNAME target is looked up as written, without the search list: it goes upstream and does not resolve"
        ),
        format!(
            "use the FQDN: `kubectl -n {} patch service {} -p '{{\"spec\":{{\"externalName\":\"{fqdn}\"}}}}'`",
            svc.namespace, svc.name
        ),
        vec![
            ObjectRef::new("Service", &svc.namespace, &svc.name),
            ObjectRef::new("Service", ns, name),
        ],
    );
}

/// Turn the Service into a selectorless ClusterIP Service, then give it an
/// EndpointSlice for `ip`.
fn ip_fix(svc: &Service, ip: IpAddr) -> String {
    let (ns, name) = (&svc.namespace, &svc.name);
    let family = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
    // A ClusterIP Service needs a port; one without says which it assumes.
    let (ports, port_note) = if svc.ports.is_empty() {
        (
            r#","ports":[{"port":80}]"#,
            " (the Service lists no port: 80 stands for the port clients use)",
        )
    } else {
        ("", "")
    };
    format!(
        "give the Service endpoints instead{port_note}: make it a selectorless ClusterIP Service with `kubectl -n {ns} patch service {name} --type=merge -p '{{\"spec\":{{\"type\":\"ClusterIP\",\"externalName\":null{ports}}}}}'`, then create an EndpointSlice labelled kubernetes.io/service-name={name} with addressType {family} and the address {ip} (docs/findings.md shows the manifest)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, Target, diagnose};
    use crate::model::{ClusterState, Report, ServicePort, TargetPort};

    fn external(name: &str, target: &str) -> Service {
        Service {
            namespace: "default".into(),
            name: name.into(),
            type_: ServiceType::ExternalName,
            external_name: Some(target.into()),
            ..Service::default()
        }
    }

    fn state(services: Vec<Service>) -> ClusterState {
        let mut s = ClusterState {
            services,
            ..ClusterState::default()
        };
        s.services.push(Service {
            namespace: "kube-system".into(),
            name: "kube-dns".into(),
            cluster_ips: vec!["10.96.0.10".into()],
            ..Service::default()
        });
        s.services.push(Service {
            namespace: "payments".into(),
            name: "pay".into(),
            cluster_ips: vec!["10.96.0.50".into()],
            ..Service::default()
        });
        s.coverage.add_all(Kind::Service);
        s.coverage.add_all(Kind::Namespace);
        s.namespaces = ["default", "payments", "kube-system"]
            .map(String::from)
            .into();
        s
    }

    fn run(st: &ClusterState, name: &str) -> Report {
        diagnose(
            st,
            &Target {
                namespace: "default".into(),
                name: name.into(),
            },
            &Options::default(),
        )
    }

    fn unresolvable(r: &Report) -> Vec<&crate::model::Finding> {
        r.findings
            .iter()
            .filter(|f| f.code == Code::ExternalNameUnresolvable)
            .collect()
    }

    #[test]
    fn an_ip_address_is_skipped_by_coredns_and_the_fix_is_an_endpoint_slice() {
        let mut svc = external("legacy", "192.0.2.10");
        svc.ports = vec![ServicePort {
            name: Some("pg".into()),
            port: 5432,
            target_port: TargetPort::Number(5432),
            protocol: "TCP".into(),
            node_port: None,
        }];
        let st = state(vec![svc]);
        let r = run(&st, "legacy");
        let f = unresolvable(&r);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("NXDOMAIN"), "{}", f[0].message);
        let fix = &f[0].fix;
        assert!(
            fix.contains(r#"`kubectl -n default patch service legacy --type=merge -p '{"spec":{"type":"ClusterIP","externalName":null}}'`"#),
            "{fix}"
        );
        assert!(
            fix.contains(
                "kubernetes.io/service-name=legacy with addressType IPv4 and the address 192.0.2.10"
            ),
            "{fix}"
        );
        // The prediction agrees: no name form resolves, and says why.
        assert!(
            r.name_forms
                .iter()
                .any(|row| row.why.contains("skips an address"))
        );
        assert!(
            r.name_forms
                .iter()
                .all(|row| row.expected_resolves == Some(false))
        );
    }

    #[test]
    fn an_in_cluster_target_with_a_namespace_typo_names_the_close_one() {
        let st = state(vec![external("alias", "pay.paymnets.svc.cluster.local")]);
        let r = run(&st, "alias");
        let f = unresolvable(&r);
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        assert!(
            f[0].message.contains("namespace paymnets does not exist"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message
                .contains("did you mean pay.payments.svc.cluster.local"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].fix,
            r#"`kubectl -n default patch service alias -p '{"spec":{"externalName":"pay.payments.svc.cluster.local"}}'`"#
        );
    }

    #[test]
    fn an_in_cluster_target_with_a_service_typo_names_the_close_service() {
        let st = state(vec![external("alias", "pays.payments.svc.cluster.local")]);
        let r = run(&st, "alias");
        let f = unresolvable(&r);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("there is no Service pays in namespace payments"),
            "{}",
            f[0].message
        );
        assert!(f[0].fix.contains("pay.payments.svc.cluster.local"));
    }

    #[test]
    fn working_and_outside_targets_give_no_finding() {
        let st = state(vec![
            external("alias", "pay.payments.svc.cluster.local"),
            external("billing", "billing.example.com"),
        ]);
        assert!(unresolvable(&run(&st, "alias")).is_empty());
        let r = run(&st, "billing");
        assert!(unresolvable(&r).is_empty());
        assert!(
            r.name_forms
                .iter()
                .any(|row| row.expected_resolves.is_none())
        );
    }

    #[test]
    fn unknown_services_of_the_target_namespace_are_not_checked() {
        let mut st = ClusterState {
            services: vec![external("alias", "pays.payments.svc.cluster.local")],
            ..ClusterState::default()
        };
        st.coverage.add_namespace(Kind::Service, "default");
        st.coverage.add_all(Kind::Namespace);
        st.namespaces = ["default", "payments"].map(String::from).into();
        let r = run(&st, "alias");
        assert!(unresolvable(&r).is_empty());
        assert!(r.not_checked.iter().any(|n| n.check == CHECK));
    }
}
