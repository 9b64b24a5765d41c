//! Sigma strings: wildcards, escapes, the string-transforming modifiers, and the string matchers
//! they compile to.
//!
//! A plain value is parsed into [`Part`]s: literal text, `*` (any run of characters), `?` (one
//! character) and — for `windash` values with many dashes — a one-character class. `\*`, `\?` and
//! `\\` escape; a backslash before anything else is literal, so Windows paths need no doubling.
//! Placement modifiers add `*`s; encodings rewrite the literal text. The result compiles to the
//! cheapest [`StrMatcher`] that decides it: equality, prefix, suffix, substring (with a prebuilt
//! `memmem` finder), or a general glob of fixed-width segments matched leftmost-first, which is exact
//! for patterns whose only variable-width token is `*`.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ipnet::IpNet;
use memchr::memmem;

/// The dash forms `windash` stands for.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
/// A `windash` value is expanded into explicit variants up to this many; beyond, dashes become a
/// one-character class.
const MAX_WINDASH_VARIANTS: usize = 25;

/// A piece of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// One character out of a set.
    Class(Vec<char>),
}

/// A Sigma string value: parts, and whether its literal characters stand for bytes (after a UTF-16
/// encoding, before Base64).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigmaString {
    /// The parts, adjacent literals merged.
    pub parts: Vec<Part>,
    /// Literal characters are bytes (`U+0000`–`U+00FF`), not text.
    pub bytes: bool,
}

