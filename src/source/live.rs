//! Live source: reads what one diagnosis needs from the API server.
//!
//! Independent requests are in flight together; no unselected cluster-wide pod list,
//! no per-pod requests. Required reads (the Service, its EndpointSlices,
//! its selected pods) that fail are recorded as required failures (exit 3);
//! optional reads that fail become `not_checked` entries.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::Resource;
use kube::api::{GetParams, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::wire::Object;
use super::wire::apps::{DaemonSet, Deployment, StatefulSet};
use super::wire::core::{ConfigMap, Event, Namespace, Pod, Service};
use super::wire::discovery::EndpointSlice;
use super::wire::networking::NetworkPolicy;

use super::capture::Kept;
use super::convert;
use super::retry;
use crate::analysis::Target;
use crate::cli::KubeArgs;
use crate::error::{Error, Result};
use crate::model::{
    self, ClusterState, KUBE_DNS, KUBE_SYSTEM, Kind, ReadFailure, SERVICE_NAME_LABEL,
};

/// Build a client from the kubeconfig and the kubectl-style flags; returns
/// it with the context's namespace.
pub async fn client(args: &KubeArgs) -> Result<(Client, String)> {
    let (client, namespace, _) = client_and_server(args).await?;
    Ok((client, namespace))
}

/// [`client`], with the API server's host (for a capture's record; no
/// port, no path, nothing from the credentials).
pub async fn client_and_server(args: &KubeArgs) -> Result<(Client, String, Option<String>)> {
    let opts = KubeConfigOptions {
        context: args.context.clone(),
        cluster: args.cluster.clone(),
        user: args.user.clone(),
    };
    let kubeconfig = match &args.kubeconfig {
        Some(path) => Some(read_kubeconfig(path)?),
        None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            // Like kubectl: several paths merge, missing files are skipped.
            Some(list) => {
                let mut merged: Option<Kubeconfig> = None;
                for path in std::env::split_paths(&list).filter(|p| p.exists()) {
                    let kc = read_kubeconfig(&path)?;
                    merged = Some(match merged {
                        Some(m) => m
                            .merge(kc)
                            .map_err(|e| Error::Kubeconfig(first_line(&chain(&e))))?,
                        None => kc,
                    });
                }
                merged
            }
            None => dirs_kubeconfig()
                .filter(|p| p.exists())
                .map(|p| read_kubeconfig(&p))
                .transpose()?,
        },
    };
    // Like kubectl: a --user or --cluster the kubeconfig does not define is an
    // error, not a silent fall-back to anonymous or the context's own.
    if let Some(kc) = &kubeconfig {
        if let Some(user) = &args.user
            && !kc.auth_infos.iter().any(|a| &a.name == user)
        {
            return Err(Error::Kubeconfig(format!(
                "auth info \"{user}\" does not exist in the kubeconfig"
            )));
        }
        if let Some(cluster) = &args.cluster
            && !kc.clusters.iter().any(|c| &c.name == cluster)
        {
            return Err(Error::Kubeconfig(format!(
                "cluster \"{cluster}\" does not exist in the kubeconfig"
            )));
        }
    }
    let mut config = match kubeconfig {
        Some(kc) => Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| Error::Kubeconfig(first_line(&chain(&e))))?,
        // Like kubectl, --server alone is enough (with --token for credentials).
        None if let Some(server) = &args.server => {
            Config::new(server.parse().map_err(|e| bad_server(server, e))?)
        }
        None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => Config::incluster()
            .map_err(|e| Error::Kubeconfig(format!("in-cluster configuration: {}", chain(&e))))?,
        None => {
            return Err(Error::Kubeconfig(
                "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config (use --snapshot to analyse files offline)".to_owned(),
            ));
        }
    };
    apply_access_flags(&mut config, args)?;
    if let Some(user) = &args.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !args.as_group.is_empty() {
        config.auth_info.impersonate_groups = Some(args.as_group.clone());
    }
    // --request-timeout bounds each request, connecting included (see
    // `Reader::run`); it is never the client's read timeout, which would cut
    // exec and port-forward streams.
    // kube's own retry layer tries every request again, writes included,
    // up to 15 times over minutes; reads are retried here instead, bounded
    // (`retry`), and nothing else is.
    config.default_retry = false;
    let namespace = config.default_namespace.clone();
    let server = config.cluster_url.host().map(str::to_owned);
    let client = Client::try_from(config).map_err(|e| Error::Kubeconfig(chain(&e)))?;
    Ok((client, namespace, server))
}

/// A `--server` value that does not parse as a URI.
fn bad_server(s: &str, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("--server {s}: not a URL: {e}"))
}

/// kubectl's cluster access flags, on top of whatever the kubeconfig said.
fn apply_access_flags(config: &mut Config, args: &KubeArgs) -> Result<()> {
    if let Some(server) = &args.server {
        config.cluster_url = server.parse().map_err(|e| bad_server(server, e))?;
    }
    if let Some(token) = &args.token {
        // The token replaces the kubeconfig's credentials, as with kubectl;
        // kube-rs would otherwise prefer a user/password or a token file.
        let auth = &mut config.auth_info;
        auth.token = Some(token.clone().into());
        auth.token_file = None;
        auth.username = None;
        auth.password = None;
        auth.auth_provider = None;
        auth.exec = None;
    }
    if let Some(path) = &args.certificate_authority {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            Error::Usage(format!("--certificate-authority {}: {e}", path.display()))
        })?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(Error::Usage(format!(
                "--certificate-authority {}: no PEM certificate in the file",
                path.display()
            )));
        }
        config.root_cert_file = Some(path.clone());
        config.accept_invalid_certs = false;
    }
    if args.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
        config.root_cert = None;
        config.root_cert_file = None;
    }
    Ok(())
}

