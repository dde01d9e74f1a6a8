//! Hostile snapshot input through the binary: a 100 MB capture, nesting
//! 100,000 levels deep, truncated JSON and YAML. Each ends in a report or in
//! an input error (exit 2) naming the file and, for a parse error, the
//! line and column; never a panic or a stack overflow.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::fixtures::*;

fn run_file(path: &Path, args: &[&str]) -> Run {
    let out = cmd()
        .args(args)
        .arg("--snapshot")
        .arg(path)
        .args(["-o", "json"])
        .output()
        .unwrap();
    Run::from_output(out)
}

/// The `line L, column C` of an input error, as the message gives it.
fn position(stderr: &str) -> Option<(usize, usize)> {
    let (_, rest) = stderr.split_once(" at line ")?;
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

fn assert_input_error(run: &Run, file: &Path, context: &str) {
    assert_eq!(run.code, 2, "{context}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{context}");
    assert!(
        run.stderr.starts_with("error: malformed snapshot ")
            && run.stderr.contains(&file.display().to_string()),
        "{context}: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("overflow"),
        "{context}: {}",
        run.stderr
    );
}

const MB: u64 = 1_000_000;

/// Write a 100 MB capture: the bundled example, then pods of namespace
/// `bulk` (copies of a pay-v1 pod, renamed and relabelled so that no
/// Service selects them) until the file holds 100 MB.
fn write_100_mb(path: &Path) -> u64 {
    let s = scenario();
    let template = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| is(o, "Pod", "default", "pay-v1"))
        .unwrap()
        .clone();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{},\"items\":[")
        .unwrap();
    let mut written = 0u64;
    for (i, o) in s["items"].as_array().unwrap().iter().enumerate() {
        if i > 0 {
            f.write_all(b",").unwrap();
        }
        let b = serde_json::to_vec(o).unwrap();
        written += b.len() as u64 + 1;
        f.write_all(&b).unwrap();
    }
    let mut n = 0;
    while written < 100 * MB {
        let mut p = template.clone();
        p["metadata"]["namespace"] = json!("bulk");
        p["metadata"]["name"] = json!(format!("bulk-{n:06}"));
        p["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{n:012}"));
        p["metadata"]["labels"] = json!({"app": "bulk"});
        let b = serde_json::to_vec(&p).unwrap();
        f.write_all(b",").unwrap();
        f.write_all(&b).unwrap();
        written += b.len() as u64 + 1;
        n += 1;
    }
    f.write_all(b"]}\n").unwrap();
    f.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Peak resident memory of one run in KiB, by `/usr/bin/time` (GNU time),
/// and the run itself.
fn with_peak_rss(path: &Path, args: &[&str]) -> (Run, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("no /usr/bin/time: peak memory not measured");
        return (run_file(path, args), None);
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("rss");
    let out = std::process::Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_kubectl-svcdiscover"))
        .args(args)
        .arg("--snapshot")
        .arg(path)
        .args(["-o", "json"])
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let kib = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| t.lines().last()?.trim().parse().ok());
    (Run::from_output(out), kib)
}