impl SigmaString {
    /// Parses a plain value: `*` and `?` are wildcards, `\` escapes `*`, `?` and `\` (and `%` when
    /// `percent_escapes`, for `expand` values).
    pub fn parse(text: &str, percent_escapes: bool) -> SigmaString {
        let mut s = SigmaString::default();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => s.push(Part::Star),
                '?' => s.push(Part::One),
                '\\' => match chars.peek().copied() {
                    Some(n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        s.push_char(n);
                    }
                    Some('%') if percent_escapes => {
                        chars.next();
                        s.push_char('%');
                    }
                    _ => s.push_char('\\'),
                },
                other => s.push_char(other),
            }
        }
        s
    }

    /// A string of literal text only.
    pub fn literal(text: &str) -> SigmaString {
        let mut s = SigmaString::default();
        if !text.is_empty() {
            s.parts.push(Part::Lit(text.to_owned()));
        }
        s
    }

    fn push_char(&mut self, c: char) {
        if let Some(Part::Lit(l)) = self.parts.last_mut() {
            l.push(c);
        } else {
            self.parts.push(Part::Lit(c.to_string()));
        }
    }

    fn push(&mut self, part: Part) {
        match (self.parts.last_mut(), part) {
            (Some(Part::Lit(l)), Part::Lit(r)) => l.push_str(&r),
            (Some(Part::Star), Part::Star) => {}
            (_, p) => self.parts.push(p),
        }
    }

    /// Whether the value has wildcards or classes.
    pub fn has_wildcards(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Lit(_)))
    }

    /// `contains`.
    pub fn contains(mut self) -> SigmaString {
        if self.parts.first() != Some(&Part::Star) {
            self.parts.insert(0, Part::Star);
        }
        self.push(Part::Star);
        self
    }

    /// `startswith`.
    pub fn startswith(mut self) -> SigmaString {
        self.push(Part::Star);
        self
    }

    /// `endswith`.
    pub fn endswith(mut self) -> SigmaString {
        if self.parts.first() != Some(&Part::Star) {
            self.parts.insert(0, Part::Star);
        }
        self
    }

    /// `windash`: every `-` or `/` that starts a command-line flag (after a non-word character or at
    /// the start, before a word character) in each of its dash forms.
    pub fn windash(self) -> Vec<SigmaString> {
        let mut sites = 0usize;
        let mut prev_word = false;
        let mut marked = SigmaString {
            parts: Vec::new(),
            bytes: self.bytes,
        };
        for part in self.parts {
            let Part::Lit(text) = part else {
                prev_word = false;
                marked.push(part);
                continue;
            };
            let chars: Vec<char> = text.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                let next = chars.get(i + 1).copied();
                let next_word = next.is_some_and(is_word);
                if (c == '-' || c == '/') && !prev_word && next_word {
                    sites += 1;
                    marked.push(Part::Class(DASHES.to_vec()));
                } else {
                    marked.push_char(c);
                }
                prev_word = is_word(c);
            }
        }
        let variants = 5usize.checked_pow(u32::try_from(sites).unwrap_or(u32::MAX));
        match variants {
            Some(n) if n <= MAX_WINDASH_VARIANTS => expand_classes(&marked),
            _ => vec![marked],
        }
    }

    /// `utf16le` / `utf16be` / `utf16` (little endian with a byte order mark).
    pub fn utf16(self, big_endian: bool, bom: bool) -> SigmaString {
        let mut out = SigmaString {
            parts: Vec::new(),
            bytes: true,
        };
        if bom {
            out.push(Part::Lit(
                if big_endian {
                    "\u{fe}\u{ff}"
                } else {
                    "\u{ff}\u{fe}"
                }
                .to_owned(),
            ));
        }
        for part in self.parts {
            match part {
                Part::Lit(text) => {
                    let mut lit = String::new();
                    for unit in text.encode_utf16() {
                        let [a, b] = if big_endian {
                            unit.to_be_bytes()
                        } else {
                            unit.to_le_bytes()
                        };
                        lit.push(char::from(a));
                        lit.push(char::from(b));
                    }
                    out.push(Part::Lit(lit));
                }
                other => out.push(other),
            }
        }
        out
    }

    fn literal_bytes(&self) -> Result<Vec<u8>, String> {
        if self.has_wildcards() {
            return Err("cannot Base64-encode a value with wildcards".to_owned());
        }
        let text: String = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        Ok(if self.bytes {
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect()
        } else {
            text.into_bytes()
        })
    }

    /// `base64`.
    pub fn base64(self) -> Result<SigmaString, String> {
        Ok(SigmaString::literal(
            &STANDARD.encode(self.literal_bytes()?),
        ))
    }

    /// `base64offset`: the stable middle of the Base64 encoding at each of the three offsets.
    pub fn base64offset(self) -> Result<Vec<SigmaString>, String> {
        let value = self.literal_bytes()?;
        if value.is_empty() {
            return Err("cannot Base64-encode an empty value".to_owned());
        }
        let mut out = Vec::with_capacity(3);
        for shift in 0..3usize {
            let mut padded = vec![0u8; shift];
            padded.extend_from_slice(&value);
            let encoded = STANDARD.encode(&padded);
            let start = [0, 2, 3][shift];
            let end_trim = [0, 3, 2][(value.len() + shift) % 3];
            let end = encoded.len().saturating_sub(end_trim);
            if start < end {
                out.push(SigmaString::literal(&encoded[start..end]));
            }
        }
        Ok(out)
    }

    /// The text of a value with no wildcards (used for `fieldref` names and regexes).
    pub fn plain_text(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Star => s.push('*'),
                Part::One => s.push('?'),
                Part::Class(c) => s.push(c.first().copied().unwrap_or('-')),
            }
        }
        s
    }

    /// The longest literal run, for the prefilter.
    pub fn longest_literal(&self) -> Option<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(l) => Some(l.as_str()),
                _ => None,
            })
            .max_by_key(|l| l.len())
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every variant of a string whose classes are replaced by each of their characters.
fn expand_classes(s: &SigmaString) -> Vec<SigmaString> {
    let mut out = vec![SigmaString {
        parts: Vec::new(),
        bytes: s.bytes,
    }];
    for part in &s.parts {
        match part {
            Part::Class(chars) => {
                out = out
                    .iter()
                    .flat_map(|o| {
                        chars.iter().map(move |c| {
                            let mut v = o.clone();
                            v.push_char(*c);
                            v
                        })
                    })
                    .collect();
            }
            other => out.iter_mut().for_each(|o| o.push(other.clone())),
        }
    }
    out
}

/// Lowercases for case-insensitive matching, character by character (context-free, so a lowered
/// substring is always a substring of the lowered whole). ASCII takes a fast path.
pub fn lower_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        // The pushed range is ASCII, so lowering it in place keeps the string valid.
        out[start..].make_ascii_lowercase();
    } else {
        for c in text.chars() {
            out.extend(c.to_lowercase());
        }
    }
}

/// Lowercased copy.
pub fn lower(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    lower_into(text, &mut s);
    s
}

/// A network for `cidr`: `10.0.0.0/8`, `fe80::/10`, or a bare address.
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

/// An event value as an IP address (IPv4-mapped IPv6 answers its IPv4 form too).
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_start_matches('[').trim_end_matches(']');
    let t = t.split('%').next().unwrap_or(t);
    t.parse::<IpAddr>().ok()
}

