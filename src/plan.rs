//! The command line turned into a plan, once. Everything below `app` takes a
//! [`Plan`] (or a part of it), never the parsed command line, so tests and
//! other front ends (completion, a scan) build plans directly.

use std::io::IsTerminal;
use std::path::PathBuf;

use std::time::Duration;

use crate::analysis::{Options, PodRef, Target};
use crate::cli::{Cli, ColorWhen, Format, KubeArgs, ProbeArg};

/// What to do, where to read from, and how to show it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub what: What,
    pub source: Source,
    pub options: Options,
    pub probe: Probe,
    pub output: Output,
    /// `--fail-on`.
    pub fail_on: crate::exit::FailOn,
    /// `--save-snapshot`: where a live run writes what it read.
    pub save_snapshot: Option<PathBuf>,
    /// `--wait`: re-check until the gate passes or this runs out (live only).
    pub wait: Option<Duration>,
}

/// How the name forms are observed (live runs only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub mode: ProbeMode,
    /// Asked for on the command line: a probe that cannot run then makes
    /// the verdict unknown (exit 3); the default probe only warns.
    pub explicit: bool,
    pub timeout: Duration,
    pub image: String,
    pub pull_secret: Option<String>,
    pub keep: bool,
    /// `--connect`: also open TCP connections (pod and `--from` modes).
    pub connect: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeMode {
    None,
    /// A probe Job per client namespace.
    Pod,
    /// hickory over a port-forward to a CoreDNS pod.
    Local,
    /// An existing pod; `namespace` `None` is the Service's.
    From {
        namespace: Option<String>,
        pod: String,
        container: Option<String>,
    },
}

/// What to diagnose.
#[derive(Debug, Clone)]
pub enum What {
    /// One Service. `namespace` is `None` for "the kubeconfig context's".
    One {
        namespace: Option<String>,
        name: String,
    },
    /// Every Service of a namespace or of the cluster (`--all`, `-A`),
    /// narrowed by `-l`.
    Scan {
        namespace: ScanNamespaces,
        selector: Option<String>,
    },
}

/// Which namespaces a scan covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanNamespaces {
    /// One; `None` for "the kubeconfig context's".
    One(Option<String>),
    All,
}

/// Where the cluster state comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The API server, reached as the kubectl-style flags say.
    Live(Box<KubeArgs>),
    /// Files (or `-` for stdin), each read up to `max_size` bytes.
    Snapshot { path: PathBuf, max_size: u64 },
}

/// How to render, with every environment decision already made.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    pub no_headers: bool,
    /// The terminal's width; `None` when stdout is not a terminal.
    pub width: Option<u16>,
    /// `--fail-on`, which JUnit's failures follow.
    pub fail_on: crate::exit::FailOn,
}

impl Plan {
    /// Build the plan from the command line and the environment (terminal,
    /// `NO_COLOR`, `TERM`).
    pub fn from_cli(cli: &Cli) -> Plan {
        let tty = std::io::stdout().is_terminal();
        let env = Env {
            stdout_tty: tty,
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            dumb: std::env::var("TERM").is_ok_and(|t| t == "dumb"),
            // The terminal's width; when stdout is not a terminal, COLUMNS if
            // set (as `ls` does), else no wrapping.
            width: if tty {
                comfy_table::Table::new().width()
            } else {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.trim().parse::<u16>().ok())
                    .filter(|w| *w >= 20)
            },
        };
        Plan::with_env(cli, &env)
    }

    /// The same, with the environment given (for tests).
    pub fn with_env(cli: &Cli, env: &Env) -> Plan {
        let source = match &cli.snapshot {
            Some(path) => Source::Snapshot {
                path: path.clone(),
                max_size: cli.max_snapshot_size,
            },
            None => Source::Live(Box::new(cli.kube.clone())),
        };
        // Offline there is no kubeconfig context: `default`, as kubectl would.
        let namespace = match (&cli.namespace, &source) {
            (Some(ns), _) => Some(ns.clone()),
            (None, Source::Snapshot { .. }) => Some("default".to_owned()),
            (None, Source::Live(_)) => None,
        };
        let out = &cli.output;
        let color = match out.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => env.stdout_tty && !env.no_color && !env.dumb,
        };
        let mut probe = probe_of(cli, &source);
        let what = match &cli.service {
            Some(name) => What::One {
                namespace,
                name: name.clone(),
            },
            None => {
                // A scan probes only when asked.
                if !probe.explicit {
                    probe.mode = ProbeMode::None;
                }
                What::Scan {
                    namespace: if cli.all_namespaces {
                        ScanNamespaces::All
                    } else {
                        ScanNamespaces::One(namespace)
                    },
                    selector: cli.selector.clone(),
                }
            }
        };
        Plan {
            what,
            source,
            options: Options {
                from_namespaces: cli.from_namespace.clone(),
                cluster_domain: cli.cluster_domain.clone(),
                // Known once the namespace is (`Plan::options_for`).
                from_pod: None,
            },
            probe,
            output: Output {
                format: out.output,
                color,
                no_headers: out.no_headers,
                width: env.width,
                fail_on: cli.fail_on,
            },
            fail_on: cli.fail_on,
            save_snapshot: cli.save_snapshot.clone(),
            wait: cli.wait,
        }
    }
}

