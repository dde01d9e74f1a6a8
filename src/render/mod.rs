//! Rendering the report: table, wide table, JSON, YAML. Renderers only turn
//! a report into a string; every environment decision (colour, width) comes
//! in through [`RenderOpts`].

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
