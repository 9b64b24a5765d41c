//! A small YAML document tree with line numbers, built from the event stream of `yaml-rust2`.
//!
//! Rules need three things a generic YAML value does not give: the line of every node (for
//! diagnostics), map keys in file order (for deterministic output), and hard bounds on hostile input.
//! The parser is driven event by event (its state machine keeps an explicit stack), and the tree is
//! assembled here with an explicit stack too, so neither recursion nor alias expansion can exhaust
//! the stack or the heap: nesting depth and the total number of nodes are capped.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of sequences and maps accepted in one document.
pub const MAX_DEPTH: usize = 64;
/// Most nodes (counting alias copies) accepted in one input.
pub const MAX_NODES: usize = 1_000_000;

/// The type a scalar resolves to under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// `null`, `~` or an empty plain scalar.
    Null,
    /// `true` / `false`.
    Bool,
    /// An integer (decimal, `0x`, `0o`).
    Int,
    /// A floating-point number.
    Float,
    /// Anything else, and every quoted or block scalar.
    Str,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar: its text as written (unquoted) and the type it resolves to.
    Scalar(String, ScalarKind),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order (duplicate keys are kept; readers take the last).
    Map(Vec<(Node, Node)>),
}

/// A YAML node and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The content.
    pub value: Value,
    /// 1-based line.
    pub line: usize,
}

/// A YAML syntax error or a bound exceeded, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

impl Node {
    /// The scalar text, if this is a scalar of any kind but null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, kind) if *kind != ScalarKind::Null => Some(s),
            _ => None,
        }
    }

    /// Whether this is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(_, ScalarKind::Null))
    }

    /// The entries of a map.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a map (the last one if the key is repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(_, ScalarKind::Null) => "null",
            Value::Scalar(_, ScalarKind::Bool) => "boolean",
            Value::Scalar(_, ScalarKind::Int | ScalarKind::Float) => "number",
            Value::Scalar(_, ScalarKind::Str) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

