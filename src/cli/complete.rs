//! `kubectl svcdiscover <TAB>`: what to complete, decided without I/O.
//!
//! kubectl (1.26 and later) completes a plugin's arguments by running
//! `kubectl_complete-<plugin>` from PATH with the words typed after the
//! plugin's name, the last one being the word to complete (empty when a new
//! word starts), and reads Cobra's `__complete` protocol from its stdout: one
//! candidate a line (`candidate<TAB>description`), then a last line
//! `:<directive>`. The shim `completions/kubectl_complete-svcdiscover` runs
//! `kubectl-svcdiscover __complete WORDS…`; [`request`] decides what those
//! words ask for, and `app::complete` reads the names only the cluster knows.

use clap::{Arg, ArgAction, Args, Command, CommandFactory, Parser, ValueHint};

use super::{Cli, KubeArgs, is_dns1123_label, kubectl_args};

/// The first word that asks for completions instead of a diagnosis (Cobra's
/// name for it); never a Service name, which has no `_`.
pub const COMMAND: &str = "__complete";

/// Cobra's `ShellCompDirective` bits (cobra's completions.go).
pub mod directive {
    /// The shell's default: file names when no candidate is given.
    pub const DEFAULT: u8 = 0;
    /// No space after the candidate (it is a prefix, such as `NS/`).
    pub const NO_SPACE: u8 = 2;
    /// No file names, even when no candidate is given.
    pub const NO_FILE_COMP: u8 = 4;
}

/// How long the live reads of one completion may take, all together.
pub const LIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// One completion candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub help: Option<String>,
}

/// What is printed: the candidates, then the directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub candidates: Vec<Candidate>,
    pub directive: u8,
}

impl Answer {
    /// Nothing to offer, and no file names either: also the answer to any
    /// failure (a completion is silent).
    pub fn nothing() -> Answer {
        Answer {
            candidates: Vec::new(),
            directive: directive::NO_FILE_COMP,
        }
    }

