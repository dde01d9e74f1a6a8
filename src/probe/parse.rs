//! The parser of the probe script's output (format: docs/probe.md).
//!
//! Two layers: [`parse`] checks the framing (header, records, `end`) and
//! groups the raw tool lines; the small functions [`dig_rcode`],
//! [`nslookup_rcode`], [`getent_result`] and [`resolver_seen`] interpret
//! those raw lines. Nothing here panics on any input.

use std::collections::BTreeMap;

use serde::Serialize;

use super::script::{FORMAT_VERSION, HEADER};
use super::show;
use crate::model::ConnectionResult;

/// glibc reads at most this many `nameserver` lines (`MAXNS`).
const MAX_NAMESERVERS: usize = 3;
/// glibc caps `ndots` at 15 (`RES_MAXNDOTS`).
const MAX_NDOTS: usize = 15;

/// Output that is not what the probe script prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("probe output is empty")]
    Empty,
    #[error("line 1: expected the header `{HEADER}<TAB>{FORMAT_VERSION}`, found `{0}`")]
    BadHeader(String),
    #[error(
        "line 1: probe output format version {0} is not supported (this build reads {FORMAT_VERSION})"
    )]
    UnsupportedVersion(String),
    #[error("line {line}: {why}: `{text}`")]
    BadRecord {
        line: usize,
        why: &'static str,
        text: String,
    },
    #[error("probe output is truncated after line {0}: no `end` record")]
    Truncated(usize),
    #[error("line {0}: records after `end`")]
    AfterEnd(usize),
}

/// The C library the probe image links, as the script detected it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "family", content = "detail")]
pub enum Libc {
    /// `getconf GNU_LIBC_VERSION`, e.g. `glibc 2.36`.
    Glibc(String),
    /// The musl loader found, e.g. `/lib/ld-musl-x86_64.so.1`.
    Musl(String),
}

/// Which tool produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Getent,
    Dig,
    /// BusyBox `nslookup` (its own resolver, not libc).
    Nslookup,
}

impl Tool {
    fn from_field(s: &str) -> Option<Tool> {
        match s {
            "getent" => Some(Tool::Getent),
            "dig" => Some(Tool::Dig),
            "nslookup" => Some(Tool::Nslookup),
            _ => None,
        }
    }
}

/// One tool run: its raw output lines and exit status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Run {
    pub lines: Vec<String>,
    /// `None` while only output was seen (the parser refuses that at the end).
    pub exit: Option<i32>,
}

/// A typed name: its candidates and what the application view returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameResult {
    pub typed: String,
    /// Absolute candidates, in search order, as the request gave them.
    pub candidates: Vec<String>,
    /// `getent ahosts` (or BusyBox nslookup when there is no getent).
    pub app: Option<(Tool, Run)>,
}

/// Everything one probe run printed, grouped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeOutput {
    /// `command -v` results: tool name to path.
    pub tools: BTreeMap<String, String>,
    /// `busybox nslookup` exists (an applet of the BusyBox binary).
    pub busybox_nslookup: bool,
    pub libc: Vec<Libc>,
    /// `LOCALDOMAIN` and `RES_OPTIONS`, when set in the probe's environment.
    pub env: BTreeMap<String, String>,
    /// Raw `/etc/resolv.conf` lines; `None` when it could not be read.
    pub resolv_conf: Option<Vec<String>>,
    pub names: Vec<NameResult>,
    /// Per absolute name: the tool that asked and its run.
    pub queries: BTreeMap<String, (Tool, Run)>,
    /// The names asked as wildcard detectors, in order.
    pub wildcard_checks: Vec<String>,
    /// The TCP connections opened (`--connect`), in order.
    pub connections: Vec<Connect>,
}

/// One `connect` record: a TCP connection the script opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub address: String,
    pub port: u16,
    pub result: ConnectionResult,
    /// The tool's first line, or which tool connected.
    pub detail: String,
}

impl ProbeOutput {
    pub fn name(&self, typed: &str) -> Option<&NameResult> {
        self.names.iter().find(|n| n.typed == typed)
    }

