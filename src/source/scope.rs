//! Live source for a scan: reads a whole scope (one namespace, or every
//! namespace) once, so that every Service in it can be diagnosed from the
//! same [`ClusterState`].
//!
//! Each kind the analysis of a Service uses is listed once for the scope,
//! page by page (`limit` and `continue`), at most [`IN_FLIGHT`] lists at a
//! time: no request per Service and none per pod. What was listed is
//! recorded in the coverage (cluster-wide for an all-namespaces list, per
//! namespace otherwise); what failed is recorded like the single-Service
//! read records it, so a user who may read only part of the scope gets a
//! partial state with the gaps named.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use super::wire::apps::{DaemonSet, Deployment, StatefulSet};
use super::wire::core::{ConfigMap, Event, Namespace, Pod, Service};
use super::wire::discovery::EndpointSlice;
use super::wire::networking::NetworkPolicy;
use futures::StreamExt;
use kube::Client;
use kube::api::ListParams;

use super::ScanScope;
use super::capture::Kept;
use super::convert;
use super::live::{Failed, Read, Reader, fatal, record};
use crate::analysis::Target;
use crate::error::Result;
use crate::model::{self, ClusterState, KUBE_DNS, KUBE_SYSTEM, Kind, SERVICE_NAME_LABEL, Workload};

/// Objects per page of a list.
pub const PAGE: u32 = 500;
/// Lists in flight at once.
pub const IN_FLIGHT: usize = 4;

/// What a scope read gives: the state, and the Services the scope holds
/// (those the selector chose), in the order the API listed them.
///
/// The state holds more Services than the scope: the name-shadowing check
/// of a Service needs the Services of every namespace, selected or not, so
/// the targets cannot be told from the state alone.
#[derive(Debug, Clone)]
pub struct ScopeRead {
    pub state: ClusterState,
    pub targets: Vec<Target>,
}

/// One request of a scope read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub kind: Kind,
    /// `None`: all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// A `get` of this object; a list otherwise.
    pub get: Option<&'static str>,
    /// `labelSelector`.
    pub labels: Option<String>,
    /// `fieldSelector`.
    pub fields: Option<&'static str>,
    /// The diagnosis of a Service in the scope cannot stand without it.
    pub required: bool,
    /// The Services of the scope (the user's selector applied).
    pub targets: bool,
    /// A label-selected read: the coverage is of this selection only.
    pub selection: Option<BTreeMap<String, String>>,
}

impl Request {
    fn list(kind: Kind, namespace: Option<&str>, required: bool) -> Request {
        Request {
            kind,
            namespace: namespace.map(str::to_owned),
            get: None,
            labels: None,
            fields: None,
            required,
            targets: false,
            selection: None,
        }
    }

    fn get(kind: Kind, namespace: &str, name: &'static str) -> Request {
        Request {
            get: Some(name),
            ..Request::list(kind, Some(namespace), false)
        }
    }

    fn selected(kind: Kind, namespace: &str, selection: BTreeMap<String, String>) -> Request {
        Request {
            labels: Some(model::selector_string(&selection)),
            selection: Some(selection),
            ..Request::list(kind, Some(namespace), false)
        }
    }

    fn verb(&self) -> &'static str {
        if self.get.is_some() { "get" } else { "list" }
    }

    /// `list pods (all namespaces) labelSelector=k8s-app=kube-dns`: for tests and logs.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.verb(), self.kind.resource());
        if let Some(name) = self.get {
            s.push('/');
            s.push_str(name);
        }
        match &self.namespace {
            Some(ns) => s.push_str(&format!(" in {ns}")),
            None if self.kind == Kind::Namespace => {}
            None => s.push_str(" (all namespaces)"),
        }
        if let Some(l) = &self.labels {
            s.push_str(&format!(" labelSelector={l}"));
        }
        if let Some(f) = self.fields {
            s.push_str(&format!(" fieldSelector={f}"));
        }
        if self.required {
            s.push_str(" [required]");
        }
        s
    }
}

