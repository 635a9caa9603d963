//! The README and `docs/` as this test reads them: the Markdown files, their code blocks, the
//! command lines in those, and their links and headings' anchors.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::ROOT;

// ---------------------------------------------------------------------------------------------
// Reading the docs

pub(super) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every `.md` under docs/, as paths relative to the repository.
pub(super) fn markdown_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                let relative = path.strip_prefix(ROOT).expect("in the repository");
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut files = vec!["README.md".to_owned()];
    walk(&Path::new(ROOT).join("docs"), &mut files);
    files
}

/// A fenced code block.
#[derive(Debug, Clone)]
struct Block {
    file: String,
    /// The line of the opening fence (1-based).
    fence_line: usize,
    lang: String,
    /// The level-2 heading the block sits under.
    section: String,
    /// The name a `<!-- file: NAME -->` line right above the fence gives it.
    file_name: Option<String>,
    /// (line, text) with the fence's indentation removed.
    lines: Vec<(usize, String)>,
}

/// The fenced blocks of a Markdown file.
fn blocks(file: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut open: Option<(Block, usize, String)> = None;
    let mut previous = "";
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            Some((block, fence_indent, fence)) => {
                if trimmed.starts_with(&fence) && trimmed.trim_end() == fence {
                    out.push(block);
                } else {
                    let mut block = block;
                    let cut = line
                        .char_indices()
                        .take_while(|(i, c)| *i < fence_indent && c.is_whitespace())
                        .count();
                    block.lines.push((number, line[cut..].to_owned()));
                    open = Some((block, fence_indent, fence));
                }
            }
            None => {
                if trimmed.starts_with("```") {
                    let fence: String = trimmed.chars().take_while(|c| *c == '`').collect();
                    let lang = trimmed[fence.len()..].trim().to_owned();
                    let file_name = previous
                        .trim()
                        .strip_prefix("<!-- file:")
                        .and_then(|rest| rest.strip_suffix("-->"))
                        .map(|name| name.trim().to_owned());
                    open = Some((
                        Block {
                            file: file.to_owned(),
                            fence_line: number,
                            lang,
                            section: section.clone(),
                            file_name,
                            lines: Vec::new(),
                        },
                        indent,
                        fence,
                    ));
                } else if let Some(heading) = line.strip_prefix("## ") {
                    section = heading.trim().to_owned();
                }
            }
        }
        previous = line;
    }
    assert!(open.is_none(), "{file}: a code block is never closed");
    out
}

/// Blocks whose lines are commands.
fn is_shell(lang: &str) -> bool {
    matches!(lang, "sh" | "bash" | "shell" | "console")
}

/// Words that start a command line.
const COMMAND_WORDS: &[&str] = &[
    "scim-bridge",
    "cargo",
    "curl",
    "docker",
    "kubectl",
    "vendor-sim",
];

/// One command line of the docs.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub(super) file: String,
    line: usize,
    /// Which block of its file it is in (curl variables live for one block).
    pub(super) block: usize,
    pub(super) section: String,
    pub(super) text: String,
}

impl Line {
    pub(super) fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The command lines of a shell block: continuations joined, comments and blank lines out.
fn command_lines(block: &Block, index: usize) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, text) in &block.lines {
        let (start, mut joined) = match pending.take() {
            Some((start, before)) => (start, format!("{before} {}", text.trim())),
            None => (*number, text.trim().to_owned()),
        };
        if let Some(rest) = joined.strip_suffix('\\') {
            joined = rest.trim_end().to_owned();
            pending = Some((start, joined));
            continue;
        }
        if joined.is_empty() || joined.starts_with('#') {
            continue;
        }
        out.push(Line {
            file: block.file.clone(),
            line: start,
            block: index,
            section: block.section.clone(),
            text: joined,
        });
    }
    out
}

/// Every command line of the README and docs/, and the commands that open each example.
pub(super) fn all_lines() -> (Vec<Line>, Vec<String>) {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for file in markdown_files() {
        let text = read(&Path::new(ROOT).join(&file));
        for (index, block) in blocks(&file, &text).iter().enumerate() {
            if is_shell(&block.lang) {
                lines.extend(command_lines(block, index));
            } else if block.lang.is_empty() || block.lang == "text" {
                for (number, line) in &block.lines {
                    let first = line.split_whitespace().next().unwrap_or_default();
                    if COMMAND_WORDS.contains(&first) {
                        problems.push(format!(
                            "{file}:{number}: a command in a block that is not ```sh, so nothing runs it: {line}"
                        ));
                    }
                }
            }
        }
    }
    lines.extend(example_lines());
    (lines, problems)
}

/// The `#   scim-bridge …` and `#   cargo …` lines of the comment that opens each example.
fn example_lines() -> Vec<Line> {
    let mut out = Vec::new();
    let dir = Path::new(ROOT).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for path in files {
        let file = format!(
            "examples/{}",
            path.file_name().expect("name").to_string_lossy()
        );
        for (index, line) in read(&path).lines().enumerate() {
            let Some(comment) = line.strip_prefix('#') else {
                break;
            };
            let command = comment.trim();
            let first = command.split_whitespace().next().unwrap_or_default();
            if comment.starts_with("   ") && COMMAND_WORDS.contains(&first) {
                out.push(Line {
                    file: file.clone(),
                    line: index + 1,
                    block: 0,
                    section: String::new(),
                    text: command.to_owned(),
                });
            }
        }
    }
    out
}

/// The README's literal `NAME=value` in its Docker Compose section.
pub(crate) fn readme_compose_value(name: &str) -> String {
    let readme = read(&Path::new(ROOT).join("README.md"));
    let section = readme
        .split("\n## Running with Docker Compose")
        .nth(1)
        .expect("the README has a \"Running with Docker Compose\" section");
    section
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("the compose section sets {name}=…"))
        .to_owned()
}

/// The files the docs show, by the name above their block.
pub(super) fn doc_files() -> BTreeMap<String, (String, String)> {
    let mut files: BTreeMap<String, (String, String)> = BTreeMap::new();
    for file in markdown_files() {
        let text = read(&Path::new(ROOT).join(&file));
        for block in blocks(&file, &text) {
            let Some(name) = block.file_name.clone() else {
                continue;
            };
            let mut content: String = block.lines.iter().map(|(_, l)| format!("{l}\n")).collect();
            if content.is_empty() {
                content.push('\n');
            }
            let at = format!("{file}:{}", block.fence_line);
            if let Some((other_at, other)) = files.get(&name) {
                assert_eq!(
                    other, &content,
                    "{name} is shown twice, differently: at {other_at} and at {at}"
                );
            } else {
                files.insert(name, (at, content));
            }
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------
// Links

/// GitHub's anchor for a heading: lower case, punctuation out, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown file outside fenced code blocks, with their index from 0.
fn outside_code(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            let marks: String = trimmed.chars().take_while(|c| *c == '`').collect();
            match &fence {
                Some(open) if trimmed.trim_end() == open => fence = None,
                Some(_) => {}
                None => fence = Some(marks),
            }
            continue;
        }
        if fence.is_none() {
            out.push((index, line));
        }
    }
    out
}

/// The anchors of a Markdown file's headings (outside code blocks).
pub(super) fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in outside_code(text) {
        if !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(heading);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// The `[text](target)` links of a Markdown file, outside code: (line, target).
pub(super) fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (index, line) in outside_code(text) {
        // Inline code is not a link: drop what is between backticks.
        let mut plain = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                plain.push(c);
            }
        }
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else {
                break;
            };
            out.push((index + 1, after[..end].trim().to_owned()));
            rest = &after[end..];
        }
    }
    out
}
