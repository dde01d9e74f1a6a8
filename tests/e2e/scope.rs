//! The scope read of a scan (`source::read_scope`) against the live cluster:
//! the same reports as the single-Service read, a constant number of
//! requests, and pagination.

use serde_json::Value;
use svcdiscover::analysis::{self, Options, Target};
use svcdiscover::cli::KubeArgs;
use svcdiscover::model::Kind;
use svcdiscover::source::{self, ScanScope};

use crate::cluster::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// A client of the test cluster, as `user` in `group` when given.
fn client(
    c: &Cluster,
    rt: &tokio::runtime::Runtime,
    as_user: Option<(&str, &str)>,
) -> kube::Client {
    let args = KubeArgs {
        kubeconfig: Some(c.kubeconfig.clone().into()),
        as_user: as_user.map(|(u, _)| u.to_owned()),
        as_group: as_user.map(|(_, g)| vec![g.to_owned()]).unwrap_or_default(),
        ..KubeArgs::default()
    };
    rt.block_on(source::live::client(&args)).unwrap().0
}

fn scope(ns: Option<&str>) -> ScanScope {
    ScanScope {
        namespace: ns.map(str::to_owned),
        selector: None,
        context_namespace: None,
        clients: Vec::new(),
    }
}

fn report(state: &svcdiscover::model::ClusterState, t: &Target) -> Value {
    serde_json::to_value(analysis::diagnose(state, t, &Options::default())).unwrap()
}

/// The top-level fields of two reports that differ.
fn differing(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The `not_checked` entries a namespace scan leaves that the single read
/// does not: pods of other namespaces are read per Service there (label
/// selected, when the selector matches nothing), which a scan of one
/// namespace does not do.
/// The namespaces of the scenario (tests/cluster/scenarios): nothing changes
/// their Services during a run. Other tests create and delete namespaces of
/// their own while these run, so a comparison of scanned and single runs
/// over the whole cluster keeps to these.
fn scenario_namespace(ns: &str) -> bool {
    matches!(
        ns,
        "default" | "client" | "trouble" | "restricted" | "kube-system" | "kube-public"
    )
}

fn scope_only_gap(n: &Value) -> bool {
    n["check"] == "selected pods in other namespaces"
}

pub fn every_service_of_a_scope_is_diagnosed_as_the_single_read_diagnoses_it(c: &Cluster) {
    let rt = runtime();
    let kc = client(c, &rt, None);
    for ns in [Some("default"), None] {
        let read = rt
            .block_on(source::read_scope(kc.clone(), &scope(ns), None))
            .unwrap();
        assert!(read.state.failures.is_empty(), "{:?}", read.state.failures);
        let in_scope = |t: &Target| ns.is_none_or(|n| t.namespace == n);
        assert!(read.targets.iter().all(in_scope), "{:?}", read.targets);
        assert!(
            read.targets
                .iter()
                .any(|t| t.name == "service-pay-v1" && t.namespace == "default")
        );
        if ns.is_none() {
            assert!(read.targets.iter().any(|t| t.name == "kube-dns"));
            assert!(read.targets.iter().any(|t| t.namespace == "trouble"));
        }
        let mut scope_state = read.state;
        for t in read
            .targets
            .iter()
            .filter(|t| scenario_namespace(&t.namespace))
        {
            // The cluster moves (a crash-looping pod restarts, events come):
            // read both again before calling a difference one.
            let mut diff = Vec::new();
            for attempt in 0..3 {
                if attempt > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    scope_state = rt
                        .block_on(source::read_scope(kc.clone(), &scope(ns), None))
                        .unwrap()
                        .state;
                }
                let single = rt
                    .block_on(source::live::read(kc.clone(), t, &[], None))
                    .unwrap();
                let mut a = report(&scope_state, t);
                let b = report(&single, t);
                if ns.is_some() {
                    let gaps = a["not_checked"].as_array_mut().unwrap();
                    gaps.retain(|n| !scope_only_gap(n));
                }
                diff = differing(&a, &b)
                    .into_iter()
                    .map(|k| format!("{k}:\n scope  {}\n single {}", a[&k], b[&k]))
                    .collect();
                if diff.is_empty() {
                    break;
                }
            }
            assert!(
                diff.is_empty(),
                "{}/{} in scope {ns:?}:\n{}",
                t.namespace,
                t.name,
                diff.join("\n")
            );
        }
    }
}