/// The requests a scope read makes, in the order their results are applied.
///
/// The kinds the single-Service read (`live::read`) reads, listed for the
/// whole scope instead of for one Service: Services, EndpointSlices, Pods
/// (required, as the Service, its slices and its pods are there), Warning
/// Events, Deployments, StatefulSets, DaemonSets and Namespaces (optional),
/// and the cluster DNS objects of kube-system, read as that read reads them
/// unless a list of the scope already holds them.
pub(crate) fn plan(scope: &ScanScope) -> Vec<Request> {
    let ns = scope.namespace.as_deref();
    let mut reqs = Vec::new();
    // The name-shadowing check of a Service needs the Services of every
    // namespace (one of the same name elsewhere answers the short name
    // there), selected or not: listed cluster-wide and optional, as the
    // single-Service read does, unless the scope list is that list already.
    let unselected_everywhere = ns.is_none() && scope.selector.is_none();
    if !unselected_everywhere {
        reqs.push(Request::list(Kind::Service, None, false));
    }
    reqs.push(Request {
        labels: scope.selector.clone(),
        targets: true,
        ..Request::list(Kind::Service, ns, true)
    });
    reqs.push(Request::list(Kind::EndpointSlice, ns, true));
    reqs.push(Request::list(Kind::Pod, ns, true));
    reqs.push(Request {
        fields: Some("type=Warning"),
        ..Request::list(Kind::Event, ns, false)
    });
    // ReplicaSets are not read: pods name their Deployment through theirs.
    for kind in [Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet] {
        reqs.push(Request::list(kind, ns, false));
    }
    reqs.push(Request::list(Kind::Namespace, None, false));
    // NetworkPolicies (optional): the scope's, and kube-system's for the
    // DNS pods' side of the DNS check.
    reqs.push(Request::list(Kind::NetworkPolicy, ns, false));
    if let Some(n) = ns {
        let mut others: Vec<&str> = std::iter::once(KUBE_SYSTEM)
            .chain(scope.clients.iter().map(String::as_str))
            .filter(|c| *c != n)
            .collect();
        others.sort_unstable();
        others.dedup();
        for other in others {
            reqs.push(Request::list(Kind::NetworkPolicy, Some(other), false));
        }
    }

    // The cluster DNS, unless the scope's lists hold it.
    let holds_dns = ns.is_none_or(|n| n == KUBE_SYSTEM);
    if !(holds_dns && scope.selector.is_none()) {
        reqs.push(Request::get(Kind::Service, KUBE_SYSTEM, KUBE_DNS));
    }
    if !holds_dns {
        reqs.push(Request::selected(
            Kind::EndpointSlice,
            KUBE_SYSTEM,
            [(SERVICE_NAME_LABEL.to_owned(), KUBE_DNS.to_owned())].into(),
        ));
        reqs.push(Request::selected(
            Kind::Pod,
            KUBE_SYSTEM,
            [(
                model::DNS_APP_LABEL.0.to_owned(),
                model::DNS_APP_LABEL.1.to_owned(),
            )]
            .into(),
        ));
    }
    reqs.push(Request::get(Kind::ConfigMap, KUBE_SYSTEM, "coredns"));
    if !holds_dns {
        reqs.push(Request::get(Kind::DaemonSet, KUBE_SYSTEM, "node-local-dns"));
    }
    reqs
}

/// What one request read, converted to the model.
enum Items {
    Services(Vec<model::Service>),
    Pods(Vec<model::Pod>),
    Slices(Vec<model::EndpointSlice>),
    Events(Vec<model::Event>),
    Workloads(Vec<Workload>),
    /// Names and labels.
    Namespaces(Vec<(String, BTreeMap<String, String>)>),
    ConfigMaps(Vec<model::ConfigMap>),
    /// A policy the API would refuse is skipped, not kept.
    Policies(Vec<Result<model::NetworkPolicy, model::SkippedObject>>),
}

/// Read the scope: every Service in it, and everything their diagnoses use.
/// A server that answers like no Kubernetes API server would is an error,
/// not a state.
pub async fn read_scope(
    client: Client,
    scope: &ScanScope,
    timeout: Option<Duration>,
) -> Result<ScopeRead> {
    read_scope_paged(client, scope, timeout, PAGE).await
}

