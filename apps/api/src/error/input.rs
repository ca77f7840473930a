//! A deserializer's complaint reduced to what names no input value (see the invariants
//! of [`crate::error`]): serde writes `invalid type: string "010-1234-5678", expected
//! u32`, the caller reads `invalid type: string, expected u32`.

use domain::error::FieldError;

/// A deserializer's complaint with every input value dropped (see the module invariants).
///
/// Built only by [`InputProblem::from_serde`] (any serde message) and
/// [`InputProblem::unreadable`]; the message is either one of serde's fixed texts, or a
/// template of ours with field names and serde's `expected ...` text (written by the
/// type's code, never by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    message: String,
    details: Vec<FieldError>,
}

/// Parser messages that carry no input: serde_json's syntax errors and the standard
/// library's number and boolean parse errors (what serde_urlencoded reports).
const FIXED_MESSAGES: &[&str] = &[
    "EOF while parsing a list",
    "EOF while parsing an object",
    "EOF while parsing a string",
    "EOF while parsing a value",
    "expected `:`",
    "expected `,` or `]`",
    "expected `,` or `}`",
    "expected ident",
    "expected value",
    "expected `\"`",
    "invalid escape",
    "invalid number",
    "number out of range",
    "invalid unicode code point",
    "control character (\\u0000-\\u001F) found while parsing a string",
    "key must be a string",
    "invalid value: expected key to be a number in quotes",
    "float key must be finite (got NaN or +/-inf)",
    "lone leading surrogate in hex escape",
    "trailing comma",
    "trailing characters",
    "unexpected end of hex escape",
    "recursion limit exceeded",
    "invalid digit found in string",
    "cannot parse integer from empty string",
    "number too large to fit in target type",
    "number too small to fit in target type",
    "invalid float literal",
    "provided string was not `true` or `false`",
];

/// What serde's `Unexpected` names, without the value that follows the name.
const UNEXPECTED_KINDS: &[&str] = &[
    "boolean",
    "integer",
    "floating point",
    "character",
    "string",
    "byte array",
    "unit value",
    "Option value",
    "newtype struct",
    "sequence",
    "map",
    "enum",
    "unit variant",
    "newtype variant",
    "tuple variant",
    "struct variant",
    "null",
];

/// What replaces a message this module does not know (a custom deserializer's, which
/// may quote the input).
const UNKNOWN_PROBLEM: &str = "a value is not in the expected form";

impl InputProblem {
    /// Reads a serde error message (`serde_json`, `serde_urlencoded`, actix's path
    /// deserializer) and keeps only what names no input value.
    #[must_use]
    pub fn from_serde(message: &str) -> Self {
        let (body, position) = split_position(message);
        let (text, field) = describe(body);
        let message = match position {
            Some(position) => format!("{text}{position}"),
            None => text,
        };
        Self { message, details: field.into_iter().collect() }
    }

    /// The body could not be read at all (a transport error, not the caller's content).
    #[must_use]
    pub fn unreadable() -> Self {
        Self { message: "the request body could not be read".to_owned(), details: Vec::new() }
    }

    /// The offending field, when the deserializer named one.
    #[must_use]
    pub fn details(&self) -> &[FieldError] {
        &self.details
    }
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// serde_json's ` at line L column C` suffix (numbers only), split off to be kept.
fn split_position(message: &str) -> (&str, Option<&str>) {
    if let Some(at) = message.rfind(" at line ") {
        let suffix = &message[at..];
        let numbers = suffix[" at line ".len()..].split_once(" column ");
        if numbers.is_some_and(|(line, column)| {
            [line, column].iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }) {
            return (&message[..at], Some(suffix));
        }
    }
    (message, None)
}

/// The text between the first pair of backticks after `prefix`.
fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.strip_prefix('`')?.split('`').next()
}

/// serde's ` expected ...` tail (the type's own words), found from the end because the
/// value before it may itself contain `, expected `.
fn expected_tail(message: &str) -> Option<&str> {
    message.rfind(", expected ").map(|at| &message[at + ", ".len()..])
}

fn with_expected(head: &str, message: &str) -> String {
    match expected_tail(message) {
        Some(expected) => format!("{head}, {expected}"),
        None => head.to_owned(),
    }
}