/// The innermost cause of an error: for transport failures the telling part
/// ("Connection refused (os error 111)"), without wrapper noise.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        last = cause.to_string();
        src = cause.source();
    }
    // rustls appends a documentation link to some messages.
    match last.find(": https://") {
        Some(i) => last[..i].to_owned(),
        None => last,
    }
}

fn read_kubeconfig(path: &std::path::Path) -> Result<Kubeconfig> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(Error::Kubeconfig(format!(
            "cannot read {}: {e}",
            path.display()
        )));
    }
    Kubeconfig::read_from(path).map_err(|e| {
        Error::Kubeconfig(format!(
            "cannot read {}: {}",
            path.display(),
            first_line(&chain(&e))
        ))
    })
}

/// Parser errors carry a multi-line source snippet; the first line says it.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn dirs_kubeconfig() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kube").join("config"))
}

/// An error and its causes on one line, without Debug dumps.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

/// Issues reads with a per-request timeout and records failures.
pub(super) struct Reader {
    pub(super) client: Client,
    pub(super) timeout: Option<Duration>,
    /// `--save-snapshot`: every object read is kept here too.
    pub(super) kept: Option<Arc<Kept>>,
}

/// Why one read failed.
pub(super) struct Failed {
    pub(super) reason: String,
    pub(super) forbidden: bool,
    /// A Kubernetes `Status` said 404: the object does not exist.
    pub(super) not_found: bool,
    /// The answer was not what a Kubernetes API server sends (a web page, a
    /// proxy's error page): what came back, for the one error line.
    pub(super) not_api: Option<String>,
    /// The API server answered 401 for this path: the credentials are
    /// refused, which no other read will get past.
    pub(super) unauthorized: Option<String>,
}

impl Failed {
    pub(super) fn because(reason: String) -> Failed {
        Failed {
            reason,
            forbidden: false,
            not_found: false,
            not_api: None,
            unauthorized: None,
        }
    }

    pub(super) fn not_api(detail: String) -> Failed {
        Failed {
            reason: format!("this does not look like a Kubernetes API server: {detail}"),
            not_api: Some(detail),
            ..Failed::because(String::new())
        }
    }
}

/// How one attempt of a read failed.
pub(super) enum Attempt {
    /// `--request-timeout` ran out.
    TimedOut(Duration),
    /// No answer: the request could not be sent, or the connection broke
    /// before the status line.
    Send(kube::Error),
    /// A 2xx whose body broke off.
    Body(kube::Error),
    /// An error status, with the server's `Retry-After`.
    Status {
        code: u16,
        retry_after: Option<Duration>,
        status: Box<kube::core::Status>,
    },
    /// A body that is not UTF-8 text.
    NotUtf8,
}

impl Attempt {
    /// What makes it worth another attempt, if anything (see [`retry`]).
    fn transient(&self) -> Option<retry::Transient> {
        match self {
            Attempt::Status {
                code, retry_after, ..
            } if retry::transient_status(*code, *retry_after) => Some(retry::Transient::Status {
                code: *code,
                retry_after: *retry_after,
            }),
            Attempt::Send(e) if retry::broken_connection(e) => Some(retry::Transient::Broken),
            Attempt::Body(_) => Some(retry::Transient::Broken),
            _ => None,
        }
    }

    /// A few words for the -v log.
    fn short(&self) -> String {
        match self {
            Attempt::TimedOut(t) => format!("timed out after {}", humantime::format_duration(*t)),
            Attempt::Send(e) => root_cause(e),
            Attempt::Body(e) => format!("the answer broke off: {}", root_cause(e)),
            Attempt::Status {
                code, retry_after, ..
            } => match retry_after {
                Some(r) => format!("HTTP {code}, Retry-After {}s", r.as_secs()),
                None => format!("HTTP {code}"),
            },
            Attempt::NotUtf8 => "the answer is not UTF-8 text".to_owned(),
        }
    }

    /// The failure of the read, for its one line.
    fn into_failed(self, path: &str) -> Failed {
        match self {
            Attempt::TimedOut(t) => {
                Failed::because(format!("timed out after {}", humantime::format_duration(t)))
            }
            // Broken before the status line or in the body: one cause, one
            // wording, so that alike failures are told once, grouped.
            Attempt::Body(e) => Failed::because(broke(&e)),
            Attempt::Send(e) if retry::broken_connection(&e) => Failed::because(broke(&e)),
            Attempt::Send(e) => {
                Failed::because(format!("cannot reach the API server: {}", root_cause(&e)))
            }
            Attempt::NotUtf8 => Failed::not_api(format!("the answer for {path} is not UTF-8 text")),
            Attempt::Status {
                code,
                retry_after,
                status,
            } => status_failure(path, code, retry_after, &status),
        }
    }
}

/// The failure among `failed` that stops the whole run, in their order:
/// an answer that is not an API server's, or credentials it refuses (no
/// other read gets past those; a report of "not checked" everywhere would
/// hide the cause).
pub(super) fn fatal<'a>(failed: impl IntoIterator<Item = &'a Failed> + Clone) -> Option<Error> {
    if let Some(detail) = failed.clone().into_iter().find_map(|f| f.not_api.clone()) {
        return Some(Error::NotApiServer(format!(
            "{detail}; check the server address (--server, or the kubeconfig's cluster)"
        )));
    }
    failed
        .into_iter()
        .find_map(|f| f.unauthorized.clone())
        .map(|path| Error::Unauthorized { path })
}

