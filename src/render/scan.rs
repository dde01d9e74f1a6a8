//! The scan's table: one row per Service (worst first), the cluster-wide
//! findings once, and a closing line counting Services by verdict. `-o
//! wide` adds each Service's findings under its row.

use std::fmt::Write as _;

use owo_colors::OwoColorize;

use super::RenderOpts;
use super::table::{safe, wrap, wrap_keeping_commands};
use crate::model::{
    Cleanup, Finding, ProbeMode, Report, Scan, ServiceType, Severity, Verdict, Via,
};

fn verdict_word(v: Verdict, color: bool) -> String {
    let w = v.as_str().to_owned();
    if !color {
        return w;
    }
    let c = match v {
        Verdict::Reachable => owo_colors::AnsiColors::Green,
        Verdict::Degraded => owo_colors::AnsiColors::Yellow,
        Verdict::Unreachable => owo_colors::AnsiColors::Red,
        Verdict::Unknown => owo_colors::AnsiColors::Magenta,
    };
    w.color(c).to_string()
}

fn type_word(r: &Report) -> &'static str {
    match r.service.type_ {
        Some(ServiceType::ClusterIP) if r.service.headless => "Headless",
        Some(ServiceType::ClusterIP) => "ClusterIP",
        Some(ServiceType::NodePort) => "NodePort",
        Some(ServiceType::LoadBalancer) => "LoadBalancer",
        Some(ServiceType::ExternalName) => "ExternalName",
        None => "-",
    }
}

fn endpoints_word(r: &Report) -> String {
    match (&r.service.type_, &r.endpoints) {
        (Some(ServiceType::ExternalName), _) => "-".to_owned(),
        (_, Some(e)) => format!("{}/{}", e.ready, e.ready + e.not_ready),
        (_, None) => "?".to_owned(),
    }
}

/// The worst finding, for the row: its code and its message.
fn worst(r: &Report) -> Option<&Finding> {
    r.findings.iter().min_by_key(|f| f.severity)
}

pub fn render(scan: &Scan, opts: &RenderOpts) -> String {
    let mut out = String::new();
    let scope = match (&scan.summary.namespace, &scan.summary.selector) {
        (Some(ns), None) => format!("namespace {ns}"),
        (Some(ns), Some(sel)) => format!("namespace {ns}, -l {sel}"),
        (None, None) => "every namespace".to_owned(),
        (None, Some(sel)) => format!("every namespace, -l {sel}"),
    };
    let head = format!(
        "Scan of {}: {} — {}",
        safe(&scope),
        verdict_word(scan.verdict, opts.color).to_ascii_uppercase(),
        safe(&scan.verdict_reason)
    );
    for l in wrap(&head, opts.width, "  ") {
        let _ = writeln!(out, "{l}");
    }
    if !scan.reports.is_empty() {
        out.push('\n');
        rows(&mut out, scan, opts);
    }
    if !scan.summary.cluster_findings.is_empty() {
        if !opts.no_headers {
            let _ = writeln!(
                out,
                "\nCluster-wide findings (they count in every Service's verdict)"
            );
        }
        for f in &scan.summary.cluster_findings {
            finding(&mut out, f, opts, "");
        }
    }
    not_scanned(&mut out, scan, opts);
    out.push('\n');
    for l in wrap(&probe_line(scan), opts.width, "  ") {
        let _ = writeln!(out, "{l}");
    }
    if let Some(line) = connect_line(scan) {
        for l in wrap(&line, opts.width, "  ") {
            let _ = writeln!(out, "{l}");
        }
    }
    let c = &scan.summary.by_verdict;
    let _ = writeln!(
        out,
        "{} Service(s): {} reachable, {} degraded, {} unreachable, {} unknown",
        scan.summary.services, c.reachable, c.degraded, c.unreachable, c.unknown
    );
    out
}