/// Whether `net` contains the address `text`.
pub fn cidr_contains(net: &IpNet, text: &str) -> bool {
    match parse_ip(text) {
        Some(ip) => {
            net.contains(&ip)
                || match ip {
                    IpAddr::V6(v6) => v6
                        .to_ipv4_mapped()
                        .is_some_and(|v4| net.contains(&IpAddr::V4(v4))),
                    IpAddr::V4(_) => false,
                }
        }
        None => false,
    }
}

/// A token of a fixed-width glob segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    One,
    Class(Vec<char>),
}

/// A run of tokens between `*`s.
#[derive(Debug, Clone)]
struct Segment {
    toks: Vec<Tok>,
    /// Finder for the first literal, when the segment starts with one.
    lead: Option<memmem::Finder<'static>>,
}

impl Segment {
    /// Whether the segment matches at the start of `s`; answers the bytes consumed.
    fn match_at(&self, s: &str) -> Option<usize> {
        let mut pos = 0;
        for tok in &self.toks {
            let rest = &s[pos..];
            match tok {
                Tok::Lit(l) => {
                    if !rest.starts_with(l.as_str()) {
                        return None;
                    }
                    pos += l.len();
                }
                Tok::One => pos += rest.chars().next()?.len_utf8(),
                Tok::Class(set) => {
                    let c = rest.chars().next()?;
                    if !set.contains(&c) {
                        return None;
                    }
                    pos += c.len_utf8();
                }
            }
        }
        Some(pos)
    }

    /// The leftmost match at or after `from`: (start, end).
    fn find(&self, s: &str, from: usize) -> Option<(usize, usize)> {
        if let Some(finder) = &self.lead {
            let mut at = from;
            while let Some(rel) = finder.find(&s.as_bytes()[at..]) {
                let start = at + rel;
                if let Some(len) = self.match_at(&s[start..]) {
                    return Some((start, start + len));
                }
                at = start + 1;
                while at < s.len() && !s.is_char_boundary(at) {
                    at += 1;
                }
                if at > s.len() {
                    return None;
                }
            }
            return None;
        }
        let mut start = from;
        loop {
            if let Some(len) = self.match_at(&s[start..]) {
                return Some((start, start + len));
            }
            let step = s[start..].chars().next()?.len_utf8();
            start += step;
        }
    }
}

/// A general wildcard pattern: fixed-width segments separated by `*`.
#[derive(Debug, Clone)]
pub struct Glob {
    anchored_start: bool,
    anchored_end: bool,
    segments: Vec<Segment>,
}

impl Glob {
    fn is_match(&self, s: &str) -> bool {
        let n = self.segments.len();
        if n == 0 {
            // Only stars (or nothing): an empty pattern matches only the empty string.
            return !(self.anchored_start && self.anchored_end) || s.is_empty();
        }
        let mut pos = 0;
        let mut end_limit = s.len();
        let mut first = 0;
        let mut last = n;
        if self.anchored_start {
            match self.segments[0].match_at(s) {
                Some(len) => pos = len,
                None => return false,
            }
            first = 1;
        }
        if self.anchored_end {
            if self.anchored_start && n == 1 {
                return pos == s.len();
            }
            // The last segment must end the string: try it at the one position where it could.
            let seg = &self.segments[n - 1];
            let Some(start) = suffix_start(seg, s, pos) else {
                return false;
            };
            end_limit = start;
            last = n - 1;
        }
        for seg in &self.segments[first..last] {
            match seg.find(&s[..end_limit], pos) {
                Some((_, end)) => pos = end,
                None => return false,
            }
        }
        pos <= end_limit
    }
}

/// Where `seg` must start so that it ends exactly at the end of `s` (not before `min`).
fn suffix_start(seg: &Segment, s: &str, min: usize) -> Option<usize> {
    // Segments are fixed-width in characters; walk back that many characters.
    let width: usize = seg
        .toks
        .iter()
        .map(|t| match t {
            Tok::Lit(l) => l.chars().count(),
            Tok::One | Tok::Class(_) => 1,
        })
        .sum();
    let start = if width == 0 {
        s.len()
    } else {
        s.char_indices().rev().nth(width - 1)?.0
    };
    if start < min {
        return None;
    }
    (seg.match_at(&s[start..]) == Some(s.len() - start)).then_some(start)
}

