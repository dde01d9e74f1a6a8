//! The probe-output parsers (src/probe/parse.rs): the framing parser, in
//! full and cut-short mode, and the interpreters of raw tool output (dig,
//! BusyBox nslookup, getent) and of resolv.conf.
//!
//! Invariants: no panic; an output that parses whole parses the same when
//! read as cut short; every interpretation of what parsed runs and its
//! error message renders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcdiscover::probe::parse::{self, Run};

fuzz_target!(|data: &[u8]| {
    // The probe's output is read as text, lossily (as the runner reads it).
    let text = String::from_utf8_lossy(data);

    let whole = parse::parse(&text);
    let partial = parse::parse_partial(&text);
    match &whole {
        Ok(out) => {
            assert_eq!(
                partial.as_ref().ok(),
                Some(out),
                "complete output read as cut short"
            );
            let _ = out.resolver();
            let _ = out.wildcard_hits();
            let _ = out.resolver_notes();
            for name in &out.names {
                let _ = out.name(&name.typed);
                for c in &name.candidates {
                    let _ = out.rcode(c);
                }
                if let Some((_, run)) = &name.app {
                    let _ = parse::getent_result(run);
                    let _ = parse::nslookup_rcode(run);
                }
            }
            for name in out.queries.keys() {
                let _ = out.rcode(name);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(out) = &partial {
        let _ = out.resolver();
        let _ = out.wildcard_hits();
    }

    // The same bytes as one tool's raw output lines, with an exit status
    // taken from the first byte, and as resolv.conf lines.
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let exit = data
        .first()
        .map(|b| i32::from(*b % 12) - 1)
        .filter(|c| *c >= 0);
    let run = Run { lines, exit };
    let _ = parse::dig_rcode(&run);
    let _ = parse::nslookup_rcode(&run);
    let _ = parse::getent_result(&run);
    let seen = parse::resolver_seen(
        &run.lines,
        run.lines.first().map(String::as_str),
        run.lines.last().map(String::as_str),
        data.len().is_multiple_of(2),
    );
    assert!(
        seen.nameservers.len() <= 3,
        "glibc reads at most 3 nameservers"
    );
    assert!(seen.ndots <= 15, "ndots is capped at 15");
});