fn unexpected_kind(value: &str) -> &'static str {
    UNEXPECTED_KINDS.iter().find(|kind| value.starts_with(**kind)).copied().unwrap_or("a value")
}

fn describe(message: &str) -> (String, Option<FieldError>) {
    if let Some(fixed) = FIXED_MESSAGES.iter().find(|fixed| **fixed == message) {
        return ((*fixed).to_owned(), None);
    }
    if let Some(field) = backticked(message, "unknown field ") {
        let text = if message.ends_with("there are no fields") {
            format!("unknown field `{field}`, there are no fields")
        } else {
            with_expected(&format!("unknown field `{field}`"), message)
        };
        return (text, Some(FieldError::new(field, "unknown field")));
    }
    for (prefix, reason) in [("missing field ", "is required"), ("duplicate field ", "is given twice")] {
        if let Some(field) = backticked(message, prefix) {
            return (format!("{prefix}`{field}`"), Some(FieldError::new(field, reason)));
        }
    }
    if message.starts_with("unknown variant `") {
        return (with_expected("unknown variant", message), None);
    }
    for head in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(head) {
            let kind = unexpected_kind(rest);
            return (with_expected(&format!("{head}{kind}"), message), None);
        }
    }
    if message.starts_with("invalid length ") {
        return (with_expected("invalid length", message), None);
    }
    (UNKNOWN_PROBLEM.to_owned(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(message: &str) -> (String, Vec<(String, String)>) {
        let p = InputProblem::from_serde(message);
        (p.to_string(), p.details().iter().map(|f| (f.field.clone(), f.reason.clone())).collect())
    }

    #[test]
    fn a_value_serde_quotes_is_dropped_and_the_expectation_kept() {
        let (text, details) = problem(r#"invalid type: string "010-1234-5678", expected u32 at line 1 column 20"#);
        assert_eq!(text, "invalid type: string, expected u32 at line 1 column 20");
        assert!(details.is_empty());
        let (text, _) = problem(r#"invalid value: string "kim@example.com", expected a valid phone"#);
        assert_eq!(text, "invalid value: string, expected a valid phone");
        let (text, _) = problem("invalid type: integer `1012345678`, expected a string");
        assert_eq!(text, "invalid type: integer, expected a string");
        let (text, _) = problem("invalid length 3, expected a tuple of size 2");
        assert_eq!(text, "invalid length, expected a tuple of size 2");
    }

    #[test]
    fn a_value_that_imitates_serde_text_is_still_dropped() {
        let sneaky = r#"invalid type: string "Kim, expected 010-9999-0000 at line 9 column 9", expected u32 at line 1 column 80"#;
        let (text, _) = problem(sneaky);
        assert_eq!(text, "invalid type: string, expected u32 at line 1 column 80");
        let (text, _) = problem("unknown variant `HONG GIL-DONG`, expected one of `MALE`, `FEMALE`");
        assert_eq!(text, "unknown variant, expected one of `MALE`, `FEMALE`");
        assert!(!text.contains("HONG"));
    }

    #[test]
    fn field_names_are_kept_with_the_kind_of_problem() {
        assert_eq!(
            problem("unknown field `owner`, expected one of `name`, `quantity`"),
            (
                "unknown field `owner`, expected one of `name`, `quantity`".to_owned(),
                vec![("owner".to_owned(), "unknown field".to_owned())]
            )
        );
        assert_eq!(
            problem("missing field `quantity` at line 1 column 12"),
            (
                "missing field `quantity` at line 1 column 12".to_owned(),
                vec![("quantity".to_owned(), "is required".to_owned())]
            )
        );
        assert_eq!(problem("duplicate field `name`").1, vec![("name".to_owned(), "is given twice".to_owned())]);
    }

    #[test]
    fn fixed_parser_texts_pass_and_custom_ones_are_replaced() {
        assert_eq!(
            problem("EOF while parsing a value at line 1 column 9").0,
            "EOF while parsing a value at line 1 column 9"
        );
        assert_eq!(problem("invalid digit found in string").0, "invalid digit found in string");
        for custom in [
            r#"can not parse "010-1234-5678" to a u32"#,
            "UUID parsing failed: invalid character: found `k` at 1",
            "kim@example.com is not allowed",
        ] {
            assert_eq!(problem(custom).0, UNKNOWN_PROBLEM, "{custom}");
        }
    }
}
