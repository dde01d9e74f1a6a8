//! Tests on outputs captured from the real tools (tests/fixtures/probe/,
//! README there says how each was made). No cluster and no DNS tool is
//! needed here; only `sh -n` runs.

use std::path::PathBuf;

use super::*;
use crate::analysis::ResolverConf;
use crate::model::{ObservedRcode, ObservedStatus, Via};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/probe")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(name)).unwrap()
}

/// The request the captures were made with: a pod of namespace `client`.
fn capture_request() -> ProbeRequest {
    let pod = ResolverConf::cluster_first("client", "cluster.local");
    let typed = [
        "service-pay-v1",
        "service-pay-v1.default",
        "service-pay-v1.default.svc",
        "service-pay-v1.default.svc.cluster.local",
        "pay-headless.default",
        "kube-dns.kube-system",
        "no-such-svc.default",
        "default",
    ];
    ProbeRequest::new(
        typed
            .iter()
            .map(|t| TypedName::from_conf(t, &pod))
            .collect(),
        wildcard_checks("svcdiscover-absent-7f3a", &pod),
        2,
    )
    .unwrap()
}

/// A one-name request, for the slow timeout captures.
fn small_request() -> ProbeRequest {
    let pod = ResolverConf::cluster_first("client", "cluster.local");
    ProbeRequest::new(
        vec![TypedName::from_conf("service-pay-v1.default", &pod)],
        vec![],
        1,
    )
    .unwrap()
}

/// The connections the `connect-*.out` captures opened: the pay-v1 pod
/// that listens on :80, the same pod on :81 (nothing listens), the other
/// pay-v1 pod (its address is on no interface) and service-pay-v1's
/// ClusterIP (no kube-proxy), as they were at capture time.
fn connect_request() -> ProbeRequest {
    ProbeRequest::new(vec![], vec![], 2)
        .unwrap()
        .with_connects(&[
            ("10.244.0.2".into(), 80),
            ("10.244.0.2".into(), 81),
            ("10.244.0.1".into(), 80),
            ("10.96.181.35".into(), 80),
        ])
        .unwrap()
}

/// The scripts used for the captures are kept beside them; set
/// `SVCDISCOVER_UPDATE_FIXTURES=1` to rewrite them after a change.
#[test]
fn capture_scripts_are_current() {
    for (file, req) in [
        ("capture.sh", capture_request()),
        ("capture-small.sh", small_request()),
        ("capture-connect.sh", connect_request()),
    ] {
        let path = fixture_dir().join(file);
        let sh = script(&req);
        if std::env::var_os("SVCDISCOVER_UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &sh).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            sh,
            "{file} is stale"
        );
    }
}

// ---- the script ----

#[test]
fn script_is_posix_sh_without_dollar_paren() {
    let sh = script(&capture_request());
    assert!(
        !sh.contains("$("),
        "the kubelet would expand $( in a command"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.sh");
    std::fs::write(&path, &sh).unwrap();
    let status = std::process::Command::new("sh")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "sh -n rejects the script");
}

#[test]
fn names_with_shell_characters_are_refused() {
    for bad in [
        "a'b",
        "a$b",
        "$(reboot)",
        "`id`",
        "a b",
        "a;b",
        "a\nb",
        "a\tb",
        "a\"b",
        "a\\b",
        "",
        ".",
        "a..b",
        "-a",
        "a-",
        "ä",
    ] {
        assert!(check_name(bad).is_err(), "accepted {bad:?}");
        let typed = TypedName {
            typed: bad.to_owned(),
            candidates: vec![],
        };
        assert!(ProbeRequest::new(vec![typed], vec![], 2).is_err());
        let cand = TypedName {
            typed: "ok".to_owned(),
            candidates: vec![format!("{bad}.")],
        };
        assert!(ProbeRequest::new(vec![cand], vec![], 2).is_err());
        assert!(ProbeRequest::new(vec![], vec![format!("{bad}.")], 2).is_err());
    }
    let long_label = "a".repeat(64);
    assert!(check_name(&long_label).is_err());
    let long_name = vec!["a".repeat(60); 5].join(".");
    assert!(check_name(&long_name).is_err());
    for good in [
        "svc",
        "svc.ns.svc.cluster.local.",
        "_http._tcp.svc",
        "10-1-2-3.ns.pod",
    ] {
        assert!(check_name(good).is_ok(), "refused {good}");
    }
}

#[test]
fn request_limits() {
    let relative = TypedName {
        typed: "svc".into(),
        candidates: vec!["svc.ns".into()],
    };
    let err = ProbeRequest::new(vec![relative], vec![], 2).unwrap_err();
    assert!(err.to_string().contains("not absolute"), "{err}");
    assert!(ProbeRequest::new(vec![], vec!["x.ns".into()], 2).is_err());
    assert!(ProbeRequest::new(vec![], vec![], 0).is_err());
    assert!(ProbeRequest::new(vec![], vec![], 31).is_err());
    let err = check_name("a'b").unwrap_err().to_string();
    assert_eq!(
        err,
        "refusing name `a'b` for the probe script: only letters, digits, '-', '_' and '.' are allowed"
    );
    let err = check_name("a\nb").unwrap_err().to_string();
    assert!(err.contains("a\\nb"), "{err}");
}