/// [`read_scope`] with `page` objects per page.
pub async fn read_scope_paged(
    client: Client,
    scope: &ScanScope,
    timeout: Option<Duration>,
    page: u32,
) -> Result<ScopeRead> {
    read_scope_kept(client, scope, timeout, page, None).await
}

/// [`read_scope_paged`], keeping every object read in `kept` (for
/// `--save-snapshot`).
pub async fn read_scope_kept(
    client: Client,
    scope: &ScanScope,
    timeout: Option<Duration>,
    page: u32,
    kept: Option<Arc<Kept>>,
) -> Result<ScopeRead> {
    let r = Reader {
        client,
        timeout,
        kept,
    };
    let reqs = plan(scope);
    let results = fetch_all(&r, &reqs, page).await;
    if let Some(err) = fatal(results.iter().filter_map(|res| res.as_ref().err())) {
        return Err(err);
    }
    let mut done: Vec<(Request, Result<Items, Failed>)> = reqs.into_iter().zip(results).collect();
    fall_back(&r, scope, &mut done, page).await;
    if let Some(err) = fatal(done.iter().filter_map(|(_, res)| res.as_ref().err())) {
        return Err(err);
    }

    let mut state = ClusterState {
        origin: model::Origin::Live,
        ..ClusterState::default()
    };
    let mut targets = Vec::new();
    for (req, result) in done {
        let req = &req;
        let read = Read {
            verb: req.verb(),
            kind: req.kind,
            namespace: req.namespace.as_deref(),
            required: req.required,
        };
        record(&mut state, read, result, |st, items| {
            apply(st, req, items, &mut targets);
        });
    }
    Ok(ScopeRead { state, targets })
}

/// Issue `reqs`, at most [`IN_FLIGHT`] at a time; the results in their order.
async fn fetch_all(r: &Reader, reqs: &[Request], page: u32) -> Vec<Result<Items, Failed>> {
    let mut results: Vec<(usize, Result<Items, Failed>)> = futures::stream::iter(
        reqs.iter()
            .enumerate()
            .map(|(i, req)| async move { (i, fetch(r, req, page).await) }),
    )
    .buffer_unordered(IN_FLIGHT)
    .collect()
    .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, res)| res).collect()
}

/// An all-namespaces list the user may not make (403): list that kind per
/// namespace instead, in the namespaces the user may read.
///
/// The namespaces are those of the namespace list when it was read, else
/// the kubeconfig context's namespace alone (nothing else names them). The
/// Services come first; the other kinds are listed only in the namespaces
/// whose Services could be read (the others hold nothing to scan). With the
/// namespace list read, each namespace's outcome replaces the cluster-wide
/// failure; without it the cluster-wide failure stays, for the namespaces
/// that were not tried.
async fn fall_back(
    r: &Reader,
    scope: &ScanScope,
    done: &mut Vec<(Request, Result<Items, Failed>)>,
    page: u32,
) {
    let forbidden_everywhere = |(req, res): &(Request, Result<Items, Failed>)| {
        req.namespace.is_none()
            && req.get.is_none()
            && req.kind != Kind::Namespace
            && res.as_ref().is_err_and(|f| f.forbidden)
    };
    if scope.namespace.is_some() || !done.iter().any(forbidden_everywhere) {
        return;
    }
    let listed: Option<Vec<String>> = done.iter().find_map(|(req, res)| match res {
        Ok(Items::Namespaces(names)) if req.kind == Kind::Namespace => {
            Some(names.iter().map(|(n, _)| n.clone()).collect())
        }
        _ => None,
    });
    let namespaces: Vec<String> = match &listed {
        Some(names) => {
            let mut names = names.clone();
            names.sort();
            names
        }
        None => scope.context_namespace.iter().cloned().collect(),
    };
    tracing::debug!(
        namespaces = namespaces.len(),
        from_list = listed.is_some(),
        "an all-namespaces list is forbidden: listing per namespace"
    );
    let (failed, kept): (Vec<_>, Vec<_>) = std::mem::take(done)
        .into_iter()
        .partition(|d| forbidden_everywhere(d));
    *done = kept;
    let per_ns = |req: &Request, nss: &[String]| -> Vec<Request> {
        nss.iter()
            .map(|ns| Request {
                namespace: Some(ns.clone()),
                ..req.clone()
            })
            .collect()
    };
    // The Services of the scope first: they decide where the rest is read.
    let (services, others): (Vec<_>, Vec<_>) = failed.into_iter().partition(|(q, _)| q.targets);
    let mut readable = namespaces.clone();
    for (req, res) in services {
        let reqs = per_ns(&req, &namespaces);
        let results = fetch_all(r, &reqs, page).await;
        readable = reqs
            .iter()
            .zip(&results)
            .filter(|(_, res)| res.is_ok())
            .filter_map(|(q, _)| q.namespace.clone())
            .collect();
        if listed.is_none() {
            done.push((req, res));
        }
        done.extend(reqs.into_iter().zip(results));
    }
    for (req, res) in others {
        let reqs = per_ns(&req, &readable);
        let results = fetch_all(r, &reqs, page).await;
        if listed.is_none() {
            done.push((req, res));
        }
        done.extend(reqs.into_iter().zip(results));
    }
}

