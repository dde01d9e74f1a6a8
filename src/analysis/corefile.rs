//! A small reader for the parts of a Corefile the diagnosis needs: the
//! `kubernetes` plugin's zones and `pods` mode, `forward`, `loop`.

/// What the diagnosis reads from a Corefile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corefile {
    /// Zones of every `kubernetes` plugin block, in order.
    pub kubernetes_zones: Vec<String>,
    /// The `pods` option (`disabled`, `insecure`, `verified`); `disabled` when absent.
    pub pods: String,
    /// Upstreams of every `forward` directive.
    pub forward: Vec<String>,
    pub loop_plugin: bool,
}

impl Corefile {
    /// Parse a Corefile's text. Unknown directives are ignored; it never fails.
    pub fn parse(text: &str) -> Corefile {
        let mut out = Corefile {
            pods: "disabled".to_owned(),
            ..Corefile::default()
        };
        // Tokenise: strip comments, make braces their own tokens, keep line ends.
        let mut depth = 0usize;
        let mut in_kubernetes_at: Option<usize> = None;
        // Zones of the current server block (`cluster.local:53 {`), which a
        // `kubernetes` line without zones of its own inherits.
        let mut block_zones: Vec<String> = Vec::new();
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or_default();
            let spaced = line.replace('{', " { ").replace('}', " } ");
            let tokens: Vec<&str> = spaced.split_whitespace().collect();
            let Some(&first) = tokens.first() else {
                continue;
            };
            let args: Vec<&str> = tokens[1..]
                .iter()
                .copied()
                .filter(|t| *t != "{" && *t != "}")
                .collect();
            if depth == 0 {
                block_zones = tokens
                    .iter()
                    .take_while(|t| **t != "{")
                    .map(|key| {
                        let key = key.split_once("://").map_or(*key, |(_, rest)| rest);
                        let zone = key.rsplit_once(':').map_or(key, |(zone, _port)| zone);
                        zone.trim_end_matches('.').to_owned()
                    })
                    .filter(|z| !z.is_empty())
                    .collect();
            } else if depth == 1 {
                match first {
                    "kubernetes" if args.is_empty() => {
                        out.kubernetes_zones.extend(block_zones.iter().cloned());
                        if tokens.contains(&"{") {
                            in_kubernetes_at = Some(depth + 1);
                        }
                    }
                    "kubernetes" => {
                        out.kubernetes_zones
                            .extend(args.iter().map(|z| z.trim_end_matches('.').to_owned()));
                        if tokens.contains(&"{") {
                            in_kubernetes_at = Some(depth + 1);
                        }
                    }
                    "forward" => out
                        .forward
                        .extend(args.iter().skip(1).map(|s| (*s).to_owned())),
                    "loop" => out.loop_plugin = true,
                    _ => {}
                }
            } else if in_kubernetes_at == Some(depth)
                && first == "pods"
                && let Some(mode) = args.first()
            {
                out.pods = (*mode).to_owned();
            }
            for t in &tokens {
                match *t {
                    "{" => depth += 1,
                    "}" => {
                        depth = depth.saturating_sub(1);
                        if in_kubernetes_at.is_some_and(|d| depth < d) {
                            in_kubernetes_at = None;
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// The cluster domain: the first `kubernetes` zone that is not a reverse
    /// zone (nor the root, which no cluster domain is).
    pub fn cluster_domain(&self) -> Option<&str> {
        self.kubernetes_zones.iter().map(String::as_str).find(|z| {
            !z.is_empty() && *z != "." && !z.ends_with("in-addr.arpa") && !z.ends_with("ip6.arpa")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBEADM: &str = r#".:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"#;

    #[test]
    fn reads_the_kubeadm_corefile() {
        let c = Corefile::parse(KUBEADM);
        assert_eq!(
            c.kubernetes_zones,
            ["cluster.local", "in-addr.arpa", "ip6.arpa"]
        );
        assert_eq!(c.cluster_domain(), Some("cluster.local"));
        assert_eq!(c.pods, "insecure");
        assert_eq!(c.forward, ["/etc/resolv.conf"]);
        assert!(c.loop_plugin);
    }

    #[test]
    fn custom_domain_comments_and_missing_plugin() {
        let c = Corefile::parse(
            "# kubernetes bogus.example\n.:53 {\n  kubernetes corp.example. {\n  }\n  forward . 10.0.0.53 10.0.0.54\n}\n",
        );
        assert_eq!(c.cluster_domain(), Some("corp.example"));
        assert_eq!(c.pods, "disabled");
        assert_eq!(c.forward, ["10.0.0.53", "10.0.0.54"]);
        assert!(!c.loop_plugin);

        let none = Corefile::parse(".:53 {\n  forward . 8.8.8.8\n}\n");
        assert_eq!(none.cluster_domain(), None);
        assert!(none.kubernetes_zones.is_empty());
    }

    #[test]
    fn a_kubernetes_line_without_zones_serves_its_server_block_zones() {
        let c = Corefile::parse(
            "cluster.local:53 in-addr.arpa:53 {\n  kubernetes {\n    pods verified\n  }\n}\n.:53 {\n  forward . 10.0.0.53\n}\n",
        );
        assert_eq!(c.kubernetes_zones, ["cluster.local", "in-addr.arpa"]);
        assert_eq!(c.cluster_domain(), Some("cluster.local"));
        assert_eq!(c.pods, "verified");
        let c = Corefile::parse("dns://corp.example.:53 {\n  kubernetes\n}\n");
        assert_eq!(c.cluster_domain(), Some("corp.example"));
    }

    #[test]
    fn pods_outside_the_kubernetes_block_is_not_read() {
        let c = Corefile::parse(
            ".:53 {\n  kubernetes cluster.local\n  template ANY ANY {\n    pods verified\n  }\n}\n",
        );
        assert_eq!(c.pods, "disabled");
    }
}