/// Whether the name forms were observed, how, and for how many Services.
fn probe_line(scan: &Scan) -> String {
    let Some(p) = &scan.summary.probe else {
        return "Name forms predicted, not observed: a scan observes them only when asked (--probe pod, --probe local or --from, on a live cluster).".to_owned();
    };
    let observed = scan
        .reports
        .iter()
        .filter(|r| r.name_forms.iter().any(|f| f.observed.is_some()))
        .count();
    let first = p.clients.first();
    let how = match p.mode {
        ProbeMode::Pod => {
            const SHOWN: usize = 5;
            let mut names: Vec<&str> = p
                .clients
                .iter()
                .take(SHOWN)
                .map(|c| c.namespace.as_str())
                .collect();
            let more = p.clients.len().saturating_sub(SHOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            names.sort_unstable();
            format!(
                "a probe Job in each of {} client namespace(s) ({}{more}), image {}",
                p.clients.len(),
                names.join(", "),
                p.image.as_deref().unwrap_or("?")
            )
        }
        ProbeMode::From => match first {
            Some(c) => format!(
                "exec into pod {}/{}{}",
                c.namespace,
                c.pod.as_deref().unwrap_or("?"),
                if c.via == Via::Ephemeral {
                    " (an ephemeral container)"
                } else {
                    ""
                }
            ),
            None => "exec into the --from pod".to_owned(),
        },
        ProbeMode::Local => format!(
            "from this machine through a port-forward to {}/{}, which skips the kube-dns ClusterIP, a NodeLocal DNSCache and NetworkPolicy",
            first.map_or("kube-system", |c| c.namespace.as_str()),
            first.and_then(|c| c.pod.as_deref()).unwrap_or("?")
        ),
    };
    let cleanup = match p.cleanup {
        Cleanup::Deleted => "; probe Jobs deleted",
        Cleanup::Kept => "; probe Jobs kept (--keep-probe)",
        Cleanup::Failed => "; a probe Job could not be deleted",
        Cleanup::None => "",
    };
    format!(
        "Name forms observed for {observed} of {} Service(s): {}{cleanup}.",
        scan.reports.len(),
        safe(&how)
    )
}

/// `--connect`: how many Services' connections ran and how they ended
/// (each Service's own are in its report, `-o json`; their findings in
/// the rows).
fn connect_line(scan: &Scan) -> Option<String> {
    use crate::model::ConnectionResult as R;
    let with: Vec<&Vec<crate::model::Connection>> = scan
        .reports
        .iter()
        .filter_map(|r| r.connections.as_ref())
        .collect();
    if with.is_empty() {
        return None;
    }
    let count = |want: R| {
        with.iter()
            .flat_map(|c| c.iter())
            .filter(|c| c.result == want)
            .count()
    };
    Some(format!(
        "TCP connections (--connect) for {} of {} Service(s): {} connected, {} refused, {} timed out, {} failed.",
        with.len(),
        scan.reports.len(),
        count(R::Connected),
        count(R::Refused),
        count(R::Timeout),
        count(R::Error)
    ))
}

/// What of the scope was not read, so not scanned.
fn not_scanned(out: &mut String, scan: &Scan, opts: &RenderOpts) {
    if scan.summary.not_checked.is_empty() {
        return;
    }
    if !opts.no_headers {
        let _ = writeln!(out, "\nNot scanned (not read)");
    }
    for n in &scan.summary.not_checked {
        let line = format!("- {}: {} (needs {})", n.check, n.reason, n.needs);
        for l in wrap(&safe(&line), opts.width, "    ") {
            let _ = writeln!(out, "{l}");
        }
    }
}

fn rows(out: &mut String, scan: &Scan, opts: &RenderOpts) {
    let rows: Vec<[String; 6]> = scan
        .reports
        .iter()
        .map(|r| {
            // The worst finding's code, and the verdict's few words.
            let why = match worst(r).filter(|f| f.severity != Severity::Info) {
                Some(f) => format!("{}: {}", f.code.as_str(), r.verdict_reason),
                None => r.verdict_reason.clone(),
            };
            [
                safe(&r.service.namespace).into_owned(),
                safe(&r.service.name).into_owned(),
                type_word(r).to_owned(),
                endpoints_word(r),
                r.verdict.as_str().to_owned(),
                safe(&why).into_owned(),
            ]
        })
        .collect();
    let headers = ["NAMESPACE", "NAME", "TYPE", "READY", "VERDICT", "WHY"];
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()).take(5) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let fixed: usize = widths[..5].iter().map(|w| w + 2).sum();
    // WHY takes what is left of the line; when that is under 40 columns it
    // goes on the line below its row instead, wrapped, never cut.
    let below = opts
        .width
        .is_some_and(|w| usize::from(w).saturating_sub(fixed) < 40);
    let last = opts.width.map(|w| usize::from(w).saturating_sub(fixed));
    let line = |cells: [&str; 6], verdict: Option<Verdict>| -> String {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate().take(5) {
            let pad = widths[i] - cell.chars().count();
            let shown = match (i, verdict) {
                (4, Some(v)) => verdict_word(v, opts.color),
                _ => (*cell).to_owned(),
            };
            let _ = write!(l, "{shown}{}  ", " ".repeat(pad));
        }
        let why = cells[5];
        match last {
            _ if below => {}
            Some(n) if why.chars().count() > n => {
                // Wrapped inside its column.
                let pad = " ".repeat(fixed);
                let lines = wrap(why, Some(u16::try_from(n).unwrap_or(u16::MAX)), "");
                for (i, part) in lines.iter().enumerate() {
                    if i > 0 {
                        let _ = write!(l, "\n{pad}");
                    }
                    l.push_str(part.trim_end());
                }
            }
            _ => l.push_str(why),
        }
        l.trim_end().to_owned()
    };
    if !opts.no_headers {
        let mut h = headers;
        if below {
            h[5] = "";
        }
        let _ = writeln!(out, "{}", line(h, None));
    }
    for (r, cells) in scan.reports.iter().zip(&rows) {
        let refs = [
            cells[0].as_str(),
            cells[1].as_str(),
            cells[2].as_str(),
            cells[3].as_str(),
            cells[4].as_str(),
            cells[5].as_str(),
        ];
        let _ = writeln!(out, "{}", line(refs, Some(r.verdict)));
        if below {
            for l in wrap(&format!("  {}", cells[5]), opts.width, "  ") {
                let _ = writeln!(out, "{l}");
            }
        }
        if opts.wide {
            for f in &r.findings {
                finding(out, f, opts, "  ");
            }
        }
    }
}

