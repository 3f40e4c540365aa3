//! Where results go: human tables and notes, or JSON, on stdout; errors on stderr.

use std::io::Write as _;

use serde::Serialize;
use serde_json::Value;

/// How this invocation prints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
    quiet: bool,
}

impl Output {
    /// `--json`, `--quiet`.
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        Self { json, quiet }
    }

    /// Whether results are JSON.
    pub(crate) fn json(self) -> bool {
        self.json
    }

    /// Whether `--quiet` was given.
    pub(crate) fn quiet(self) -> bool {
        self.quiet
    }

    /// Whether progress may be shown (neither `--quiet` nor `--json`).
    pub(crate) fn progress(self) -> bool {
        !self.json && !self.quiet
    }

    /// Prints a value as JSON on stdout.
    pub(crate) fn json_value<T: Serialize + ?Sized>(value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => write_stdout(&text),
            Err(e) => Self::error(&format!("error: cannot print the result as JSON: {e}")),
        }
    }

    /// Prints a result: `value` as JSON with `--json`, else `human()` (data: printed even with `--quiet`).
    pub(crate) fn data<T: Serialize + ?Sized>(self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            Self::json_value(value);
        } else {
            write_stdout(human().trim_end_matches('\n'));
        }
    }

    /// Prints the result of a change: `value` as JSON with `--json`, else `human()` unless `--quiet`.
    pub(crate) fn done<T: Serialize + ?Sized>(self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            Self::json_value(value);
        } else if !self.quiet {
            write_stdout(human().trim_end_matches('\n'));
        }
    }

    /// Prints an error line on stderr.
    pub(crate) fn error(line: &str) {
        let mut stderr = std::io::stderr().lock();
        // Nothing can be reported when stderr itself is closed.
        let _ = writeln!(stderr, "{line}");
    }
}

/// Writes text and a newline to stdout; a closed pipe (`zelavis ... | head`) is not an error.
fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// A human table: a header and rows, columns aligned with two spaces, the last column unpadded.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub(crate) fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (cells past the header's width are dropped, missing ones are empty).
    pub(crate) fn row<const N: usize>(&mut self, cells: [String; N]) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| one_line(&c)).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as text, one line per row.
    pub(crate) fn render(&self) -> String {
        let width = |column: usize| {
            std::iter::once(&self.header)
                .chain(&self.rows)
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.header.len()).map(width).collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Key/value lines, keys aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    use std::fmt::Write as _;
    let width = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    pairs.iter().fold(String::new(), |mut out, (k, v)| {
        // Writing into a String cannot fail.
        let _ = writeln!(out, "{k:<width$}  {}", one_line(v));
        out
    })
}

/// A cell on one line: control characters (newlines, escapes from stored text) shown as spaces.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// An optional cell: the value or `-`.
pub(crate) fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A list cell: comma-separated, or `-` when empty.
pub(crate) fn list<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// `yes` or `no`.
pub(crate) fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

/// A JSON value as a cell: strings bare, everything else as compact JSON.
pub(crate) fn json_cell(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_the_last_is_not_padded() {
        let mut table = Table::new(["ID", "TIER", "NICHE"]);
        table.row(["acme".into(), "enterprise".into(), "retail".into()]);
        table.row(["globex-corp".into(), "pro".into(), "food\nservice".into()]);
        assert_eq!(
            table.render(),
            "ID           TIER        NICHE\nacme         enterprise  retail\nglobex-corp  pro         food service\n"
        );
    }
}
