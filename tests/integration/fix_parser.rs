//! The fix-command parser shared by the integration and e2e suites.
use crate::fix::*;

#[test]
fn splits_like_a_shell() {
    assert_eq!(
        split(r#"kubectl patch service s -p '{"spec":{"a":1}}'"#).unwrap(),
        [
            "kubectl",
            "patch",
            "service",
            "s",
            "-p",
            r#"{"spec":{"a":1}}"#
        ]
    );
    assert_eq!(split(r#"a "b c" d\ e"#).unwrap(), ["a", "b c", "d e"]);
    assert!(split("kubectl -p '{").is_none(), "unbalanced quote");
    assert!(split("kubectl get pods -l {x}").is_none(), "unquoted brace");
    assert!(split("kubectl get pods | head").is_none());
}