/// Store what `req` read, and the coverage it gives.
fn apply(st: &mut ClusterState, req: &Request, items: Items, targets: &mut Vec<Target>) {
    if req.targets
        && let Items::Services(svcs) = &items
    {
        targets.extend(svcs.iter().map(|s| Target {
            namespace: s.namespace.clone(),
            name: s.name.clone(),
        }));
    }
    match items {
        Items::Services(svcs) => {
            for s in svcs {
                // A Service read by a get or a selected list is known to exist.
                st.coverage.add_object(Kind::Service, &s.namespace, &s.name);
                if st.service(&s.namespace, &s.name).is_none() {
                    st.services.push(s);
                }
            }
        }
        Items::Pods(v) => st.pods.extend(v),
        Items::Slices(v) => st.endpoint_slices.extend(v),
        Items::Events(v) => st.events.extend(v),
        Items::Workloads(v) => st.workloads.extend(v),
        Items::Namespaces(v) => {
            for (name, labels) in v {
                st.namespace_labels.insert(&name, labels);
                st.namespaces.insert(name);
            }
        }
        Items::ConfigMaps(v) => st.config_maps.extend(v),
        Items::Policies(v) => {
            for p in v {
                match p {
                    Ok(p) => st.network_policies.push(p),
                    Err(s) => st.skipped.push(s),
                }
            }
        }
    }
    match (&req.namespace, req.get, &req.selection) {
        (Some(ns), Some(name), _) => st.coverage.add_object(req.kind, ns, name),
        (Some(ns), None, Some(sel)) => st.coverage.add_selection(req.kind, ns, sel),
        // The user's selector: only the Services it chose are known (above).
        _ if req.targets && req.labels.is_some() => {}
        (Some(ns), None, None) => st.coverage.add_namespace(req.kind, ns),
        (None, _, _) => st.coverage.add_all(req.kind),
    }
}

