//! `-o junit`: JUnit XML for CI test reports (docs/ci.md).
//!
//! One `<testsuite>` per namespace, one `<testcase>` per Service
//! (`classname` the namespace, `name` the Service) and, for each name form a
//! probe observed, one per name form and client. A test case follows the
//! `--fail-on` gate, as the exit code does:
//!
//! * each finding the gate fails on is a `<failure type="CODE"
//!   message="MESSAGE">` whose body is the fix; a Service whose verdict
//!   fails the gate through findings reported elsewhere (a scan's cluster
//!   findings) gets one `<failure type="VERDICT">`;
//! * verdict `unknown` (never a pass) is an `<error type="unknown">`, the
//!   reason as message, the checks that could not run in the body;
//! * the other findings and the `not_checked` entries are in
//!   `<system-out>`: they do not fail the gate, and a check that could not
//!   run is not a skipped test (the verdict says whether it mattered).
//!
//! An observed name form fails when what was seen is not what was predicted
//! (`dns-mismatch`) and the gate fails on that finding; when the prediction
//! itself is unknown the comparison was not made: `<skipped>`, with why (the
//! Service's own test case carries what that means for the gate).

use std::fmt::Write as _;

use crate::exit::{ExitStatus, FailOn};
use crate::model::{Code, Finding, NameForm, Report, Scan, Severity, Verdict};

/// The JUnit document for one Service.
pub fn one(report: &Report, fail_on: FailOn) -> String {
    let cases = cases(report, fail_on);
    document(&[Suite {
        name: report.service.namespace.clone(),
        cases,
    }])
}

/// The JUnit document for a scan: a suite per namespace, in the scan's
/// namespace order of first appearance sorted by name; the cluster's own
/// findings, when there are any, in a suite `cluster` of their own.
pub fn scan(scan: &Scan, fail_on: FailOn) -> String {
    let mut suites: Vec<Suite> = Vec::new();
    let mut reports: Vec<&Report> = scan.reports.iter().collect();
    reports.sort_by(|a, b| {
        (&a.service.namespace, &a.service.name).cmp(&(&b.service.namespace, &b.service.name))
    });
    for r in reports {
        let ns = &r.service.namespace;
        let cases = cases(r, fail_on);
        match suites.iter_mut().find(|s| &s.name == ns) {
            Some(s) => s.cases.extend(cases),
            None => suites.push(Suite {
                name: ns.clone(),
                cases,
            }),
        }
    }
    if !scan.summary.cluster_findings.is_empty() {
        let mut case = Case::new("cluster", "cluster DNS");
        findings_into(&mut case, &scan.summary.cluster_findings, fail_on);
        suites.push(Suite {
            name: "cluster".to_owned(),
            cases: vec![case],
        });
    }
    document(&suites)
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

#[derive(Default)]
struct Case {
    classname: String,
    name: String,
    /// `(type, message, body)`.
    errors: Vec<(String, String, String)>,
    failures: Vec<(String, String, String)>,
    /// Why the test could not be made.
    skipped: Option<String>,
    out: Vec<String>,
}

impl Case {
    fn new(classname: &str, name: &str) -> Case {
        Case {
            classname: classname.to_owned(),
            name: name.to_owned(),
            ..Case::default()
        }
    }
}

fn fails(severity: Severity, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Error => severity == Severity::Error,
        FailOn::Warning => severity != Severity::Info,
        FailOn::Never => false,
    }
}

/// Each finding: a failure when the gate fails on it, a line of output else.
fn findings_into(case: &mut Case, findings: &[Finding], fail_on: FailOn) {
    for f in findings {
        if fails(f.severity, fail_on) {
            case.failures.push((
                f.code.as_str().to_owned(),
                f.message.clone(),
                format!("fix: {}", f.fix),
            ));
        } else {
            case.out.push(format!(
                "{} {}: {}\n  fix: {}",
                f.severity.as_str(),
                f.code,
                f.message,
                f.fix
            ));
        }
    }
}