    /// The protocol's text: `value[\tdescription]` lines, then `:N`.
    /// A candidate with a control character is left out (it would break the
    /// line protocol or the terminal); one in a description becomes a space.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.candidates {
            if c.value.is_empty() || c.value.chars().any(char::is_control) {
                continue;
            }
            out.push_str(&c.value);
            if let Some(help) = &c.help {
                out.push('\t');
                out.extend(
                    help.chars()
                        .map(|ch| if ch.is_control() { ' ' } else { ch }),
                );
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// Names only the cluster knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The Services of a namespace (`None`: the context's).
    Services { namespace: Option<String> },
    /// Every namespace.
    Namespaces,
    /// The running pods of a namespace (`None`: the context's).
    Pods { namespace: Option<String> },
}

/// A completion that needs the cluster.
#[derive(Debug, Clone)]
pub struct Live {
    pub lookup: Lookup,
    /// The cluster access flags typed so far (`--kubeconfig`, `--context`, …).
    pub access: KubeArgs,
    /// The part of the word typed that a name must start with.
    pub typed: String,
    /// Put before each name: `svc/` or `NS/` when the word starts with it.
    pub prefix: String,
    /// `--from` without a `/`: when no pod of the namespace matches, offer
    /// the namespaces as `NS/`, to go on with a pod of another namespace.
    pub or_namespaces: bool,
}

impl Live {
    /// The answer, given the names read (`namespaces` only matters with
    /// [`Live::or_namespaces`]).
    pub fn answer(&self, names: &[String], namespaces: &[String]) -> Answer {
        let starts = |n: &&String| n.starts_with(&self.typed);
        let candidates: Vec<Candidate> = names
            .iter()
            .filter(starts)
            .map(|n| Candidate {
                value: format!("{}{n}", self.prefix),
                help: None,
            })
            .collect();
        if candidates.is_empty() && self.or_namespaces {
            let candidates: Vec<Candidate> = namespaces
                .iter()
                .filter(starts)
                .map(|n| Candidate {
                    value: format!("{n}/"),
                    help: Some("a pod of this namespace".to_owned()),
                })
                .collect();
            if !candidates.is_empty() {
                return Answer {
                    candidates,
                    directive: directive::NO_SPACE | directive::NO_FILE_COMP,
                };
            }
        }
        Answer {
            candidates,
            directive: directive::NO_FILE_COMP,
        }
    }
}

/// What the words ask for.
#[derive(Debug, Clone)]
pub enum Request {
    /// Known from the command line's definition alone.
    Done(Answer),
    /// Needs names from the cluster.
    Live(Box<Live>),
}

/// The command line's definition, with `--help` and `--version`.
fn command() -> Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// What was typed before the word to complete.
#[derive(Default)]
struct Typed {
    /// Each flag given (by id), with its value when it takes one.
    flags: Vec<(String, Option<String>)>,
    positionals: usize,
    /// After `--`: only positionals.
    dash_dash: bool,
    /// The last word is a flag waiting for its value (the word to complete).
    pending: Option<Arg>,
}

impl Typed {
    fn read(cmd: &Command, words: &[String]) -> Typed {
        let mut t = Typed::default();
        for word in kubectl_args(words) {
            let w = word.to_string_lossy();
            if let Some(arg) = t.pending.take() {
                t.flags
                    .push((arg.get_id().to_string(), Some(w.into_owned())));
                continue;
            }
            if t.dash_dash {
                t.positionals += 1;
            } else if w == "--" {
                t.dash_dash = true;
            } else if let Some(long) = w.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (long, None),
                };
                if let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(name)) {
                    t.flag(arg, value);
                }
            } else if let Some(shorts) = w.strip_prefix('-').filter(|s| !s.is_empty()) {
                for (i, c) in shorts.char_indices() {
                    let Some(arg) = cmd.get_arguments().find(|a| a.get_short() == Some(c)) else {
                        break;
                    };
                    if takes_value(arg) {
                        let rest = &shorts[i + c.len_utf8()..];
                        let rest = rest.strip_prefix('=').unwrap_or(rest);
                        t.flag(arg, (!rest.is_empty()).then(|| rest.to_owned()));
                        break;
                    }
                    t.flag(arg, None);
                }
            } else {
                t.positionals += 1;
            }
        }
        t
    }

    /// A flag; one that takes a value but was given none waits for the next word.
    fn flag(&mut self, arg: &Arg, value: Option<String>) {
        if takes_value(arg) && value.is_none() {
            self.pending = Some(arg.clone());
        } else {
            self.flags.push((arg.get_id().to_string(), value));
        }
    }

    fn has(&self, id: &str) -> bool {
        self.flags.iter().any(|(i, _)| i == id)
    }

    fn last(&self, id: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(i, _)| i == id)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The namespace given with -n, when valid.
    fn namespace(&self) -> Option<String> {
        self.last("namespace")
            .filter(|ns| is_dns1123_label(ns))
            .map(str::to_owned)
    }

    /// The cluster access flags typed, parsed as a run would parse them;
    /// `None` when they do not parse (the live names would be a guess).
    fn access(&self) -> Option<KubeArgs> {
        #[derive(Parser)]
        struct Access {
            #[command(flatten)]
            kube: KubeArgs,
        }
        let defined = KubeArgs::augment_args(Command::new("access"));
        let mut argv = vec!["access".to_owned()];
        for (id, value) in &self.flags {
            let Some(arg) = defined.get_arguments().find(|a| a.get_id() == id) else {
                continue;
            };
            let Some(long) = arg.get_long() else {
                continue;
            };
            argv.push(match value {
                Some(v) => format!("--{long}={v}"),
                None => format!("--{long}"),
            });
        }
        Access::try_parse_from(argv).ok().map(|a| a.kube)
    }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// A flag that may be given more than once.
fn repeatable(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append | ArgAction::Count)
}

