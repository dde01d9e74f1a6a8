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

/// The JSON contract (docs/report.schema.json), pretty-printed with a
/// final newline, written as it is encoded: a scan's document is never
/// held whole in memory. A failed write is [`Error::Output`], with its
/// `io::ErrorKind` (a closed pipe) kept.
pub fn write_json<T: Serialize>(report: &T, w: &mut impl std::io::Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(|e| match e.io_error_kind() {
        Some(_) => Error::Output(e.into()),
        None => Error::Encode {
            format: "JSON",
            message: e.to_string(),
        },
    })?;
    w.write_all(b"\n").map_err(Error::Output)
}

/// The same contract as YAML, written as it is encoded.
pub fn write_yaml<T: Serialize>(report: &T, w: &mut impl std::io::Write) -> Result<()> {
    let mut w = KeepIoError { w, error: None };
    let res = serde_saphyr::to_io_writer(&mut w, report);
    match (res, w.error) {
        (_, Some(e)) => Err(Error::Output(e)),
        (Err(e), None) => Err(Error::Encode {
            format: "YAML",
            message: e.to_string(),
        }),
        (Ok(()), None) => Ok(()),
    }
}

/// A writer that keeps its first I/O error, which an encoder would fold
/// into an encoding error of its own.
struct KeepIoError<'a, W> {
    w: &'a mut W,
    error: Option<std::io::Error>,
}

impl<W> KeepIoError<'_, W> {
    fn kept<T>(&mut self, res: std::io::Result<T>) -> std::io::Result<T> {
        res.inspect_err(|e| {
            self.error
                .get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        })
    }
}

impl<W: std::io::Write> std::io::Write for KeepIoError<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let res = self.w.write(buf);
        self.kept(res)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let res = self.w.flush();
        self.kept(res)
    }
}
