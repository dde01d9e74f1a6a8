//! A small mutation fuzzer of the snapshot reader, with a fixed budget and
//! seed: valid inputs (the bundled example, JSON, YAML, a dump stream, a
//! cluster-wide List) are flipped, cut, duplicated, spliced and nested, then
//! read and diagnosed in-process (the function the binary reads with) and,
//! for a sample, through the binary. Nothing may panic or hang; the binary
//! exits 0-3 without Rust debug text. A failing input is written to
//! `target/fuzz-failures/` to replay it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use svcdiscover::analysis::{self, Options, Target};
use svcdiscover::source::snapshot;

use crate::fixtures::*;

/// Inputs read and diagnosed in-process.
const IN_PROCESS: usize = 3000;
/// Of which this many also go through the binary.
const THROUGH_BINARY: usize = 250;
/// An input that takes this long has hung (an endless loop, a blow-up):
/// a guard against hangs, far above any real cost, not a performance
/// limit (speed is measured by the benchmarks, tests/bench).
const HANG: Duration = Duration::from_secs(120);

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// A small capture: the objects of `service-v4` and cluster DNS, without
/// managedFields (the bundled example is used whole as well).
fn small(s: &Value) -> Vec<Value> {
    s["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            let name = o["metadata"]["name"].as_str().unwrap_or("");
            o["kind"] == "Namespace"
                || o["metadata"]["namespace"] == "kube-system"
                || name.starts_with("v4")
                || name.starts_with("service-v4")
        })
        .map(|o| {
            let mut o = o.clone();
            o["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("managedFields");
            o
        })
        .collect()
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let s = scenario();
    let objs = small(&s);
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objs});
    // The YAML reader is the slowest in debug builds: fewer objects there.
    let yaml = objs
        .iter()
        .filter(|o| o["kind"] != "Event" && o["kind"] != "Namespace")
        .map(|o| serde_saphyr::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("---\n");
    let mut dump = String::new();
    for kind in ["Service", "Pod", "EndpointSlice", "Event", "ConfigMap"] {
        let items: Vec<Value> = objs
            .iter()
            .filter(|o| o["kind"] == kind)
            .map(|o| {
                let mut o = o.clone();
                o.as_object_mut().unwrap().remove("kind");
                o
            })
            .collect();
        let typed = json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": {}, "items": items});
        dump.push_str(&serde_json::to_string_pretty(&typed).unwrap());
        dump.push_str("\n==== START logs for container app of pod default/v4 ====\nlog line {\n==== END logs for container app of pod default/v4 ====\n");
    }
    // Cluster-wide: one run per kind.
    let mut wide = objs.clone();
    wide.sort_by_key(|o| o["kind"].as_str().unwrap_or("").to_owned());
    let wide = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": wide});
    vec![
        (
            "bundled example",
            std::fs::read(fixture_path("scenario.json")).unwrap(),
        ),
        ("JSON List", serde_json::to_vec_pretty(&list).unwrap()),
        ("YAML documents", yaml.into_bytes()),
        ("dump stream", dump.into_bytes()),
        ("cluster-wide List", serde_json::to_vec(&wide).unwrap()),
    ]
}

const INTERESTING: &[u8] = b"{}[]\",:-\n #&*!|>'\\0123456789aZ\x00\xff";

/// One mutation of `input`; returns its name.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) -> &'static str {
    let len = input.len().max(1);
    match rng.below(8) {
        0 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(input.len());
                if let Some(b) = input.get_mut(at) {
                    *b = if rng.below(2) == 0 {
                        INTERESTING[rng.below(INTERESTING.len())]
                    } else {
                        rng.next() as u8
                    };
                }
            }
            "byte flips"
        }
        1 => {
            input.truncate(rng.below(len));
            "truncation"
        }
        2 => {
            let from = rng.below(len);
            let to = (from + rng.below(4096)).min(input.len());
            let chunk = input[from.min(to)..to].to_vec();
            let at = rng.below(input.len() + 1);
            input.splice(at..at, chunk);
            "duplication"
        }
        3 => {
            let from = rng.below(other.len().max(1));
            let to = (from + rng.below(8192)).min(other.len());
            let at = rng.below(input.len() + 1);
            let cut = (at + rng.below(4096)).min(input.len());
            input.splice(at..cut, other[from.min(to)..to].iter().copied());
            "splicing"
        }
        4 => {
            let depth = 1 + rng.below(20_000);
            let open: &[u8] = match rng.below(4) {
                0 => b"[",
                1 => b"{\"a\":",
                2 => b"- ",
                _ => b"\n  a: ",
            };
            let at = rng.below(input.len() + 1);
            let nested: Vec<u8> = open.repeat(depth);
            input.splice(at..at, nested);
            "deep nesting"
        }
        5 => {
            // A number where a string is expected, or the reverse.
            let at = rng.below(input.len());
            let end = (at + 1 + rng.below(12)).min(input.len());
            let with: &[u8] = match rng.below(4) {
                0 => b"\"eighty\"",
                1 => b"80",
                2 => b"null",
                _ => b"{}",
            };
            input.splice(at.min(end)..end, with.iter().copied());
            "type change"
        }
        6 => {
            let text: &[u8] = match rng.below(4) {
                0 => b"error: You must be logged in to the server (Unauthorized)\n",
                1 => b"No resources found in default namespace.\n",
                2 => b"NAME   READY   STATUS    RESTARTS   AGE\n",
                _ => b"---\n",
            };
            let at = if rng.below(2) == 0 {
                0
            } else {
                rng.below(input.len() + 1)
            };
            input.splice(at..at, text.iter().copied());
            "kubectl text"
        }
        _ => {
            // Several mutations at once.
            let a = rng.below(input.len() + 1);
            input.truncate(a.max(input.len() / 2));
            let at = rng.below(input.len());
            if let Some(b) = input.get_mut(at) {
                *b = INTERESTING[rng.below(INTERESTING.len())];
            }
            input.extend_from_slice(&other[..other.len().min(rng.below(2048))]);
            "truncation, flip and splice"
        }
    }
}

