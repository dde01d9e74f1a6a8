//! Small wording helpers shared by the checks.

/// `10.0.0.1, 10.0.0.2` or `no address`.
pub fn join_addrs(addrs: &[String]) -> String {
    if addrs.is_empty() {
        "no address".to_owned()
    } else {
        addrs.join(", ")
    }
}

/// `kubectl create service`'s ` --tcp=PORT:TARGET` flags for a Service's TCP
/// ports (numeric target ports only: a named targetPort keeps the port).
pub fn tcp_flags(svc: &crate::model::Service) -> String {
    svc.ports
        .iter()
        .filter(|p| p.protocol.eq_ignore_ascii_case("TCP"))
        .map(|p| match &p.target_port {
            crate::model::TargetPort::Number(t) => format!(" --tcp={}:{t}", p.port),
            crate::model::TargetPort::Name(_) => format!(" --tcp={}", p.port),
        })
        .collect()
}

/// Levenshtein distance, for "did you mean" hints on short names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Whether `candidate` looks like a typo of `wanted`.
pub fn is_close(wanted: &str, candidate: &str) -> bool {
    if wanted == candidate {
        return false;
    }
    let limit = (wanted.len() / 4).clamp(1, 3);
    edit_distance(wanted, candidate) <= limit
        || (wanted.len() >= 4
            && (candidate.contains(wanted) || wanted.contains(candidate))
            && candidate.len() >= 3)
}

/// `k=v,k2=v2`
pub fn selector(sel: &std::collections::BTreeMap<String, String>) -> String {
    crate::model::selector_string(sel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("service-pay-v1", "service-pay-v2"), 1);
        assert_eq!(edit_distance("pay", "pya"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn close_names_catch_typos_and_affixes_but_not_strangers() {
        assert!(is_close("service-pay-v1", "service-pay-v2"));
        assert!(is_close("service-pay", "service-pay-v1"));
        assert!(!is_close("service-pay-v1", "service-user-v1x"));
        assert!(!is_close("pay", "pay"));
    }
}
