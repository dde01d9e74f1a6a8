//! Rendering the report: table, wide table, JSON, YAML, JUnit XML. Renderers only turn
//! a report into a string; every environment decision (colour, width) comes
//! in through [`RenderOpts`].

pub mod junit;
mod scan;
mod table;

use crate::error::{Error, Result};
use crate::model::{Report, Scan};
use serde::Serialize;

pub use table::safe;

/// How to render; decided by the caller (`app`), never probed here.
#[derive(Debug, Clone, Copy)]
pub struct RenderOpts {
    pub color: bool,
    pub wide: bool,
    pub no_headers: bool,
    /// Table width in columns; `None` lets long cells run on.
    pub width: Option<u16>,
}

/// The table view for people.
pub fn table(report: &Report, opts: &RenderOpts) -> String {
    table::render(report, opts)
}

/// The scan's table: one row per Service, worst first.
pub fn scan_table(scan: &Scan, opts: &RenderOpts) -> String {
    scan::render(scan, opts)
}

/// JUnit XML for one Service, failures as `--fail-on` decides (docs/ci.md).
pub fn junit_one(report: &Report, fail_on: crate::exit::FailOn) -> String {
    junit::one(report, fail_on)
}

/// JUnit XML for a scan: a suite per namespace.
pub fn junit_scan(scan: &Scan, fail_on: crate::exit::FailOn) -> String {
    junit::scan(scan, fail_on)
}

/// The JSON contract (docs/report.schema.json), pretty-printed, with a final newline.
pub fn json<T: Serialize>(report: &T) -> Result<String> {
    serde_json::to_string_pretty(report)
        .map(|s| s + "\n")
        .map_err(|e| Error::Encode {
            format: "JSON",
            message: e.to_string(),
        })
}

/// The same contract as YAML.
pub fn yaml<T: Serialize>(report: &T) -> Result<String> {
    serde_saphyr::to_string(report).map_err(|e| Error::Encode {
        format: "YAML",
        message: e.to_string(),
    })
}