/// Patterns of Rust debug output and panics that no message may hold.
const DEBUG_TEXT: &[&str] = &[
    "panicked", "Some(", "Error {", "Error(", "Path {", "Value::",
];

fn assert_clean(what: &str, text: &str, context: &str) {
    for p in DEBUG_TEXT {
        assert!(!text.contains(p), "{context}: {what} holds {p:?}: {text}");
    }
}

fn save_failure(n: usize, input: &[u8]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("input-{n}"));
    let _ = std::fs::write(&p, input);
    p.display().to_string()
}

#[test]
fn mutated_snapshots_never_panic_hang_or_print_debug_text() {
    let seeds = seeds();
    let targets = [
        Target {
            namespace: "default".into(),
            name: "service-v4".into(),
        },
        Target {
            namespace: "default".into(),
            name: "service-pay-v1".into(),
        },
    ];
    let opts = Options::default();
    let mut rng = Rng(0x5EED_5EED_0BAD_CAFE);
    let mut sampled: Vec<(usize, String, Vec<u8>)> = Vec::new();
    let (mut read, mut refused) = (0usize, 0usize);
    for n in 0..IN_PROCESS {
        // The bundled example is large: one input in eight starts from it.
        let pick = if rng.below(8) == 0 {
            0
        } else {
            1 + rng.below(seeds.len() - 1)
        };
        let (seed_name, seed) = &seeds[pick];
        let other = &seeds[rng.below(seeds.len())].1;
        let mut input = seed.clone();
        let mut applied = Vec::new();
        for _ in 0..=rng.below(3) {
            applied.push(mutate(&mut rng, &mut input, other));
        }
        let context = format!("input {n} ({seed_name}: {})", applied.join(", "));
        if std::env::var_os("SVCDISCOVER_FUZZ_TRACE").is_some() {
            // A stack overflow aborts the process: this names the input.
            eprintln!("{context}: saved as {}", save_failure(n, &input));
        }
        let t = Instant::now();
        let bytes = input.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            match snapshot::from_bytes(Path::new("fuzz.json"), bytes) {
                Ok(state) => {
                    let mut texts = Vec::new();
                    for target in &targets {
                        let r = analysis::diagnose(&state, target, &opts);
                        texts.push(serde_json::to_string(&r.not_checked).unwrap_or_default());
                    }
                    Ok(texts)
                }
                Err(e) => Err(e.to_string()),
            }
        }));
        let elapsed = t.elapsed();
        match outcome {
            Ok(Ok(texts)) => {
                read += 1;
                for t in texts {
                    assert_clean("not_checked", &t, &context);
                }
            }
            Ok(Err(msg)) => {
                refused += 1;
                assert_clean("the error", &msg, &context);
            }
            Err(_) => panic!("{context} panicked; saved as {}", save_failure(n, &input)),
        }
        assert!(
            elapsed < HANG,
            "{context} hung ({elapsed:?}); saved as {}",
            save_failure(n, &input)
        );
        if n % (IN_PROCESS / THROUGH_BINARY) == 0 {
            sampled.push((n, context, input));
        }
    }
    assert!(
        read > 100 && refused > 100,
        "read {read}, refused {refused}"
    );

    let dir = tempfile::tempdir().unwrap();
    for (n, context, input) in &sampled {
        let p = dir.path().join(format!("input-{n}.json"));
        std::fs::write(&p, input).unwrap();
        let out = cmd()
            .args(["service-v4", "--snapshot"])
            .arg(&p)
            .args(["-o", "json"])
            .timeout(HANG)
            .output()
            .unwrap();
        let run = Run::from_output(out);
        assert!(
            matches!(run.code, 0..=3),
            "{context}: exit {}; saved as {}\n{}",
            run.code,
            save_failure(*n, input),
            run.stderr
        );
        assert_clean("stderr", &run.stderr, context);
        if run.code == 2 {
            assert!(run.stdout.is_empty(), "{context}");
            assert!(
                run.stderr.starts_with("error: "),
                "{context}: {}",
                run.stderr
            );
        } else {
            validate(&run.json());
        }
    }
}