    /// The interpreted answer for one absolute name, if it was asked.
    pub fn rcode(&self, absolute: &str) -> Option<Rcode> {
        self.queries
            .get(absolute)
            .map(|(tool, run)| query_rcode(*tool, run))
    }

    /// The effective resolver (resolv.conf plus `LOCALDOMAIN`/`RES_OPTIONS`).
    pub fn resolver(&self) -> ResolverSeen {
        resolver_seen(
            self.resolv_conf.as_deref().unwrap_or_default(),
            self.env.get("LOCALDOMAIN").map(String::as_str),
            self.env.get("RES_OPTIONS").map(String::as_str),
            self.is_musl(),
        )
    }

    pub fn is_musl(&self) -> bool {
        self.libc.iter().any(|l| matches!(l, Libc::Musl(_)))
    }

    /// Wildcard detectors that got data: a wildcard record answers names
    /// that do not exist, and swallows search candidates.
    pub fn wildcard_hits(&self) -> Vec<&str> {
        self.wildcard_checks
            .iter()
            .filter(|w| matches!(self.rcode(w), Some(Rcode::Noerror(_))))
            .map(String::as_str)
            .collect()
    }

    /// How the image's resolver differs from glibc's search, for the report.
    pub fn resolver_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.is_musl() {
            notes.push(
                "musl resolver: no search at all when the name has ndots or more dots; \
                 stops at NODATA and SERVFAIL instead of trying the next search domain"
                    .to_owned(),
            );
        }
        let app_by_nslookup = self
            .names
            .iter()
            .any(|n| matches!(n.app, Some((Tool::Nslookup, _))));
        if app_by_nslookup {
            notes.push(
                "no getent: the application view is BusyBox nslookup, which applies the \
                 search list only to names without a dot, ignores ndots and does not read \
                 LOCALDOMAIN"
                    .to_owned(),
            );
        }
        if !self.tools.contains_key("dig") && self.busybox_nslookup {
            notes.push("no dig: candidates were asked with BusyBox nslookup".to_owned());
        }
        notes
    }
}

fn query_rcode(tool: Tool, run: &Run) -> Rcode {
    match tool {
        Tool::Nslookup => nslookup_rcode(run),
        Tool::Dig | Tool::Getent => dig_rcode(run),
    }
}

/// Parse the whole output of one probe run.
pub fn parse(output: &str) -> Result<ProbeOutput, ParseError> {
    parse_inner(output, false)
}

/// Parse the output of a probe run cut short (its time ran out): what is
/// complete is kept, a run without its `exit` record and a last line
/// without its newline are dropped. A complete output parses as [`parse`].
pub fn parse_partial(output: &str) -> Result<ProbeOutput, ParseError> {
    let cut = if output.ends_with('\n') {
        output
    } else {
        output.rsplit_once('\n').map_or("", |(head, _)| head)
    };
    parse_inner(cut, true)
}

