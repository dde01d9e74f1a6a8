//! `--connect`: which TCP connections the probe opens ([`plan_connects`]),
//! and the two classic splits their results show (`check`):
//!
//! - the endpoints answer directly but the ClusterIP does not: the Service
//!   proxy (kube-proxy or its replacement) does not forward it
//!   (`service-proxy-not-routing`);
//! - an endpoint refuses on its target port: nothing listens there
//!   (`endpoint-refused`).
//!
//! Pure: the probe (src/probe) opens the connections and hands the results
//! over in `Observations::connections`.

use std::collections::BTreeSet;

use super::{Ctx, Facts, Out, Target};
use crate::model::{
    ClusterState, Code, Connection, ConnectionResult, ConnectionTarget, ObjectRef, ServiceType,
    Severity,
};

/// At most this many endpoint connections per Service port: each may wait
/// the per-connection timeout, all within `--probe-timeout`.
pub const MAX_ENDPOINTS_PER_PORT: usize = 16;

/// One connection `--connect` asks the probe to open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectPlan {
    pub address: String,
    pub port: i32,
    /// The Service port (its `port`) this connection stands for.
    pub service_port: i32,
    pub target: ConnectionTarget,
    /// The endpoint's pod, when its `targetRef` names one.
    pub pod: Option<String>,
}

impl ConnectPlan {
    /// This connection as opened from `from`, with what came of it.
    pub fn opened(
        &self,
        from: &str,
        port: u16,
        result: ConnectionResult,
        detail: &str,
    ) -> Connection {
        Connection {
            from: from.to_owned(),
            address: self.address.clone(),
            port,
            service_port: self.service_port,
            target: self.target,
            pod: self.pod.clone(),
            result,
            detail: detail.to_owned(),
        }
    }
}

/// An address as one spelling: the parsed IP's, else as given, so that
/// `10.0.0.1` and an IPv6 address written two ways each compare equal.
pub fn address_key(address: &str) -> String {
    address
        .parse::<std::net::IpAddr>()
        .map_or_else(|_| address.to_owned(), |ip| ip.to_string())
}

fn no_empty(name: Option<&str>) -> Option<&str> {
    name.filter(|n| !n.is_empty())
}

/// The connections to open for `target`: for each TCP Service port, the
/// ClusterIP(s) on the Service port (none for a headless or ExternalName
/// Service), then each ready endpoint on its own target port, the port of
/// its EndpointSlice named like the Service port (so a named targetPort is
/// resolved per pod, as the EndpointSlice controller did). Endpoints are
/// ordered by pod, then address; at most [`MAX_ENDPOINTS_PER_PORT`] per
/// Service port.
pub fn plan_connects(state: &ClusterState, target: &Target) -> Vec<ConnectPlan> {
    let Some(svc) = state.service(&target.namespace, &target.name) else {
        return Vec::new();
    };
    if svc.type_ == ServiceType::ExternalName {
        return Vec::new();
    }
    let mut plans = Vec::new();
    for sp in svc.ports.iter().filter(|p| p.protocol == "TCP") {
        if !svc.headless {
            for ip in svc.cluster_ips.iter().filter(|ip| !ip.is_empty()) {
                plans.push(ConnectPlan {
                    address: ip.clone(),
                    port: sp.port,
                    service_port: sp.port,
                    target: ConnectionTarget::Service,
                    pod: None,
                });
            }
        }
        let mut endpoints = Vec::new();
        for slice in state.slices_of(svc) {
            if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
                continue;
            }
            let Some(port) = slice
                .ports
                .iter()
                .find(|p| {
                    no_empty(p.name.as_deref()) == no_empty(sp.name.as_deref())
                        && p.protocol == sp.protocol
                })
                .and_then(|p| p.port)
            else {
                continue;
            };
            for ep in slice.endpoints.iter().filter(|e| e.is_ready()) {
                let Some(address) = ep.addresses.first() else {
                    continue;
                };
                let plan = ConnectPlan {
                    address: address.clone(),
                    port,
                    service_port: sp.port,
                    target: ConnectionTarget::Endpoint,
                    pod: ep.pod.clone(),
                };
                if !endpoints.contains(&plan) {
                    endpoints.push(plan);
                }
            }
        }
        endpoints.sort_by(|a, b| (&a.pod, &a.address, a.port).cmp(&(&b.pod, &b.address, b.port)));
        endpoints.truncate(MAX_ENDPOINTS_PER_PORT);
        plans.extend(endpoints);
    }
    plans
}

