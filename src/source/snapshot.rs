//! Offline source: cluster state from files.
//!
//! Reads `kubectl get … -o json|yaml` output (a `List`, typed lists such as
//! `PodList` whose items lack `kind`, single objects, multi-document YAML)
//! and `kubectl cluster-info dump` output, both as the `--output-directory`
//! tree and as the concatenated stdout stream with its log sections.
//!
//! Coverage rule (docs/snapshots.md): a kind counts as read in a namespace
//! only where the snapshot holds objects of that kind (or, in a dump tree,
//! that kind's file for the namespace), or everywhere when one capture
//! document is cluster-wide; everything else is unknown, not empty.
//!
//! Input is bounded: regular files only (a FIFO or device could block for
//! ever), at most `--max-snapshot-size` bytes per input, YAML aliases that
//! expand without bound are refused. An object that does not match the
//! Kubernetes API is skipped and reported, not fatal.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::convert;
use super::node::{Items, Node};
use crate::error::{Error, Result};
use crate::model::{ClusterState, Kind, SkippedObject};

/// Default of `--max-snapshot-size`: 512 MiB per input.
pub const DEFAULT_MAX_SIZE: u64 = 512 * MIB;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Longest quoted value kept in a skipped object's reason, in characters.
const MAX_VALUE_CHARS: usize = 60;

/// Read a snapshot: a file, `-` for stdin, or a directory (recursively).
/// Each file, and stdin, may hold at most `max_size` bytes.
pub fn load(path: &Path, max_size: u64) -> Result<ClusterState> {
    let mut b = Builder::default();
    if path == Path::new("-") {
        let stdin = Path::new("<stdin>");
        let bytes = read_capped(std::io::stdin().lock(), stdin, max_size, None)?;
        b.add_bytes(stdin, bytes)?;
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
                b.add_file(&f, max_size)?;
            }
        } else {
            b.add_file(path, max_size)?;
        }
    }
    Ok(b.finish())
}

/// Read one snapshot input already in memory, as `load` reads a file or
/// stdin; `name` is used in messages.
pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<ClusterState> {
    let mut b = Builder::default();
    b.add_bytes(name, bytes)?;
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
        // Hidden files and directories (.git, .cache, editor files) are no
        // part of a capture.
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = e.file_type().map_err(io)?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            // Not only regular files: a FIFO named *.json is refused by add_file.
            out.push(p);
        }
    }
    Ok(())
}

/// What a non-regular file is, for the message that refuses it.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    "a special file"
}

/// Read at most `max_size` bytes; more is an error naming the size.
fn read_capped(
    reader: impl Read,
    path: &Path,
    max_size: u64,
    size_hint: Option<u64>,
) -> Result<Vec<u8>> {
    let too_large = |size| Error::SnapshotTooLarge {
        path: path.to_owned(),
        size,
        limit: max_size,
    };
    // The hint is the file's size: one allocation, no regrowth.
    let capacity = size_hint.map_or(0, |n| n.min(max_size).saturating_add(1));
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    reader
        .take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| Error::SnapshotIo {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > max_size {
        return Err(too_large(size_hint.filter(|n| *n > max_size)));
    }
    Ok(bytes)
}

/// `512MiB`, `100MB`, `1GiB`, `64Mi`, `1500000` (bytes).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "ki" | "kib" => KIB,
        "mi" | "mib" => MIB,
        "gi" | "gib" => GIB,
        _ => return Err(size_syntax()),
    };
    let bytes = if let Ok(n) = number.parse::<u64>() {
        n.checked_mul(factor)
    } else {
        // 1.5GiB: fractional sizes, rounded down to a byte.
        number
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n * factor as f64)
            .filter(|n| *n < u64::MAX as f64)
            .map(|n| n as u64)
    };
    match bytes {
        Some(0) => Err("the limit must be more than 0 bytes".to_owned()),
        Some(n) => Ok(n),
        None => Err(size_syntax()),
    }
}

fn size_syntax() -> String {
    "not a size such as 512MiB, 100MB, 1GiB or a number of bytes".to_owned()
}

/// `512 MiB`, `1.5 GiB`, `2,048 bytes`-style sizes for messages.
pub fn format_size(n: u64) -> String {
    let unit = |u: u64, name: &str| {
        if n.is_multiple_of(u) {
            format!("{} {name}", n / u)
        } else {
            format!("{:.1} {name}", n as f64 / u as f64)
        }
    };
    // A limit given in SI units (100MB) is shown as given.
    for (u, name) in [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")] {
        if n >= u && n.is_multiple_of(u) && !n.is_multiple_of(KIB) {
            return format!("{} {name}", n / u);
        }
    }
    if n >= GIB {
        unit(GIB, "GiB")
    } else if n >= MIB {
        unit(MIB, "MiB")
    } else if n >= KIB {
        unit(KIB, "KiB")
    } else {
        format!("{n} bytes")
    }
}

