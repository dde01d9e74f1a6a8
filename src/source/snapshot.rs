//! Offline source: cluster state from files.
//!
//! Reads `kubectl get … -o json|yaml` output (a `List`, typed lists such as
//! `PodList` whose items lack `kind`, single objects, multi-document YAML)
//! and `kubectl cluster-info dump` output, both as the `--output-directory`
//! tree and as the concatenated stdout stream with its log sections.
//!
//! Coverage rule (docs/snapshots.md): a kind counts as read in a namespace
//! only where the snapshot holds objects of that kind (or, in a dump tree,
//! that kind's file for the namespace); everything else is unknown, not empty.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::convert;
use crate::error::{Error, Result};
use crate::model::{ClusterState, Kind};

/// Read a snapshot: a file, `-` for stdin, or a directory (recursively).
pub fn load(path: &Path) -> Result<ClusterState> {
    let mut b = Builder::default();
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::SnapshotIo {
                path: PathBuf::from("<stdin>"),
                source,
            })?;
        b.add_text(Path::new("<stdin>"), &text)?;
    } else {
        let meta = std::fs::metadata(path).map_err(|source| Error::SnapshotIo {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            if files.is_empty() {
                return Err(Error::SnapshotParse {
                    path: path.to_owned(),
                    position: None,
                    message: "the directory holds no .json, .yaml or .yml file".to_owned(),
                });
            }
            for f in files {
                // A cluster-info dump tree: <dir>/<namespace>/<kind>.json.
                if let Some(ns) = f
                    .strip_prefix(path)
                    .ok()
                    .and_then(|rel| rel.parent())
                    .and_then(|p| p.to_str())
                    .filter(|p| !p.is_empty() && !p.contains('/'))
                    && crate::cli::is_dns1123_label(ns)
                {
                    b.dir_namespace = Some(ns.to_owned());
                } else {
                    b.dir_namespace = None;
                }
                b.add_file(&f)?;
            }
        } else {
            b.add_file(path)?;
        }
    }
    Ok(b.finish())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::SnapshotIo {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<std::io::Result<_>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let ft = e.file_type().map_err(io)?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            out.push(p);
        }
    }
    Ok(())
}

/// Collects objects and what the snapshot covers.
#[derive(Default)]
struct Builder {
    state: ClusterState,
    /// (kind, namespace) pairs the snapshot holds objects of: what it covers.
    seen: BTreeSet<(Kind, String)>,
    /// Namespaces with v1 Endpoints (the fallback for EndpointSlices).
    endpoints_seen: BTreeSet<String>,
    /// The snapshot lists Namespace objects.
    namespace_list: bool,
    /// The namespace directory of the current file in a cluster-info dump tree.
    dir_namespace: Option<String>,
    endpoints: Vec<crate::model::EndpointSlice>,
    seen_events: BTreeSet<(String, String, String, String, Option<String>)>,
}

impl Builder {
    fn add_file(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|source| Error::SnapshotIo {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| Error::SnapshotParse {
            path: path.to_owned(),
            position: None,
            message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?;
        self.add_text(path, &text)
    }

    fn add_text(&mut self, path: &Path, text: &str) -> Result<()> {
        let body = text.trim_start_matches('\u{feff}');
        let first = body.trim_start().chars().next();
        let docs = match first {
            None => Vec::new(),
            Some('{' | '[') => json_documents(path, body)?,
            Some(_) if body.starts_with("==== START logs") => json_documents(path, body)?,
            Some(_) => yaml_documents(path, body)?,
        };
        if docs.is_empty() {
            return Err(Error::SnapshotParse {
                path: path.to_owned(),
                position: None,
                message: "no Kubernetes object found (expected `kubectl get -o json|yaml` or `kubectl cluster-info dump` output)".to_owned(),
            });
        }
        for (i, doc) in docs.into_iter().enumerate() {
            self.add_value(path, i + 1, doc, None)?;
        }
        Ok(())
    }

    fn add_value(
        &mut self,
        path: &Path,
        doc: usize,
        mut v: Value,
        hint: Option<&str>,
    ) -> Result<()> {
        if v.is_null() {
            return Ok(());
        }
        let kind = v
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| hint.map(str::to_owned));
        let Some(kind) = kind else {
            return Ok(()); // not a Kubernetes object; ignored like unknown kinds
        };
        if let Some(item_kind) = kind.strip_suffix("List") {
            let items = match v.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(_) => {
                    return Err(parse_error(path, doc, &kind, "`items` is not a list"));
                }
            };
            let item_hint = (!item_kind.is_empty()).then_some(item_kind);
            // A dump tree's <ns>/<kind>.json covers that kind there, even empty.
            if let Some(ns) = self.dir_namespace.clone() {
                if let Some(k) = item_hint.and_then(known_kind) {
                    self.seen.insert((k, ns.clone()));
                }
                if item_kind == "Endpoints" {
                    self.endpoints_seen.insert(ns);
                }
            }
            for item in items {
                self.add_value(path, doc, item, item_hint)?;
            }
            return Ok(());
        }
        let api_version = v
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let namespace = v
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let s = &mut self.state;
        macro_rules! de {
            ($t:ty) => {
                serde_json::from_value::<$t>(v)
                    .map_err(|e| parse_error(path, doc, &kind, &e.to_string()))?
            };
        }
        match kind.as_str() {
            "Service" => s
                .services
                .push(convert::service(de!(k8s_openapi::api::core::v1::Service))),
            "Pod" => s
                .pods
                .push(convert::pod(de!(k8s_openapi::api::core::v1::Pod))),
            "EndpointSlice" => s.endpoint_slices.push(convert::endpoint_slice(de!(
                k8s_openapi::api::discovery::v1::EndpointSlice
            ))),
            "Endpoints" => {
                self.endpoints_seen
                    .insert(namespace.clone().unwrap_or_else(|| "default".to_owned()));
                self.endpoints.extend(convert::endpoints(de!(
                    k8s_openapi::api::core::v1::Endpoints
                )));
            }
            "Event" => {
                let e = if api_version.starts_with("events.k8s.io/") {
                    convert::events_event(de!(k8s_openapi::api::events::v1::Event))
                } else {
                    convert::core_event(de!(k8s_openapi::api::core::v1::Event))
                };
                // The same event may come through both Event APIs.
                let key = (
                    e.namespace.clone(),
                    e.object_name.clone(),
                    e.reason.clone(),
                    e.message.clone(),
                    e.last_seen.clone(),
                );
                if self.seen_events.insert(key) {
                    s.events.push(e);
                }
            }
            "Namespace" => {
                if let Some(n) = v.pointer("/metadata/name").and_then(Value::as_str) {
                    s.namespaces.insert(n.to_owned());
                    self.namespace_list = true;
                }
            }
            "ConfigMap" => {
                if let Some(cm) = convert::config_map(de!(k8s_openapi::api::core::v1::ConfigMap)) {
                    s.config_maps.push(cm);
                }
            }
            "Deployment" => s.workloads.push(convert::deployment(de!(
                k8s_openapi::api::apps::v1::Deployment
            ))),
            "StatefulSet" => s.workloads.push(convert::stateful_set(de!(
                k8s_openapi::api::apps::v1::StatefulSet
            ))),
            "DaemonSet" => s.workloads.push(convert::daemon_set(de!(
                k8s_openapi::api::apps::v1::DaemonSet
            ))),
            "ReplicaSet" => s.workloads.push(convert::replica_set(de!(
                k8s_openapi::api::apps::v1::ReplicaSet
            ))),
            _ => return Ok(()), // unknown kinds are ignored
        }
        if let (Some(k), Some(ns)) = (known_kind(&kind), namespace) {
            self.seen.insert((k, ns));
        }
        Ok(())
    }

