//! Where cluster state comes from: the API server ([`live`]) or files
//! ([`snapshot`]). Both produce the same [`crate::model::ClusterState`]
//! through the same conversions ([`convert`]).

pub mod capture;
pub mod convert;
pub mod live;
mod node;
pub mod retry;
pub mod scope;
pub mod snapshot;
pub mod wire;

pub use scope::{ScopeRead, read_scope, read_scope_paged};

use crate::error::{Error, Result};
use crate::model::{ClusterState, Kind};

/// What a scan reads: one namespace or every namespace, and which Services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanScope {
    /// `None`: every namespace.
    pub namespace: Option<String>,
    /// `-l`: a label selector for the Services, in kubectl's syntax, passed
    /// to the API server as `labelSelector`.
    pub selector: Option<String>,
    /// The kubeconfig context's namespace: where a scan of every namespace
    /// falls back to when it may list neither a kind in every namespace nor
    /// the namespaces.
    pub context_namespace: Option<String>,
    /// The client namespaces named (`--from-namespace`, the `--from`
    /// pod's): their NetworkPolicies are read too, when outside the scope.
    pub clients: Vec<String>,
}

/// `--from-namespace` names a namespace the state shows does not exist: a
/// usage error naming those that do. When the namespace list is unknown (not
/// readable, or a capture without Namespace objects), there is nothing to say.
pub fn check_client_namespaces(state: &ClusterState, from: &[String]) -> Result<()> {
    if !state.coverage.covers_all(Kind::Namespace) {
        return Ok(());
    }
    let mut missing: Vec<&str> = Vec::new();
    for ns in from {
        if !state.namespaces.contains(ns) && !missing.contains(&ns.as_str()) {
            missing.push(ns);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    const MAX: usize = 10;
    // A BTreeSet: already sorted.
    let existing: Vec<&str> = state.namespaces.iter().map(String::as_str).collect();
    let listed = if existing.len() > MAX {
        format!(
            "{} and {} more",
            existing[..MAX].join(", "),
            existing.len() - MAX
        )
    } else {
        existing.join(", ")
    };
    let (noun, verb) = if missing.len() == 1 {
        ("namespace", "does")
    } else {
        ("namespaces", "do")
    };
    Err(Error::Usage(format!(
        "--from-namespace: {noun} {} {verb} not exist; the namespaces are: {}",
        missing.join(", "),
        if listed.is_empty() {
            "(none)".to_owned()
        } else {
            listed
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn with_namespaces(names: &[&str]) -> ClusterState {
        let mut state = ClusterState::default();
        state
            .namespaces
            .extend(names.iter().map(|s| (*s).to_owned()));
        state.coverage.add_all(Kind::Namespace);
        state
    }

    #[test]
    fn an_unknown_client_namespace_is_a_usage_error_naming_the_existing_ones() {
        let state = with_namespaces(&["kube-system", "default", "client"]);
        assert!(check_client_namespaces(&state, &from(&["client", "default"])).is_ok());
        let err = check_client_namespaces(&state, &from(&["client", "clinet"])).unwrap_err();
        assert!(matches!(err, Error::Usage(_)));
        assert_eq!(
            err.to_string(),
            "--from-namespace: namespace clinet does not exist; the namespaces are: client, default, kube-system"
        );
    }

    #[test]
    fn a_long_namespace_list_is_cut_at_ten() {
        let names: Vec<String> = (0..14).map(|i| format!("ns-{i:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let state = with_namespaces(&refs);
        let err = check_client_namespaces(&state, &from(&["nope", "gone"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("namespaces nope, gone do not exist"), "{err}");
        assert!(
            err.ends_with(
                "ns-00, ns-01, ns-02, ns-03, ns-04, ns-05, ns-06, ns-07, ns-08, ns-09 and 4 more"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_namespace_list_is_no_error() {
        // Namespaces seen on objects, but no list of them: not known to be complete.
        let mut state = ClusterState::default();
        state.namespaces.insert("default".to_owned());
        assert!(check_client_namespaces(&state, &from(&["elsewhere"])).is_ok());
    }
}
