//! A detection compiled for one log-source entry: field names interned (after the entry's renames),
//! values turned into ready-to-run tests, the condition resolved to indices.

use ipnet::IpNet;
use std::sync::OnceLock;

use regex::Regex;

use crate::condition::{Condition, OfTarget, Quantifier};
use crate::fields::{FieldId, FieldTable};
use crate::mapping::LogSourceMapping;
use crate::modifier::Modifier;
use crate::parse::placeholders_in;
use crate::pattern::{SigmaString, StrMatcher, lower, parse_cidr};
use crate::rule::{CmpOp, Detection, FieldItem, SigmaValue};

/// Largest compiled regular expression, in bytes (the `regex` crate's size limit).
pub const REGEX_SIZE_LIMIT: usize = 16 << 20;

/// One test of a field value.
// Variants stay inline: these sit in the innermost loop, where an indirection costs more than size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Test {
    /// A string pattern; against the lowercased value unless `cased`.
    Str {
        /// The matcher (literals lowercased unless `cased`).
        matcher: StrMatcher,
        /// Case-sensitive.
        cased: bool,
        /// The pattern's longest literal, lowercased, for the prefilter.
        literal: Option<String>,
    },
    /// A plain number: equal as a number, or as text.
    Num {
        /// The value.
        value: f64,
        /// Its text as written, lowercased.
        text: String,
    },
    /// A boolean: `true`/`false` or their text.
    Bool(bool),
    /// `null`: the field is absent or null.
    Null,
    /// `gt`/`gte`/`lt`/`lte`.
    Cmp(CmpOp, f64),
    /// `re`, with literals one of which every match contains (lowercased), when known.
    Regex(LazyRegex, Option<Vec<String>>),
    /// `cidr`.
    Cidr(IpNet),
    /// `fieldref`: compare with another field of the event.
    FieldRef {
        /// The other field.
        other: FieldId,
        /// `contains`/`startswith`/`endswith`, or equality.
        place: Option<Modifier>,
        /// Case-sensitive.
        cased: bool,
    },
    /// A date part (`hour`…), compared with `cmp` (or equal).
    Time {
        /// Which part.
        part: Modifier,
        /// The comparison.
        cmp: CmpOp,
        /// The bound.
        value: f64,
    },
    /// Matches nothing (an unresolved placeholder).
    Never,
}

/// Flags of a `re` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegexFlags {
    /// `i`.
    pub ignore_case: bool,
    /// `m`.
    pub multi_line: bool,
    /// `s`.
    pub dot_all: bool,
}

