//! `--save-snapshot FILE`: what a live run read, as one file that
//! `--snapshot FILE` reads back and diagnoses to the same report.
//!
//! The file is a `kubectl get -o json`-style `List` (`apiVersion: v1`,
//! `kind: List`) of the objects as the API server returned them (with
//! `kind` and `apiVersion`, without `metadata.managedFields`), whose first
//! item is a record of our own kind (`apiVersion: svcdiscover.io/v1`, `kind:
//! Capture`): what was read in which scope (the [`Coverage`]), the reads
//! that failed, the tool's version, the time, the API server's host and the
//! command's target. The snapshot reader takes coverage and failures from
//! that record instead of inferring them from the objects
//! (docs/snapshots.md).
//!
//! Raw objects are kept only when a capture is asked for ([`Kept`]); the
//! file is written to a temporary file of the same directory, mode 0600 (it
//! may hold pod specs with env values), then renamed.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{ClusterState, Covered, Kind, ReadFailure};

/// `apiVersion` of the Capture record.
pub const API_VERSION: &str = "svcdiscover.io/v1";
/// `kind` of the Capture record.
pub const KIND: &str = "Capture";

/// The raw objects a live read returned, kept for the capture file: compact
/// JSON, one copy per object (kind, namespace, name and uid).
#[derive(Debug, Default)]
pub struct Kept {
    inner: Mutex<KeptInner>,
}

#[derive(Debug, Default)]
struct KeptInner {
    ids: HashSet<String>,
    /// (kind, namespace, name) for a stable order, and the object's JSON.
    objects: Vec<((String, String, String), String)>,
}

impl Kept {
    /// Keep one object as the API returned it (`text`, an item of a list
    /// or a get's answer), without its managedFields; `apiVersion` and
    /// `kind`, which the items of a list leave out, are added.
    pub fn keep_text(&self, api_version: &str, kind: &str, text: &str) {
        let Ok(Value::Object(mut v)) = serde_json::from_str::<Value>(text) else {
            return;
        };
        v.entry("apiVersion")
            .or_insert_with(|| Value::from(api_version));
        v.entry("kind").or_insert_with(|| Value::from(kind));
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
        let v = Value::Object(v);
        let text = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let key = (
            format!("{} {}", text("/apiVersion"), text("/kind")),
            text("/metadata/namespace"),
            text("/metadata/name"),
        );
        let id = format!("{} {}/{} {}", key.0, key.1, key.2, text("/metadata/uid"));
        let json = v.to_string();
        // A poisoned lock still holds whole entries: each push is one step.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.ids.insert(id) {
            inner.objects.push((key, json));
        }
    }

    /// How many objects are kept.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .objects
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the command was asked to diagnose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CaptureTarget {
    /// One Service.
    Service { namespace: String, name: String },
    /// A scan: one namespace, or every namespace (`None`), narrowed by a
    /// label selector.
    Scan {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        #[serde(
            default,
            rename = "labelSelector",
            skip_serializing_if = "Option::is_none"
        )]
        label_selector: Option<String>,
    },
}

/// One read that failed, as the record stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedRead {
    pub verb: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub required: bool,
    pub forbidden: bool,
    pub reason: String,
}

/// The Capture record: everything of the file that is not an API object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub api_version: String,
    pub kind: String,
    /// The tool that wrote it: `kubectl-svcdiscover 0.1.0`.
    pub tool: String,
    /// When the reads finished, RFC 3339 (UTC).
    pub captured_at: String,
    /// The API server's host (no port, no credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub target: CaptureTarget,
    /// What was read, in which scope: anything else is unknown.
    pub reads: Vec<Covered>,
    /// The reads that failed.
    #[serde(default)]
    pub failures: Vec<FailedRead>,
}

impl Record {
    /// The record of `state`'s reads.
    pub fn of(state: &ClusterState, target: CaptureTarget, server: Option<String>) -> Record {
        Record {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            tool: format!("kubectl-svcdiscover {}", env!("CARGO_PKG_VERSION")),
            captured_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            server,
            target,
            reads: state.coverage.entries(),
            failures: state
                .failures
                .iter()
                .map(|f| FailedRead {
                    verb: f.verb.to_owned(),
                    kind: f.kind,
                    namespace: f.namespace.clone(),
                    required: f.required,
                    forbidden: f.forbidden,
                    reason: f.reason.clone(),
                })
                .collect(),
        }
    }

    /// Add the record's coverage and failures to `state`.
    pub fn apply(&self, state: &mut ClusterState) -> std::result::Result<(), String> {
        for e in &self.reads {
            state.coverage.add_entry(e)?;
        }
        for f in &self.failures {
            let verb = match f.verb.as_str() {
                "get" => "get",
                "list" => "list",
                "watch" => "watch",
                other => return Err(format!("unknown verb {other:?} in a failed read")),
            };
            state.failures.push(ReadFailure {
                verb,
                kind: f.kind,
                namespace: f.namespace.clone(),
                reason: f.reason.clone(),
                forbidden: f.forbidden,
                required: f.required,
            });
        }
        Ok(())
    }
}

/// A capture file being written: a temporary file beside the final one,
/// created (mode 0600) before anything is read, renamed when complete and
/// removed when dropped before that.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::fs::File>,
}

fn save_error(path: &Path, source: std::io::Error) -> Error {
    Error::SaveSnapshot {
        path: path.to_owned(),
        source,
    }
}