/// A `--max-snapshot-size` value that admits `size` (or twice the limit
/// when the size is unknown), rounded up to whole MiB or GiB.
pub fn suggest_size(size: Option<u64>, limit: u64) -> String {
    let want = size.unwrap_or_else(|| limit.saturating_mul(2));
    if want >= GIB {
        format!("{}GiB", want.div_ceil(GIB))
    } else {
        format!("{}MiB", want.div_ceil(MIB).max(1))
    }
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
    /// Kinds a cluster-wide capture document holds: read in every namespace.
    cluster_wide: BTreeSet<Kind>,
    /// A cluster-wide capture document holds v1 Endpoints.
    cluster_wide_endpoints: bool,
    /// The namespaces cluster-wide capture documents name.
    cluster_namespaces: BTreeSet<String>,
    /// Identity (uid, else kind/namespace/name) of every object kept.
    kept: HashSet<String>,
    /// Objects skipped as unreadable, by identity (a later readable copy replaces them).
    skipped: Vec<(Option<String>, SkippedObject)>,
    /// The current file's Capture record (`--save-snapshot`), if any.
    record: Option<super::capture::Record>,
}

/// The parts of a [`Builder`] coverage is inferred from.
struct Inference {
    seen: BTreeSet<(Kind, String)>,
    endpoints_seen: BTreeSet<String>,
    namespace_list: bool,
    cluster_wide: BTreeSet<Kind>,
    cluster_wide_endpoints: bool,
    cluster_namespaces: BTreeSet<String>,
}

/// Identity of an object for de-duplication: its uid with its kind,
/// namespace and name (an edited copy that kept the uid stays apart), else
/// kind, namespace and name; `None` when it has neither uid nor name.
fn identity(kind: &str, v: &Node<'_>) -> Option<String> {
    fn text(s: Option<&str>) -> Option<&str> {
        s.filter(|s| !s.is_empty())
    }
    let (uid, name) = (text(v.uid()), text(v.name()));
    if uid.is_none() && name.is_none() {
        return None;
    }
    let ns = text(v.namespace()).unwrap_or("");
    Some(format!(
        "{kind} {ns}/{} {}",
        name.unwrap_or(""),
        uid.unwrap_or("")
    ))
}

