//! One parsed name turned into the fields of an observed row.
//!
//! The application view (`getent ahosts`) decides whether the name
//! resolved and to which addresses; the per-candidate queries explain the
//! path (which absolute name answered, what each one got) and refine a
//! failure into NXDOMAIN, NODATA, SERVFAIL or timeout.

use super::parse::{GetentResult, ProbeOutput, Rcode, Tool, getent_result};
pub use crate::model::{Observed, ObservedCandidate, ObservedRcode, ObservedStatus, Via};

fn observed_rcode(r: &Rcode) -> Option<ObservedRcode> {
    Some(match r {
        Rcode::Noerror(_) => ObservedRcode::Noerror,
        Rcode::Nodata => ObservedRcode::Nodata,
        Rcode::Nxdomain => ObservedRcode::Nxdomain,
        Rcode::Servfail | Rcode::Other(_) => ObservedRcode::Servfail,
        Rcode::Timeout | Rcode::Unreachable(_) => ObservedRcode::Timeout,
        Rcode::Failed(..) => return None,
    })
}

/// The failure status the candidates explain: timeout before SERVFAIL
/// before NODATA before NXDOMAIN (the most telling one wins).
fn failure(cands: &[ObservedCandidate]) -> ObservedStatus {
    let any = |r| cands.iter().any(|c| c.rcode == r);
    if any(ObservedRcode::Timeout) {
        ObservedStatus::Timeout
    } else if any(ObservedRcode::Servfail) {
        ObservedStatus::Servfail
    } else if any(ObservedRcode::Nodata) {
        ObservedStatus::Nodata
    } else {
        ObservedStatus::Nxdomain
    }
}

/// The observed row fields for `typed`, or `None` if the probe did not
/// carry that name.
pub fn observe(out: &ProbeOutput, typed: &str, via: Via) -> Option<Observed> {
    let name = out.name(typed)?;
    let mut notes = out.resolver_notes();
    let mut candidates = Vec::new();
    let mut first_data: Option<(String, Vec<String>)> = None;
    for c in &name.candidates {
        let Some(rcode) = out.rcode(c) else { continue };
        match observed_rcode(&rcode) {
            Some(r) => candidates.push(ObservedCandidate {
                name: c.clone(),
                rcode: r,
            }),
            None => notes.push(format!("the query for {c} {}", rcode_text(&rcode))),
        }
        if let (None, Rcode::Noerror(addrs)) = (&first_data, &rcode) {
            first_data = Some((c.clone(), addrs.clone()));
        }
    }
    let answered_by_queries = first_data.as_ref().map(|(n, _)| n.clone());

    let (status, addresses, answered_by) = match &name.app {
        Some((Tool::Getent, run)) => match getent_result(run) {
            GetentResult::Found {
                addresses,
                canonical,
            } => {
                let by = answered_by_queries.clone().or_else(|| {
                    let abs = format!("{}.", canonical?);
                    name.candidates.contains(&abs).then_some(abs)
                });
                (ObservedStatus::Resolved, addresses, by)
            }
            GetentResult::NotFound => {
                if answered_by_queries.is_some() {
                    notes.push(
                        "getent found nothing although a candidate has data when asked alone"
                            .to_owned(),
                    );
                }
                (failure(&candidates), Vec::new(), None)
            }
            GetentResult::Failed(exit, line) => {
                notes.push(format!("getent failed (exit {}): {line}", exit_text(exit)));
                replayed(&candidates, first_data, out.is_musl(), &mut notes)
            }
        },
        Some((_, run)) => {
            // BusyBox nslookup is not what an application sees (its own
            // search rules): the status is replayed from the candidates, and
            // nslookup's view is kept as a note when it disagrees.
            let (status, addresses, by) =
                replayed(&candidates, first_data, out.is_musl(), &mut notes);
            let bb = super::parse::nslookup_rcode(run);
            let bb_resolves = matches!(bb, Rcode::Noerror(_));
            if bb_resolves != (status == ObservedStatus::Resolved) {
                notes.push(format!(
                    "BusyBox nslookup {typed} (its own search rules) says: {}",
                    rcode_text(&bb)
                ));
            }
            (status, addresses, by)
        }
        None => {
            notes.push("no getent: status replayed from the per-candidate answers".to_owned());
            replayed(&candidates, first_data, out.is_musl(), &mut notes)
        }
    };
    let mut addresses = addresses;
    sort_addresses(&mut addresses);
    Some(Observed {
        status,
        addresses,
        answered_by,
        candidates,
        via,
        resolver: out.resolver(),
        as_predicted: None,
        notes,
    })
}

/// Addresses in a stable order (numeric, IPv4 before IPv6): DNS servers
/// rotate the records of a headless Service between answers, and a report
/// says the same thing each time it is asked.
pub(super) fn sort_addresses(addresses: &mut [String]) {
    addresses.sort_by_cached_key(|a| (a.parse::<std::net::IpAddr>().ok(), a.clone()));
}

/// Without an application view: the resolver's search over the candidates.
/// glibc goes on past NXDOMAIN, NODATA, SERVFAIL and timeouts; musl stops at
/// the first answer that is not NXDOMAIN.
pub(super) fn replayed(
    cands: &[ObservedCandidate],
    first_data: Option<(String, Vec<String>)>,
    musl: bool,
    notes: &mut Vec<String>,
) -> (ObservedStatus, Vec<String>, Option<String>) {
    if cands.is_empty() {
        notes.push("no tool could resolve the name".to_owned());
        return (ObservedStatus::Error, Vec::new(), None);
    }
    if musl {
        let stop = cands
            .iter()
            .position(|c| c.rcode != ObservedRcode::Nxdomain);
        let data_at = first_data
            .as_ref()
            .and_then(|(n, _)| cands.iter().position(|c| &c.name == n));
        if let Some(stop) = stop
            && data_at != Some(stop)
        {
            return (failure(&cands[stop..=stop]), Vec::new(), None);
        }
    }
    match first_data {
        Some((by, addrs)) => (ObservedStatus::Resolved, addrs, Some(by)),
        None => (failure(cands), Vec::new(), None),
    }
}

fn rcode_text(r: &Rcode) -> String {
    match r {
        Rcode::Noerror(a) => format!("NOERROR {}", a.join(" ")),
        Rcode::Nodata => "NODATA".to_owned(),
        Rcode::Nxdomain => "NXDOMAIN".to_owned(),
        Rcode::Servfail => "SERVFAIL".to_owned(),
        Rcode::Other(code) => code.clone(),
        Rcode::Timeout => "timeout".to_owned(),
        Rcode::Unreachable(line) => format!("unreachable ({line})"),
        Rcode::Failed(exit, line) => format!("failed (exit {}): {line}", exit_text(*exit)),
    }
}

fn exit_text(exit: Option<i32>) -> String {
    exit.map_or_else(|| "unknown".to_owned(), |e| e.to_string())
}