fn cases(r: &Report, fail_on: FailOn) -> Vec<Case> {
    let ns = r.service.namespace.as_str();
    let mut case = Case::new(ns, &r.service.name);
    case.out
        .push(format!("verdict: {} ({})", r.verdict, r.verdict_reason));
    if r.verdict == Verdict::Unknown {
        let body = r
            .not_checked
            .iter()
            .map(|n| {
                format!(
                    "not checked: {}: {} (needs: {})",
                    n.check, n.reason, n.needs
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        case.errors
            .push(("unknown".to_owned(), r.verdict_reason.clone(), body));
    } else {
        for n in &r.not_checked {
            case.out.push(format!(
                "not checked: {}: {} (needs: {})",
                n.check, n.reason, n.needs
            ));
        }
    }
    findings_into(&mut case, &r.findings, fail_on);
    if r.verdict != Verdict::Unknown
        && ExitStatus::gated(r.verdict, fail_on) != ExitStatus::Clean
        && case.failures.is_empty()
    {
        case.failures.push((
            r.verdict.as_str().to_owned(),
            r.verdict_reason.clone(),
            "the findings that decide this verdict are reported once for the cluster".to_owned(),
        ));
    }
    let mut out = vec![case];
    let mismatch = r
        .findings
        .iter()
        .filter(|f| f.code == Code::DnsMismatch)
        .collect::<Vec<_>>();
    for form in r.name_forms.iter().filter(|f| f.observed.is_some()) {
        out.push(form_case(r, form, &mismatch, fail_on));
    }
    out
}

/// `pay.default from client`, `pay from pod client/web`, `pay from another namespace`.
fn form_name(r: &Report, f: &NameForm) -> String {
    let from = match (&f.from_pod, &f.from_namespace) {
        (Some(pod), _) => format!("pod {pod}"),
        (None, Some(ns)) => format!("namespace {ns}"),
        (None, None) => "another namespace".to_owned(),
    };
    format!("{} name {} from {from}", r.service.name, f.name)
}

fn form_case(r: &Report, f: &NameForm, mismatch: &[&Finding], fail_on: FailOn) -> Case {
    let mut case = Case::new(&r.service.namespace, &form_name(r, f));
    let Some(obs) = &f.observed else {
        return case;
    };
    let seen = if obs.addresses.is_empty() {
        obs.status.as_str().to_owned()
    } else {
        format!("{} {}", obs.status.as_str(), obs.addresses.join(", "))
    };
    let predicted = match f.expected_resolves {
        Some(true) => "resolves",
        Some(false) => "does not resolve",
        None => "unknown",
    };
    case.out.push(format!(
        "predicted: {predicted}; observed ({}): {seen}",
        obs.via.as_str()
    ));
    for n in &obs.notes {
        case.out.push(format!("note: {n}"));
    }
    match obs.as_predicted {
        Some(true) => {}
        Some(false) => {
            // The finding about this name, else the report's first.
            let finding = mismatch
                .iter()
                .find(|m| m.message.contains(&f.name))
                .or_else(|| mismatch.first());
            match finding {
                Some(m) if fails(m.severity, fail_on) => case.failures.push((
                    Code::DnsMismatch.as_str().to_owned(),
                    m.message.clone(),
                    format!("fix: {}", m.fix),
                )),
                Some(m) => case.out.push(format!(
                    "{} {}: {}\n  fix: {}",
                    m.severity.as_str(),
                    m.code,
                    m.message,
                    m.fix
                )),
                None if fails(Severity::Error, fail_on) => case.failures.push((
                    Code::DnsMismatch.as_str().to_owned(),
                    format!("predicted: {predicted}; observed: {seen}"),
                    String::new(),
                )),
                None => {}
            }
        }
        None => {
            case.skipped = Some(format!(
                "not compared: the prediction for {} is unknown ({})",
                f.name, f.why
            ));
        }
    }
    case
}

fn document(suites: &[Suite]) -> String {
    let count = |cases: &[Case]| {
        let errors = cases.iter().filter(|c| !c.errors.is_empty()).count();
        let failures = cases
            .iter()
            .filter(|c| c.errors.is_empty() && !c.failures.is_empty())
            .count();
        let skipped = cases
            .iter()
            .filter(|c| c.errors.is_empty() && c.failures.is_empty() && c.skipped.is_some())
            .count();
        (cases.len(), failures, errors, skipped)
    };
    let all: Vec<&Case> = suites.iter().flat_map(|s| s.cases.iter()).collect();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for s in suites {
        let (t, f, e, _) = count(&s.cases);
        tests += t;
        failures += f;
        errors += e;
    }
    debug_assert_eq!(all.len(), tests);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"kubectl-svcdiscover\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for s in suites {
        let (t, f, e, k) = count(&s.cases);
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{t}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{k}\">",
            attr(&s.name)
        );
        for c in &s.cases {
            case_xml(&mut x, c);
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn case_xml(x: &mut String, c: &Case) {
    let _ = write!(
        x,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(&c.classname),
        attr(&c.name)
    );
    if c.errors.is_empty() && c.failures.is_empty() && c.skipped.is_none() && c.out.is_empty() {
        x.push_str("/>\n");
        return;
    }
    x.push_str(">\n");
    for (tag, list) in [("error", &c.errors), ("failure", &c.failures)] {
        for (ty, message, body) in list {
            let _ = writeln!(
                x,
                "      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>",
                attr(ty),
                attr(message),
                text(body)
            );
        }
    }
    if let Some(why) = &c.skipped {
        let _ = writeln!(x, "      <skipped message=\"{}\"/>", attr(why));
    }
    if !c.out.is_empty() {
        let _ = writeln!(
            x,
            "      <system-out>{}</system-out>",
            text(&c.out.join("\n"))
        );
    }
    x.push_str("    </testcase>\n");
}

/// Whether XML 1.0 allows the character at all (its `Char` production).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escape for element content: `&`, `<`, `>` (also `"` and `'`, harmless
/// there), and characters XML 1.0 forbids replaced by U+FFFD.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// Escape for a double-quoted attribute: as [`text`], and tab, newline and
/// carriage return as character references, which attribute-value
/// normalisation would otherwise turn into spaces.
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_specials_are_escaped() {
        assert_eq!(
            text(r#"a & b < c > d "e" 'f'"#),
            "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;"
        );
        assert_eq!(attr("&amp;"), "&amp;amp;");
    }

    #[test]
    fn characters_xml_forbids_are_replaced_and_whitespace_survives() {
        assert_eq!(
            text("a\u{0}b\u{1b}[31mc\u{7}"),
            "a\u{FFFD}b\u{FFFD}[31mc\u{FFFD}"
        );
        assert_eq!(text("\u{FFFE}\u{FFFF}"), "\u{FFFD}\u{FFFD}");
        // Allowed at the edges of each range.
        let edges = "\u{20}\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}";
        assert_eq!(text(edges), edges);
        assert_eq!(text("l1\nl2\tx"), "l1\nl2\tx");
        assert_eq!(attr("l1\nl2\tx\r"), "l1&#10;l2&#9;x&#13;");
        // Non-ASCII text passes unchanged.
        assert_eq!(attr("Service → pods ✓ é"), "Service → pods ✓ é");
    }
}