/// A compiled string test.
// Variants stay inline: these sit in the innermost loop, where an indirection costs more than size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StrMatcher {
    /// Equal.
    Exact(String),
    /// Starts with.
    Prefix(String),
    /// Ends with.
    Suffix(String),
    /// Contains.
    Contains(memmem::Finder<'static>),
    /// Any value at all (`*`).
    Any,
    /// General wildcard pattern.
    Glob(Glob),
}

impl StrMatcher {
    /// Compiles a Sigma string; `fold` lowercases its literals for case-insensitive matching.
    pub fn compile(s: &SigmaString, fold: bool) -> StrMatcher {
        let parts: Vec<Part> = s
            .parts
            .iter()
            .map(|p| match p {
                Part::Lit(l) if fold => Part::Lit(lower(l)),
                Part::Class(c) if fold => {
                    let mut set: Vec<char> = c.iter().flat_map(|c| c.to_lowercase()).collect();
                    set.sort_unstable();
                    set.dedup();
                    Part::Class(set)
                }
                other => other.clone(),
            })
            .collect();
        match parts.as_slice() {
            [] => return StrMatcher::Exact(String::new()),
            [Part::Lit(l)] => return StrMatcher::Exact(l.clone()),
            [Part::Star] => return StrMatcher::Any,
            [Part::Lit(l), Part::Star] => return StrMatcher::Prefix(l.clone()),
            [Part::Star, Part::Lit(l)] => return StrMatcher::Suffix(l.clone()),
            [Part::Star, Part::Lit(l), Part::Star] => {
                return StrMatcher::Contains(memmem::Finder::new(l.as_bytes()).into_owned());
            }
            _ => {}
        }
        let anchored_start = parts.first() != Some(&Part::Star);
        let anchored_end = parts.last() != Some(&Part::Star);
        let mut segments = Vec::new();
        let mut toks: Vec<Tok> = Vec::new();
        for p in parts.iter().chain(std::iter::once(&Part::Star)) {
            match p {
                Part::Star => {
                    if !toks.is_empty() {
                        let lead = match toks.first() {
                            Some(Tok::Lit(l)) => {
                                Some(memmem::Finder::new(l.as_bytes()).into_owned())
                            }
                            _ => None,
                        };
                        segments.push(Segment {
                            toks: std::mem::take(&mut toks),
                            lead,
                        });
                    }
                }
                Part::Lit(l) => toks.push(Tok::Lit(l.clone())),
                Part::One => toks.push(Tok::One),
                Part::Class(c) => toks.push(Tok::Class(c.clone())),
            }
        }
        StrMatcher::Glob(Glob {
            anchored_start,
            anchored_end,
            segments,
        })
    }

    /// Whether `value` (already lowercased for case-insensitive matchers) matches.
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            StrMatcher::Exact(e) => value == e,
            StrMatcher::Prefix(p) => value.starts_with(p.as_str()),
            StrMatcher::Suffix(s) => value.ends_with(s.as_str()),
            StrMatcher::Contains(f) => f.find(value.as_bytes()).is_some(),
            StrMatcher::Any => true,
            StrMatcher::Glob(g) => g.is_match(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, value: &str) -> bool {
        StrMatcher::compile(&SigmaString::parse(pattern, false), true).is_match(&lower(value))
    }

    #[test]
    fn escapes() {
        assert_eq!(
            SigmaString::parse("a\\*b", false).parts,
            [Part::Lit("a*b".into())]
        );
        assert_eq!(
            SigmaString::parse("a\\?b", false).parts,
            [Part::Lit("a?b".into())]
        );
        assert_eq!(
            SigmaString::parse("C:\\Windows\\x", false).parts,
            [Part::Lit("C:\\Windows\\x".into())]
        );
        assert_eq!(
            SigmaString::parse("a\\\\b", false).parts,
            [Part::Lit("a\\b".into())]
        );
        assert_eq!(
            SigmaString::parse("a\\\\*", false).parts,
            [Part::Lit("a\\".into()), Part::Star]
        );
        assert_eq!(
            SigmaString::parse("a\\\\\\*", false).parts,
            [Part::Lit("a\\*".into())]
        );
        assert_eq!(
            SigmaString::parse("end\\", false).parts,
            [Part::Lit("end\\".into())]
        );
        assert_eq!(
            SigmaString::parse("\\%x%", true).parts,
            [Part::Lit("%x%".into())]
        );
        assert_eq!(
            SigmaString::parse("\\%x%", false).parts,
            [Part::Lit("\\%x%".into())]
        );
    }

