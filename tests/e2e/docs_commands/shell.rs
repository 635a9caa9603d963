//! The docs' command lines as a shell would split them, and what each one is.

use std::path::Path;

use super::markdown::Line;
use super::{DEMO_COVERED_BY, ELSEWHERE, ROOT};

// ---------------------------------------------------------------------------------------------
// Shell words

/// A piece of a word: literal text, or a `$VARIABLE`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seg {
    Lit(String),
    Var(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(Vec<Seg>),
    Pipe,
}

/// A line split as a POSIX shell splits it (quotes, escapes, `$VAR` and `${VAR}`, `|`, and a
/// trailing comment, returned apart). Anything else a shell would do is refused.
fn tokenize(line: &str) -> Result<(Vec<Tok>, String), String> {
    fn push(word: &mut Option<Vec<Seg>>, c: char) {
        let segs = word.get_or_insert_with(Vec::new);
        match segs.last_mut() {
            Some(Seg::Lit(text)) => text.push(c),
            _ => segs.push(Seg::Lit(c.to_string())),
        }
    }
    fn variable(
        chars: &mut std::iter::Peekable<std::str::Chars>,
    ) -> Result<Option<String>, String> {
        if chars.peek() == Some(&'{') {
            chars.next();
            let mut name = String::new();
            for c in chars.by_ref() {
                if c == '}' {
                    return Ok(Some(name));
                }
                name.push(c);
            }
            return Err("an unclosed ${".into());
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        Ok((!name.is_empty()).then_some(name))
    }
    let mut toks = Vec::new();
    let mut word: Option<Vec<Seg>> = None;
    let mut chars = line.chars().peekable();
    let mut comment = String::new();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    toks.push(Tok::Word(w));
                }
            }
            '#' if word.is_none() => {
                comment = chars.collect::<String>().trim().to_owned();
                break;
            }
            '|' => {
                if let Some(w) = word.take() {
                    toks.push(Tok::Word(w));
                }
                toks.push(Tok::Pipe);
            }
            ';' | '&' | '>' | '<' | '`' | '(' | ')' => {
                return Err(format!("shell syntax the test does not run: {c:?}"));
            }
            '\'' => {
                word.get_or_insert_with(Vec::new);
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '\'' {
                        closed = true;
                        break;
                    }
                    push(&mut word, c);
                }
                if !closed {
                    return Err("an unclosed '".into());
                }
            }
            '"' => {
                word.get_or_insert_with(Vec::new);
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => push(&mut word, e),
                            Some(other) => {
                                push(&mut word, '\\');
                                push(&mut word, other);
                            }
                            None => return Err("a \\ at the end of a quoted text".into()),
                        },
                        '$' => match variable(&mut chars)? {
                            Some(name) => word.get_or_insert_with(Vec::new).push(Seg::Var(name)),
                            None => push(&mut word, '$'),
                        },
                        '`' => return Err("command substitution the test does not run".into()),
                        c => push(&mut word, c),
                    }
                }
                if !closed {
                    return Err("an unclosed \"".into());
                }
            }
            '\\' => match chars.next() {
                Some(c) => push(&mut word, c),
                None => return Err("a \\ at the end of the line".into()),
            },
            '$' => match variable(&mut chars)? {
                Some(name) => word.get_or_insert_with(Vec::new).push(Seg::Var(name)),
                None => push(&mut word, '$'),
            },
            c => push(&mut word, c),
        }
    }
    if let Some(w) = word.take() {
        toks.push(Tok::Word(w));
    }
    Ok((toks, comment))
}

/// A word without variables, as text.
pub(super) fn literal(word: &[Seg]) -> Option<String> {
    let mut out = String::new();
    for seg in word {
        match seg {
            Seg::Lit(text) => out.push_str(text),
            Seg::Var(_) => return None,
        }
    }
    Some(out)
}

/// `NAME=…` at the start of a word: the name and the value's pieces.
fn assignment(word: &[Seg]) -> Option<(String, Vec<Seg>)> {
    let Some(Seg::Lit(first)) = word.first() else {
        return None;
    };
    let (name, value) = first.split_once('=')?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return None;
    }
    let mut rest = Vec::new();
    if !value.is_empty() {
        rest.push(Seg::Lit(value.to_owned()));
    }
    rest.extend(word[1..].iter().cloned());
    Some((name.to_owned(), rest))
}

// ---------------------------------------------------------------------------------------------
// Classifying

/// A program of the workspace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Program {
    ScimBridge,
    VendorSim,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// `NAME=value` alone: a shell variable.
    Assign { name: String, value: Vec<Seg> },
    /// `curl …` (the words after `curl`).
    Curl(Vec<Vec<Seg>>),
    /// A program run to its end.
    Run {
        program: Program,
        env: Vec<(String, String)>,
        args: Vec<String>,
        stdin: Option<String>,
        status: i32,
    },
    /// `scim-bridge serve …`: must get ready.
    Serve {
        env: Vec<(String, String)>,
        args: Vec<String>,
    },
    /// `vendor-sim …`: must start each simulator.
    Simulators { args: Vec<String> },
    /// Run by another test.
    Elsewhere(&'static str),
}

