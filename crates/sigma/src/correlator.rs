//! Streaming evaluation of correlation rules in bounded memory.
//!
//! State is kept per correlation, per group (the values of the `group-by` fields). Time is the
//! events' own time, so replaying a log gives the same answers as watching it live; windows expire
//! as event time advances. Memory is bounded: each correlation keeps at most
//! [`CorrelationLimits::max_groups`] groups (the least recently created is evicted first), and each
//! group at most [`CorrelationLimits::max_entries`] timestamps or distinct values.
//!
//! Conditions that can only become true as a count grows (`gt`, `gte`) fire as soon as they hold,
//! and the group starts over. Others (`lt`, `lte`, `eq`, `neq`, averages) are decided when a group's
//! window closes: the window opens at the group's first event and lasts `timespan`.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value, json};
use shield_event::Event;

use crate::correlate::{CorrelationDef, Member};
use crate::rule::CorrelationType;

/// Bounds on correlation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationLimits {
    /// Most groups kept per correlation rule.
    pub max_groups: usize,
    /// Most timestamps or distinct values kept per group.
    pub max_entries: usize,
}

impl Default for CorrelationLimits {
    fn default() -> Self {
        CorrelationLimits {
            max_groups: 10_000,
            max_entries: 10_000,
        }
    }
}

/// A correlation that fired.
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    /// Index of the correlation.
    pub correlation: usize,
    /// The last event of the group.
    pub event: Event,
    /// Details: type, count, window, contributing rules.
    pub details: Value,
    /// Time of the hit (ms since the epoch).
    pub time_ms: i64,
}

#[derive(Debug, Default)]
struct Group {
    created: u64,
    start_ms: i64,
    /// Event counts: event times. Sums/averages: (time, value).
    times: VecDeque<i64>,
    values: VecDeque<(i64, f64)>,
    /// Distinct values → last seen.
    distinct: FxHashMap<String, i64>,
    /// Temporal: per member, last time seen; ordered: per member, start time of the chain through it.
    seen: Vec<Option<i64>>,
    /// Which members contributed.
    contributors: Vec<bool>,
    last_event: Option<Event>,
    last_ms: i64,
}

#[derive(Debug, Default)]
struct State {
    groups: FxHashMap<Vec<String>, Group>,
    order: VecDeque<(Vec<String>, u64)>,
    next_seq: u64,
}

/// The streaming state of every correlation of a rule set.
#[derive(Debug)]
pub struct Correlator {
    limits: CorrelationLimits,
    states: Vec<State>,
    now_ms: i64,
    last_sweep_ms: i64,
}

impl Correlator {
    /// Empty state for `count` correlations.
    pub fn new(count: usize, limits: CorrelationLimits) -> Self {
        Correlator {
            limits,
            states: (0..count).map(|_| State::default()).collect(),
            now_ms: i64::MIN,
            last_sweep_ms: i64::MIN,
        }
    }

    /// Feeds one match of `member` at `time_ms`; appends the correlations that fire, including
    /// chained ones.
    pub fn feed(
        &mut self,
        defs: &[CorrelationDef],
        member: Member,
        event: &Event,
        time_ms: i64,
        out: &mut Vec<CorrelationHit>,
    ) {
        if time_ms > self.now_ms {
            self.now_ms = time_ms;
        }
        let mut pending = vec![(member, event.clone(), time_ms, 0usize)];
        while let Some((member, event, t, depth)) = pending.pop() {
            if depth > defs.len() {
                continue;
            }
            for (ci, def) in defs.iter().enumerate() {
                for (pos, m) in def.members.iter().enumerate() {
                    if *m != member {
                        continue;
                    }
                    let before = out.len();
                    self.update(defs, ci, pos, &event, t, out);
                    for hit in &out[before..] {
                        pending.push((
                            Member::Correlation(hit.correlation),
                            hit.event.clone(),
                            hit.time_ms,
                            depth + 1,
                        ));
                    }
                }
            }
        }
        self.maybe_sweep(defs, out);
    }

    /// Decides every open window now (end of input); appends what fires.
    pub fn flush(&mut self, defs: &[CorrelationDef], out: &mut Vec<CorrelationHit>) {
        for (ci, def) in defs.iter().enumerate() {
            if def.monotone()
                || !matches!(
                    def.kind,
                    CorrelationType::EventCount
                        | CorrelationType::ValueCount
                        | CorrelationType::ValueSum
                        | CorrelationType::ValueAvg
                )
            {
                continue;
            }
            let keys: Vec<Vec<String>> = self.states[ci].groups.keys().cloned().collect();
            for key in keys {
                if let Some(group) = self.states[ci].groups.remove(&key) {
                    if let Some(hit) = close_window(ci, def, &key, &group) {
                        out.push(hit);
                    }
                }
            }
            self.states[ci].order.clear();
        }
    }