/// Issue one request, every page of it.
async fn fetch(r: &Reader, req: &Request, page: u32) -> Result<Items, Failed> {
    tracing::debug!("scope read: {}", req.describe());
    let ns = req.namespace.as_deref();
    if let (Some(ns), Some(name)) = (ns, req.get) {
        return Ok(match req.kind {
            Kind::Service => Items::Services(
                r.get::<Service>(ns, name)
                    .await?
                    .into_iter()
                    .map(convert::service)
                    .collect(),
            ),
            Kind::ConfigMap => Items::ConfigMaps(
                r.get::<ConfigMap>(ns, name)
                    .await?
                    .and_then(convert::config_map)
                    .into_iter()
                    .collect(),
            ),
            Kind::DaemonSet => Items::Workloads(
                r.get::<DaemonSet>(ns, name)
                    .await?
                    .into_iter()
                    .map(convert::daemon_set)
                    .collect(),
            ),
            other => {
                return Err(Failed::because(format!(
                    "no get of {} in a scope read",
                    other.resource()
                )));
            }
        });
    }
    let mut lp = ListParams::default();
    if let Some(l) = &req.labels {
        lp = lp.labels(l);
    }
    if let Some(f) = req.fields {
        lp = lp.fields(f);
    }
    let page = Some(page);
    Ok(match req.kind {
        Kind::Service => Items::Services(
            r.list_pages::<Service, _>(ns, &lp, page, convert::service)
                .await?,
        ),
        Kind::Pod => Items::Pods(r.list_pages::<Pod, _>(ns, &lp, page, convert::pod).await?),
        Kind::EndpointSlice => Items::Slices(
            r.list_pages::<EndpointSlice, _>(ns, &lp, page, convert::endpoint_slice)
                .await?,
        ),
        Kind::Event => Items::Events(
            r.list_pages::<Event, _>(ns, &lp, page, convert::core_event)
                .await?,
        ),
        Kind::Deployment => Items::Workloads(
            r.list_pages::<Deployment, _>(ns, &lp, page, convert::deployment)
                .await?,
        ),
        Kind::StatefulSet => Items::Workloads(
            r.list_pages::<StatefulSet, _>(ns, &lp, page, convert::stateful_set)
                .await?,
        ),
        Kind::DaemonSet => Items::Workloads(
            r.list_pages::<DaemonSet, _>(ns, &lp, page, convert::daemon_set)
                .await?,
        ),
        Kind::Namespace => Items::Namespaces(
            r.list_pages::<Namespace, _>(None, &lp, page, convert::namespace)
                .await?
                .into_iter()
                .flatten()
                .collect(),
        ),
        Kind::NetworkPolicy => Items::Policies(
            r.list_pages::<NetworkPolicy, _>(ns, &lp, page, convert::network_policy_or_skipped)
                .await?,
        ),
        Kind::ConfigMap | Kind::ReplicaSet => {
            return Err(Failed::because(format!(
                "no list of {} in a scope read",
                req.kind.resource()
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::live::paginate;
    use super::*;

    fn scope(ns: Option<&str>, sel: Option<&str>) -> ScanScope {
        ScanScope {
            namespace: ns.map(str::to_owned),
            selector: sel.map(str::to_owned),
            context_namespace: None,
            clients: Vec::new(),
        }
    }

    fn described(s: &ScanScope) -> Vec<String> {
        plan(s).iter().map(Request::describe).collect()
    }

    #[test]
    fn every_namespace_is_ten_lists_and_gets() {
        assert_eq!(
            described(&scope(None, None)),
            [
                "list services (all namespaces) [required]",
                "list endpointslices.discovery.k8s.io (all namespaces) [required]",
                "list pods (all namespaces) [required]",
                "list events (all namespaces) fieldSelector=type=Warning",
                "list deployments.apps (all namespaces)",
                "list statefulsets.apps (all namespaces)",
                "list daemonsets.apps (all namespaces)",
                "list namespaces",
                "list networkpolicies.networking.k8s.io (all namespaces)",
                "get configmaps/coredns in kube-system",
            ]
        );
    }

    #[test]
    fn a_selector_adds_the_unselected_service_list_for_shadowing() {
        let reqs = described(&scope(None, Some("tier in (web),app!=x")));
        assert_eq!(reqs.len(), 12);
        assert_eq!(reqs[0], "list services (all namespaces)");
        assert_eq!(
            reqs[1],
            "list services (all namespaces) labelSelector=tier in (web),app!=x [required]"
        );
        // The selected list may leave kube-dns out.
        assert!(reqs.contains(&"get services/kube-dns in kube-system".to_owned()));
    }

    #[test]
    fn one_namespace_reads_the_dns_objects_and_every_namespaces_services() {
        let reqs = described(&scope(Some("team"), None));
        assert_eq!(
            reqs,
            [
                "list services (all namespaces)",
                "list services in team [required]",
                "list endpointslices.discovery.k8s.io in team [required]",
                "list pods in team [required]",
                "list events in team fieldSelector=type=Warning",
                "list deployments.apps in team",
                "list statefulsets.apps in team",
                "list daemonsets.apps in team",
                "list namespaces",
                "list networkpolicies.networking.k8s.io in team",
                "list networkpolicies.networking.k8s.io in kube-system",
                "get services/kube-dns in kube-system",
                "list endpointslices.discovery.k8s.io in kube-system labelSelector=kubernetes.io/service-name=kube-dns",
                "list pods in kube-system labelSelector=k8s-app=kube-dns",
                "get configmaps/coredns in kube-system",
                "get daemonsets.apps/node-local-dns in kube-system",
            ]
        );
        // kube-system itself holds the DNS objects.
        let ks = described(&scope(Some(KUBE_SYSTEM), None));
        assert_eq!(ks.len(), 11, "{ks:#?}");
        assert!(!ks.iter().any(|r| r.contains("labelSelector")), "{ks:#?}");
    }

    #[test]
    fn client_namespaces_outside_the_scope_add_their_policy_lists() {
        let mut s = scope(Some("team"), None);
        s.clients = vec!["client".into(), "team".into(), "client".into()];
        let policy_lists: Vec<String> = described(&s)
            .into_iter()
            .filter(|r| r.starts_with("list networkpolicies"))
            .collect();
        assert_eq!(
            policy_lists,
            [
                "list networkpolicies.networking.k8s.io in team",
                "list networkpolicies.networking.k8s.io in client",
                "list networkpolicies.networking.k8s.io in kube-system",
            ]
        );
        // Every namespace: the one list holds them.
        let mut s = scope(None, None);
        s.clients = vec!["client".into()];
        assert_eq!(described(&s).len(), 10);
    }

    #[test]
    fn coverage_follows_the_scope_of_each_list() {
        let mut st = ClusterState::default();
        let mut targets = Vec::new();
        let svc = |ns: &str, name: &str| model::Service {
            namespace: ns.to_owned(),
            name: name.to_owned(),
            ..model::Service::default()
        };
        let reqs = plan(&scope(Some("team"), Some("app=web")));
        let selected = reqs.iter().find(|r| r.targets).unwrap();
        apply(
            &mut st,
            selected,
            Items::Services(vec![svc("team", "web")]),
            &mut targets,
        );
        assert_eq!(targets.len(), 1);
        assert!(st.coverage.covers_object(Kind::Service, "team", "web"));
        // A selected list says nothing of the Services it left out.
        assert!(!st.coverage.covers(Kind::Service, "team"));
        let pods = reqs
            .iter()
            .find(|r| r.kind == Kind::Pod && r.required)
            .unwrap();
        apply(&mut st, pods, Items::Pods(vec![]), &mut targets);
        assert!(st.coverage.covers(Kind::Pod, "team"));
        assert!(!st.coverage.covers(Kind::Pod, "other"));
        let all = reqs
            .iter()
            .find(|r| r.kind == Kind::Service && !r.targets)
            .unwrap();
        apply(
            &mut st,
            all,
            Items::Services(vec![svc("team", "web"), svc("other", "web")]),
            &mut targets,
        );
        assert!(st.coverage.covers_all(Kind::Service));
        assert_eq!(st.services.len(), 2, "no Service twice");
        assert_eq!(targets.len(), 1, "only the selected list names targets");
    }

    #[test]
    fn pages_are_fetched_until_the_continue_token_is_empty() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut seen: Vec<Option<String>> = Vec::new();
        let all = rt
            .block_on(paginate(|token| {
                seen.push(token.clone());
                let page = token.map_or(0, |t| t.parse::<u32>().unwrap());
                async move {
                    let items: Vec<u32> = (page * 3..(page * 3 + 3).min(8)).collect();
                    let next = (page < 2).then(|| (page + 1).to_string());
                    // The last page's token is empty, as the API sends it.
                    Ok((items, Some(next.unwrap_or_default())))
                }
            }))
            .unwrap_or_else(|f| panic!("{}", f.reason));
        assert_eq!(all, (0..8).collect::<Vec<_>>());
        assert_eq!(seen, [None, Some("1".to_owned()), Some("2".to_owned())]);
    }

    #[test]
    fn a_failed_page_fails_the_list() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let res = rt.block_on(paginate(|token| async move {
            match token {
                None => Ok((vec![1], Some("next".to_owned()))),
                Some(_) => Err(Failed::because("HTTP 410 Gone".to_owned())),
            }
        }));
        assert_eq!(
            res.err().map(|f| f.reason).as_deref(),
            Some("HTTP 410 Gone")
        );
    }
}
