//! Command line: kubectl conventions, parsed by the plugin itself (kubectl
//! passes a plugin only the words after its name).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum, ValueHint};

pub mod complete;

const AFTER_HELP: &str = "\
Exit codes (they follow the report's verdict):
  0    reachable or degraded: no error finding
  1    unreachable: at least one error finding (the report is still printed)
  2    usage or input error (bad flag, invalid name, unreadable snapshot)
  3    unknown: what the verdict needs could not be read (cluster unreachable or
       not an API server, credentials rejected, forbidden; a snapshot that does
       not cover the Service or its endpoints); never a pass
  130  interrupted
  --fail-on warning also fails degraded (1); --fail-on never passes unreachable (0);
  neither hides 2 or 3
  --wait: 0 once the gate passes; when the time runs out, the last report's code
  (1, or 3 when it is unknown) and a \"still failing after\" line on stderr

Verbosity (logs on stderr), as kubectl spells it:
  -v / -vv / -vvv        info / debug / trace
  -v=N, -v N, --v=N      kubectl levels: 0 off, 1-3 info, 4-5 debug, 6 and above trace
  Credentials are never logged.

Examples:
  On call: is it reachable, and if not why (predicts, then probes from a Job in -n):
    kubectl svcdiscover service-pay-v1 -n default
    kubectl svcdiscover svc/service-pay-v1 -n default --no-probe -v=6   # read only, logged
  From another namespace, or from an existing pod (its own resolv.conf and network):
    kubectl svcdiscover service-pay-v1 -n default --from-namespace client -o wide
    kubectl svcdiscover service-pay-v1 -n default --from client/web-0 --connect
  CI gate: wait until it passes, JUnit XML for the test report (docs/ci.md):
    kubectl svcdiscover service-pay-v1 -n default --wait 2m -o junit > svcdiscover.xml
    kubectl svcdiscover --all -n default --fail-on warning -o json > scan.json
  Scan: every Service of a namespace, or of every namespace with some labels:
    kubectl svcdiscover --all -n default
    kubectl svcdiscover -A -l tier=web -o wide
  Offline: capture now, diagnose later or elsewhere (docs/snapshots.md):
    kubectl svcdiscover service-pay-v1 -n default --save-snapshot capture.json
    kubectl svcdiscover service-pay-v1 -n default --snapshot capture.json
    kubectl cluster-info dump --all-namespaces --output-directory=dump/
    kubectl svcdiscover --all -n default --snapshot dump/";