fn probe_of(cli: &Cli, source: &Source) -> Probe {
    let p = &cli.probe;
    let (mode, explicit) = if let Some((namespace, pod)) = &p.from {
        (
            ProbeMode::From {
                namespace: namespace.clone(),
                pod: pod.clone(),
                container: p.container.clone(),
            },
            true,
        )
    } else if p.no_probe {
        (ProbeMode::None, true)
    } else {
        match (p.probe, source) {
            (Some(ProbeArg::Pod), _) => (ProbeMode::Pod, true),
            (Some(ProbeArg::Local), _) => (ProbeMode::Local, true),
            (Some(ProbeArg::None), _) => (ProbeMode::None, true),
            // A snapshot never probes.
            (None, Source::Snapshot { .. }) => (ProbeMode::None, false),
            // Asking for connections asks for the probe that opens them.
            (None, Source::Live(_)) => (ProbeMode::Pod, p.connect),
        }
    };
    // Only a probe that runs a script in a pod opens connections (the CLI
    // refuses --connect with the others).
    let connect = p.connect && matches!(mode, ProbeMode::Pod | ProbeMode::From { .. });
    Probe {
        mode,
        explicit,
        timeout: p.probe_timeout,
        image: p.image.clone(),
        pull_secret: p.image_pull_secret.clone(),
        keep: p.keep_probe,
        connect,
    }
}

impl Plan {
    /// The diagnosis options once the target is known: the `--from` pod's
    /// namespace defaults to the Service's.
    pub fn options_for(&self, target: &Target) -> Options {
        let mut opts = self.options.clone();
        if let ProbeMode::From { namespace, pod, .. } = &self.probe.mode {
            opts.from_pod = Some(PodRef {
                namespace: namespace
                    .clone()
                    .unwrap_or_else(|| target.namespace.clone()),
                name: pod.clone(),
            });
        }
        opts
    }
}

/// The parts of the environment a plan depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env {
    pub stdout_tty: bool,
    pub no_color: bool,
    pub dumb: bool,
    pub width: Option<u16>,
}

impl What {
    /// The target once the namespace is known; a scan has none (`None`).
    pub fn target(&self, context_namespace: &str) -> Option<Target> {
        match self {
            What::One { namespace, name } => Some(Target {
                namespace: namespace
                    .clone()
                    .unwrap_or_else(|| context_namespace.to_owned()),
                name: name.clone(),
            }),
            What::Scan { .. } => None,
        }
    }

