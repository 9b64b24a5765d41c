//! The literal prefilter: which compiled detections could possibly match an event, found without
//! evaluating them.
//!
//! For each detection we derive a *requirement*: a set of `(field, literal)` atoms such that if the
//! detection matches, the lowercased value of at least one atom's field contains its literal. It is
//! computed bottom-up: a string test needs its longest literal; OR needs the union of its branches;
//! AND needs the best single branch; `not`, regexes, numeric comparisons and the like give no
//! requirement (the detection is then evaluated whenever its log source matches). One Aho-Corasick
//! automaton per field holds all atoms on that field; scanning an event's fields once marks every
//! detection with a hit. The work per event thus depends on the event's size and on the detections
//! whose literals actually occur, not on how many rules are loaded.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::OnceLock;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::fields::FieldId;
use crate::pattern::StrMatcher;
use crate::program::{Item, Node, Program, Target, Test};

/// Shortest ASCII literal worth filtering on; shorter ones occur almost everywhere.
pub const MIN_ATOM: usize = 3;

/// The pseudo-field of keyword searches: any value of the event.
pub const ANY_FIELD: FieldId = FieldId::MAX;

/// Whether a literal is selective enough to filter on: three bytes, or two of a non-ASCII
/// character (a Cyrillic look-alike letter is rare in logs).
pub fn worth_filtering(literal: &str) -> bool {
    literal.len() >= MIN_ATOM || (literal.len() >= 2 && !literal.is_ascii())
}

/// A literal one of which must occur: inside the field's lowercased value, or (`exact`) equal to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom {
    /// The field ([`ANY_FIELD`] for keyword searches).
    pub field: FieldId,
    /// The lowercased literal.
    pub text: String,
    /// The whole value must equal `text`.
    pub exact: bool,
}

/// The atoms one of which must occur for `program` to match; `None` when no such set is known.
/// An empty set means the program can never match. Exact atoms on `weak` fields (the ones routing
/// already decides, like `EventID`) are used only when nothing better exists.
///
/// Among alternatives, atoms that many detections mention are taken to be common in events too
/// (`Company: Microsoft Corporation`, `IntegrityLevel: High`): `popularity` counts, per atom, the
/// programs mentioning it (see [`popularity`]).
pub fn requirement(
    program: &Program,
    weak: &[FieldId],
    popularity: &FxHashMap<Atom, u32>,
) -> Option<Vec<Atom>> {
    Req {
        program,
        weak,
        popularity,
    }
    .node(&program.cond)
}

/// How many programs mention each atom (whether or not it ends up in their requirement).
pub fn popularity<'p>(programs: impl Iterator<Item = &'p Program>) -> FxHashMap<Atom, u32> {
    let mut counts: FxHashMap<Atom, u32> = FxHashMap::default();
    let mut mine: Vec<Atom> = Vec::new();
    for p in programs {
        mine.clear();
        for item in p.searches.iter().flatten().flatten() {
            let field = match item.target {
                Target::Field(f) => f,
                Target::Keywords => ANY_FIELD,
                Target::Exists(..) => continue,
            };
            for t in item.groups.iter().flatten() {
                mine.extend(test_req(field, t).into_iter().flatten());
            }
        }
        mine.sort_unstable();
        mine.dedup();
        for a in mine.drain(..) {
            *counts.entry(a).or_insert(0) += 1;
        }
    }
    counts
}

struct Req<'a> {
    program: &'a Program,
    weak: &'a [FieldId],
    popularity: &'a FxHashMap<Atom, u32>,
}

impl Req<'_> {
    fn node(&self, n: &Node) -> Option<Vec<Atom>> {
        match n {
            Node::Search(i) => {
                let alts = self.program.searches.get(*i as usize)?;
                union(
                    alts.iter()
                        .map(|items| self.best(items.iter().map(item_req))),
                )
            }
            Node::Not(_) => None,
            Node::And(items) => self.best(items.iter().map(|c| self.node(c))),
            Node::Or(items) | Node::AtLeast(_, items) => union(items.iter().map(|c| self.node(c))),
        }
    }

    /// The most selective requirement: an impossible one, else the one whose weakest atom is
    /// strongest, then the one with fewest atoms.
    fn best(&self, reqs: impl Iterator<Item = Option<Vec<Atom>>>) -> Option<Vec<Atom>> {
        // Strength in sixteenths: a literal's length (an exact value counts as 12 characters), divided
        // by how widely the atom is used across the rule set.
        let strength = |a: &Atom| -> usize {
            let base = if a.exact {
                if self.weak.contains(&a.field) {
                    return 0;
                }
                12
            } else {
                a.text.len().min(32)
            };
            let used = self.popularity.get(a).copied().unwrap_or(1).max(1);
            let spread = 32 - used.leading_zeros() as usize; // 1 + log2(used)
            base * 16 / spread
        };
        let score = |r: &Vec<Atom>| -> (usize, usize) {
            if r.is_empty() {
                return (usize::MAX, 0);
            }
            (
                r.iter().map(strength).min().unwrap_or(0),
                usize::MAX - r.len(),
            )
        };
        reqs.flatten().max_by_key(score)
    }
}