impl Pending {
    /// Check that `path` can be written by creating its temporary file now,
    /// before any cluster request. `-` is refused: the report goes to stdout.
    pub fn create(path: &Path) -> Result<Pending> {
        if path == Path::new("-") {
            return Err(Error::Usage(
                "--save-snapshot -: the report goes to stdout, so the capture cannot; give a file path"
                    .to_owned(),
            ));
        }
        let name = path.file_name().ok_or_else(|| {
            save_error(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?;
        if path.is_dir() {
            return Err(save_error(
                path,
                std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"),
            ));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&tmp).map_err(|e| {
            let e = if e.kind() == std::io::ErrorKind::NotFound {
                std::io::Error::new(
                    e.kind(),
                    format!("directory {} does not exist", dir.display()),
                )
            } else {
                e
            };
            save_error(path, e)
        })?;
        Ok(Pending {
            path: path.to_owned(),
            tmp,
            file: Some(file),
        })
    }

    /// Write the List (the record first, then the objects), then rename it
    /// into place.
    pub fn commit(mut self, record: &Record, kept: &Kept) -> Result<()> {
        let path = self.path.clone();
        let Some(file) = self.file.take() else {
            return Err(save_error(
                &path,
                std::io::Error::other("the capture was already written"),
            ));
        };
        let mut inner = kept.inner.lock().unwrap_or_else(|e| e.into_inner());
        let objects = &mut inner.objects;
        objects.sort_by(|a, b| a.0.cmp(&b.0));
        let mut w = std::io::BufWriter::new(file);
        let io = |e| save_error(&path, e);
        let record = serde_json::to_string(record)
            .map_err(|e| save_error(&path, std::io::Error::other(e)))?;
        w.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{},\"items\":[\n")
            .map_err(io)?;
        w.write_all(record.as_bytes()).map_err(io)?;
        for (_, json) in objects.iter() {
            w.write_all(b",\n").map_err(io)?;
            w.write_all(json.as_bytes()).map_err(io)?;
        }
        w.write_all(b"\n]}\n").map_err(io)?;
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Not committed (an error, an interrupt): leave no temporary file.
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `--save-snapshot` in a run: the file (created before any request) and
/// the objects kept for it; nothing at all without the flag.
#[derive(Debug, Default)]
pub struct Saving(Option<(Pending, std::sync::Arc<Kept>)>);

impl Saving {
    /// Start a capture to `path`, if one is asked for.
    pub fn start(path: Option<&Path>) -> Result<Saving> {
        Ok(Saving(match path {
            Some(p) => Some((Pending::create(p)?, std::sync::Arc::default())),
            None => None,
        }))
    }

    /// Where the readers keep the objects they read; `None`: keep nothing.
    pub fn kept(&self) -> Option<std::sync::Arc<Kept>> {
        self.0.as_ref().map(|(_, k)| std::sync::Arc::clone(k))
    }

    /// Write the file: the objects kept and the record of `state`'s reads.
    pub fn finish(
        self,
        state: &ClusterState,
        target: CaptureTarget,
        server: Option<String>,
    ) -> Result<()> {
        let Some((pending, kept)) = self.0 else {
            return Ok(());
        };
        let record = Record::of(state, target, server);
        tracing::debug!(objects = kept.len(), "writing the capture");
        pending.commit(&record, &kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coverage_entry_round_trips() {
        let mut st = ClusterState::default();
        st.coverage.add_all(Kind::Namespace);
        st.coverage.add_namespace(Kind::Pod, "shop");
        st.coverage
            .add_object(Kind::ConfigMap, "kube-system", "coredns");
        st.coverage.add_selection(
            Kind::Pod,
            "kube-system",
            &[("k8s-app".to_owned(), "kube-dns".to_owned())].into(),
        );
        st.coverage
            .add_selection_everywhere(Kind::Pod, &[("app".to_owned(), "web".to_owned())].into());
        st.coverage.add_named_everywhere(Kind::Service, "web");
        st.failures.push(ReadFailure {
            verb: "list",
            kind: Kind::Event,
            namespace: Some("shop".to_owned()),
            reason: "events is forbidden".to_owned(),
            forbidden: true,
            required: false,
        });
        let rec = Record::of(
            &st,
            CaptureTarget::Service {
                namespace: "shop".into(),
                name: "web".into(),
            },
            Some("10.0.0.1".into()),
        );
        let json = serde_json::to_value(&rec).unwrap();
        let back: Record = serde_json::from_value(json).unwrap();
        let mut replay = ClusterState::default();
        back.apply(&mut replay).unwrap();
        assert_eq!(replay.coverage, st.coverage);
        assert_eq!(replay.failures, st.failures);
    }

    #[test]
    fn reads_a_wider_read_covers_are_not_recorded_twice() {
        let mut st = ClusterState::default();
        st.coverage.add_all(Kind::Service);
        st.coverage.add_object(Kind::Service, "shop", "web");
        st.coverage.add_named_everywhere(Kind::Service, "web");
        st.coverage.add_namespace(Kind::Pod, "shop");
        st.coverage.add_selection(
            Kind::Pod,
            "shop",
            &[("app".to_owned(), "web".to_owned())].into(),
        );
        let entries = st.coverage.entries();
        assert_eq!(entries.len(), 2, "{entries:?}");
        let mut replay = ClusterState::default();
        for e in &entries {
            replay.coverage.add_entry(e).unwrap();
        }
        assert!(replay.coverage.covers_object(Kind::Service, "shop", "web"));
        assert!(replay.coverage.covers_selection(
            Kind::Pod,
            "shop",
            &[("app".to_owned(), "web".to_owned())].into()
        ));
    }

    #[test]
    fn a_name_with_a_selector_is_refused() {
        let mut st = ClusterState::default();
        let e = Covered {
            kind: Kind::Pod,
            namespace: Some("a".into()),
            name: Some("p".into()),
            label_selector: Some("x=y".into()),
        };
        assert!(st.coverage.add_entry(&e).is_err());
    }
}