fn parse_inner(output: &str, partial: bool) -> Result<ProbeOutput, ParseError> {
    let mut lines = output.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let header = lines.next().ok_or(ParseError::Empty)?;
    let mut h = header.split('\t');
    if h.next() != Some(HEADER) {
        return Err(ParseError::BadHeader(show(header)));
    }
    match h.next() {
        Some(v) if v == FORMAT_VERSION.to_string() && h.next().is_none() => {}
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(ParseError::UnsupportedVersion(show(v)));
        }
        _ => return Err(ParseError::BadHeader(show(header))),
    }
    let mut out = ProbeOutput::default();
    let mut batches: Vec<Batch> = Vec::new();
    let mut ended = false;
    let mut last = 1;
    for (i, text) in lines.enumerate() {
        let line = i + 2;
        last = line;
        if ended {
            if text.is_empty() {
                continue;
            }
            return Err(ParseError::AfterEnd(line));
        }
        let bad = |why| ParseError::BadRecord {
            line,
            why,
            text: show(text),
        };
        let f: Vec<&str> = text.splitn(5, '\t').collect();
        match f.as_slice() {
            ["end"] => ended = true,
            ["tool", "busybox-nslookup", "yes"] => out.busybox_nslookup = true,
            ["tool", name, path] => {
                out.tools.insert((*name).to_owned(), (*path).to_owned());
            }
            ["libc", "glibc", v] => out.libc.push(Libc::Glibc((*v).to_owned())),
            ["libc", "musl", p] => out.libc.push(Libc::Musl((*p).to_owned())),
            ["env", var @ ("LOCALDOMAIN" | "RES_OPTIONS"), rest @ ..] => {
                out.env.insert((*var).to_owned(), rest.join("\t"));
            }
            ["resolv", "missing"] => out.resolv_conf = None,
            ["resolv", "out", rest @ ..] => out
                .resolv_conf
                .get_or_insert_with(Vec::new)
                .push(rest.join("\t")),
            ["name", typed, "candidate", cand] => {
                let n = name_entry(&mut out.names, typed);
                n.candidates.push((*cand).to_owned());
            }
            ["app", typed, tool, kind, rest @ ..] => {
                let tool = Tool::from_field(tool).ok_or_else(|| bad("unknown tool"))?;
                let n = name_entry(&mut out.names, typed);
                let (t, run) = n.app.get_or_insert_with(|| (tool, Run::default()));
                if *t != tool {
                    return Err(bad("a second tool for the same name"));
                }
                add_to_run(run, kind, rest).map_err(bad)?;
            }
            ["query", name, tool, kind, rest @ ..] => {
                let tool = Tool::from_field(tool).ok_or_else(|| bad("unknown tool"))?;
                let (t, run) = out
                    .queries
                    .entry((*name).to_owned())
                    .or_insert_with(|| (tool, Run::default()));
                if *t != tool {
                    return Err(bad("a second tool for the same name"));
                }
                add_to_run(run, kind, rest).map_err(bad)?;
            }
            ["batch", "dig", kind, rest @ ..] => {
                add_to_batch(&mut batches, kind, rest).map_err(bad)?;
            }
            ["wildcard", name] => out.wildcard_checks.push((*name).to_owned()),
            ["connect", address, port, result, detail] => {
                out.connections.push(Connect {
                    address: (*address).to_owned(),
                    port: port.parse().map_err(|_| bad("port is not a number"))?,
                    result: ConnectionResult::parse(result)
                        .ok_or_else(|| bad("unknown connection result"))?,
                    detail: (*detail).to_owned(),
                });
            }
            _ => return Err(bad("not a probe record")),
        }
    }
    for b in &batches {
        for (name, run) in b.split() {
            // A name asked twice keeps its first answer.
            out.queries.entry(name).or_insert((Tool::Dig, run));
        }
    }
    if partial && !ended {
        for n in &mut out.names {
            if n.app.as_ref().is_some_and(|(_, r)| r.exit.is_none()) {
                n.app = None;
            }
        }
        out.queries.retain(|_, (_, r)| r.exit.is_some());
        return Ok(out);
    }
    if !ended {
        return Err(ParseError::Truncated(last));
    }
    let unfinished = out
        .names
        .iter()
        .filter_map(|n| n.app.as_ref().map(|(_, r)| r))
        .chain(out.queries.values().map(|(_, r)| r))
        .any(|r| r.exit.is_none())
        || batches.iter().any(|b| b.exit.is_none());
    if unfinished {
        return Err(ParseError::Truncated(last));
    }
    Ok(out)
}

fn name_entry<'a>(names: &'a mut Vec<NameResult>, typed: &str) -> &'a mut NameResult {
    let at = match names.iter().position(|n| n.typed == typed) {
        Some(at) => at,
        None => {
            names.push(NameResult {
                typed: typed.to_owned(),
                candidates: Vec::new(),
                app: None,
            });
            names.len() - 1
        }
    };
    &mut names[at]
}

