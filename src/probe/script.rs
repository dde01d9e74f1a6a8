//! The probe script, generated from a [`ProbeRequest`].
//!
//! The fixed part (`probe.sh`, beside this file) defines small functions;
//! the generated part only calls them with names that passed
//! [`check_name`] and are single-quoted on top, so nothing from the cluster
//! is ever interpreted by the shell.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::show;
use crate::analysis::ResolverConf;

/// Version of the output format, printed in the header line.
pub const FORMAT_VERSION: u32 = 1;
/// The header's first field.
pub const HEADER: &str = "svcdiscover-probe";

const BODY: &str = include_str!("probe.sh");

/// At most this many TCP connections (`--connect`) are open at once in one
/// exec; each waits at most the request's timeout, so `n` connections take
/// at most ⌈n / 8⌉ × the timeout.
pub const CONNECTS_AT_ONCE: usize = 8;

/// One name as an application types it, with the absolute candidates the
/// prediction's search-list replay (`ResolverConf::candidates`) computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedName {
    /// As typed: `svc`, `svc.ns`, `svc.ns.svc` or the FQDN.
    pub typed: String,
    /// Absolute names, each with a trailing dot, in search order.
    pub candidates: Vec<String>,
}

impl TypedName {
    /// `typed` with the candidates glibc tries under `conf`, the same list
    /// the prediction replays.
    pub fn from_conf(typed: &str, conf: &ResolverConf) -> TypedName {
        TypedName {
            typed: typed.to_owned(),
            candidates: conf.candidates(typed),
        }
    }
}

/// What one probe exec asks; only [`ProbeRequest::new`] builds one, so a
/// request always holds checked names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    names: Vec<TypedName>,
    wildcard_checks: Vec<String>,
    timeout_secs: u32,
    /// TCP connections to open after the lookups (`--connect`), each once.
    connects: Vec<(IpAddr, u16)>,
}

impl ProbeRequest {
    /// `wildcard_checks`: absolute names that cannot exist, e.g. one under
    /// each search domain ([`wildcard_checks`]); an answer with data means a
    /// wildcard record swallows search candidates. `timeout_secs`: per DNS
    /// query (dig `+time`, nslookup `-timeout`), 1 to 30.
    pub fn new(
        names: Vec<TypedName>,
        wildcard_checks: Vec<String>,
        timeout_secs: u32,
    ) -> Result<ProbeRequest, RequestError> {
        let req = ProbeRequest {
            names,
            wildcard_checks,
            timeout_secs,
            connects: Vec::new(),
        };
        check(&req)?;
        Ok(req)
    }

    pub fn names(&self) -> &[TypedName] {
        &self.names
    }

    pub fn wildcard_checks(&self) -> &[String] {
        &self.wildcard_checks
    }

    pub fn timeout_secs(&self) -> u32 {
        self.timeout_secs
    }