    #[test]
    fn wildcards_match_case_insensitively() {
        assert!(m("*\\cmd.exe", "C:\\Windows\\System32\\CMD.EXE"));
        assert!(m("prog?.exe", "progA.exe"));
        assert!(!m("prog?.exe", "prog.exe"));
        assert!(!m("prog?.exe", "progAB.exe"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("*a*b*", "zzazzbzz"));
        assert!(m("a*", "a"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("ab*ab", "abab"));
        assert!(!m("ab*ab", "aba"));
        assert!(m("*?", "x"));
        assert!(!m("*?", ""));
        assert!(m("?*?", "ab"));
        assert!(m("*é?", "xÉz"));
        assert!(m("a\\*b", "A*B"));
        assert!(!m("a\\*b", "AxB"));
        assert!(m("*.exe*--x", "run.exe --x"));
    }

    #[test]
    fn placement() {
        let s = SigmaString::parse("evil", false);
        assert_eq!(
            s.clone().contains().parts,
            [Part::Star, Part::Lit("evil".into()), Part::Star]
        );
        assert_eq!(
            s.clone().startswith().parts,
            [Part::Lit("evil".into()), Part::Star]
        );
        assert_eq!(s.endswith().parts, [Part::Star, Part::Lit("evil".into())]);
        let w = SigmaString::parse("*x*", false).contains();
        assert_eq!(w.parts, [Part::Star, Part::Lit("x".into()), Part::Star]);
    }

    #[test]
    fn windash_variants() {
        let v = SigmaString::parse(" -enc ", false).windash();
        let texts: Vec<String> = v.iter().map(SigmaString::plain_text).collect();
        assert_eq!(
            texts,
            [
                " -enc ",
                " /enc ",
                " \u{2013}enc ",
                " \u{2014}enc ",
                " \u{2015}enc "
            ]
        );
        let v = SigmaString::parse("a-b", false).windash();
        assert_eq!(v.len(), 1, "a dash inside a word is not a flag");
        let v = SigmaString::parse("-a -b", false).windash();
        assert_eq!(v.len(), 25);
        let v = SigmaString::parse("-a -b -c", false).windash();
        assert_eq!(v.len(), 1);
        let matcher = StrMatcher::compile(&v[0].clone().contains(), true);
        assert!(matcher.is_match("x /a \u{2014}b -c y"));
        assert!(!matcher.is_match("x /a +b -c y"));
    }

    #[test]
    fn encodings() {
        let s = SigmaString::parse("cmd", false);
        assert_eq!(s.clone().utf16(false, false).plain_text(), "c\0m\0d\0");
        assert_eq!(s.clone().utf16(true, false).plain_text(), "\0c\0m\0d");
        assert_eq!(
            s.clone().utf16(false, true).plain_text(),
            "\u{ff}\u{fe}c\0m\0d\0"
        );
        assert_eq!(s.clone().base64().unwrap().plain_text(), "Y21k");
        assert_eq!(
            s.clone().utf16(false, false).base64().unwrap().plain_text(),
            "YwBtAGQA"
        );
        let offs: Vec<String> = SigmaString::parse("/bin/bash", false)
            .base64offset()
            .unwrap()
            .iter()
            .map(SigmaString::plain_text)
            .collect();
        assert_eq!(offs, ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
        assert!(SigmaString::parse("a*", false).base64().is_err());
    }

    #[test]
    fn base64offset_finds_value_at_every_offset() {
        let needle = "Invoke-Mimikatz";
        let variants = SigmaString::parse(needle, false).base64offset().unwrap();
        for prefix in ["", "x", "xy", "xyz"] {
            let encoded = STANDARD.encode(format!("{prefix}{needle} tail"));
            assert!(
                variants.iter().any(|v| encoded.contains(&v.plain_text())),
                "prefix {prefix:?}: {encoded}"
            );
        }
    }

    #[test]
    fn cidr() {
        let net = parse_cidr("10.0.0.0/8").unwrap();
        assert!(cidr_contains(&net, "10.1.2.3"));
        assert!(cidr_contains(&net, "::ffff:10.1.2.3"));
        assert!(!cidr_contains(&net, "11.0.0.1"));
        assert!(!cidr_contains(&net, "not an ip"));
        let v6 = parse_cidr("fe80::/10").unwrap();
        assert!(cidr_contains(&v6, "fe80::1%eth0"));
        assert!(cidr_contains(
            &parse_cidr("192.168.1.5").unwrap(),
            "192.168.1.5"
        ));
        assert!(parse_cidr("10.0.0.0/33").is_none());
    }
}