/// One `dig` run that asked several names (`batch` records): the names in
/// the order given, its raw lines, its exit status.
#[derive(Debug, Default)]
struct Batch {
    names: Vec<String>,
    lines: Vec<String>,
    exit: Option<i32>,
}

fn add_to_batch(batches: &mut Vec<Batch>, kind: &str, rest: &[&str]) -> Result<(), &'static str> {
    match (kind, rest) {
        ("name", [name]) => {
            let open = batches
                .last_mut()
                .filter(|b| b.exit.is_none() && b.lines.is_empty());
            match open {
                Some(b) => b.names.push((*name).to_owned()),
                None => batches.push(Batch {
                    names: vec![(*name).to_owned()],
                    ..Batch::default()
                }),
            }
        }
        ("out", _) | ("exit", [_]) => {
            let b = batches
                .last_mut()
                .filter(|b| b.exit.is_none())
                .ok_or("batch output without its names")?;
            if kind == "out" {
                b.lines.push(rest.join("\t"));
            } else {
                b.exit = Some(rest[0].parse().map_err(|_| "exit status is not a number")?);
            }
        }
        _ => return Err("expected a batch `name`, `out` or `exit`"),
    }
    Ok(())
}

/// The sent query's header line that `dig +qr +comments` prints before each
/// query.
const DIG_SENDING: &str = ";; Sending:";

impl Batch {
    /// Each name's own run, as if dig had asked it alone: the lines of the
    /// blocks whose sent question is that name (a block opens at each
    /// `;; Sending:`; a query retried on another server or over TCP opens
    /// another one with the same question), without the query as sent.
    /// Lines before the first block (dig's own errors and warnings) belong
    /// to no query; a name without a block gets them and the batch's exit
    /// status (the tool failed before asking it). A name with a block exits
    /// 0 when an answer came, else with the batch's status (9, no reply,
    /// when unknown).
    ///
    /// A batch without its exit status was cut short: its last block may be
    /// incomplete and is dropped, and names without a block are left out.
    fn split(&self) -> Vec<(String, Run)> {
        let complete = self.exit.is_some();
        let mut preamble: Vec<String> = Vec::new();
        // (question, lines after the query as sent, whether an answer came)
        let mut blocks: Vec<(Option<String>, Vec<String>, bool)> = Vec::new();
        // Within the query as sent: before its question line.
        let mut sending = false;
        let mut question_next = false;
        for line in &self.lines {
            if line.trim_end() == DIG_SENDING {
                blocks.push((None, Vec::new(), false));
                sending = true;
                question_next = false;
                continue;
            }
            let Some((question, lines, answered)) = blocks.last_mut() else {
                preamble.push(line.clone());
                continue;
            };
            if sending {
                if line.starts_with(";; QUESTION SECTION:") {
                    question_next = true;
                } else if question_next {
                    if let Some(q) = line.strip_prefix(';') {
                        *question = q.split_whitespace().next().map(str::to_owned);
                    }
                    sending = false;
                } else if line.starts_with(";; Got answer:") {
                    sending = false;
                    *answered = true;
                    lines.push(line.clone());
                }
                continue;
            }
            if line.starts_with(";; Got answer:") {
                *answered = true;
            }
            lines.push(line.clone());
        }
        if !complete {
            blocks.pop();
        }
        let same = |a: &str, b: &str| {
            a.trim_end_matches('.')
                .eq_ignore_ascii_case(b.trim_end_matches('.'))
        };
        let mut runs = Vec::new();
        for name in &self.names {
            let mut mine = blocks
                .iter()
                .filter(|(q, _, _)| q.as_deref().is_some_and(|q| same(q, name)))
                .peekable();
            if mine.peek().is_none() {
                if complete {
                    runs.push((
                        name.clone(),
                        Run {
                            lines: preamble.clone(),
                            exit: self.exit,
                        },
                    ));
                }
                continue;
            }
            let mut run = Run::default();
            let mut answered = false;
            for (_, lines, a) in mine {
                run.lines.extend(lines.iter().cloned());
                answered |= *a;
            }
            run.exit = Some(if answered {
                0
            } else {
                self.exit.filter(|c| *c != 0).unwrap_or(9)
            });
            runs.push((name.clone(), run));
        }
        runs
    }
}

