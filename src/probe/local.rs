//! `--probe local`: CoreDNS asked from the tool's own process, for clusters
//! where no probe pod may be created.
//!
//! [`resolve_local`] opens one port-forward (`pods/portforward`, through the
//! API server) to TCP port 53 of a CoreDNS pod and speaks DNS over TCP on
//! it: a 2-byte length prefix per message (RFC 1035 §4.2.2), one query at a
//! time, replies matched by ID and question. Each absolute candidate is
//! asked alone, type A, recursion desired; hickory only encodes and decodes
//! the messages and never searches (its resolver reports the error of the
//! *last* candidate it tried, DNS.md §5). glibc's search is then replayed
//! over the per-candidate answers ([`observe_name`]), as the pod probe does
//! when it has no getent.
//!
//! Everything except [`resolve_local`] and its connection is pure and unit
//! tested: the query encoding, the framing ([`take_frame`]), the reading of
//! a reply ([`classify`]) and the replay.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use hickory_resolver::proto::ProtoError;
use hickory_resolver::proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RecordType};
use hickory_resolver::proto::serialize::binary::DecodeError;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::Portforwarder;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::{Instant, timeout_at};

use super::observe::{Observed, ObservedCandidate, ObservedRcode, replayed};
use super::parse::ResolverSeen;
use super::script::{ProbeRequest, TypedName};
use crate::analysis::ResolverConf;

/// The DNS port of the CoreDNS pod.
const DNS_PORT: u16 = 53;
/// How long a port-forward may take to close cleanly before it is aborted.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What one absolute name got when asked alone (type A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalAnswer {
    /// NOERROR with A records: their addresses, in answer order.
    Data(Vec<String>),
    /// NOERROR without an A record.
    Nodata,
    Nxdomain,
    /// SERVFAIL, or another failure code (REFUSED, NOTIMP, FORMERR…),
    /// which glibc treats alike; the code as DNS names it.
    Servfail(String),
    /// No reply within the per-query timeout.
    Timeout,
}

impl LocalAnswer {
    fn rcode(&self) -> ObservedRcode {
        match self {
            LocalAnswer::Data(_) => ObservedRcode::Noerror,
            LocalAnswer::Nodata => ObservedRcode::Nodata,
            LocalAnswer::Nxdomain => ObservedRcode::Nxdomain,
            LocalAnswer::Servfail(_) => ObservedRcode::Servfail,
            LocalAnswer::Timeout => ObservedRcode::Timeout,
        }
    }
}

/// One typed name and what was observed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalName {
    pub typed: String,
    pub observed: Observed,
}

/// The result of [`resolve_local`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalObservation {
    /// One per typed name of the request, in request order.
    pub names: Vec<LocalName>,
    /// Every absolute name asked (each once), in the order asked, with its
    /// answer; the wildcard checks come last.
    pub asked: Vec<(String, LocalAnswer)>,
    /// The wildcard-check names that answered with data: a wildcard record
    /// that would swallow search candidates.
    pub wildcard_hits: Vec<String>,
}

impl LocalObservation {
    /// The observed fields for `typed`, as `probe::observe` gives them for
    /// the pod probe.
    pub fn observed(&self, typed: &str) -> Option<&Observed> {
        self.names
            .iter()
            .find(|n| n.typed == typed)
            .map(|n| &n.observed)
    }
}

/// Why [`resolve_local`] could not observe anything.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The API server refused the port-forward (403), with the verb it
    /// refused ([`LocalError::refused_verb`]: a WebSocket port-forward needs
    /// `get` and `create`).
    #[error(
        "port-forward to pod {namespace}/{pod} is forbidden: {verb} pods/portforward was refused; it needs `get` and `create` on pods/portforward in namespace {namespace}",
        verb = refused_verb_of(.source)
    )]
    Forbidden {
        namespace: String,
        pod: String,
        #[source]
        source: kube::Error,
    },
    /// The CoreDNS pod does not exist (404).
    #[error("cannot port-forward to pod {namespace}/{pod}: the pod does not exist")]
    PodNotFound {
        namespace: String,
        pod: String,
        #[source]
        source: kube::Error,
    },
    /// The port-forward could not be opened for another reason.
    #[error("cannot open a port-forward to pod {namespace}/{pod} port 53: {source}")]
    PortForward {
        namespace: String,
        pod: String,
        #[source]
        source: kube::Error,
    },
    /// The port-forward opened but failed: the kubelet could not reach the
    /// port, or the stream closed and could not be reopened.
    #[error("port-forward to pod {namespace}/{pod} port 53 failed: {message}")]
    Connection {
        namespace: String,
        pod: String,
        message: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// The whole call took longer than its timeout.
    #[error("local DNS probe through pod {namespace}/{pod}: no result within {} s ({doing})", after.as_millis().div_ceil(1000))]
    Timeout {
        namespace: String,
        pod: String,
        /// What was under way when the time ran out.
        doing: String,
        after: Duration,
    },
    /// A name hickory cannot encode (the request's names are checked, so
    /// this should not happen).
    #[error("cannot encode a DNS query for `{name}`: {source}")]
    Encode {
        name: String,
        #[source]
        source: ProtoError,
    },
    /// A reply that is not a DNS message.
    #[error("malformed DNS reply from pod {namespace}/{pod} to the query for `{name}`: {source}")]
    BadReply {
        namespace: String,
        pod: String,
        name: String,
        #[source]
        source: DecodeError,
    },
}

