//! The STIX pattern lexer: text to tokens, each with its byte offset.

use base64::Engine as _;

use super::PatternError;
use crate::stix::Timestamp;

/// A token of the STIX patterning grammar.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Keyword(Keyword),
    /// An identifier; `hyphen` when it contains a hyphen (allowed in object types only).
    Ident {
        name: String,
        hyphen: bool,
    },
    Str(String),
    /// An integer; `signed` when written with a leading `+` or `-`.
    Int {
        value: i64,
        signed: bool,
    },
    Float {
        value: f64,
        negative: bool,
    },
    Bool(bool),
    Timestamp(Timestamp),
    Hex(Vec<u8>),
    Binary(Vec<u8>),
}

/// Keywords (upper case, as the grammar writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSuperset,
    IsSubset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        Some(match word {
            "AND" => Keyword::And,
            "OR" => Keyword::Or,
            "NOT" => Keyword::Not,
            "FOLLOWEDBY" => Keyword::FollowedBy,
            "LIKE" => Keyword::Like,
            "MATCHES" => Keyword::Matches,
            "ISSUPERSET" => Keyword::IsSuperset,
            "ISSUBSET" => Keyword::IsSubset,
            "EXISTS" => Keyword::Exists,
            "LAST" => Keyword::Last,
            "IN" => Keyword::In,
            "START" => Keyword::Start,
            "STOP" => Keyword::Stop,
            "SECONDS" => Keyword::Seconds,
            "WITHIN" => Keyword::Within,
            "REPEATS" => Keyword::Repeats,
            "TIMES" => Keyword::Times,
            _ => return None,
        })
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

/// Splits `text` into tokens, skipping whitespace and `/* */` and `//` comments.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, PatternError> {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
}