fn add_to_run(run: &mut Run, kind: &str, rest: &[&str]) -> Result<(), &'static str> {
    if run.exit.is_some() {
        return Err("output after the exit status");
    }
    match (kind, rest) {
        ("out", _) => run.lines.push(rest.join("\t")),
        ("exit", [code]) => {
            run.exit = Some(code.parse().map_err(|_| "exit status is not a number")?);
        }
        _ => return Err("expected `out` or `exit`"),
    }
    Ok(())
}

/// The answer to one absolute name, as dig or BusyBox nslookup reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rcode {
    /// NOERROR with these addresses (A records, after any CNAME).
    Noerror(Vec<String>),
    /// NOERROR without records.
    Nodata,
    Nxdomain,
    Servfail,
    /// Another response code: REFUSED, NOTIMP, FORMERR…
    Other(String),
    /// No response within the timeout.
    Timeout,
    /// No server reachable, e.g. connection refused (the line saying so).
    Unreachable(String),
    /// The tool failed without asking (its exit status and first line).
    Failed(Option<i32>, String),
}

fn first_line(run: &Run) -> String {
    run.lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .cloned()
        .unwrap_or_default()
}

fn transport_error(run: &Run) -> Option<Rcode> {
    let all = run.lines.join("\n").to_ascii_lowercase();
    // Checked before "timed out": BusyBox says both for a refused connection.
    let unreachable = ["connection refused", "network unreachable"];
    if unreachable.iter().any(|u| all.contains(u)) {
        let line = run
            .lines
            .iter()
            .find(|l| {
                let l = l.to_ascii_lowercase();
                unreachable.iter().any(|u| l.contains(u))
            })
            .cloned()
            .unwrap_or_default();
        return Some(Rcode::Unreachable(line));
    }
    all.contains("timed out").then_some(Rcode::Timeout)
}

/// Interpret `dig +nosearch +noall +comments +answer NAME.`: the header's
/// `status:` and the A/AAAA records of the ANSWER section. dig exits 0 for
/// NXDOMAIN too, so the status text decides; exit 9 is "no reply".
pub fn dig_rcode(run: &Run) -> Rcode {
    let status = run.lines.iter().find_map(|l| {
        let (_, after) = l.split_once("->>HEADER<<-")?;
        let (_, s) = after.split_once("status:")?;
        s.split(',').next().map(|s| s.trim().to_owned())
    });
    match status.as_deref() {
        Some("NOERROR") => {
            let addresses: Vec<String> = run
                .lines
                .iter()
                .filter(|l| !l.starts_with(';'))
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    match f.as_slice() {
                        [_, _, "IN", "A" | "AAAA", addr] => Some((*addr).to_owned()),
                        _ => None,
                    }
                })
                .collect();
            if addresses.is_empty() {
                Rcode::Nodata
            } else {
                Rcode::Noerror(dedup(addresses))
            }
        }
        Some("NXDOMAIN") => Rcode::Nxdomain,
        Some("SERVFAIL") => Rcode::Servfail,
        Some(other) => Rcode::Other(other.to_owned()),
        None => transport_error(run).unwrap_or_else(|| Rcode::Failed(run.exit, first_line(run))),
    }
}