/// A container being assembled.
enum Open {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

/// Parses every document of `text`. Empty documents are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut nodes = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError {
            line: e.marker().line().max(1),
            message: e.info().to_owned(),
        })?;
        let line = line_of(mark);
        let (node, anchor) = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                anchors.clear();
                continue;
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => continue,
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(line));
                }
                stack.push(Open::Seq(Vec::new(), anchor, line));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(line));
                }
                stack.push(Open::Map(Vec::new(), None, anchor, line));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(items, anchor, start)) => (
                    Node {
                        value: Value::Seq(items),
                        line: start,
                    },
                    anchor,
                ),
                _ => return Err(unbalanced(line)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(entries, None, anchor, start)) => (
                    Node {
                        value: Value::Map(entries),
                        line: start,
                    },
                    anchor,
                ),
                _ => return Err(unbalanced(line)),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let kind = if style == TScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    ScalarKind::Str
                };
                (
                    Node {
                        value: Value::Scalar(text, kind),
                        line,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some((_, target)) = anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(YamlError {
                        line,
                        message: "alias to an unknown anchor".to_owned(),
                    });
                };
                nodes = nodes.saturating_add(count_nodes(target));
                if nodes > MAX_NODES {
                    return Err(too_big(line));
                }
                let mut copy = target.clone();
                copy.line = line;
                (copy, 0)
            }
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(too_big(line));
        }
        if anchor != 0 {
            anchors.push((anchor, node.clone()));
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Open::Seq(items, ..)) => items.push(node),
            Some(Open::Map(entries, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(docs
        .into_iter()
        .filter(|d| !d.is_null() || d.as_str().is_some())
        .collect())
}

/// Parses a single-document input; an input with several documents answers the first.
pub fn parse_one(text: &str) -> Result<Node, YamlError> {
    parse_documents(text)?
        .into_iter()
        .next()
        .ok_or_else(|| YamlError {
            line: 1,
            message: "empty document".to_owned(),
        })
}

fn line_of(mark: Marker) -> usize {
    mark.line().max(1)
}

fn count_nodes(node: &Node) -> usize {
    // Iterative, so a deep tree cannot overflow the stack.
    let mut count = 0usize;
    let mut pending = vec![node];
    while let Some(n) = pending.pop() {
        count += 1;
        match &n.value {
            Value::Scalar(..) => {}
            Value::Seq(items) => pending.extend(items.iter()),
            Value::Map(entries) => {
                for (k, v) in entries {
                    pending.push(k);
                    pending.push(v);
                }
            }
        }
    }
    count
}

fn too_deep(line: usize) -> YamlError {
    YamlError {
        line,
        message: format!("nesting deeper than {MAX_DEPTH} levels"),
    }
}

fn too_big(line: usize) -> YamlError {
    YamlError {
        line,
        message: format!("more than {MAX_NODES} nodes (alias expansion?)"),
    }
}

fn unbalanced(line: usize) -> YamlError {
    YamlError {
        line,
        message: "unbalanced collection".to_owned(),
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(s: &str) -> ScalarKind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ScalarKind::Bool,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return ScalarKind::Float,
        _ => {}
    }
    if parse_int(s).is_some() {
        return ScalarKind::Int;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let looks_float = !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if looks_float && s.parse::<f64>().is_ok() {
        return ScalarKind::Float;
    }
    ScalarKind::Str
}

/// An integer in YAML 1.2 core notation: decimal with optional sign, `0x…`, `0o…`.
pub fn parse_int(s: &str) -> Option<i64> {
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .ok()
            .filter(|_| !hex.starts_with(['+', '-']));
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8)
            .ok()
            .filter(|_| !oct.starts_with(['+', '-']));
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_types_and_order() {
        let doc =
            parse_one("title: x\nb: 5\nc:\n  - 'q'\n  - null\nd: 1.5\ne: true\nf: 0x10\n").unwrap();
        let map = doc.as_map().unwrap();
        let keys: Vec<_> = map.iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["title", "b", "c", "d", "e", "f"]);
        assert_eq!(
            doc.get("b").unwrap().value,
            Value::Scalar("5".into(), ScalarKind::Int)
        );
        assert_eq!(doc.get("c").unwrap().line, 4);
        let items = doc.get("c").unwrap().as_seq().unwrap();
        assert_eq!(items[0].value, Value::Scalar("q".into(), ScalarKind::Str));
        assert!(items[1].is_null());
        assert_eq!(items[1].line, 5);
        assert_eq!(doc.get("d").unwrap().type_name(), "number");
        assert_eq!(doc.get("e").unwrap().type_name(), "boolean");
        assert_eq!(doc.get("f").unwrap().type_name(), "number");
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let doc = parse_one("a: '5'\nb: !!str 6\n").unwrap();
        assert_eq!(doc.get("a").unwrap().type_name(), "string");
        assert_eq!(doc.get("b").unwrap().type_name(), "string");
    }

    #[test]
    fn multiple_documents() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line, 3);
    }

    #[test]
    fn syntax_error_has_line() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn depth_and_alias_bombs_are_refused() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_documents(&deep).is_err());
        let deep_block: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(
            parse_documents(&deep_block)
                .unwrap_err()
                .message
                .contains("nesting")
        );
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            bomb.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        assert!(
            parse_documents(&bomb)
                .unwrap_err()
                .message
                .contains("nodes")
        );
    }

    #[test]
    fn aliases_copy_their_target() {
        let doc = parse_one("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(doc.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }

    #[test]
    fn ints() {
        assert_eq!(parse_int("4688"), Some(4688));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("0x-1"), None);
        assert_eq!(parse_int("12a"), None);
        assert_eq!(resolve_plain("1e5"), ScalarKind::Float);
        assert_eq!(resolve_plain("1.2.3"), ScalarKind::Str);
        assert_eq!(resolve_plain("e5"), ScalarKind::Str);
    }
}