    /// A scan's namespace once the context's is known; `None` for all.
    pub fn scan_namespace(&self, context_namespace: &str) -> Option<String> {
        match self {
            What::Scan {
                namespace: ScanNamespaces::One(ns),
                ..
            } => Some(ns.clone().unwrap_or_else(|| context_namespace.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(args: &[&str], env: Env) -> Plan {
        let cli =
            Cli::try_parse_from(std::iter::once("kubectl-svcdiscover").chain(args.iter().copied()))
                .expect("valid arguments");
        Plan::with_env(&cli, &env)
    }

    #[test]
    fn offline_defaults_to_namespace_default_and_live_to_the_context() {
        let p = plan(&["svc-a", "--snapshot", "x.json"], Env::default());
        assert_eq!(p.what.target("ignored").unwrap().namespace, "default");
        let p = plan(&["svc-a"], Env::default());
        assert_eq!(p.what.target("team-a").unwrap().namespace, "team-a");
        let p = plan(&["svc-a", "-n", "pay"], Env::default());
        assert_eq!(p.what.target("team-a").unwrap().namespace, "pay");
    }

    #[test]
    fn colour_follows_the_terminal_and_no_color() {
        let tty = Env {
            stdout_tty: true,
            ..Env::default()
        };
        assert!(plan(&["s"], tty).output.color);
        assert!(!plan(&["s"], Env::default()).output.color);
        let no_color = Env {
            no_color: true,
            ..tty
        };
        assert!(!plan(&["s"], no_color).output.color);
        assert!(plan(&["s", "--color", "always"], no_color).output.color);
        assert!(!plan(&["s", "--color", "never"], tty).output.color);
    }

    #[test]
    fn live_runs_probe_by_default_snapshots_never_and_flags_are_explicit() {
        let p = plan(&["s"], Env::default()).probe;
        assert_eq!((p.mode, p.explicit), (ProbeMode::Pod, false));
        let p = plan(&["s", "--snapshot", "x.json"], Env::default()).probe;
        assert_eq!(p.mode, ProbeMode::None);
        for (args, mode) in [
            (&["s", "--probe", "pod"][..], ProbeMode::Pod),
            (&["s", "--probe", "local"][..], ProbeMode::Local),
            (&["s", "--no-probe"][..], ProbeMode::None),
        ] {
            let p = plan(args, Env::default()).probe;
            assert_eq!((p.mode, p.explicit), (mode, true), "{args:?}");
        }
        let p = plan(
            &["s", "-n", "pay", "--from", "user-v1", "-c", "app"],
            Env::default(),
        );
        assert!(p.probe.explicit);
        let t = p.what.target("ctx").unwrap();
        let from = p.options_for(&t).from_pod.expect("a --from pod");
        assert_eq!(
            (from.namespace.as_str(), from.name.as_str()),
            ("pay", "user-v1")
        );
        let p = plan(&["s", "--from", "client/pod/user-v1"], Env::default());
        let from = p
            .options_for(&p.what.target("ctx").unwrap())
            .from_pod
            .unwrap();
        assert_eq!(from.to_string(), "client/user-v1");
    }

    #[test]
    fn connect_asks_for_a_pod_probe_and_refuses_the_others() {
        let p = plan(&["s", "--connect"], Env::default()).probe;
        assert_eq!(
            (p.mode, p.explicit, p.connect),
            (ProbeMode::Pod, true, true)
        );
        let p = plan(
            &["s", "--from", "client/client", "--connect"],
            Env::default(),
        )
        .probe;
        assert!(p.connect);
        assert!(!plan(&["s"], Env::default()).probe.connect);
        let kubectl = |args: &[&str]| {
            Cli::try_parse_kubectl(
                std::iter::once("kubectl-svcdiscover").chain(args.iter().copied()),
            )
        };
        assert!(kubectl(&["s", "--probe", "pod", "--connect"]).is_ok());
        for args in [
            &["s", "--probe", "local", "--connect"][..],
            &["s", "--probe", "none", "--connect"][..],
            &["s", "--no-probe", "--connect"][..],
            &["s", "--snapshot", "x.json", "--connect"][..],
        ] {
            let e = kubectl(args).expect_err("refused");
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
        let e = kubectl(&["s", "--probe", "local", "--connect"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("--connect needs a probe that runs in a pod (--probe pod or --from), not --probe local"),
            "{e}"
        );
    }

    #[test]
    fn a_scan_does_not_probe_unless_asked() {
        for args in [&["--all"][..], &["-A"][..], &["-A", "-l", "tier=web"][..]] {
            let p = plan(args, Env::default());
            assert!(matches!(p.what, What::Scan { .. }), "{args:?}");
            assert_eq!(p.probe.mode, ProbeMode::None, "{args:?}");
        }
        let p = plan(&["--all", "-n", "shop"], Env::default());
        assert_eq!(p.what.scan_namespace("ctx").as_deref(), Some("shop"));
        let p = plan(&["--all"], Env::default());
        assert_eq!(p.what.scan_namespace("ctx").as_deref(), Some("ctx"));
        let p = plan(&["-A"], Env::default());
        assert_eq!(p.what.scan_namespace("ctx"), None);
    }

    #[test]
    fn probe_flags_that_cannot_work_together_are_usage_errors() {
        for args in [
            &["s", "--snapshot", "x", "--probe", "pod"][..],
            &["s", "--snapshot", "x", "--from", "p"][..],
            &["s", "--no-probe", "--probe", "pod"][..],
            &["s", "--from", "p", "--probe", "local"][..],
            &["s", "-c", "app"][..],
            &["s", "--from", "a/b/c/d"][..],
            &["s", "--from", "Bad_Pod"][..],
            &["s", "--probe-timeout", "1s"][..],
            &["s", "--probe-timeout", "1h"][..],
        ] {
            let r = Cli::try_parse_from(
                std::iter::once("kubectl-svcdiscover").chain(args.iter().copied()),
            );
            assert!(r.is_err(), "{args:?} should be refused");
        }
    }
}