/// Interpret `busybox nslookup -type=a NAME`. BusyBox 1.35 prints
/// `** server can't find NAME: NXDOMAIN` for a name error, nothing after
/// the server lines for NODATA (older builds: `Can't find NAME: No answer`),
/// and `Name:`/`Address:` pairs for data. The `Address:` right after
/// `Server:` is the server's, not an answer.
pub fn nslookup_rcode(run: &Run) -> Rcode {
    let mut addresses = Vec::new();
    let mut in_answer = false;
    let mut errors = Vec::new();
    for l in &run.lines {
        let t = l.trim();
        if t.starts_with("Name:") {
            in_answer = true;
        } else if let Some(a) = t
            .strip_prefix("Address:")
            .or_else(|| t.strip_prefix("Address 1:"))
        {
            if in_answer {
                addresses.push(a.trim().to_owned());
            }
        } else if t.starts_with("Server:") || t.is_empty() {
            in_answer = false;
        } else if let Some((_, code)) = t.rsplit_once(": ")
            && t.to_ascii_lowercase().contains("can't find")
        {
            errors.push(code.trim().to_owned());
        }
    }
    if !addresses.is_empty() {
        return Rcode::Noerror(dedup(addresses));
    }
    if let Some(t) = transport_error(run) {
        return t;
    }
    match errors.first().map(String::as_str) {
        Some("NXDOMAIN") => Rcode::Nxdomain,
        Some("SERVFAIL") => Rcode::Servfail,
        Some("No answer") => Rcode::Nodata,
        Some(other) => Rcode::Other(other.to_owned()),
        None if run.exit == Some(0) => Rcode::Nodata,
        None => Rcode::Failed(run.exit, first_line(run)),
    }
}

/// What `getent ahosts NAME` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetentResult {
    /// Exit 0: the addresses (each once, in order) and the canonical name
    /// (third column of the first line) when printed.
    Found {
        addresses: Vec<String>,
        canonical: Option<String>,
    },
    /// Exit 2: not found. getent cannot tell NXDOMAIN, NODATA, SERVFAIL or
    /// a timeout apart; the per-candidate queries can.
    NotFound,
    /// Any other exit status, with the first line printed.
    Failed(Option<i32>, String),
}

pub fn getent_result(run: &Run) -> GetentResult {
    match run.exit {
        Some(0) => {
            let mut addresses = Vec::new();
            let mut canonical = None;
            for l in &run.lines {
                let mut f = l.split_whitespace();
                if let Some(addr) = f.next() {
                    addresses.push(addr.to_owned());
                }
                if canonical.is_none() {
                    canonical = f.nth(1).map(str::to_owned);
                }
            }
            GetentResult::Found {
                addresses: dedup(addresses),
                canonical,
            }
        }
        Some(2) => GetentResult::NotFound,
        exit => GetentResult::Failed(exit, first_line(run)),
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

pub use crate::model::ResolverSeen;

/// glibc's reading of resolv.conf (`res_init`): up to 3 `nameserver`s;
/// the last `search` or `domain` line wins; `options ndots:N` (capped at
/// 15, default 1); then `LOCALDOMAIN` replaces the search list and
/// `RES_OPTIONS` adds options. musl (`musl`: true) reads neither variable
/// and skips lines of 255 characters or more (`__get_resolv_conf`).
pub fn resolver_seen(
    lines: &[String],
    localdomain: Option<&str>,
    res_options: Option<&str>,
    musl: bool,
) -> ResolverSeen {
    let mut seen = ResolverSeen {
        ndots: 1,
        ..ResolverSeen::default()
    };
    let apply_options = |seen: &mut ResolverSeen, words: &mut dyn Iterator<Item = &str>| {
        for w in words {
            if let Some(n) = w
                .strip_prefix("ndots:")
                .and_then(|n| n.parse::<usize>().ok())
            {
                seen.ndots = n.min(MAX_NDOTS);
            }
        }
    };
    for line in lines {
        if musl && line.len() >= 255 {
            continue;
        }
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ns) = words.next()
                    && seen.nameservers.len() < MAX_NAMESERVERS
                {
                    seen.nameservers.push(ns.to_owned());
                }
            }
            Some("search") => seen.search = words.map(str::to_owned).collect(),
            Some("domain") => seen.search = words.next().map(str::to_owned).into_iter().collect(),
            Some("options") => apply_options(&mut seen, &mut words),
            _ => {}
        }
    }
    if !musl {
        if let Some(ld) = localdomain {
            seen.search = ld.split_whitespace().map(str::to_owned).collect();
        }
        if let Some(opts) = res_options {
            apply_options(&mut seen, &mut opts.split_whitespace());
        }
    }
    seen
}
