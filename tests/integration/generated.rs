//! Files generated from the command line's definition stay in step with it:
//! the completion scripts in completions/ and the man page in docs/. After a
//! change to the flags, regenerate them with
//!
//!   SVCDISCOVER_BLESS=1 cargo test --test integration generated
//!
//! and commit the result. Also: the completion shim, run as kubectl runs it.

use std::path::Path;

use clap::CommandFactory;
use svcdiscover::cli::Cli;

use crate::fixtures::cmd;

const REGENERATE: &str = "SVCDISCOVER_BLESS=1 cargo test --test integration generated";

/// Compare `fresh` with the committed `path`, or write it when blessing.
fn check(path: &str, fresh: &[u8]) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("SVCDISCOVER_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&file, fresh).unwrap();
        return;
    }
    let committed = std::fs::read(&file).unwrap_or_default();
    assert!(
        committed == fresh,
        "{path} differs from what the command line generates now: regenerate it with `{REGENERATE}` and commit it"
    );
}

/// The committed scripts, by shell, under the names each shell looks for
/// (README.md, Install).
pub const SCRIPTS: [(&str, &str); 4] = [
    ("bash", "completions/kubectl-svcdiscover.bash"),
    ("zsh", "completions/_kubectl-svcdiscover"),
    ("fish", "completions/kubectl-svcdiscover.fish"),
    ("powershell", "completions/kubectl-svcdiscover.ps1"),
];

#[test]
fn the_completion_scripts_are_generated_from_the_command_line() {
    for (shell, path) in SCRIPTS {
        let out = cmd().args(["--completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        assert!(out.stderr.is_empty(), "{shell}: {out:?}");
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(text.contains("from-namespace"), "{shell}");
        check(path, &out.stdout);
    }
}

#[test]
fn the_completions_flag_needs_no_service_and_takes_nothing_else() {
    let out = cmd().args(["--completions", "zsh"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("#compdef kubectl-svcdiscover"));
    let out = cmd()
        .args(["--completions", "bash", "web"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cmd().args(["--completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_is_generated_from_the_command_line() {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .unwrap();
    let text = String::from_utf8_lossy(&page);
    assert!(text.contains("from\\-namespace"), "{text}");
    check("docs/kubectl-svcdiscover.1", &page);
}

/// The shim, with the binary on PATH as an install puts it, and no cluster.
fn shim(words: &[&str]) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = std::process::Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/kubectl_complete-svcdiscover"),
    )
    .args(words)
    .env("PATH", path)
    .env("KUBECONFIG", "/nonexistent/kubeconfig")
    .output()
    .unwrap();
    assert!(out.status.success(), "{words:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{words:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_shim_answers_in_cobras_protocol() {
    assert_eq!(
        shim(&["web", "-o", "j"]),
        "json\njunit\tJUnit XML for CI test reports (docs/ci.md)\n:4\n"
    );
    assert_eq!(
        shim(&["web", "--fail"]),
        "--fail-on\tWhich findings make the exit code 1: error, warning…\n:4\n"
    );
    // Without a cluster: only the directive, nothing on stderr.
    assert_eq!(shim(&[""]), ":4\n");
    assert_eq!(shim(&["web", "-n", ""]), ":4\n");
    assert_eq!(
        shim(&["--kubeconfig", "/nonexistent", "web", "--from", ""]),
        ":4\n"
    );
    // Files for a snapshot: the shell's default completion.
    assert_eq!(shim(&["web", "--snapshot", ""]), ":0\n");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn the_readmes_finding_links_lead_to_catalogue_entries() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue = std::fs::read_to_string(root.join("docs/findings.md")).unwrap();
    let anchors: Vec<String> = catalogue
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(slug)
        .collect();
    assert!(
        anchors.contains(&"dns-mismatch--error".to_owned()),
        "{anchors:?}"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let links: Vec<&str> = readme
        .split("docs/findings.md#")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap_or_default())
        .collect();
    assert!(links.len() >= 10, "{links:?}");
    for link in links {
        assert!(
            anchors.iter().any(|a| a == link),
            "README links docs/findings.md#{link}, which no heading of the catalogue has"
        );
    }
}
