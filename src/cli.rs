//! Command line: kubectl conventions, parsed by the plugin itself (kubectl
//! passes a plugin only the words after its name).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0    no error finding
  1    at least one error finding (the report is still printed)
  2    usage or input error (bad flag, invalid name, unreadable snapshot)
  3    a required read failed (cluster unreachable, credentials rejected, forbidden)
  130  interrupted

Examples:
  kubectl svcdiscover service-pay-v1 -n default
  kubectl svcdiscover service-pay-v1 --from-namespace client -o json
  kubectl svcdiscover service-pay-v1 --snapshot cluster-dump/";

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
    /// The Service to diagnose
    #[arg(value_name = "SERVICE", value_parser = parse_service_name)]
    pub service: String,

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
        conflicts_with_all = ["kubeconfig", "context", "cluster", "user", "as_user", "as_group"]
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

    #[command(flatten)]
    pub kube: KubeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Log to stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// How to reach the cluster: the flags kubectl users expect.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster access")]
pub struct KubeArgs {
    /// Path to the kubeconfig file [default: $KUBECONFIG (several paths merge), else ~/.kube/config]
    #[arg(long, value_name = "PATH")]
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

    /// Timeout for each API request, e.g. 5s, 1m; 0 means none
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "0")]
    pub request_timeout: Timeout,
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

    /// When to colour the table (NO_COLOR is honoured with auto)
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
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

    #[test]
    fn domains_are_validated_and_normalised() {
        assert_eq!(
            parse_domain("cluster.local."),
            Ok("cluster.local".to_owned())
        );
        assert!(parse_domain("bad_domain").is_err());
    }
}
