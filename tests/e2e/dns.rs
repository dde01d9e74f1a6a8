//! Name resolution in the real cluster: kubectl exec into kwok pods runs
//! glibc's resolver against the real CoreDNS with each namespace's search
//! list, and the tool's predictions must match what it observes.

use crate::cluster::*;

/// `getent hosts NAME` inside a pod: the addresses, or None when it fails.
fn getent(c: &Cluster, ns: &str, pod: &str, name: &str) -> Option<Vec<String>> {
    let r = c.kubectl(&["exec", "-n", ns, pod, "--", "getent", "hosts", name]);
    match r.code {
        0 => Some(
            r.stdout
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned)
                .collect(),
        ),
        2 => None, // getent: key not found
        other => panic!(
            "kubectl exec getent {name} in {ns}/{pod} exited {other}: {}",
            r.stderr
        ),
    }
}

pub fn short_name_resolves_only_in_the_services_namespace(c: &Cluster) {
    let ip = c.cluster_ip("default", "service-pay-v1");
    let pay = c.pod("default", "pay-v1-");

    assert_eq!(
        getent(c, "default", &pay, "service-pay-v1"),
        Some(vec![ip.clone()])
    );
    assert_eq!(
        getent(c, "client", "client", "service-pay-v1"),
        None,
        "cross-namespace short name fails"
    );
    assert_eq!(
        getent(c, "client", "client", "service-pay-v1.default"),
        Some(vec![ip.clone()])
    );
    assert_eq!(
        getent(c, "default", &pay, "service-pay-v1.default"),
        Some(vec![ip.clone()])
    );
    assert_eq!(
        getent(
            c,
            "client",
            "client",
            "service-pay-v1.default.svc.cluster.local"
        ),
        Some(vec![ip])
    );
}

pub fn predictions_match_what_pods_observe(c: &Cluster) {
    let pay = c.pod("default", "pay-v1-");
    let r = c.diagnose(
        &[
            "service-pay-v1",
            "--from-namespace",
            "default",
            "--from-namespace",
            "client",
        ],
        0,
    );
    let rows = r["name_forms"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        let ns = row["from_namespace"].as_str().unwrap();
        let pod = if ns == "default" {
            pay.as_str()
        } else {
            "client"
        };
        let name = row["name"].as_str().unwrap();
        let seen = getent(c, ns, pod, name);
        assert_eq!(
            row["expected_resolves"] == true,
            seen.is_some(),
            "{name} from {ns}: predicted {}, observed {seen:?}",
            row["expected_resolves"]
        );
        if let Some(addrs) = seen {
            let want: Vec<String> = row["expected_addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(addrs, want, "{name} from {ns}");
        }
    }
}

pub fn headless_service_resolves_to_ready_pod_ips(c: &Cluster) {
    let r = c.diagnose(&["pay-headless", "--from-namespace", "client"], 0);
    let row = r["name_forms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "pay-headless.default")
        .unwrap();
    let mut want: Vec<String> = row["expected_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let mut seen = getent(c, "client", "client", "pay-headless.default").expect("resolves");
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    assert_eq!(want.len(), 2);
}

/// A DNS query for an A record, in wire format with the TCP length prefix.
fn tcp_query(name: &str, id: u16) -> Vec<u8> {
    let mut msg = Vec::new();
    msg.extend(id.to_be_bytes());
    msg.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
    for label in name.trim_end_matches('.').split('.') {
        msg.push(u8::try_from(label.len()).unwrap());
        msg.extend(label.as_bytes());
    }
    msg.extend([0, 0, 1, 0, 1]); // root; type A; class IN
    let mut framed = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
    framed.extend(msg);
    framed
}

/// The rcode and the A records of a response (no compression needed for
/// the answers' RDATA; names are skipped by their pointer or labels).
fn parse_a(resp: &[u8]) -> (u8, Vec<String>) {
    let rcode = resp[3] & 0x0f;
    let answers = u16::from_be_bytes([resp[6], resp[7]]);
    let mut i = 12;
    let skip_name = |mut i: usize| -> usize {
        loop {
            let len = resp[i] as usize;
            if len == 0 {
                return i + 1;
            }
            if len & 0xc0 == 0xc0 {
                return i + 2;
            }
            i += len + 1;
        }
    };
    i = skip_name(i) + 4; // question name, type, class
    let mut addrs = Vec::new();
    for _ in 0..answers {
        i = skip_name(i);
        let rtype = u16::from_be_bytes([resp[i], resp[i + 1]]);
        let rdlen = u16::from_be_bytes([resp[i + 8], resp[i + 9]]) as usize;
        i += 10;
        if rtype == 1 && rdlen == 4 {
            addrs.push(format!(
                "{}.{}.{}.{}",
                resp[i],
                resp[i + 1],
                resp[i + 2],
                resp[i + 3]
            ));
        }
        i += rdlen;
    }
    (rcode, addrs)
}

pub fn port_forward_to_the_coredns_pod_answers_dns_over_tcp(c: &Cluster) {
    use std::io::{BufRead, BufReader, Read, Write};
    let pod = c.pod("kube-system", "coredns-");
    let mut pf = std::process::Command::new(&c.kubectl)
        .args([
            "--kubeconfig",
            &c.kubeconfig,
            "port-forward",
            "-n",
            "kube-system",
            &format!("pod/{pod}"),
            ":53",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // "Forwarding from 127.0.0.1:PORT -> 53". Keep reading afterwards: kubectl
    // prints a line per connection and dies of SIGPIPE if nobody reads them.
    let mut lines = BufReader::new(pf.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    std::thread::spawn(move || {
        let mut sink = String::new();
        while lines.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    let port: u16 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));

    let ask = |name: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(&tcp_query(name, 0x5d1c)).unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut resp = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut resp).unwrap();
        assert_eq!(&resp[..2], &0x5d1cu16.to_be_bytes());
        parse_a(&resp)
    };
    let ip = c.cluster_ip("default", "service-pay-v1");
    let (rcode, addrs) = ask("service-pay-v1.default.svc.cluster.local.");
    let (nx, _) = ask("no-such-service.default.svc.cluster.local.");
    let _ = pf.kill();
    let _ = pf.wait();
    assert_eq!(rcode, 0);
    assert_eq!(addrs, [ip]);
    assert_eq!(nx, 3, "NXDOMAIN");
}

pub fn one_pay_pod_answers_tcp_on_its_pod_ip(_c: &Cluster) {
    let ip = std::env::var("SVCDISCOVER_E2E_PAY_POD_IP").expect("tests/run exports it");
    let addr: std::net::SocketAddr = format!("{ip}:80").parse().unwrap();
    let stream = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5));
    assert!(stream.is_ok(), "connect to {addr}: {stream:?}");
}

/// The tests of this module, for the harness in main.rs.
pub const TESTS: &[Test] = &[
    (
        "short_name_resolves_only_in_the_services_namespace",
        short_name_resolves_only_in_the_services_namespace,
    ),
    (
        "predictions_match_what_pods_observe",
        predictions_match_what_pods_observe,
    ),
    (
        "headless_service_resolves_to_ready_pod_ips",
        headless_service_resolves_to_ready_pod_ips,
    ),
    (
        "port_forward_to_the_coredns_pod_answers_dns_over_tcp",
        port_forward_to_the_coredns_pod_answers_dns_over_tcp,
    ),
    (
        "one_pay_pod_answers_tcp_on_its_pod_ip",
        one_pay_pod_answers_tcp_on_its_pod_ip,
    ),
];