#[test]
fn a_100_mb_snapshot_reads_within_bounded_memory_or_is_refused_by_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.json");
    let size = write_100_mb(&p);
    assert!(size >= 100 * MB, "{size}");

    // Under the default limit (512 MiB) it is read whole and diagnosed as
    // the bundled example is: the bulk pods are in a namespace of their own.
    let (run, peak) = with_peak_rss(&p, &["service-pay-v1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let big = run.json();
    let (code, small) = diagnose(&scenario(), &["service-pay-v1"]);
    assert_eq!(code, 0);
    assert_eq!(big["verdict"], small["verdict"]);
    assert_eq!(codes(&big), codes(&small));
    assert_eq!(big["backends"], small["backends"]);
    if let Some(kib) = peak {
        // Bounded: the file is held once, the objects are decoded from it
        // without a second full tree; 4 times the input leaves room for the
        // model of 36,000 pods, not for a copy per stage.
        eprintln!("peak RSS for a {size}-byte snapshot: {kib} KiB");
        assert!(
            kib * 1024 < 4 * size,
            "peak RSS {kib} KiB for a {size}-byte snapshot"
        );
    }

    // Under a lower limit it is refused before it is read, naming the file,
    // its size and the limit.
    let run = run_file(&p, &["service-pay-v1", "--max-snapshot-size", "64MiB"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with(&format!(
            "error: snapshot {} is {:.1} MiB, over the 64 MiB limit; raise the limit with --max-snapshot-size",
            p.display(),
            size as f64 / (1024.0 * 1024.0)
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn json_nested_100000_deep_is_an_input_error_with_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let deep = 100_000;
    let cases = [
        ("open-arrays.json", "[".repeat(deep)),
        (
            "closed-arrays.json",
            format!("{}{}", "[".repeat(deep), "]".repeat(deep)),
        ),
        ("objects.json", "{\"a\":".repeat(deep)),
    ];
    for (name, text) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &text).unwrap();
        let run = run_file(&p, &["x"]);
        assert_input_error(&run, &p, name);
        let (line, column) =
            position(&run.stderr).unwrap_or_else(|| panic!("{name}: {}", run.stderr));
        assert!(
            line >= 1 && line <= text.lines().count() && column >= 1,
            "{name}: {}",
            run.stderr
        );
    }

    // Inside an object, the nesting is that object's field: the object is
    // skipped and named, as any object that does not match the API.
    let p = dir.path().join("in-an-object.json");
    let text = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n \"metadata\": {{\"name\": \"deep\", \"namespace\": \"default\", \"labels\": {}1{}}}}}\n",
        "[".repeat(deep),
        "]".repeat(deep)
    );
    std::fs::write(&p, text).unwrap();
    let run = run_file(&p, &["deep"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let skipped = run.json()["not_checked"].to_string();
    assert!(skipped.contains("read Service default/deep"), "{skipped}");
}

#[test]
fn yaml_nested_100000_deep_is_an_input_error_with_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let deep = 100_000;
    let block_map: String = (0..deep)
        .map(|i| format!("{}a:\n", " ".repeat(i % 2000)))
        .collect();
    let cases = [
        (
            "sequences.yaml",
            format!("kind: Pod\nitems:\n{}x\n", "- ".repeat(deep)),
        ),
        (
            "flow.yaml",
            format!("kind: Pod\nmetadata: {}\n", "[".repeat(deep)),
        ),
        (
            "flow-maps.yaml",
            format!("kind: Pod\nmetadata: {}\n", "{a: ".repeat(deep)),
        ),
        ("block-maps.yaml", format!("kind: Pod\nspec:\n{block_map}")),
    ];
    for (name, text) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &text).unwrap();
        let run = run_file(&p, &["x"]);
        assert_input_error(&run, &p, name);
        assert!(
            run.stderr.contains("YAML nested more than 64 levels deep")
                || run.stderr.contains("recursion limit exceeded"),
            "{name}: {}",
            run.stderr
        );
        let (line, column) =
            position(&run.stderr).unwrap_or_else(|| panic!("{name}: {}", run.stderr));
        assert!(
            line >= 1 && line <= text.lines().count() && column >= 1,
            "{name}: {}",
            run.stderr
        );
    }
}

/// Lines of `text`, counting a last line without its newline; a lone
/// `\r` breaks a line too, as in YAML.
fn line_count(text: &str) -> usize {
    text.replace("\r\n", "\n").split(['\n', '\r']).count()
}

#[test]
fn truncated_json_is_an_input_error_at_its_end() {
    // kubectl's pretty JSON cut anywhere inside the top-level value: the
    // error is at the end of what is left, on its last line.
    let text = serde_json::to_string_pretty(&scenario()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for i in 1..25 {
        let cut = &text[..text.len() * i / 25];
        let p = dir.path().join(format!("cut-{i}.json"));
        std::fs::write(&p, cut).unwrap();
        let run = run_file(&p, &["service-v4"]);
        assert_input_error(&run, &p, &format!("cut {i}"));
        let (line, column) =
            position(&run.stderr).unwrap_or_else(|| panic!("cut {i}: {}", run.stderr));
        assert_eq!(line, line_count(cut), "cut {i}: {}", run.stderr);
        assert!(column >= 1, "cut {i}: {}", run.stderr);
    }
}

#[test]
fn truncated_yaml_is_an_input_error_with_file_line_and_column() {
    // YAML cut at a line end is still YAML (what it holds is read, a cut
    // object skipped and named); cut inside a quoted scalar or a flow
    // collection it is not, and the error gives the file and a position.
    let pod: Value = scenario()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| is(o, "Pod", "default", "pay-v1"))
        .unwrap()
        .clone();
    let yaml = serde_saphyr::to_string(&pod).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "quoted.yaml",
            format!("{yaml}---\nkind: Pod\nmetadata:\n  name: \"cut-her"),
        ),
        (
            "flow.yaml",
            format!("{yaml}---\nkind: Pod\nmetadata: {{name: cut, labels: {{app: pay"),
        ),
        (
            "sequence.yaml",
            format!("{yaml}---\nkind: Pod\nspec:\n  containers: [{{name: a}}, {{name: b"),
        ),
    ];
    for (name, text) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &text).unwrap();
        let run = run_file(&p, &["service-pay-v1"]);
        assert_input_error(&run, &p, name);
        let (line, column) =
            position(&run.stderr).unwrap_or_else(|| panic!("{name}: {}", run.stderr));
        let lines = line_count(&text);
        assert!(
            line + 3 >= lines && line <= lines && column >= 1,
            "{name}: {lines} lines: {}",
            run.stderr
        );
    }
}

#[test]
fn inputs_the_fuzzers_found_end_in_a_report_or_an_input_error_with_a_position() {
    // tests/fuzz/artifacts/snapshot: inputs that once broke an invariant
    // of the snapshot fuzz target (docs/testing.md), replayed here.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/artifacts/snapshot");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no input under {}", dir.display());
    for p in inputs {
        let run = run_file(&p, &["service-v4"]);
        let context = p.display().to_string();
        assert!(matches!(run.code, 0..=3), "{context}: {}", run.stderr);
        assert!(
            !run.stderr.contains("panicked"),
            "{context}: {}",
            run.stderr
        );
        if run.code == 2 {
            assert!(run.stderr.contains(&context), "{context}: {}", run.stderr);
            if let Some((line, column)) = position(&run.stderr) {
                let lines = line_count(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
                assert!(
                    line >= 1 && line <= lines && column >= 1,
                    "{context}: {}",
                    run.stderr
                );
            }
        }
    }
}
