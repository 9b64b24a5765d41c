//! Recursive-descent parser for the STIX 2.1 patterning grammar.
//!
//! Precedence, loosest first: `FOLLOWEDBY`, observation `OR`, observation `AND`, qualifiers;
//! inside brackets, `OR` then `AND`. Chains of one operator become one n-ary node; explicit
//! parentheses stay as nested nodes. Recursion happens only at parentheses and brackets, and is
//! bounded by [`PatternLimits::max_depth`].

use super::PatternError;
use super::PatternLimits;
use super::ast::{
    Comparison, ComparisonExpr, Constant, ObjectPath, ObservationExpr, Operator, PathStep,
    Qualifier,
};
use super::lexer::{Keyword, Tok, Token, tokenize};

/// Parses a whole pattern.
pub(super) fn parse(text: &str, limits: &PatternLimits) -> Result<ObservationExpr, PatternError> {
    if text.len() > limits.max_len {
        return Err(PatternError {
            offset: limits.max_len,
            reason: format!("pattern longer than {} bytes", limits.max_len),
        });
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        max_depth: limits.max_depth,
        end: text.len(),
    };
    if parser.tokens.is_empty() {
        return Err(PatternError {
            offset: 0,
            reason: "empty pattern".into(),
        });
    }
    let expr = parser.observation_expressions()?;
    if let Some(t) = parser.tokens.get(parser.pos) {
        return Err(PatternError {
            offset: t.offset,
            reason: format!("unexpected {} after the pattern", describe(&t.tok)),
        });
    }
    Ok(expr)
}

