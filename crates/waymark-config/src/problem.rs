//! What `waymark config check` prints: each problem with the file, the line and column where
//! they are known, the key, what is wrong and what was expected. Problems never quote a secret.

use std::fmt;

/// One thing wrong with a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line and column, where known.
    pub at: Option<(usize, usize)>,
    /// The dotted key (`hub.bus`, `feeds.nomis.listen`); empty for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What was expected.
    pub expected: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        let key = if self.key.is_empty() {
            "(file)"
        } else {
            &self.key
        };
        write!(f, ": `{key}`: {}", self.message)?;
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        Ok(())
    }
}

/// Every problem found, in file order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Problems(pub Vec<Problem>);

fn render(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where `key` (dotted) is set in `text`: the `name =` line under its table header, or the
/// table header itself. A small locator for problems found after parsing, when no span is left.
pub fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    locate_assignment(text, key).or_else(|| locate_header(text, key))
}

fn locate_header(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim();
        if line.starts_with('[') && line.trim_matches(|c| c == '[' || c == ']').trim() == key {
            return Some(line_column(
                text,
                offset + raw.len() - raw.trim_start().len(),
            ));
        }
        offset += raw.len();
    }
    None
}

fn locate_assignment(text: &str, key: &str) -> Option<(usize, usize)> {
    let (table, name) = match key.rsplit_once('.') {
        Some((table, name)) => (table, name),
        None => ("", key),
    };
    let mut in_table = table.is_empty();
    let mut offset = 0;
    let mut header_at = None;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').trim();
            in_table = header == table;
            if in_table {
                header_at = Some(offset);
            }
        } else if in_table && assigns(line, name) {
            let indent = raw.len() - raw.trim_start().len();
            return Some(line_column(text, offset + indent));
        }
        offset += raw.len();
    }
    header_at.map(|at| line_column(text, at))
}

fn assigns(line: &str, name: &str) -> bool {
    line.split_once('=')
        .is_some_and(|(left, _)| left.trim().trim_matches('"') == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "version = 1\n\n[hub]\nbus = \"x\"\n  store = \"y\"\n[api]\nlisten = \"z\"\n";

    #[test]
    fn locates_keys_under_their_table() {
        assert_eq!(locate(TEXT, "version"), Some((1, 1)));
        assert_eq!(locate(TEXT, "hub.bus"), Some((4, 1)));
        assert_eq!(locate(TEXT, "hub.store"), Some((5, 3)));
        assert_eq!(locate(TEXT, "api.listen"), Some((7, 1)));
        assert_eq!(
            locate(TEXT, "api.auth"),
            Some((6, 1)),
            "the table when the key is absent"
        );
        assert_eq!(locate(TEXT, "stages.workers"), None);
        assert_eq!(
            locate("[feeds.x]\na = 1\n", "feeds.x"),
            Some((1, 1)),
            "a table by its header"
        );
    }

    #[test]
    fn renders_file_line_key_and_expectation() {
        let p = Problem {
            file: "hub.toml".into(),
            at: Some((4, 1)),
            key: "hub.bus".into(),
            message: "unknown scheme `http`".into(),
            expected: "amqp://, amqps:// or sqlite://".into(),
        };
        assert_eq!(
            p.to_string(),
            "hub.toml:4:1: `hub.bus`: unknown scheme `http`; expected amqp://, amqps:// or sqlite://"
        );
    }
}
