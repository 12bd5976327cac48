//! A format-neutral tree of the profile file, with source positions.
//!
//! TOML and JSON are both read into this tree first so that decoding can walk
//! the whole document and report *every* problem (unknown keys, wrong types)
//! instead of stopping at the first one as serde would.

use std::fmt;

/// 1-based line and column of a value or key in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value with the position it was written at (TOML only; JSON has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Option<Pos>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Option<Pos>,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A TOML datetime, kept as text: no profile field takes one.
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

impl Value {
    /// Short rendering of the value for "found …" messages.
    pub fn brief(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Str(s) => format!("{s:?}"),
            Value::Datetime(s) => s.clone(),
            Value::Array(a) => format!("an array of {}", a.len()),
            Value::Table(_) => "a table".into(),
        }
    }
}

/// The file format, chosen by extension (`.json` is JSON, anything else TOML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Json => "JSON",
        }
    }

    pub fn from_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

/// A syntax error of the file, with its position where the parser gives one.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Option<Pos>,
    pub message: String,
}

/// Parses `text` into a [`Node`] tree, or every syntax error found.
pub fn parse(text: &str, format: Format) -> Result<Node, Vec<SyntaxError>> {
    match format {
        Format::Toml => parse_toml(text),
        Format::Json => parse_json(text),
    }
}

/// Maps byte offsets to line:column; built once per file.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn pos(&self, text: &str, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = text
            .get(start..offset.min(text.len()))
            .map_or(1, |s| s.chars().count() + 1);
        Pos { line, col }
    }
}

fn parse_toml(text: &str) -> Result<Node, Vec<SyntaxError>> {
    use toml::de::{DeTable, DeValue};
    let index = LineIndex::new(text);
    let (table, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| SyntaxError {
                pos: e.span().map(|s| index.pos(text, s.start)),
                message: e.message().trim().to_string(),
            })
            .collect());
    }

    fn conv(v: &DeValue<'_>, start: usize, text: &str, index: &LineIndex) -> Node {
        let pos = Some(index.pos(text, start));
        let value = match v {
            DeValue::String(s) => Value::Str(s.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Int(n),
                Err(_) => Value::Str(i.as_str().to_string()),
            },
            DeValue::Float(x) => {
                Value::Float(x.as_str().replace('_', "").parse().unwrap_or(f64::NAN))
            }
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::Datetime(d.to_string()),
            DeValue::Array(a) => Value::Array(
                a.iter()
                    .map(|n| conv(n.get_ref(), n.span().start, text, index))
                    .collect(),
            ),
            DeValue::Table(t) => Value::Table(table_entries(t, text, index)),
        };
        Node { value, pos }
    }

    fn table_entries(t: &DeTable<'_>, text: &str, index: &LineIndex) -> Vec<Entry> {
        t.iter()
            .map(|(k, v)| Entry {
                key: k.get_ref().to_string(),
                key_pos: Some(index.pos(text, k.span().start)),
                node: conv(v.get_ref(), v.span().start, text, index),
            })
            .collect()
    }

    Ok(Node {
        value: Value::Table(table_entries(table.get_ref(), text, &index)),
        pos: Some(Pos { line: 1, col: 1 }),
    })
}

fn parse_json(text: &str) -> Result<Node, Vec<SyntaxError>> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        vec![SyntaxError {
            pos: Some(Pos {
                line: e.line(),
                col: e.column(),
            }),
            message: e.to_string(),
        }]
    })?;
    fn conv(v: serde_json::Value) -> Node {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(conv).collect()),
            serde_json::Value::Object(o) => Value::Table(
                o.into_iter()
                    .map(|(key, v)| Entry {
                        key,
                        key_pos: None,
                        node: conv(v),
                    })
                    .collect(),
            ),
        };
        Node { value, pos: None }
    }
    Ok(conv(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_positions_point_at_keys_and_values() {
        let n = parse("a = 1\n[b]\n  c = \"x\"\n", Format::Toml).unwrap();
        let Value::Table(t) = n.value else { panic!() };
        assert_eq!(t[1].key, "b");
        let Value::Table(b) = &t[1].node.value else {
            panic!()
        };
        assert_eq!(b[0].key_pos, Some(Pos { line: 3, col: 3 }));
        assert_eq!(b[0].node.pos, Some(Pos { line: 3, col: 7 }));
    }

    #[test]
    fn toml_syntax_errors_have_positions() {
        let e = parse("a = \n", Format::Toml).unwrap_err();
        assert_eq!(e[0].pos.map(|p| p.line), Some(1));
    }

    #[test]
    fn json_errors_have_positions() {
        let e = parse("{\n \"a\": }", Format::Json).unwrap_err();
        assert_eq!(e[0].pos.map(|p| p.line), Some(2));
    }
}