    fn finish(mut self) -> ClusterState {
        // Without EndpointSlices (cluster-info dump has none), fall back to v1 Endpoints.
        let any_slices = self.seen.iter().any(|(k, _)| *k == Kind::EndpointSlice);
        if !any_slices && !self.endpoints_seen.is_empty() {
            self.state.endpoint_slices = std::mem::take(&mut self.endpoints);
            for ns in std::mem::take(&mut self.endpoints_seen) {
                self.seen.insert((Kind::EndpointSlice, ns));
            }
        }
        for (kind, ns) in &self.seen {
            self.state.coverage.add_namespace(*kind, ns);
        }
        if self.namespace_list {
            self.state.coverage.add_all(Kind::Namespace);
        }
        self.state
    }
}

fn known_kind(kind: &str) -> Option<Kind> {
    Some(match kind {
        "Service" => Kind::Service,
        "Pod" => Kind::Pod,
        "EndpointSlice" => Kind::EndpointSlice,
        "Event" => Kind::Event,
        "Namespace" => Kind::Namespace,
        "ConfigMap" => Kind::ConfigMap,
        "Deployment" => Kind::Deployment,
        "StatefulSet" => Kind::StatefulSet,
        "DaemonSet" => Kind::DaemonSet,
        "ReplicaSet" => Kind::ReplicaSet,
        _ => return None,
    })
}

fn parse_error(path: &Path, doc: usize, kind: &str, msg: &str) -> Error {
    Error::SnapshotParse {
        path: path.to_owned(),
        position: None,
        message: format!("document {doc}: a {kind} does not match the Kubernetes API: {msg}"),
    }
}

/// JSON documents of a file: one value, several concatenated values, or a
/// `kubectl cluster-info dump` stream whose log sections are skipped.
fn json_documents(path: &Path, text: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 1usize;
    let mut in_logs = false;
    while offset < text.len() {
        let rest = &text[offset..];
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = &rest[..line_end];
        let trimmed = line.trim_start();
        if in_logs {
            if trimmed.starts_with("==== END logs for") {
                in_logs = false;
            }
        } else if trimmed.starts_with("==== START logs for") {
            in_logs = true;
        } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            match stream.next() {
                Some(Ok(v)) => {
                    let consumed = stream.byte_offset();
                    line_no += rest[..consumed].matches('\n').count();
                    offset += consumed;
                    match v {
                        Value::Array(items) => docs.extend(items),
                        v => docs.push(v),
                    }
                    continue;
                }
                Some(Err(e)) => {
                    return Err(Error::SnapshotParse {
                        path: path.to_owned(),
                        position: Some((line_no + e.line() - 1, e.column())),
                        message: format!("invalid JSON: {}", strip_position(&e.to_string())),
                    });
                }
                None => {}
            }
        } else if !trimmed.is_empty() && docs.is_empty() {
            return Err(Error::SnapshotParse {
                path: path.to_owned(),
                position: Some((line_no, 1)),
                message: "expected a JSON object".to_owned(),
            });
        }
        line_no += 1;
        offset += line_end;
    }
    if in_logs {
        tracing::debug!("{}: log section without an END marker", path.display());
    }
    Ok(docs)
}

fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

fn yaml_documents(path: &Path, text: &str) -> Result<Vec<Value>> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| {
        let position = e.location().map(|l| {
            (
                usize::try_from(l.line()).unwrap_or(0),
                usize::try_from(l.column()).unwrap_or(0),
            )
        });
        let message = e.to_string();
        Error::SnapshotParse {
            path: path.to_owned(),
            position,
            message: format!(
                "invalid YAML: {}",
                message.lines().next().unwrap_or_default()
            ),
        }
    })
}
