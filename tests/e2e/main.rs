//! End-to-end tests: the built binary against the real mini cluster
//! (kube-apiserver, controllers, kwok, CoreDNS) that `tests/run` starts.
//!
//! They need the environment `tests/run` exports (SVCDISCOVER_E2E_*) and
//! must run inside the cluster's network namespace. Without it they fail in
//! CI and are reported as ignored (never as passed) elsewhere.
//!
//! The harness is libtest-mimic (`harness = false`): it can mark a test
//! ignored at run time, which the standard harness cannot. Each module lists
//! its tests in `TESTS`; filters work as with `cargo test` (`… --test e2e dns`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests state expectations with unwrap

mod access;
mod capture;
mod cluster;
mod complete;
mod connect;
mod diagnose;
mod dns;
mod faults;
#[path = "../common/fix.rs"]
mod fix;
mod fixes;
mod local;
mod negative;
mod netpol;
mod partial;
mod probe;
mod rbac_sa;
#[path = "../common/run.rs"]
mod run;
mod scale;
mod scan_probe;
mod scope;
mod wait;
#[path = "../common/junit.rs"]
mod xsd;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let cluster = cluster::cluster();
    let missing = cluster.is_err();
    let modules: [(&str, &[cluster::Test]); 18] = [
        ("access", access::TESTS),
        ("capture", capture::TESTS),
        ("complete", complete::TESTS),
        ("connect", connect::TESTS),
        ("diagnose", diagnose::TESTS),
        ("dns", dns::TESTS),
        ("faults", faults::TESTS),
        ("fixes", fixes::TESTS),
        ("local", local::TESTS),
        ("negative", negative::TESTS),
        ("netpol", netpol::TESTS),
        ("partial", partial::TESTS),
        ("probe", probe::TESTS),
        ("rbac_sa", rbac_sa::TESTS),
        ("scale", scale::TESTS),
        ("scan_probe", scan_probe::TESTS),
        ("scope", scope::TESTS),
        ("wait", wait::TESTS),
    ];
    let shared = std::sync::Arc::new(cluster);
    let mut trials = Vec::new();
    for (module, tests) in modules {
        for &(name, test) in tests {
            let c = std::sync::Arc::clone(&shared);
            // A test that stops CoreDNS takes cluster::DNS for writing itself.
            let pauses_dns = module == "probe" && probe::PAUSES_DNS.contains(&name);
            trials.push(
                Trial::test(format!("{module}::{name}"), move || match c.as_ref() {
                    Ok(c) => {
                        let _dns = (!pauses_dns)
                            .then(|| cluster::DNS.read().unwrap_or_else(|e| e.into_inner()));
                        let _pausers = pauses_dns
                            .then(|| cluster::PAUSERS.lock().unwrap_or_else(|e| e.into_inner()));
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(c)))
                            .map_err(|p| Failed::from(panic_text(&p)))
                    }
                    Err(why) => Err(Failed::from(why.clone())),
                })
                // Outside CI a missing cluster skips (reported as ignored).
                .with_ignored_flag(missing && std::env::var_os("CI").is_none()),
            );
        }
    }
    // The final grep's own check: it finds what it looks for.
    trials.push(Trial::test(
        "harness::the_final_grep_finds_a_planted_secret",
        || {
            let secrets = [(
                "a token".to_owned(),
                "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0".to_owned(),
            )];
            let outputs = [
                "error: nothing to see".to_owned(),
                "debug: sent eyJhbGciOiJSUzI1NiJ9.c2VjcmV0 along".to_owned(),
                "trace: Authorization: ***".to_owned(),
            ];
            let found = leaks(&outputs, &secrets);
            if found
                == [
                    "a token in the output of run #1".to_owned(),
                    "`authorization:` in the output of run #2".to_owned(),
                ]
            {
                Ok(())
            } else {
                Err(Failed::from(format!("{found:?}")))
            }
        },
    ));
    if let Err(why) = shared.as_ref() {
        eprintln!("e2e: {why}");
    }
    run::record_all();
    let conclusion = libtest_mimic::run(&args, trials);
    // Every output of the suite, grepped for the cluster's credentials.
    if let Ok(c) = shared.as_ref() {
        let leaks = leaks(&run::recorded(), &rbac_sa::secrets(c));
        if !leaks.is_empty() {
            eprintln!("e2e: credentials in the output of runs:");
            for l in &leaks {
                eprintln!("  {l}");
            }
            std::process::exit(101);
        }
        eprintln!(
            "e2e: no credential in the output of {} runs",
            run::recorded().len()
        );
    }
    conclusion.exit();
}

/// Which secret appears in which kept output (by index; never the secret).
fn leaks(outputs: &[String], secrets: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, out) in outputs.iter().enumerate() {
        let lower = out.to_lowercase();
        for (what, secret) in secrets {
            if out.contains(secret.as_str()) {
                found.push(format!("{what} in the output of run #{i}"));
            }
        }
        for header in ["authorization:", "bearer "] {
            if lower.contains(header) {
                found.push(format!("`{header}` in the output of run #{i}"));
            }
        }
    }
    found
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "the test panicked".to_owned())
}
