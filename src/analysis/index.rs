//! Where the objects of a state are, by namespace and name: built once per
//! [`Facts`](super::Facts), so that a check of one Service looks at its
//! namespace's pods, its own EndpointSlices and its pods' events, not at
//! every object of the cluster (a scan of every Service stays linear).
//!
//! The index holds positions in the state's vectors, not references: it
//! lives in `Facts`, which outlives no state but borrows none either. Used
//! with another state than its own, lookups skip positions that state lacks
//! (no panic), but answer for the wrong objects: `Facts` must come from the
//! state diagnosed, as [`diagnose_with`](super::diagnose_with) requires.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::model::{ClusterState, EndpointSlice, Event, Kind, Pod, Service};

/// Positions of a state's objects, by namespace and name.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Service position by namespace and name: the first one listed, as
    /// [`ClusterState::service`] finds it.
    services: HashMap<String, HashMap<String, usize>>,
    /// Service positions by name, in state order.
    services_by_name: HashMap<String, Vec<usize>>,
    /// Service positions by namespace, in state order.
    services_by_namespace: HashMap<String, Vec<usize>>,
    /// Pod positions by namespace, in state order.
    pods: HashMap<String, Vec<usize>>,
    /// Pod positions by label key and value, in state order.
    pods_by_label: HashMap<String, HashMap<String, Vec<usize>>>,
    /// EndpointSlice positions by namespace and Service name, in state order.
    slices: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Positions of Warning events about a pod, by namespace and pod name.
    pod_warnings: HashMap<String, HashMap<String, Vec<usize>>>,
    /// Namespaces a Service or pod belongs to.
    seen_namespaces: HashSet<String>,
}

impl Index {
    /// One pass over the state's Services, pods, EndpointSlices and events.
    pub fn new(state: &ClusterState) -> Index {
        let mut ix = Index::default();
        for (i, s) in state.services.iter().enumerate() {
            ix.services
                .entry(s.namespace.clone())
                .or_default()
                .entry(s.name.clone())
                .or_insert(i);
            ix.services_by_name
                .entry(s.name.clone())
                .or_default()
                .push(i);
            ix.services_by_namespace
                .entry(s.namespace.clone())
                .or_default()
                .push(i);
        }
        for (i, p) in state.pods.iter().enumerate() {
            ix.pods.entry(p.namespace.clone()).or_default().push(i);
            for (k, v) in &p.labels {
                ix.pods_by_label
                    .entry(k.clone())
                    .or_default()
                    .entry(v.clone())
                    .or_default()
                    .push(i);
            }
        }
        ix.seen_namespaces.extend(ix.services.keys().cloned());
        ix.seen_namespaces.extend(ix.pods.keys().cloned());
        for (i, s) in state.endpoint_slices.iter().enumerate() {
            if let Some(svc) = &s.service_name {
                ix.slices
                    .entry(s.namespace.clone())
                    .or_default()
                    .entry(svc.clone())
                    .or_default()
                    .push(i);
            }
        }
        for (i, e) in state.events.iter().enumerate() {
            if e.type_ == "Warning" && e.object_kind == "Pod" {
                ix.pod_warnings
                    .entry(e.namespace.clone())
                    .or_default()
                    .entry(e.object_name.clone())
                    .or_default()
                    .push(i);
            }
        }
        ix
    }

