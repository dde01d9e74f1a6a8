//! The outcome of running a command, shared by the integration and e2e tests.

use std::process::Output;

use serde_json::Value;

/// Exit code and captured output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout as JSON; panics with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Whether the report lists `check` under `not_checked`.
pub fn not_checked(report: &Value, check: &str) -> bool {
    report["not_checked"]
        .as_array()
        .is_some_and(|a| a.iter().any(|n| n["check"] == check))
}