    /// Groups currently held, over all correlations.
    pub fn group_count(&self) -> usize {
        self.states.iter().map(|s| s.groups.len()).sum()
    }

    fn maybe_sweep(&mut self, defs: &[CorrelationDef], out: &mut Vec<CorrelationHit>) {
        let span = defs
            .iter()
            .map(|d| d.timespan_ms)
            .min()
            .unwrap_or(i64::MAX)
            .max(1);
        if self.last_sweep_ms != i64::MIN && self.now_ms.saturating_sub(self.last_sweep_ms) < span {
            return;
        }
        self.last_sweep_ms = self.now_ms;
        let now = self.now_ms;
        for (ci, def) in defs.iter().enumerate() {
            let state = &mut self.states[ci];
            let expired: Vec<Vec<String>> = state
                .groups
                .iter()
                .filter(|(_, g)| {
                    now.saturating_sub(g.start_ms) > def.timespan_ms
                        && now.saturating_sub(g.last_ms) > def.timespan_ms
                })
                .map(|(k, _)| k.clone())
                .collect();
            for key in expired {
                if let Some(group) = state.groups.remove(&key) {
                    if !def.monotone() {
                        if let Some(hit) = close_window(ci, def, &key, &group) {
                            out.push(hit);
                        }
                    }
                }
            }
            if state.order.len() > 2 * self.limits.max_groups.max(1) {
                let groups = &state.groups;
                state
                    .order
                    .retain(|(k, seq)| groups.get(k).is_some_and(|g| g.created == *seq));
            }
        }
    }