    /// Service `namespace/name` (the first listed).
    pub fn service<'a>(
        &self,
        state: &'a ClusterState,
        namespace: &str,
        name: &str,
    ) -> Option<&'a Service> {
        let i = *self.services.get(namespace)?.get(name)?;
        state.services.get(i)
    }

    /// The Services named `name`, in every namespace.
    pub fn services_named<'a>(
        &'a self,
        state: &'a ClusterState,
        name: &str,
    ) -> impl Iterator<Item = &'a Service> + 'a {
        at(&state.services, self.services_by_name.get(name))
    }

    /// The Services of `namespace`.
    pub fn services_in<'a>(
        &'a self,
        state: &'a ClusterState,
        namespace: &str,
    ) -> impl Iterator<Item = &'a Service> + 'a {
        at(&state.services, self.services_by_namespace.get(namespace))
    }

    /// The pods of `namespace`.
    pub fn pods_in<'a>(
        &'a self,
        state: &'a ClusterState,
        namespace: &str,
    ) -> impl Iterator<Item = &'a Pod> + 'a {
        at(&state.pods, self.pods.get(namespace))
    }

    /// The pods of every namespace that `selector` selects (every pod for
    /// an empty one), in state order: those of its rarest pair, checked
    /// against the others.
    pub fn pods_selected<'a>(
        &'a self,
        state: &'a ClusterState,
        selector: &'a BTreeMap<String, String>,
    ) -> impl Iterator<Item = &'a Pod> + 'a {
        let positions: Box<dyn Iterator<Item = usize> + 'a> = if selector.is_empty() {
            Box::new(0..state.pods.len())
        } else {
            let rarest = selector
                .iter()
                .map(|(k, v)| {
                    self.pods_by_label
                        .get(k)
                        .and_then(|m| m.get(v))
                        .map_or(&[][..], Vec::as_slice)
                })
                .min_by_key(|p| p.len())
                .unwrap_or(&[]);
            Box::new(rarest.iter().copied())
        };
        positions
            .filter_map(|i| state.pods.get(i))
            .filter(move |p| p.matches(selector))
    }

    /// The EndpointSlices that belong to `svc`, as [`ClusterState::slices_of`].
    pub fn slices_of<'a>(
        &'a self,
        state: &'a ClusterState,
        svc: &Service,
    ) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
        let found = self
            .slices
            .get(&svc.namespace)
            .and_then(|m| m.get(&svc.name));
        at(&state.endpoint_slices, found)
    }

    /// The Warning events about `pod`, in state order.
    pub fn pod_warnings<'a>(
        &'a self,
        state: &'a ClusterState,
        pod: &Pod,
    ) -> impl Iterator<Item = &'a Event> + 'a {
        let found = self
            .pod_warnings
            .get(&pod.namespace)
            .and_then(|m| m.get(&pod.name));
        at(&state.events, found)
    }

    /// Whether `namespace` is known to exist, as
    /// [`ClusterState::namespace_exists`] tells, without a pass over the
    /// Services and pods.
    pub fn namespace_exists(&self, state: &ClusterState, namespace: &str) -> Option<bool> {
        if state.namespaces.contains(namespace) {
            return Some(true);
        }
        if state.coverage.covers_all(Kind::Namespace) {
            return Some(false);
        }
        self.seen_namespaces.contains(namespace).then_some(true)
    }

    /// As [`ClusterState::service_presence_known`].
    pub fn service_presence_known(
        &self,
        state: &ClusterState,
        namespace: &str,
        name: &str,
    ) -> bool {
        state.coverage.covers_object(Kind::Service, namespace, name)
            || (self.namespace_exists(state, namespace) == Some(false)
                && !self.services.contains_key(namespace))
    }
}

