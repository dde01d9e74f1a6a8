//! The snapshot reader (`snapshot::from_bytes`, the function `--snapshot`
//! reads every file and stdin with): JSON, YAML and `kubectl cluster-info
//! dump` streams, chosen by the input as the binary chooses.
//!
//! Invariants: no panic; an error is an input error (exit 2) that names the
//! input and, for a parse error, gives a 1-based position inside it; a
//! state that reads is scanned, and the scan renders as a table, JUnit and
//! JSON, the JSON parsing back.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use svcdiscover::analysis::{self, Options};
use svcdiscover::error::Error;
use svcdiscover::exit::{ExitStatus, FailOn};
use svcdiscover::render::{self, RenderOpts};
use svcdiscover::source::snapshot;

const NAME: &str = "fuzz-input.json";

fuzz_target!(|data: &[u8]| {
    match snapshot::from_bytes(Path::new(NAME), data.to_vec()) {
        Ok(state) => {
            let scan = analysis::scan(&state, &Options::default(), None, None);
            let opts = RenderOpts {
                color: true,
                wide: true,
                no_headers: false,
                width: Some(80),
            };
            let _ = render::scan_table(&scan, &opts);
            let _ = render::junit_scan(&scan, FailOn::Warning);
            if let Some(report) = scan.reports.first() {
                let _ = render::table(report, &opts);
                let _ = render::junit_one(report, FailOn::Error);
            }
            let mut json = Vec::new();
            render::write_json(&scan, &mut json).expect("a scan encodes as JSON");
            serde_json::from_slice::<serde_json::Value>(&json).expect("the JSON parses back");
        }
        Err(e) => {
            assert_eq!(ExitStatus::of_error(&e), ExitStatus::Usage, "{e}");
            let msg = e.to_string();
            assert!(msg.contains(NAME), "the message names the input: {msg}");
            if let Error::SnapshotParse {
                position: Some((line, column)),
                ..
            } = &e
            {
                // YAML breaks lines at `\r` too (JSON only at `\n`).
                let lines = 1 + data
                    .iter()
                    .enumerate()
                    .filter(|(i, b)| {
                        **b == b'\n' || (**b == b'\r' && data.get(i + 1) != Some(&b'\n'))
                    })
                    .count();
                assert!(
                    *line >= 1 && *line <= lines && *column >= 1,
                    "position {line}:{column} outside the input's {lines} lines: {msg}"
                );
            }
        }
    }
});