/// A description for a candidate: the help's first sentence, at most about
/// 60 characters (shells show it beside the candidate).
fn short_help(text: &str) -> String {
    let first = text
        .split(". ")
        .next()
        .unwrap_or(text)
        .trim_end_matches('.');
    if first.chars().count() <= 60 {
        return first.to_owned();
    }
    let mut out = String::new();
    for word in first.split_whitespace() {
        if out.chars().count() + word.chars().count() > 58 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push('…');
    out
}

/// The flags that start with `typed`: long names, and short ones when only
/// `-` or the short flag itself is typed; a flag already given is not offered again unless it may
/// be repeated.
fn flags(cmd: &Command, typed: &str, t: &Typed) -> Answer {
    let mut candidates = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() || arg.is_positional() {
            continue;
        }
        if t.has(arg.get_id().as_str()) && !repeatable(arg) {
            continue;
        }
        let help = arg.get_help().map(|h| short_help(&h.to_string()));
        if let Some(long) = arg.get_long() {
            let value = format!("--{long}");
            if value.starts_with(typed) {
                candidates.push(Candidate {
                    value,
                    help: help.clone(),
                });
            }
        }
        if let Some(short) = arg.get_short()
            && (typed == "-" || typed.strip_prefix('-') == Some(short.encode_utf8(&mut [0; 4])))
        {
            candidates.push(Candidate {
                value: format!("-{short}"),
                help,
            });
        }
    }
    Answer {
        candidates,
        directive: directive::NO_FILE_COMP,
    }
}

/// The value of `arg`, of which `typed` is typed.
fn value(arg: &Arg, typed: &str, t: &Typed) -> Request {
    let live = |lookup, typed: &str, prefix: String, or_namespaces| match t.access() {
        Some(access) => Request::Live(Box::new(Live {
            lookup,
            access,
            typed: typed.to_owned(),
            prefix,
            or_namespaces,
        })),
        None => Request::Done(Answer::nothing()),
    };
    match arg.get_id().as_str() {
        "namespace" | "from_namespace" => live(Lookup::Namespaces, typed, String::new(), false),
        "from" => match typed.split_once('/') {
            Some((ns, pod)) if is_dns1123_label(ns) => live(
                Lookup::Pods {
                    namespace: Some(ns.to_owned()),
                },
                pod,
                format!("{ns}/"),
                false,
            ),
            Some(_) => Request::Done(Answer::nothing()),
            None => live(
                Lookup::Pods {
                    namespace: t.namespace(),
                },
                typed,
                String::new(),
                true,
            ),
        },
        _ => {
            let values = arg.get_possible_values();
            if !values.is_empty() {
                let candidates = values
                    .iter()
                    .filter(|v| !v.is_hide_set() && v.get_name().starts_with(typed))
                    .map(|v| Candidate {
                        value: v.get_name().to_owned(),
                        help: v.get_help().map(|h| short_help(&h.to_string())),
                    })
                    .collect();
                return Request::Done(Answer {
                    candidates,
                    directive: directive::NO_FILE_COMP,
                });
            }
            match arg.get_value_hint() {
                ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath => {
                    Request::Done(Answer {
                        candidates: Vec::new(),
                        directive: directive::DEFAULT,
                    })
                }
                _ => Request::Done(Answer::nothing()),
            }
        }
    }
}

/// The resource types kubectl spells a Service with, as a word may start.
const SERVICE_PREFIXES: [&str; 3] = ["svc/", "service/", "services/"];

