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
use rustc_hash::FxHashMap;

use crate::fields::FieldId;
use crate::program::{Item, Node, Program, Target, Test};

/// Shortest literal worth filtering on; shorter ones occur almost everywhere.
pub const MIN_ATOM: usize = 3;

/// `(field, lowercased literal)`.
pub type Atom = (FieldId, String);

/// The atoms one of which must occur for `program` to match; `None` when no such set is known.
/// An empty set means the program can never match.
pub fn requirement(program: &Program) -> Option<Vec<Atom>> {
    node_req(program, &program.cond)
}

fn node_req(p: &Program, n: &Node) -> Option<Vec<Atom>> {
    match n {
        Node::Search(i) => {
            let alts = p.searches.get(*i as usize)?;
            union(alts.iter().map(|items| best(items.iter().map(item_req))))
        }
        Node::Not(_) => None,
        Node::And(items) => best(items.iter().map(|c| node_req(p, c))),
        Node::Or(items) | Node::AtLeast(_, items) => union(items.iter().map(|c| node_req(p, c))),
    }
}

fn item_req(item: &Item) -> Option<Vec<Atom>> {
    if item.neq {
        return None;
    }
    let Target::Field(f) = item.target else {
        return None;
    };
    let group = |g: &Vec<Test>| union(g.iter().map(|t| test_req(f, t)));
    if item.all {
        best(item.groups.iter().map(group))
    } else {
        union(item.groups.iter().map(group))
    }
}

