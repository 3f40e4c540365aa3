//! Parsing JSON documents with the path of the offending value, shared by the catalog and the registry state.

use serde::de::DeserializeOwned;

/// A JSON document that is malformed or does not have the expected shape, with where.
pub(crate) struct JsonError {
    /// `$` for the whole document, else `$.` then `serde_path_to_error`'s path, e.g. `$.records[3].status`.
    pub(crate) path: String,
    /// serde's reason, without its " at line L column C" suffix (line and column are kept as fields).
    pub(crate) reason: String,
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column.
    pub(crate) column: usize,
}

/// Deserialises the whole of `text` as a `T`, refusing trailing data.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        error(&root_path(&path), e.inner())
    })?;
    deserializer.end().map_err(|e| error("$", &e))?;
    Ok(value)
}

/// Serialises a value whose `Serialize` impl cannot fail (string keys only, no fallible custom impls).
pub(crate) fn to_pretty<T: serde::Serialize>(value: &T) -> String {
    #[allow(
        clippy::expect_used,
        reason = "the registry's own types serialise to JSON infallibly: string map keys, no custom errors"
    )]
    serde_json::to_string_pretty(value).expect("registry types always serialise to JSON") // ok: our own plain types always serialise
}

/// Turns `serde_path_to_error`'s path (`.` for the root, `records[3].status` below it) into `$`-rooted form.
/// A trailing unknown segment (`?`, when the text ends or breaks inside a map) is dropped: the error is at the
/// value that holds it.
pub(crate) fn root_path(path: &str) -> String {
    let path = path.strip_suffix(".?").unwrap_or(path);
    if path.is_empty() || path == "." || path == "?" {
        "$".to_owned()
    } else {
        format!("$.{path}")
    }
}

fn error(path: &str, inner: &serde_json::Error) -> JsonError {
    let message = inner.to_string();
    let reason = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    JsonError {
        path: path.to_owned(),
        reason,
        line: inner.line(),
        column: inner.column(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only deserialised")]
    struct Doc {
        items: Vec<u32>,
    }

    #[test]
    fn paths_are_rooted_at_dollar() {
        let err = parse::<Doc>(r#"{"items": [1, -2]}"#).err().unwrap();
        assert_eq!(err.path, "$.items[1]");
        assert!(!err.reason.contains(" at line "), "{}", err.reason);
        assert_eq!((err.line, err.column), (1, 16));
    }

    #[test]
    fn malformed_and_trailing_text_are_reported_at_the_root() {
        assert_eq!(parse::<Doc>("{").err().unwrap().path, "$");
        assert_eq!(parse::<Doc>(r#"{"items": []} x"#).err().unwrap().path, "$");
        assert_eq!(parse::<Doc>(r#"{"items": [1], "#).err().unwrap().path, "$");
        assert_eq!(root_path("items[0].?"), "$.items[0]");
    }
}
