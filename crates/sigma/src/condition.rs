//! The condition language: `selection and not 1 of filter_*`.
//!
//! Grammar (precedence from loosest to tightest: `or`, `and`, `not`, `x of`, parentheses):
//!
//! ```text
//! expr    = and ("or" and)*
//! and     = unary ("and" unary)*
//! unary   = "not" unary | primary
//! primary = "(" expr ")" | quant "of" target | identifier
//! quant   = "all" | "any" | integer
//! target  = "them" | identifier-pattern        (with `*` wildcards)
//! ```
//!
//! Keywords are case-insensitive. The parser is recursive descent with an explicit depth bound, so a
//! hostile condition (`((((…` or `not not not …`) is refused with an error instead of exhausting the
//! stack. The obsolete aggregation syntax (`| count() by x`, `near`) is refused with a pointer to
//! correlation rules.

use std::fmt;

/// Deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 48;
/// Longest condition accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A search identifier.
    Search(String),
    /// Negation.
    Not(Box<Condition>),
    /// Conjunction (two or more operands).
    And(Vec<Condition>),
    /// Disjunction (two or more operands).
    Or(Vec<Condition>),
    /// `1 of selection_*`, `all of them`.
    Of {
        /// How many must match.
        quantifier: Quantifier,
        /// Over which identifiers.
        target: OfTarget,
    },
}

/// How many identifiers of an `of` expression must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `all of`.
    All,
    /// `N of` (`1 of` and `any of` are `AtLeast(1)`).
    AtLeast(u32),
}

/// The identifiers an `of` expression ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfTarget {
    /// `them`: every identifier not starting with `_`.
    Them,
    /// A pattern with `*` wildcards.
    Pattern(String),
}

