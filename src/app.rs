//! Orchestration: pick the source, diagnose, render, decide the exit status.
//! All I/O of a run happens here or in `source`.

use std::io::{IsTerminal, Write};

use crate::analysis::{self, Options, Target};
use crate::cli::{Cli, ColorWhen, Format};
use crate::error::{Error, Result};
use crate::exit::ExitStatus;
use crate::model::{ClusterState, Report};
use crate::render::{self, RenderOpts};
use crate::source;

/// Everything a run produced.
pub struct Outcome {
    pub report: Report,
    pub status: ExitStatus,
    /// One line per required read that failed (printed on stderr).
    pub errors: Vec<String>,
}

/// Read the state, diagnose, and decide the exit status.
pub async fn diagnose(cli: &Cli) -> Result<Outcome> {
    let (state, namespace) = match &cli.snapshot {
        Some(path) => {
            let (path, max) = (path.clone(), cli.max_snapshot_size);
            let state = tokio::task::spawn_blocking(move || source::snapshot::load(&path, max))
                .await
                .map_err(|e| Error::Usage(format!("snapshot reader stopped: {e}")))??;
            (
                state,
                cli.namespace
                    .clone()
                    .unwrap_or_else(|| "default".to_owned()),
            )
        }
        None => {
            let (client, context_ns) = source::live::client(&cli.kube).await?;
            let namespace = cli.namespace.clone().unwrap_or(context_ns);
            let target = Target {
                namespace: namespace.clone(),
                name: cli.service.clone(),
            };
            let state = source::live::read(client, &target, cli.kube.request_timeout.0).await;
            (state, namespace)
        }
    };
    Ok(outcome(&state, cli, namespace))
}

fn outcome(state: &ClusterState, cli: &Cli, namespace: String) -> Outcome {
    let target = Target {
        namespace,
        name: cli.service.clone(),
    };
    let opts = Options {
        from_namespaces: cli.from_namespace.clone(),
        cluster_domain: cli.cluster_domain.clone(),
    };
    let report = analysis::diagnose(state, &target, &opts);
    // One line per distinct cause: an unreachable server fails every read alike.
    let mut errors: Vec<String> = Vec::new();
    let mut by_reason: Vec<(&str, Vec<String>, bool)> = Vec::new();
    for f in state.failures.iter().filter(|f| f.required) {
        match by_reason.iter_mut().find(|(r, _, _)| *r == f.reason) {
            Some((_, whats, _)) => whats.push(f.what()),
            None => by_reason.push((&f.reason, vec![f.what()], f.forbidden)),
        }
    }
    for (reason, whats, forbidden) in by_reason {
        let rbac = if forbidden {
            format!(" (grant RBAC: {})", whats.join("; "))
        } else {
            String::new()
        };
        errors.push(format!("cannot {}: {reason}{rbac}", whats.join(", ")));
    }
    let status = if !errors.is_empty() {
        ExitStatus::ReadFailed
    } else if report.has_errors() {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    };
    Outcome {
        report,
        status,
        errors,
    }
}

/// Render for stdout, deciding colour and width from the environment.
pub fn render(report: &Report, cli: &Cli) -> Result<String> {
    let out = &cli.output;
    match out.output {
        Format::Json => render::json(report),
        Format::Yaml => render::yaml(report),
        Format::Table | Format::Wide => {
            let tty = std::io::stdout().is_terminal();
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
            let color = match out.color {
                ColorWhen::Always => true,
                ColorWhen::Never => false,
                ColorWhen::Auto => tty && !no_color && !dumb,
            };
            let width = if tty {
                comfy_table::Table::new().width()
            } else {
                None
            };
            Ok(render::table(
                report,
                &RenderOpts {
                    color,
                    wide: out.output == Format::Wide,
                    no_headers: out.no_headers,
                    width,
                },
            ))
        }
    }
}

/// Run the command: diagnose, print, return the exit status.
pub async fn run(cli: &Cli) -> Result<ExitStatus> {
    let outcome = diagnose(cli).await?;
    let text = render(&outcome.report, cli)?;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) does not change the verdict.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(outcome.status);
        }
        return Err(Error::Usage(format!("cannot write the report: {e}")));
    }
    for e in &outcome.errors {
        eprintln!("error: {}", render::safe(e));
    }
    Ok(outcome.status)
}
