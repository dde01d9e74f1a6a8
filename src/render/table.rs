//! The table view: a summary, then one section per link of the chain.

use std::borrow::Cow;
use std::fmt::Write as _;

use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::RenderOpts;
use crate::model::{NameForm, Report, Severity, TargetPort};

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
    fn title(&mut self, t: &str, extra: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        if self.opts.color {
            let _ = writeln!(self.out, "{}{}", t.bold(), extra);
        } else {
            let _ = writeln!(self.out, "{t}{extra}");
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

    /// Print a table. Only the last `wrap` columns may wrap when the
    /// terminal is narrow; the others keep their content width.
    fn push(&mut self, t: &mut Table, wrap: usize) {
        let n = t.column_count();
        // kubectl's look: flush left, two spaces between columns.
        for (i, col) in t.column_iter_mut().enumerate() {
            col.set_padding((0, 2));
            if i + wrap < n {
                col.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        for line in t.lines() {
            self.out.push_str(line.trim_end());
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

fn sev_color(s: Severity) -> Color {
    match s {
        Severity::Error => Color::Red,
        Severity::Warning => Color::Yellow,
        Severity::Info => Color::Blue,
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
    summary(&mut c, r);
    if r.service.found {
        backends(&mut c, r);
        endpoints(&mut c, r);
    }
    dns(&mut c, r);
    name_forms(&mut c, r);
    findings(&mut c, r);
    not_checked(&mut c, r);
    c.out
}

fn summary(c: &mut Ctx<'_>, r: &Report) {
    let s = &r.service;
    let id = format!("{}/{}", safe(&s.namespace), safe(&s.name));
    if !s.found {
        c.title(&format!("Service {id}"), "  (not found)");
        return;
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

fn backends(c: &mut Ctx<'_>, r: &Report) {
    if r.service.selector.is_none() {
        return;
    }
    c.title(
        "Backends",
        &format!("  {} pod(s) selected", r.backends.len()),
    );
    if r.backends.is_empty() {
        return;
    }
    let mut header = vec!["POD", "READY", "STATUS", "IP", "NODE"];
    if c.opts.wide {
        header.extend(["PHASE", "RESTARTS"]);
    }
    let mut t = c.table(&header);
    for b in &r.backends {
        let mut row = vec![
            c.cell(&b.pod, None),
            c.cell(
                if b.ready { "yes" } else { "no" },
                Some(if b.ready { Color::Green } else { Color::Red }),
            ),
            c.cell(&b.status, None),
            c.cell(dash(b.ip.as_deref()), None),
            c.cell(dash(b.node.as_deref()), None),
        ];
        if c.opts.wide {
            row.push(c.cell(dash(b.phase.as_deref()), None));
            row.push(c.cell(b.restarts.to_string(), None));
        }
        t.add_row(row);
    }
    c.push(&mut t, 1);
}

fn endpoints(c: &mut Ctx<'_>, r: &Report) {
    let Some(e) = &r.endpoints else {
        c.title("Endpoints", "  not checked");
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
    c.push(&mut t, 1);
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
    c.push(&mut t, 1);
}

fn predicted(n: &NameForm) -> String {
    match n.expected_resolves {
        Some(true) => {
            let mut s = format!("yes → {}", n.expected_addresses.join(","));
            if let Some(cn) = &n.expected_cname {
                s = format!("yes → CNAME {cn}");
                if !n.expected_addresses.is_empty() {
                    s.push_str(&format!(" → {}", n.expected_addresses.join(",")));
                }
            }
            s
        }
        Some(false) => "no".to_owned(),
        None => match &n.expected_cname {
            Some(cn) => format!("CNAME {cn} (upstream)"),
            None => "unknown".to_owned(),
        },
    }
}

fn name_forms(c: &mut Ctx<'_>, r: &Report) {
    if r.name_forms.is_empty() {
        return;
    }
    c.title(
        "Name forms",
        "  (predicted from cluster state; OBSERVED comes from a probe)",
    );
    let mut header = vec!["NAME", "FROM", "PREDICTED", "OBSERVED", "WHY"];
    if c.opts.wide {
        header.insert(4, "ANSWERED BY");
    }
    let mut t = c.table(&header);
    for n in &r.name_forms {
        let from = n
            .from_namespace
            .clone()
            .unwrap_or_else(|| "any other namespace".to_owned());
        let color = match n.expected_resolves {
            Some(true) => Some(Color::Green),
            Some(false) => Some(Color::Red),
            None => Some(Color::Yellow),
        };
        let observed = match &n.observed {
            Some(o) if o.resolves => format!("yes → {}", o.addresses.join(",")),
            Some(_) => "no".to_owned(),
            None => "-".to_owned(),
        };
        let mut row = vec![
            c.cell(&n.name, None),
            c.cell(from, None),
            c.cell(predicted(n), color),
            c.cell(observed, None),
        ];
        if c.opts.wide {
            row.push(c.cell(dash(n.answered_by.as_deref()), None));
            let walk: Vec<String> = n
                .candidates
                .iter()
                .map(|cand| format!("{} {}", cand.name, cand.answer.short()))
                .collect();
            row.push(Cell::new(format!(
                "{}\n  tried: {}",
                safe(&n.why),
                safe(&walk.join("; "))
            )));
        } else {
            row.push(c.cell(&n.why, None));
        }
        t.add_row(row);
    }
    c.push(&mut t, 1);
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
    let mut t = c.table(&["SEVERITY", "CODE", "MESSAGE", "FIX"]);
    for f in &r.findings {
        t.add_row(vec![
            c.cell(f.severity.as_str(), Some(sev_color(f.severity))),
            c.cell(f.code.as_str(), None),
            c.cell(&f.message, None),
            c.cell(&f.fix, None),
        ]);
    }
    c.push(&mut t, 2);
}

fn not_checked(c: &mut Ctx<'_>, r: &Report) {
    if r.not_checked.is_empty() {
        return;
    }
    c.title("Not checked", "");
    let mut t = c.table(&["CHECK", "REASON", "NEEDS"]);
    for n in &r.not_checked {
        t.add_row(vec![
            c.cell(&n.check, None),
            c.cell(&n.reason, None),
            c.cell(&n.needs, None),
        ]);
    }
    c.push(&mut t, 2);
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(safe("plain"), "plain");
        assert_eq!(safe("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(safe("two\nlines"), "two\\nlines");
        assert_eq!(safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }
}
