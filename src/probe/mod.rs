//! The in-cluster DNS probe: the POSIX sh script the tool execs into a
//! probe container ([`script`]), the parser of what it prints ([`parse`]),
//! and the turn of one parsed name into an observed row ([`observe`]).
//! [`local`] observes without a pod: it asks CoreDNS itself through a
//! port-forward and fills the same rows.
//!
//! Cluster I/O: the probe Job ([`job`]), the port-forward of [`local`], and
//! running a plan's views ([`run`]); what to ask and how to judge the
//! answers is `analysis`'s.
//!
//! # Who parses what
//! The script only *frames*: it copies each tool's output line by line as
//! `…<TAB>out<TAB><raw line>` records and adds the tool's exit status as a
//! `…<TAB>exit<TAB><n>` record. All interpretation (resolv.conf, `getent
//! ahosts` columns, dig's `status:` and ANSWER section, BusyBox nslookup's
//! `can't find` lines) happens in Rust, because:
//! - sh/awk differ between dash, BusyBox ash and old images, while the
//!   framing loop (`read -r`, `printf '%s'`) is the same everywhere;
//! - the raw lines are what the parser's unit tests are written against,
//!   captured from the real tools (tests/fixtures/probe/), so a change of
//!   tool output shows up as a failing test rather than a silent `awk`
//!   mismatch inside a cluster;
//! - error forms (timeout, connection refused, usage errors) are told apart
//!   from the exit status plus the text, which is easier to keep correct in
//!   one typed place.

pub mod job;
pub mod local;
pub mod observe;
pub mod parse;
pub mod run;
pub mod script;

pub use local::{
    LocalAnswer, LocalError, LocalName, LocalObservation, resolve_local, resolve_local_many,
};
pub use observe::observe;
pub use parse::{Connect, ParseError, ProbeOutput, Rcode, ResolverSeen, parse, parse_partial};
pub use script::{
    ProbeRequest, RequestError, TypedName, check_address, check_name, script, wildcard_checks,
};

/// Shows a line in an error message: control characters escaped, at most
/// 120 characters.
pub(crate) fn show(text: &str) -> String {
    let mut s: String = text
        .chars()
        .take(120)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if text.chars().count() > 120 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests;