/// Can a pod reach this Service by name, by which name forms, from which
/// namespaces, and if not, why and what to fix?
///
/// Walks Service → selector → pods → ports → EndpointSlices → cluster DNS and
/// predicts, for each client namespace, whether `svc`, `svc.ns`, `svc.ns.svc`
/// and the FQDN resolve, and why.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-svcdiscover",
    bin_name = "kubectl svcdiscover",
    version,
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// The Service to diagnose: NAME, svc/NAME, service/NAME or services/NAME
    /// (omit it with --all or -A)
    #[arg(
        value_name = "SERVICE",
        value_parser = parse_service_arg,
        required_unless_present_any = ["all", "all_namespaces"],
        conflicts_with_all = ["all", "all_namespaces", "selector"]
    )]
    pub service: Option<String>,

    /// Scan every Service of the namespace (-n, else the context's)
    #[arg(long, help_heading = "Scan")]
    pub all: bool,

    /// Scan every Service of every namespace
    #[arg(short = 'A', long, help_heading = "Scan", conflicts_with = "namespace")]
    pub all_namespaces: bool,

    /// Scan only the Services with these labels (kubectl syntax: k=v, k!=v,
    /// k, !k, comma-separated; with --all or -A)
    #[arg(short = 'l', long, value_name = "SELECTOR", help_heading = "Scan", value_parser = parse_selector)]
    pub selector: Option<String>,

    /// Namespace of the Service [default: the context's namespace, else `default`]
    #[arg(short = 'n', long, value_name = "NAMESPACE", value_parser = parse_namespace)]
    pub namespace: Option<String>,

    /// Client namespace to explain name resolution from (repeatable)
    #[arg(long = "from-namespace", value_name = "NS", value_parser = parse_namespace)]
    pub from_namespace: Vec<String>,

    /// Cluster domain [default: from the Corefile, else cluster.local]
    #[arg(long, value_name = "DOMAIN", value_parser = parse_domain)]
    pub cluster_domain: Option<String>,

    /// Analyse `kubectl get -o json|yaml` or `kubectl cluster-info dump` output
    /// (file, directory or `-` for stdin) instead of a live cluster
    #[arg(
        long,
        value_name = "PATH",
        value_hint = ValueHint::AnyPath,
        conflicts_with_all = [
            "kubeconfig", "context", "cluster", "user", "as_user", "as_group",
            "server", "token", "certificate_authority", "insecure_skip_tls_verify",
        ]
    )]
    pub snapshot: Option<PathBuf>,

    /// Largest snapshot input read (each file, or stdin), e.g. 100MB, 1GiB or bytes
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "512MiB",
        value_parser = crate::source::snapshot::parse_size
    )]
    pub max_snapshot_size: u64,

    /// Also write every object read, and what was read in which scope, to
    /// FILE (a JSON List, mode 0600) for `--snapshot FILE` to diagnose later;
    /// probe results are not saved
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with = "snapshot")]
    pub save_snapshot: Option<PathBuf>,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub kube: KubeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Which findings make the exit code 1: error, warning (degraded fails
    /// too) or never (2 and 3 are never hidden)
    #[arg(long, value_enum, default_value_t = crate::exit::FailOn::Error, value_name = "SEVERITY")]
    #[arg(help_heading = "CI gate")]
    pub fail_on: crate::exit::FailOn,

    /// Re-check until the Service (every scanned Service) passes the
    /// --fail-on gate, or DURATION (e.g. 30s, 2m; at most 1h) runs out;
    /// re-checks on changes the API server reports (watches). Live only
    #[arg(long, value_name = "DURATION", value_parser = parse_wait, help_heading = "CI gate")]
    pub wait: Option<Duration>,

    /// Log to stderr: -v info, -vv debug, -vvv trace (see also --v)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log level as kubectl numbers it (-v=N and -v N mean the same): 0 off,
    /// 1-3 info, 4-5 debug, 6 and above trace
    #[arg(long = "v", value_name = "N", value_parser = clap::value_parser!(u8))]
    pub v: Option<u8>,

    /// Print the completion script for SHELL (bash, zsh, fish, powershell,
    /// elvish) and exit; completions/ holds them, generated by this flag
    #[arg(long, value_name = "SHELL", hide = true, exclusive = true)]
    pub completions: Option<clap_complete::Shell>,
}

/// How much to log on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Off,
    Info,
    Debug,
    Trace,
}

impl Cli {
    /// Parse the process arguments, accepting kubectl's `-v=N` and `-v N`
    /// beside the counted `-v`/`-vv`/`-vvv` (see [`kubectl_args`]).
    pub fn parse_kubectl() -> Cli {
        let cli = Cli::parse_from(kubectl_args(std::env::args_os()));
        if let Err(e) = cli.validate() {
            e.exit();
        }
        cli
    }

    /// [`Cli::parse_kubectl`] on given arguments (the first is the program name).
    pub fn try_parse_kubectl<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let cli = Cli::try_parse_from(kubectl_args(args))?;
        cli.validate()?;
        Ok(cli)
    }

    /// The checks between flags that clap's attributes cannot express, as
    /// clap's own usage errors (exit 2).
    pub fn validate(&self) -> Result<(), clap::Error> {
        use clap::CommandFactory;
        let conflict =
            |why: String| Cli::command().error(clap::error::ErrorKind::ArgumentConflict, why);
        if self.wait.is_some() && self.snapshot.is_some() {
            return Err(conflict(
                "--wait re-reads a live cluster until the gate passes; a --snapshot never changes, so it cannot be waited on".to_owned(),
            ));
        }
        self.probe.validate().map_err(conflict)
    }

    /// The log level: the higher of the counted `-v` and kubectl's `-v=N`.
    pub fn verbosity(&self) -> Verbosity {
        let counted = match self.verbose {
            0 => Verbosity::Off,
            1 => Verbosity::Info,
            2 => Verbosity::Debug,
            _ => Verbosity::Trace,
        };
        let level = match self.v.unwrap_or(0) {
            0 => Verbosity::Off,
            1..=3 => Verbosity::Info,
            4 | 5 => Verbosity::Debug,
            _ => Verbosity::Trace,
        };
        counted.max(level)
    }
}