/// Ask CoreDNS, through a port-forward to pod `dns_pod` (namespace, name),
/// every absolute candidate of every typed name of `req`, and every
/// wildcard check, then replay glibc's search for each typed name.
///
/// `conf` is the resolver configuration the request's candidates were
/// computed from (`TypedName::from_conf`); it is reported as the observed
/// resolver. Each query waits at most `req.timeout_secs()` (a query with
/// no reply is a TIMEOUT candidate, and the next is asked); `timeout`
/// bounds the whole call, opening and closing the port-forward included
/// ([`LocalError::Timeout`]). The port-forward is closed on every path.
///
/// What this does not see: the kube-dns ClusterIP (kube-proxy), a NodeLocal
/// DNSCache, NetworkPolicy, the client's own resolv.conf, and UDP. Each
/// observed row carries a note saying so.
pub async fn resolve_local(
    client: kube::Client,
    dns_pod: (&str, &str),
    req: &ProbeRequest,
    conf: &ResolverConf,
    timeout: Duration,
) -> Result<LocalObservation, LocalError> {
    let mut all =
        resolve_local_many(client, dns_pod, &[(req.clone(), conf.clone())], timeout).await?;
    // One request in, one observation out.
    all.pop().ok_or_else(|| LocalError::Connection {
        namespace: dns_pod.0.to_owned(),
        pod: dns_pod.1.to_owned(),
        message: "no observation came back".to_owned(),
        source: None,
    })
}

/// [`resolve_local`] for several requests (one per client resolver: a
/// scan's every name) over **one** port-forward: every absolute name of
/// all of them asked once, then each request's typed names replayed under
/// its own `conf`. One observation per request, in order; `timeout`
/// bounds the whole call.
pub async fn resolve_local_many(
    client: kube::Client,
    dns_pod: (&str, &str),
    reqs: &[(ProbeRequest, ResolverConf)],
    timeout: Duration,
) -> Result<Vec<LocalObservation>, LocalError> {
    let (namespace, pod) = dns_pod;
    let deadline = Instant::now() + timeout;
    let mut session = Session {
        api: Api::namespaced(client, namespace),
        namespace,
        pod,
        conn: None,
        next_id: 0x5d1c,
        deadline,
        timeout,
    };
    let result = ask_all(&mut session, reqs.iter().map(|(r, _)| r)).await;
    // Close cleanly on every path, bounded by what is left of the deadline
    // (at most CLOSE_GRACE); dropping the connection aborts it anyway.
    if let Some(conn) = session.conn.take() {
        conn.close(deadline).await;
    }
    let asked = result?;
    let by_name: HashMap<&str, &LocalAnswer> = asked.iter().map(|(n, a)| (n.as_str(), a)).collect();
    Ok(reqs
        .iter()
        .map(|(req, conf)| {
            let own: Vec<(String, LocalAnswer)> = names_to_ask(req)
                .into_iter()
                .filter_map(|n| by_name.get(n).map(|a| (n.to_owned(), (*a).clone())))
                .collect();
            observation(req, conf, namespace, pod, own)
        })
        .collect())
}

/// Every absolute name of `req`, each once: candidates in request order,
/// then the wildcard checks.
fn names_to_ask(req: &ProbeRequest) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let all = req
        .names()
        .iter()
        .flat_map(|n| n.candidates.iter())
        .chain(req.wildcard_checks());
    for name in all {
        if !out.contains(&name.as_str()) {
            out.push(name);
        }
    }
    out
}

/// Every absolute name of `reqs`, each once, in order.
async fn ask_all<'r>(
    session: &mut Session<'_>,
    reqs: impl Iterator<Item = &'r ProbeRequest>,
) -> Result<Vec<(String, LocalAnswer)>, LocalError> {
    let mut asked: Vec<(String, LocalAnswer)> = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for req in reqs {
        let per_query = Duration::from_secs(u64::from(req.timeout_secs()));
        for name in names_to_ask(req) {
            if !seen.insert(name) {
                continue;
            }
            let answer = session.ask(name, per_query).await?;
            asked.push((name.to_owned(), answer));
        }
    }
    Ok(asked)
}

