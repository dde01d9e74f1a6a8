//! A label selector as `kubectl -l` takes it: comma-separated requirements
//! `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. Used to
//! narrow a scan to some Services; the same string goes to the API server
//! as `labelSelector` on a live scan.
//!
//! The same type holds an API `LabelSelector` (`matchLabels` plus
//! `matchExpressions`, [`LabelSelector::from_api`]), as NetworkPolicies use
//! it: no requirement at all (`{}`) selects everything.

use std::collections::BTreeMap;

/// One requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    Absent(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed selector; every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    reqs: Vec<Req>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector `{selector}`: {why}")]
pub struct SelectorError {
    selector: String,
    why: String,
}

/// A label key (optionally `prefix/name`) or value: what the API allows,
/// checked loosely (characters only).
fn valid(s: &str, key: bool) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if key {
        let name = s.rsplit_once('/').map_or(s, |(_, n)| n);
        !name.is_empty() && name.len() <= 63 && s.chars().all(|c| ok(c) || c == '/')
    } else {
        s.len() <= 63 && s.chars().all(ok)
    }
}

/// The operators of an API `matchExpressions` entry.
const IN: &str = "In";
const NOT_IN: &str = "NotIn";
const EXISTS: &str = "Exists";
const DOES_NOT_EXIST: &str = "DoesNotExist";

/// Split at commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

impl LabelSelector {
    /// Parse `kubectl -l` syntax.
    ///
    /// ```
    /// use svcdiscover::model::LabelSelector;
    /// use std::collections::BTreeMap;
    ///
    /// let s = LabelSelector::parse("tier=web,env in (prod,stage),!canary").unwrap();
    /// let labels: BTreeMap<String, String> =
    ///     [("tier".into(), "web".into()), ("env".into(), "prod".into())].into();
    /// assert!(s.matches(&labels));
    /// assert!(LabelSelector::parse("tier=").is_ok());
    /// assert!(LabelSelector::parse("=web").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<LabelSelector, SelectorError> {
        let err = |why: &str| SelectorError {
            selector: s.to_owned(),
            why: why.to_owned(),
        };
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Err(err("empty"));
        }
        for part in split_top(s) {
            let p = part.trim();
            if p.is_empty() {
                return Err(err("an empty requirement"));
            }
            let key_ok = |k: &str| {
                if valid(k, true) {
                    Ok(k.to_owned())
                } else {
                    Err(err(&format!("`{k}` is not a label key")))
                }
            };
            let value_ok = |v: &str| {
                if valid(v, false) {
                    Ok(v.to_owned())
                } else {
                    Err(err(&format!("`{v}` is not a label value")))
                }
            };
            let set = |rest: &str| -> Result<Vec<String>, SelectorError> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| err("a set needs parentheses: `k in (a,b)`"))?;
                inner.split(',').map(|v| value_ok(v.trim())).collect()
            };
            let req = if let Some((k, v)) = p.split_once("!=") {
                Req::Ne(key_ok(k.trim())?, value_ok(v.trim())?)
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Req::Eq(key_ok(k.trim())?, value_ok(v.trim())?)
            } else if let Some(k) = p.strip_prefix('!') {
                Req::Absent(key_ok(k.trim())?)
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                Req::NotIn(key_ok(k.trim())?, set(rest)?)
            } else if let Some((k, rest)) = p.split_once(" in ") {
                Req::In(key_ok(k.trim())?, set(rest)?)
            } else {
                Req::Exists(key_ok(p)?)
            };
            reqs.push(req);
        }
        Ok(LabelSelector { reqs })
    }

    /// An API `LabelSelector`: every `matchLabels` pair and every
    /// `matchExpressions` entry `(key, operator, values)` must hold. The
    /// operators are the API's (`In`, `NotIn`, `Exists`, `DoesNotExist`);
    /// another one is refused, as the API server refuses it.
    pub fn from_api<'a>(
        match_labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        match_expressions: impl IntoIterator<Item = (&'a str, &'a str, Vec<String>)>,
    ) -> Result<LabelSelector, SelectorError> {
        let mut reqs: Vec<Req> = match_labels
            .into_iter()
            .map(|(k, v)| Req::Eq(k.to_owned(), v.to_owned()))
            .collect();
        for (k, op, values) in match_expressions {
            let k = k.to_owned();
            reqs.push(match op {
                IN => Req::In(k, values),
                NOT_IN => Req::NotIn(k, values),
                EXISTS => Req::Exists(k),
                DOES_NOT_EXIST => Req::Absent(k),
                other => {
                    return Err(SelectorError {
                        selector: format!("{k} {other} ({})", values.join(",")),
                        why: format!("`{other}` is not a label selector operator"),
                    });
                }
            });
        }
        Ok(LabelSelector { reqs })
    }

    /// The selector with no requirement (`{}`), which selects everything.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// Whether this selector has no requirement, so selects everything.
    pub fn is_everything(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether `labels` meet every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|r| r.holds(labels))
    }

    /// [`matches`](Self::matches) when only some of the labels are known:
    /// `labels` are the known ones and, unless `complete`, a requirement on
    /// a key missing from them cannot be decided. `None` = undecided (no
    /// requirement failed, one could not be decided).
    pub fn matches_known(&self, labels: &BTreeMap<String, String>, complete: bool) -> Option<bool> {
        let mut undecided = false;
        for r in &self.reqs {
            if !complete && !labels.contains_key(r.key()) {
                undecided = true;
            } else if !r.holds(labels) {
                return Some(false);
            }
        }
        if undecided { None } else { Some(true) }
    }
}