/// Rewrite kubectl's valued verbosity into `--v=N` so that clap can keep the
/// counted `-v`: `-v=6`, `-v6` and `-v 6` become `--v=6`. A bare number
/// after `-v` is always the level, never the SERVICE, since a Service name
/// starts with a letter. Words after `--` are left alone.
pub fn kubectl_args<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let is_level = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut out = Vec::new();
    let mut args = args.into_iter().map(Into::into).peekable();
    while let Some(arg) = args.next() {
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            out.push(arg);
            out.extend(args.by_ref());
            break;
        }
        let level = if s == "-v" {
            match args.peek().and_then(|n| n.to_str()) {
                Some(n) if is_level(n) => {
                    let n = n.to_owned();
                    args.next();
                    Some(n)
                }
                _ => None,
            }
        } else {
            s.strip_prefix("-v")
                .map(|rest| rest.strip_prefix('=').unwrap_or(rest))
                .filter(|n| is_level(n) || s.starts_with("-v="))
                .map(str::to_owned)
        };
        match level {
            Some(n) => out.push(OsString::from(format!("--v={n}"))),
            None => out.push(arg),
        }
    }
    out
}

/// How to reach the cluster: the flags kubectl users expect.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster access")]
pub struct KubeArgs {
    /// Path to the kubeconfig file [default: $KUBECONFIG (several paths merge), else ~/.kube/config]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// User to impersonate
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate (repeatable; needs --as)
    #[arg(long = "as-group", value_name = "GROUP", requires = "as_user")]
    pub as_group: Vec<String>,

    /// The address of the Kubernetes API server (overrides the kubeconfig; with
    /// --token, no kubeconfig is needed)
    #[arg(short = 's', long, value_name = "URL", value_parser = parse_server)]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server (overrides the
    /// kubeconfig's credentials; never printed)
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Path to a PEM file of certificate authorities to trust for the API server
    #[arg(
        long,
        value_name = "PATH",
        value_hint = ValueHint::FilePath,
        conflicts_with = "insecure_skip_tls_verify"
    )]
    pub certificate_authority: Option<PathBuf>,

    /// Do not verify the API server's certificate (insecure)
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,

    /// Timeout for each API request, e.g. 5s, 1m; 0 means none
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "0")]
    pub request_timeout: Timeout,
}

/// The default probe image: Debian with glibc's `getent` and BIND's `dig`
/// (docs/probe.md says why, and what to mirror).
pub const DEFAULT_PROBE_IMAGE: &str = "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7";

/// How the name forms are observed from inside the cluster.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Probe (live only)")]
pub struct ProbeArgs {
    /// How to observe the name forms: `pod` runs a short-lived probe Job in
    /// each client namespace, `local` resolves in-process through a
    /// port-forward to a CoreDNS pod, `none` only predicts [default: pod,
    /// skipped with a warning when it cannot run]
    #[arg(long, value_enum, value_name = "MODE", conflicts_with = "snapshot")]
    pub probe: Option<ProbeArg>,

    /// Same as --probe none
    #[arg(long, conflicts_with_all = ["probe", "from"])]
    pub no_probe: bool,

    /// Observe from an existing client pod ([NS/]POD; NS defaults to -n's):
    /// its own resolv.conf, dnsPolicy and network apply
    #[arg(long, value_name = "[NS/]POD", value_parser = parse_from, conflicts_with_all = ["probe", "snapshot"])]
    pub from: Option<(Option<String>, String)>,

    /// The container of the --from pod to exec into [default: its
    /// kubectl.kubernetes.io/default-container annotation, else its first]
    #[arg(short = 'c', long, value_name = "NAME", requires = "from", value_parser = parse_namespace)]
    pub container: Option<String>,

    /// Bound on the whole probe: scheduling, image pull, and every lookup
    #[arg(long, value_name = "DURATION", value_parser = parse_probe_timeout, default_value = "30s")]
    pub probe_timeout: Duration,

    /// Probe image; it needs sh, and glibc's getent (dig for per-candidate answers)
    #[arg(long, value_name = "IMAGE", default_value = DEFAULT_PROBE_IMAGE)]
    pub image: String,

    /// Image pull secret for the probe pod (in each client namespace)
    #[arg(long, value_name = "NAME", value_parser = parse_namespace)]
    pub image_pull_secret: Option<String>,

