//! The outcome of running a command, shared by the integration and e2e tests.

use std::process::Output;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

/// Exit code and captured output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Whether every run's output is kept (the e2e suite turns it on, and greps
/// what was kept for credentials once its tests are done).
static RECORDING: AtomicBool = AtomicBool::new(false);
static OUTPUTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keep the output of every run from now on.
#[allow(dead_code)] // the e2e suite's; the integration tests do not keep them
pub fn record_all() {
    RECORDING.store(true, Ordering::SeqCst);
}

/// The outputs kept so far, stdout and stderr of each run together.
#[allow(dead_code)]
pub fn recorded() -> Vec<String> {
    OUTPUTS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Run {
    /// The run's outcome, kept for the final check when recording.
    pub fn from_output(out: Output) -> Run {
        let run = Run::unrecorded(out);
        run.record();
        run
    }

    /// The run's outcome, not kept: only for output that is a credential
    /// by design (`kubectl create token`).
    pub fn unrecorded(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Keep this run's output when recording.
    pub fn record(&self) {
        if RECORDING.load(Ordering::SeqCst) {
            OUTPUTS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{}\n{}", self.stdout, self.stderr));
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
