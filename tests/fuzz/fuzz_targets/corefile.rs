//! The Corefile reader (src/analysis/corefile.rs), which never fails.
//!
//! Invariants: no panic; zones never end with a dot; the `pods` mode is a
//! word; the cluster domain is one of the zones and not a reverse zone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcdiscover::analysis::Corefile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let c = Corefile::parse(text);
    assert!(!c.pods.is_empty() && !c.pods.contains(char::is_whitespace));
    for z in &c.kubernetes_zones {
        assert!(!z.ends_with('.'), "zone {z:?}");
    }
    if let Some(d) = c.cluster_domain() {
        assert!(c.kubernetes_zones.iter().any(|z| z == d));
        assert!(!d.is_empty() && !d.ends_with("in-addr.arpa") && !d.ends_with("ip6.arpa"));
    }
});