fn finding(out: &mut String, f: &Finding, opts: &RenderOpts, indent: &str) {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let _ = writeln!(out, "{indent}{sev}  {}", f.code.as_str());
    let more = format!("{indent}    ");
    for l in wrap(&format!("{more}{}", safe(&f.message)), opts.width, &more) {
        let _ = writeln!(out, "{l}");
    }
    let fix_indent = format!("{indent}      ");
    for l in wrap_keeping_commands(
        &format!("{more}fix: {}", safe(&f.fix)),
        opts.width,
        &fix_indent,
    ) {
        let _ = writeln!(out, "{l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Options, scan};
    use crate::model::{ProbeClient, ProbeSummary};

    fn scanned() -> Scan {
        let st = crate::source::snapshot::from_bytes(
            std::path::Path::new("scenario.json"),
            include_bytes!("../../tests/fixtures/scenario.json").to_vec(),
        )
        .unwrap();
        scan(&st, &Options::default(), Some("default"), None)
    }

    fn client(ns: &str, pod: &str, via: Via) -> ProbeClient {
        ProbeClient {
            namespace: ns.into(),
            pod: Some(pod.into()),
            via,
        }
    }

    #[test]
    fn a_closing_line_counts_the_connections_when_there_are_any() {
        use crate::model::{Connection, ConnectionResult, ConnectionTarget};
        let opts = RenderOpts {
            color: false,
            wide: false,
            no_headers: false,
            width: None,
        };
        let mut s = scanned();
        assert!(!render(&s, &opts).contains("TCP connections"));
        let conn = |result| Connection {
            from: "default".into(),
            address: "10.96.0.5".into(),
            port: 80,
            service_port: 80,
            target: ConnectionTarget::Service,
            pod: None,
            result,
            detail: "bash /dev/tcp".into(),
        };
        s.reports[0].connections = Some(vec![
            conn(ConnectionResult::Connected),
            conn(ConnectionResult::Timeout),
        ]);
        s.reports[1].connections = Some(vec![conn(ConnectionResult::Refused)]);
        s.reports[2].connections = Some(Vec::new());
        let text = render(&s, &opts);
        assert!(
            text.contains(
                "TCP connections (--connect) for 3 of 6 Service(s): 1 connected, 1 refused, 1 timed out, 0 failed."
            ),
            "{text}"
        );
    }

    #[test]
    fn the_closing_lines_say_whether_and_how_the_names_were_observed() {
        let opts = RenderOpts {
            color: false,
            wide: false,
            no_headers: false,
            width: None,
        };
        let mut s = scanned();
        let text = render(&s, &opts);
        assert!(
            text.contains(
                "Name forms predicted, not observed: a scan observes them only when asked"
            ),
            "{text}"
        );
        assert!(text.trim_end().ends_with("0 unknown"), "{text}");
        for (probe, words) in [
            (
                ProbeSummary {
                    mode: ProbeMode::Pod,
                    image: Some("img:1".into()),
                    clients: vec![
                        client("shop", "svcdiscover-probe-x-1", Via::ProbePod),
                        client("default", "svcdiscover-probe-x-2", Via::ProbePod),
                    ],
                    cleanup: Cleanup::Deleted,
                },
                "Name forms observed for 0 of 6 Service(s): a probe Job in each of 2 client namespace(s) (default, shop), image img:1; probe Jobs deleted.",
            ),
            (
                ProbeSummary {
                    mode: ProbeMode::From,
                    image: None,
                    clients: vec![client("client", "client", Via::Exec)],
                    cleanup: Cleanup::None,
                },
                "Name forms observed for 0 of 6 Service(s): exec into pod client/client.",
            ),
            (
                ProbeSummary {
                    mode: ProbeMode::Local,
                    image: None,
                    clients: vec![client("kube-system", "coredns-1", Via::Local)],
                    cleanup: Cleanup::None,
                },
                "through a port-forward to kube-system/coredns-1, which skips the kube-dns ClusterIP",
            ),
        ] {
            s.summary.probe = Some(Box::new(probe));
            let text = render(&s, &opts);
            assert!(text.contains(words), "{text}");
        }
        // A Service with an observed row counts.
        let row = &mut s.reports[0].name_forms[0];
        row.observed = Some(crate::model::Observed {
            status: crate::model::ObservedStatus::Nxdomain,
            addresses: vec![],
            answered_by: None,
            candidates: vec![],
            via: Via::Local,
            resolver: crate::model::ResolverSeen {
                nameservers: vec![],
                search: vec![],
                ndots: 5,
            },
            as_predicted: Some(true),
            notes: vec![],
        });
        assert!(render(&s, &opts).contains("observed for 1 of 6 Service(s)"));
    }
}