    fn update(
        &mut self,
        defs: &[CorrelationDef],
        ci: usize,
        pos: usize,
        event: &Event,
        t: i64,
        out: &mut Vec<CorrelationHit>,
    ) {
        let Some(def) = defs.get(ci) else { return };
        let key: Vec<String> = def
            .group_fields
            .iter()
            .map(|per_member| {
                let field = per_member.get(pos).map_or("", String::as_str);
                event.field(field).map(value_text).unwrap_or_default()
            })
            .collect();
        let limits = self.limits;
        let state = &mut self.states[ci];
        let span = def.timespan_ms;
        // A non-monotone window that has ended is decided before this event opens a new one.
        if !def.monotone() {
            if let Some(g) = state.groups.get(&key) {
                if t.saturating_sub(g.start_ms) > span {
                    if let Some(g) = state.groups.remove(&key) {
                        if let Some(hit) = close_window(ci, def, &key, &g) {
                            out.push(hit);
                        }
                    }
                }
            }
        }
        if !state.groups.contains_key(&key) {
            while state.groups.len() >= limits.max_groups.max(1) {
                match state.order.pop_front() {
                    Some((old, seq)) => {
                        if state.groups.get(&old).is_some_and(|g| g.created == seq) {
                            state.groups.remove(&old);
                        }
                    }
                    None => break,
                }
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            state.order.push_back((key.clone(), seq));
            state.groups.insert(
                key.clone(),
                Group {
                    created: seq,
                    start_ms: t,
                    seen: vec![None; def.members.len()],
                    contributors: vec![false; def.members.len()],
                    ..Group::default()
                },
            );
        }
        let Some(group) = state.groups.get_mut(&key) else {
            return;
        };
        group.last_event = Some(event.clone());
        group.last_ms = group.last_ms.max(t);
        if let Some(c) = group.contributors.get_mut(pos) {
            *c = true;
        }
        let monotone = def.monotone();
        let value_field = def.field.as_deref().map(|f| event.field(f));
        let fired = match def.kind {
            CorrelationType::EventCount => {
                push_bounded(&mut group.times, t, limits.max_entries);
                if monotone {
                    while group
                        .times
                        .front()
                        .is_some_and(|&f| t.saturating_sub(f) > span)
                    {
                        group.times.pop_front();
                    }
                    def.holds(group.times.len() as f64)
                        .then_some(group.times.len() as f64)
                } else {
                    None
                }
            }
            CorrelationType::ValueCount => {
                if let Some(Some(v)) = value_field {
                    let text = value_text(v);
                    if group.distinct.len() < limits.max_entries
                        || group.distinct.contains_key(&text)
                    {
                        group.distinct.insert(text, t);
                    }
                }
                if monotone {
                    group
                        .distinct
                        .retain(|_, seen| t.saturating_sub(*seen) <= span);
                    def.holds(group.distinct.len() as f64)
                        .then_some(group.distinct.len() as f64)
                } else {
                    None
                }
            }
            CorrelationType::ValueSum | CorrelationType::ValueAvg => {
                if let Some(Some(v)) = value_field {
                    if let Some(n) = number(v) {
                        if group.values.len() >= limits.max_entries.max(1) {
                            group.values.pop_front();
                        }
                        group.values.push_back((t, n));
                    }
                }
                if monotone {
                    while group
                        .values
                        .front()
                        .is_some_and(|(f, _)| t.saturating_sub(*f) > span)
                    {
                        group.values.pop_front();
                    }
                    let sum: f64 = group.values.iter().map(|(_, v)| v).sum();
                    def.holds(sum).then_some(sum)
                } else {
                    None
                }
            }
            CorrelationType::Temporal => {
                if let Some(s) = group.seen.get_mut(pos) {
                    *s = Some(t);
                }
                let distinct = group
                    .seen
                    .iter()
                    .filter(|s| s.is_some_and(|s| t.saturating_sub(s) <= span))
                    .count();
                let enough = if def.condition.is_empty() {
                    distinct == def.members.len()
                } else {
                    def.holds(distinct as f64)
                };
                enough.then_some(distinct as f64)
            }
            CorrelationType::TemporalOrdered => {
                let start = if pos == 0 {
                    Some(t)
                } else {
                    group
                        .seen
                        .get(pos - 1)
                        .copied()
                        .flatten()
                        .filter(|s| t.saturating_sub(*s) <= span)
                };
                if let (Some(start), Some(slot)) = (start, group.seen.get_mut(pos)) {
                    *slot = Some(start);
                }
                let last = def.members.len().saturating_sub(1);
                (pos == last && start.is_some()).then_some(def.members.len() as f64)
            }
        };
        if let Some(count) = fired {
            if let Some(group) = state.groups.remove(&key) {
                out.push(hit(ci, def, &key, &group, count, t));
            }
        }
    }
}

fn push_bounded(q: &mut VecDeque<i64>, t: i64, max: usize) {
    if q.len() >= max.max(1) {
        q.pop_front();
    }
    q.push_back(t);
}

/// Decides a closed window of a non-monotone correlation.
fn close_window(
    ci: usize,
    def: &CorrelationDef,
    key: &[String],
    g: &Group,
) -> Option<CorrelationHit> {
    let end = g.start_ms.saturating_add(def.timespan_ms);
    let in_window = |t: i64| t <= end;
    let value = match def.kind {
        CorrelationType::EventCount => g.times.iter().filter(|t| in_window(**t)).count() as f64,
        CorrelationType::ValueCount => {
            g.distinct.values().filter(|t| in_window(**t)).count() as f64
        }
        CorrelationType::ValueSum | CorrelationType::ValueAvg => {
            let vals: Vec<f64> = g
                .values
                .iter()
                .filter(|(t, _)| in_window(*t))
                .map(|(_, v)| *v)
                .collect();
            if vals.is_empty() {
                return None;
            }
            let sum: f64 = vals.iter().sum();
            if def.kind == CorrelationType::ValueAvg {
                sum / vals.len() as f64
            } else {
                sum
            }
        }
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => return None,
    };
    def.holds(value)
        .then(|| hit(ci, def, key, g, value, g.last_ms))
}

fn hit(
    ci: usize,
    def: &CorrelationDef,
    key: &[String],
    g: &Group,
    value: f64,
    t: i64,
) -> CorrelationHit {
    let mut group = Map::new();
    for (name, v) in def.group_by.iter().zip(key) {
        group.insert(name.clone(), Value::String(v.clone()));
    }
    let contributing: Vec<Value> = def
        .members
        .iter()
        .zip(&g.contributors)
        .filter(|(_, c)| **c)
        .map(|(m, _)| match m {
            Member::Rule(i) => json!({"rule": i}),
            Member::Correlation(i) => json!({"correlation": i}),
        })
        .collect();
    let details = json!({
        "type": def.kind.as_str(),
        "value": value,
        "timespan_ms": def.timespan_ms,
        "window_start_ms": g.start_ms,
        "window_last_ms": g.last_ms,
        "group": Value::Object(group),
        "members": contributing,
    });
    CorrelationHit {
        correlation: ci,
        event: g.last_event.clone().unwrap_or_else(|| {
            Event::new(
                Value::Null,
                "correlation".into(),
                shield_event::Format::Json,
            )
        }),
        details,
        time_ms: t,
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
