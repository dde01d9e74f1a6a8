//! The verdict: findings and coverage in, one word and its main reason out.
//!
//! `reachable` needs evidence: the Service and its endpoints were read and
//! no error was found. Whatever the verdict needs that could not be read
//! makes it `unknown`, which never exits 0.

use super::{Ctx, Out};
use crate::model::{Code, Finding, Kind, ServiceType, Severity, Verdict};

/// The verdict and its main reason, from the Service's endpoints (in `ctx`)
/// and everything the checks found and could not check.
pub(crate) fn decide(ctx: &Ctx<'_>, out: &Out) -> (Verdict, String) {
    let (verdict, reason) = decide_in_full(ctx, out);
    (verdict, few_words(&reason))
}

/// At most about a line: a reason is a headline; the findings have the rest.
fn few_words(reason: &str) -> String {
    const MAX: usize = 120;
    if reason.chars().count() <= MAX {
        return reason.to_owned();
    }
    let cut: String = reason.chars().take(MAX - 1).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', ';', ':']))
}

fn decide_in_full(ctx: &Ctx<'_>, out: &Out) -> (Verdict, String) {
    if let Some(why) = unknown_because(ctx) {
        let errors = out
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let also = match errors {
            0 => String::new(),
            1 => format!("; and {}", headline(ctx, &out.findings[0])),
            n => format!("; {n} errors found besides"),
        };
        return (Verdict::Unknown, format!("{why}{also}"));
    }
    // The default probe that could not run says something about the tool's
    // access, not about the Service: it does not make the Service degraded.
    let worst = out
        .findings
        .iter()
        .filter(|f| !(f.severity == Severity::Warning && is_probe_problem(f.code)))
        .min_by_key(|f| f.severity);
    match worst {
        Some(f) if f.severity == Severity::Error => {
            // The first cause, and how many others there are (no-ready-endpoints
            // is their consequence, not another cause).
            let others = out
                .findings
                .iter()
                .filter(|o| {
                    o.severity == Severity::Error
                        && !std::ptr::eq(*o, f)
                        && o.code != Code::NoReadyEndpoints
                })
                .count();
            let more = match others {
                0 => String::new(),
                1 => "; and 1 more error".to_owned(),
                n => format!("; and {n} more errors"),
            };
            (Verdict::Unreachable, format!("{}{more}", headline(ctx, f)))
        }
        _ if external_target_unknown(ctx, out) => (
            Verdict::Unknown,
            format!(
                "an ExternalName alias of {}: whether that name resolves is decided outside the cluster",
                ctx.service
                    .and_then(|s| s.external_name.as_deref())
                    .unwrap_or("(empty)")
            ),
        ),
        Some(f) if f.severity == Severity::Warning => (Verdict::Degraded, headline(ctx, f)),
        _ => (Verdict::Reachable, reachable_reason(ctx, out)),
    }
}

/// An ExternalName Service whose target only resolvers outside the cluster
/// can answer: nothing in the cluster state says whether it resolves.
fn external_target_unknown(ctx: &Ctx<'_>, out: &Out) -> bool {
    ctx.service
        .is_some_and(|s| s.type_ == ServiceType::ExternalName)
        && out.name_forms.iter().any(|n| {
            n.from_namespace.as_deref() == Some(ctx.target.namespace.as_str())
                && n.expected_resolves.is_none()
        })
}

/// Why the verdict cannot be known, if it cannot.
fn unknown_because(ctx: &Ctx<'_>) -> Option<String> {
    let state = ctx.state;
    let t = ctx.target;
    // A required read that failed (live): the first cause. A scan's failed
    // read of another namespace says nothing of this Service, nor does a
    // failed cluster-wide list whose kind was then read in its namespace.
    if let Some(f) = state.failures.iter().find(|f| {
        f.required
            && match &f.namespace {
                Some(ns) => *ns == t.namespace,
                None => !state.coverage.covers(f.kind, &t.namespace),
            }
    }) {
        let what = f.what();
        return Some(if f.forbidden {
            format!("cannot {what} (forbidden)")
        } else {
            format!("cannot {what}: {}", f.reason)
        });
    }
    if let Some(why) = super::observe::unknown_because(ctx) {
        return Some(why);
    }
    let Some(svc) = ctx.service else {
        if ctx
            .index
            .service_presence_known(state, &t.namespace, &t.name)
        {
            return None; // known to be absent: service-not-found decides
        }
        return Some(format!(
            "the Services of namespace {} were not read",
            t.namespace
        ));
    };
    if svc.type_ == ServiceType::ExternalName {
        return None;
    }
    if ctx.endpoints.as_ref().is_none() {
        return Some(format!(
            "the EndpointSlices of {}/{} were not read",
            svc.namespace, svc.name
        ));
    }
    if let Some(sel) = &svc.selector
        && !state
            .coverage
            .covers_selection(Kind::Pod, &svc.namespace, sel)
        && ctx.endpoints.as_ref().is_some_and(|e| e.ready == 0)
    {
        // No ready endpoint and the pods unknown: it cannot say why.
        return Some(format!(
            "no ready endpoint, and the pods of {} were not read",
            svc.namespace
        ));
    }
    None
}

