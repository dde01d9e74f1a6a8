//! The table view: a summary, then one section per link of the chain.

use std::borrow::Cow;
use std::fmt::Write as _;

use comfy_table::{
    Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets,
};
use owo_colors::OwoColorize;

use super::RenderOpts;
use crate::model::{
    Answer, ConnectionResult, ConnectionTarget, NameForm, ObservedStatus, ProbeMode, Report,
    Severity, TargetPort, Verdict, Via,
};

/// Neutralise control characters (escape sequences, newlines) in text that
/// comes from the cluster, so it cannot rewrite the terminal or the layout.
pub fn safe(s: &str) -> Cow<'_, str> {
    // Controls, and the invisible characters that reorder or hide text
    // (bidirectional overrides and isolates, zero-width characters).
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

struct Ctx<'a> {
    opts: &'a RenderOpts,
    out: String,
}

impl Ctx<'_> {
    /// A section title and its one-line summary; `--no-headers` drops it.
    fn title(&mut self, t: &str, extra: &str) {
        if self.opts.no_headers {
            return;
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let mut lines = wrap(&format!("{t}{extra}"), self.opts.width, "  ").into_iter();
        if let Some(first) = lines.next() {
            if self.opts.color {
                // Bold only the title words, which never wrap.
                let rest = first.strip_prefix(t).unwrap_or(&first);
                let _ = writeln!(self.out, "{}{rest}", t.bold());
            } else {
                let _ = writeln!(self.out, "{first}");
            }
        }
        for l in lines {
            let _ = writeln!(self.out, "{l}");
        }
    }

    fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        t.load_style(presets::NOTHING);
        if self.opts.color {
            t.enforce_styling();
            t.style_text_only();
        } else {
            t.force_no_tty();
        }
        match self.opts.width {
            Some(w) => {
                t.set_width(w);
                t.set_content_arrangement(ContentArrangement::Dynamic);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        if !self.opts.no_headers {
            t.set_header(header.iter().map(|h| {
                let c = Cell::new(h);
                if self.opts.color {
                    c.add_attribute(Attribute::Dim)
                } else {
                    c
                }
            }));
        }
        t
    }

    /// Print a table. Only the `wrap` columns may wrap when the terminal is
    /// narrow, and never below 8 columns; the others keep their content width.
    fn push(&mut self, t: &mut Table, wrap: &[usize]) {
        let n = t.column_count();
        // kubectl's look: flush left, two spaces between columns.
        for (i, col) in t.column_iter_mut().enumerate() {
            // The last column needs no gap after it: its width is the line's.
            col.set_padding((0, if i + 1 == n { 0 } else { 2 }));
            if wrap.contains(&i) {
                col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(8)));
            } else {
                col.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        for line in t.lines() {
            self.out.push_str(line.trim_end());
            self.out.push('\n');
        }
    }

    /// Append `text` wrapped to the width, continuation lines indented.
    fn lines(&mut self, text: &str, indent: &str) {
        for l in wrap(text, self.opts.width, indent) {
            self.out.push_str(&l);
            self.out.push('\n');
        }
    }

    /// The same, never breaking a backticked command.
    fn lines_keeping_commands(&mut self, text: &str, indent: &str) {
        for l in wrap_keeping_commands(text, self.opts.width, indent) {
            self.out.push_str(&l);
            self.out.push('\n');
        }
    }

    fn cell(&self, text: impl AsRef<str>, color: Option<Color>) -> Cell {
        let c = Cell::new(safe(text.as_ref()));
        match color {
            Some(col) if self.opts.color => c.fg(col),
            _ => c,
        }
    }
}

fn dash<T: AsRef<str>>(o: Option<T>) -> String {
    o.map_or_else(|| "-".to_owned(), |s| s.as_ref().to_owned())
}

pub fn render(r: &Report, opts: &RenderOpts) -> String {
    let mut c = Ctx {
        opts,
        out: String::new(),
    };
    verdict(&mut c, r);
    summary(&mut c, r);
    if r.service.found == Some(true) {
        backends(&mut c, r);
        endpoints(&mut c, r);
    }
    dns(&mut c, r);
    name_forms(&mut c, r);
    connections(&mut c, r);
    findings(&mut c, r);
    not_checked(&mut c, r);
    c.out
}

/// The first line: the answer and its main reason.
fn verdict(c: &mut Ctx<'_>, r: &Report) {
    let word = r.verdict.as_str().to_ascii_uppercase();
    let word = if c.opts.color {
        let color = match r.verdict {
            Verdict::Reachable => owo_colors::AnsiColors::Green,
            Verdict::Degraded => owo_colors::AnsiColors::Yellow,
            Verdict::Unreachable => owo_colors::AnsiColors::Red,
            Verdict::Unknown => owo_colors::AnsiColors::Magenta,
        };
        word.color(color).bold().to_string()
    } else {
        word
    };
    let reason = if r.verdict_reason.is_empty() {
        String::new()
    } else {
        format!(" — {}", safe(&r.verdict_reason))
    };
    let line = format!(
        "{} ({}): {word}{reason}",
        safe(&r.service.name),
        safe(&r.service.namespace)
    );
    c.lines(&line, "  ");
}

/// Wrap like [`wrap`], but never inside a `backticked command`, so that a
/// command pastes as one line (a command wider than the terminal overflows).
pub(super) fn wrap_keeping_commands(text: &str, width: Option<u16>, indent: &str) -> Vec<String> {
    const GLUE: char = '\u{e000}';
    let mut glued = String::with_capacity(text.len());
    let mut in_code = false;
    for ch in text.chars() {
        match ch {
            '`' => {
                in_code = !in_code;
                glued.push(ch);
            }
            ' ' if in_code => glued.push(GLUE),
            _ => glued.push(ch),
        }
    }
    let lines = match width {
        Some(w) if usize::from(w) > indent.len() + 10 => {
            let opts = textwrap::Options::new(usize::from(w))
                .subsequent_indent(indent)
                .word_splitter(textwrap::WordSplitter::NoHyphenation)
                .break_words(false);
            textwrap::wrap(&glued, opts)
                .into_iter()
                .map(|l| l.into_owned())
                .collect()
        }
        _ => vec![glued],
    };
    lines.into_iter().map(|l| l.replace(GLUE, " ")).collect()
}

/// Wrap `text` to `width` columns; continuation lines start with `indent`.
/// Without a width (not a terminal) the text stays on one line.
pub(super) fn wrap(text: &str, width: Option<u16>, indent: &str) -> Vec<String> {
    match width {
        Some(w) if usize::from(w) > indent.len() + 10 => {
            let opts = textwrap::Options::new(usize::from(w))
                .subsequent_indent(indent)
                // Names such as service-pay-v1 must not break at their hyphens.
                .word_splitter(textwrap::WordSplitter::NoHyphenation)
                .break_words(true);
            textwrap::wrap(text, opts)
                .into_iter()
                .map(|l| l.into_owned())
                .collect()
        }
        _ => vec![text.to_owned()],
    }
}

fn summary(c: &mut Ctx<'_>, r: &Report) {
    let s = &r.service;
    let id = format!("{}/{}", safe(&s.namespace), safe(&s.name));
    match s.found {
        Some(true) => {}
        Some(false) => {
            c.title(&format!("Service {id}"), "  not found");
            return;
        }
        None => {
            c.title(&format!("Service {id}"), "  not read");
            return;
        }
    }
    let mut parts = Vec::new();
    if let Some(t) = s.type_ {
        parts.push(format!("{t:?}"));
    }
    if s.headless {
        parts.push("headless".to_owned());
    } else if !s.cluster_ips.is_empty() {
        parts.push(safe(&s.cluster_ips.join(",")).into_owned());
    }
    if let Some(e) = &s.external_name {
        parts.push(format!("→ {}", safe(e)));
    }
    let ports: Vec<String> = s
        .ports
        .iter()
        .map(|p| {
            let target = match &p.target_port {
                TargetPort::Number(n) => n.to_string(),
                TargetPort::Name(n) => safe(n).into_owned(),
            };
            let node = p
                .node_port
                .map(|n| format!(" node:{n}"))
                .unwrap_or_default();
            let name = p
                .name
                .as_deref()
                .map(|n| format!("{}:", safe(n)))
                .unwrap_or_default();
            format!("{name}{}→{target}/{}{node}", p.port, safe(&p.protocol))
        })
        .collect();
    if !ports.is_empty() {
        parts.push(format!("ports {}", ports.join(" ")));
    }
    match &s.selector {
        Some(sel) => parts.push(format!(
            "selector {}",
            safe(&crate::model::selector_string(sel))
        )),
        None if s.external_name.is_none() => parts.push("no selector".to_owned()),
        None => {}
    }
    c.title(&format!("Service {id}"), &format!("  {}", parts.join("  ")));
}

/// `(forbidden)` or `(the reason)` for a check listed under not_checked.
fn not_read(r: &Report, check: &str) -> String {
    match r.not_checked.iter().find(|n| n.check == check) {
        Some(n) if n.reason.starts_with("forbidden") => "not read (forbidden)".to_owned(),
        Some(n) => format!("not read ({})", safe(&n.reason)),
        None => "not read".to_owned(),
    }
}

fn backends(c: &mut Ctx<'_>, r: &Report) {
    if r.service.selector.is_none() {
        return;
    }
    let Some(backends) = &r.backends else {
        let why = not_read(r, "selector");
        c.title("Backends", &format!("  pods: {why}"));
        return;
    };
    let ready = backends.iter().filter(|b| b.ready).count();
    c.title(
        "Backends",
        &format!("  {} pod(s) selected, {ready} ready", backends.len()),
    );
    if backends.is_empty() {
        return;
    }
    let mut header = vec!["POD", "READY", "STATUS", "IP", "NODE"];
    if c.opts.wide {
        // The phase is in the JSON; STATUS already says more.
        header.push("RESTARTS");
    }
    let mut t = c.table(&header);
    for b in backends {
        let mut row = vec![
            c.cell(&b.pod, None),
            c.cell(
                yes_no(b.ready),
                Some(if b.ready { Color::Green } else { Color::Red }),
            ),
            c.cell(&b.status, None),
            c.cell(dash(b.ip.as_deref()), None),
            c.cell(dash(b.node.as_deref()), None),
        ];
        if c.opts.wide {
            row.push(c.cell(b.restarts.to_string(), None));
        }
        t.add_row(row);
    }
    // STATUS and NODE may wrap; the names and IPs never.
    c.push(&mut t, &[2, 4]);
}

fn endpoints(c: &mut Ctx<'_>, r: &Report) {
    let Some(e) = &r.endpoints else {
        if r.service.external_name.is_none() {
            let why = not_read(r, "endpoints");
            c.title("Endpoints", &format!("  {why}"));
        }
        return;
    };
    let source = if e.from_endpoints {
        "v1 Endpoints"
    } else {
        "EndpointSlice(s)"
    };
    c.title(
        "Endpoints",
        &format!(
            "  {} ready, {} not ready, {} terminating, from {} {source}",
            e.ready, e.not_ready, e.terminating, e.slices
        ),
    );
    if !c.opts.wide || e.addresses.is_empty() {
        return;
    }
    let mut t = c.table(&["ADDRESS", "POD", "NODE", "READY", "SERVING", "TERMINATING"]);
    for a in &e.addresses {
        t.add_row(vec![
            c.cell(&a.ip, None),
            c.cell(dash(a.pod.as_deref()), None),
            c.cell(dash(a.node.as_deref()), None),
            c.cell(yes_no(a.ready), None),
            c.cell(yes_no(a.serving), None),
            c.cell(yes_no(a.terminating), None),
        ]);
    }
    c.push(&mut t, &[1, 2]);
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn dns(c: &mut Ctx<'_>, r: &Report) {
    let d = &r.dns;
    let source = match d.cluster_domain_source {
        crate::model::DomainSource::Flag => "from --cluster-domain",
        crate::model::DomainSource::Corefile => "from the Corefile",
        crate::model::DomainSource::Default => "default",
    };
    let service = match (d.service_found, &d.cluster_ip) {
        (Some(true), Some(ip)) => format!("kube-dns {}", safe(ip)),
        (Some(true), None) => "kube-dns (no ClusterIP)".to_owned(),
        (Some(false), _) => "kube-dns missing".to_owned(),
        (None, _) => "kube-dns not checked".to_owned(),
    };
    let ready = d
        .ready_endpoints
        .map(|n| format!(", {n} ready endpoint(s)"))
        .unwrap_or_default();
    let nld = if d.node_local_dns == Some(true) {
        ", NodeLocal DNSCache"
    } else {
        ""
    };
    c.title(
        "Cluster DNS",
        &format!(
            "  {service}{ready}{nld}; domain {} ({source})",
            safe(&d.cluster_domain)
        ),
    );
    if d.pods.is_empty() {
        return;
    }
    let mut t = c.table(&["DNS POD", "READY", "STATUS", "IP", "NODE"]);
    for b in &d.pods {
        t.add_row(vec![
            c.cell(&b.pod, None),
            c.cell(
                yes_no(b.ready),
                Some(if b.ready { Color::Green } else { Color::Red }),
            ),
            c.cell(&b.status, None),
            c.cell(dash(b.ip.as_deref()), None),
            c.cell(dash(b.node.as_deref()), None),
        ]);
    }
    c.push(&mut t, &[2]);
}

/// `10.96.0.20`, `10.244.0.5 +2`.
fn addresses(addrs: &[String]) -> String {
    match addrs {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    }
}

/// The Service an absolute name such as `svc.ns.svc.zone.` names: `ns/svc`.
fn service_of(answered_by: &str) -> Option<String> {
    let mut labels = answered_by.trim_end_matches('.').split('.');
    let svc = labels.next()?;
    let ns = labels.next()?;
    (labels.next() == Some("svc")).then(|| format!("{ns}/{svc}"))
}

/// The predicted outcome of one row, short: a mark, the answer, and a colour.
fn outcome(n: &NameForm) -> (String, Color) {
    if n.expected_resolves == Some(true) && n.reaches_target == Some(false) {
        let other = n
            .answered_by
            .as_deref()
            .and_then(service_of)
            .unwrap_or_else(|| "another name".to_owned());
        return (format!("✗ reaches {other}"), Color::Yellow);
    }
    match n.expected_resolves {
        Some(true) => {
            let answer = match &n.expected_cname {
                Some(cn) => format!("CNAME {cn}"),
                None => addresses(&n.expected_addresses),
            };
            (format!("✓ {answer}"), Color::Green)
        }
        Some(false) => {
            let why = if n.why.starts_with("no DNS server answers") {
                "no DNS".to_owned()
            } else {
                match n.candidates.last().map(|c| &c.answer) {
                    Some(Answer::Nodata) => "NODATA".to_owned(),
                    _ => "NXDOMAIN".to_owned(),
                }
            };
            (format!("✗ {why}"), Color::Red)
        }
        None => {
            let answer = n
                .expected_cname
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |cn| format!("CNAME {cn}"));
            (format!("? {answer}"), Color::Yellow)
        }
    }
}

/// What the probe saw, beside the prediction: `= seen` when they agree,
/// else `≠ seen ` and what was seen.
fn observed(n: &NameForm) -> Option<String> {
    let o = n.observed.as_ref()?;
    let resolved = o.status == ObservedStatus::Resolved;
    // The analysis decided (`observe::difference`); unknown predictions
    // are never "as predicted".
    let seen = if resolved {
        format!("✓ {}", addresses(&o.addresses))
    } else {
        format!("✗ {}", o.status.as_str())
    };
    Some(match o.as_predicted {
        Some(true) => "= seen".to_owned(),
        Some(false) => format!("≠ seen {seen}"),
        // Nothing to compare with: what was seen, plainly.
        None => format!("seen {seen}"),
    })
}

/// The subtitle of the name forms: how they were observed, if at all.
fn probe_words(r: &Report) -> String {
    let Some(p) = &r.probe else {
        return "  predicted from cluster state (no probe ran)".to_owned();
    };
    let ran: Vec<String> = p
        .clients
        .iter()
        .filter_map(|c| c.pod.as_ref().map(|pod| format!("{}/{pod}", c.namespace)))
        .collect();
    if ran.is_empty() || !r.name_forms.iter().any(|n| n.observed.is_some()) {
        return "  predicted from cluster state (the probe could not run: see Findings)".to_owned();
    }
    match p.mode {
        ProbeMode::Pod => format!("  predicted, and seen by probe pod {}", ran.join(", ")),
        ProbeMode::From => {
            let how = match p.clients.first().map(|c| c.via) {
                Some(Via::Ephemeral) => "an ephemeral container in",
                _ => "exec in",
            };
            format!(
                "  predicted for and seen from pod {} ({how} it)",
                ran.join(", ")
            )
        }
        ProbeMode::Local => format!(
            "  predicted, and seen in-process through a port-forward to {} (this skips the kube-dns ClusterIP, NodeLocal DNSCache and NetworkPolicy)",
            ran.join(", ")
        ),
    }
}

fn client_label(n: &NameForm) -> String {
    n.from_pod
        .clone()
        .or_else(|| n.from_namespace.clone())
        .unwrap_or_else(|| "other namespaces".to_owned())
}

fn name_forms(c: &mut Ctx<'_>, r: &Report) {
    if r.name_forms.is_empty() {
        return;
    }
    let words = probe_words(r);
    c.title("Name forms", &words);
    if c.opts.wide {
        name_form_blocks(c, r);
        return;
    }
    // One row per name, one column per client; reasons as numbered notes.
    let mut clients: Vec<Option<&str>> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for n in &r.name_forms {
        if !clients.contains(&n.from_namespace.as_deref()) {
            clients.push(n.from_namespace.as_deref());
        }
        if !names.contains(&n.name.as_str()) {
            names.push(&n.name);
        }
    }
    // Each cell's text and colour, and the numbered notes, in reading order.
    let mut notes: Vec<&str> = Vec::new();
    let mut cells: Vec<Vec<Option<(String, Color)>>> = Vec::new();
    for name in &names {
        let mut row = Vec::new();
        for cl in &clients {
            let n = r
                .name_forms
                .iter()
                .find(|n| n.name == *name && n.from_namespace.as_deref() == *cl);
            row.push(n.map(|n| {
                let note = match notes.iter().position(|w| *w == n.why) {
                    Some(i) => i + 1,
                    None => {
                        notes.push(&n.why);
                        notes.len()
                    }
                };
                let (text, color) = outcome(n);
                let seen = observed(n).map(|o| format!(" {o}")).unwrap_or_default();
                (safe(&format!("{text}{seen} [{note}]")).into_owned(), color)
            }));
        }
        cells.push(row);
    }
    // A column observed from one pod (`--from`) is named after it.
    let label = |cl: Option<&str>, other: &str| -> String {
        r.name_forms
            .iter()
            .find(|n| n.from_namespace.as_deref() == cl)
            .and_then(|n| n.from_pod.clone())
            .or_else(|| cl.map(str::to_owned))
            .map_or_else(|| other.to_owned(), |s| safe(&s).into_owned())
    };
    let headers: Vec<String> = clients
        .iter()
        .map(|cl| format!("FROM {}", label(*cl, "OTHER NS")))
        .collect();
    // The matrix needs every name and cell whole on one line; when the
    // terminal is narrower, each name gets a line and each client one below.
    let width = |s: &str| s.chars().count();
    let name_w = names.iter().map(|n| width(n)).max().unwrap_or(0).max(4);
    let needed: usize = name_w
        + (0..clients.len())
            .map(|j| {
                cells
                    .iter()
                    .filter_map(|row| row[j].as_ref().map(|(t, _)| width(t)))
                    .chain(std::iter::once(width(&headers[j])))
                    .max()
                    .unwrap_or(0)
                    + 2
            })
            .sum::<usize>();
    if c.opts.width.is_some_and(|w| needed > usize::from(w)) {
        for (name, row) in names.iter().zip(&cells) {
            c.out.push_str(&safe(name));
            c.out.push('\n');
            for (cl, cell) in clients.iter().zip(row) {
                let Some((text, color)) = cell else { continue };
                let from = label(*cl, "other namespaces");
                let text = if c.opts.color {
                    text.color(ansi(*color)).to_string()
                } else {
                    text.clone()
                };
                c.out.push_str(&format!("  from {from}: {text}\n"));
            }
        }
    } else {
        let mut header: Vec<&str> = vec!["NAME"];
        header.extend(headers.iter().map(String::as_str));
        let mut t = c.table(&header);
        for (name, row) in names.iter().zip(&cells) {
            let mut r = vec![c.cell(name, None)];
            for cell in row {
                r.push(match cell {
                    Some((text, color)) => c.cell(text, Some(*color)),
                    None => c.cell("", None),
                });
            }
            t.add_row(r);
        }
        c.push(&mut t, &[]);
    }
    for (i, why) in notes.iter().enumerate() {
        let line = format!("[{}] {}", i + 1, safe(why));
        c.lines(&line, "    ");
    }
}

fn ansi(c: Color) -> owo_colors::AnsiColors {
    match c {
        Color::Green => owo_colors::AnsiColors::Green,
        Color::Red => owo_colors::AnsiColors::Red,
        _ => owo_colors::AnsiColors::Yellow,
    }
}

/// `-o wide`: each row as a block, every candidate and its answer on a line.
fn name_form_blocks(c: &mut Ctx<'_>, r: &Report) {
    // Each client's resolver is shown once, under its first observed row.
    let mut resolver_shown: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for n in &r.name_forms {
        let (text, color) = outcome(n);
        let text = if c.opts.color {
            text.color(ansi(color)).to_string()
        } else {
            text
        };
        let seen = observed(n).map(|o| format!("  {o}")).unwrap_or_default();
        let head = format!(
            "{}  from {}  {text}{seen}",
            safe(&n.name),
            safe(&client_label(n))
        );
        c.out.push_str(&head);
        c.out.push('\n');
        c.lines(&format!("    {}", safe(&n.why)), "    ");
        // The probe asked the same candidates, in the same order (under
        // another namespace's name for the hypothetical rows).
        let seen_cands = n.observed.as_ref().map(|o| o.candidates.as_slice());
        for (i, cand) in n.candidates.iter().enumerate() {
            let mark = if n.answered_by.as_deref() == Some(cand.name.as_str()) {
                "  (answers)"
            } else {
                ""
            };
            let seen = seen_cands
                .and_then(|v| v.get(i))
                .map(|o| format!("  seen {}", o.rcode.as_str()))
                .unwrap_or_default();
            let line = format!(
                "    {}. {}  {}{mark}{seen}",
                i + 1,
                safe(&cand.name),
                safe(&cand.answer.short())
            );
            c.lines(&line, "         ");
        }
        if let Some(o) = &n.observed {
            for (i, cand) in o.candidates.iter().enumerate().skip(n.candidates.len()) {
                let line = format!(
                    "    {}. {}  seen {} (asked too)",
                    i + 1,
                    safe(&cand.name),
                    cand.rcode.as_str()
                );
                c.lines(&line, "         ");
            }
            let res = &o.resolver;
            let client = (n.from_namespace.as_deref(), n.from_pod.as_deref());
            if (!res.nameservers.is_empty() || !res.search.is_empty())
                && !resolver_shown.contains(&client)
            {
                resolver_shown.push(client);
                c.lines(
                    &format!(
                        "    seen via {}: nameserver {}; search {}; ndots {}",
                        o.via.as_str(),
                        safe(&res.nameservers.join(", ")),
                        safe(&res.search.join(" ")),
                        res.ndots
                    ),
                    "      ",
                );
            }
            for note in &o.notes {
                c.lines(&format!("    seen: {}", safe(note)), "      ");
            }
        }
    }
}

/// `--connect`: one row per connection; the client in the title when there
/// is one, else in a column. `-o wide` adds the Service port and the tool's
/// words.
fn connections(c: &mut Ctx<'_>, r: &Report) {
    let Some(conns) = &r.connections else {
        return;
    };
    let mut froms: Vec<&str> = Vec::new();
    for x in conns {
        if !froms.contains(&x.from.as_str()) {
            froms.push(&x.from);
        }
    }
    let count = |res: ConnectionResult| conns.iter().filter(|x| x.result == res).count();
    let mut counts = vec![format!("{} connected", count(ConnectionResult::Connected))];
    for (res, word) in [
        (ConnectionResult::Refused, "refused"),
        (ConnectionResult::Timeout, "timed out"),
        (ConnectionResult::Error, "failed"),
    ] {
        let n = count(res);
        if n > 0 {
            counts.push(format!("{n} {word}"));
        }
    }
    let from = match froms.as_slice() {
        [] => String::new(),
        [one] if one.contains('/') => format!(" from pod {}", safe(one)),
        [one] => format!(" from namespace {}", safe(one)),
        _ => String::new(),
    };
    if conns.is_empty() {
        c.title(
            "Connections",
            "  none to open (no ClusterIP, no ready endpoint)",
        );
        return;
    }
    c.title(
        "Connections",
        &format!("  TCP{from}: {}", counts.join(", ")),
    );
    let several = froms.len() > 1;
    let mut header = Vec::new();
    if several {
        header.push("FROM");
    }
    header.extend(["TARGET", "ADDRESS", "POD", "RESULT"]);
    if c.opts.wide {
        header.extend(["SVC PORT", "DETAIL"]);
    }
    let mut t = c.table(&header);
    for x in conns {
        let (mark, color) = match x.result {
            ConnectionResult::Connected => ("✓", Color::Green),
            _ => ("✗", Color::Red),
        };
        let target = match x.target {
            ConnectionTarget::Service => "ClusterIP",
            ConnectionTarget::Endpoint => "endpoint",
        };
        let address = if x.address.contains(':') {
            format!("[{}]:{}", x.address, x.port)
        } else {
            format!("{}:{}", x.address, x.port)
        };
        let mut row = Vec::new();
        if several {
            row.push(c.cell(&x.from, None));
        }
        row.extend([
            c.cell(target, None),
            c.cell(address, None),
            c.cell(dash(x.pod.as_deref()), None),
            c.cell(format!("{mark} {}", x.result.as_str()), Some(color)),
        ]);
        if c.opts.wide {
            row.push(c.cell(x.service_port.to_string(), None));
            row.push(c.cell(&x.detail, None));
        }
        t.add_row(row);
    }
    // The pod may wrap, and in wide output the detail.
    let pod_col = usize::from(several) + 2;
    let mut wrap = vec![pod_col];
    if c.opts.wide {
        wrap.push(pod_col + 3);
    }
    c.push(&mut t, &wrap);
}

fn findings(c: &mut Ctx<'_>, r: &Report) {
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    if r.findings.is_empty() {
        c.title("Findings", "  none");
        return;
    }
    c.title(
        "Findings",
        &format!(
            "  {errors} error(s), {warnings} warning(s), {} info",
            r.findings.len() - errors - warnings
        ),
    );
    for f in &r.findings {
        let sev = if c.opts.color {
            f.severity
                .as_str()
                .color(match f.severity {
                    Severity::Error => owo_colors::AnsiColors::Red,
                    Severity::Warning => owo_colors::AnsiColors::Yellow,
                    Severity::Info => owo_colors::AnsiColors::Blue,
                })
                .to_string()
        } else {
            f.severity.as_str().to_owned()
        };
        c.out.push_str(&format!("{sev}  {}\n", f.code.as_str()));
        c.lines(&format!("    {}", safe(&f.message)), "    ");
        c.lines_keeping_commands(&format!("    fix: {}", safe(&f.fix)), "      ");
    }
}

fn not_checked(c: &mut Ctx<'_>, r: &Report) {
    if r.not_checked.is_empty() {
        return;
    }
    c.title("Not checked", &format!("  {}", r.not_checked.len()));
    for n in &r.not_checked {
        let line = format!("- {}: {}", safe(&n.check), safe(&n.reason));
        c.lines(&line, "    ");
        c.lines(&format!("    needs: {}", safe(&n.needs)), "      ");
    }
}

#[cfg(test)]
mod tests {
    use super::safe;
    use crate::model::{Connection, ConnectionResult, ConnectionTarget};

    /// service-pay-v1 of the bundled example, with three connections.
    fn with_connections(froms: &[&str]) -> crate::model::Report {
        let state = crate::source::snapshot::from_bytes(
            std::path::Path::new("scenario.json"),
            include_bytes!("../../tests/fixtures/scenario.json").to_vec(),
        )
        .unwrap();
        let target = crate::analysis::Target {
            namespace: "default".into(),
            name: "service-pay-v1".into(),
        };
        let mut r = crate::analysis::diagnose(&state, &target, &Default::default());
        let conn = |from: &str, target, address: &str, pod: Option<&str>, result| Connection {
            from: from.into(),
            address: address.into(),
            port: 80,
            service_port: 80,
            target,
            pod: pod.map(str::to_owned),
            result,
            detail: "no answer within 2 s (bash /dev/tcp)".into(),
        };
        let mut conns = Vec::new();
        for from in froms {
            conns.extend([
                conn(
                    from,
                    ConnectionTarget::Service,
                    "10.96.103.72",
                    None,
                    ConnectionResult::Timeout,
                ),
                conn(
                    from,
                    ConnectionTarget::Endpoint,
                    "10.244.0.2",
                    Some("pay-v1-78447cf896-llf9x"),
                    ConnectionResult::Connected,
                ),
                conn(
                    from,
                    ConnectionTarget::Endpoint,
                    "fd00::1",
                    Some("pay-v1-78447cf896-w9mjq"),
                    ConnectionResult::Refused,
                ),
            ]);
        }
        r.connections = Some(conns);
        r
    }

    fn render(r: &crate::model::Report, wide: bool) -> String {
        super::render(
            r,
            &crate::render::RenderOpts {
                color: false,
                wide,
                no_headers: false,
                width: Some(80),
            },
        )
    }

    fn section(text: &str) -> Vec<&str> {
        text.lines()
            .skip_while(|l| !l.starts_with("Connections"))
            .take_while(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn connections_fit_80_columns() {
        let r = with_connections(&["default"]);
        let text = render(&r, false);
        let s = section(&text);
        assert_eq!(
            s,
            [
                "Connections  TCP from namespace default: 1 connected, 1 refused, 1 timed out",
                "TARGET     ADDRESS          POD                      RESULT",
                "ClusterIP  10.96.103.72:80  -                        ✗ timeout",
                "endpoint   10.244.0.2:80    pay-v1-78447cf896-llf9x  ✓ connected",
                "endpoint   [fd00::1]:80     pay-v1-78447cf896-w9mjq  ✗ refused",
            ]
        );
        for wide in [false, true] {
            for froms in [&["default"][..], &["default", "client"][..]] {
                let text = render(&with_connections(froms), wide);
                let s = section(&text);
                assert!(!s.is_empty());
                for l in &s {
                    assert!(l.chars().count() <= 80, "wide {wide}: {l:?}");
                }
                if wide {
                    assert!(
                        s[1].contains("SVC PORT") && s[1].contains("DETAIL"),
                        "{s:#?}"
                    );
                }
                if froms.len() > 1 {
                    assert!(s[1].starts_with("FROM"), "{s:#?}");
                    assert!(s[0].ends_with(": 2 connected, 2 refused, 2 timed out"));
                }
            }
        }
        // Without --connect, no section.
        let mut r = with_connections(&["default"]);
        r.connections = None;
        assert!(section(&render(&r, false)).is_empty());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(safe("plain"), "plain");
        assert_eq!(safe("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(safe("two\nlines"), "two\\nlines");
        assert_eq!(safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }

    /// service-pay-v1 of the bundled example from namespace client, seen by
    /// a probe pod as predicted except `service-pay-v1.default`, which
    /// timed out.
    fn probed() -> crate::model::Report {
        use crate::analysis::{Facts, Observations, Options, Target, View};
        use crate::model::{
            Cleanup, Observed, ObservedCandidate, ObservedRcode, ObservedStatus, ProbeClient,
            ProbeMode, ProbeSummary, ResolverSeen, Via,
        };
        let state = crate::source::snapshot::from_bytes(
            std::path::Path::new("scenario.json"),
            include_bytes!("../../tests/fixtures/scenario.json").to_vec(),
        )
        .unwrap();
        let target = Target {
            namespace: "default".into(),
            name: "service-pay-v1".into(),
        };
        let opts = Options {
            from_namespaces: vec!["client".into()],
            ..Options::default()
        };
        let facts = Facts::compute(&state, &opts);
        let predicted = crate::analysis::diagnose_with(&state, &facts, &target, &opts);
        let conf = crate::analysis::ResolverConf::cluster_first("client", "cluster.local");
        let mut view = View {
            client: Some("client".into()),
            ..View::default()
        };
        for row in &predicted.name_forms {
            let cands = conf.candidates(&row.name);
            let timeout = row.name == "service-pay-v1.default";
            let answered = row.answered_by.clone();
            let candidates = cands
                .iter()
                .map(|c| ObservedCandidate {
                    name: c.clone(),
                    rcode: if timeout {
                        ObservedRcode::Timeout
                    } else if Some(c) == answered.as_ref() {
                        ObservedRcode::Noerror
                    } else {
                        ObservedRcode::Nxdomain
                    },
                })
                .collect();
            let resolved = row.expected_resolves == Some(true) && !timeout;
            view.names.insert(
                row.name.clone(),
                Observed {
                    status: if timeout {
                        ObservedStatus::Timeout
                    } else if resolved {
                        ObservedStatus::Resolved
                    } else {
                        ObservedStatus::Nxdomain
                    },
                    addresses: if resolved {
                        row.expected_addresses.clone()
                    } else {
                        Vec::new()
                    },
                    answered_by: if resolved { answered } else { None },
                    candidates,
                    via: Via::ProbePod,
                    resolver: ResolverSeen {
                        nameservers: vec!["10.96.0.10".into()],
                        search: conf.search.clone(),
                        ndots: 5,
                    },
                    as_predicted: None,
                    notes: Vec::new(),
                },
            );
        }
        let obs = Observations {
            summary: Some(ProbeSummary {
                mode: ProbeMode::Pod,
                image: Some("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7".into()),
                clients: vec![ProbeClient {
                    namespace: "client".into(),
                    pod: Some("svcdiscover-probe-0a1b2c3d-x7k2p".into()),
                    via: Via::ProbePod,
                }],
                cleanup: Cleanup::Deleted,
            }),
            views: vec![view],
            ..Observations::default()
        };
        crate::analysis::diagnose_observed(&state, &facts, &target, &opts, &obs)
    }

    /// The name forms of a probed run, as the table and `-o wide` show
    /// them: agreement as `= seen`, the difference with what was seen, and
    /// (wide) each candidate's answer beside the prediction.
    #[test]
    fn probed_name_forms_show_what_was_seen() {
        let r = probed();
        let table = render(&r, false);
        let wide = render(&r, true);
        for text in [&table, &wide] {
            for l in text.lines() {
                assert!(l.chars().count() <= 80, "{l:?}");
            }
        }
        let forms = |t: &str| -> String {
            t.lines()
                .skip_while(|l| !l.starts_with("Name forms"))
                .take_while(|l| !l.starts_with("Findings"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        insta::assert_snapshot!("probed_table_80", forms(&table));
        insta::assert_snapshot!("probed_wide_80", forms(&wide));
        assert!(table.contains("≠ seen ✗ timeout"), "{table}");
        assert!(table.contains("= seen"), "{table}");
        assert!(wide.contains("seen TIMEOUT"), "{wide}");
    }
}