/// A connection to the API server that broke during a request.
fn broke(e: &kube::Error) -> String {
    format!("the connection to the API server broke: {}", root_cause(e))
}

/// The failure an error status makes.
fn status_failure(
    path: &str,
    code: u16,
    retry_after: Option<Duration>,
    status: &kube::core::Status,
) -> Failed {
    let name = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("");
    let asked = retry_after
        .map(|r| format!(", Retry-After {}s", r.as_secs()))
        .unwrap_or_default();
    // A status that asks to come back is about load, from the API server
    // (its flow control sends 429 as plain text) or a proxy before it: it
    // says nothing of whether the server is a Kubernetes one.
    // A gateway's own error page (HTML, plain text) for a 502-504 is a
    // proxy's answer, told as such below; a 429 is the API server's too.
    if retry::transient_status(code, retry_after) && (code == 429 || is_kubernetes_status(status)) {
        let what = match code {
            429 => {
                "the API server is rejecting requests for now (too many requests: its flow control, or a rate limit in front of it)"
            }
            _ => "the API server, or a proxy in front of it, cannot answer for now",
        };
        let said = if is_kubernetes_status(status) && !status.message.is_empty() {
            format!("; it said: {}", first_line(&status.message))
        } else {
            String::new()
        };
        return Failed::because(format!("HTTP {code} {name}{asked}: {what}{said}"));
    }
    if !is_kubernetes_status(status) {
        let body = if status.reason == UNPARSED_ERROR_BODY {
            body_start(&status.message)
        } else {
            "a JSON body that is not a Kubernetes Status".to_owned()
        };
        return Failed::not_api(format!("HTTP {code} for {path}; {body}"));
    }
    Failed {
        reason: match code {
            401 => "Unauthorized: the API server rejected the credentials (a token that expired or was revoked, or a certificate it does not trust); log in again or refresh the kubeconfig".to_owned(),
            _ if status.message.is_empty() => format!("HTTP {code} {}", status.reason),
            _ => status.message.clone(),
        },
        forbidden: code == 403,
        not_found: code == 404,
        not_api: None,
        unauthorized: (code == 401).then(|| path.to_owned()),
    }
}

/// The same request again: reads are GETs with a small or empty body.
fn copy_request(req: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut out = http::Request::new(req.body().clone());
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    *out.headers_mut() = req.headers().clone();
    out
}

/// What kube-rs puts in `Status::reason` when an error body is not JSON.
const UNPARSED_ERROR_BODY: &str = "Failed to parse error data";

/// Whether an error status is one an API server sent: a `Status` object
/// (`"status": "Failure"`, a code, a reason), not a body kube-rs had to wrap
/// (HTML, plain text) or some other JSON.
fn is_kubernetes_status(status: &kube::core::Status) -> bool {
    status.status.is_some()
        && status.code != 0
        && !status.reason.is_empty()
        && status.reason != UNPARSED_ERROR_BODY
}

/// The start of a response body, on one line, for an error message.
fn body_start(body: &str) -> String {
    const MAX: usize = 60;
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "the body is empty".to_owned();
    }
    let cut: String = flat.chars().take(MAX).collect();
    let more = if cut.len() < flat.len() { "…" } else { "" };
    format!("body starts \"{cut}{more}\"")
}

/// The type fields of a response, to tell a Kubernetes object from any JSON.
#[derive(serde::Deserialize)]
struct TypeFields {
    #[serde(default)]
    kind: Option<String>,
}

/// Parse a 200 response as `kind`; anything else means the server is not an API server.
pub(super) fn parse_as<'a, T: Deserialize<'a>>(
    text: &'a str,
    kind: &str,
    path: &str,
) -> Result<T, Failed> {
    let not_api = |why: String| {
        Failed::not_api(format!(
            "HTTP 200 for {path} is not a {kind}: {why}; {}",
            body_start(text)
        ))
    };
    match serde_json::from_str::<TypeFields>(text) {
        Ok(t) if t.kind.as_deref() == Some(kind) => {}
        Ok(t) => {
            return Err(not_api(match t.kind {
                Some(k) => format!("its kind is {k}"),
                None => "it has no kind".to_owned(),
            }));
        }
        Err(e) => return Err(not_api(format!("not JSON ({e})"))),
    }
    serde_json::from_str(text).map_err(|e| not_api(e.to_string()))
}