fn item_req(item: &Item) -> Option<Vec<Atom>> {
    if item.neq {
        return None;
    }
    let field = match item.target {
        Target::Field(f) => f,
        Target::Keywords => ANY_FIELD,
        Target::Exists(..) => return None,
    };
    let group = |g: &Vec<Test>| union(g.iter().map(|t| test_req(field, t)));
    if item.all {
        // Any one group is necessary; take the one with the longest shortest literal.
        item.groups.iter().filter_map(group).max_by_key(|r| {
            r.iter()
                .map(|a| if a.exact { 24 } else { a.text.len() })
                .min()
                .unwrap_or(usize::MAX)
        })
    } else {
        union(item.groups.iter().map(group))
    }
}

fn test_req(field: FieldId, t: &Test) -> Option<Vec<Atom>> {
    let substring = |text: &str| Atom {
        field,
        text: text.to_owned(),
        exact: false,
    };
    match t {
        Test::Str {
            matcher: StrMatcher::Exact(e),
            cased,
            ..
        } if field != ANY_FIELD => Some(vec![Atom {
            field,
            text: if *cased {
                crate::pattern::lower(e)
            } else {
                e.clone()
            },
            exact: true,
        }]),
        Test::Str {
            literal: Some(l), ..
        } if worth_filtering(l) => Some(vec![substring(l)]),
        Test::Regex(_, Some(lits)) => Some(lits.iter().map(|l| substring(l)).collect()),
        Test::Num { value, text } if field != ANY_FIELD => {
            // The event's number formats to the canonical integer text; a string must equal the text
            // as written.
            let mut atoms = vec![Atom {
                field,
                text: text.clone(),
                exact: true,
            }];
            if value.fract() == 0.0 && value.abs() < 1e15 {
                let canonical = format!("{}", *value as i64);
                if canonical != *text {
                    atoms.push(Atom {
                        field,
                        text: canonical,
                        exact: true,
                    });
                }
            } else {
                return None;
            }
            Some(atoms)
        }
        Test::Never => Some(Vec::new()),
        _ => None,
    }
}

