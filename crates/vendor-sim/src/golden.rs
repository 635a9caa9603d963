//! Golden transcripts: what a simulator received, as text, compared with a file kept in the
//! repository. A connector's default mapping is pinned this way: the calls it makes are
//! recorded once and every later build must make the same ones.

use std::path::Path;

use crate::RequestLog;

/// Set to `1` to write the files instead of comparing (after a deliberate change).
pub const UPDATE_VAR: &str = "UPDATE_GOLDEN";

impl RequestLog {
    /// One block per request: `METHOD path`, then the (masked) body when there is one, then
    /// a blank line. Headers are left out: they carry nothing a mapping decides.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for request in self.all() {
            out.push_str(&request.method);
            out.push(' ');
            out.push_str(&request.path);
            out.push('\n');
            if !request.body.is_empty() {
                out.push_str(request.body.trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }
}

/// Compares `actual` with the file at `path`, or writes it when [`UPDATE_VAR`] is `1`.
/// Panics with the first differing line, so a failing test says what changed.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var(UPDATE_VAR).as_deref() == Ok("1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("golden directory");
        }
        std::fs::write(path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it with {UPDATE_VAR}=1 cargo test",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    panic!(
        "{} differs from what was sent, first at line {}:\n  expected: {:?}\n  sent:     {:?}\n(if the change is deliberate, record again with {UPDATE_VAR}=1)",
        path.display(),
        line + 1,
        expected.lines().nth(line).unwrap_or("<end>"),
        actual.lines().nth(line).unwrap_or("<end>"),
    );
}