impl Req {
    fn key(&self) -> &str {
        match self {
            Req::Eq(k, _)
            | Req::Ne(k, _)
            | Req::Exists(k)
            | Req::Absent(k)
            | Req::In(k, _)
            | Req::NotIn(k, _) => k,
        }
    }

    fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::Ne(k, v) => labels.get(k) != Some(v),
            Req::Exists(k) => labels.contains_key(k),
            Req::Absent(k) => !labels.contains_key(k),
            Req::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        }
    }
}

/// `kubectl -l` syntax; the empty selector is `{}` (everything).
impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.reqs.is_empty() {
            return f.write_str("{}");
        }
        let parts: Vec<String> = self
            .reqs
            .iter()
            .map(|r| match r {
                Req::Eq(k, v) => format!("{k}={v}"),
                Req::Ne(k, v) => format!("{k}!={v}"),
                Req::Exists(k) => k.clone(),
                Req::Absent(k) => format!("!{k}"),
                Req::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Req::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The requirement kinds of kubectl's `-l`, as the Kubernetes docs
    /// ("Labels and Selectors") define them.
    #[test]
    fn each_requirement_kind() {
        let l = labels(&[("app", "pay"), ("tier", "web"), ("env", "prod")]);
        for (sel, want) in [
            ("app=pay", true),
            ("app==pay", true),
            ("app=user", false),
            ("app!=user", true),
            ("app!=pay", false),
            ("missing!=x", true),
            ("tier", true),
            ("missing", false),
            ("!missing", true),
            ("!tier", false),
            ("env in (prod, stage)", true),
            ("env in (dev)", false),
            ("env notin (dev)", true),
            ("missing notin (dev)", true),
            ("env notin (prod)", false),
            ("app=pay,tier=web", true),
            ("app=pay,tier=db", false),
            ("example.com/team", false),
        ] {
            let s = LabelSelector::parse(sel).unwrap();
            assert_eq!(s.matches(&l), want, "{sel}");
        }
    }

    /// The API form: matchLabels and matchExpressions are ANDed, the
    /// operators are In/NotIn/Exists/DoesNotExist, and `{}` selects
    /// everything ("Labels and Selectors", "Resources that support
    /// set-based requirements").
    #[test]
    fn api_selectors_and_partial_knowledge() {
        let l = labels(&[("app", "pay"), ("env", "prod")]);
        let s = LabelSelector::from_api(
            [("app", "pay")],
            [
                ("env", "In", vec!["prod".into(), "stage".into()]),
                ("canary", "DoesNotExist", vec![]),
            ],
        )
        .unwrap();
        assert!(s.matches(&l));
        assert_eq!(s.to_string(), "app=pay,env in (prod,stage),!canary");
        let s = LabelSelector::from_api([], [("env", "NotIn", vec!["prod".into()])]).unwrap();
        assert!(!s.matches(&l));
        assert!(LabelSelector::from_api([], [("env", "Like", vec![])]).is_err());
        assert!(LabelSelector::everything().matches(&BTreeMap::new()));
        // Only `app` is known: a requirement on `env` is undecided unless
        // the labels are complete.
        let known = labels(&[("app", "pay")]);
        let s = LabelSelector::from_api([("app", "pay"), ("env", "prod")], []).unwrap();
        assert_eq!(s.matches_known(&known, false), None);
        assert_eq!(s.matches_known(&known, true), Some(false));
        let s = LabelSelector::from_api([("app", "web"), ("env", "prod")], []).unwrap();
        assert_eq!(s.matches_known(&known, false), Some(false));
    }

    #[test]
    fn malformed_selectors_are_refused() {
        for sel in [
            "",
            "=v",
            "a=b,",
            "k in a,b",
            "k in (a b)",
            "bad key=v",
            "k=v v",
        ] {
            assert!(LabelSelector::parse(sel).is_err(), "{sel:?}");
        }
    }
}
