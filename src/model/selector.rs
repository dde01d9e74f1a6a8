//! A label selector as `kubectl -l` takes it: comma-separated requirements
//! `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. Used to
//! narrow a scan to some Services; the same string goes to the API server
//! as `labelSelector` on a live scan.

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

    /// Whether `labels` meet every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::Ne(k, v) => labels.get(k) != Some(v),
            Req::Exists(k) => labels.contains_key(k),
            Req::Absent(k) => !labels.contains_key(k),
            Req::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        })
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