/// The observation from the answers: each typed name replayed, and the
/// wildcard hits.
fn observation(
    req: &ProbeRequest,
    conf: &ResolverConf,
    namespace: &str,
    pod: &str,
    asked: Vec<(String, LocalAnswer)>,
) -> LocalObservation {
    let resolver = ResolverSeen {
        nameservers: vec![format!("{namespace}/{pod} (port-forward)")],
        search: conf.search.clone(),
        ndots: conf.ndots,
    };
    let by_name: HashMap<&str, &LocalAnswer> = asked.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let names = req
        .names()
        .iter()
        .map(|n| LocalName {
            typed: n.typed.clone(),
            observed: observe_name(n, &by_name, &resolver, namespace, pod),
        })
        .collect();
    let wildcard_hits = req
        .wildcard_checks()
        .iter()
        .filter(|w| matches!(by_name.get(w.as_str()), Some(LocalAnswer::Data(_))))
        .cloned()
        .collect();
    LocalObservation {
        names,
        asked,
        wildcard_hits,
    }
}

/// glibc's search replayed over the answers of `name`'s candidates: it goes
/// on past NXDOMAIN, NODATA, SERVFAIL and timeouts and stops at the first
/// candidate with data. Every candidate is listed, also those after the
/// one that answered (asked anyway, as the pod probe does).
pub fn observe_name(
    name: &TypedName,
    answers: &HashMap<&str, &LocalAnswer>,
    resolver: &ResolverSeen,
    namespace: &str,
    pod: &str,
) -> Observed {
    let mut notes = vec![format!(
        "asked from this machine through a port-forward to {namespace}/{pod}: this skips the kube-dns ClusterIP, a NodeLocal DNSCache and NetworkPolicy; glibc's search replayed over type A answers"
    )];
    let mut candidates = Vec::with_capacity(name.candidates.len());
    let mut first_data = None;
    for c in &name.candidates {
        let Some(answer) = answers.get(c.as_str()) else {
            notes.push(format!("{c} was not asked"));
            continue;
        };
        if let LocalAnswer::Servfail(code) = answer
            && code != "SERVFAIL"
        {
            notes.push(format!("{c} got {code} (counted as SERVFAIL)"));
        }
        if let (None, LocalAnswer::Data(addrs)) = (&first_data, answer) {
            first_data = Some((c.clone(), addrs.clone()));
        }
        candidates.push(ObservedCandidate {
            name: c.clone(),
            rcode: answer.rcode(),
        });
    }
    let (status, mut addresses, answered_by) = replayed(&candidates, first_data, false, &mut notes);
    super::observe::sort_addresses(&mut addresses);
    Observed {
        status,
        addresses,
        answered_by,
        candidates,
        via: crate::model::Via::Local,
        resolver: resolver.clone(),
        as_predicted: None,
        notes,
    }
}

/// A type A query for the absolute name `name`, recursion desired, framed
/// for TCP (2-byte big-endian length, then the message). No EDNS.
pub fn encode_query(id: u16, name: &str) -> Result<Vec<u8>, ProtoError> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name)?, RecordType::A));
    let body = msg.to_vec()?;
    let len = u16::try_from(body.len())
        .map_err(|_| ProtoError::from(format!("query for {name} too long")))?;
    let mut framed = Vec::with_capacity(body.len() + 2);
    framed.extend(len.to_be_bytes());
    framed.extend(body);
    Ok(framed)
}

/// Takes the first complete message off `buf` (DNS-over-TCP framing), or
/// `None` while it holds less than one whole message.
pub fn take_frame(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let [hi, lo, ..] = buf[..] else { return None };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if buf.len() < 2 + len {
        return None;
    }
    let msg = buf[2..2 + len].to_vec();
    buf.drain(..2 + len);
    Some(msg)
}

/// Whether `reply` answers the query `id` for `name`.
pub fn answers_query(reply: &Message, id: u16, name: &Name) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.first().is_some_and(|q| &q.name == name)
}

/// What a reply says about its name: NOERROR with A records is data,
/// NOERROR without one NODATA (a CNAME alone included), NXDOMAIN, and any
/// other code counts as SERVFAIL, as glibc's `res_send` treats them.
pub fn classify(reply: &Message) -> LocalAnswer {
    match reply.metadata.response_code {
        ResponseCode::NoError => {
            let addrs: Vec<String> = reply
                .answers
                .iter()
                .filter(|r| r.record_type() == RecordType::A)
                .filter_map(|r| r.data.ip_addr())
                .map(|ip| ip.to_string())
                .collect();
            if addrs.is_empty() {
                LocalAnswer::Nodata
            } else {
                LocalAnswer::Data(addrs)
            }
        }
        ResponseCode::NXDomain => LocalAnswer::Nxdomain,
        other => LocalAnswer::Servfail(rcode_name(other)),
    }
}