fn reachable_reason(ctx: &Ctx<'_>, out: &Out) -> String {
    let Some(svc) = ctx.service else {
        return String::new();
    };
    if svc.type_ == ServiceType::ExternalName {
        return format!(
            "an ExternalName alias of {}",
            svc.external_name.as_deref().unwrap_or("(empty)")
        );
    }
    let ready = ctx.endpoints.as_ref().map_or(0, |e| e.ready);
    let total = ctx.endpoints.as_ref().map_or(0, |e| e.ready + e.not_ready);
    let gaps = if out.not_checked.is_empty() {
        String::new()
    } else {
        format!("; {} check(s) could not run", out.not_checked.len())
    };
    let unobserved = if out.findings.iter().any(|f| is_probe_problem(f.code)) {
        "; not observed: the probe could not run"
    } else {
        ""
    };
    format!("{ready} of {total} endpoint(s) ready{gaps}{unobserved}")
}

/// The probe's own problems (it could not run), as opposed to what it saw.
fn is_probe_problem(code: Code) -> bool {
    matches!(
        code,
        Code::ProbeImagePullFailed
            | Code::ProbeForbidden
            | Code::ProbeRejected
            | Code::ProbeTimeout
            | Code::ProbeNotRun
    )
}

/// A few words that say what a finding means for reaching the Service.
pub(crate) fn headline(ctx: &Ctx<'_>, f: &Finding) -> String {
    let t = ctx.target;
    let n = ctx.pods.len();
    let affected = f.objects.iter().filter(|o| o.kind == "Pod").count();
    let pods = || match (affected, n) {
        (1, 1) => "its only pod".to_owned(),
        (a, n) if a == n => format!("all {n} of its pods"),
        (a, n) => format!("{a} of its {n} pods"),
    };
    let verb_s = |one: &str, many: &str| {
        if affected == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    match f.code {
        Code::ServiceNotFound
            if ctx.index.namespace_exists(ctx.state, &t.namespace) == Some(false) =>
        {
            format!("there is no namespace {}", t.namespace)
        }
        Code::ServiceNotFound => format!("there is no Service {} in {}", t.name, t.namespace),
        Code::SelectorMatchesNoPods => match ctx.service.and_then(|s| s.selector.as_ref()) {
            Some(sel) => format!(
                "its selector {} matches no pod",
                crate::model::selector_string(sel)
            ),
            None => "its selector matches no pod".to_owned(),
        },
        Code::ImagePullFailure => {
            let image = pulled_image(ctx, f);
            format!(
                "{} cannot pull {}",
                pods(),
                image.unwrap_or_else(|| "its image".to_owned())
            )
        }
        Code::CrashLoop => format!("{} {} crash-looping", pods(), verb_s("is", "are")),
        Code::ContainerConfigError => format!(
            "{} cannot create a container from its configuration",
            pods()
        ),
        Code::PodUnschedulable => {
            format!("{} cannot be scheduled", pods())
        }
        Code::PodsNotReady => format!("{} {} not Ready", pods(), verb_s("is", "are")),
        _ => first_clause(&f.message),
    }
}

/// The image a pull-failure finding is about, from the affected pods.
fn pulled_image(ctx: &Ctx<'_>, f: &Finding) -> Option<String> {
    let mut images: Vec<&str> = Vec::new();
    for pod in ctx.pods.iter().filter(|p| {
        f.objects
            .iter()
            .any(|o| o.kind == "Pod" && o.name == p.name)
    }) {
        for s in &pod.statuses {
            let pulling = s.waiting.as_ref().is_some_and(|w| {
                matches!(
                    w.reason.as_str(),
                    "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull"
                )
            });
            if !pulling {
                continue;
            }
            if let Some(c) = pod.containers.iter().find(|c| c.name == s.name)
                && !images.contains(&c.image.as_str())
            {
                images.push(&c.image);
            }
        }
    }
    match images.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        [first, rest @ ..] => Some(format!("{first} (and {} more image(s))", rest.len())),
    }
}