impl Builder {
    fn add_file(&mut self, path: &Path, max_size: u64) -> Result<()> {
        // Check the type before opening: opening a FIFO blocks until a writer comes.
        let io = |source| Error::SnapshotIo {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(Error::SnapshotNotFile {
                path: path.to_owned(),
                what: file_kind(&meta),
            });
        }
        if meta.len() > max_size {
            return Err(Error::SnapshotTooLarge {
                path: path.to_owned(),
                size: Some(meta.len()),
                limit: max_size,
            });
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let bytes = read_capped(file, path, max_size, Some(meta.len()))?;
        self.add_bytes(path, bytes)
    }

    fn add_bytes(&mut self, path: &Path, bytes: Vec<u8>) -> Result<()> {
        let text = String::from_utf8(bytes).map_err(|e| Error::SnapshotParse {
            path: path.to_owned(),
            position: None,
            message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?;
        let body = text.trim_start_matches('\u{feff}');
        let docs = match documents(path, body) {
            Ok(docs) => docs,
            // kubectl's table or error text is named as such, not as bad YAML.
            Err(e) => {
                return Err(
                    recognise(body).map_or(e, |message| Error::SnapshotNoObject {
                        path: path.to_owned(),
                        message,
                    }),
                );
            }
        };
        if !docs.iter().any(Node::is_object) {
            let message = recognise(body).unwrap_or_else(|| describe_documents(&docs));
            return Err(Error::SnapshotNoObject {
                path: path.to_owned(),
                message,
            });
        }
        // JSON objects are slices of the text, each decoded when its turn
        // comes: the text is the one copy of the input.
        // A `--save-snapshot` file: its Capture record says what was read,
        // so its objects add nothing to the inferred coverage. What the
        // coverage is inferred from so far is kept to be restored then.
        let inferred = self.inference();
        self.record = None;
        for (i, doc) in docs.into_iter().enumerate() {
            self.add_document(path, i + 1, doc)?;
        }
        if let Some(record) = self.record.take() {
            self.restore(inferred);
            record
                .apply(&mut self.state)
                .map_err(|message| Error::SnapshotParse {
                    path: path.to_owned(),
                    position: None,
                    message: format!("the {} record: {message}", super::capture::KIND),
                })?;
        }
        Ok(())
    }

    /// A Capture record: one per file, applied once the file is read.
    fn add_record(&mut self, path: &Path, v: Node<'_>) -> Result<()> {
        use super::capture::{API_VERSION, KIND};
        let malformed = |message: String| Error::SnapshotParse {
            path: path.to_owned(),
            position: None,
            message,
        };
        if self.record.is_some() {
            return Err(malformed(format!(
                "two {API_VERSION} {KIND} records in one input: each capture file holds one"
            )));
        }
        let record = v.decode::<super::capture::Record>().map_err(|e| {
            malformed(format!(
                "the {KIND} record does not read: {}: {}",
                e.path, e.message
            ))
        })?;
        self.record = Some(record);
        Ok(())
    }

    /// What the coverage is inferred from, to be restored after a file
    /// whose Capture record states its coverage.
    fn inference(&self) -> Inference {
        Inference {
            seen: self.seen.clone(),
            endpoints_seen: self.endpoints_seen.clone(),
            namespace_list: self.namespace_list,
            cluster_wide: self.cluster_wide.clone(),
            cluster_wide_endpoints: self.cluster_wide_endpoints,
            cluster_namespaces: self.cluster_namespaces.clone(),
        }
    }

    fn restore(&mut self, i: Inference) {
        self.seen = i.seen;
        self.endpoints_seen = i.endpoints_seen;
        self.namespace_list = i.namespace_list;
        self.cluster_wide = i.cluster_wide;
        self.cluster_wide_endpoints = i.cluster_wide_endpoints;
        self.cluster_namespaces = i.cluster_namespaces;
    }

    /// One top-level document: null, an object, or a list of objects.
    fn add_document(&mut self, path: &Path, doc: usize, mut v: Node<'_>) -> Result<()> {
        if v.is_null() {
            return Ok(());
        }
        if !v.is_object() {
            return Err(Error::SnapshotParse {
                path: path.to_owned(),
                position: None,
                message: format!(
                    "document {doc} is not a Kubernetes object: it is {}",
                    describe(&v.tree())
                ),
            });
        }
        if v.kind() == Some("List") {
            let items = list_items(path, doc, "List", &mut v)?;
            drop(v);
            self.note_capture(&items);
            return self.add_items(path, doc, "", items);
        }
        self.add_value(path, doc, v, None)
    }

    /// A cluster-wide capture, as one `kubectl get ns,svc,pods,… -A -o json`
    /// prints it: a `List` that names its namespaces (Namespace objects),
    /// whose namespaced objects span at least two of them and only them, and
    /// where each kind comes in one run (kubectl lists one resource type
    /// after the other; a List merged from several captures repeats kinds).
    /// Every kind it holds is then read in every namespace.
    fn note_capture(&mut self, items: &[Node<'_>]) {
        let named: BTreeSet<&str> = items
            .iter()
            .filter(|o| o.kind() == Some("Namespace"))
            .filter_map(Node::name)
            .collect();
        if named.is_empty() {
            return;
        }
        let mut runs: HashSet<(&str, &str)> = HashSet::new();
        let mut current: Option<(&str, &str)> = None;
        let mut spanned: BTreeSet<&str> = BTreeSet::new();
        for o in items {
            let key = (o.api_version().unwrap_or(""), o.kind().unwrap_or(""));
            if current != Some(key) {
                if !runs.insert(key) {
                    return; // the kind's second run: several captures merged
                }
                current = Some(key);
            }
            if let Some(ns) = o.namespace() {
                if !named.contains(ns) {
                    return; // not a capture of these namespaces
                }
                spanned.insert(ns);
            }
        }
        if spanned.len() < 2 {
            return; // one namespace's capture (Namespaces are cluster-scoped)
        }
        for (_, kind) in runs {
            match kind {
                "Endpoints" => self.cluster_wide_endpoints = true,
                "Namespace" => {}
                k => self.cluster_wide.extend(known_kind(k)),
            }
        }
        self.cluster_namespaces
            .extend(named.into_iter().map(str::to_owned));
    }

    fn add_value(
        &mut self,
        path: &Path,
        doc: usize,
        mut v: Node<'_>,
        hint: Option<&str>,
    ) -> Result<()> {
        if v.is_null() {
            return Ok(());
        }
        let kind = v.kind().or(hint).map(str::to_owned);
        let Some(kind) = kind else {
            return Ok(()); // a list item without kind: ignored like unknown kinds
        };
        if let Some(item_kind) = kind.strip_suffix("List") {
            let items = list_items(path, doc, &kind, &mut v)?;
            drop(v);
            return self.add_items(path, doc, item_kind, items);
        }
        if kind == super::capture::KIND && v.api_version() == Some(super::capture::API_VERSION) {
            return self.add_record(path, v);
        }
        if known_kind(&kind).is_none() && kind != "Endpoints" {
            return Ok(()); // unknown kinds are ignored
        }
        let id = identity(&kind, &v);
        if id.as_ref().is_some_and(|id| self.kept.contains(id)) {
            return Ok(()); // listed twice: counted once
        }
        let namespace = v.namespace().map(str::to_owned);
        let name = v.name().map(str::to_owned);
        match self.convert(&kind, namespace.as_deref(), v) {
            Ok(()) => {
                if let Some(id) = id {
                    // A readable copy replaces an unreadable one.
                    self.skipped.retain(|(s, _)| s.as_ref() != Some(&id));
                    self.kept.insert(id);
                }
                if let (Some(k), Some(ns)) = (known_kind(&kind), namespace) {
                    self.seen.insert((k, ns));
                }
            }
            Err(reason) => {
                if id.is_none() || !self.skipped.iter().any(|(s, _)| *s == id) {
                    self.skipped.push((
                        id,
                        SkippedObject {
                            kind,
                            namespace,
                            name,
                            reason,
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// The items of a list of `item_kind` (`""` for a `List`), one by one:
    /// each is freed once converted.
    fn add_items(
        &mut self,
        path: &Path,
        doc: usize,
        item_kind: &str,
        items: Vec<Node<'_>>,
    ) -> Result<()> {
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
        Ok(())
    }

    /// Convert one object of a known kind into the model; `Err` says why it
    /// does not match the API.
    fn convert(
        &mut self,
        kind: &str,
        namespace: Option<&str>,
        v: Node<'_>,
    ) -> std::result::Result<(), String> {
        use super::wire::{apps, core, discovery, events, networking};
        let s = &mut self.state;
        match kind {
            "Service" => s.services.push(convert::service(de::<core::Service>(v)?)),
            "Pod" => s.pods.push(convert::pod(de::<core::Pod>(v)?)),
            "EndpointSlice" => s
                .endpoint_slices
                .push(convert::endpoint_slice(de::<discovery::EndpointSlice>(v)?)),
            "Endpoints" => {
                self.endpoints
                    .extend(convert::endpoints(de::<core::Endpoints>(v)?));
                self.endpoints_seen
                    .insert(namespace.unwrap_or("default").to_owned());
            }
            "Event" => {
                let events_api = v
                    .api_version()
                    .is_some_and(|a| a.starts_with("events.k8s.io/"));
                let e = if events_api {
                    convert::events_event(de::<events::Event>(v)?)
                } else {
                    convert::core_event(de::<core::Event>(v)?)
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
                let n = de::<core::Namespace>(v)?;
                if let Some(name) = n.metadata.name {
                    s.namespace_labels
                        .insert(&name, n.metadata.labels.unwrap_or_default());
                    s.namespaces.insert(name);
                    self.namespace_list = true;
                }
            }
            "NetworkPolicy" => s.network_policies.push(
                convert::network_policy(de::<networking::NetworkPolicy>(v)?)
                    .map_err(|e| e.to_string())?,
            ),
            "ConfigMap" => {
                if let Some(cm) = convert::config_map(de::<core::ConfigMap>(v)?) {
                    s.config_maps.push(cm);
                }
            }
            "Deployment" => s
                .workloads
                .push(convert::deployment(de::<apps::Deployment>(v)?)),
            "StatefulSet" => s
                .workloads
                .push(convert::stateful_set(de::<apps::StatefulSet>(v)?)),
            "DaemonSet" => s
                .workloads
                .push(convert::daemon_set(de::<apps::DaemonSet>(v)?)),
            "ReplicaSet" => s
                .workloads
                .push(convert::replica_set(de::<apps::ReplicaSet>(v)?)),
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> ClusterState {
        let skipped: Vec<SkippedObject> = self.skipped.into_iter().map(|(_, s)| s).collect();
        // What a skipped object leaves incomplete: its kind in its namespace.
        let mut withdrawn: BTreeSet<(Kind, String)> = BTreeSet::new();
        let mut endpoints_withdrawn: BTreeSet<String> = BTreeSet::new();
        for s in &skipped {
            let ns = s.namespace.clone().unwrap_or_else(|| "default".to_owned());
            match known_kind(&s.kind) {
                Some(k) => {
                    withdrawn.insert((k, ns));
                }
                None if s.kind == "Endpoints" => {
                    endpoints_withdrawn.insert(ns);
                }
                None => {}
            }
        }
        // Without EndpointSlices (cluster-info dump has none), fall back to v1 Endpoints.
        let any_slices = self.cluster_wide.contains(&Kind::EndpointSlice)
            || self.seen.iter().any(|(k, _)| *k == Kind::EndpointSlice);
        if !any_slices && (!self.endpoints_seen.is_empty() || self.cluster_wide_endpoints) {
            self.state.endpoint_slices = std::mem::take(&mut self.endpoints);
            for ns in std::mem::take(&mut self.endpoints_seen) {
                self.seen.insert((Kind::EndpointSlice, ns));
            }
            if self.cluster_wide_endpoints {
                self.cluster_wide.insert(Kind::EndpointSlice);
            }
            withdrawn.extend(
                endpoints_withdrawn
                    .into_iter()
                    .map(|ns| (Kind::EndpointSlice, ns)),
            );
        }
        for (kind, ns) in &self.seen {
            if !withdrawn.contains(&(*kind, ns.clone())) {
                self.state.coverage.add_namespace(*kind, ns);
            }
        }
        for kind in &self.cluster_wide {
            let holes: BTreeSet<&str> = withdrawn
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, ns)| ns.as_str())
                .collect();
            if holes.is_empty() {
                self.state.coverage.add_all(*kind);
            } else {
                for ns in &self.cluster_namespaces {
                    if !holes.contains(ns.as_str()) {
                        self.state.coverage.add_namespace(*kind, ns);
                    }
                }
            }
        }
        if self.namespace_list {
            self.state.coverage.add_all(Kind::Namespace);
        }
        self.state.skipped = skipped;
        self.state
    }
}

/// The items of list `v` of `kind`; `items` missing or null is an empty list.
fn list_items<'a>(path: &Path, doc: usize, kind: &str, v: &mut Node<'a>) -> Result<Vec<Node<'a>>> {
    match v.take_items() {
        Ok(Items::List(items)) => Ok(items),
        Ok(Items::Missing) => Ok(Vec::new()),
        Ok(Items::NotAList) => Err(Error::SnapshotParse {
            path: path.to_owned(),
            position: None,
            message: format!("document {doc}: the {kind}'s `items` is not a list"),
        }),
        Err(e) => Err(Error::SnapshotParse {
            path: path.to_owned(),
            position: None,
            message: format!(
                "document {doc}: invalid JSON: {}",
                strip_position(&e.to_string())
            ),
        }),
    }
}

/// Decode one object into its API type; the error names the field path
/// and what is wrong, with long values cut.
fn de<T: DeserializeOwned>(v: Node<'_>) -> std::result::Result<T, String> {
    v.decode().map_err(|e| {
        let what = cut_quoted(&e.message, MAX_VALUE_CHARS);
        match e.path.as_str() {
            "." => what,
            path => format!("{path}: {what}"),
        }
    })
}

/// Cut every double-quoted part of `msg` longer than `max` characters.
fn cut_quoted(msg: &str, max: usize) -> String {
    let mut out = String::with_capacity(msg.len().min(4 * max + 64));
    let mut rest = msg;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        // serde quotes values with escapes, so `\"` does not close the quote.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let end = close.unwrap_or(rest.len());
        let quoted = &rest[..end];
        if quoted.chars().count() > max {
            out.extend(quoted.chars().take(max));
            out.push('…');
        } else {
            out.push_str(quoted);
        }
        match close {
            Some(i) => {
                out.push('"');
                rest = &rest[i + 1..];
            }
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
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
        "NetworkPolicy" => Kind::NetworkPolicy,
        _ => return None,
    })
}

/// The documents of one input, by its first character.
fn documents<'a>(path: &Path, body: &'a str) -> Result<Vec<Node<'a>>> {
    let tree = |docs: Vec<Value>| docs.into_iter().map(Node::Tree).collect();
    match body.trim_start().chars().next() {
        None => Ok(Vec::new()),
        Some('{' | '[') => json_documents(path, body),
        Some(_) if body.starts_with("==== START logs") => json_documents(path, body),
        Some(_) => yaml_documents(path, body).map(tree),
    }
}

/// What kubectl text that is not a capture looks like, from its first line.
fn recognise(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let quoted = if line.chars().count() > 100 {
        format!("\"{}…\"", line.chars().take(100).collect::<String>())
    } else {
        format!("\"{line}\"")
    };
    if line.starts_with("No resources found") {
        return Some(format!(
            "it is kubectl's {quoted} message (its table output for an empty result); capture with -o json or -o yaml, which print an empty List instead"
        ));
    }
    if [
        "error:",
        "Error from server",
        "Unable to connect to the server",
        "The connection to the server",
    ]
    .iter()
    .any(|p| line.starts_with(p))
    {
        return Some(format!(
            "it is a kubectl error message ({quoted}): the capture failed; fix its cause and capture again"
        ));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let header = |w: &&str| {
        w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "()-/._".contains(c))
    };
    if words.len() >= 2
        && (words[0] == "NAME" || (words[0] == "NAMESPACE" && words[1] == "NAME"))
        && words.iter().all(header)
    {
        return Some(
            "it looks like kubectl's table output; capture with -o json or -o yaml".to_owned(),
        );
    }
    if line.starts_with("Name:") && text.contains("\nNamespace:") {
        return Some(
            "it looks like `kubectl describe` output; capture with kubectl get -o json or -o yaml"
                .to_owned(),
        );
    }
    None
}

/// Why parsed documents are not a capture.
fn describe_documents(docs: &[Node<'_>]) -> String {
    let what = match docs.iter().find(|d| !d.is_null()) {
        None => "it is empty".to_owned(),
        Some(v) => format!("it is {}", describe(&v.tree())),
    };
    format!("{what}; expected `kubectl get … -o json|yaml` or `kubectl cluster-info dump` output")
}

/// What a document that is not a Kubernetes object is.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "empty".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "plain text".to_owned(),
        Value::Array(a) if a.is_empty() => "an empty list".to_owned(),
        Value::Array(_) => "a list of values that are not Kubernetes objects".to_owned(),
        Value::Object(m) if m.is_empty() => "an empty mapping ({})".to_owned(),
        Value::Object(m) => match m.get("kind") {
            Some(Value::String(k)) if !k.is_empty() => {
                "a mapping with `kind` but neither `apiVersion` nor `metadata`".to_owned()
            }
            Some(_) => "a mapping whose `kind` is not a name".to_owned(),
            None => "a mapping without `kind`".to_owned(),
        },
    }
}

/// JSON documents of a file: one value, several concatenated values, or a
/// `kubectl cluster-info dump` stream whose log sections are skipped.
fn json_documents<'a>(path: &Path, text: &'a str) -> Result<Vec<Node<'a>>> {
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
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
            match stream.next() {
                Some(Ok(v)) => {
                    let consumed = stream.byte_offset();
                    let invalid = |e: serde_json::Error| Error::SnapshotParse {
                        path: path.to_owned(),
                        position: Some(json_position(line_no, &e)),
                        message: format!("invalid JSON: {}", strip_position(&e.to_string())),
                    };
                    // A top-level array's elements are documents.
                    let values = if v.get().starts_with('[') {
                        serde_json::from_str::<Vec<&RawValue>>(v.get()).map_err(invalid)?
                    } else {
                        vec![v]
                    };
                    for v in values {
                        docs.push(Node::json(v).map_err(invalid)?);
                    }
                    line_no += rest[..consumed].matches('\n').count();
                    offset += consumed;
                    continue;
                }
                Some(Err(e)) => {
                    return Err(Error::SnapshotParse {
                        path: path.to_owned(),
                        position: Some(json_position(line_no, &e)),
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

/// A JSON error's 1-based line and column in the input, for a value that
/// starts on line `first_line`. serde_json gives column 0 for an error at
/// a line break it has just read (e.g. a `\` escape before a newline): that
/// is the start of the line it reports, column 1.
fn json_position(first_line: usize, e: &serde_json::Error) -> (usize, usize) {
    (first_line + e.line().saturating_sub(1), e.column().max(1))
}

fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

/// The YAML reader's limits: none that grow with honest input (its size is
/// capped before), so a 5 MB dump of thousands of documents reads; alias
/// expansion stays bounded, so an alias bomb is refused.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: None,
            max_documents: usize::MAX,
            max_events: usize::MAX,
            max_nodes: usize::MAX,
            max_total_scalar_bytes: usize::MAX,
            max_total_comment_bytes: usize::MAX,
            // Kubernetes objects nest about 15 deep (managedFields included).
            max_depth: 64,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
        emit_comments: false,
        with_snippet: false,
    }
}

/// Stack for the YAML reader's thread: it recurses once per nesting level,
/// with large frames in debug builds, so the depth limit (not the caller's
/// stack, 2 MiB on a worker thread) decides what is too deep.
const YAML_STACK: usize = 64 * MIB as usize;

fn yaml_documents(path: &Path, text: &str) -> Result<Vec<Value>> {
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("yaml-reader".to_owned())
            .stack_size(YAML_STACK)
            .spawn_scoped(scope, || {
                serde_saphyr::from_multiple_with_options::<Value>(text, yaml_options())
            })
            .map(|t| t.join())
    });
    let parsed = match parsed {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(source) => {
            return Err(Error::SnapshotIo {
                path: path.to_owned(),
                source,
            });
        }
    };
    parsed.map_err(|e| {
        let position = e.location().map(|l| {
            (
                usize::try_from(l.line()).unwrap_or(0),
                usize::try_from(l.column()).unwrap_or(0),
            )
        });
        Error::SnapshotParse {
            path: path.to_owned(),
            position,
            message: yaml_message(&e),
        }
    })
}

/// The YAML reader's error in words: its limits are named (its own text
/// for them is a debug dump), positions are left to the caller.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    let mut inner = e;
    #[allow(deprecated)] // `msg` of AliasError; only `error` is read
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let bomb =
        "YAML aliases that expand without bound (an alias bomb; kubectl never writes aliases)";
    match inner {
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => format!("refused: {bomb}"),
        E::Budget { breach, .. } => match breach {
            B::Depth { .. } => {
                "refused: YAML nested more than 64 levels deep (Kubernetes objects nest about 15)"
                    .to_owned()
            }
            B::Aliases { .. }
            | B::Anchors { .. }
            | B::AliasAnchorRatio { .. }
            | B::RecordedAnchorEvents { .. }
            | B::RecordedAnchorBytes { .. }
            | B::MergeKeys { .. } => format!("refused: {bomb}"),
            _ => "refused: the YAML is too large or too complex to read".to_owned(),
        },
        other => {
            let message = other.to_string();
            format!(
                "invalid YAML: {}",
                strip_position(message.lines().next().unwrap_or_default())
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_si_and_binary_units() {
        assert_eq!(parse_size("1500000"), Ok(1_500_000));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("512MiB"), Ok(512 * MIB));
        assert_eq!(parse_size("1GiB"), Ok(GIB));
        assert_eq!(parse_size("64Mi"), Ok(64 * MIB));
        assert_eq!(parse_size(" 2 gb "), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(GIB + GIB / 2));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("10XB").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn sizes_print_for_people() {
        assert_eq!(format_size(512 * MIB), "512 MiB");
        assert_eq!(format_size(GIB + GIB / 2), "1.5 GiB");
        assert_eq!(format_size(100), "100 bytes");
        assert_eq!(format_size(100_000_000), "100 MB");
        assert_eq!(format_size(2 * MIB + 5), "2.0 MiB");
        assert_eq!(suggest_size(Some(600 * MIB + 1), 512 * MIB), "601MiB");
        assert_eq!(suggest_size(None, 512 * MIB), "1GiB");
    }

    fn parse_error(text: &str) -> (Option<(usize, usize)>, String) {
        match from_bytes(Path::new("in.json"), text.as_bytes().to_vec()) {
            Err(Error::SnapshotParse {
                position, message, ..
            }) => (position, message),
            other => panic!("not a parse error: {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_json_error_at_a_line_break_is_at_column_1_of_the_next_line() {
        // Found by the snapshot fuzz target: serde_json says column 0 for
        // an escape cut by a newline; positions are 1-based.
        let (position, message) =
            parse_error("{\"kind\": \"Pod\",\n \"metadata\": {\"name\": \"a\\\n\"}}\n");
        assert_eq!(position, Some((3, 1)), "{message}");
        assert!(message.contains("invalid escape"), "{message}");
        // A value that starts on a later line counts from there.
        let (position, _) = parse_error("\n\n{\"kind\":\n !}");
        assert_eq!(position, Some((4, 2)));
    }

    #[test]
    fn long_quoted_values_are_cut() {
        let long = "x".repeat(500);
        let msg = format!("invalid type: string \"{long}\", expected i32");
        let cut = cut_quoted(&msg, 60);
        assert_eq!(
            cut,
            format!("invalid type: string \"{}…\", expected i32", "x".repeat(60))
        );
        assert_eq!(cut_quoted("a \"b\\\"c\" d", 60), "a \"b\\\"c\" d");
        assert_eq!(cut_quoted("unterminated \"abc", 2), "unterminated \"ab…");
    }

    #[test]
    fn kubectl_text_is_recognised() {
        let table = "NAME                      READY   STATUS    RESTARTS   AGE\npay-v1-6f7c   1/1     Running   0          5d\n";
        assert!(recognise(table).unwrap().contains("table output"));
        let wide = "NAMESPACE   NAME   TYPE   CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n";
        assert!(recognise(wide).unwrap().contains("table output"));
        assert!(
            recognise("No resources found in default namespace.\n")
                .unwrap()
                .contains("No resources found")
        );
        assert!(
            recognise("error: You must be logged in to the server (Unauthorized)\n")
                .unwrap()
                .contains("kubectl error message")
        );
        assert_eq!(recognise("apiVersion: v1\nkind: List\n"), None);
        assert_eq!(recognise("NAME: x\n"), None);
    }

    fn read(v: &Value) -> Result<ClusterState> {
        from_bytes(
            Path::new("t.json"),
            serde_json::to_vec(v).unwrap_or_default(),
        )
    }

    fn obj(kind: &str, ns: Option<&str>, name: &str) -> Value {
        let mut o = serde_json::json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "uid": format!("uid-{kind}-{name}")}});
        if let Some(ns) = ns {
            o["metadata"]["namespace"] = ns.into();
        }
        o
    }

    fn list(items: Vec<Value>) -> Value {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items})
    }

    #[test]
    fn one_list_naming_its_namespaces_with_one_run_per_kind_is_cluster_wide() {
        let wide = list(vec![
            obj("Namespace", None, "a"),
            obj("Namespace", None, "b"),
            obj("Namespace", None, "c"),
            obj("Service", Some("a"), "s1"),
            obj("Service", Some("b"), "s2"),
            obj("Pod", Some("a"), "p1"),
        ]);
        let st = read(&wide).unwrap();
        assert!(st.coverage.covers_all(Kind::Service));
        assert!(st.coverage.covers(Kind::Pod, "c"), "absence in c is known");
        assert!(
            !st.coverage.covers(Kind::EndpointSlice, "a"),
            "not held: unknown"
        );

        // Kinds in two runs: merged from several captures.
        let mut merged = wide.clone();
        merged["items"]
            .as_array_mut()
            .unwrap()
            .push(obj("Service", Some("c"), "s3"));
        let st = read(&merged).unwrap();
        assert!(!st.coverage.covers_all(Kind::Service));
        assert!(!st.coverage.covers(Kind::Pod, "c"));
        assert!(st.coverage.covers(Kind::Pod, "a"));

        // One namespace only, or a namespace it does not name: not cluster-wide.
        for items in [
            vec![obj("Namespace", None, "a"), obj("Service", Some("a"), "s1")],
            vec![
                obj("Namespace", None, "a"),
                obj("Service", Some("a"), "s1"),
                obj("Service", Some("z"), "s2"),
            ],
        ] {
            let st = read(&list(items)).unwrap();
            assert!(!st.coverage.covers_all(Kind::Service));
            assert!(!st.coverage.covers(Kind::Service, "b"));
        }
    }

    #[test]
    fn duplicates_count_once_and_a_readable_copy_replaces_a_skipped_one() {
        let pod = obj("Pod", Some("a"), "p1");
        let mut bad = pod.clone();
        bad["spec"] = serde_json::json!({"containers": "nope"});
        let st = read(&list(vec![pod.clone(), pod.clone()])).unwrap();
        assert_eq!(st.pods.len(), 1);
        let st = read(&list(vec![bad.clone(), bad.clone(), pod])).unwrap();
        assert_eq!(st.pods.len(), 1);
        assert!(st.skipped.is_empty());
        assert!(st.coverage.covers(Kind::Pod, "a"));
    }

    #[test]
    fn a_skipped_object_is_listed_and_leaves_its_kind_unknown_in_its_namespace() {
        let mut bad = obj("Pod", Some("a"), "p1");
        bad["spec"] = serde_json::json!({"containers": [{"name": "c", "ports": [{"containerPort": "eighty"}]}]});
        let st = read(&list(vec![bad, obj("Pod", Some("b"), "p2")])).unwrap();
        assert_eq!(st.pods.len(), 1);
        assert_eq!(
            st.skipped,
            vec![SkippedObject {
                kind: "Pod".into(),
                namespace: Some("a".into()),
                name: Some("p1".into()),
                reason: "spec.containers[0].ports[0].containerPort: invalid type: string \"eighty\", expected i32".into(),
            }]
        );
        assert!(!st.coverage.covers(Kind::Pod, "a"));
        assert!(st.coverage.covers(Kind::Pod, "b"));

        let target = crate::analysis::Target {
            namespace: "a".into(),
            name: "svc".into(),
        };
        let r = crate::analysis::diagnose(&st, &target, &Default::default());
        let entry = r
            .not_checked
            .iter()
            .find(|n| n.check == "read Pod a/p1")
            .expect("listed");
        assert!(entry.reason.starts_with("spec.containers[0].ports[0]"));
        assert!(entry.needs.contains("kubectl get pod p1 -n a -o json"));
    }

    #[test]
    fn input_without_objects_is_refused_and_an_empty_list_is_not() {
        for text in ["{}", "42", "hello", "[1, 2]", "kind: Pod\n", ""] {
            let e = from_bytes(Path::new("t"), text.as_bytes().to_vec()).unwrap_err();
            assert!(matches!(e, Error::SnapshotNoObject { .. }), "{text:?}: {e}");
        }
        let empty = br#"{"apiVersion":"v1","items":[],"kind":"List"}"#;
        assert!(from_bytes(Path::new("t"), empty.to_vec()).is_ok());
    }

    #[test]
    fn the_flag_default_is_the_documented_one() {
        use clap::Parser;
        let cli = crate::cli::Cli::parse_from(["kubectl-svcdiscover", "x", "--snapshot", "-"]);
        assert_eq!(cli.max_snapshot_size, DEFAULT_MAX_SIZE);
    }

    #[test]
    fn identity_is_the_uid_and_kind_namespace_and_name() {
        let with_uid =
            serde_json::json!({"metadata": {"uid": "u-1", "name": "a", "namespace": "n"}});
        let id = |v: Value| identity("Pod", &Node::Tree(v));
        assert_eq!(id(with_uid).as_deref(), Some("Pod n/a u-1"));
        let no_uid = serde_json::json!({"metadata": {"name": "a", "namespace": "n"}});
        assert_eq!(id(no_uid).as_deref(), Some("Pod n/a "));
        assert_eq!(id(serde_json::json!({})), None);
    }
}