    /// Leave the probe Job in place for debugging, and print how to remove it
    #[arg(long)]
    pub keep_probe: bool,

    /// After resolving, open TCP connections from the probe to the
    /// ClusterIP and to each ready endpoint on its target port (pod probe
    /// and --from only)
    #[arg(long, conflicts_with_all = ["snapshot", "no_probe"])]
    pub connect: bool,
}

impl ProbeArgs {
    /// What clap cannot say: `--connect` needs a probe that runs a script
    /// in a pod, so `--probe local` and `--probe none` refuse it.
    pub fn validate(&self) -> Result<(), String> {
        match self.probe {
            Some(mode @ (ProbeArg::Local | ProbeArg::None)) if self.connect => Err(format!(
                "--connect needs a probe that runs in a pod (--probe pod or --from), not --probe {}",
                if mode == ProbeArg::Local {
                    "local"
                } else {
                    "none"
                }
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeArg {
    Pod,
    Local,
    None,
}

/// `-l`: checked here, so that a typo is a usage error (exit 2).
fn parse_selector(s: &str) -> Result<String, String> {
    crate::model::LabelSelector::parse(s)
        .map(|_| s.to_owned())
        .map_err(|e| e.to_string())
}

/// `--from`: `POD` or `NS/POD` (also `pod/POD`, `NS/pod/POD`).
fn parse_from(s: &str) -> Result<(Option<String>, String), String> {
    let parts: Vec<&str> = s.split('/').collect();
    let (ns, pod) = match parts.as_slice() {
        [pod] => (None, *pod),
        ["pod" | "pods" | "po", pod] => (None, *pod),
        [ns, pod] => (Some(*ns), *pod),
        [ns, "pod" | "pods" | "po", pod] => (Some(*ns), *pod),
        _ => return Err("expected POD or NAMESPACE/POD".to_owned()),
    };
    if let Some(ns) = ns {
        parse_namespace(ns)?;
    }
    if !is_dns1123_subdomain(pod) {
        return Err(format!(
            "`{pod}` is not a valid pod name (lowercase letters, digits, '-' and '.')"
        ));
    }
    Ok((ns.map(str::to_owned), pod.to_owned()))
}

/// RFC 1123 subdomain: what a pod name must be.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

fn parse_probe_timeout(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(n) => Duration::from_secs(n),
        Err(_) => humantime::parse_duration(s.trim())
            .map_err(|e| format!("not a duration such as 30s or 2m: {e}"))?,
    };
    if d < Duration::from_secs(5) || d > Duration::from_secs(600) {
        return Err("the probe timeout must be between 5s and 10m".to_owned());
    }
    Ok(d)
}

/// The longest `--wait`: a pipeline step that waits longer is better served
/// by its own timeout.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// `--wait`: a positive humantime duration (`30s`, `2m`, `1m30s`; a bare
/// number is seconds), at most [`MAX_WAIT`].
pub fn parse_wait(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = match s.parse::<u64>() {
        Ok(n) => Duration::from_secs(n),
        Err(_) => humantime::parse_duration(s)
            .map_err(|e| format!("not a duration such as 30s or 2m: {e}"))?,
    };
    if d.is_zero() {
        return Err("the wait must be positive, e.g. 30s or 2m".to_owned());
    }
    if d > MAX_WAIT {
        return Err("the wait must be at most 1h".to_owned());
    }
    Ok(d)
}

/// A per-request timeout; `None` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,

    /// Omit table headers
    #[arg(long)]
    pub no_headers: bool,

    /// When to colour the table and the -v logs (NO_COLOR is honoured with auto)
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    /// JUnit XML for CI test reports (docs/ci.md)
    Junit,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Wide => "wide",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Junit => "junit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// RFC 1035 label: what a Service name must be.
pub fn is_dns1035_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// RFC 1123 label: what a namespace name must be.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The resource types kubectl spells a Service with.
const SERVICE_TYPES: [&str; 3] = ["svc", "service", "services"];

/// `NAME` or, as kubectl takes it, `svc/NAME`, `service/NAME`, `services/NAME`.
fn parse_service_arg(s: &str) -> Result<String, String> {
    match s.split_once('/') {
        None => parse_service_name(s),
        Some((kind, name)) if SERVICE_TYPES.contains(&kind.to_ascii_lowercase().as_str()) => {
            parse_service_name(name)
        }
        Some((kind, _)) => Err(format!(
            "resource type `{kind}` is not accepted: give the Service as NAME, svc/NAME, service/NAME or services/NAME"
        )),
    }
}

/// kubectl's `--server`: a URL; without a scheme, https is meant.
fn parse_server(s: &str) -> Result<String, String> {
    let url = if s.contains("://") {
        s.to_owned()
    } else {
        format!("https://{s}")
    };
    let (scheme, rest) = url.split_once("://").unwrap_or_default();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !matches!(scheme, "http" | "https") {
        return Err("not a server URL: the scheme must be https or http".to_owned());
    }
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return Err("not a server URL such as https://host:6443".to_owned());
    }
    Ok(url)
}

fn parse_service_name(s: &str) -> Result<String, String> {
    if is_dns1035_label(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "not a valid Service name: it must be a DNS-1035 label (at most 63 characters: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit){}",
            if s.contains('.') {
                "; give the namespace with -n, not as svc.ns"
            } else {
                ""
            }
        ))
    }
}

fn parse_namespace(s: &str) -> Result<String, String> {
    if is_dns1123_label(s) {
        Ok(s.to_owned())
    } else {
        Err("not a valid namespace name: it must be a DNS-1123 label (at most 63 characters: lowercase letters, digits and '-', starting and ending with a letter or digit)".to_owned())
    }
}

fn parse_domain(s: &str) -> Result<String, String> {
    let d = s.trim_end_matches('.');
    if !d.is_empty() && d.len() <= 253 && d.split('.').all(is_dns1123_label) {
        Ok(d.to_owned())
    } else {
        Err("not a valid domain: dot-separated DNS-1123 labels, such as cluster.local".to_owned())
    }
}

/// kubectl's `--request-timeout`: `0`, a bare number of seconds, or `5s`, `1m`, `1h30m`.
fn parse_timeout(s: &str) -> Result<Timeout, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Timeout((n > 0).then(|| Duration::from_secs(n))));
    }
    humantime::parse_duration(s)
        .map(|d| Timeout((!d.is_zero()).then_some(d)))
        .map_err(|e| format!("not a duration such as 5s or 1m: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn names_follow_kubernetes_rules() {
        assert!(is_dns1035_label("service-pay-v1"));
        assert!(!is_dns1035_label("1service"));
        assert!(!is_dns1035_label("Service"));
        assert!(!is_dns1035_label("svc-"));
        assert!(!is_dns1035_label(&"a".repeat(64)));
        assert!(is_dns1123_label("1ns"));
        assert!(!is_dns1123_label("ns.x"));
        assert!(!is_dns1123_label(""));
    }

    #[test]
    fn timeouts_parse_like_kubectl() {
        assert_eq!(parse_timeout("0"), Ok(Timeout(None)));
        assert_eq!(
            parse_timeout("7"),
            Ok(Timeout(Some(Duration::from_secs(7))))
        );
        assert_eq!(
            parse_timeout("5s"),
            Ok(Timeout(Some(Duration::from_secs(5))))
        );
        assert_eq!(
            parse_timeout("1m"),
            Ok(Timeout(Some(Duration::from_secs(60))))
        );
        assert!(parse_timeout("soon").is_err());
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_kubectl(std::iter::once("kubectl-svcdiscover").chain(args.iter().copied()))
    }

    #[test]
    fn services_are_taken_as_kubectl_spells_them() {
        for arg in ["web", "svc/web", "service/web", "services/web", "SVC/web"] {
            assert_eq!(
                parse(&[arg]).unwrap().service.as_deref(),
                Some("web"),
                "{arg}"
            );
        }
        let err = parse(&["deploy/web"]).unwrap_err().to_string();
        assert!(
            err.contains("resource type `deploy` is not accepted"),
            "{err}"
        );
        assert!(
            err.contains("svc/NAME, service/NAME or services/NAME"),
            "{err}"
        );
        // The name after the type is still a DNS-1035 label.
        assert!(parse(&["svc/Web"]).is_err());
        assert!(parse(&["svc/"]).is_err());
        assert!(parse(&["svc/web.default"]).is_err());
    }

    #[test]
    fn verbosity_is_counted_or_numbered_like_kubectl() {
        let level = |args: &[&str]| {
            let cli = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!(cli.service.as_deref(), Some("web"), "{args:?}");
            cli.verbosity()
        };
        assert_eq!(level(&["web"]), Verbosity::Off);
        assert_eq!(level(&["-v", "web"]), Verbosity::Info);
        assert_eq!(level(&["web", "-v"]), Verbosity::Info);
        assert_eq!(level(&["-vv", "web"]), Verbosity::Debug);
        assert_eq!(level(&["-vvv", "web"]), Verbosity::Trace);
        assert_eq!(level(&["-v=6", "web"]), Verbosity::Trace);
        assert_eq!(level(&["-v6", "web"]), Verbosity::Trace);
        assert_eq!(level(&["--v=6", "web"]), Verbosity::Trace);
        assert_eq!(level(&["--v", "6", "web"]), Verbosity::Trace);
        assert_eq!(level(&["-v", "6", "web"]), Verbosity::Trace);
        assert_eq!(level(&["web", "-v", "6"]), Verbosity::Trace);
        assert_eq!(level(&["web", "-v", "4", "-n", "x"]), Verbosity::Debug);
        assert_eq!(level(&["-v=2", "web"]), Verbosity::Info);
        assert_eq!(level(&["-v=0", "web"]), Verbosity::Off);
        assert!(parse(&["-v=high", "web"]).is_err());
        // After `--`, words are positional.
        assert!(parse(&["--", "-v=6"]).is_err());
    }

    #[test]
    fn servers_are_urls() {
        assert_eq!(
            parse_server("https://10.0.0.1:6443"),
            Ok("https://10.0.0.1:6443".to_owned())
        );
        assert_eq!(
            parse_server("api.example:6443"),
            Ok("https://api.example:6443".to_owned())
        );
        assert!(parse_server("ftp://x").is_err());
        assert!(parse_server("https://").is_err());
    }

    #[test]
    fn cluster_access_flags_conflict_with_a_snapshot() {
        for flag in [
            &["--server", "https://x"][..],
            &["--token", "t"],
            &["--certificate-authority", "ca.pem"],
            &["--insecure-skip-tls-verify"],
        ] {
            let mut args = vec!["web", "--snapshot", "s.json"];
            args.extend(flag);
            let err = parse(&args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{flag:?}"
            );
        }
        let err = parse(&[
            "web",
            "--certificate-authority",
            "ca.pem",
            "--insecure-skip-tls-verify",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let cli = parse(&["web", "-s", "https://x:6443", "--token", "t"]).unwrap();
        assert_eq!(cli.kube.server.as_deref(), Some("https://x:6443"));
    }

    #[test]
    fn wait_takes_a_positive_bounded_duration_and_no_snapshot() {
        assert_eq!(parse_wait("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_wait("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_wait("1h"), Ok(MAX_WAIT));
        for bad in ["0", "0s", "soon", "-5s", "61m", "2h"] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
        let cli = parse(&["web", "--wait", "2m"]).unwrap();
        assert_eq!(cli.wait, Some(Duration::from_secs(120)));
        let err = parse(&["web", "--wait", "2m", "--snapshot", "s.json"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("cannot be waited on"), "{err}");
        assert!(parse(&["--all", "--wait", "30s"]).is_ok());
    }

    /// Every example of `--help` parses as it is written (the shell's
    /// redirection and comment left out), so the examples stay true to the flags.
    #[test]
    fn every_help_example_parses() {
        let examples: Vec<&str> = AFTER_HELP
            .lines()
            .filter_map(|l| l.trim().strip_prefix("kubectl svcdiscover "))
            .collect();
        assert!(examples.len() >= 10, "{examples:?}");
        for example in examples {
            let words: Vec<&str> = example
                .split_whitespace()
                .take_while(|w| !matches!(*w, "#" | ">" | "|"))
                .collect();
            if let Err(e) = parse(&words) {
                panic!("--help example `{example}` does not parse: {e}");
            }
        }
        for case in [
            "On call",
            "existing pod",
            "CI gate",
            "Scan",
            "Offline",
            "cluster-info dump",
        ] {
            assert!(AFTER_HELP.contains(case), "{case}");
        }
    }

    #[test]
    fn domains_are_validated_and_normalised() {
        assert_eq!(
            parse_domain("cluster.local."),
            Ok("cluster.local".to_owned())
        );
        assert!(parse_domain("bad_domain").is_err());
    }
}