fn test_req(f: FieldId, t: &Test) -> Option<Vec<Atom>> {
    match t {
        Test::Str {
            literal: Some(l), ..
        } if l.len() >= MIN_ATOM => Some(vec![(f, l.clone())]),
        Test::Num { value, text } => {
            // Only plain decimal integers: their text is what the event's number formats to.
            let canonical =
                (value.fract() == 0.0 && value.abs() < 1e15).then(|| format!("{}", *value as i64));
            match canonical {
                Some(c) if c == *text && c.len() >= MIN_ATOM => Some(vec![(f, c)]),
                _ => None,
            }
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

/// The most selective requirement: an impossible one, else the one whose shortest literal is
/// longest, then the one with fewest atoms.
fn best(reqs: impl Iterator<Item = Option<Vec<Atom>>>) -> Option<Vec<Atom>> {
    let score = |r: &Vec<Atom>| -> (usize, usize) {
        if r.is_empty() {
            return (usize::MAX, 0);
        }
        let shortest = r.iter().map(|(_, l)| l.len()).min().unwrap_or(0);
        (shortest.min(32), usize::MAX - r.len())
    };
    reqs.flatten().max_by_key(score)
}

/// One field's automaton: pattern index → atom id.
pub struct FieldScan {
    /// The automaton over the field's literals.
    pub automaton: AhoCorasick,
    /// Atom id of each pattern.
    pub atoms: Vec<u32>,
}

/// All atoms, by field, and the programs each atom serves.
#[derive(Default)]
pub struct Prefilter {
    /// Automaton per field id.
    pub scans: FxHashMap<FieldId, FieldScan>,
    /// Programs (by index) per atom id.
    pub programs: Vec<Vec<u32>>,
}

impl Prefilter {
    /// Builds the automata from each program's requirement (`None` entries are skipped).
    pub fn build(requirements: &[Option<Vec<Atom>>]) -> Result<Prefilter, String> {
        let mut atom_ids: FxHashMap<&Atom, u32> = FxHashMap::default();
        let mut programs: Vec<Vec<u32>> = Vec::new();
        let mut by_field: FxHashMap<FieldId, Vec<(&str, u32)>> = FxHashMap::default();
        for (pi, req) in requirements.iter().enumerate() {
            let Some(atoms) = req else { continue };
            for atom in atoms {
                let next =
                    u32::try_from(programs.len()).map_err(|_| "too many atoms".to_owned())?;
                let id = *atom_ids.entry(atom).or_insert_with(|| {
                    programs.push(Vec::new());
                    by_field
                        .entry(atom.0)
                        .or_default()
                        .push((atom.1.as_str(), next));
                    next
                });
                if let Some(list) = programs.get_mut(id as usize) {
                    list.push(u32::try_from(pi).unwrap_or(u32::MAX));
                }
            }
        }
        let mut scans = FxHashMap::default();
        for (field, patterns) in by_field {
            let automaton = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(patterns.iter().map(|(l, _)| l.as_bytes()))
                .map_err(|e| format!("prefilter automaton: {e}"))?;
            scans.insert(
                field,
                FieldScan {
                    automaton,
                    atoms: patterns.iter().map(|(_, id)| *id).collect(),
                },
            );
        }
        Ok(Prefilter { scans, programs })
    }

    /// Number of atoms.
    pub fn atom_count(&self) -> usize {
        self.programs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;
    use crate::parse::parse_file;
    use crate::program::compile;

    fn req(detection: &str) -> Option<Vec<(String, String)>> {
        let text = format!("title: t\nlogsource: {{product: test}}\ndetection:\n{detection}");
        let (rules, diags) = parse_file(&text, "t.yml");
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let mut table = FieldTable::default();
        let c = compile(rules[0].detection().unwrap(), None, &mut table).unwrap();
        requirement(&c.program).map(|atoms| {
            atoms
                .into_iter()
                .map(|(f, l)| (table.name(f).to_owned(), l))
                .collect()
        })
    }

    fn atoms(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        let mut v: Vec<(String, String)> = list
            .iter()
            .map(|(f, l)| ((*f).to_owned(), (*l).to_owned()))
            .collect();
        v.sort();
        Some(v)
    }

    #[test]
    fn requirements_follow_the_logic() {
        let r =
            req("  sel:\n    EventID: 1\n    Image|endswith: '\\Whoami.exe'\n  condition: sel\n");
        assert_eq!(r, atoms(&[("Image", "\\whoami.exe")]));
        let r = req(
            "  sel:\n    Image|endswith:\n      - '\\a.exe'\n      - '\\bb.exe'\n  condition: sel\n",
        );
        assert_eq!(r, atoms(&[("Image", "\\a.exe"), ("Image", "\\bb.exe")]));
        let r = req(
            "  sel: {Image|endswith: '\\a.exe'}\n  filter: {User: admin}\n  condition: sel and not filter\n",
        );
        assert_eq!(r, atoms(&[("Image", "\\a.exe")]));
        let r = req(
            "  sel: {Image|endswith: '\\a.exe'}\n  other: {Port|gt: 5}\n  condition: sel or other\n",
        );
        assert_eq!(r, None);
        let r = req("  sel: {Image|re: 'x+'}\n  condition: sel\n");
        assert_eq!(r, None);
        let r = req("  sel: {EventID: 4688}\n  condition: sel\n");
        assert_eq!(r, atoms(&[("EventID", "4688")]));
        let r = req("  sel: {EventID: 10}\n  condition: sel\n");
        assert_eq!(r, None, "too short to filter on");
        let r =
            req("  sel:\n    CommandLine|contains|all: ['ab', 'long literal']\n  condition: sel\n");
        assert_eq!(r, atoms(&[("CommandLine", "long literal")]));
        let r = req("  sel: {CommandLine|contains: 'a*bcdef?g'}\n  condition: sel\n");
        assert_eq!(r, atoms(&[("CommandLine", "bcdef")]));
        let r = req("  keywords: ['evil']\n  condition: keywords\n");
        assert_eq!(r, None);
    }

    #[test]
    fn automata_map_hits_to_programs() {
        let reqs = vec![
            Some(vec![(0, "whoami".to_owned())]),
            None,
            Some(vec![(0, "whoami".to_owned()), (1, "evil".to_owned())]),
        ];
        let pf = Prefilter::build(&reqs).unwrap();
        assert_eq!(pf.atom_count(), 2);
        let scan = &pf.scans[&0];
        let hit: Vec<u32> = scan
            .automaton
            .find_overlapping_iter("c:\\whoami.exe")
            .map(|m| scan.atoms[m.pattern().as_usize()])
            .collect();
        assert_eq!(hit.len(), 1);
        assert_eq!(pf.programs[hit[0] as usize], [0, 2]);
    }
}