fn err(offset: usize, reason: impl Into<String>) -> PatternError {
    PatternError {
        offset,
        reason: reason.into(),
    }
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn push(&mut self, tok: Tok, offset: usize) {
        self.tokens.push(Token { tok, offset });
    }

    fn run(&mut self) -> Result<(), PatternError> {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let c = self.bytes[self.pos];
            match c {
                b'/' if self.peek(1) == Some(b'*') => {
                    let end = self.text[start + 2..]
                        .find("*/")
                        .ok_or_else(|| err(start, "unterminated comment"))?;
                    self.pos = start + 2 + end + 2;
                }
                b'/' if self.peek(1) == Some(b'/') => {
                    let end = self.text[start..]
                        .find(['\r', '\n'])
                        .map_or(self.bytes.len(), |e| start + e);
                    self.pos = end;
                }
                b'[' => self.single(Tok::LBrack),
                b']' => self.single(Tok::RBrack),
                b'(' => self.single(Tok::LParen),
                b')' => self.single(Tok::RParen),
                b':' => self.single(Tok::Colon),
                b',' => self.single(Tok::Comma),
                b'*' => self.single(Tok::Star),
                b'=' => {
                    self.pos += if self.peek(1) == Some(b'=') { 2 } else { 1 };
                    self.push(Tok::Eq, start);
                }
                b'!' if self.peek(1) == Some(b'=') => {
                    self.pos += 2;
                    self.push(Tok::Neq, start);
                }
                b'<' => {
                    let (tok, len) = match self.peek(1) {
                        Some(b'=') => (Tok::Le, 2),
                        Some(b'>') => (Tok::Neq, 2),
                        _ => (Tok::Lt, 1),
                    };
                    self.pos += len;
                    self.push(tok, start);
                }
                b'>' => {
                    let (tok, len) = if self.peek(1) == Some(b'=') {
                        (Tok::Ge, 2)
                    } else {
                        (Tok::Gt, 1)
                    };
                    self.pos += len;
                    self.push(tok, start);
                }
                b'\'' => {
                    let s = self.string()?;
                    self.push(Tok::Str(s), start);
                }
                b'h' | b'b' | b't' if self.peek(1) == Some(b'\'') => self.prefixed_literal(c)?,
                b'.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
                b'.' => self.single(Tok::Dot),
                b'+' | b'-' | b'0'..=b'9' => self.number()?,
                c if c.is_ascii_alphabetic() || c == b'_' => self.word(),
                _ => {
                    let ch = self.text[start..].chars().next().unwrap_or('\u{fffd}');
                    if is_pattern_whitespace(ch) {
                        self.pos += ch.len_utf8();
                    } else {
                        return Err(err(start, format!("unexpected character {ch:?}")));
                    }
                }
            }
        }
        Ok(())
    }

    fn single(&mut self, tok: Tok) {
        self.push(tok, self.pos);
        self.pos += 1;
    }

    fn word(&mut self) {
        let start = self.pos;
        let mut hyphen = false;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else if c == b'-' {
                hyphen = true;
                self.pos += 1;
            } else {
                break;
            }
        }
        let word = &self.text[start..self.pos];
        let tok = match word {
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            _ => match Keyword::from_word(word) {
                Some(k) => Tok::Keyword(k),
                None => Tok::Ident {
                    name: word.to_owned(),
                    hyphen,
                },
            },
        };
        self.push(tok, start);
    }

    /// `'…'` with `\'` and `\\` as the only escapes; the opening quote is at `self.pos`.
    fn string(&mut self) -> Result<String, PatternError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(stop) = rest.find(['\'', '\\']) else {
                return Err(err(start, "unterminated string"));
            };
            out.push_str(&rest[..stop]);
            self.pos += stop;
            match self.bytes[self.pos] {
                b'\'' => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => match self.peek(1) {
                    Some(e @ (b'\'' | b'\\')) => {
                        out.push(e as char);
                        self.pos += 2;
                    }
                    _ => {
                        return Err(err(
                            self.pos,
                            "only \\' and \\\\ may be escaped in a string",
                        ));
                    }
                },
            }
        }
    }

    /// `h'…'`, `b'…'` and `t'…'` literals.
    fn prefixed_literal(&mut self, prefix: u8) -> Result<(), PatternError> {
        let start = self.pos;
        self.pos += 1;
        let body_at = self.pos + 1;
        let body = self.string()?;
        let tok = match prefix {
            b'h' => {
                if body.len() % 2 != 0 || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(
                        body_at,
                        "a hex literal holds pairs of hexadecimal digits",
                    ));
                }
                let bytes = (0..body.len())
                    .step_by(2)
                    .map(|i| {
                        u8::from_str_radix(&body[i..i + 2], 16)
                            .map_err(|_| err(body_at + i, "bad hex digit"))
                    })
                    .collect::<Result<Vec<u8>, _>>()?;
                Tok::Hex(bytes)
            }
            b'b' => {
                let ok_chars = body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
                let decoded = base64::engine::general_purpose::STANDARD.decode(body.as_bytes());
                match decoded {
                    Ok(bytes) if ok_chars && !body.is_empty() => Tok::Binary(bytes),
                    _ => return Err(err(body_at, "not a padded base64 literal")),
                }
            }
            _ => {
                let ts = Timestamp::parse(&body)
                    .map_err(|why| err(body_at, format!("invalid timestamp: {why}")))?;
                Tok::Timestamp(ts)
            }
        };
        self.push(tok, start);
        Ok(())
    }

    /// Integers (`'+'? ('0' | [1-9][0-9]*)`, `'-' …`) and floats (`[+-]? [0-9]* '.' [0-9]+`).
    fn number(&mut self) -> Result<(), PatternError> {
        let start = self.pos;
        let sign = match self.peek(0) {
            Some(s @ (b'+' | b'-')) => {
                self.pos += 1;
                Some(s)
            }
            _ => None,
        };
        let int_start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let int_digits = &self.text[int_start..self.pos];
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            let text = &self.text[start..self.pos];
            let value: f64 = text.parse().map_err(|_| err(start, "invalid number"))?;
            self.push(
                Tok::Float {
                    value,
                    negative: sign == Some(b'-'),
                },
                start,
            );
            return Ok(());
        }
        if int_digits.is_empty() {
            return Err(err(start, "a sign must be followed by a number"));
        }
        // `'0' | [1-9][0-9]*`: a leading zero stands alone (so `01` is two integers, which no rule
        // accepts: refuse it here with a clearer message).
        if int_digits.len() > 1 && int_digits.starts_with('0') {
            return Err(err(int_start, "integers do not have leading zeros"));
        }
        let value: i64 = self.text[start..self.pos]
            .trim_start_matches('+')
            .parse()
            .map_err(|_| err(start, "integer out of range"))?;
        self.push(
            Tok::Int {
                value,
                signed: sign.is_some(),
            },
            start,
        );
        Ok(())
    }
}