/// A group of our own bound to the read-only e2e-viewer role, to tell this
/// test's requests apart in the audit log by the impersonated user.
fn viewer_group(c: &Cluster, tag: &str) -> String {
    let group = format!("e2e-scope-{tag}-{}", std::process::id());
    let binding = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {group}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: e2e-viewer\nsubjects:\n- kind: Group\n  name: {group}\n  apiGroup: rbac.authorization.k8s.io\n"
    );
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &binding);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let waiter = format!("{group}-waiter");
    let ready = (0..40).any(|_| {
        let ok = c
            .kubectl(&[
                "auth",
                "can-i",
                "list",
                "daemonsets.apps",
                "-A",
                "--as",
                &waiter,
                "--as-group",
                &group,
            ])
            .stdout
            .trim()
            == "yes";
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        ok
    });
    assert!(ready, "the binding never took effect");
    group
}

/// The request URIs the audit log holds for `user`, once `at_least` are there.
fn requests_of(c: &Cluster, user: &str, at_least: usize) -> Vec<(String, String)> {
    let mut events: Vec<Value> = Vec::new();
    for _ in 0..20 {
        let log = std::fs::read_to_string(&c.audit_log).unwrap();
        events = log
            .lines()
            .filter(|l| l.contains(user))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| {
                e["impersonatedUser"]["username"] == user && e["stage"] == "ResponseComplete"
            })
            .collect();
        if events.len() >= at_least {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    events
        .iter()
        .map(|e| {
            (
                e["verb"].as_str().unwrap().to_owned(),
                e["requestURI"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn a_scope_read_makes_a_constant_number_of_requests(c: &Cluster) {
    let group = viewer_group(c, "count");
    let rt = runtime();
    // Every namespace: 10 lists and gets, however many Services there are.
    //   list services, endpointslices, pods, events (type=Warning),
    //   deployments, statefulsets, daemonsets, networkpolicies (all
    //   namespaces), list namespaces, get configmaps/coredns in kube-system.
    // One namespace: 16.
    //   list services (all namespaces, for name shadowing); list services,
    //   endpointslices, pods, events, deployments, statefulsets, daemonsets,
    //   networkpolicies in it; list namespaces; in kube-system list
    //   networkpolicies, get services/kube-dns, list its endpointslices and
    //   the CoreDNS pods (label selected), get configmaps/coredns and
    //   daemonsets/node-local-dns.
    for (ns, expected) in [(None, 10), (Some("default"), 16)] {
        let user = format!("{group}-{}", ns.unwrap_or("all"));
        let kc = client(c, &rt, Some((&user, &group)));
        let read = rt
            .block_on(source::read_scope(kc, &scope(ns), None))
            .unwrap();
        assert!(read.state.failures.is_empty(), "{:?}", read.state.failures);
        assert!(read.targets.len() >= 3, "{:?}", read.targets);
        let reqs = requests_of(c, &user, expected);
        assert_eq!(reqs.len(), expected, "requests of scope {ns:?}: {reqs:#?}");
        assert!(
            reqs.iter().all(|(verb, _)| verb == "list" || verb == "get"),
            "read-only: {reqs:#?}"
        );
        // No request names a Service or a pod of the scope.
        assert!(
            reqs.iter().all(|(verb, uri)| verb == "list"
                || uri.starts_with("/api/v1/namespaces/kube-system/")
                || uri.starts_with("/apis/apps/v1/namespaces/kube-system/")),
            "{reqs:#?}"
        );
        assert!(
            reqs.iter()
                .filter(|(verb, _)| verb == "list")
                .all(|(_, uri)| uri.contains("limit=500")),
            "paginated: {reqs:#?}"
        );
    }
    let _ = c.kubectl(&["delete", "clusterrolebinding", &group]);
}

pub fn a_scope_with_more_services_than_a_page_is_read_page_by_page(c: &Cluster) {
    const SERVICES: usize = 7;
    const PAGE: u32 = 2;
    let ns = format!("e2e-scope-pages-{}", std::process::id());
    let mut manifest = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: {ns}\n"
    );
    for i in 0..SERVICES {
        manifest.push_str(&format!(
            "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: page-{i}\n    namespace: {ns}\n    labels:\n      e2e-scope: pages\n  spec:\n    clusterIP: None\n    selector:\n      app: page-{i}\n    ports:\n    - port: 80\n"
        ));
    }
    let r = c.kubectl_stdin(&["apply", "-f", "-"], &manifest);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Other tests create and delete Services meanwhile: the Services that
    // exist both before and after the read must all have been read.
    let services_now = || -> std::collections::BTreeSet<(String, String)> {
        let r = c.kubectl(&[
            "get",
            "services",
            "-A",
            "--no-headers",
            "-o",
            "custom-columns=NS:.metadata.namespace,NAME:.metadata.name",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
            .lines()
            .filter_map(|l| l.split_once(char::is_whitespace))
            .map(|(ns, name)| (ns.to_owned(), name.trim().to_owned()))
            .collect()
    };
    let before = services_now();
    let group = viewer_group(c, "pages");
    let rt = runtime();
    let user = format!("{group}-reader");
    let kc = client(c, &rt, Some((&user, &group)));
    let read = rt.block_on(source::read_scope_paged(
        kc,
        &ScanScope {
            namespace: Some(ns.clone()),
            selector: Some("e2e-scope=pages".to_owned()),
            context_namespace: None,
            clients: Vec::new(),
        },
        None,
        PAGE,
    ));
    let after = services_now();
    let reqs = requests_of(c, &user, 14);
    let _ = c.kubectl(&["delete", "clusterrolebinding", &group]);
    let _ = c.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
    let read = read.unwrap();
    assert!(read.state.failures.is_empty(), "{:?}", read.state.failures);
    let mut names: Vec<&str> = read.targets.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    let expected: Vec<String> = (0..SERVICES).map(|i| format!("page-{i}")).collect();
    assert_eq!(names, expected, "every Service, once");
    // The selected Services of the namespace: 7 in pages of 2.
    let pages = reqs
        .iter()
        .filter(|(_, uri)| {
            uri.starts_with(&format!("/api/v1/namespaces/{ns}/services?"))
                && uri.contains("limit=2")
        })
        .count();
    assert_eq!(pages, SERVICES.div_ceil(PAGE as usize), "{reqs:#?}");
    assert_eq!(
        reqs.iter()
            .filter(|(_, uri)| uri.contains("continue="))
            .filter(|(_, uri)| uri.contains(&format!("/namespaces/{ns}/services")))
            .count(),
        pages - 1,
        "{reqs:#?}"
    );
    // The cluster-wide Service list has more than a page too, and all of it
    // was read.
    let stable: Vec<&(String, String)> = before.intersection(&after).collect();
    assert!(stable.len() > PAGE as usize, "{stable:?}");
    let read_names: std::collections::BTreeSet<(String, String)> = read
        .state
        .services
        .iter()
        .map(|s| (s.namespace.clone(), s.name.clone()))
        .collect();
    let unread: Vec<_> = stable
        .iter()
        .filter(|k| !read_names.contains(**k))
        .collect();
    assert!(unread.is_empty(), "not read: {unread:?}");
}

pub fn a_user_who_may_read_part_of_the_scope_gets_the_gaps_recorded(c: &Cluster) {
    // e2e-no-pods may read Services, EndpointSlices and Events in `default`
    // only: no pods, nothing cluster-wide.
    let rt = runtime();
    let args = KubeArgs {
        kubeconfig: Some(c.kubeconfig.clone().into()),
        as_user: Some("e2e-no-pods".to_owned()),
        ..KubeArgs::default()
    };
    let kc = rt.block_on(source::live::client(&args)).unwrap().0;
    let read = rt
        .block_on(source::read_scope(
            kc.clone(),
            &scope(Some("default")),
            None,
        ))
        .unwrap();
    let failed = |kind: Kind, ns: Option<&str>| {
        read.state
            .failures
            .iter()
            .find(|f| f.kind == kind && f.namespace.as_deref() == ns)
            .map(|f| (f.forbidden, f.required))
    };
    assert!(read.targets.iter().any(|t| t.name == "service-pay-v1"));
    assert!(read.state.coverage.covers(Kind::Service, "default"));
    assert!(read.state.coverage.covers(Kind::EndpointSlice, "default"));
    assert_eq!(failed(Kind::Pod, Some("default")), Some((true, true)));
    assert_eq!(failed(Kind::Service, None), Some((true, false)));
    assert_eq!(failed(Kind::Namespace, None), Some((true, false)));
    assert!(!read.state.coverage.covers(Kind::Pod, "default"));
    // The diagnosis names the missing permission, as for a single read.
    let t = Target {
        namespace: "default".to_owned(),
        name: "service-pay-v1".to_owned(),
    };
    let r = report(&read.state, &t);
    assert_eq!(r["verdict"], "unknown", "{}", r["verdict_reason"]);
    assert!(
        r["not_checked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["needs"] == "RBAC: list pods in namespace default"),
        "{}",
        r["not_checked"]
    );

    // Every namespace: the Service list itself is forbidden.
    let all = rt
        .block_on(source::read_scope(kc, &scope(None), None))
        .unwrap();
    assert!(all.targets.is_empty());
    assert!(
        all.state
            .failures
            .iter()
            .any(|f| f.kind == Kind::Service && f.namespace.is_none() && f.forbidden && f.required)
    );
}

/// The tests of this module, for the harness in main.rs.
/// The binary's live scan: `-A`, `--all -n`, `-l`; each report is the
/// single-Service run's (without the probe: a scan probes only when asked), the
/// cluster-wide findings once in the summary, the exit code the worst
/// verdict's.
pub fn the_live_scan_reports_each_service_as_a_single_run_does(c: &Cluster) {
    let all = c.diagnose(&["-A"], 1);
    assert_eq!(all["kind"], "Scan");
    assert_eq!(all["verdict"], "unreachable");
    assert!(all["summary"]["namespace"].is_null());
    let reports = all["reports"].as_array().unwrap();
    let services = c.kubectl(&[
        "get",
        "services",
        "-A",
        "-o",
        "jsonpath={range .items[*]}{.metadata.namespace}{\"\\n\"}{end}",
    ]);
    assert_eq!(services.code, 0, "{}", services.stderr);
    let in_scenario = |ns: &str| scenario_namespace(ns);
    assert_eq!(
        reports
            .iter()
            .filter(|r| in_scenario(r["service"]["namespace"].as_str().unwrap()))
            .count(),
        services.stdout.lines().filter(|ns| in_scenario(ns)).count(),
        "every Service of the scenario's namespaces"
    );
    let cluster = all["summary"]["cluster_findings"].as_array().unwrap();
    for r in reports {
        let ns = r["service"]["namespace"].as_str().unwrap();
        if !in_scenario(ns) {
            continue; // another test's namespace: it may change meanwhile
        }
        let name = r["service"]["name"].as_str().unwrap();
        let code = match r["verdict"].as_str().unwrap() {
            "unreachable" => 1,
            "unknown" => 3,
            _ => 0,
        };
        let one = c.diagnose(&[name, "-n", ns, "--no-probe"], code);
        for field in [
            "verdict",
            "verdict_reason",
            "service",
            "endpoints",
            "name_forms",
        ] {
            assert_eq!(r[field], one[field], "{ns}/{name}: {field}");
        }
        let single: Vec<&Value> = one["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !cluster.contains(f))
            .collect();
        let scanned: Vec<&Value> = r["findings"].as_array().unwrap().iter().collect();
        assert_eq!(scanned, single, "{ns}/{name}: findings");
    }
    // One namespace, and a selector.
    let trouble = c.diagnose(&["--all", "-n", "trouble"], 1);
    assert_eq!(trouble["summary"]["services"], 3);
    assert!(
        trouble["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["service"]["namespace"] == "trouble")
    );
    let k = c.diagnose(&["-A", "-l", "provider=kubernetes"], 0);
    assert_eq!(k["summary"]["services"], 1);
    assert_eq!(k["reports"][0]["service"]["name"], "kubernetes");
}

pub const TESTS: &[Test] = &[
    (
        "the_live_scan_reports_each_service_as_a_single_run_does",
        the_live_scan_reports_each_service_as_a_single_run_does,
    ),
    (
        "every_service_of_a_scope_is_diagnosed_as_the_single_read_diagnoses_it",
        every_service_of_a_scope_is_diagnosed_as_the_single_read_diagnoses_it,
    ),
    (
        "a_scope_read_makes_a_constant_number_of_requests",
        a_scope_read_makes_a_constant_number_of_requests,
    ),
    (
        "a_scope_with_more_services_than_a_page_is_read_page_by_page",
        a_scope_with_more_services_than_a_page_is_read_page_by_page,
    ),
    (
        "a_user_who_may_read_part_of_the_scope_gets_the_gaps_recorded",
        a_user_who_may_read_part_of_the_scope_gets_the_gaps_recorded,
    ),
];