/// The message up to its first detail: `pods cannot pull … (1 of 1): …` → `pods cannot pull …`.
fn first_clause(message: &str) -> String {
    let cut = [" (", "; ", " — ", ": "]
        .iter()
        .filter_map(|sep| message.find(sep))
        .min()
        .unwrap_or(message.len());
    let head = &message[..cut];
    if head.len() < 12 {
        message.to_owned()
    } else {
        head.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::first_clause;
    use crate::analysis::{Options, Target, diagnose};
    use crate::model::{
        ClusterState, Endpoint, EndpointSlice, Kind, ReadFailure, Service, Verdict,
    };

    #[test]
    fn a_reason_is_at_most_a_line() {
        let long = "word ".repeat(60);
        let short = super::few_words(&long);
        assert!(short.chars().count() <= 120, "{short}");
        assert!(short.ends_with("word…"), "{short}");
        assert_eq!(super::few_words("short reason"), "short reason");
    }

    #[test]
    fn first_clause_cuts_at_the_first_detail() {
        assert_eq!(
            first_clause(
                "the kube-dns Service has no ready endpoint: no name in the cluster resolves"
            ),
            "the kube-dns Service has no ready endpoint"
        );
        assert_eq!(first_clause("short: x"), "short: x");
    }

    /// A selectorless Service with one ready endpoint, everything it needs read.
    fn state(slices_read: bool) -> ClusterState {
        let mut st = ClusterState::default();
        st.services.push(Service {
            namespace: "shop".into(),
            name: "db".into(),
            cluster_ips: vec!["10.96.0.50".into()],
            ..Service::default()
        });
        st.coverage.add_namespace(Kind::Service, "shop");
        if slices_read {
            st.endpoint_slices.push(EndpointSlice {
                namespace: "shop".into(),
                name: "db-1".into(),
                service_name: Some("db".into()),
                address_type: "IPv4".into(),
                endpoints: vec![Endpoint {
                    addresses: vec!["10.0.0.9".into()],
                    ready: Some(true),
                    serving: Some(true),
                    terminating: None,
                    hostname: None,
                    pod: None,
                    node_name: None,
                }],
                ..EndpointSlice::default()
            });
            st.coverage.add_namespace(Kind::EndpointSlice, "shop");
        }
        st
    }

    fn target() -> Target {
        Target {
            namespace: "shop".into(),
            name: "db".into(),
        }
    }

    #[test]
    fn read_endpoints_and_no_error_are_reachable() {
        let r = diagnose(&state(true), &target(), &Options::default());
        assert_eq!(r.verdict, Verdict::Reachable, "{:?}", r.findings);
        assert_eq!(
            r.verdict_reason,
            "1 of 1 endpoint(s) ready; 3 check(s) could not run"
        );
    }

    #[test]
    fn unread_endpoints_are_unknown_not_reachable() {
        let r = diagnose(&state(false), &target(), &Options::default());
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(
            r.verdict_reason,
            "the EndpointSlices of shop/db were not read"
        );
    }

    #[test]
    fn a_failed_required_read_is_unknown_whatever_else_was_read() {
        let mut st = state(true);
        st.failures.push(ReadFailure {
            verb: "list",
            kind: Kind::EndpointSlice,
            namespace: Some("shop".into()),
            reason: "endpointslices is forbidden".into(),
            forbidden: true,
            required: true,
        });
        let r = diagnose(&st, &target(), &Options::default());
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(
            r.verdict_reason,
            "cannot list endpointslices.discovery.k8s.io in namespace shop (forbidden)"
        );
    }

    #[test]
    fn a_service_known_to_be_absent_is_unreachable() {
        let mut st = state(true);
        st.services.clear();
        let r = diagnose(&st, &target(), &Options::default());
        assert_eq!(r.verdict, Verdict::Unreachable);
        assert_eq!(r.verdict_reason, "there is no Service db in shop");
        assert_eq!(r.service.found, Some(false));
    }
}