/// What `line` is, or why no rule covers it.
pub(super) fn classify(line: &Line) -> Result<Kind, String> {
    let (toks, comment) = tokenize(&line.text)?;
    let words: Vec<Vec<Seg>> = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(w.clone()),
            Tok::Pipe => None,
        })
        .collect();
    let normal = words
        .iter()
        .map(|w| literal(w).unwrap_or_else(|| "$…".into()))
        .collect::<Vec<_>>()
        .join(" ");
    for (start, covered_by) in ELSEWHERE {
        if normal == start.trim_end() || normal.starts_with(*start) {
            if start.starts_with("cargo +nightly fuzz") {
                check_fuzz(&words)?;
            }
            return Ok(Kind::Elsewhere(covered_by));
        }
    }

    // `echo TEXT | command`: TEXT is the command's standard input.
    let mut stdin = None;
    let mut toks = toks.as_slice();
    if let Some(at) = toks.iter().position(|t| *t == Tok::Pipe) {
        let before: Vec<String> = toks[..at]
            .iter()
            .map(|t| match t {
                Tok::Word(w) => literal(w).ok_or("a variable before a pipe"),
                Tok::Pipe => Err("two pipes"),
            })
            .collect::<Result<_, _>>()?;
        if before.first().map(String::as_str) != Some("echo") || toks[at + 1..].contains(&Tok::Pipe)
        {
            return Err("only `echo TEXT | command` is run".into());
        }
        stdin = Some(format!("{}\n", before[1..].join(" ")));
        toks = &toks[at + 1..];
    }
    let mut words: Vec<Vec<Seg>> = toks
        .iter()
        .map(|t| match t {
            Tok::Word(w) => w.clone(),
            Tok::Pipe => unreachable!("pipes are taken apart above"),
        })
        .collect();

    let mut env = Vec::new();
    while let Some((name, value)) = words.first().and_then(|w| assignment(w)) {
        words.remove(0);
        if words.is_empty() {
            if !env.is_empty() || stdin.is_some() {
                return Err("several assignments on one line".into());
            }
            return Ok(Kind::Assign { name, value });
        }
        let value = literal(&value).ok_or("a variable in a command's environment")?;
        env.push((name, value));
    }
    let Some(first) = words.first().and_then(|w| literal(w)) else {
        return Err("no command".into());
    };
    if first == "curl" {
        if !env.is_empty() || stdin.is_some() {
            return Err("curl with an environment or standard input".into());
        }
        return Ok(Kind::Curl(words[1..].to_vec()));
    }
    let words: Vec<String> = words
        .iter()
        .map(|w| literal(w).ok_or_else(|| format!("a variable in `{normal}`")))
        .collect::<Result<_, _>>()?;
    let (program, args) = match first.as_str() {
        "scim-bridge" => (Program::ScimBridge, words[1..].to_vec()),
        "vendor-sim" => (Program::VendorSim, words[1..].to_vec()),
        "cargo" => cargo_run(&words[1..])?,
        other => return Err(format!("no rule runs `{other}` commands")),
    };
    let status = match comment.split_once("exit status ") {
        Some((_, rest)) => rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or("an exit status that is not a number")?,
        None => 0,
    };
    match program {
        Program::VendorSim => Ok(Kind::Simulators { args }),
        Program::ScimBridge => match args.first().map(String::as_str) {
            Some("demo") => Ok(Kind::Elsewhere(DEMO_COVERED_BY)),
            Some("serve") => Ok(Kind::Serve { env, args }),
            _ => Ok(Kind::Run {
                program,
                env,
                args,
                stdin,
                status,
            }),
        },
    }
}

/// `cargo run [--release] [-p P] [--bin B] -- ARGS`: the program and its arguments.
fn cargo_run(words: &[String]) -> Result<(Program, Vec<String>), String> {
    if words.first().map(String::as_str) != Some("run") {
        return Err(format!("no rule runs `cargo {}`", words.join(" ")));
    }
    let mut package = None;
    let mut bin = None;
    let mut rest = words[1..].iter();
    let mut args = Vec::new();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--release" | "-q" | "--quiet" | "--locked" => {}
            "-p" | "--package" => package = rest.next().cloned(),
            "--bin" => bin = rest.next().cloned(),
            "--" => {
                args = rest.cloned().collect();
                break;
            }
            other => {
                return Err(format!(
                    "cargo run with {other}, which the test does not know"
                ));
            }
        }
    }
    let program = match package.as_deref() {
        None | Some("scim-bridge") => Program::ScimBridge,
        Some("vendor-sim") => Program::VendorSim,
        Some(other) => return Err(format!("cargo run -p {other}: no such binary here")),
    };
    let name = match program {
        Program::ScimBridge => "scim-bridge",
        Program::VendorSim => "vendor-sim",
    };
    if bin.as_deref().is_some_and(|b| b != name) {
        return Err(format!(
            "cargo run --bin {}: not {name}'s binary",
            bin.unwrap_or_default()
        ));
    }
    Ok((program, args))
}

/// `cargo +nightly fuzz run [-O] TARGET SEEDS …`, run in fuzz/: both must exist.
fn check_fuzz(words: &[Vec<Seg>]) -> Result<(), String> {
    let words: Vec<String> = words.iter().filter_map(|w| literal(w)).collect();
    let operands: Vec<&String> = words[4..]
        .iter()
        .take_while(|w| *w != "--")
        .filter(|w| !w.starts_with('-'))
        .collect();
    let [target, seeds, ..] = operands.as_slice() else {
        return Err("a fuzz run without a target and a seed directory".into());
    };
    let fuzz = Path::new(ROOT).join("fuzz");
    let target_file = fuzz.join("fuzz_targets").join(format!("{target}.rs"));
    if !target_file.exists() {
        return Err(format!("no fuzz target {}", target_file.display()));
    }
    if !fuzz.join(seeds).is_dir() {
        return Err(format!("no seed directory fuzz/{seeds}"));
    }
    Ok(())
}