    /// The same request, also opening a TCP connection to each `(address,
    /// port)` after the lookups, each pair once, in order; each waits at
    /// most the request's timeout. Addresses must be IPv4 or IPv6
    /// literals, ports 1-65535: nothing else reaches the script.
    pub fn with_connects(
        mut self,
        targets: &[(String, i32)],
    ) -> Result<ProbeRequest, RequestError> {
        let mut have: std::collections::HashSet<(IpAddr, u16)> =
            self.connects.iter().copied().collect();
        for (address, port) in targets {
            let ip = check_address(address)?;
            let port = u16::try_from(*port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or(RequestError::BadPort(*port))?;
            if have.insert((ip, port)) {
                self.connects.push((ip, port));
            }
        }
        Ok(self)
    }

    pub fn connects(&self) -> &[(IpAddr, u16)] {
        &self.connects
    }
}

/// An IP address literal, as the probe script may carry it.
pub fn check_address(address: &str) -> Result<IpAddr, RequestError> {
    address
        .parse::<IpAddr>()
        .map_err(|_| RequestError::BadAddress(show(address)))
}

/// `<label>.<domain>.` for each search domain of `conf`; `label` should be
/// one no cluster uses, e.g. `svcdiscover-absent-<random>`.
pub fn wildcard_checks(label: &str, conf: &ResolverConf) -> Vec<String> {
    conf.search
        .iter()
        .map(|d| format!("{label}.{}.", d.trim_end_matches('.')))
        .collect()
}

/// A request the script refuses to carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("refusing name `{name}` for the probe script: {why}")]
    BadName { name: String, why: &'static str },
    #[error("probe query timeout of {0} s is out of range 1-30")]
    BadTimeout(u32),
    #[error("candidate `{candidate}` of `{typed}` is not absolute (no trailing dot)")]
    NotAbsolute { typed: String, candidate: String },
    #[error("refusing address `{0}` for the probe script: not an IP address")]
    BadAddress(String),
    #[error("refusing port {0} for the probe script: not in 1-65535")]
    BadPort(i32),
}

/// Check one DNS name: LDH labels of 1-63 characters, at most 253
/// characters without the optional trailing dot, no empty label. The first
/// label may start with `_` (SRV-style names) and any label may start with
/// a digit.
pub fn check_name(name: &str) -> Result<(), RequestError> {
    let bad = |why| {
        Err(RequestError::BadName {
            name: show(name),
            why,
        })
    };
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.is_empty() {
        return bad("empty");
    }
    if body.len() > 253 {
        return bad("longer than 253 characters");
    }
    for label in body.split('.') {
        if label.is_empty() {
            return bad("empty label");
        }
        if label.len() > 63 {
            return bad("label longer than 63 characters");
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if !label.chars().all(allowed) {
            return bad("only letters, digits, '-', '_' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label starts or ends with '-'");
        }
    }
    Ok(())
}

fn check_absolute(typed: &str, candidate: &str) -> Result<(), RequestError> {
    check_name(candidate)?;
    if candidate.ends_with('.') {
        Ok(())
    } else {
        Err(RequestError::NotAbsolute {
            typed: show(typed),
            candidate: show(candidate),
        })
    }
}

fn check(req: &ProbeRequest) -> Result<(), RequestError> {
    if !(1..=30).contains(&req.timeout_secs) {
        return Err(RequestError::BadTimeout(req.timeout_secs));
    }
    for n in &req.names {
        check_name(&n.typed)?;
        for c in &n.candidates {
            check_absolute(&n.typed, c)?;
        }
    }
    for w in &req.wildcard_checks {
        check_absolute(w, w)?;
    }
    Ok(())
}

/// The bytes the script spends on one typed name and its candidates (an
/// upper bound: a candidate shared with an earlier name is asked once), to
/// split a view with many names over several execs.
pub fn name_bytes(typed: &str, candidates: &[String]) -> usize {
    // `cand 'T' 'C'` and `app 'T'` with their newlines, ` 'C'` on the
    // `askall` line (counted as the 7 bytes `ask 'C'` took).
    let per_candidate: usize = candidates
        .iter()
        .map(|c| (11 + typed.len() + c.len()) + (7 + c.len()))
        .sum();
    per_candidate + 7 + typed.len()
}

/// The bytes of a script for no name at all (the fixed part, the header).
pub fn base_bytes() -> usize {
    BODY.len() + 128
}

/// Single-quote a checked name (it holds no quote; this is a second fence).
fn q(name: &str) -> String {
    format!("'{}'", name.replace('\'', r"'\''"))
}

/// The sh script for `req`, run as `sh -c SCRIPT` (or piped to `sh`).
///
/// ```
/// use svcdiscover::analysis::ResolverConf;
/// use svcdiscover::probe::{ProbeRequest, TypedName, script, wildcard_checks};
///
/// let pod = ResolverConf::cluster_first("client", "cluster.local");
/// let req = ProbeRequest::new(
///     vec![TypedName::from_conf("service-pay-v1", &pod)],
///     wildcard_checks("svcdiscover-absent-x1", &pod),
///     2,
/// )
/// .unwrap();
/// let sh = script(&req);
/// assert!(sh.contains("app 'service-pay-v1'"));
/// assert!(sh.contains("askall 'service-pay-v1.client.svc.cluster.local.' "));
/// assert!(!sh.contains("$("));
///
/// let evil = TypedName { typed: "x'; rm -rf /".into(), candidates: vec![] };
/// assert!(ProbeRequest::new(vec![evil], vec![], 2).is_err());
/// ```
pub fn script(req: &ProbeRequest) -> String {
    let mut s = String::with_capacity(BODY.len() + 256);
    s.push_str("#!/bin/sh\n");
    let _ = writeln!(s, "T={} TW={}", req.timeout_secs, req.timeout_secs + 1);
    let _ = writeln!(s, "PROBE_HEADER='{HEADER}' PROBE_VERSION={FORMAT_VERSION}");
    s.push_str(BODY);
    // Each absolute name is asked once, even when two typed names share it:
    // the candidates in the order of the names, then the wildcard checks.
    let mut asked = BTreeSet::new();
    let mut order: Vec<&str> = Vec::new();
    for n in &req.names {
        for c in &n.candidates {
            let _ = writeln!(s, "cand {} {}", q(&n.typed), q(c));
            if asked.insert(c.as_str()) {
                order.push(c);
            }
        }
    }
    for w in &req.wildcard_checks {
        let _ = writeln!(s, "wild {}", q(w));
        if asked.insert(w.as_str()) {
            order.push(w);
        }
    }
    // The absolute names (one dig for all) beside the application lookups
    // (one getent per typed name), so that a name is complete as soon as
    // both reached it.
    if !order.is_empty() {
        s.push_str("askall");
        for c in &order {
            s.push(' ');
            s.push_str(&q(c));
        }
        s.push_str(" &\n");
    }
    for n in &req.names {
        let _ = writeln!(s, "app {}", q(&n.typed));
    }
    s.push_str("wait\n");
    // Addresses are printed from parsed IpAddr values: digits, dots,
    // colons and hex letters only. At most CONNECTS_AT_ONCE at a time.
    if !req.connects.is_empty() {
        s.push_str("connwith\n");
        for batch in req.connects.chunks(CONNECTS_AT_ONCE) {
            for (ip, port) in batch {
                let _ = writeln!(s, "conn {} {port} &", q(&ip.to_string()));
            }
            s.push_str("wait\n");
        }
    }
    s.push_str("rec end\n");
    s
}

/// The bytes `conn` lines take for `connects` (for splitting execs).
pub fn connect_bytes(connects: &[(IpAddr, u16)]) -> usize {
    // `conn 'IP' PORT &` and a `wait` per batch.
    connects
        .iter()
        .map(|(ip, port)| 12 + ip.to_string().len() + port.to_string().len())
        .sum::<usize>()
        + 5 * connects.len().div_ceil(CONNECTS_AT_ONCE)
        + 9
}