impl Reader {
    /// One read of `path`, each attempt bounded by the timeout, tried again
    /// as [`retry`] says; its body as text.
    pub(super) async fn run(
        &self,
        path: &str,
        req: http::Request<Vec<u8>>,
    ) -> Result<String, Failed> {
        let started = std::time::Instant::now();
        let res = retry::retrying(
            async || self.attempt(path, copy_request(&req)).await,
            Attempt::transient,
            |failed, made, wait| {
                tracing::info!(
                    "GET {path}: {}; attempt {made} of {}, trying again in {} ms",
                    failed.short(),
                    retry::ATTEMPTS,
                    wait.as_millis()
                );
            },
        )
        .await;
        match res {
            Ok((text, made)) => {
                if made > 1 {
                    tracing::info!("GET {path}: answered on attempt {made}");
                }
                Ok(text)
            }
            Err(retry::Failure {
                error,
                made,
                gave_up,
            }) => {
                let mut f = error.into_failed(path);
                if let Some(why) = gave_up {
                    tracing::info!(
                        "GET {path}: giving up after {made} attempts in {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    let why = why.describe(made);
                    f.reason = format!("{}; {why}", f.reason);
                    if let Some(detail) = &mut f.not_api {
                        *detail = format!("{detail}; {why}");
                    }
                }
                Err(f)
            }
        }
    }

    /// One attempt: the request sent and its whole answer read, within the
    /// timeout.
    async fn attempt(&self, path: &str, req: http::Request<Vec<u8>>) -> Result<String, Attempt> {
        let started = std::time::Instant::now();
        let res = match self.timeout {
            Some(t) => match tokio::time::timeout(t, self.exchange(req)).await {
                Ok(r) => r,
                Err(_) => Err(Attempt::TimedOut(t)),
            },
            None => self.exchange(req).await,
        };
        // kubectl -v=6's request line, without headers (they hold the token).
        let ms = started.elapsed().as_millis();
        match &res {
            Ok(_) => tracing::debug!("GET {path}: OK in {ms} ms"),
            Err(a) => tracing::debug!("GET {path}: {} in {ms} ms", a.short()),
        }
        res
    }

    /// Send, then read the answer, telling where it broke.
    async fn exchange(&self, req: http::Request<Vec<u8>>) -> Result<String, Attempt> {
        use http_body_util::BodyExt as _;
        let res = self
            .client
            .send(req.map(kube::client::Body::from))
            .await
            .map_err(Attempt::Send)?;
        let code = res.status();
        let retry_after = res
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let bytes = match res.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if code.is_success() => return Err(Attempt::Body(e)),
            // An error status whose body broke: the status is the answer.
            Err(_) => Default::default(),
        };
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| Attempt::NotUtf8)?;
        if code.is_client_error() || code.is_server_error() {
            let status = serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
                kube::core::Status::failure(text.trim(), UNPARSED_ERROR_BODY)
                    .with_code(code.as_u16())
            });
            return Err(Attempt::Status {
                code: code.as_u16(),
                retry_after,
                status: Box::new(status),
            });
        }
        Ok(text)
    }

    /// A list of `W` in `namespace` (every namespace when `None`), one
    /// request.
    pub(super) async fn list<W: Object>(
        &self,
        namespace: Option<&str>,
        lp: ListParams,
    ) -> Result<Vec<W>, Failed> {
        self.list_pages(namespace, &lp, None, |w| w).await
    }

    /// Every page of a list (one request when `page` is `None`), each item
    /// decoded and converted by `f` as its page arrives, so a page's text
    /// is the most the list holds at once beside what `f` keeps.
    pub(super) async fn list_pages<W: Object, T>(
        &self,
        namespace: Option<&str>,
        lp: &ListParams,
        page: Option<u32>,
        f: impl Fn(W) -> T,
    ) -> Result<Vec<T>, Failed> {
        let path = W::Api::url_path(&(), namespace);
        let kind = format!("{}List", W::Api::kind(&()));
        let f = &f;
        paginate(|token| {
            let mut lp = lp.clone();
            if let Some(n) = page {
                lp = lp.limit(n);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let (path, kind) = (&path, &kind);
            async move {
                let req = kube::core::Request::new(path)
                    .list(&lp)
                    .map_err(|e| Failed::because(format!("cannot build the request: {e}")))?;
                let text = match self.run(path, req).await {
                    Ok(text) => text,
                    // A Kubernetes API server lists an empty set (200) even in
                    // a namespace that does not exist; a 404 for a list means
                    // the address is not (the root of) one.
                    Err(f) if f.not_found => {
                        return Err(Failed::not_api(format!(
                            "HTTP 404 for the list {path}; check the server address and its path"
                        )));
                    }
                    Err(f) => return Err(f),
                };
                let list: ListText<'_> = parse_as(&text, kind, path)?;
                let items = list.items.unwrap_or_default();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let w = decode_item::<W>(item.get(), path, i)?;
                    self.keep::<W>(item.get());
                    out.push(f(w));
                }
                Ok((out, list.metadata.and_then(|m| m.continue_)))
            }
        })
        .await
    }

    /// Keep what was read for the capture file, when one is written.
    fn keep<W: Object>(&self, text: &str) {
        if let Some(kept) = &self.kept {
            kept.keep_text(&W::Api::api_version(&()), &W::Api::kind(&()), text);
        }
    }

    /// One object, `None` when it does not exist.
    pub(super) async fn get<W: Object>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<W>, Failed> {
        let base = W::Api::url_path(&(), Some(namespace));
        let path = format!("{base}/{name}");
        let req = kube::core::Request::new(&base)
            .get(name, &GetParams::default())
            .map_err(|e| Failed::because(format!("cannot build the request: {e}")))?;
        match self.run(&path, req).await {
            Ok(text) => {
                let object: W = parse_as(&text, &W::Api::kind(&()), &path)?;
                self.keep::<W>(&text);
                Ok(Some(object))
            }
            Err(f) if f.not_found => Ok(None),
            Err(f) => Err(f),
        }
    }
}

/// A list answer as text: its items, each decoded on its own, and where the
/// next page starts.
#[derive(serde::Deserialize)]
struct ListText<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    metadata: Option<ListMetaText>,
}

#[derive(serde::Deserialize)]
struct ListMetaText {
    #[serde(rename = "continue", default)]
    continue_: Option<String>,
}

/// One item of a list answer, decoded.
fn decode_item<W: Object>(text: &str, path: &str, i: usize) -> Result<W, Failed> {
    serde_json::from_str(text).map_err(|e| {
        Failed::not_api(format!(
            "HTTP 200 for {path}: item {i} is not a {}: {e}",
            W::Api::kind(&())
        ))
    })
}