#[test]
fn shared_candidates_are_asked_once() {
    let pod = ResolverConf::cluster_first("client", "cluster.local");
    let req = ProbeRequest::new(
        vec![
            TypedName::from_conf("a.b.svc.cluster.local.", &pod),
            TypedName::from_conf("a.b.svc.cluster.local.", &pod),
        ],
        vec!["a.b.svc.cluster.local.".into()],
        2,
    )
    .unwrap();
    let sh = script(&req);
    let askall: Vec<&str> = sh.lines().filter(|l| l.starts_with("askall ")).collect();
    assert_eq!(askall.len(), 1, "one dig for every name");
    assert_eq!(askall[0].matches("'a.b.svc.cluster.local.'").count(), 1);
}

#[test]
fn every_absolute_name_goes_to_one_askall_beside_the_lookups() {
    let pod = ResolverConf::cluster_first("client", "cluster.local");
    let req = ProbeRequest::new(
        vec![
            TypedName::from_conf("a", &pod),
            TypedName::from_conf("b.ns", &pod),
        ],
        wildcard_checks("svcdiscover-absent-x1", &pod),
        2,
    )
    .unwrap();
    let sh = script(&req);
    let body: Vec<&str> = sh.lines().skip_while(|l| !l.starts_with("cand ")).collect();
    let askall = body.iter().position(|l| l.starts_with("askall ")).unwrap();
    let line = body[askall];
    assert!(line.ends_with(" &"), "in the background: {line}");
    // Every candidate, then every wildcard check, each once, in order.
    let mut want: Vec<String> = Vec::new();
    for n in req.names() {
        want.extend(n.candidates.iter().cloned());
    }
    want.extend(req.wildcard_checks().iter().cloned());
    let quoted: Vec<String> = want.iter().map(|w| format!("'{w}'")).collect();
    assert_eq!(line, format!("askall {} &", quoted.join(" ")));
    // The lookups after it, then one wait before the end.
    assert_eq!(&body[askall + 1..askall + 3], ["app 'a'", "app 'b.ns'"]);
    assert_eq!(&body[askall + 3..], ["wait", "rec end"]);
    assert!(
        body[..askall]
            .iter()
            .all(|l| l.starts_with("cand ") || l.starts_with("wild "))
    );
}

#[test]
fn connections_run_at_most_eight_at_a_time() {
    let targets: Vec<(String, i32)> = (1..=20).map(|i| (format!("10.0.0.{i}"), 80)).collect();
    let req = ProbeRequest::new(vec![], vec![], 2)
        .unwrap()
        .with_connects(&targets)
        .unwrap();
    let sh = script(&req);
    let tail: Vec<&str> = sh.lines().skip_while(|l| *l != "connwith").collect();
    let mut batches = Vec::new();
    let mut n = 0;
    for l in &tail[1..] {
        if l.starts_with("conn ") {
            assert!(l.ends_with(" &"), "{l}");
            n += 1;
        } else if *l == "wait" {
            batches.push(n);
            n = 0;
        } else {
            assert_eq!(*l, "rec end");
        }
    }
    assert_eq!(batches, [8, 8, 4]);
    assert_eq!(batches.len(), 20_usize.div_ceil(script::CONNECTS_AT_ONCE));
    assert!(
        script::connect_bytes(req.connects())
            >= tail.iter().map(|l| l.len() + 1).sum::<usize>() - 9
    );
}

/// A fake `dig` that answers like `dig +qr +comments +question` (one
/// block per name: the query as sent, then NXDOMAIN, or for names under
/// `up.` an A record) and counts its runs: the script runs it once for
/// every name, beside getent.
#[test]
fn the_script_runs_one_dig_for_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let runs = dir.path().join("dig-runs");
    let fake = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    fake("getent", "exit 2");
    fake(
        "dig",
        &format!(
            r#"echo run >> '{}'
for a in "$@"; do
  case $a in
  *.) printf ';; Sending:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\n;; QUESTION SECTION:\n;%s\t\tIN\tA\n\n' "$a"
      case $a in
      *.up.) printf ';; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\n\n;; ANSWER SECTION:\n%s 30 IN A 10.0.0.9\n\n' "$a" ;;
      *) printf ';; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 1\n\n' ;;
      esac ;;
  esac
done
exit 0"#,
            runs.display()
        ),
    );
    for tool in ["printf", "expr", "grep", "cat"] {
        if let Some(p) = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| PathBuf::from(d).join(tool))
            .find(|p| p.exists())
        {
            std::os::unix::fs::symlink(p, bin.join(tool)).unwrap();
        }
    }
    let names: Vec<TypedName> = (0..30)
        .map(|i| TypedName {
            typed: format!("s{i}"),
            candidates: vec![format!("s{i}.ns.svc.cluster.local."), format!("s{i}.up.")],
        })
        .collect();
    let req = ProbeRequest::new(names, vec!["absent.ns.svc.cluster.local.".into()], 1).unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script(&req))
        .env_clear()
        .env("PATH", &bin)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed = parse(&text).unwrap();
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "run\n",
        "one dig run"
    );
    for i in 0..30 {
        assert_eq!(
            parsed.rcode(&format!("s{i}.ns.svc.cluster.local.")),
            Some(Rcode::Nxdomain)
        );
        assert_eq!(
            parsed.rcode(&format!("s{i}.up.")),
            Some(Rcode::Noerror(vec!["10.0.0.9".into()]))
        );
    }
    assert_eq!(
        parsed.rcode("absent.ns.svc.cluster.local."),
        Some(Rcode::Nxdomain)
    );
    assert!(parsed.wildcard_hits().is_empty());
}

