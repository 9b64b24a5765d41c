//! One event as the matcher sees it: field values by id, and lowercased text computed at most once
//! per field per event.
//!
//! Everything that outlives one event lives in [`Scratch`] (buffers that keep their capacity), so
//! matching an event allocates nothing once the buffers have grown. Per-field caches are validated by
//! a generation stamp instead of being cleared.

use std::fmt::Write as _;
use std::ops::Range;

use serde_json::Value;
use shield_event::field;

use crate::fields::{FieldId, FieldTable, index_event};
use crate::pattern::lower_into;

/// Reusable per-thread buffers for matching.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Empty between events; lends its allocation to each event's slots.
    pub(crate) slots: Vec<Option<&'static Value>>,
    pub(crate) caches: Caches,
    /// Prefilter hits: stamp per program, and the programs hit.
    pub(crate) hit_stamp: Vec<u32>,
    pub(crate) atom_stamp: Vec<u32>,
    pub(crate) hits: Vec<u32>,
    pub(crate) candidates: Vec<u32>,
    pub(crate) entries: Vec<u32>,
}

/// Per-event caches indexed by field id.
#[derive(Debug, Default)]
pub struct Caches {
    pub(crate) epoch: u32,
    dotted_stamp: Vec<u32>,
    lower_stamp: Vec<u32>,
    lower_span: Vec<(u32, u32)>,
    plain_stamp: Vec<u32>,
    plain_span: Vec<(u32, u32)>,
    /// Lowercased (and formatted) text of fields.
    pub(crate) arena: String,
    leaves_epoch: u32,
    leaves: Vec<(u32, u32)>,
    /// The arena span holding every lowercased leaf, NUL between them.
    leaves_all: (u32, u32),
    plain_leaves_epoch: u32,
    leaves_plain: Vec<(u32, u32)>,
    /// Scratch text for array elements and keyword leaves.
    pub(crate) tmp: String,
    pub(crate) present: Vec<FieldId>,
}

impl Scratch {
    /// Starts a new event: bumps the generation, resizing the stamp arrays.
    pub(crate) fn begin(&mut self, fields: usize, programs: usize, atoms: usize) {
        let c = &mut self.caches;
        if c.epoch == u32::MAX {
            c.epoch = 0;
            c.dotted_stamp.iter_mut().for_each(|s| *s = 0);
            c.lower_stamp.iter_mut().for_each(|s| *s = 0);
            c.plain_stamp.iter_mut().for_each(|s| *s = 0);
            c.leaves_epoch = 0;
            c.plain_leaves_epoch = 0;
            self.hit_stamp.iter_mut().for_each(|s| *s = 0);
            self.atom_stamp.iter_mut().for_each(|s| *s = 0);
        }
        c.epoch += 1;
        c.dotted_stamp.resize(fields, 0);
        c.lower_stamp.resize(fields, 0);
        c.lower_span.resize(fields, (0, 0));
        c.plain_stamp.resize(fields, 0);
        c.plain_span.resize(fields, (0, 0));
        c.arena.clear();
        c.present.clear();
        self.hit_stamp.resize(programs, 0);
        self.atom_stamp.resize(atoms, 0);
        self.hits.clear();
        self.candidates.clear();
        self.entries.clear();
    }
}

/// The event being matched.
pub struct EventView<'e, 's> {
    root: &'e Value,
    table: &'s FieldTable,
    slots: Vec<Option<&'e Value>>,
    pub(crate) c: &'s mut Caches,
}

/// Takes back the allocation of a slots vector with any lifetime.
pub(crate) fn recycle<'b>(mut v: Vec<Option<&Value>>) -> Vec<Option<&'b Value>> {
    v.clear();
    // An empty vector of a same-layout type: the standard library reuses the allocation in place.
    v.into_iter().map(|_| None).collect()
}