fn union(reqs: impl Iterator<Item = Option<Vec<Atom>>>) -> Option<Vec<Atom>> {
    let mut out = Vec::new();
    for r in reqs {
        out.extend(r?);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// One field's automaton over its substring atoms: pattern index → atom id.
pub struct FieldScan {
    /// The automaton.
    pub automaton: AhoCorasick,
    /// Atom id of each pattern.
    pub atoms: Vec<u32>,
}

/// What to look for in one field.
pub struct FieldAtoms {
    /// The field.
    pub field: FieldId,
    /// Substring atoms.
    pub scan: Option<FieldScan>,
    /// Exact atoms: lowercased value → atom id.
    pub exact: FxHashMap<Box<str>, u32>,
}

/// The atoms of the programs of one scope (a mapping entry, or the generic programs).
#[derive(Default)]
pub struct Scope {
    /// Per field.
    pub fields: Vec<FieldAtoms>,
    /// Keyword atoms, searched in every value.
    pub any: Option<FieldScan>,
}

/// The atoms of one scope before their automata are built: field → (substring atoms, exact atoms).
type ScopeSpec = Vec<(FieldId, Vec<(String, u32)>, Vec<(String, u32)>)>;

/// All atoms, by scope and field, and the programs each atom serves.
///
/// A scope's automata are built on first use: loading a rule set is fast, and scopes whose log
/// source never occurs cost nothing.
#[derive(Default)]
pub struct Prefilter {
    specs: Vec<ScopeSpec>,
    scopes: Vec<OnceLock<Option<Scope>>>,
    /// Programs (by index) per atom id.
    pub programs: Vec<Vec<u32>>,
    /// Programs with atoms, per scope (evaluated unfiltered if the scope's automata fail to build).
    pub scope_programs: Vec<Vec<u32>>,
}

impl Prefilter {
    /// Collects per-scope atoms from each program's requirement (`None` skipped) and the scopes it
    /// belongs to.
    pub fn build(
        requirements: &[Option<Vec<Atom>>],
        scopes_of: &[Vec<usize>],
        scope_count: usize,
    ) -> Result<Prefilter, String> {
        let mut atom_ids: FxHashMap<&Atom, u32> = FxHashMap::default();
        let mut programs: Vec<Vec<u32>> = Vec::new();
        type Pending = FxHashMap<FieldId, (Vec<(String, u32)>, Vec<(String, u32)>)>;
        let mut pending: Vec<Pending> = (0..scope_count).map(|_| Pending::default()).collect();
        let mut scope_programs: Vec<Vec<u32>> = vec![Vec::new(); scope_count];
        let mut placed: rustc_hash::FxHashSet<(usize, u32)> = rustc_hash::FxHashSet::default();
        for (pi, req) in requirements.iter().enumerate() {
            let Some(atoms) = req else { continue };
            let pi = u32::try_from(pi).map_err(|_| "too many programs".to_owned())?;
            for &scope in scopes_of.get(pi as usize).map_or(&[][..], Vec::as_slice) {
                if let Some(list) = scope_programs.get_mut(scope) {
                    list.push(pi);
                }
            }
            for atom in atoms {
                let next =
                    u32::try_from(programs.len()).map_err(|_| "too many atoms".to_owned())?;
                let id = *atom_ids.entry(atom).or_insert_with(|| {
                    programs.push(Vec::new());
                    next
                });
                if let Some(list) = programs.get_mut(id as usize) {
                    list.push(pi);
                }
                for &scope in scopes_of.get(pi as usize).map_or(&[][..], Vec::as_slice) {
                    let Some(fields) = pending.get_mut(scope) else {
                        continue;
                    };
                    if !placed.insert((scope, id)) {
                        continue;
                    }
                    let (subs, exact) = fields.entry(atom.field).or_default();
                    let list = if atom.exact { exact } else { subs };
                    list.push((atom.text.clone(), id));
                }
            }
        }
        let specs: Vec<ScopeSpec> = pending
            .into_iter()
            .map(|fields| {
                let mut sorted: ScopeSpec =
                    fields.into_iter().map(|(f, (s, e))| (f, s, e)).collect();
                sorted.sort_by_key(|(f, _, _)| *f);
                sorted
            })
            .collect();
        Ok(Prefilter {
            scopes: (0..specs.len()).map(|_| OnceLock::new()).collect(),
            specs,
            programs,
            scope_programs,
        })
    }

    /// Number of scopes.
    pub fn scope_count(&self) -> usize {
        self.specs.len()
    }

    /// Scope `i`, building its automata on first use; `None` when they cannot be built.
    pub fn scope(&self, i: usize) -> Option<&Scope> {
        let spec = self.specs.get(i)?;
        self.scopes
            .get(i)?
            .get_or_init(|| build_scope(spec).ok())
            .as_ref()
    }

    /// Builds every scope now (for callers that prefer paying at load time).
    pub fn build_all(&self) {
        (0..self.specs.len()).into_par_iter().for_each(|i| {
            let _ = self.scope(i);
        });
    }

    /// Number of atoms.
    pub fn atom_count(&self) -> usize {
        self.programs.len()
    }
}

fn build_scope(spec: &ScopeSpec) -> Result<Scope, String> {
    let mut scope = Scope::default();
    for (field, subs, exact) in spec {
        let scan = if subs.is_empty() {
            None
        } else {
            Some(field_scan(subs)?)
        };
        if *field == ANY_FIELD {
            scope.any = scan;
            continue;
        }
        scope.fields.push(FieldAtoms {
            field: *field,
            scan,
            exact: exact
                .iter()
                .map(|(t, id)| (Box::from(t.as_str()), *id))
                .collect(),
        });
    }
    Ok(scope)
}

fn field_scan(patterns: &[(String, u32)]) -> Result<FieldScan, String> {
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(patterns.iter().map(|(l, _)| l.as_bytes()))
        .map_err(|e| format!("prefilter automaton: {e}"))?;
    Ok(FieldScan {
        automaton,
        atoms: patterns.iter().map(|(_, id)| *id).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;
    use crate::parse::parse_file;
    use crate::program::compile_interning;

    /// Requirement as `field:literal` (substring) or `field=literal` (exact) strings, sorted.
    fn req(detection: &str) -> Option<Vec<String>> {
        let text = format!("title: t\nlogsource: {{product: test}}\ndetection:\n{detection}");
        let (rules, diags) = parse_file(&text, "t.yml");
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let mut table = FieldTable::default();
        let c = compile_interning(rules[0].detection().unwrap(), None, &mut table).unwrap();
        let weak: Vec<FieldId> = table.get("EventID").into_iter().collect();
        requirement(&c.program, &weak, &FxHashMap::default()).map(|atoms| {
            let mut v: Vec<String> = atoms
                .into_iter()
                .map(|a| {
                    let name = if a.field == ANY_FIELD {
                        "*"
                    } else {
                        table.name(a.field)
                    };
                    format!("{name}{}{}", if a.exact { "=" } else { ":" }, a.text)
                })
                .collect();
            v.sort();
            v
        })
    }

    fn atoms(list: &[&str]) -> Option<Vec<String>> {
        let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        Some(v)
    }

    #[test]
    fn requirements_follow_the_logic() {
        let r =
            req("  sel:\n    EventID: 1\n    Image|endswith: '\\Whoami.exe'\n  condition: sel\n");
        assert_eq!(r, atoms(&["Image:\\whoami.exe"]));
        let r = req(
            "  sel:\n    Image|endswith:\n      - '\\a.exe'\n      - '\\bb.exe'\n  condition: sel\n",
        );
        assert_eq!(r, atoms(&["Image:\\a.exe", "Image:\\bb.exe"]));
        let r = req(
            "  sel: {Image|endswith: '\\a.exe'}\n  filter: {User: admin}\n  condition: sel and not filter\n",
        );
        assert_eq!(r, atoms(&["Image:\\a.exe"]));
        let r = req(
            "  sel: {Image|endswith: '\\a.exe'}\n  other: {Port|gt: 5}\n  condition: sel or other\n",
        );
        assert_eq!(r, None);
        let r = req("  sel: {Image|re: 'x+'}\n  condition: sel\n");
        assert_eq!(r, None);
        let r =
            req("  sel: {CommandLine|re: '(?i)invoke-(mimikatz|kerberoast)'}\n  condition: sel\n");
        let r = r.expect("a regex with literals is filtered");
        assert!(
            !r.is_empty() && r.iter().all(|a| a.starts_with("CommandLine:invoke-")),
            "{r:?}"
        );
        let r = req("  sel: {EventID: 10}\n  condition: sel\n");
        assert_eq!(
            r,
            atoms(&["EventID=10"]),
            "exact values filter whatever their length"
        );
        let r = req("  sel: {EventID: 0x10}\n  condition: sel\n");
        assert_eq!(r, atoms(&["EventID=0x10", "EventID=16"]));
        let r = req("  sel: {EventID: 4104, ScriptBlockText|contains: 'iex'}\n  condition: sel\n");
        assert_eq!(
            r,
            atoms(&["ScriptBlockText:iex"]),
            "a field routing decides is a last resort"
        );
        let r = req(
            "  sel: {Provider_Name: 'Microsoft-Windows-Security-Auditing'}\n  condition: sel\n",
        );
        assert_eq!(
            r,
            atoms(&["Provider_Name=microsoft-windows-security-auditing"])
        );
        let r =
            req("  sel:\n    CommandLine|contains|all: ['ab', 'long literal']\n  condition: sel\n");
        assert_eq!(r, atoms(&["CommandLine:long literal"]));
        let r = req("  sel: {CommandLine|contains: 'a*bcdef?g'}\n  condition: sel\n");
        assert_eq!(r, atoms(&["CommandLine:bcdef"]));
        let r = req("  keywords: ['evil', 'mimikatz']\n  condition: keywords\n");
        assert_eq!(r, atoms(&["*:evil", "*:mimikatz"]));
        let r = req("  sel: {CommandLine|contains: '\u{0430}'}\n  condition: sel\n");
        assert_eq!(
            r,
            atoms(&["CommandLine:\u{0430}"]),
            "one Cyrillic letter is selective"
        );
    }

    #[test]
    fn automata_map_hits_to_programs() {
        let a = |field, text: &str, exact| Atom {
            field,
            text: text.to_owned(),
            exact,
        };
        let reqs = vec![
            Some(vec![a(0, "whoami", false)]),
            None,
            Some(vec![
                a(0, "whoami", false),
                a(1, "evil", false),
                a(2, "4688", true),
            ]),
        ];
        let pf = Prefilter::build(&reqs, &[vec![0], vec![0], vec![0, 1]], 2).unwrap();
        assert_eq!(pf.atom_count(), 3);
        assert_eq!(pf.scope(1).unwrap().fields.len(), 3);
        let scan = pf.scope(0).unwrap().fields[0].scan.as_ref().unwrap();
        let hit: Vec<u32> = scan
            .automaton
            .find_overlapping_iter("c:\\whoami.exe")
            .map(|m| scan.atoms[m.pattern().as_usize()])
            .collect();
        assert_eq!(hit.len(), 1);
        assert_eq!(pf.programs[hit[0] as usize], [0, 2]);
        let exact = pf.scope(0).unwrap().fields[2].exact["4688"];
        assert_eq!(pf.programs[exact as usize], [2]);
    }
}