/// The script's framing, run by the real `sh` with fake tools on PATH:
/// no cluster needed. A fake `dig` prints a tab, a backslash and a line
/// without a newline; the records must carry them unchanged.
#[test]
fn script_frames_tool_output_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    fake(
        "getent",
        "echo '10.0.0.1       STREAM a.ns.svc.cluster.local'; exit 0",
    );
    fake("dig", "printf 'x\\ty \\\\n\\n  last'; exit 9");
    for tool in ["printf", "expr", "grep"] {
        if let Some(p) = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| PathBuf::from(d).join(tool))
            .find(|p| p.exists())
        {
            std::os::unix::fs::symlink(p, bin.join(tool)).unwrap();
        }
    }
    let req = ProbeRequest::new(
        vec![TypedName {
            typed: "a".into(),
            candidates: vec!["a.ns.svc.cluster.local.".into()],
        }],
        vec![],
        1,
    )
    .unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script(&req))
        .env_clear()
        .env("PATH", &bin)
        .env("LOCALDOMAIN", "ns.svc.cluster.local")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed = parse(&text).unwrap();
    let (tool, run) = &parsed.queries["a.ns.svc.cluster.local."];
    assert_eq!(*tool, parse::Tool::Dig);
    assert_eq!(run.lines, ["x\ty \\n", "  last"]);
    assert_eq!(run.exit, Some(9));
    assert_eq!(parsed.env["LOCALDOMAIN"], "ns.svc.cluster.local");
    let seen = observe(&parsed, "a", Via::ProbePod).unwrap();
    assert_eq!(seen.status, ObservedStatus::Resolved);
    assert_eq!(seen.addresses, ["10.0.0.1"]);
    assert_eq!(seen.answered_by.as_deref(), Some("a.ns.svc.cluster.local."));
}

// ---- raw tool outputs ----

/// A raw capture: the tool's lines, then `# exit N`.
fn raw(name: &str) -> parse::Run {
    let text = fixture(&format!("raw/{name}"));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let exit = lines.pop().unwrap();
    let exit = exit.strip_prefix("# exit ").unwrap().parse().unwrap();
    parse::Run {
        lines,
        exit: Some(exit),
    }
}