/// The objects of `all` at `positions` (none for `None`).
fn at<'a, T>(all: &'a [T], positions: Option<&'a Vec<usize>>) -> impl Iterator<Item = &'a T> + 'a {
    positions
        .into_iter()
        .flatten()
        .filter_map(move |&i| all.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Coverage, Event};

    fn state() -> ClusterState {
        let svc = |ns: &str, name: &str, ip: &str| Service {
            namespace: ns.into(),
            name: name.into(),
            cluster_ips: vec![ip.into()],
            ..Service::default()
        };
        let pod = |ns: &str, name: &str| Pod {
            namespace: ns.into(),
            name: name.into(),
            ..Pod::default()
        };
        let slice = |ns: &str, name: &str, svc: Option<&str>| EndpointSlice {
            namespace: ns.into(),
            name: name.into(),
            service_name: svc.map(str::to_owned),
            ..EndpointSlice::default()
        };
        let event = |ns: &str, type_: &str, kind: &str, name: &str, reason: &str| Event {
            namespace: ns.into(),
            type_: type_.into(),
            reason: reason.into(),
            message: String::new(),
            object_kind: kind.into(),
            object_name: name.into(),
            count: 1,
            last_seen: None,
        };
        ClusterState {
            services: vec![
                svc("a", "web", "10.0.0.1"),
                svc("b", "web", "10.0.0.2"),
                svc("a", "web", "10.0.0.3"),
                svc("a", "db", "10.0.0.4"),
            ],
            pods: vec![
                pod("a", "p1"),
                pod("b", "p2"),
                pod("a", "p3"),
                pod("c", "p4"),
            ],
            endpoint_slices: vec![
                slice("a", "web-1", Some("web")),
                slice("b", "web-1", Some("web")),
                slice("a", "web-2", Some("web")),
                slice("a", "x", None),
            ],
            events: vec![
                event("a", "Warning", "Pod", "p1", "BackOff"),
                event("a", "Normal", "Pod", "p1", "Pulled"),
                event("a", "Warning", "Service", "p1", "Other"),
                event("b", "Warning", "Pod", "p1", "Elsewhere"),
                event("a", "Warning", "Pod", "p1", "Unhealthy"),
            ],
            ..ClusterState::default()
        }
    }

    #[test]
    fn lookups_answer_as_the_scans_of_the_state_do() {
        let st = state();
        let ix = Index::new(&st);
        for (ns, name) in [("a", "web"), ("b", "web"), ("a", "db"), ("c", "web")] {
            assert_eq!(
                ix.service(&st, ns, name).map(|s| &s.cluster_ips),
                st.service(ns, name).map(|s| &s.cluster_ips),
                "{ns}/{name}"
            );
        }
        let names = |it: &mut dyn Iterator<Item = &Pod>| -> Vec<String> {
            it.map(|p| p.name.clone()).collect()
        };
        assert_eq!(names(&mut ix.pods_in(&st, "a")), ["p1", "p3"]);
        assert_eq!(names(&mut ix.pods_in(&st, "z")), Vec::<String>::new());
        for svc in &st.services {
            let indexed: Vec<&str> = ix.slices_of(&st, svc).map(|s| s.name.as_str()).collect();
            let scanned: Vec<&str> = st.slices_of(svc).map(|s| s.name.as_str()).collect();
            assert_eq!(indexed, scanned);
        }
        let reasons: Vec<&str> = ix
            .pod_warnings(&st, &st.pods[0])
            .map(|e| e.reason.as_str())
            .collect();
        assert_eq!(reasons, ["BackOff", "Unhealthy"]);
        let web: Vec<&str> = ix
            .services_named(&st, "web")
            .map(|s| s.namespace.as_str())
            .collect();
        assert_eq!(web, ["a", "b", "a"]);
        assert_eq!(ix.services_in(&st, "a").count(), 3);
    }

    #[test]
    fn namespaces_exist_as_the_state_says() {
        let mut st = state();
        let ix = Index::new(&st);
        for ns in ["a", "c", "z"] {
            assert_eq!(
                ix.namespace_exists(&st, ns),
                st.namespace_exists(ns),
                "{ns}"
            );
            assert_eq!(
                ix.service_presence_known(&st, ns, "web"),
                st.service_presence_known(ns, "web"),
                "{ns}"
            );
        }
        assert_eq!(ix.namespace_exists(&st, "c"), Some(true));
        assert_eq!(ix.namespace_exists(&st, "z"), None);
        st.namespaces = ["a".to_owned(), "q".to_owned()].into();
        st.coverage = Coverage::default();
        st.coverage.add_all(Kind::Namespace);
        for ns in ["a", "c", "q", "z"] {
            assert_eq!(
                ix.namespace_exists(&st, ns),
                st.namespace_exists(ns),
                "{ns}"
            );
            assert_eq!(
                ix.service_presence_known(&st, ns, "web"),
                st.service_presence_known(ns, "web"),
                "{ns}"
            );
        }
    }

    #[test]
    fn pods_selected_are_those_matching_every_pair_in_state_order() {
        let pod = |ns: &str, name: &str, labels: &[(&str, &str)]| Pod {
            namespace: ns.into(),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Pod::default()
        };
        let st = ClusterState {
            pods: vec![
                pod("a", "web-1", &[("app", "web"), ("tier", "front")]),
                pod("b", "web-2", &[("app", "web")]),
                pod("c", "web-3", &[("app", "web"), ("tier", "front")]),
                pod("a", "db", &[("app", "db"), ("tier", "front")]),
            ],
            ..ClusterState::default()
        };
        let ix = Index::new(&st);
        let names = |sel: &[(&str, &str)]| {
            let sel: BTreeMap<String, String> = sel
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            ix.pods_selected(&st, &sel)
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&[("app", "web")]), ["web-1", "web-2", "web-3"]);
        assert_eq!(
            names(&[("app", "web"), ("tier", "front")]),
            ["web-1", "web-3"]
        );
        assert_eq!(
            names(&[("app", "web"), ("tier", "back")]),
            Vec::<String>::new()
        );
        assert_eq!(names(&[("app", "none")]), Vec::<String>::new());
        assert_eq!(names(&[]).len(), 4, "an empty selector selects every pod");
    }
}