/// A regular expression checked at compile time and built on first use: building all of a rule
/// set's regexes up front would dominate load time, and most never see an event of their log source.
/// A regex that exceeds [`REGEX_SIZE_LIMIT`] when built matches nothing.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: String,
    flags: RegexFlags,
    cell: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// Whether the regex matches `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_some_and(|r| r.is_match(text))
    }

    /// The built regex (`None` when it exceeds the size limit).
    pub fn regex(&self) -> Option<&Regex> {
        self.cell
            .get_or_init(|| {
                regex::RegexBuilder::new(&self.pattern)
                    .case_insensitive(self.flags.ignore_case)
                    .multi_line(self.flags.multi_line)
                    .dot_matches_new_line(self.flags.dot_all)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

/// What an item looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One field's value.
    Field(FieldId),
    /// Every field's value (keyword search).
    Keywords,
    /// Presence of a field (`exists`), wanted or not.
    Exists(FieldId, bool),
}

/// A compiled `field|modifiers: values`.
#[derive(Debug, Clone)]
pub struct Item {
    /// What is tested.
    pub target: Target,
    /// One group per value (a value may expand to several tests, OR-ed). Without `all`, a single
    /// group holds every test.
    pub groups: Vec<Vec<Test>>,
    /// Every group must match (`all`), else any.
    pub all: bool,
    /// The result is negated (`neq`).
    pub neq: bool,
    /// Some test compares lowercased text.
    pub needs_lower: bool,
    /// Some test refers to another field.
    pub has_fieldref: bool,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Node {
    /// A search identifier, by index in [`Program::searches`].
    Search(u32),
    /// Negation.
    Not(Box<Node>),
    /// All of.
    And(Vec<Node>),
    /// Any of.
    Or(Vec<Node>),
    /// At least this many of.
    AtLeast(u32, Vec<Node>),
}

/// A search: OR of ANDs of items.
pub type CompiledSearch = Vec<Vec<Item>>;

/// A compiled detection.
#[derive(Debug, Clone)]
pub struct Program {
    /// The searches used by the condition.
    pub searches: Vec<CompiledSearch>,
    /// The condition.
    pub cond: Node,
    /// Every field the detection reads (sorted, deduplicated).
    pub fields: Vec<FieldId>,
    /// The detection has keyword searches.
    pub has_keywords: bool,
}

/// The outcome of compiling one detection: the program, plus warnings.
pub struct Compiled {
    /// The program.
    pub program: Program,
    /// Things that compile but deserve attention.
    pub warnings: Vec<String>,
}

/// Interns the event fields a detection reads through `entry` (items and `fieldref` targets).
pub fn intern_fields(d: &Detection, entry: Option<&LogSourceMapping>, table: &mut FieldTable) {
    let rename = |n: &str| entry.map_or(n, |e| e.rename(n)).to_owned();
    for s in &d.searches {
        for alt in &s.alternatives {
            for item in alt {
                if let Some(f) = &item.field {
                    table.intern(&rename(f));
                }
                if item.has(Modifier::FieldRef) {
                    for v in &item.values {
                        table.intern(&rename(&v.text()));
                    }
                }
            }
        }
    }
}

/// [`intern_fields`] then [`compile`].
#[cfg(test)]
pub fn compile_interning(
    d: &Detection,
    entry: Option<&LogSourceMapping>,
    table: &mut FieldTable,
) -> Result<Compiled, String> {
    intern_fields(d, entry, table);
    compile(d, entry, table)
}

/// Compiles `detection` for the events of `entry` (its renames apply; `None`: generic). Every
/// field it reads must be interned in `table` already ([`intern_fields`]).
pub fn compile(
    detection: &Detection,
    entry: Option<&LogSourceMapping>,
    table: &FieldTable,
) -> Result<Compiled, String> {
    let names: Vec<&str> = detection.searches.iter().map(|s| s.name.as_str()).collect();
    let mut used: Vec<&str> = detection
        .conditions
        .iter()
        .flat_map(|c| c.referenced(&names))
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut ctx = ItemCompiler {
        entry,
        table,
        warnings: Vec::new(),
        fields: Vec::new(),
        has_keywords: false,
    };
    let mut searches = Vec::with_capacity(used.len());
    let mut order: Vec<&str> = Vec::with_capacity(used.len());
    for s in &detection.searches {
        if !used.contains(&s.name.as_str()) {
            continue;
        }
        let mut alternatives = Vec::with_capacity(s.alternatives.len());
        for alt in &s.alternatives {
            let items = alt
                .iter()
                .map(|i| ctx.item(i).map_err(|e| format!("line {}: {e}", i.line)))
                .collect::<Result<Vec<_>, _>>()?;
            alternatives.push(items);
        }
        searches.push(alternatives);
        order.push(s.name.as_str());
    }
    let mut conds = Vec::with_capacity(detection.conditions.len());
    for c in &detection.conditions {
        conds.push(node(c, &order)?);
    }
    let cond = if conds.len() == 1 {
        conds.remove(0)
    } else {
        Node::Or(conds)
    };
    let mut fields = ctx.fields;
    fields.sort_unstable();
    fields.dedup();
    Ok(Compiled {
        program: Program {
            searches,
            cond,
            fields,
            has_keywords: ctx.has_keywords,
        },
        warnings: ctx.warnings,
    })
}

fn node(c: &Condition, names: &[&str]) -> Result<Node, String> {
    Ok(match c {
        Condition::Search(n) => Node::Search(index_of(names, n)?),
        Condition::Not(inner) => Node::Not(Box::new(node(inner, names)?)),
        Condition::And(items) => Node::And(
            items
                .iter()
                .map(|i| node(i, names))
                .collect::<Result<_, _>>()?,
        ),
        Condition::Or(items) => Node::Or(
            items
                .iter()
                .map(|i| node(i, names))
                .collect::<Result<_, _>>()?,
        ),
        Condition::Of { quantifier, target } => {
            let members = Condition::expand(target, names);
            if members.is_empty() {
                let what = match target {
                    OfTarget::Them => "them",
                    OfTarget::Pattern(p) => p.as_str(),
                };
                return Err(format!("'{what}' matches no search identifier"));
            }
            let children = members
                .iter()
                .map(|n| index_of(names, n).map(Node::Search))
                .collect::<Result<Vec<_>, _>>()?;
            match quantifier {
                Quantifier::All => Node::And(children),
                Quantifier::AtLeast(1) => Node::Or(children),
                Quantifier::AtLeast(n) => Node::AtLeast(*n, children),
            }
        }
    })
}

fn index_of(names: &[&str], name: &str) -> Result<u32, String> {
    names
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| format!("unknown search identifier '{name}'"))
}

struct ItemCompiler<'a> {
    entry: Option<&'a LogSourceMapping>,
    table: &'a FieldTable,
    warnings: Vec<String>,
    fields: Vec<FieldId>,
    has_keywords: bool,
}

impl ItemCompiler<'_> {
    fn field(&mut self, name: &str) -> Result<FieldId, String> {
        let renamed = self.entry.map_or(name, |e| e.rename(name));
        let id = self
            .table
            .get(renamed)
            .ok_or_else(|| format!("field '{renamed}' was not interned"))?;
        self.fields.push(id);
        Ok(id)
    }

    fn item(&mut self, item: &FieldItem) -> Result<Item, String> {
        let mods = &item.modifiers;
        let has = |m: Modifier| mods.contains(&m);
        let field = match item.field.as_deref() {
            Some(f) => Some(self.field(f)?),
            None => None,
        };
        if has(Modifier::Exists) {
            let want = matches!(item.values.as_slice(), [SigmaValue::Bool(true)]);
            let Some(f) = field else {
                return Err("'exists' needs a field".to_owned());
            };
            return Ok(Item {
                target: Target::Exists(f, want),
                groups: Vec::new(),
                all: false,
                neq: has(Modifier::Neq),
                needs_lower: false,
                has_fieldref: false,
            });
        }
        let target = match field {
            Some(f) => Target::Field(f),
            None => {
                self.has_keywords = true;
                Target::Keywords
            }
        };
        let mut groups = Vec::with_capacity(item.values.len());
        for v in &item.values {
            groups.push(self.value_tests(item, v)?);
        }
        let all = has(Modifier::All);
        if !all {
            groups = vec![groups.into_iter().flatten().collect()];
        }
        let needs_lower = groups.iter().flatten().any(|t| {
            matches!(
                t,
                Test::Str { cased: false, .. }
                    | Test::Num { .. }
                    | Test::Bool(_)
                    | Test::FieldRef { cased: false, .. }
            )
        });
        let has_fieldref = groups
            .iter()
            .flatten()
            .any(|t| matches!(t, Test::FieldRef { .. }));
        Ok(Item {
            target,
            groups,
            all,
            neq: has(Modifier::Neq),
            needs_lower,
            has_fieldref,
        })
    }

    fn value_tests(&mut self, item: &FieldItem, value: &SigmaValue) -> Result<Vec<Test>, String> {
        let mods = &item.modifiers;
        let has = |m: Modifier| mods.contains(&m);
        let cmp = mods.iter().find_map(|m| match m {
            Modifier::Gt => Some(CmpOp::Gt),
            Modifier::Gte => Some(CmpOp::Gte),
            Modifier::Lt => Some(CmpOp::Lt),
            Modifier::Lte => Some(CmpOp::Lte),
            _ => None,
        });
        if let Some(part) = mods.iter().copied().find(|m| m.is_time_part()) {
            let n = number(value).ok_or_else(|| format!("'{}' is not a number", value.text()))?;
            return Ok(vec![Test::Time {
                part,
                cmp: cmp.unwrap_or(CmpOp::Eq),
                value: n,
            }]);
        }
        if let Some(op) = cmp {
            let n = number(value).ok_or_else(|| format!("'{}' is not a number", value.text()))?;
            return Ok(vec![Test::Cmp(op, n)]);
        }
        if matches!(value, SigmaValue::Null) {
            return Ok(vec![Test::Null]);
        }
        if has(Modifier::Re) {
            let pattern = value.text();
            let flags = RegexFlags {
                ignore_case: has(Modifier::ReIgnoreCase),
                multi_line: has(Modifier::ReMultiLine),
                dot_all: has(Modifier::ReDotAll),
            };
            let hir = regex_syntax::ParserBuilder::new()
                .case_insensitive(flags.ignore_case)
                .multi_line(flags.multi_line)
                .dot_matches_new_line(flags.dot_all)
                .build()
                .parse(&pattern)
                .map_err(|e| {
                    format!(
                        "regular expression '{pattern}': {}",
                        last_line(&e.to_string())
                    )
                })?;
            let literals = regex_literals(&hir);
            let re = LazyRegex {
                pattern: pattern.into_owned(),
                flags,
                cell: OnceLock::new(),
            };
            return Ok(vec![Test::Regex(re, literals)]);
        }
        if has(Modifier::Cidr) {
            let net = parse_cidr(&value.text())
                .ok_or_else(|| format!("'{}' is not an IP network", value.text()))?;
            return Ok(vec![Test::Cidr(net)]);
        }
        let cased = has(Modifier::Cased);
        if has(Modifier::FieldRef) {
            let other = self.field(&value.text())?;
            let place = mods.iter().copied().find(|m| m.is_placement());
            return Ok(vec![Test::FieldRef {
                other,
                place,
                cased,
            }]);
        }
        let string_mods = mods
            .iter()
            .any(|m| m.is_placement() || m.is_encoding() || *m == Modifier::Windash);
        let keyword = item.field.is_none();
        match value {
            SigmaValue::Int(n, text) if !string_mods && !keyword => {
                return Ok(vec![Test::Num {
                    value: *n as f64,
                    text: lower(text),
                }]);
            }
            SigmaValue::Float(n, text) if !string_mods && !keyword => {
                return Ok(vec![Test::Num {
                    value: *n,
                    text: lower(text),
                }]);
            }
            SigmaValue::Bool(b) if !string_mods && !keyword => return Ok(vec![Test::Bool(*b)]),
            _ => {}
        }
        let text = value.text();
        if has(Modifier::Expand) {
            let missing = placeholders_in(&text);
            if !missing.is_empty() {
                self.warnings.push(format!(
                    "placeholder {} has no value: this value matches nothing",
                    missing
                        .iter()
                        .map(|p| format!("%{p}%"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                return Ok(vec![Test::Never]);
            }
        }
        let mut strings = vec![SigmaString::parse(&text, has(Modifier::Expand))];
        for m in mods {
            strings = match m {
                Modifier::Contains => strings.into_iter().map(SigmaString::contains).collect(),
                Modifier::StartsWith => strings.into_iter().map(SigmaString::startswith).collect(),
                Modifier::EndsWith => strings.into_iter().map(SigmaString::endswith).collect(),
                Modifier::Windash => strings.into_iter().flat_map(SigmaString::windash).collect(),
                Modifier::Utf16Le => strings.into_iter().map(|s| s.utf16(false, false)).collect(),
                Modifier::Utf16Be => strings.into_iter().map(|s| s.utf16(true, false)).collect(),
                Modifier::Utf16 => strings.into_iter().map(|s| s.utf16(false, true)).collect(),
                Modifier::Base64 => strings
                    .into_iter()
                    .map(SigmaString::base64)
                    .collect::<Result<_, _>>()?,
                Modifier::Base64Offset => {
                    let mut out = Vec::new();
                    for s in strings {
                        out.extend(s.base64offset()?);
                    }
                    out
                }
                _ => strings,
            };
        }
        if keyword && !mods.iter().any(|m| m.is_placement()) {
            strings = strings.into_iter().map(SigmaString::contains).collect();
        }
        Ok(strings
            .iter()
            .map(|s| Test::Str {
                matcher: StrMatcher::compile(s, !cased),
                cased,
                literal: s.longest_literal().map(lower),
            })
            .collect())
    }
}

/// Literals every match of the regex starts with (lowercased), when there are few and all are
/// worth filtering on.
fn regex_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let mut best: Option<Vec<String>> = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let seq = Extractor::new().kind(kind).extract(hir);
        let Some(lits) = seq.literals() else { continue };
        let mut out: Vec<String> = Vec::with_capacity(lits.len());
        for l in lits {
            let text = std::str::from_utf8(l.as_bytes()).ok()?;
            out.push(lower(text));
        }
        out.sort_unstable();
        out.dedup();
        if out.is_empty()
            || out.len() > 64
            || !out.iter().all(|l| crate::prefilter::worth_filtering(l))
        {
            continue;
        }
        let shortest = |v: &Vec<String>| v.iter().map(String::len).min().unwrap_or(0);
        if best.as_ref().is_none_or(|b| shortest(&out) > shortest(b)) {
            best = Some(out);
        }
    }
    best
}

fn number(v: &SigmaValue) -> Option<f64> {
    match v {
        SigmaValue::Int(n, _) => Some(*n as f64),
        SigmaValue::Float(f, _) => Some(*f),
        SigmaValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;

    fn program(detection: &str) -> Result<Compiled, String> {
        let text = format!("title: t\nlogsource: {{product: windows}}\ndetection:\n{detection}");
        let (rules, diags) = parse_file(&text, "t.yml");
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let mut table = FieldTable::default();
        compile_interning(rules[0].detection().unwrap(), None, &mut table)
    }

    #[test]
    fn conditions_resolve_to_used_searches() {
        let c = program(
            "  sel_a: {A: 1}\n  sel_b: {B: 2}\n  unused: {C: 3}\n  condition: 1 of sel_*\n",
        )
        .unwrap();
        assert_eq!(c.program.searches.len(), 2);
        assert!(matches!(&c.program.cond, Node::Or(v) if v.len() == 2));
        let c = program("  a: {A: 1}\n  b: {B: 2}\n  c: {C: 3}\n  condition: 2 of them\n").unwrap();
        assert!(matches!(&c.program.cond, Node::AtLeast(2, v) if v.len() == 3));
    }

    #[test]
    fn regex_errors_and_placeholder_warnings() {
        let e = program("  sel: {A|re: '(unclosed'}\n  condition: sel\n")
            .err()
            .unwrap();
        assert!(e.contains("regular expression"), "{e}");
        let c = program("  sel: {A|expand: '%admins%'}\n  condition: sel\n").unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(matches!(
            c.program.searches[0][0][0].groups[0][0],
            Test::Never
        ));
    }

    #[test]
    fn renames_apply_per_entry() {
        let text = "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: x.exe}\n  condition: sel\n";
        let (rules, _) = parse_file(text, "t.yml");
        let mapping = crate::Mapping::default_windows();
        let entry = mapping
            .entries
            .iter()
            .find(|e| e.name == "process_creation-security")
            .unwrap();
        let mut table = FieldTable::default();
        let c = compile_interning(rules[0].detection().unwrap(), Some(entry), &mut table).unwrap();
        assert_eq!(c.program.fields.len(), 1);
        assert_eq!(table.name(c.program.fields[0]), "NewProcessName");
    }
}