fn addrs(a: &[&str]) -> Rcode {
    Rcode::Noerror(a.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn dig_raw_outputs() {
    use parse::dig_rcode;
    assert_eq!(
        dig_rcode(&raw("dig-noerror.txt")),
        addrs(&["10.96.100.105"])
    );
    assert_eq!(
        dig_rcode(&raw("dig-headless.txt")),
        addrs(&["10.244.0.1", "10.244.0.2"])
    );
    assert_eq!(dig_rcode(&raw("dig-nodata.txt")), Rcode::Nodata);
    assert_eq!(dig_rcode(&raw("dig-nxdomain.txt")), Rcode::Nxdomain);
    assert_eq!(dig_rcode(&raw("dig-timeout.txt")), Rcode::Timeout);
    assert_eq!(
        dig_rcode(&raw("dig-refused-connection.txt")),
        Rcode::Unreachable(";; communications error to 127.0.0.9#53: connection refused".into())
    );
    assert_eq!(
        dig_rcode(&raw("dig-refused-rcode-axfr.txt")),
        Rcode::Other("REFUSED".into())
    );
    assert_eq!(dig_rcode(&raw("dig-servfail-stub.txt")), Rcode::Servfail);
}

#[test]
fn nslookup_raw_outputs() {
    use parse::nslookup_rcode;
    assert_eq!(
        nslookup_rcode(&raw("nslookup-found.txt")),
        addrs(&["10.96.100.105"])
    );
    // Found through the search list although the exit status is 1.
    assert_eq!(
        nslookup_rcode(&raw("nslookup-headless-search.txt")),
        addrs(&["10.244.0.2", "10.244.0.1"])
    );
    assert_eq!(nslookup_rcode(&raw("nslookup-nodata.txt")), Rcode::Nodata);
    assert_eq!(
        nslookup_rcode(&raw("nslookup-nodata-notype.txt")),
        Rcode::Nodata
    );
    assert_eq!(
        nslookup_rcode(&raw("nslookup-nxdomain.txt")),
        Rcode::Nxdomain
    );
    assert_eq!(nslookup_rcode(&raw("nslookup-timeout.txt")), Rcode::Timeout);
    assert_eq!(
        nslookup_rcode(&raw("nslookup-refused.txt")),
        Rcode::Unreachable("nslookup: read: Connection refused".into())
    );
    assert_eq!(
        nslookup_rcode(&raw("nslookup-servfail-stub.txt")),
        Rcode::Servfail
    );
}

#[test]
fn getent_raw_outputs() {
    use parse::{GetentResult, getent_result};
    assert_eq!(
        getent_result(&raw("getent-found.txt")),
        GetentResult::Found {
            addresses: vec!["10.96.100.105".into()],
            canonical: Some("service-pay-v1.default.svc.cluster.local".into()),
        }
    );
    let GetentResult::Found { addresses, .. } = getent_result(&raw("getent-headless.txt")) else {
        panic!("headless not found");
    };
    assert_eq!(addresses.len(), 2);
    assert_eq!(
        getent_result(&raw("getent-notfound.txt")),
        GetentResult::NotFound
    );
}

#[test]
fn resolver_seen_follows_glibc_and_musl() {
    let file: Vec<String> = [
        "# comment",
        "nameserver 10.96.0.10",
        "domain example.org",
        "search a.svc.cluster.local svc.cluster.local cluster.local",
        "nameserver 10.96.0.11",
        "nameserver 10.96.0.12",
        "nameserver 10.96.0.13",
        "options ndots:2 timeout:1",
        "options ndots:99",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let glibc = parse::resolver_seen(&file, Some("x.svc y"), Some("ndots:3"), false);
    assert_eq!(glibc.nameservers.len(), 3);
    assert_eq!(glibc.search, ["x.svc", "y"]);
    assert_eq!(glibc.ndots, 3);
    let musl = parse::resolver_seen(&file, Some("x.svc y"), Some("ndots:3"), true);
    assert_eq!(musl.search.len(), 3);
    assert_eq!(musl.ndots, 15);
    assert_eq!(parse::resolver_seen(&[], None, None, false).ndots, 1);
}

// ---- whole captured runs ----

fn status_of(out: &ProbeOutput, typed: &str) -> (ObservedStatus, Option<String>) {
    let o = observe(out, typed, Via::ProbePod).unwrap();
    (o.status, o.answered_by)
}

/// What a pod of namespace `client` sees, whichever shell ran the probe,
/// and with BusyBox alone (replayed from the candidates).
#[test]
fn client_namespace_runs() {
    use ObservedStatus::*;
    let by = |s: &str| Some(s.to_owned());
    let expected = [
        ("service-pay-v1", Nxdomain, None),
        (
            "service-pay-v1.default",
            Resolved,
            by("service-pay-v1.default.svc.cluster.local."),
        ),
        (
            "service-pay-v1.default.svc",
            Resolved,
            by("service-pay-v1.default.svc.cluster.local."),
        ),
        (
            "service-pay-v1.default.svc.cluster.local",
            Resolved,
            by("service-pay-v1.default.svc.cluster.local."),
        ),
        (
            "pay-headless.default",
            Resolved,
            by("pay-headless.default.svc.cluster.local."),
        ),
        (
            "kube-dns.kube-system",
            Resolved,
            by("kube-dns.kube-system.svc.cluster.local."),
        ),
        ("no-such-svc.default", Nxdomain, None),
        ("default", Nodata, None),
    ];
    for file in ["dash-client.out", "busybox-client.out", "busybox-only.out"] {
        let out = parse(&fixture(file)).unwrap();
        assert_eq!(out.names.len(), expected.len(), "{file}");
        for (typed, status, answered_by) in &expected {
            assert_eq!(
                status_of(&out, typed),
                (*status, answered_by.clone()),
                "{file}: {typed}"
            );
        }
        let o = observe(&out, "pay-headless.default", Via::ProbePod).unwrap();
        let mut a = o.addresses.clone();
        a.sort();
        assert_eq!(a, ["10.244.0.1", "10.244.0.2"], "{file}");
        assert_eq!(o.candidates.len(), 4);
        assert_eq!(o.candidates[1].rcode, ObservedRcode::Noerror);
        assert_eq!(o.candidates[0].rcode, ObservedRcode::Nxdomain);
        let r = &o.resolver;
        assert_eq!(r.nameservers, ["10.96.0.10"]);
        assert_eq!(
            r.search,
            [
                "client.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local"
            ]
        );
        assert_eq!(r.ndots, 5);
        assert_eq!(out.wildcard_checks.len(), 3);
        assert!(out.wildcard_hits().is_empty(), "{file}");
        assert!(observe(&out, "not-asked", Via::ProbePod).is_none());
    }
    let dash = parse(&fixture("dash-client.out")).unwrap();
    assert!(dash.tools.contains_key("dig") && dash.tools.contains_key("getent"));
    assert_eq!(dash.libc, [parse::Libc::Glibc("glibc 2.36".into())]);
    assert!(dash.resolver_notes().is_empty());
    let only = parse(&fixture("busybox-only.out")).unwrap();
    assert!(only.libc.is_empty() && only.busybox_nslookup);
    assert_eq!(only.resolver_notes().len(), 2);
    // BusyBox nslookup ignored LOCALDOMAIN and found the bare name in
    // `default`: kept as a note, not as the status.
    let bare = observe(&only, "service-pay-v1", Via::ProbePod).unwrap();
    assert!(
        bare.notes
            .iter()
            .any(|n| n.contains("says: NOERROR 10.96.181.35"))
    );
    // And it does not search a name with a dot at all.
    let dotted = observe(&only, "service-pay-v1.default", Via::ProbePod).unwrap();
    assert_eq!(dotted.status, ObservedStatus::Resolved);
    assert!(dotted.notes.iter().any(|n| n.contains("says: NXDOMAIN")));
}

#[test]
fn wildcard_detector_hit() {
    // The captured NXDOMAIN of one detector turned into an answer with
    // data: as if a wildcard record answered it.
    let w = "svcdiscover-absent-7f3a.svc.cluster.local.";
    let text = fixture("dash-client.out").replace(
        &format!("query\t{w}\tdig\tout\t;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN"),
        &format!(
            "query\t{w}\tdig\tout\t{w} 30 IN A 10.96.100.105\n\
             query\t{w}\tdig\tout\t;; ->>HEADER<<- opcode: QUERY, status: NOERROR"
        ),
    );
    let out = parse(&text).unwrap();
    assert_eq!(out.wildcard_hits(), [w]);
}

#[test]
fn timeout_and_refused_runs() {
    for file in ["dash-timeout.out", "dash-refused.out"] {
        let out = parse(&fixture(file)).unwrap();
        let o = observe(&out, "service-pay-v1.default", Via::ProbePod).unwrap();
        assert_eq!(o.status, ObservedStatus::Timeout, "{file}");
        assert!(o.addresses.is_empty());
        assert!(
            o.candidates
                .iter()
                .all(|c| c.rcode == ObservedRcode::Timeout)
        );
    }
    let refused = parse(&fixture("dash-refused.out")).unwrap();
    assert!(matches!(
        refused.rcode("service-pay-v1.default."),
        Some(Rcode::Unreachable(_))
    ));
    let timeout = parse(&fixture("dash-timeout.out")).unwrap();
    assert_eq!(
        timeout.rcode("service-pay-v1.default."),
        Some(Rcode::Timeout)
    );
}

#[test]
fn musl_stops_at_nodata() {
    let text = fixture("dash-client.out")
        .replace("tool\tgetent\t/usr/bin/getent\n", "")
        .replace(
            "libc\tglibc\tglibc 2.36",
            "libc\tmusl\t/lib/ld-musl-x86_64.so.1",
        )
        .lines()
        .filter(|l| !l.starts_with("app\t"))
        .collect::<Vec<_>>()
        .join("\n");
    let out = parse(&text).unwrap();
    assert!(out.is_musl());
    // musl ignores LOCALDOMAIN: the file's search list.
    assert_eq!(out.resolver().search[0], "default.svc.cluster.local");
    let o = observe(&out, "default", Via::ProbePod).unwrap();
    assert_eq!(o.status, ObservedStatus::Nodata);
    let o = observe(&out, "service-pay-v1.default", Via::ProbePod).unwrap();
    assert_eq!(o.status, ObservedStatus::Resolved);
    assert!(o.notes.iter().any(|n| n.starts_with("musl resolver")));
}

// ---- malformed output ----

#[test]
fn truncated_output_is_detected() {
    let text = fixture("dash-client.out");
    let lines: Vec<&str> = text.lines().collect();
    for cut in 1..lines.len() {
        let partial = lines[..cut].join("\n");
        match parse(&partial) {
            Err(ParseError::Truncated(_)) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert_eq!(parse(""), Err(ParseError::Empty));
    // A query whose exit status is missing, even with `end`.
    let no_exit = text.replace("query\tdefault.\tdig\texit\t0\n", "");
    assert!(matches!(parse(&no_exit), Err(ParseError::Truncated(_))));
}

#[test]
fn garbage_lines_are_refused_with_their_line() {
    let text = fixture("dash-client.out");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(5, "hello world");
    let err = parse(&lines.join("\n")).unwrap_err();
    assert_eq!(err.to_string(), "line 6: not a probe record: `hello world`");
    let err = parse("svcdiscover-probe\t2\nend\n").unwrap_err();
    assert_eq!(err, ParseError::UnsupportedVersion("2".into()));
    let err = parse("Defaulted container \"x\"\n").unwrap_err();
    assert!(matches!(err, ParseError::BadHeader(_)), "{err}");
    let err = parse("svcdiscover-probe\t1\nquery\ta.\tdig\texit\tX\nend").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: exit status is not a number: `query\\ta.\\tdig\\texit\\tX`"
    );
    let err = parse("svcdiscover-probe\t1\nend\ntool\tx\ty").unwrap_err();
    assert_eq!(err, ParseError::AfterEnd(3));
    let err = parse("svcdiscover-probe\t1\nquery\ta.\tcurl\texit\t0\nend").unwrap_err();
    assert!(err.to_string().contains("unknown tool"));
    // CRLF from a TTY exec is accepted.
    let crlf = text.replace('\n', "\r\n");
    assert_eq!(parse(&crlf).unwrap(), parse(&text).unwrap());
}

/// A small deterministic generator, enough to shake the parser.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

#[test]
fn mutations_never_panic() {
    let pieces = [
        "\t",
        "\n",
        "\r",
        "end",
        "exit",
        "out",
        "query",
        "app",
        "-1",
        "99999999999",
        "\u{0}",
        "é",
        "status: ",
        "->>HEADER<<-",
        "Name:",
        "Address:",
        "can't find x: ",
        "ndots:",
        "ndots:99999999999999999999",
        "connect",
        "connected",
        "refused",
        "65536",
    ];
    let sources: Vec<String> = [
        "dash-client.out",
        "busybox-only.out",
        "dash-timeout.out",
        "dash-refused.out",
        "connect-bash.out",
        "connect-openbsd-nc.out",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let mut rng = Lcg(0x5eed);
    let mut parsed_ok = 0;
    for round in 0..3000 {
        let src = &sources[round % sources.len()];
        let mut lines: Vec<String> = src.lines().map(str::to_owned).collect();
        for _ in 0..1 + rng.next(4) {
            let at = rng.next(lines.len());
            match rng.next(6) {
                0 => {
                    lines.remove(at);
                }
                1 => {
                    let l = lines[at].clone();
                    lines.insert(rng.next(lines.len()), l);
                }
                2 => {
                    let b = rng.next(lines.len());
                    lines.swap(at, b);
                }
                3 => {
                    let l = &mut lines[at];
                    let cut = rng.next(l.len() + 1);
                    let cut = (0..=cut)
                        .rev()
                        .find(|c| l.is_char_boundary(*c))
                        .unwrap_or(0);
                    l.insert_str(cut, pieces[rng.next(pieces.len())]);
                }
                4 => {
                    let l = &mut lines[at];
                    let cut = rng.next(l.len() + 1);
                    let cut = (0..=cut)
                        .rev()
                        .find(|c| l.is_char_boundary(*c))
                        .unwrap_or(0);
                    l.truncate(cut);
                }
                _ => lines.insert(at, pieces[rng.next(pieces.len())].to_owned()),
            }
            if lines.is_empty() {
                break;
            }
        }
        let text = lines.join("\n");
        match parse(&text) {
            Ok(out) => {
                parsed_ok += 1;
                let _ = out.resolver();
                let _ = out.wildcard_hits();
                for n in &out.names {
                    let _ = observe(&out, &n.typed, Via::ProbePod);
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    assert!(parsed_ok > 0, "no mutation kept the output valid");
}

/// An image with none of the tools: the script still ends properly and
/// every name is an `error` row.
#[test]
fn no_tools_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let pod = ResolverConf::cluster_first("client", "cluster.local");
    let req = ProbeRequest::new(vec![TypedName::from_conf("svc.ns", &pod)], vec![], 1).unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script(&req))
        .env_clear()
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let parsed = parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert!(parsed.tools.is_empty());
    let o = observe(&parsed, "svc.ns", Via::ProbePod).unwrap();
    assert_eq!(o.status, ObservedStatus::Error);
    assert!(o.candidates.is_empty());
    assert!(o.notes.iter().any(|n| n.contains("no tool")));
}

// ---- --connect ----

#[test]
fn connect_targets_are_checked_before_the_script() {
    let req = || ProbeRequest::new(vec![], vec![], 2).unwrap();
    for bad in [
        "10.0.0.1; reboot",
        "10.0.0.1'",
        "$(reboot)",
        "`id`",
        "10.0.0.256",
        "10.0.0.1 ",
        "localhost",
        "",
        "fd00::1%eth0",
    ] {
        assert!(
            matches!(
                req().with_connects(&[(bad.into(), 80)]),
                Err(RequestError::BadAddress(_))
            ),
            "{bad:?} should be refused"
        );
    }
    for port in [0, -1, 65536, i32::MAX] {
        assert_eq!(
            req().with_connects(&[("10.0.0.1".into(), port)]),
            Err(RequestError::BadPort(port))
        );
    }
    let r = req()
        .with_connects(&[
            ("10.0.0.1".into(), 80),
            ("fd00::1".into(), 8080),
            ("10.0.0.1".into(), 80),
        ])
        .unwrap();
    assert_eq!(r.connects().len(), 2, "each pair once");
    let sh = script(&r);
    assert!(sh.contains("conn '10.0.0.1' 80 &\n"), "{sh}");
    assert!(sh.contains("conn 'fd00::1' 8080 &\n"));
    assert!(!sh.contains("$("));
    // Connections come after the lookups (and their `wait`), side by
    // side, then their own `wait`, before the end.
    let tail: Vec<&str> = sh.lines().rev().take(6).collect();
    assert_eq!(
        tail,
        [
            "rec end",
            "wait",
            "conn 'fd00::1' 8080 &",
            "conn '10.0.0.1' 80 &",
            "connwith",
            "wait"
        ]
    );
}

/// The four captures (README): bash's /dev/tcp, BusyBox's small nc (no
/// -z), OpenBSD nc -z, and bash in a network namespace without a route.
#[test]
fn connect_captures_parse_to_their_results() {
    use crate::model::ConnectionResult::{Connected, Error, Refused, Timeout};
    let expect = |file: &str, results: [crate::model::ConnectionResult; 4], details: [&str; 4]| {
        let out = parse(&fixture(file)).unwrap();
        let got: Vec<(String, u16, crate::model::ConnectionResult, String)> = out
            .connections
            .iter()
            .map(|c| (c.address.clone(), c.port, c.result, c.detail.clone()))
            .collect();
        let want: Vec<(String, u16, crate::model::ConnectionResult, String)> = [
            ("10.244.0.2", 80),
            ("10.244.0.2", 81),
            ("10.244.0.1", 80),
            ("10.96.181.35", 80),
        ]
        .iter()
        .zip(results)
        .zip(details)
        .map(|(((a, p), r), d)| ((*a).to_owned(), *p, r, d.to_owned()))
        .collect();
        assert_eq!(got, want, "{file}");
    };
    expect(
        "connect-bash.out",
        [Connected, Refused, Timeout, Timeout],
        [
            "bash /dev/tcp",
            "bash: connect: Connection refused",
            "no answer within 2 s (bash /dev/tcp)",
            "no answer within 2 s (bash /dev/tcp)",
        ],
    );
    expect(
        "connect-busybox-nc.out",
        [Connected, Refused, Timeout, Timeout],
        [
            "nc",
            "nc: can't connect to remote host (10.244.0.2): Connection refused",
            "nc: timed out",
            "nc: timed out",
        ],
    );
    expect(
        "connect-openbsd-nc.out",
        [Connected, Refused, Timeout, Timeout],
        [
            "Connection to 10.244.0.2 80 port [tcp/*] succeeded!",
            "nc: connect to 10.244.0.2 port 81 (tcp) failed: Connection refused",
            "nc: connect to 10.244.0.1 port 80 (tcp) timed out: Operation now in progress",
            "nc: connect to 10.96.181.35 port 80 (tcp) timed out: Operation now in progress",
        ],
    );
    expect(
        "connect-unreachable.out",
        [Error, Error, Error, Error],
        ["bash: connect: Network is unreachable"; 4],
    );
}

#[test]
fn connect_records_are_checked() {
    let base = fixture("connect-bash.out");
    let line = "connect\t10.244.0.2\t80\tconnected\tbash /dev/tcp";
    for (bad, why) in [
        (
            "connect\t10.244.0.2\t80\tmaybe\tx",
            "unknown connection result",
        ),
        (
            "connect\t10.244.0.2\teighty\tconnected\tx",
            "port is not a number",
        ),
        (
            "connect\t10.244.0.2\t65536\tconnected\tx",
            "port is not a number",
        ),
        ("connect\t10.244.0.2\t80\tconnected", "not a probe record"),
    ] {
        let e = parse(&base.replace(line, bad)).unwrap_err();
        assert!(e.to_string().contains(why), "{bad:?}: {e}");
    }
    // A detail may hold anything, tabs included.
    let out = parse(&base.replace(line, "connect\t10.244.0.2\t80\terror\ta\tb")).unwrap();
    assert_eq!(out.connections[0].detail, "a\tb");
}

/// Without bash, timeout or nc, each connection is an `error` saying so,
/// and the run still ends.
#[test]
fn connect_without_tools() {
    let dir = tempfile::tempdir().unwrap();
    let req = ProbeRequest::new(vec![], vec![], 1)
        .unwrap()
        .with_connects(&[("192.0.2.1".into(), 80)])
        .unwrap();
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script(&req))
        .env_clear()
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let parsed = parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(parsed.connections.len(), 1);
    let c = &parsed.connections[0];
    assert_eq!(c.result, crate::model::ConnectionResult::Error);
    assert!(
        c.detail.starts_with("no tool to connect with"),
        "{}",
        c.detail
    );
}

// ---- one dig for many names (`batch` records) ----

/// A probe output whose dig batch is the raw capture `raw/NAME` (the
/// names in the order asked); `cut`: keep only that many of its lines and
/// no exit status (an exec cut short).
fn batch_output(name: &str, names: &[&str], cut: Option<usize>) -> String {
    let run = raw(name);
    let mut out = String::from("svcdiscover-probe\t1\ntool\tdig\t/usr/bin/dig\n");
    for n in names {
        out.push_str(&format!("batch\tdig\tname\t{n}\n"));
    }
    let keep = cut.unwrap_or(run.lines.len());
    for l in &run.lines[..keep] {
        out.push_str(&format!("batch\tdig\tout\t{l}\n"));
    }
    if cut.is_none() {
        out.push_str(&format!("batch\tdig\texit\t{}\nend\n", run.exit.unwrap()));
    }
    out
}

const BATCH_NAMES: [&str; 4] = [
    "service-pay-v1.default.svc.cluster.local.",
    "no-such-svc.default.svc.cluster.local.",
    "pay-headless.default.svc.cluster.local.",
    "default.svc.cluster.local.",
];

#[test]
fn a_dig_batch_is_split_per_name_as_if_each_was_asked_alone() {
    let out = parse(&batch_output("dig-batch.txt", &BATCH_NAMES, None)).unwrap();
    let want = [
        Rcode::Noerror(vec!["10.96.116.242".into()]),
        Rcode::Nxdomain,
        Rcode::Noerror(vec!["10.244.0.1".into(), "10.244.0.2".into()]),
        Rcode::Nodata,
    ];
    for (name, want) in BATCH_NAMES.iter().zip(want) {
        let (tool, run) = &out.queries[*name];
        assert_eq!(*tool, parse::Tool::Dig);
        assert_eq!(run.exit, Some(0), "{name}");
        assert_eq!(out.rcode(name), Some(want), "{name}");
        // Only the answer: the query as sent (status NOERROR) is left out.
        assert_eq!(
            run.lines
                .iter()
                .filter(|l| l.contains("->>HEADER<<-"))
                .count(),
            1,
            "{name}: {:?}",
            run.lines
        );
        assert!(!run.lines.iter().any(|l| l.contains("Sending")), "{name}");
    }
    // Attributed by question, not by position: the names listed in
    // another order get the same answers.
    let mut shuffled = BATCH_NAMES;
    shuffled.reverse();
    let again = parse(&batch_output("dig-batch.txt", &shuffled, None)).unwrap();
    for name in BATCH_NAMES {
        assert_eq!(again.rcode(name), out.rcode(name), "{name}");
    }
}

#[test]
fn a_dig_batch_that_times_out_or_is_refused_says_so_per_name() {
    let names = [
        "service-pay-v1.default.svc.cluster.local.",
        "service-pay-v1.svc.cluster.local.",
    ];
    let out = parse(&batch_output("dig-batch-timeout.txt", &names, None)).unwrap();
    for n in names {
        assert_eq!(out.rcode(n), Some(Rcode::Timeout), "{n}");
        assert_eq!(out.queries[n].1.exit, Some(9));
    }
    let out = parse(&batch_output("dig-batch-refused.txt", &names, None)).unwrap();
    for n in names {
        assert!(
            matches!(out.rcode(n), Some(Rcode::Unreachable(l)) if l.contains("127.0.0.9#53: connection refused")),
            "{n}: {:?}",
            out.rcode(n)
        );
    }
}

#[test]
fn a_dig_batch_cut_short_keeps_the_names_it_finished() {
    let text = batch_output("dig-batch.txt", &BATCH_NAMES, None);
    let lines = raw("dig-batch.txt").lines;
    // Cut just after the third block's query was sent: the first two are
    // complete, the third is not and is dropped, the fourth never started.
    let third = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == ";; Sending:")
        .nth(2)
        .unwrap()
        .0;
    let cut = batch_output("dig-batch.txt", &BATCH_NAMES, Some(third + 12));
    assert!(matches!(parse(&cut), Err(ParseError::Truncated(_))));
    let out = parse_partial(&cut).unwrap();
    let full = parse(&text).unwrap();
    for n in &BATCH_NAMES[..2] {
        assert_eq!(out.rcode(n), full.rcode(n), "{n}");
    }
    for n in &BATCH_NAMES[2..] {
        assert_eq!(out.rcode(n), None, "{n}");
    }
    // Cut before dig printed anything: no name finished.
    let none = parse_partial(&batch_output("dig-batch.txt", &BATCH_NAMES, Some(0))).unwrap();
    assert!(none.queries.is_empty());
}

#[test]
fn a_dig_batch_name_without_a_block_gets_the_tools_error() {
    let text = "svcdiscover-probe\t1\n\
        batch\tdig\tname\ta.ns.\n\
        batch\tdig\tname\tb.ns.\n\
        batch\tdig\tout\tdig: couldn't get address for 'x': not found\n\
        batch\tdig\texit\t10\nend\n";
    let out = parse(text).unwrap();
    for n in ["a.ns.", "b.ns."] {
        assert_eq!(
            out.rcode(n),
            Some(Rcode::Failed(
                Some(10),
                "dig: couldn't get address for 'x': not found".into()
            )),
            "{n}"
        );
    }
}

#[test]
fn a_query_retried_in_a_second_block_keeps_one_run() {
    // A server that times out, then the next one answers: dig sends the
    // same question again (another `;; Sending:` block).
    let block = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec![
            ";; Sending:",
            ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7",
            ";; QUESTION SECTION:",
            ";a.ns.\t\t\tIN\tA",
            "",
        ];
        v.extend_from_slice(extra);
        v
    };
    let mut lines = block(&[";; communications error to 10.1.2.3#53: timed out"]);
    lines.extend(block(&[
        ";; Got answer:",
        ";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 7",
    ]));
    let mut text = String::from("svcdiscover-probe\t1\nbatch\tdig\tname\tA.NS.\n");
    for l in &lines {
        text.push_str(&format!("batch\tdig\tout\t{l}\n"));
    }
    text.push_str("batch\tdig\texit\t0\nend\n");
    let out = parse(&text).unwrap();
    assert_eq!(out.rcode("A.NS."), Some(Rcode::Nxdomain));
    assert_eq!(out.queries["A.NS."].1.exit, Some(0));
    // Both blocks' lines after their query as sent: "", the error; "", the
    // answer's two lines.
    assert_eq!(out.queries["A.NS."].1.lines.len(), 5);
}

#[test]
fn batch_records_are_checked() {
    for (text, why) in [
        ("batch\tdig\tout\tx", "batch output without its names"),
        ("batch\tdig\tfoo\tx", "expected a batch"),
        (
            "batch\tdig\tname\ta.\nbatch\tdig\texit\tx",
            "exit status is not a number",
        ),
    ] {
        let err = parse(&format!("svcdiscover-probe\t1\n{text}\nend\n")).unwrap_err();
        assert!(err.to_string().contains(why), "{text}: {err}");
    }
}

/// The captures made with one dig per candidate (`dash-*.out`) and with
/// one dig for all (`dash-*-batch.out`, the same requests on the same
/// cluster, later: service-pay-v1's ClusterIP differs) observe every typed
/// name alike: status, answering candidate, each candidate's rcode, notes.
#[test]
fn one_dig_for_all_observes_as_one_dig_per_candidate() {
    for (old, new, req) in [
        (
            "dash-client.out",
            "dash-client-batch.out",
            capture_request(),
        ),
        (
            "dash-timeout.out",
            "dash-timeout-batch.out",
            small_request(),
        ),
        (
            "dash-refused.out",
            "dash-refused-batch.out",
            small_request(),
        ),
    ] {
        let a = parse(&fixture(old)).unwrap();
        let b = parse(&fixture(new)).unwrap();
        assert!(
            a.queries
                .values()
                .all(|(_, r)| !r.lines.iter().any(|l| l.contains("Sending")))
        );
        assert_eq!(
            a.queries.keys().collect::<Vec<_>>(),
            b.queries.keys().collect::<Vec<_>>(),
            "{new}: every name asked"
        );
        for n in req.names() {
            let x = observe(&a, &n.typed, Via::ProbePod).unwrap();
            let y = observe(&b, &n.typed, Via::ProbePod).unwrap();
            assert_eq!(x.status, y.status, "{new}: {}", n.typed);
            assert_eq!(x.answered_by, y.answered_by, "{new}: {}", n.typed);
            assert_eq!(x.candidates, y.candidates, "{new}: {}", n.typed);
            assert_eq!(x.addresses.len(), y.addresses.len(), "{new}: {}", n.typed);
        }
        assert_eq!(a.wildcard_hits(), b.wildcard_hits(), "{new}");
    }
}

/// The committed fuzz corpus of `probe_output` (tests/fuzz) keeps the
/// target's invariants without cargo-fuzz: no panic, and an output that
/// parses whole parses the same when read as cut short.
#[test]
fn the_fuzz_corpus_keeps_its_invariants() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/probe_output");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let whole = parse(&text);
        let partial = parse_partial(&text);
        if let Ok(out) = &whole {
            assert_eq!(partial.as_ref().ok(), Some(out), "{text:?}");
            for name in out.queries.keys() {
                let _ = out.rcode(name);
            }
        }
        n += 1;
    }
    assert!(n > 100, "{n} inputs");
}