/// `namespace default` or `pod client/client`.
fn from_words(from: &str) -> String {
    if from.contains('/') {
        format!("pod {from}")
    } else {
        format!("namespace {from}")
    }
}

/// `10.244.0.2:80 (pay-v1-abc)`.
fn endpoint_words(c: &Connection) -> String {
    match &c.pod {
        Some(pod) => format!("{}:{} ({pod})", c.address, c.port),
        None => format!("{}:{}", c.address, c.port),
    }
}

fn list(conns: &[&Connection]) -> String {
    conns
        .iter()
        .map(|c| endpoint_words(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn failed_words(r: ConnectionResult) -> &'static str {
    match r {
        ConnectionResult::Connected => "connected",
        ConnectionResult::Refused => "was refused",
        ConnectionResult::Timeout => "timed out",
        ConnectionResult::Error => "failed",
    }
}

pub(crate) fn check(ctx: &Ctx<'_>, _facts: &Facts, out: &mut Out) {
    let Some(conns) = &ctx.observations.connections else {
        return;
    };
    let ns = &ctx.target.namespace;
    let me = ObjectRef::new("Service", ns, &ctx.target.name);
    let ports: BTreeSet<i32> = conns.iter().map(|c| c.service_port).collect();
    for &port in &ports {
        let of_port: Vec<&Connection> = conns.iter().filter(|c| c.service_port == port).collect();
        proxy_split(&of_port, &me, out);
        refused(ctx, &of_port, &me, out);
    }
}

/// `service-proxy-not-routing`, per client and ClusterIP: an endpoint
/// connects directly but the ClusterIP does not. An error when no endpoint
/// failed the same way as the ClusterIP (a working proxy forwards to an
/// endpoint, so its connection ends as one of theirs); a warning when one
/// did, since a working proxy may have picked that endpoint.
fn proxy_split(conns: &[&Connection], me: &ObjectRef, out: &mut Out) {
    let froms: BTreeSet<&str> = conns.iter().map(|c| c.from.as_str()).collect();
    for from in froms {
        let mine = conns.iter().filter(|c| c.from == from);
        let (services, endpoints): (Vec<&Connection>, Vec<&Connection>) =
            mine.partition(|c| c.target == ConnectionTarget::Service);
        let connected: Vec<&Connection> = endpoints
            .iter()
            .copied()
            .filter(|c| c.result == ConnectionResult::Connected)
            .collect();
        if connected.is_empty() {
            continue;
        }
        for s in services
            .iter()
            .filter(|c| c.result != ConnectionResult::Connected)
        {
            let alike: Vec<&Connection> = endpoints
                .iter()
                .copied()
                .filter(|c| c.result == s.result)
                .collect();
            let head = format!(
                "from {}, the ClusterIP {}:{} {} ({}) while {} of {} ready endpoint(s) connect directly ({})",
                from_words(from),
                s.address,
                s.port,
                failed_words(s.result),
                s.detail,
                connected.len(),
                endpoints.len(),
                list(&connected)
            );
            let (severity, message) = if alike.is_empty() {
                (
                    Severity::Error,
                    format!(
                        "{head}: the Service proxy (kube-proxy or its replacement) does not forward this Service's ClusterIP, so clients that call it by name fail although its pods answer"
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "{head}: the Service proxy (kube-proxy or its replacement) may not forward this Service's ClusterIP; but {} {} too, and a working proxy may have sent this one connection there",
                        list(&alike),
                        failed_words(s.result)
                    ),
                )
            };
            out.finding(
                Code::ServiceProxyNotRouting,
                severity,
                message,
                "check the Service proxy on the client's node: find it with `kubectl -n kube-system get daemonsets` (kube-proxy, or the agent of a CNI that replaces it) and read the logs of its pod on that node; NetworkPolicy is not the cause, since the endpoints connect directly from the same client; run again: a ClusterIP that never connects while its endpoints do is the proxy".to_owned(),
                vec![me.clone()],
            );
        }
    }
}

/// `endpoint-refused`, per Service port: the endpoints that refused from
/// any client. An error when no endpoint of that port connected, else a
/// warning.
fn refused(ctx: &Ctx<'_>, conns: &[&Connection], me: &ObjectRef, out: &mut Out) {
    let endpoints = conns
        .iter()
        .copied()
        .filter(|c| c.target == ConnectionTarget::Endpoint);
    let mut refused: Vec<&Connection> = Vec::new();
    for c in endpoints
        .clone()
        .filter(|c| c.result == ConnectionResult::Refused)
    {
        if !refused
            .iter()
            .any(|r| r.address == c.address && r.port == c.port)
        {
            refused.push(c);
        }
    }
    let Some(first) = refused.first() else {
        return;
    };
    let any_connected = endpoints
        .clone()
        .any(|c| c.result == ConnectionResult::Connected);
    let froms: BTreeSet<&str> = refused.iter().map(|c| c.from.as_str()).collect();
    let ns = &ctx.target.namespace;
    let port_words: BTreeSet<String> = refused.iter().map(|c| c.port.to_string()).collect();
    let message = format!(
        "from {}, {} endpoint(s) of Service port {} refuse TCP on their target port {}: {}: nothing listens there (a wrong targetPort, or the application listens on another port or only on localhost){}",
        froms
            .iter()
            .map(|f| from_words(f))
            .collect::<Vec<_>>()
            .join(", "),
        refused.len(),
        first.service_port,
        port_words.into_iter().collect::<Vec<_>>().join(", "),
        list(&refused),
        if any_connected {
            "; other endpoints connect, so some requests fail and others succeed"
        } else {
            "; no endpoint connects"
        }
    );
    let fix = match &first.pod {
        Some(pod) => format!(
            "see what {pod} listens on: `kubectl -n {ns} exec {pod} -- ss -ltn` (port {} must be bound on 0.0.0.0 or the pod IP, not 127.0.0.1); or compare the Service's targetPort with the container's ports: `kubectl -n {ns} describe pod {pod}` (its Port lines)",
            first.port
        ),
        None => format!(
            "see what the endpoint {} listens on (port {} must be bound on 0.0.0.0, not 127.0.0.1), and compare with the Service's targetPort: `kubectl -n {ns} get service {} -o custom-columns=service:.metadata.name,ports:.spec.ports`",
            first.address, first.port, ctx.target.name
        ),
    };
    let mut objects = vec![me.clone()];
    for c in &refused {
        if let Some(pod) = &c.pod {
            let r = ObjectRef::new("Pod", ns, pod);
            if !objects.contains(&r) {
                objects.push(r);
            }
        }
    }
    out.finding(
        Code::EndpointRefused,
        if any_connected {
            Severity::Warning
        } else {
            Severity::Error
        },
        message,
        fix,
        objects,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::zone::tests::{state, svc};
    use crate::analysis::{Observations, Options, diagnose_observed};
    use crate::model::{
        Endpoint, EndpointPort, EndpointSlice, Kind, Report, ServicePort, TargetPort,
    };
    use ConnectionResult::{Connected, Refused, Timeout};

    fn ep(ip: &str, pod: &str, ready: bool) -> Endpoint {
        Endpoint {
            addresses: vec![ip.into()],
            ready: Some(ready),
            serving: Some(ready),
            terminating: None,
            hostname: None,
            pod: Some(pod.into()),
            node_name: None,
        }
    }

    fn slice(name: &str, port: Option<i32>, endpoints: Vec<Endpoint>) -> EndpointSlice {
        EndpointSlice {
            namespace: "default".into(),
            name: name.into(),
            service_name: Some("pay".into()),
            address_type: "IPv4".into(),
            ports: vec![EndpointPort {
                name: Some("http".into()),
                port,
                protocol: "TCP".into(),
            }],
            endpoints,
            from_endpoints: false,
        }
    }

    /// Service `pay` (10.96.0.20), port 80 named `http` → targetPort `web`,
    /// resolved to 8080 on pay-a and pay-b and to 9090 on pay-c; pay-d is
    /// not ready; a UDP port beside it.
    fn setup() -> (crate::model::ClusterState, Target) {
        let mut pay = svc("default", "pay", "10.96.0.20");
        pay.ports = vec![
            ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: TargetPort::Name("web".into()),
                protocol: "TCP".into(),
                node_port: None,
            },
            ServicePort {
                name: Some("dns".into()),
                port: 53,
                target_port: TargetPort::Number(53),
                protocol: "UDP".into(),
                node_port: None,
            },
        ];
        let mut st = state(vec![pay]);
        st.endpoint_slices = vec![
            slice(
                "pay-1",
                Some(8080),
                vec![
                    ep("10.0.0.2", "pay-b", true),
                    ep("10.0.0.1", "pay-a", true),
                    ep("10.0.0.4", "pay-d", false),
                ],
            ),
            slice("pay-2", Some(9090), vec![ep("10.0.0.3", "pay-c", true)]),
        ];
        st.coverage.add_all(Kind::EndpointSlice);
        st.coverage.add_all(Kind::Pod);
        let t = Target {
            namespace: "default".into(),
            name: "pay".into(),
        };
        (st, t)
    }

    fn plan_words(plans: &[ConnectPlan]) -> Vec<String> {
        plans
            .iter()
            .map(|p| {
                format!(
                    "{} {}:{} {}",
                    p.target.as_str(),
                    p.address,
                    p.port,
                    p.pod.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn plans_the_cluster_ip_and_each_ready_endpoint_on_its_own_port() {
        let (st, t) = setup();
        let plans = plan_connects(&st, &t);
        assert_eq!(
            plan_words(&plans),
            [
                "service 10.96.0.20:80 -",
                "endpoint 10.0.0.1:8080 pay-a",
                "endpoint 10.0.0.2:8080 pay-b",
                "endpoint 10.0.0.3:9090 pay-c",
            ],
            "TCP only, ready only, named ports per slice, ordered by pod"
        );
        assert!(plans.iter().all(|p| p.service_port == 80));

        // Headless: the endpoints only. ExternalName: nothing.
        let (mut st, t) = setup();
        st.services[0].headless = true;
        st.services[0].cluster_ips.clear();
        let plans = plan_connects(&st, &t);
        assert_eq!(plans.len(), 3);
        assert!(plans.iter().all(|p| p.target == ConnectionTarget::Endpoint));
        st.services[0].type_ = ServiceType::ExternalName;
        assert!(plan_connects(&st, &t).is_empty());

        // A slice whose port is not resolved (no pod has it) adds nothing.
        let (mut st, t) = setup();
        st.endpoint_slices[1].ports[0].port = None;
        assert_eq!(plan_connects(&st, &t).len(), 3);
        let missing = Target {
            namespace: "default".into(),
            name: "nope".into(),
        };
        assert!(plan_connects(&st, &missing).is_empty());
    }

    #[test]
    fn endpoints_per_port_are_capped() {
        let (mut st, t) = setup();
        st.endpoint_slices[0].endpoints = (0..40)
            .map(|i| ep(&format!("10.0.1.{i}"), &format!("p{i:02}"), true))
            .collect();
        let plans = plan_connects(&st, &t);
        let endpoints = plans
            .iter()
            .filter(|p| p.target == ConnectionTarget::Endpoint)
            .count();
        assert_eq!(endpoints, MAX_ENDPOINTS_PER_PORT);
    }

    /// The planned connections with these results, from namespace default.
    fn run(results: &[ConnectionResult]) -> Report {
        let (st, t) = setup();
        let plans = plan_connects(&st, &t);
        assert_eq!(plans.len(), results.len());
        let connections = plans
            .iter()
            .zip(results)
            .map(|(p, r)| Connection {
                from: "default".into(),
                address: p.address.clone(),
                port: u16::try_from(p.port).unwrap(),
                service_port: p.service_port,
                target: p.target,
                pod: p.pod.clone(),
                result: *r,
                detail: "what the tool said".into(),
            })
            .collect();
        let obs = Observations {
            connections: Some(connections),
            ..Observations::default()
        };
        let opts = Options::default();
        let facts = crate::analysis::Facts::compute(&st, &opts);
        diagnose_observed(&st, &facts, &t, &opts, &obs)
    }

    fn findings(r: &Report, code: Code) -> Vec<(Severity, String, String)> {
        r.findings
            .iter()
            .filter(|f| f.code == code)
            .map(|f| (f.severity, f.message.clone(), f.fix.clone()))
            .collect()
    }

    #[test]
    fn endpoints_answer_but_the_cluster_ip_does_not() {
        // Every endpoint connects, the ClusterIP times out: an error.
        let r = run(&[Timeout, Connected, Connected, Connected]);
        let f = findings(&r, Code::ServiceProxyNotRouting);
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        let (sev, msg, fix) = &f[0];
        assert_eq!(*sev, Severity::Error);
        assert!(
            msg.starts_with("from namespace default, the ClusterIP 10.96.0.20:80 timed out (what the tool said) while 3 of 3 ready endpoint(s) connect directly (10.0.0.1:8080 (pay-a), 10.0.0.2:8080 (pay-b), 10.0.0.3:9090 (pay-c))"),
            "{msg}"
        );
        assert!(fix.contains("kubectl -n kube-system get daemonsets"));
        assert!(fix.contains("NetworkPolicy is not the cause"));
        assert!(findings(&r, Code::EndpointRefused).is_empty());
        assert_eq!(r.connections.as_ref().map(Vec::len), Some(4));

        // Refused at the ClusterIP while no endpoint refuses: an error too.
        let r = run(&[Refused, Connected, Timeout, Connected]);
        let f = findings(&r, Code::ServiceProxyNotRouting);
        assert_eq!(f[0].0, Severity::Error, "{:?}", f);

        // An endpoint timed out like the ClusterIP: a working proxy may
        // have picked it, so only a warning, naming it.
        let r = run(&[Timeout, Connected, Timeout, Connected]);
        let f = findings(&r, Code::ServiceProxyNotRouting);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, Severity::Warning);
        assert!(
            f[0].1.contains("but 10.0.0.2:8080 (pay-b) timed out too"),
            "{}",
            f[0].1
        );

        // No endpoint connects: not this split.
        let r = run(&[Timeout, Timeout, Timeout, Timeout]);
        assert!(findings(&r, Code::ServiceProxyNotRouting).is_empty());
        // Everything connects: nothing to say.
        let r = run(&[Connected, Connected, Connected, Connected]);
        assert!(
            r.findings
                .iter()
                .all(|f| !matches!(f.code, Code::ServiceProxyNotRouting | Code::EndpointRefused))
        );
    }

    #[test]
    fn endpoints_that_refuse_are_named_with_their_port() {
        // One of three refuses: a warning naming pay-c and 9090.
        let r = run(&[Connected, Connected, Connected, Refused]);
        let f = findings(&r, Code::EndpointRefused);
        assert_eq!(f.len(), 1);
        let (sev, msg, fix) = &f[0];
        assert_eq!(*sev, Severity::Warning);
        assert!(
            msg.starts_with("from namespace default, 1 endpoint(s) of Service port 80 refuse TCP on their target port 9090: 10.0.0.3:9090 (pay-c): nothing listens there"),
            "{msg}"
        );
        assert!(msg.contains("other endpoints connect"), "{msg}");
        assert!(
            fix.contains("`kubectl -n default exec pay-c -- ss -ltn`"),
            "{fix}"
        );
        assert!(fix.contains("describe pod pay-c"));
        assert!(findings(&r, Code::ServiceProxyNotRouting).is_empty());
        let objects = &r
            .findings
            .iter()
            .find(|f| f.code == Code::EndpointRefused)
            .unwrap()
            .objects;
        assert!(objects.iter().any(|o| o.kind == "Pod" && o.name == "pay-c"));

        // None connects: an error, every refusing pod named once.
        let r = run(&[Timeout, Refused, Refused, Refused]);
        let f = findings(&r, Code::EndpointRefused);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, Severity::Error);
        assert!(
            f[0].1.contains(
                "3 endpoint(s) of Service port 80 refuse TCP on their target port 8080, 9090"
            ),
            "{}",
            f[0].1
        );
        assert!(f[0].1.ends_with("; no endpoint connects"), "{}", f[0].1);
        assert!(findings(&r, Code::ServiceProxyNotRouting).is_empty());
    }

    #[test]
    fn no_connections_no_findings_and_null_in_the_report() {
        let (st, t) = setup();
        let opts = Options::default();
        let facts = crate::analysis::Facts::compute(&st, &opts);
        let r = diagnose_observed(&st, &facts, &t, &opts, &Observations::default());
        assert!(r.connections.is_none());
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["connections"].is_null());
    }

    /// A report with connections matches docs/report.schema.json.
    #[test]
    fn reports_with_connections_match_the_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let r = run(&[Timeout, Connected, Refused, Connected]);
        let v = serde_json::to_value(&r).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(v["connections"][0]["target"], "service");
        assert!(v["connections"][0]["pod"].is_null());
        assert_eq!(v["connections"][2]["result"], "refused");
        assert_eq!(v["connections"][2]["pod"], "pay-b");
        assert_eq!(v["connections"][2]["service_port"], 80);
    }
}