/// Most pages one list may take: a server that keeps sending a `continue`
/// token is not listing anything.
const MAX_PAGES: usize = 100_000;

/// Fetch pages until the server's `continue` token is empty. `fetch` gets
/// the token of the page to fetch (`None` for the first).
pub(super) async fn paginate<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Failed>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), Failed>>,
{
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = fetch(token.take()).await?;
        all.extend(items);
        match next.filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(all),
        }
    }
    Err(Failed::because(format!(
        "the list did not end after {MAX_PAGES} pages"
    )))
}

/// What one read was, for the record of its failure.
pub(super) struct Read<'a> {
    pub(super) verb: &'static str,
    pub(super) kind: Kind,
    pub(super) namespace: Option<&'a str>,
    pub(super) required: bool,
}

/// Record a read's outcome: on success `apply` stores what it read (and the
/// coverage it gives); on failure the state notes what failed and why.
pub(super) fn record<T>(
    state: &mut ClusterState,
    read: Read<'_>,
    result: Result<T, Failed>,
    apply: impl FnOnce(&mut ClusterState, T),
) {
    match result {
        Ok(value) => apply(state, value),
        Err(f) => {
            tracing::debug!(read.verb, kind = ?read.kind, ns = ?read.namespace, read.required, reason = %f.reason, "read failed");
            state.failures.push(ReadFailure {
                verb: read.verb,
                kind: read.kind,
                namespace: read.namespace.map(str::to_owned),
                reason: f.reason,
                forbidden: f.forbidden,
                required: read.required,
            });
        }
    }
}

fn labels(sel: &BTreeMap<String, String>) -> ListParams {
    ListParams::default().labels(&model::selector_string(sel))
}

/// Read everything a diagnosis of `target` needs. A server that answers
/// like no Kubernetes API server would is an error, not a state.
pub async fn read(
    client: Client,
    target: &Target,
    clients: &[String],
    timeout: Option<Duration>,
) -> Result<ClusterState> {
    read_kept(client, target, clients, timeout, None).await
}

