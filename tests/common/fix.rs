#![allow(dead_code)] // each suite uses a part of it

//! The `kubectl …` commands in a finding's `fix`, read as a shell would read
//! them; shared by the integration and e2e suites.

/// The backticked spans of `fix` that start with `kubectl `; panics when the
/// backticks are unbalanced.
pub fn kubectl_commands(fix: &str) -> Vec<&str> {
    let spans: Vec<&str> = fix.split('`').collect();
    assert!(spans.len() % 2 == 1, "unbalanced backticks in fix: {fix}");
    spans
        .into_iter()
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("kubectl "))
        .collect()
}

/// Split a command line into words as a POSIX shell does: single quotes,
/// double quotes, backslashes. `None` when a quote is unbalanced or the line
/// holds shell syntax that would not stay literal (expansions, globs,
/// redirections, pipes, several commands).
pub fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        '$' | '`' => return None,
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            '$' | '`' | '|' | '&' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '[' | ']' | '{'
            | '}' | '!' | '#' | '~' | '\n' => return None,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// One `kubectl` command, its words sorted into flags and positionals.
#[derive(Debug)]
pub struct Kubectl {
    /// The words after `kubectl`.
    pub args: Vec<String>,
    /// Verb first (`get`, `patch`, `svcdiscover`, …), then its operands.
    pub positionals: Vec<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    /// `-c`
    pub container: Option<String>,
    /// `-p`
    pub patch: Option<String>,
    /// `-l`
    pub selector: Option<String>,
    /// `--type`
    pub patch_type: Option<String>,
}

/// Flags of the fixes that take the next word as their value.
const VALUED: &[&str] = &[
    "-n",
    "--namespace",
    "-l",
    "--selector",
    "-p",
    "--patch",
    "--type",
    "-c",
    "--container",
    "-o",
    "--output",
    "--field-selector",
];

/// Parse a backticked `kubectl …` command; `Err` says what is wrong with it.
pub fn parse(command: &str) -> Result<Kubectl, String> {
    let words = split(command).ok_or_else(|| format!("not a plain shell word list: {command}"))?;
    let Some((first, args)) = words.split_first() else {
        return Err("empty command".to_owned());
    };
    if first != "kubectl" {
        return Err(format!("does not start with kubectl: {command}"));
    }
    let mut k = Kubectl {
        args: args.to_vec(),
        positionals: Vec::new(),
        namespace: None,
        all_namespaces: false,
        container: None,
        patch: None,
        selector: None,
        patch_type: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if VALUED.contains(&a.as_str()) {
            let v = it
                .next()
                .ok_or_else(|| format!("{a} without a value: {command}"))?
                .clone();
            match a.as_str() {
                "-n" | "--namespace" => k.namespace = Some(v),
                "-c" | "--container" => k.container = Some(v),
                "-p" | "--patch" => k.patch = Some(v),
                "-l" | "--selector" => k.selector = Some(v),
                "--type" => k.patch_type = Some(v),
                _ => {}
            }
        } else if let Some(v) = a.strip_prefix("--namespace=") {
            k.namespace = Some(v.to_owned());
        } else if let Some(v) = a.strip_prefix("--type=") {
            k.patch_type = Some(v.to_owned());
        } else if a == "-A" || a == "--all-namespaces" {
            k.all_namespaces = true;
        } else if !a.starts_with('-') {
            k.positionals.push(a.clone());
        }
    }
    if k.positionals.is_empty() {
        return Err(format!("no verb: {command}"));
    }
    Ok(k)
}

impl Kubectl {
    pub fn verb(&self) -> &str {
        &self.positionals[0]
    }

    /// The resource type and name the command acts on, when it names one
    /// (`edit deployment v4`, `logs POD`, `svcdiscover SERVICE`).
    pub fn object(&self) -> Option<(String, String)> {
        let p = &self.positionals;
        match self.verb() {
            "logs" => p.get(1).map(|n| match n.split_once('/') {
                Some((kind, name)) => (kind.to_owned(), name.to_owned()),
                None => ("pod".to_owned(), n.clone()),
            }),
            "svcdiscover" => p.get(1).map(|n| ("service".to_owned(), n.clone())),
            "get" | "describe" | "edit" | "patch" | "delete" | "label" | "annotate" => {
                match (p.get(1), p.get(2)) {
                    (Some(kind), Some(name)) => Some((kind.clone(), name.clone())),
                    (Some(both), None) => both
                        .split_once('/')
                        .map(|(k, n)| (k.to_owned(), n.to_owned())),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether the command needs a namespace (it does unless it acts on a
    /// cluster-scoped resource).
    pub fn namespaced(&self) -> bool {
        let kind = self.positionals.get(1).map(String::as_str).unwrap_or("");
        let kind = kind.split('/').next().unwrap_or(kind);
        !matches!(
            kind,
            "node" | "nodes" | "namespace" | "namespaces" | "ns" | "clusterrole" | "clusterroles"
        ) || matches!(self.verb(), "logs" | "svcdiscover")
    }
}