/// What `words` (the words after the plugin's name, the last one the word
/// to complete) ask for.
pub fn request(words: &[String]) -> Request {
    let cmd = command();
    let (current, before) = match words.split_last() {
        Some((current, before)) => (current.as_str(), before),
        None => ("", words),
    };
    let t = Typed::read(&cmd, before);
    if let Some(arg) = &t.pending {
        return value(arg, current, &t);
    }
    if !t.dash_dash && current.starts_with('-') {
        if let Some((name, typed)) = current
            .strip_prefix("--")
            .and_then(|long| long.split_once('='))
        {
            return match cmd.get_arguments().find(|a| a.get_long() == Some(name)) {
                Some(arg) if takes_value(arg) => value(arg, typed, &t),
                _ => Request::Done(Answer::nothing()),
            };
        }
        return Request::Done(flags(&cmd, current, &t));
    }
    // The positional SERVICE, once, and not in a scan.
    if t.positionals > 0 || t.has("all") || t.has("all_namespaces") || t.has("selector") {
        return Request::Done(Answer::nothing());
    }
    let (prefix, typed) = SERVICE_PREFIXES
        .iter()
        .find_map(|p| current.strip_prefix(p).map(|rest| (*p, rest)))
        .unwrap_or(("", current));
    match t.access() {
        Some(access) => Request::Live(Box::new(Live {
            lookup: Lookup::Services {
                namespace: t.namespace(),
            },
            access,
            typed: typed.to_owned(),
            prefix: prefix.to_owned(),
            or_namespaces: false,
        })),
        None => Request::Done(Answer::nothing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(words: &[&str]) -> Request {
        request(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    fn done(words: &[&str]) -> Answer {
        match req(words) {
            Request::Done(a) => a,
            Request::Live(l) => panic!("{words:?}: a live lookup: {l:?}"),
        }
    }

    fn live(words: &[&str]) -> Live {
        match req(words) {
            Request::Live(l) => *l,
            Request::Done(a) => panic!("{words:?}: no live lookup: {a:?}"),
        }
    }

    fn values(a: &Answer) -> Vec<&str> {
        a.candidates.iter().map(|c| c.value.as_str()).collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_new_word_is_a_service_of_the_namespace_typed_or_the_contexts() {
        let l = live(&[""]);
        assert_eq!(l.lookup, Lookup::Services { namespace: None });
        assert_eq!((l.typed.as_str(), l.prefix.as_str()), ("", ""));
        let l = live(&["-n", "pay", "serv"]);
        assert_eq!(
            l.lookup,
            Lookup::Services {
                namespace: Some("pay".to_owned())
            }
        );
        assert_eq!(l.typed, "serv");
        let l = live(&["--namespace=pay", "-o", "json", ""]);
        assert_eq!(
            l.lookup,
            Lookup::Services {
                namespace: Some("pay".to_owned())
            }
        );
        // kubectl's -v=N and -v N take no SERVICE slot.
        let l = live(&["-v", "6", "--no-probe", ""]);
        assert_eq!(l.lookup, Lookup::Services { namespace: None });
    }

    #[test]
    fn a_service_typed_as_kubectl_spells_it_keeps_its_type() {
        let l = live(&["svc/pa"]);
        assert_eq!((l.prefix.as_str(), l.typed.as_str()), ("svc/", "pa"));
        let a = l.answer(&names(&["pay", "web", "payments"]), &[]);
        assert_eq!(values(&a), ["svc/pay", "svc/payments"]);
        assert_eq!(a.directive, directive::NO_FILE_COMP);
    }

    #[test]
    fn no_second_service_and_none_in_a_scan() {
        for words in [
            &["web", ""][..],
            &["--all", ""],
            &["-A", ""],
            &["-l", "tier=web", ""],
            &["--", "web", ""],
        ] {
            assert_eq!(done(words), Answer::nothing(), "{words:?}");
        }
    }

    #[test]
    fn flags_come_from_the_definition_without_hidden_or_given_ones() {
        let a = done(&["--no"]);
        assert_eq!(values(&a), ["--no-probe", "--no-headers"]);
        assert_eq!(a.directive, directive::NO_FILE_COMP);
        assert!(a.candidates.iter().all(|c| c.help.is_some()), "{a:?}");
        // Hidden: the completion scripts' flag.
        assert!(!values(&done(&["--"])).contains(&"--completions"));
        assert!(values(&done(&["--"])).contains(&"--help"));
        // Given already: not again; repeatable: again.
        let a = done(&["web", "--no-probe", "--from-namespace", "a", "--"]);
        assert!(!values(&a).contains(&"--no-probe"), "{a:?}");
        assert!(values(&a).contains(&"--from-namespace"), "{a:?}");
        // Short ones only for a lone dash.
        let a = done(&["-"]);
        assert!(values(&a).contains(&"-n") && values(&a).contains(&"--namespace"));
        assert!(!values(&done(&["--n"])).contains(&"-n"));
        // A short flag typed whole is offered, so that the shell adds the space.
        assert_eq!(values(&done(&["web", "-n"])), ["-n"]);
    }

    #[test]
    fn value_enums_are_offered_with_their_help() {
        assert_eq!(
            values(&done(&["web", "-o", ""])),
            ["table", "wide", "json", "yaml", "junit"]
        );
        assert_eq!(values(&done(&["web", "--output", "j"])), ["json", "junit"]);
        assert_eq!(values(&done(&["web", "-oj"])), Vec::<&str>::new());
        assert_eq!(values(&done(&["web", "--output=y"])), ["yaml"]);
        let a = done(&["web", "-o", "ju"]);
        assert_eq!(
            a.candidates[0].help.as_deref(),
            Some("JUnit XML for CI test reports (docs/ci.md)")
        );
        assert_eq!(
            values(&done(&["web", "--probe", ""])),
            ["pod", "local", "none"]
        );
        assert_eq!(
            values(&done(&["web", "--fail-on", ""])),
            ["error", "warning", "never"]
        );
        assert_eq!(values(&done(&["web", "--color", "a"])), ["auto", "always"]);
    }

    #[test]
    fn paths_are_left_to_the_shell_and_free_values_get_nothing() {
        let files = Answer {
            candidates: Vec::new(),
            directive: directive::DEFAULT,
        };
        for words in [
            &["web", "--snapshot", ""][..],
            &["web", "--save-snapshot", "ca"],
            &["--kubeconfig", ""],
            &["--kubeconfig=~/.k"],
            &["--certificate-authority", ""],
        ] {
            assert_eq!(done(words), files, "{words:?}");
        }
        for words in [
            &["web", "--wait", ""][..],
            &["web", "--image", ""],
            &["-l", ""],
            &["--unknown=x"],
            &["--no-probe="],
        ] {
            assert_eq!(done(words), Answer::nothing(), "{words:?}");
        }
    }

    #[test]
    fn namespaces_for_every_namespace_flag() {
        for words in [
            &["web", "-n", ""][..],
            &["web", "--namespace", "d"],
            &["web", "--namespace=d"],
            &["web", "--from-namespace", ""],
        ] {
            assert_eq!(live(words).lookup, Lookup::Namespaces, "{words:?}");
        }
        assert_eq!(live(&["web", "--namespace=d"]).typed, "d");
    }

    #[test]
    fn from_takes_a_pod_of_the_namespace_or_of_the_one_typed() {
        let l = live(&["web", "-n", "pay", "--from", "cl"]);
        assert_eq!(
            l.lookup,
            Lookup::Pods {
                namespace: Some("pay".to_owned())
            }
        );
        assert!(l.or_namespaces);
        // A pod matches: pods only.
        let a = l.answer(&names(&["client-0", "web-1"]), &names(&["client"]));
        assert_eq!(values(&a), ["client-0"]);
        assert_eq!(a.directive, directive::NO_FILE_COMP);
        // None does: the namespaces, to go on after the `/`.
        let a = l.answer(&names(&["web-1"]), &names(&["client", "default"]));
        assert_eq!(values(&a), ["client/"]);
        assert_eq!(a.directive, directive::NO_SPACE | directive::NO_FILE_COMP);

        let l = live(&["web", "--from", "client/we"]);
        assert_eq!(
            l.lookup,
            Lookup::Pods {
                namespace: Some("client".to_owned())
            }
        );
        assert!(!l.or_namespaces);
        let a = l.answer(&names(&["web-1", "web-2", "db-0"]), &[]);
        assert_eq!(values(&a), ["client/web-1", "client/web-2"]);
        assert_eq!(done(&["web", "--from", "Bad_NS/x"]), Answer::nothing());
    }

    #[test]
    fn the_access_flags_typed_are_used_and_bad_ones_stop_the_lookup() {
        let l = live(&[
            "--kubeconfig",
            "/k/config",
            "--context=prod",
            "-s",
            "api.example:6443",
            "--insecure-skip-tls-verify",
            "",
        ]);
        assert_eq!(
            l.access.kubeconfig.as_deref(),
            Some(std::path::Path::new("/k/config"))
        );
        assert_eq!(l.access.context.as_deref(), Some("prod"));
        assert_eq!(l.access.server.as_deref(), Some("https://api.example:6443"));
        assert!(l.access.insecure_skip_tls_verify);
        // A server that is no URL: no lookup (it would go elsewhere).
        assert_eq!(done(&["--server", "ftp://x", ""]), Answer::nothing());
    }

    #[test]
    fn the_protocol_is_one_candidate_a_line_then_the_directive() {
        let a = Answer {
            candidates: vec![
                Candidate {
                    value: "json".to_owned(),
                    help: Some("a\tb\nc".to_owned()),
                },
                Candidate {
                    value: "evil\x1b[2J".to_owned(),
                    help: None,
                },
                Candidate {
                    value: "web".to_owned(),
                    help: None,
                },
            ],
            directive: 6,
        };
        assert_eq!(a.render(), "json\ta b c\nweb\n:6\n");
        assert_eq!(Answer::nothing().render(), ":4\n");
    }
}