/// The whitespace the grammar skips.
fn is_pattern_whitespace(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0B}'
            | '\u{0C}'
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn literals() {
        assert_eq!(toks(r"'a\'b\\c'"), [Tok::Str("a'b\\c".into())]);
        assert_eq!(toks("h'0aFF'"), [Tok::Hex(vec![0x0a, 0xff])]);
        assert_eq!(toks("b'AQI='"), [Tok::Binary(vec![1, 2])]);
        assert_eq!(
            toks("-12 +3 0"),
            [
                Tok::Int {
                    value: -12,
                    signed: true
                },
                Tok::Int {
                    value: 3,
                    signed: true
                },
                Tok::Int {
                    value: 0,
                    signed: false
                }
            ]
        );
        assert_eq!(
            toks(".5 -1.25"),
            [
                Tok::Float {
                    value: 0.5,
                    negative: false
                },
                Tok::Float {
                    value: -1.25,
                    negative: true
                }
            ]
        );
        assert!(matches!(
            toks("t'2016-01-01T00:00:00Z'")[..],
            [Tok::Timestamp(_)]
        ));
        assert_eq!(toks("true false"), [Tok::Bool(true), Tok::Bool(false)]);
    }

    #[test]
    fn words_operators_and_comments() {
        assert_eq!(
            toks("ipv4-addr:value /* c */ <> 'x' // end"),
            [
                Tok::Ident {
                    name: "ipv4-addr".into(),
                    hyphen: true
                },
                Tok::Colon,
                Tok::Ident {
                    name: "value".into(),
                    hyphen: false
                },
                Tok::Neq,
                Tok::Str("x".into())
            ]
        );
        assert_eq!(
            toks("AND And"),
            [
                Tok::Keyword(Keyword::And),
                Tok::Ident {
                    name: "And".into(),
                    hyphen: false
                }
            ]
        );
        assert_eq!(
            toks("== != <= >= < >"),
            [Tok::Eq, Tok::Neq, Tok::Le, Tok::Ge, Tok::Lt, Tok::Gt]
        );
        // `t` followed by something else than a quote is an identifier.
        assert_eq!(
            toks("th"),
            [Tok::Ident {
                name: "th".into(),
                hyphen: false
            }]
        );
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(tokenize("a = 'x").unwrap_err().offset, 4);
        assert_eq!(tokenize(r"'a\n'").unwrap_err().offset, 2);
        assert_eq!(tokenize("h'abc'").unwrap_err().offset, 2);
        assert_eq!(tokenize("b'@@'").unwrap_err().offset, 2);
        assert_eq!(tokenize("t'2016-02-30T00:00:00Z'").unwrap_err().offset, 2);
        assert_eq!(tokenize("x = 007").unwrap_err().offset, 4);
        assert_eq!(tokenize("x ^ 1").unwrap_err().offset, 2);
        assert_eq!(tokenize("99999999999999999999").unwrap_err().offset, 0);
        assert_eq!(tokenize("/* open").unwrap_err().offset, 0);
        assert_eq!(tokenize("x = -").unwrap_err().offset, 4);
    }
}