/// The mnemonic of a failure code, as dig prints it.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        ResponseCode::YXDomain => "YXDOMAIN".to_owned(),
        ResponseCode::YXRRSet => "YXRRSET".to_owned(),
        ResponseCode::NXRRSet => "NXRRSET".to_owned(),
        ResponseCode::NotAuth => "NOTAUTH".to_owned(),
        ResponseCode::NotZone => "NOTZONE".to_owned(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// The port-forward and its state for one call.
struct Session<'a> {
    api: Api<Pod>,
    namespace: &'a str,
    pod: &'a str,
    conn: Option<Conn>,
    next_id: u16,
    deadline: Instant,
    timeout: Duration,
}

/// A connection failure inside one query: the stream ended or failed.
enum Broken {
    /// The stream closed or failed; reopening may help.
    Closed(String, Option<std::io::Error>),
    /// The kubelet reported an error for the port: reopening will not help.
    Refused(String),
}

impl Session<'_> {
    fn timed_out(&self, doing: String) -> LocalError {
        LocalError::Timeout {
            namespace: self.namespace.to_owned(),
            pod: self.pod.to_owned(),
            doing,
            after: self.timeout,
        }
    }

    /// Ask `name` once; a port-forward that closed under it is reopened
    /// once and the query repeated.
    async fn ask(&mut self, name: &str, per_query: Duration) -> Result<LocalAnswer, LocalError> {
        let qname = Name::from_ascii(name).map_err(|source| LocalError::Encode {
            name: name.to_owned(),
            source,
        })?;
        let mut reopened = false;
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            let query = encode_query(id, name).map_err(|source| LocalError::Encode {
                name: name.to_owned(),
                source,
            })?;
            let conn = match self.conn.take() {
                Some(conn) => conn,
                None => timeout_at(self.deadline, Conn::open(&self.api, self.pod))
                    .await
                    .map_err(|_| self.timed_out("opening the port-forward to port 53".to_owned()))?
                    .map_err(|e| open_error(e, self.namespace, self.pod))?,
            };
            let conn = self.conn.insert(conn);
            let query_deadline = (Instant::now() + per_query).min(self.deadline);
            match conn.exchange(&query, id, &qname, query_deadline).await {
                Ok(Some(reply)) => {
                    let msg = Message::from_vec(&reply).map_err(|source| LocalError::BadReply {
                        namespace: self.namespace.to_owned(),
                        pod: self.pod.to_owned(),
                        name: name.to_owned(),
                        source,
                    })?;
                    return Ok(classify(&msg));
                }
                Ok(None) if Instant::now() >= self.deadline => {
                    return Err(self.timed_out(format!("asking {name}")));
                }
                Ok(None) => return Ok(LocalAnswer::Timeout),
                Err(broken) => {
                    if let Some(conn) = self.conn.take() {
                        conn.close(self.deadline).await;
                    }
                    match broken {
                        Broken::Closed(_, _) if !reopened => reopened = true,
                        Broken::Closed(message, source) => {
                            return Err(LocalError::Connection {
                                namespace: self.namespace.to_owned(),
                                pod: self.pod.to_owned(),
                                message,
                                source,
                            });
                        }
                        Broken::Refused(message) => {
                            return Err(LocalError::Connection {
                                namespace: self.namespace.to_owned(),
                                pod: self.pod.to_owned(),
                                message,
                                source: None,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// The verb a 403 refused, from the API server's message (`create` when it
/// does not say).
fn refused_verb_of(e: &kube::Error) -> &'static str {
    match e {
        kube::Error::Api(status) => super::job::refused_verb(&status.message, "create"),
        _ => "create",
    }
}

impl LocalError {
    /// For `Forbidden`, the verb the API server refused.
    pub fn refused_verb(&self) -> Option<&'static str> {
        match self {
            LocalError::Forbidden { source, .. } => Some(refused_verb_of(source)),
            _ => None,
        }
    }
}

/// The error for a port-forward that could not be opened.
fn open_error(e: kube::Error, namespace: &str, pod: &str) -> LocalError {
    let (namespace, pod) = (namespace.to_owned(), pod.to_owned());
    match &e {
        kube::Error::Api(status) if status.code == 403 => LocalError::Forbidden {
            namespace,
            pod,
            source: e,
        },
        kube::Error::Api(status) if status.code == 404 => LocalError::PodNotFound {
            namespace,
            pod,
            source: e,
        },
        _ => LocalError::PortForward {
            namespace,
            pod,
            source: e,
        },
    }
}

type PortError = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// One open port-forward to port 53. Dropping it aborts the forwarding
/// task; [`Conn::close`] ends it cleanly first.
struct Conn {
    forward: Option<Portforwarder>,
    stream: Option<DuplexStream>,
    /// Resolves with the kubelet's error message for the port, or `None`
    /// when the forward ends without one.
    port_error: Option<PortError>,
    /// Bytes read and not yet framed (kept across timed-out reads).
    buf: Vec<u8>,
}

impl Conn {
    async fn open(api: &Api<Pod>, pod: &str) -> Result<Conn, kube::Error> {
        let mut forward = api.portforward(pod, &[DNS_PORT]).await?;
        let stream = forward.take_stream(DNS_PORT);
        let port_error = forward
            .take_error(DNS_PORT)
            .map(|f| Box::pin(f) as PortError);
        Ok(Conn {
            forward: Some(forward),
            stream,
            port_error,
            buf: Vec::new(),
        })
    }

    /// Send `query` and wait until `deadline` for the reply matching `id`
    /// and `name`; other replies (late answers to timed-out queries) are
    /// skipped. `Ok(None)`: no reply in time.
    async fn exchange(
        &mut self,
        query: &[u8],
        id: u16,
        name: &Name,
        deadline: Instant,
    ) -> Result<Option<Vec<u8>>, Broken> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(Broken::Closed("no stream for port 53".to_owned(), None));
        };
        match timeout_at(deadline, stream.write_all(query)).await {
            Err(_) => {
                // Part of the query may be written: the stream is out of
                // step, so the next query opens a new one.
                self.stream = None;
                return Ok(None);
            }
            Ok(Err(e)) => return Err(Broken::Closed(format!("sending a query: {e}"), Some(e))),
            Ok(Ok(())) => {}
        }
        loop {
            while let Some(frame) = take_frame(&mut self.buf) {
                let ours = Message::from_vec(&frame).map_or(
                    // Undecodable: it is ours if its ID is.
                    frame.get(..2) == Some(&id.to_be_bytes()[..]),
                    |m| answers_query(&m, id, name),
                );
                if ours {
                    return Ok(Some(frame));
                }
            }
            match timeout_at(deadline, self.read_more()).await {
                Err(_) => return Ok(None),
                Ok(Err(broken)) => return Err(broken),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Read what the stream has into `buf` (cancel-safe: `read` loses no
    /// data when its future is dropped), or report why it cannot.
    async fn read_more(&mut self) -> Result<(), Broken> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(Broken::Closed("no stream for port 53".to_owned(), None));
        };
        let mut chunk = [0u8; 4096];
        let read = match self.port_error.as_mut() {
            Some(port_error) => tokio::select! {
                r = stream.read(&mut chunk) => r,
                e = port_error => {
                    self.port_error = None;
                    return Err(match e {
                        Some(message) => Broken::Refused(message),
                        None => Broken::Closed("the port-forward ended".to_owned(), None),
                    });
                }
            },
            None => stream.read(&mut chunk).await,
        };
        match read {
            Ok(0) => Err(Broken::Closed(
                "the port-forward stream closed".to_owned(),
                None,
            )),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(Broken::Closed(format!("reading a reply: {e}"), Some(e))),
        }
    }

    /// Close the stream and wait (at most `CLOSE_GRACE`, and not past
    /// `deadline`) for the forwarding task to end; dropping `self` then
    /// aborts it if it has not.
    async fn close(mut self, deadline: Instant) {
        let until = (Instant::now() + CLOSE_GRACE).min(deadline);
        if let Some(mut stream) = self.stream.take() {
            let _ = timeout_at(until, stream.shutdown()).await;
        }
        // The port's error channel resolves when the forwarding task ends.
        if let Some(ended) = self.port_error.take() {
            let _ = timeout_at(until, ended).await;
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(forward) = &self.forward {
            forward.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use hickory_resolver::proto::rr::rdata::{A, CNAME};
    use hickory_resolver::proto::rr::{RData, Record};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A reply captured from the test cluster's CoreDNS
    /// (tests/fixtures/probe/capture-tcp.py), framed as on the wire.
    fn fixture(file: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/probe/tcp")
            .join(file);
        hex(std::fs::read_to_string(path).unwrap().trim())
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The message of a captured reply.
    fn reply(file: &str) -> Message {
        let mut buf = fixture(file);
        let frame = take_frame(&mut buf).unwrap();
        assert!(buf.is_empty(), "{file} holds one message");
        Message::from_vec(&frame).unwrap()
    }

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// A reply to `id`/`qname` with `code` and the given A records.
    fn made_reply(id: u16, qname: &str, code: ResponseCode, addrs: &[[u8; 4]]) -> Message {
        let mut m = Message::response(id, OpCode::Query);
        m.metadata.response_code = code;
        m.add_query(Query::query(name(qname), RecordType::A));
        for a in addrs {
            m.add_answer(Record::from_rdata(
                name(qname),
                30,
                RData::A(A::from(std::net::Ipv4Addr::from(*a))),
            ));
        }
        m
    }

    fn framed(m: &Message) -> Vec<u8> {
        let body = m.to_vec().unwrap();
        let mut out = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    #[test]
    fn the_query_is_a_recursive_type_a_question_with_a_length_prefix() {
        // What capture-tcp.py sent to CoreDNS (and what dig +tcp +noedns
        // sends): ID 5d1c, RD, one question, A IN.
        let want = hex(concat!(
            "003a",
            "5d1c01000001000000000000",
            "0e736572766963652d7061792d7631",
            "0764656661756c74037376630763",
            "6c7573746572056c6f63616c00",
            "00010001"
        ));
        let got = encode_query(0x5d1c, "service-pay-v1.default.svc.cluster.local.").unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn frames_are_taken_whole_however_the_bytes_arrive() {
        let a = fixture("noerror.hex");
        let b = fixture("nxdomain.hex");
        let mut wire = a.clone();
        wire.extend(&b);
        for chunk in [1, 2, 3, 7, 116, 117, wire.len()] {
            let mut buf = Vec::new();
            let mut frames = Vec::new();
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(f) = take_frame(&mut buf) {
                    frames.push(f);
                }
            }
            assert_eq!(
                frames,
                [a[2..].to_vec(), b[2..].to_vec()],
                "chunks of {chunk}"
            );
            assert!(buf.is_empty());
        }
        let mut one = vec![0u8];
        assert_eq!(take_frame(&mut one), None);
        // An empty message is a frame too (and then not a DNS message).
        let mut empty = vec![0u8, 0, 9];
        assert_eq!(take_frame(&mut empty), Some(vec![]));
        assert_eq!(empty, [9]);
    }

    #[test]
    fn coredns_replies_are_classified_by_rcode_and_a_records() {
        assert_eq!(
            classify(&reply("noerror.hex")),
            LocalAnswer::Data(vec!["10.96.6.145".into()])
        );
        let LocalAnswer::Data(mut headless) = classify(&reply("headless.hex")) else {
            panic!("headless Service with two ready endpoints has data");
        };
        headless.sort();
        assert_eq!(headless, ["10.244.0.1", "10.244.0.2"]);
        assert_eq!(classify(&reply("nodata.hex")), LocalAnswer::Nodata);
        assert_eq!(classify(&reply("nxdomain.hex")), LocalAnswer::Nxdomain);
        assert_eq!(
            classify(&reply("refused-axfr.hex")),
            LocalAnswer::Servfail("REFUSED".into())
        );
    }

    #[test]
    fn failure_codes_count_as_servfail_and_a_cname_alone_is_nodata() {
        let q = "x.default.svc.cluster.local.";
        let servfail = made_reply(1, q, ResponseCode::ServFail, &[]);
        assert_eq!(
            classify(&servfail),
            LocalAnswer::Servfail("SERVFAIL".into())
        );
        let notimp = made_reply(1, q, ResponseCode::NotImp, &[]);
        assert_eq!(classify(&notimp), LocalAnswer::Servfail("NOTIMP".into()));
        let odd = made_reply(1, q, ResponseCode::Unknown(12), &[]);
        assert_eq!(classify(&odd), LocalAnswer::Servfail("RCODE12".into()));

        let mut cname = made_reply(1, q, ResponseCode::NoError, &[]);
        cname.add_answer(Record::from_rdata(
            name(q),
            30,
            RData::CNAME(CNAME(name("example.com."))),
        ));
        assert_eq!(classify(&cname), LocalAnswer::Nodata);
        cname.add_answer(Record::from_rdata(
            name("example.com."),
            30,
            RData::A(A::new(192, 0, 2, 7)),
        ));
        assert_eq!(
            classify(&cname),
            LocalAnswer::Data(vec!["192.0.2.7".into()])
        );
    }

    #[test]
    fn a_reply_answers_only_its_own_id_and_question() {
        let r = reply("noerror.hex");
        let q = name("service-pay-v1.default.svc.cluster.local.");
        assert!(answers_query(&r, 0x5d1c, &q));
        assert!(answers_query(
            &r,
            0x5d1c,
            &name("Service-Pay-V1.default.svc.cluster.local.")
        ));
        assert!(!answers_query(&r, 0x5d1d, &q));
        assert!(!answers_query(
            &r,
            0x5d1c,
            &name("service-pay-v1.default.svc.cluster.local.cluster.local.")
        ));
        let mut query = r.clone();
        query.metadata.message_type = MessageType::Query;
        assert!(!answers_query(&query, 0x5d1c, &q));
    }

    fn resolver() -> ResolverSeen {
        ResolverSeen {
            nameservers: vec!["kube-system/coredns-x (port-forward)".into()],
            search: vec!["client.svc.cluster.local".into()],
            ndots: 5,
        }
    }

    fn replay(cands: &[(&str, LocalAnswer)]) -> Observed {
        let typed = TypedName {
            typed: "svc".into(),
            candidates: cands.iter().map(|(n, _)| (*n).to_owned()).collect(),
        };
        let answers: HashMap<&str, &LocalAnswer> = cands.iter().map(|(n, a)| (*n, a)).collect();
        observe_name(&typed, &answers, &resolver(), "kube-system", "coredns-x")
    }

    fn rcodes(o: &Observed) -> Vec<ObservedRcode> {
        o.candidates.iter().map(|c| c.rcode).collect()
    }

    use super::super::observe::ObservedStatus;

    #[test]
    fn the_search_goes_past_failures_and_stops_at_the_first_data() {
        let o = replay(&[
            ("svc.a.", LocalAnswer::Nxdomain),
            ("svc.b.", LocalAnswer::Nodata),
            ("svc.c.", LocalAnswer::Servfail("SERVFAIL".into())),
            ("svc.d.", LocalAnswer::Timeout),
            ("svc.e.", LocalAnswer::Data(vec!["10.0.0.5".into()])),
            ("svc.f.", LocalAnswer::Data(vec!["10.0.0.6".into()])),
        ]);
        assert_eq!(o.status, ObservedStatus::Resolved);
        assert_eq!(o.addresses, ["10.0.0.5"]);
        assert_eq!(o.answered_by.as_deref(), Some("svc.e."));
        assert_eq!(o.candidates.len(), 6, "every candidate asked is listed");
        assert_eq!(o.resolver, resolver());
        assert!(
            o.notes[0].contains("kube-system/coredns-x")
                && o.notes[0].contains("NodeLocal DNSCache")
                && o.notes[0].contains("NetworkPolicy"),
            "{:?}",
            o.notes
        );
    }

    #[test]
    fn a_failed_search_is_named_by_its_most_telling_answer() {
        let nx = replay(&[
            ("svc.a.", LocalAnswer::Nxdomain),
            ("svc.", LocalAnswer::Nxdomain),
        ]);
        assert_eq!(nx.status, ObservedStatus::Nxdomain);
        assert_eq!(
            rcodes(&nx),
            [ObservedRcode::Nxdomain, ObservedRcode::Nxdomain]
        );
        assert_eq!(nx.answered_by, None);
        assert!(nx.addresses.is_empty());

        let nodata = replay(&[
            ("svc.a.", LocalAnswer::Nodata),
            ("svc.", LocalAnswer::Nxdomain),
        ]);
        assert_eq!(nodata.status, ObservedStatus::Nodata);

        let refused = replay(&[
            ("svc.a.", LocalAnswer::Nodata),
            ("svc.b.", LocalAnswer::Servfail("REFUSED".into())),
        ]);
        assert_eq!(refused.status, ObservedStatus::Servfail);
        assert!(
            refused
                .notes
                .iter()
                .any(|n| n == "svc.b. got REFUSED (counted as SERVFAIL)"),
            "{:?}",
            refused.notes
        );

        let timeout = replay(&[
            ("svc.a.", LocalAnswer::Servfail("SERVFAIL".into())),
            ("svc.", LocalAnswer::Timeout),
        ]);
        assert_eq!(timeout.status, ObservedStatus::Timeout);
    }

    #[test]
    fn each_absolute_name_is_asked_once_and_wildcard_hits_are_reported() {
        let conf = ResolverConf::cluster_first("client", "cluster.local");
        let req = ProbeRequest::new(
            vec![
                TypedName::from_conf("web", &conf),
                TypedName::from_conf("web.default", &conf),
                TypedName::from_conf("web.default.svc.cluster.local.", &conf),
            ],
            super::super::wildcard_checks("absent-1", &conf),
            2,
        )
        .unwrap();
        let names = names_to_ask(&req);
        assert_eq!(
            names.len(),
            4 + 4 + 3,
            "the FQDN is a candidate of web.default"
        );
        assert_eq!(names[0], "web.client.svc.cluster.local.");
        assert_eq!(names[8], "absent-1.client.svc.cluster.local.");

        let asked: Vec<(String, LocalAnswer)> = names
            .iter()
            .map(|n| {
                let a = match *n {
                    "web.default.svc.cluster.local." => LocalAnswer::Data(vec!["10.0.0.9".into()]),
                    "absent-1.cluster.local." => LocalAnswer::Data(vec!["192.0.2.1".into()]),
                    _ => LocalAnswer::Nxdomain,
                };
                ((*n).to_owned(), a)
            })
            .collect();
        let obs = observation(&req, &conf, "kube-system", "coredns-x", asked);
        assert_eq!(obs.wildcard_hits, ["absent-1.cluster.local."]);
        assert_eq!(
            obs.observed("web").unwrap().status,
            ObservedStatus::Nxdomain
        );
        let by_ns = obs.observed("web.default").unwrap();
        assert_eq!(
            by_ns.answered_by.as_deref(),
            Some("web.default.svc.cluster.local.")
        );
        assert_eq!(
            by_ns.resolver.nameservers,
            ["kube-system/coredns-x (port-forward)"]
        );
        assert_eq!(by_ns.resolver.search, conf.search);
        assert_eq!(by_ns.resolver.ndots, 5);
        assert!(obs.observed("other").is_none());
    }

    /// A connection over an in-memory stream, and the server's end.
    fn fake_conn() -> (Conn, DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let conn = Conn {
            forward: None,
            stream: Some(ours),
            port_error: None,
            buf: Vec::new(),
        };
        (conn, theirs)
    }

    async fn read_query(server: &mut DuplexStream) -> Message {
        let mut len = [0u8; 2];
        server.read_exact(&mut len).await.unwrap();
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        server.read_exact(&mut body).await.unwrap();
        Message::from_vec(&body).unwrap()
    }

    #[tokio::test]
    async fn a_late_or_foreign_reply_is_skipped_and_a_silent_server_times_out() {
        let (mut conn, mut server) = fake_conn();
        let (slow, fast) = ("slow.cluster.local.", "fast.cluster.local.");
        let server = tokio::spawn(async move {
            let q1 = read_query(&mut server).await;
            assert!(q1.metadata.recursion_desired);
            assert_eq!(q1.queries[0].query_type, RecordType::A);
            // No reply to the first query until the second arrives.
            let q2 = read_query(&mut server).await;
            let mut wire = framed(&made_reply(
                q1.metadata.id,
                slow,
                ResponseCode::NoError,
                &[[10, 0, 0, 1]],
            ));
            wire.extend(framed(&made_reply(
                0x7777,
                fast,
                ResponseCode::NoError,
                &[[10, 0, 0, 3]],
            )));
            wire.extend(framed(&made_reply(
                q2.metadata.id,
                fast,
                ResponseCode::NoError,
                &[[10, 0, 0, 2]],
            )));
            // Split mid-message: the client must reassemble.
            let (a, b) = wire.split_at(wire.len() / 2 + 1);
            server.write_all(a).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            server.write_all(b).await.unwrap();
            server
        });
        let soon = || Instant::now() + Duration::from_millis(300);
        let q = encode_query(1, slow).unwrap();
        assert_eq!(
            conn.exchange(&q, 1, &name(slow), soon()).await.ok(),
            Some(None)
        );
        let q = encode_query(2, fast).unwrap();
        let got = conn
            .exchange(&q, 2, &name(fast), soon())
            .await
            .ok()
            .flatten()
            .unwrap();
        assert_eq!(
            classify(&Message::from_vec(&got).unwrap()),
            LocalAnswer::Data(vec!["10.0.0.2".into()])
        );
        let server = server.await.unwrap();
        // The server hangs up: the connection reports it as closed.
        drop(server);
        let q = encode_query(3, fast).unwrap();
        match conn.exchange(&q, 3, &name(fast), soon()).await {
            Err(Broken::Closed(..)) => {}
            Err(Broken::Refused(m)) => panic!("refused: {m}"),
            Ok(r) => panic!("a reply from a closed stream: {r:?}"),
        }
    }

    #[tokio::test]
    async fn a_kubelet_error_for_the_port_is_reported_as_refused() {
        let (mut conn, _server) = fake_conn();
        conn.port_error = Some(Box::pin(async {
            Some("error forwarding port 53: connection refused".to_owned())
        }));
        let q = encode_query(1, "a.cluster.local.").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        match conn
            .exchange(&q, 1, &name("a.cluster.local."), deadline)
            .await
        {
            Err(Broken::Refused(m)) => assert!(m.contains("connection refused"), "{m}"),
            Err(Broken::Closed(m, _)) => panic!("closed: {m}"),
            Ok(r) => panic!("a reply: {r:?}"),
        }
    }
}