/// Parses an object path on its own.
pub(super) fn parse_object_path(text: &str) -> Result<ObjectPath, PatternError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        max_depth: 1,
        end: text.len(),
    };
    let path = parser.object_path()?;
    if let Some(t) = parser.tokens.get(parser.pos) {
        return Err(PatternError {
            offset: t.offset,
            reason: format!("unexpected {} after the path", describe(&t.tok)),
        });
    }
    Ok(path)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    max_depth: usize,
    end: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LBrack => "'['".into(),
        Tok::RBrack => "']'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Colon => "':'".into(),
        Tok::Dot => "'.'".into(),
        Tok::Comma => "','".into(),
        Tok::Star => "'*'".into(),
        Tok::Eq | Tok::Neq | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => "comparison operator".into(),
        Tok::Keyword(k) => format!("keyword {}", format!("{k:?}").to_uppercase()),
        Tok::Ident { name, .. } => format!("identifier {name:?}"),
        Tok::Str(_) => "string".into(),
        Tok::Int { .. } => "integer".into(),
        Tok::Float { .. } => "float".into(),
        Tok::Bool(_) => "boolean".into(),
        Tok::Timestamp(_) => "timestamp".into(),
        Tok::Hex(_) => "hex literal".into(),
        Tok::Binary(_) => "binary literal".into(),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.offset)
    }

    fn error(&self, expected: &str) -> PatternError {
        let found = self
            .peek()
            .map_or_else(|| "the end of the pattern".to_owned(), describe);
        PatternError {
            offset: self.offset(),
            reason: format!("expected {expected}, found {found}"),
        }
    }

    /// The token at the cursor, to move its text out when consuming it.
    fn peek_mut(&mut self) -> Option<&mut Tok> {
        self.tokens.get_mut(self.pos).map(|t| &mut t.tok)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.pos).map(|t| t.tok.clone());
        if tok.is_some() {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_keyword(&mut self, k: Keyword) -> bool {
        self.eat(&Tok::Keyword(k))
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), PatternError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(PatternError {
                offset: self.offset(),
                reason: format!("nested deeper than {} levels", self.max_depth),
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `observationExpressions := obsOr (FOLLOWEDBY obsOr)*`
    fn observation_expressions(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut items = vec![self.observation_or()?];
        while self.eat_keyword(Keyword::FollowedBy) {
            items.push(self.observation_or()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ObservationExpr::FollowedBy(items)
        })
    }

    fn observation_or(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut items = vec![self.observation_and()?];
        while self.eat_keyword(Keyword::Or) {
            items.push(self.observation_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ObservationExpr::Or(items)
        })
    }

    fn observation_and(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut items = vec![self.observation_unit()?];
        while self.eat_keyword(Keyword::And) {
            items.push(self.observation_unit()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ObservationExpr::And(items)
        })
    }

    /// `'[' comparisonExpression ']'` or `'(' observationExpressions ')'`, then any qualifiers.
    fn observation_unit(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut expr = match self.peek() {
            Some(Tok::LBrack) => {
                self.pos += 1;
                self.enter()?;
                let inner = self.comparison_or()?;
                self.expect(&Tok::RBrack, "']' or a boolean operator")?;
                self.leave();
                ObservationExpr::Observation(inner)
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let inner = self.observation_expressions()?;
                self.expect(&Tok::RParen, "')' or an observation operator")?;
                self.leave();
                inner
            }
            _ => return Err(self.error("'[' or '(' to start an observation expression")),
        };
        while let Some(q) = self.qualifier()? {
            expr = ObservationExpr::Qualified(Box::new(expr), q);
        }
        Ok(expr)
    }

    fn qualifier(&mut self) -> Result<Option<Qualifier>, PatternError> {
        let at = self.offset();
        if self.eat_keyword(Keyword::Within) {
            let seconds = match self.peek() {
                Some(Tok::Int { value, .. }) if *value > 0 => *value as f64,
                Some(Tok::Float {
                    value,
                    negative: false,
                }) if *value > 0.0 => *value,
                _ => return Err(self.error("a positive number of seconds")),
            };
            self.pos += 1;
            if !self.eat_keyword(Keyword::Seconds) {
                return Err(self.error("SECONDS"));
            }
            return Ok(Some(Qualifier::Within(seconds)));
        }
        if self.eat_keyword(Keyword::Repeats) {
            let times = match self.peek() {
                Some(Tok::Int { value, .. }) if *value > 0 => *value as u64,
                _ => return Err(self.error("a positive integer")),
            };
            self.pos += 1;
            if !self.eat_keyword(Keyword::Times) {
                return Err(self.error("TIMES"));
            }
            return Ok(Some(Qualifier::Repeats(times)));
        }
        if self.eat_keyword(Keyword::Start) {
            let Some(Tok::Timestamp(start)) = self.peek().cloned() else {
                return Err(self.error("a timestamp t'…' after START"));
            };
            self.pos += 1;
            if !self.eat_keyword(Keyword::Stop) {
                return Err(self.error("STOP"));
            }
            let Some(Tok::Timestamp(stop)) = self.peek().cloned() else {
                return Err(self.error("a timestamp t'…' after STOP"));
            };
            self.pos += 1;
            if stop <= start {
                return Err(PatternError {
                    offset: at,
                    reason: "STOP must be later than START".into(),
                });
            }
            return Ok(Some(Qualifier::StartStop(start, stop)));
        }
        Ok(None)
    }

    fn comparison_or(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut items = vec![self.comparison_and()?];
        while self.eat_keyword(Keyword::Or) {
            items.push(self.comparison_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ComparisonExpr::Or(items)
        })
    }

    fn comparison_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut items = vec![self.property_test()?];
        while self.eat_keyword(Keyword::And) {
            items.push(self.property_test()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            ComparisonExpr::And(items)
        })
    }

    fn property_test(&mut self) -> Result<ComparisonExpr, PatternError> {
        if self.eat(&Tok::LParen) {
            self.enter()?;
            let inner = self.comparison_or()?;
            self.expect(&Tok::RParen, "')' or a boolean operator")?;
            self.leave();
            return Ok(inner);
        }
        if self.eat_keyword(Keyword::Exists) {
            return Ok(ComparisonExpr::Exists(self.object_path()?));
        }
        let path = self.object_path()?;
        let negated = self.eat_keyword(Keyword::Not);
        let operator = match self.next() {
            Some(Tok::Eq) => Operator::Eq,
            Some(Tok::Neq) => Operator::Neq,
            Some(Tok::Gt) => Operator::Gt,
            Some(Tok::Lt) => Operator::Lt,
            Some(Tok::Ge) => Operator::Ge,
            Some(Tok::Le) => Operator::Le,
            Some(Tok::Keyword(Keyword::In)) => Operator::In,
            Some(Tok::Keyword(Keyword::Like)) => Operator::Like,
            Some(Tok::Keyword(Keyword::Matches)) => Operator::Matches,
            Some(Tok::Keyword(Keyword::IsSubset)) => Operator::IsSubset,
            Some(Tok::Keyword(Keyword::IsSuperset)) => Operator::IsSuperset,
            other => {
                if other.is_some() {
                    self.pos -= 1;
                }
                return Err(self.error("a comparison operator"));
            }
        };
        let value = match operator {
            Operator::Eq | Operator::Neq => self.primitive(true)?,
            Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le => self.primitive(false)?,
            Operator::In => self.set()?,
            Operator::Like | Operator::Matches | Operator::IsSubset | Operator::IsSuperset => {
                match self.peek_mut() {
                    Some(Tok::Str(s)) => {
                        let s = std::mem::take(s);
                        self.pos += 1;
                        Constant::Str(s)
                    }
                    _ => return Err(self.error("a string")),
                }
            }
        };
        Ok(ComparisonExpr::Comparison(Comparison {
            path,
            negated,
            operator,
            value,
        }))
    }

    /// A literal; booleans only where `allow_bool` (equality), as the grammar says.
    fn primitive(&mut self, allow_bool: bool) -> Result<Constant, PatternError> {
        let constant = match self.peek_mut() {
            Some(Tok::Str(s)) => Constant::Str(std::mem::take(s)),
            Some(Tok::Int { value, .. }) => Constant::Int(*value),
            Some(Tok::Float { value, .. }) => Constant::Float(*value),
            Some(Tok::Bool(b)) if allow_bool => Constant::Bool(*b),
            Some(Tok::Timestamp(t)) => Constant::Timestamp(*t),
            Some(Tok::Hex(h)) => Constant::Hex(std::mem::take(h)),
            Some(Tok::Binary(b)) => Constant::Binary(std::mem::take(b)),
            _ => {
                return Err(self.error(if allow_bool {
                    "a constant"
                } else {
                    "an orderable constant"
                }));
            }
        };
        self.pos += 1;
        Ok(constant)
    }

    /// `'(' ')'` or `'(' primitive (',' primitive)* ')'`.
    fn set(&mut self) -> Result<Constant, PatternError> {
        self.expect(&Tok::LParen, "'(' to open a set")?;
        let mut items = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(Constant::Set(items));
        }
        loop {
            items.push(self.primitive(true)?);
            if self.eat(&Tok::RParen) {
                return Ok(Constant::Set(items));
            }
            self.expect(&Tok::Comma, "',' or ')' in a set")?;
        }
    }

    /// `objectType ':' firstPathComponent objectPathComponent*`.
    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let object_type = match self.peek_mut() {
            Some(Tok::Ident { name, .. }) => std::mem::take(name),
            _ => return Err(self.error("an object type")),
        };
        self.pos += 1;
        self.expect(&Tok::Colon, "':' after the object type")?;
        let mut steps = vec![PathStep::Key(self.path_key()?)];
        loop {
            if self.eat(&Tok::Dot) {
                steps.push(PathStep::Key(self.path_key()?));
            } else if self.peek() == Some(&Tok::LBrack) && self.is_index_step() {
                self.pos += 1;
                let step = match self.next() {
                    Some(Tok::Star) => PathStep::AnyIndex,
                    Some(Tok::Int { value, .. }) => PathStep::Index(value),
                    // `is_index_step` saw `*` or an integer here.
                    _ => return Err(self.error("an index or '*'")),
                };
                self.expect(&Tok::RBrack, "']' after the index")?;
                steps.push(step);
            } else {
                return Ok(ObjectPath { object_type, steps });
            }
        }
    }

    /// Whether the `[` at the cursor opens an index step (`[3]`, `[*]`) rather than something else.
    fn is_index_step(&self) -> bool {
        matches!(
            self.tokens.get(self.pos + 1).map(|t| &t.tok),
            Some(Tok::Star | Tok::Int { .. })
        )
    }

    /// A property name: an identifier without hyphens, or a quoted string.
    fn path_key(&mut self) -> Result<String, PatternError> {
        match self.peek_mut() {
            Some(Tok::Ident {
                name,
                hyphen: false,
            }) => {
                let name = std::mem::take(name);
                self.pos += 1;
                Ok(name)
            }
            Some(Tok::Ident { hyphen: true, .. }) => Err(PatternError {
                offset: self.offset(),
                reason: "property names with hyphens must be quoted ('SHA-256')".into(),
            }),
            Some(Tok::Str(s)) => {
                let s = std::mem::take(s);
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error("a property name")),
        }
    }
}
