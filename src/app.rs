//! Orchestration: turn the command line into a [`Plan`], read the state,
//! diagnose, render, decide the exit status. All I/O of a run happens here or
//! in `source`.

use std::io::Write;

use crate::analysis;
use crate::cli::{Cli, Format};
use crate::error::{Error, Result};
use crate::exit::ExitStatus;
use crate::model::{ClusterState, Report};
use crate::plan::{Output, Plan, Source};
use crate::render::{self, RenderOpts};
use crate::source;

/// Everything a run produced.
pub struct Outcome {
    pub report: Report,
    pub status: ExitStatus,
    /// One line per required read that failed (printed on stderr).
    pub errors: Vec<String>,
}

/// Read the state the plan names, diagnose, and decide the exit status.
pub async fn diagnose(plan: &Plan) -> Result<Outcome> {
    let (state, target) = match &plan.source {
        Source::Snapshot { path, max_size } => {
            let (path, max) = (path.clone(), *max_size);
            let state = tokio::task::spawn_blocking(move || source::snapshot::load(&path, max))
                .await
                .map_err(Error::SnapshotTask)??;
            (state, plan.what.target("default"))
        }
        Source::Live(access) => {
            let (client, context_ns) = source::live::client(access).await?;
            let target = plan.what.target(&context_ns);
            let state = source::live::read(client, &target, access.request_timeout.0).await?;
            (state, target)
        }
    };
    source::check_client_namespaces(&state, &plan.options.from_namespaces)?;
    let report = analysis::diagnose(&state, &target, &plan.options);
    Ok(outcome(&state, report))
}

fn outcome(state: &ClusterState, report: Report) -> Outcome {
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
    Outcome {
        status: ExitStatus::of_verdict(report.verdict),
        report,
        errors,
    }
}

/// Render the report for stdout as the plan's output says.
pub fn render(report: &Report, out: &Output) -> Result<String> {
    match out.format {
        Format::Json => render::json(report),
        Format::Yaml => render::yaml(report),
        Format::Table | Format::Wide => Ok(render::table(
            report,
            &RenderOpts {
                color: out.color,
                wide: out.format == Format::Wide,
                no_headers: out.no_headers,
                width: out.width,
            },
        )),
    }
}

/// Run the command: plan, diagnose, print, return the exit status.
pub async fn run(cli: &Cli) -> Result<ExitStatus> {
    let plan = Plan::from_cli(cli);
    let outcome = diagnose(&plan).await?;
    let text = render(&outcome.report, &plan.output)?;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) does not change the verdict.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(outcome.status);
        }
        return Err(Error::Output(e));
    }
    for e in &outcome.errors {
        say(&format!("error: {}", render::safe(e)));
    }
    if outcome.status == ExitStatus::Unknown && outcome.errors.is_empty() {
        say(&format!(
            "error: verdict unknown: {}",
            render::safe(&outcome.report.verdict_reason)
        ));
    }
    Ok(outcome.status)
}

/// Write one line to stderr. A stderr that cannot be written (closed, full)
/// must not change the exit code, so the error is dropped: unlike
/// `eprintln!`, which panics.
pub fn say(line: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