impl<'e, 's> EventView<'e, 's> {
    /// Indexes `root`; `slots` must be empty (its capacity is reused).
    pub(crate) fn new(
        root: &'e Value,
        table: &'s FieldTable,
        slots: Vec<Option<&'e Value>>,
        c: &'s mut Caches,
    ) -> Self {
        let mut slots = slots;
        slots.resize(table.len(), None);
        index_event(table, root, &mut slots, &mut c.present);
        EventView {
            root,
            table,
            slots,
            c,
        }
    }

    /// Gives back the slots allocation.
    pub(crate) fn into_slots(self) -> Vec<Option<&'e Value>> {
        self.slots
    }

    /// The value of a field (element text unwrapped), or `None` when absent.
    pub fn value(&mut self, f: FieldId) -> Option<&'e Value> {
        let i = f as usize;
        if self.table.is_dotted(f) && self.c.dotted_stamp.get(i) != Some(&self.c.epoch) {
            if let Some(stamp) = self.c.dotted_stamp.get_mut(i) {
                *stamp = self.c.epoch;
            }
            let v = field::lookup(self.root, self.table.name(f));
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = v;
            }
        }
        self.slots.get(i).copied().flatten()
    }

    /// The lowercased text of a scalar field (numbers formatted, arrays joined by NUL), cached.
    pub fn lower(&mut self, f: FieldId) -> Option<Range<usize>> {
        let i = f as usize;
        if self.c.lower_stamp.get(i) == Some(&self.c.epoch) {
            let (a, b) = self.c.lower_span[i];
            return Some(a as usize..b as usize);
        }
        let v = self.value(f)?;
        let start = self.c.arena.len();
        if !write_text(v, &mut self.c.arena, true) {
            self.c.arena.truncate(start);
            return None;
        }
        let end = self.c.arena.len();
        self.c.lower_stamp[i] = self.c.epoch;
        self.c.lower_span[i] = (to_u32(start), to_u32(end));
        Some(start..end)
    }

    /// The original text of a scalar field: strings as they are, numbers and booleans formatted.
    pub fn plain(&mut self, f: FieldId) -> Option<PlainText<'e>> {
        match self.value(f)? {
            Value::String(s) => Some(PlainText::Event(s)),
            v @ (Value::Number(_) | Value::Bool(_)) => {
                let i = f as usize;
                if self.c.plain_stamp.get(i) != Some(&self.c.epoch) {
                    let start = self.c.arena.len();
                    write_text(v, &mut self.c.arena, false);
                    self.c.plain_stamp[i] = self.c.epoch;
                    self.c.plain_span[i] = (to_u32(start), to_u32(self.c.arena.len()));
                }
                let (a, b) = self.c.plain_span[i];
                Some(PlainText::Arena(a as usize..b as usize))
            }
            _ => None,
        }
    }

    /// Text of a [`PlainText`].
    pub fn plain_str<'x>(&'x self, t: &'x PlainText<'e>) -> &'x str {
        match t {
            PlainText::Event(s) => s,
            PlainText::Arena(r) => self.c.arena.get(r.clone()).unwrap_or(""),
        }
    }

    /// Spans of every scalar leaf's text (lowercased, or as written), for keyword searches; the
    /// two lists have the same leaves in the same order. Each is built on first use per event.
    pub fn leaves(&mut self, lowered: bool) -> &[(u32, u32)] {
        if lowered {
            self.lowered_leaves();
            return &self.c.leaves;
        }
        if self.c.plain_leaves_epoch != self.c.epoch {
            self.c.plain_leaves_epoch = self.c.epoch;
            self.c.leaves_plain.clear();
            let arena = &mut self.c.arena;
            let plain = &mut self.c.leaves_plain;
            field::for_each_leaf(self.root, &mut |leaf| {
                let start = arena.len();
                write_text(leaf, arena, false);
                plain.push((to_u32(start), to_u32(arena.len())));
            });
        }
        &self.c.leaves_plain
    }

    /// The span of the arena that holds every lowercased leaf, one after the other with a NUL
    /// between them: searching it once finds every literal that occurs in some leaf (and,
    /// harmlessly for a prefilter, one that spans two leaves only if it contains a NUL).
    pub fn leaves_text(&mut self) -> Range<usize> {
        self.lowered_leaves();
        let (a, b) = self.c.leaves_all;
        a as usize..b as usize
    }

    fn lowered_leaves(&mut self) {
        if self.c.leaves_epoch == self.c.epoch {
            return;
        }
        self.c.leaves_epoch = self.c.epoch;
        self.c.leaves.clear();
        let arena = &mut self.c.arena;
        let leaves = &mut self.c.leaves;
        let first = arena.len();
        field::for_each_leaf(self.root, &mut |leaf| {
            if !leaves.is_empty() {
                arena.push('\0');
            }
            let start = arena.len();
            write_text(leaf, arena, true);
            leaves.push((to_u32(start), to_u32(arena.len())));
        });
        self.c.leaves_all = (to_u32(first), to_u32(arena.len()));
    }

    /// The arena text at a span.
    pub fn arena(&self, span: Range<usize>) -> &str {
        self.c.arena.get(span).unwrap_or("")
    }
}

