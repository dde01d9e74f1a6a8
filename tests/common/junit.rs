//! JUnit XML checked against the Jenkins xUnit plugin's JUnit schema
//! (`junit-10.xsd`, as pytest's source distribution ships it) with
//! `xmllint`; shared by the integration and e2e tests. `tests/junit/setup`
//! installs both (`.ci/run` calls it).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where `tests/junit/setup` puts the schema, unless
/// `SVCDISCOVER_JUNIT_XSD` names another file.
pub const DEFAULT_XSD: &str = "/var/cache/svcdiscover-junit/junit-10.xsd";

const HOW: &str = "run tests/junit/setup (as root: it installs xmllint from Debian's libxml2-utils and extracts junit-10.xsd from pytest's source distribution on PyPI), or set SVCDISCOVER_JUNIT_XSD to the schema's path";

fn schema() -> PathBuf {
    let path = std::env::var_os("SVCDISCOVER_JUNIT_XSD")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_XSD), PathBuf::from);
    assert!(
        path.is_file(),
        "the JUnit schema {} is missing: {HOW}",
        path.display()
    );
    path
}

/// Validate `xml` against the schema; panics with xmllint's words when it
/// does not validate, and with how to get the tools when they are missing.
pub fn validate_junit(xml: &str) {
    let xsd = schema();
    let mut child = match Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&xsd)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run xmllint ({e}): {HOW}"),
    };
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(xml.as_bytes())
        .expect("write to xmllint");
    let out = child.wait_with_output().expect("xmllint ran");
    assert!(
        out.status.success(),
        "the JUnit output does not validate against {}:\n{}\n{xml}",
        xsd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
