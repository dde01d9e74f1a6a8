//! Exit codes: what each means is part of the contract (docs/exit-codes.md).

/// `--fail-on`: which severity turns the exit code to 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// An error finding (verdict `unreachable`).
    #[default]
    Error,
    /// A warning too (verdict `degraded`).
    Warning,
    /// Never: findings do not fail the run (usage errors and `unknown`
    /// still do).
    Never,
}

/// The process outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Verdict `reachable` or `degraded`: no error finding.
    Clean = 0,
    /// Verdict `unreachable`: at least one error finding.
    Findings = 1,
    /// Usage or input error.
    Usage = 2,
    /// Verdict `unknown`: what the verdict needs could not be read (a
    /// required read failed, or the snapshot does not cover it).
    Unknown = 3,
    /// Interrupted (SIGINT).
    Interrupted = 130,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status a verdict maps to.
    pub fn of_verdict(v: crate::model::Verdict) -> ExitStatus {
        use crate::model::Verdict;
        match v {
            Verdict::Reachable | Verdict::Degraded => ExitStatus::Clean,
            Verdict::Unreachable => ExitStatus::Findings,
            Verdict::Unknown => ExitStatus::Unknown,
        }
    }

    /// The status a verdict maps to under `--fail-on`: `error` (the
    /// default) is [`ExitStatus::of_verdict`]; `warning` also fails a
    /// degraded verdict; `never` passes an unreachable one. No setting
    /// hides unknown (3).
    pub fn gated(v: crate::model::Verdict, fail_on: FailOn) -> ExitStatus {
        use crate::model::Verdict;
        match (v, fail_on) {
            (Verdict::Unknown, _) => ExitStatus::Unknown,
            (Verdict::Degraded, FailOn::Warning) => ExitStatus::Findings,
            (Verdict::Unreachable, FailOn::Never) => ExitStatus::Clean,
            _ => ExitStatus::of_verdict(v),
        }
    }

    /// The status an error maps to.
    pub fn of_error(e: &crate::error::Error) -> ExitStatus {
        use crate::error::Error::*;
        match e {
            Usage(_)
            | SnapshotIo { .. }
            | SnapshotParse { .. }
            | SnapshotNotFile { .. }
            | SnapshotTooLarge { .. }
            | SnapshotNoObject { .. }
            | SaveSnapshot { .. }
            | Kubeconfig(_) => ExitStatus::Usage,
            Connect(_) | NotApiServer(_) | Unauthorized { .. } => ExitStatus::Unknown,
            // Internal failures after the diagnosis: no verdict reached stdout.
            SnapshotTask(_) | Encode { .. } | Output(_) => ExitStatus::Unknown,

            Interrupted => ExitStatus::Interrupted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn codes_are_stable() {
        assert_eq!(ExitStatus::Clean.code(), 0);
        assert_eq!(ExitStatus::Findings.code(), 1);
        assert_eq!(ExitStatus::Usage.code(), 2);
        assert_eq!(ExitStatus::Unknown.code(), 3);
        assert_eq!(ExitStatus::Interrupted.code(), 130);
        assert_eq!(
            ExitStatus::of_error(&Error::Kubeconfig("x".into())),
            ExitStatus::Usage
        );
        for input in [
            Error::SnapshotNotFile {
                path: "p".into(),
                what: "a FIFO (named pipe)",
            },
            Error::SnapshotTooLarge {
                path: "p".into(),
                size: Some(2),
                limit: 1,
            },
            Error::SnapshotNoObject {
                path: "p".into(),
                message: "x".into(),
            },
        ] {
            assert_eq!(ExitStatus::of_error(&input), ExitStatus::Usage);
        }
        assert_eq!(
            ExitStatus::of_error(&Error::Connect("x".into())),
            ExitStatus::Unknown
        );
        assert_eq!(
            ExitStatus::of_error(&Error::NotApiServer("x".into())),
            ExitStatus::Unknown
        );
        assert_eq!(
            ExitStatus::of_error(&Error::Unauthorized {
                path: "/api".into()
            }),
            ExitStatus::Unknown
        );
    }
}