/// A condition that cannot be parsed: what and at which byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// Byte offset in the condition.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "condition, at offset {}: {}", self.offset, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    Pipe,
    Word(&'a str),
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token<'_>)>, ConditionError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                tokens.push((i, Token::Open));
                i += 1;
            }
            b')' => {
                tokens.push((i, Token::Close));
                i += 1;
            }
            b'|' => {
                tokens.push((i, Token::Pipe));
                i += 1;
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' | b'|')
                {
                    i += 1;
                }
                tokens.push((start, Token::Word(&text[start..i])));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<(usize, Token<'a>)>,
    pos: usize,
    len: usize,
    depth: usize,
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    if text.len() > MAX_LEN {
        return Err(ConditionError {
            offset: MAX_LEN,
            message: format!("longer than {MAX_LEN} bytes"),
        });
    }
    let tokens = tokenize(text)?;
    if let Some((offset, _)) = tokens.iter().find(|(_, t)| *t == Token::Pipe) {
        return Err(ConditionError {
            offset: *offset,
            message:
                "aggregation expressions ('| count() …') are not supported: use a correlation rule"
                    .to_owned(),
        });
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        len: text.len(),
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(p.error("empty condition"));
    }
    let expr = p.or()?;
    if p.pos < p.tokens.len() {
        return Err(p.error("unexpected text after the end of the condition"));
    }
    Ok(expr)
}

fn is_kw(word: &str, kw: &str) -> bool {
    word.eq_ignore_ascii_case(kw)
}

fn is_reserved(word: &str) -> bool {
    ["and", "or", "not", "of", "them"]
        .iter()
        .any(|k| is_kw(word, k))
}

impl<'a> Parser<'a> {
    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.len, |(o, _)| *o)
    }

    fn error(&self, message: &str) -> ConditionError {
        ConditionError {
            offset: self.offset(),
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn peek_word(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if is_kw(w, kw))
    }

    fn enter(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut items = vec![self.and()?];
        while self.peek_word("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::Or(items)
        })
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut items = vec![self.unary()?];
        while self.peek_word("and") {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::And(items)
        })
    }

    fn unary(&mut self) -> Result<Condition, ConditionError> {
        if self.peek_word("not") {
            self.pos += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, ConditionError> {
        match self.peek().cloned() {
            None => Err(self.error("expected an identifier, '(' or 'not', found the end")),
            Some(Token::Open) => {
                self.pos += 1;
                self.enter()?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error("expected ')'"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Close) => Err(self.error("unexpected ')'")),
            Some(Token::Pipe) => Err(self.error("unexpected '|'")),
            Some(Token::Word(word)) => {
                let next_is_of = matches!(self.tokens.get(self.pos + 1), Some((_, Token::Word(w))) if is_kw(w, "of"));
                if next_is_of {
                    let quantifier = if is_kw(word, "all") {
                        Quantifier::All
                    } else if is_kw(word, "any") {
                        Quantifier::AtLeast(1)
                    } else {
                        match word.parse::<u32>() {
                            Ok(n) if n > 0 => Quantifier::AtLeast(n),
                            _ => {
                                return Err(self.error(
                                    "expected 'all', 'any' or a positive number before 'of'",
                                ));
                            }
                        }
                    };
                    self.pos += 2;
                    let target = match self.peek() {
                        Some(Token::Word(t)) if is_kw(t, "them") => OfTarget::Them,
                        Some(Token::Word(t)) if !is_reserved(t) => {
                            OfTarget::Pattern((*t).to_owned())
                        }
                        _ => {
                            return Err(
                                self.error("expected 'them' or an identifier pattern after 'of'")
                            );
                        }
                    };
                    self.pos += 1;
                    return Ok(Condition::Of { quantifier, target });
                }
                if is_reserved(word) {
                    return Err(self.error(&format!("unexpected '{word}'")));
                }
                self.pos += 1;
                Ok(Condition::Search(word.to_owned()))
            }
        }
    }
}

/// Whether `name` matches an `of` pattern (`*` matches any run of characters).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Condition {
    /// The identifiers an `of` target ranges over, among `names`, in the order of `names`.
    pub fn expand<'n>(target: &OfTarget, names: &[&'n str]) -> Vec<&'n str> {
        names
            .iter()
            .copied()
            .filter(|n| match target {
                OfTarget::Them => !n.starts_with('_'),
                OfTarget::Pattern(p) => pattern_matches(p, n),
            })
            .collect()
    }

    /// Checks every identifier and pattern against the defined `names`.
    pub fn check(&self, names: &[&str]) -> Result<(), String> {
        // Iterative walk: the tree is depth-bounded already, but this keeps the check cheap too.
        let mut pending = vec![self];
        while let Some(c) = pending.pop() {
            match c {
                Condition::Search(name) => {
                    if !names.contains(&name.as_str()) {
                        return Err(format!(
                            "condition names '{name}', which the detection does not define"
                        ));
                    }
                }
                Condition::Not(inner) => pending.push(inner),
                Condition::And(items) | Condition::Or(items) => pending.extend(items.iter()),
                Condition::Of { target, .. } => {
                    if Condition::expand(target, names).is_empty() {
                        let what = match target {
                            OfTarget::Them => "them".to_owned(),
                            OfTarget::Pattern(p) => format!("'{p}'"),
                        };
                        return Err(format!(
                            "condition ranges over {what}, which matches no identifier"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every identifier the condition can evaluate, given the defined `names`.
    pub fn referenced<'n>(&self, names: &[&'n str]) -> Vec<&'n str> {
        let mut out = Vec::new();
        let mut pending = vec![self];
        while let Some(c) = pending.pop() {
            match c {
                Condition::Search(name) => {
                    if let Some(n) = names.iter().find(|n| **n == name) {
                        out.push(*n);
                    }
                }
                Condition::Not(inner) => pending.push(inner),
                Condition::And(items) | Condition::Or(items) => pending.extend(items.iter()),
                Condition::Of { target, .. } => out.extend(Condition::expand(target, names)),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Renames every identifier (and `of` pattern) through `f`.
    pub fn rename(&self, f: &dyn Fn(&str) -> String) -> Condition {
        match self {
            Condition::Search(n) => Condition::Search(f(n)),
            Condition::Not(inner) => Condition::Not(Box::new(inner.rename(f))),
            Condition::And(items) => Condition::And(items.iter().map(|c| c.rename(f)).collect()),
            Condition::Or(items) => Condition::Or(items.iter().map(|c| c.rename(f)).collect()),
            Condition::Of { quantifier, target } => Condition::Of {
                quantifier: *quantifier,
                target: match target {
                    OfTarget::Them => OfTarget::Them,
                    OfTarget::Pattern(p) => OfTarget::Pattern(f(p)),
                },
            },
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Search(n) => f.write_str(n),
            Condition::Not(inner) => write!(f, "not {inner}"),
            Condition::And(items) | Condition::Or(items) => {
                let op = if matches!(self, Condition::And(_)) {
                    " and "
                } else {
                    " or "
                };
                f.write_str("(")?;
                for (i, c) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str(")")
            }
            Condition::Of { quantifier, target } => {
                match quantifier {
                    Quantifier::All => f.write_str("all of ")?,
                    Quantifier::AtLeast(n) => write!(f, "{n} of ")?,
                }
                match target {
                    OfTarget::Them => f.write_str("them"),
                    OfTarget::Pattern(p) => f.write_str(p),
                }
            }
        }
    }
}

/// Parses arbitrary bytes as a condition and, when it parses, checks that printing and re-parsing
/// give the same tree. Used by the fuzz target; panics only on a real bug.
pub fn fuzz(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cond) = parse(text) {
        let printed = cond.to_string();
        let reparsed = parse(&printed);
        #[allow(clippy::panic)]
        if reparsed.as_ref() != Ok(&cond) && printed.len() <= MAX_LEN {
            // Depth can grow by printing (And/Or gain parentheses), so only compare when it parses.
            if let Ok(other) = reparsed {
                panic!("condition round trip changed the tree: {cond:?} vs {other:?}");
            }
        }
        let _ = cond.check(&["selection", "filter_a", "_x"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> Condition {
        Condition::Search(n.to_owned())
    }

    #[test]
    fn precedence_not_and_or() {
        let c = parse("a or b and not c").unwrap();
        assert_eq!(
            c,
            Condition::Or(vec![
                s("a"),
                Condition::And(vec![s("b"), Condition::Not(Box::new(s("c")))])
            ])
        );
        let c = parse("not a and b").unwrap();
        assert_eq!(
            c,
            Condition::And(vec![Condition::Not(Box::new(s("a"))), s("b")])
        );
        let c = parse("(a or b) and c").unwrap();
        assert_eq!(
            c,
            Condition::And(vec![Condition::Or(vec![s("a"), s("b")]), s("c")])
        );
    }

    #[test]
    fn of_expressions() {
        let c = parse("1 of selection_* and not all of filter*").unwrap();
        assert_eq!(
            c,
            Condition::And(vec![
                Condition::Of {
                    quantifier: Quantifier::AtLeast(1),
                    target: OfTarget::Pattern("selection_*".into())
                },
                Condition::Not(Box::new(Condition::Of {
                    quantifier: Quantifier::All,
                    target: OfTarget::Pattern("filter*".into())
                })),
            ])
        );
        assert_eq!(
            parse("all of them").unwrap(),
            Condition::Of {
                quantifier: Quantifier::All,
                target: OfTarget::Them
            }
        );
        assert_eq!(
            parse("ANY OF them").unwrap(),
            Condition::Of {
                quantifier: Quantifier::AtLeast(1),
                target: OfTarget::Them
            }
        );
    }

    #[test]
    fn errors() {
        assert!(parse("").is_err());
        assert!(parse("a and").is_err());
        assert!(parse("(a or b").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("0 of x").is_err());
        assert!(parse("1 of and").is_err());
        assert!(parse(")").is_err());
        let agg = parse("selection | count() by host > 5").unwrap_err();
        assert!(agg.message.contains("correlation"));
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let nots = format!("{}a", "not ".repeat(100));
        assert!(parse(&nots).is_err());
        assert!(parse(&"a or ".repeat(10_000)).is_err());
    }

    #[test]
    fn patterns_and_expansion() {
        assert!(pattern_matches("sel*", "selection"));
        assert!(pattern_matches("*_main_*", "filter_main_x"));
        assert!(pattern_matches("a*b*c", "aXbYc"));
        assert!(!pattern_matches("a*b*c", "acb"));
        assert!(!pattern_matches("sel", "selection"));
        let names = ["selection_a", "selection_b", "filter", "_hidden"];
        assert_eq!(
            Condition::expand(&OfTarget::Them, &names),
            ["selection_a", "selection_b", "filter"]
        );
        assert_eq!(
            Condition::expand(&OfTarget::Pattern("selection_*".into()), &names),
            ["selection_a", "selection_b"]
        );
        assert_eq!(
            Condition::expand(&OfTarget::Pattern("_*".into()), &names),
            ["_hidden"]
        );
    }

    #[test]
    fn check_finds_unknown_identifiers() {
        let names = ["selection", "filter_a"];
        assert!(
            parse("selection and not 1 of filter_*")
                .unwrap()
                .check(&names)
                .is_ok()
        );
        assert!(
            parse("selection and not filter")
                .unwrap()
                .check(&names)
                .unwrap_err()
                .contains("'filter'")
        );
        assert!(parse("1 of nothing_*").unwrap().check(&names).is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "a or b and not c",
            "1 of sel* and not all of them",
            "not (a or b)",
        ] {
            let c = parse(text).unwrap();
            assert_eq!(parse(&c.to_string()).unwrap(), c);
        }
        fuzz(b"((a) or not b) and 2 of x*");
    }
}