/// Where a field's original text lives.
pub enum PlainText<'e> {
    /// In the event.
    Event(&'e str),
    /// In the arena (formatted numbers).
    Arena(Range<usize>),
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Writes a value's text; `false` for values without one (objects, null).
pub(crate) fn write_text(v: &Value, out: &mut String, lowered: bool) -> bool {
    match v {
        Value::String(s) => {
            if lowered {
                lower_into(s, out);
            } else {
                out.push_str(s);
            }
            true
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
            true
        }
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            true
        }
        Value::Array(items) => {
            let mut any = false;
            for item in items {
                if matches!(item, Value::Object(_) | Value::Array(_) | Value::Null) {
                    continue;
                }
                if any {
                    out.push('\0');
                }
                any |= write_text(item, out, lowered);
            }
            any
        }
        Value::Object(_) | Value::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caches_and_formats() {
        let mut table = FieldTable::default();
        let img = table.intern("Image");
        let eid = table.intern("EventID");
        let dotted = table.intern("a.b");
        let missing = table.intern("Nope");
        let event = json!({"Image": "C:\\Windows\\CMD.exe", "EventID": 4688, "a": {"b": "Deep"}});
        let mut scratch = Scratch::default();
        scratch.begin(table.len(), 0, 0);
        let slots = recycle(std::mem::take(&mut scratch.slots));
        let mut view = EventView::new(&event, &table, slots, &mut scratch.caches);
        let r = view.lower(img).unwrap();
        assert_eq!(view.arena(r.clone()), "c:\\windows\\cmd.exe");
        assert_eq!(view.lower(img).unwrap(), r, "cached");
        let r = view.lower(eid).unwrap();
        assert_eq!(view.arena(r), "4688");
        let p = view.plain(eid).unwrap();
        assert_eq!(view.plain_str(&p), "4688");
        let p = view.plain(img).unwrap();
        assert_eq!(view.plain_str(&p), "C:\\Windows\\CMD.exe");
        assert_eq!(view.value(dotted), Some(&json!("Deep")));
        assert_eq!(view.value(missing), None);
        assert_eq!(view.c.present.len(), 2);
        let leaves = view.leaves(true).to_vec();
        assert_eq!(leaves.len(), 3);
        let plain = view.leaves(false).to_vec();
        assert_eq!(plain.len(), 3);
        let all = view.leaves_text();
        let texts: Vec<&str> = leaves
            .iter()
            .map(|(a, b)| view.arena(*a as usize..*b as usize))
            .collect();
        assert_eq!(view.arena(all), texts.join("\0"));
        for ((a, b), (c, d)) in leaves.iter().zip(&plain) {
            let (low, orig) = (
                view.arena(*a as usize..*b as usize),
                view.arena(*c as usize..*d as usize),
            );
            assert_eq!(low, orig.to_lowercase());
        }
        let slots = view.into_slots();
        scratch.slots = recycle(slots);
        assert!(scratch.slots.is_empty());
    }
}