/// [`read`], keeping every object read in `kept` (for `--save-snapshot`).
pub async fn read_kept(
    client: Client,
    target: &Target,
    clients: &[String],
    timeout: Option<Duration>,
    kept: Option<Arc<Kept>>,
) -> Result<ClusterState> {
    let r = Reader {
        client,
        timeout,
        kept,
    };
    let ns = target.namespace.as_str();
    let slice_sel: BTreeMap<String, String> =
        [(SERVICE_NAME_LABEL.to_owned(), target.name.clone())].into();
    let dns_slice_sel: BTreeMap<String, String> =
        [(SERVICE_NAME_LABEL.to_owned(), KUBE_DNS.to_owned())].into();
    let dns_pod_sel: BTreeMap<String, String> = [(
        model::DNS_APP_LABEL.0.to_owned(),
        model::DNS_APP_LABEL.1.to_owned(),
    )]
    .into();
    let names = looked_up_names(target);
    let policy_nss = policy_namespaces(target, clients);

    // The Service, then at once its selected pods; beside it, everything that
    // does not depend on its selector. All in flight together.
    let svc_then_pods = async {
        let svc = r.get::<Service>(ns, &target.name).await;
        let selector = match &svc {
            Ok(Some(s)) => s
                .spec
                .as_ref()
                .and_then(|spec| spec.selector.clone())
                .filter(|m| !m.is_empty()),
            _ => None,
        };
        let pods = match &selector {
            Some(sel) => Some(r.list::<Pod>(Some(ns), labels(sel)).await),
            None => None,
        };
        (svc, selector, pods)
    };
    let (
        (svc, selector, selected_pods),
        slices,
        events,
        named,
        ns_services,
        namespaces,
        dns_svc,
        dns_slices,
        dns_pods,
        corefile,
        nld,
        statefulsets,
        policies,
    ) = tokio::join!(
        svc_then_pods,
        r.list::<EndpointSlice>(Some(ns), labels(&slice_sel)),
        r.list::<Event>(Some(ns), ListParams::default().fields("type=Warning")),
        named_services(&r, &names),
        r.list::<Service>(Some(ns), ListParams::default()),
        list_namespaces(&r),
        r.get::<Service>(KUBE_SYSTEM, KUBE_DNS),
        r.list::<EndpointSlice>(Some(KUBE_SYSTEM), labels(&dns_slice_sel)),
        r.list::<Pod>(Some(KUBE_SYSTEM), labels(&dns_pod_sel)),
        r.get::<ConfigMap>(KUBE_SYSTEM, "coredns"),
        r.get::<DaemonSet>(KUBE_SYSTEM, "node-local-dns"),
        r.list::<StatefulSet>(Some(ns), ListParams::default()),
        network_policies(&r, &policy_nss),
    );

    // In a fixed order, so that the message names the same request each time.
    let failed = [
        svc.as_ref().err(),
        selected_pods.as_ref().and_then(|p| p.as_ref().err()),
        slices.as_ref().err(),
        events.as_ref().err(),
        named.iter().find_map(|(_, res)| res.as_ref().err()),
        ns_services.as_ref().err(),
        namespaces.as_ref().err(),
        dns_svc.as_ref().err(),
        dns_slices.as_ref().err(),
        dns_pods.as_ref().err(),
        corefile.as_ref().err(),
        nld.as_ref().err(),
        policies.iter().find_map(|(_, res)| res.as_ref().err()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    if let Some(err) = fatal(failed.iter().copied()) {
        return Err(err);
    }

    let mut state = ClusterState {
        origin: model::Origin::Live,
        ..ClusterState::default()
    };
    let optional = |verb, kind, ns| Read {
        verb,
        kind,
        namespace: ns,
        required: false,
    };
    let required = |verb, kind, ns| Read {
        verb,
        kind,
        namespace: ns,
        required: true,
    };

    // The Services of the names the name forms look up, in every namespace.
    let mut named_failure = None;
    for (name, result) in named {
        match result {
            Ok(items) => {
                for s in items.into_iter().map(convert::service) {
                    if state.service(&s.namespace, &s.name).is_none() {
                        state.services.push(s);
                    }
                }
                state.coverage.add_named_everywhere(Kind::Service, &name);
            }
            Err(f) => {
                named_failure.get_or_insert(f);
            }
        }
    }
    if let Some(f) = named_failure {
        // One record for the three lists: they fail alike.
        record(
            &mut state,
            optional("list", Kind::Service, None),
            Err::<(), _>(f),
            |_, ()| {},
        );
    }
    let not_found = matches!(svc, Ok(None));
    let mut target_svc = None;
    record(
        &mut state,
        required("get", Kind::Service, Some(ns)),
        svc,
        |st, found| {
            st.coverage.add_object(Kind::Service, ns, &target.name);
            target_svc = found.map(convert::service);
            if let Some(s) = &target_svc
                && st.service(ns, &s.name).is_none()
            {
                st.services.push(s.clone());
            }
        },
    );
    record(
        &mut state,
        required("list", Kind::EndpointSlice, Some(ns)),
        slices,
        |st, items| {
            st.endpoint_slices
                .extend(items.into_iter().map(convert::endpoint_slice));
            st.coverage
                .add_selection(Kind::EndpointSlice, ns, &slice_sel);
        },
    );
    record(
        &mut state,
        optional("list", Kind::Event, Some(ns)),
        events,
        |st, items| {
            st.events.extend(items.into_iter().map(convert::core_event));
            st.coverage.add_namespace(Kind::Event, ns);
        },
    );
    record(
        &mut state,
        optional("list", Kind::Namespace, None),
        namespaces,
        |st, names| {
            for (name, labels) in names {
                st.namespace_labels.insert(&name, labels);
                st.namespaces.insert(name);
            }
            st.coverage.add_all(Kind::Namespace);
        },
    );
    for (pns, result) in policies {
        record(
            &mut state,
            Read {
                verb: "list",
                kind: Kind::NetworkPolicy,
                namespace: Some(pns.as_str()),
                required: false,
            },
            result,
            |st, items| {
                for p in items.into_iter().map(convert::network_policy_or_skipped) {
                    match p {
                        Ok(p) => st.network_policies.push(p),
                        Err(s) => st.skipped.push(s),
                    }
                }
                st.coverage.add_namespace(Kind::NetworkPolicy, &pns);
            },
        );
    }
    record(
        &mut state,
        optional("get", Kind::Service, Some(KUBE_SYSTEM)),
        dns_svc,
        |st, found| {
            st.coverage.add_object(Kind::Service, KUBE_SYSTEM, KUBE_DNS);
            if let Some(s) = found.map(convert::service)
                && st.service(KUBE_SYSTEM, KUBE_DNS).is_none()
            {
                st.services.push(s);
            }
        },
    );
    // The Services of the target's namespace: close names when it does not
    // exist (then required, as nothing else tells), the StatefulSets'
    // governing Services, and every lookup the name forms make there.
    record(
        &mut state,
        if not_found {
            required("list", Kind::Service, Some(ns))
        } else {
            optional("list", Kind::Service, Some(ns))
        },
        ns_services,
        |st, items| {
            // The target and the named lists' Services of `ns` are there already.
            let known: std::collections::HashSet<String> = st
                .services
                .iter()
                .filter(|s| s.namespace == ns)
                .map(|s| s.name.clone())
                .collect();
            st.services.extend(
                items
                    .into_iter()
                    .map(convert::service)
                    .filter(|s| !known.contains(&s.name)),
            );
            st.coverage.add_namespace(Kind::Service, ns);
        },
    );
    record(
        &mut state,
        optional("list", Kind::EndpointSlice, Some(KUBE_SYSTEM)),
        dns_slices,
        |st, items| {
            // The target's own slices when it is kube-dns: the same list.
            for slice in items.into_iter().map(convert::endpoint_slice) {
                if !st
                    .endpoint_slices
                    .iter()
                    .any(|s| s.namespace == slice.namespace && s.name == slice.name)
                {
                    st.endpoint_slices.push(slice);
                }
            }
            st.coverage
                .add_selection(Kind::EndpointSlice, KUBE_SYSTEM, &dns_slice_sel);
        },
    );
    record(
        &mut state,
        optional("list", Kind::Pod, Some(KUBE_SYSTEM)),
        dns_pods,
        |st, items| {
            st.pods.extend(items.into_iter().map(convert::pod));
            st.coverage
                .add_selection(Kind::Pod, KUBE_SYSTEM, &dns_pod_sel);
        },
    );
    record(
        &mut state,
        optional("get", Kind::ConfigMap, Some(KUBE_SYSTEM)),
        corefile,
        |st, found| {
            st.coverage
                .add_object(Kind::ConfigMap, KUBE_SYSTEM, "coredns");
            st.config_maps.extend(found.and_then(convert::config_map));
        },
    );
    record(
        &mut state,
        optional("get", Kind::DaemonSet, Some(KUBE_SYSTEM)),
        nld,
        |st, found| {
            st.coverage
                .add_object(Kind::DaemonSet, KUBE_SYSTEM, "node-local-dns");
            st.workloads.extend(found.map(convert::daemon_set));
        },
    );

    record(
        &mut state,
        optional("list", Kind::StatefulSet, Some(ns)),
        statefulsets,
        |st, items| {
            st.workloads
                .extend(items.into_iter().map(convert::stateful_set));
            st.coverage.add_namespace(Kind::StatefulSet, ns);
        },
    );

    // What the Service's outcome calls for.
    if let (Some(_), Some(sel), Some(result)) = (&target_svc, &selector, selected_pods) {
        let mut matched = false;
        record(
            &mut state,
            required("list", Kind::Pod, Some(ns)),
            result,
            |st, items| {
                // kube-dns selects the CoreDNS pods, read already.
                for pod in items.into_iter().map(convert::pod) {
                    if !st
                        .pods
                        .iter()
                        .any(|p| p.namespace == pod.namespace && p.name == pod.name)
                    {
                        st.pods.push(pod);
                    }
                }
                st.coverage.add_selection(Kind::Pod, ns, sel);
                matched = st.pods.iter().any(|p| p.namespace == ns && p.matches(sel));
            },
        );
        let pods_read = !state
            .failures
            .iter()
            .any(|f| f.required && f.kind == Kind::Pod);
        if !matched && pods_read {
            near_miss_reads(&r, ns, &mut state).await;
            // Pods with every selector label in other namespaces.
            let result = r.list::<Pod>(None, labels(sel)).await;
            record(
                &mut state,
                optional("list", Kind::Pod, None),
                result,
                |st, items| {
                    st.pods.extend(
                        items
                            .into_iter()
                            .map(convert::pod)
                            .filter(|p| p.namespace != ns),
                    );
                    st.coverage.add_selection_everywhere(Kind::Pod, sel);
                },
            );
        } else if pods_read {
            // Pods the selector leaves out (selector-excludes-pods).
            let result = r.list::<Pod>(Some(ns), ListParams::default()).await;
            record(
                &mut state,
                optional("list", Kind::Pod, Some(ns)),
                result,
                |st, items| {
                    st.pods.retain(|p| p.namespace != ns);
                    st.pods.extend(items.into_iter().map(convert::pod));
                    st.coverage.add_namespace(Kind::Pod, ns);
                },
            );
        }
    }
    // An ExternalName among the Services the name forms reach is a CNAME
    // CoreDNS follows to names of any namespace: then every Service.
    if reaches_external_name(&state, target, &names) {
        let result = r.list::<Service>(None, ListParams::default()).await;
        record(
            &mut state,
            optional("list", Kind::Service, None),
            result,
            |st, items| {
                for s in items.into_iter().map(convert::service) {
                    if st.service(&s.namespace, &s.name).is_none() {
                        st.services.push(s);
                    }
                }
                st.coverage.add_all(Kind::Service);
            },
        );
    }
    // In the API's order (namespace, then name), whatever read them.
    state
        .services
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(state)
}

/// The Service names a diagnosis of `target` looks up in every namespace:
/// its name (the same name elsewhere answers the short name there, and is
/// hinted when it does not exist), its namespace's name (`svc.ns` from a
/// namespace holding a Service named `ns`), and `svc` (`svc.ns.svc` from a
/// namespace holding a Service named `svc`).
pub fn looked_up_names(target: &Target) -> Vec<String> {
    let mut names = vec![target.name.clone()];
    for n in [target.namespace.as_str(), "svc"] {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    }
    names
}

/// The Services named `names`, in every namespace: one list each, by
/// `fieldSelector=metadata.name=NAME` (the answer's size does not grow with
/// the cluster).
async fn named_services(
    r: &Reader,
    names: &[String],
) -> Vec<(String, Result<Vec<Service>, Failed>)> {
    let lists = names.iter().map(|name| async move {
        let lp = ListParams::default().fields(&format!("metadata.name={name}"));
        (name.clone(), r.list::<Service>(None, lp).await)
    });
    futures::future::join_all(lists).await
}

/// Whether the name forms of `target` reach an ExternalName Service: the
/// target, or a Service of one of the looked-up names.
fn reaches_external_name(state: &ClusterState, target: &Target, names: &[String]) -> bool {
    !state.coverage.covers_all(Kind::Service)
        && state.services.iter().any(|s| {
            s.type_ == model::ServiceType::ExternalName
                && (names.contains(&s.name)
                    || (s.namespace == target.namespace && s.name == target.name))
        })
}

async fn list_namespaces(r: &Reader) -> Result<Vec<(String, BTreeMap<String, String>)>, Failed> {
    let items = r.list::<Namespace>(None, ListParams::default()).await?;
    Ok(items.into_iter().filter_map(convert::namespace).collect())
}

/// The namespaces whose NetworkPolicies a diagnosis of `target` reads:
/// the target's (its backends' ingress, its own clients' egress), the
/// client namespaces named (`--from-namespace`, the `--from` pod's) and
/// kube-system (the DNS pods' ingress), each once, sorted.
pub fn policy_namespaces(target: &Target, clients: &[String]) -> Vec<String> {
    let mut out: Vec<String> = [target.namespace.as_str(), KUBE_SYSTEM]
        .into_iter()
        .map(str::to_owned)
        .chain(clients.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The NetworkPolicies of `namespaces`: one list per namespace (a
/// namespace-scoped Role can grant it; an all-namespaces list needs a
/// ClusterRole, which fewer users hold).
async fn network_policies(
    r: &Reader,
    namespaces: &[String],
) -> Vec<(String, Result<Vec<NetworkPolicy>, Failed>)> {
    let lists = namespaces.iter().map(|ns| async move {
        (
            ns.clone(),
            r.list::<NetworkPolicy>(Some(ns), ListParams::default())
                .await,
        )
    });
    futures::future::join_all(lists).await
}

/// The selector matched nothing: read the namespace's pods and workload
/// templates for near-miss hints (optional reads).
async fn near_miss_reads(r: &Reader, ns: &str, state: &mut ClusterState) {
    // StatefulSets are read with everything else.
    let (pods, deployments, daemonsets) = tokio::join!(
        r.list::<Pod>(Some(ns), ListParams::default()),
        r.list::<Deployment>(Some(ns), ListParams::default()),
        r.list::<DaemonSet>(Some(ns), ListParams::default()),
    );
    let optional = |kind| Read {
        verb: "list",
        kind,
        namespace: Some(ns),
        required: false,
    };
    record(state, optional(Kind::Pod), pods, |st, items| {
        st.pods.retain(|p| p.namespace != ns);
        st.pods.extend(items.into_iter().map(convert::pod));
        st.coverage.add_namespace(Kind::Pod, ns);
    });
    let workloads = [
        (
            Kind::Deployment,
            deployments.map(|v| v.into_iter().map(convert::deployment).collect::<Vec<_>>()),
        ),
        (
            Kind::DaemonSet,
            daemonsets.map(|v| v.into_iter().map(convert::daemon_set).collect()),
        ),
    ];
    for (kind, result) in workloads {
        record(state, optional(kind), result, |st, items| {
            st.workloads.extend(items);
            st.coverage.add_namespace(kind, ns);
        });
    }
}

/// Read one pod (the `--from` pod, when it is outside the namespaces the
/// diagnosis read). The error is one line: not found, forbidden, or why.
pub async fn read_pod(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<crate::model::Pod, String> {
    let url = <Pod as Object>::Api::url_path(&(), Some(namespace));
    let req = kube::core::Request::new(url)
        .get(name, &GetParams::default())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    match client.request::<Pod>(req).await {
        Ok(p) => Ok(super::convert::pod(p)),
        Err(kube::Error::Api(s)) if s.code == 404 => {
            Err(format!("no pod {name} in namespace {namespace}"))
        }
        Err(kube::Error::Api(s)) if s.code == 403 => Err(format!(
            "get pods in namespace {namespace} is forbidden: {}",
            s.message
        )),
        Err(e) => Err(chain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    #[test]
    fn only_a_status_object_counts_as_the_api_servers_answer() {
        let not_found = Status::failure("services \"web\" not found", "NotFound").with_code(404);
        assert!(is_kubernetes_status(&not_found));
        // What kube-rs makes of an HTML or plain-text error body.
        let wrapped = Status::failure("<html>Not Found</html>", UNPARSED_ERROR_BODY).with_code(404);
        assert!(!is_kubernetes_status(&wrapped));
        // Some other JSON error body: no status, no code.
        let other: Status = serde_json::from_str(r#"{"message":"no route"}"#).unwrap();
        assert!(!is_kubernetes_status(&other));
    }

    #[test]
    fn a_200_must_be_the_kind_asked_for() {
        let path = "/api/v1/namespaces/default/services/web";
        let svc = r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"web"}}"#;
        assert!(parse_as::<Service>(svc, "Service", path).is_ok());
        for body in [
            "{}",
            r#"{"kind":"Pod","apiVersion":"v1"}"#,
            "<html>Sign in</html>",
        ] {
            let f = parse_as::<Service>(body, "Service", path).unwrap_err();
            let detail = f.not_api.unwrap_or_else(|| panic!("{body}: {}", f.reason));
            assert!(
                detail.starts_with(&format!("HTTP 200 for {path} is not a Service")),
                "{detail}"
            );
        }
    }

    #[test]
    fn body_starts_are_short_and_on_one_line() {
        assert_eq!(
            body_start("  <html>\r\n  <head>"),
            "body starts \"<html> <head>\""
        );
        let long = body_start(&"x".repeat(500));
        assert!(long.ends_with("…\"") && long.chars().count() < 80, "{long}");
        assert_eq!(body_start(" \n"), "the body is empty");
    }
}

/// The names of the Services or running pods of a namespace, or of every
/// namespace (`namespace` `None`), for shell completion: metadata only, at
/// most 500, sorted.
pub async fn names(
    client: &Client,
    kind: NameKind,
    namespace: Option<&str>,
) -> Result<Vec<String>> {
    use k8s_openapi::api::core::v1 as core;
    use kube::api::Api;
    async fn list<K>(api: Api<K>, lp: ListParams) -> Result<Vec<String>>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let list = api
            .list_metadata(&lp)
            .await
            .map_err(|e| Error::Connect(root_cause(&e)))?;
        let mut names: Vec<String> = list
            .items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect();
        names.sort();
        Ok(names)
    }
    let lp = ListParams::default().limit(500);
    let c = client.clone();
    match (kind, namespace) {
        (NameKind::Namespaces, _) => list(Api::<core::Namespace>::all(c), lp).await,
        (NameKind::Services, Some(ns)) => list(Api::<core::Service>::namespaced(c, ns), lp).await,
        (NameKind::Services, None) => list(Api::<core::Service>::all(c), lp).await,
        (NameKind::RunningPods, ns) => {
            let lp = lp.fields("status.phase=Running");
            match ns {
                Some(ns) => list(Api::<core::Pod>::namespaced(c, ns), lp).await,
                None => list(Api::<core::Pod>::all(c), lp).await,
            }
        }
    }
}

/// What [`names`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Services,
    Namespaces,
    RunningPods,
}
