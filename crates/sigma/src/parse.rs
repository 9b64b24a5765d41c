//! From YAML documents to [`Rule`]s.
//!
//! A file may hold several documents: independent rules (a correlation next to the rules it
//! references), or a legacy collection where an `action: global` document is merged into each
//! following one (`action: reset` forgets it, `action: repeat` repeats the previous document with
//! changes). Every document that parses becomes a rule; every one that does not becomes a located
//! [`RuleError`], and warnings (things that load but look wrong) are collected alongside.

use shield_event::Level;

use crate::condition;
use crate::error::RuleError;
use crate::modifier::{self, Modifier};
use crate::rule::{
    CmpOp, Correlation, CorrelationType, Detection, FieldItem, Filter, LogSource, Related, Rule,
    RuleBody, Search, SigmaValue,
};
use crate::yaml::{self, Node, ScalarKind, Value};

/// Largest rule file accepted, in bytes.
pub const MAX_FILE_LEN: usize = 4 * 1024 * 1024;

/// The rules in `text` plus every problem found (errors for documents left out, warnings for
/// documents kept). `file` names the source in diagnostics.
pub fn parse_file(text: &str, file: &str) -> (Vec<Rule>, Vec<RuleError>) {
    let mut diags = Vec::new();
    if text.len() > MAX_FILE_LEN {
        diags.push(RuleError::new(
            file,
            None,
            format!("file larger than {MAX_FILE_LEN} bytes"),
        ));
        return (Vec::new(), diags);
    }
    let docs = match yaml::parse_documents(text) {
        Ok(d) => d,
        Err(e) => {
            diags.push(RuleError::new(
                file,
                Some(e.line),
                format!("YAML: {}", e.message),
            ));
            return (Vec::new(), diags);
        }
    };
    let mut rules = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    for doc in docs {
        let action = doc.get("action").and_then(Node::as_str).map(str::to_owned);
        let doc = match action.as_deref() {
            Some("global") => {
                global = Some(without_key(&doc, "action"));
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(prev) => merge(prev, &without_key(&doc, "action")),
                None => {
                    diags.push(RuleError::new(
                        file,
                        Some(doc.line),
                        "'action: repeat' without a previous document",
                    ));
                    continue;
                }
            },
            Some(other) => {
                diags.push(RuleError::new(
                    file,
                    Some(doc.line),
                    format!("unknown collection action '{other}'"),
                ));
                continue;
            }
            None => doc,
        };
        let merged = match &global {
            Some(g) => merge(g, &doc),
            None => doc,
        };
        previous = Some(merged.clone());
        let mut ctx = Ctx {
            file,
            diags: Vec::new(),
            id: None,
            title: None,
        };
        match ctx.rule(&merged) {
            Ok(rule) => {
                diags.extend(ctx.diags);
                rules.push(rule);
            }
            Err(e) => {
                diags.extend(ctx.diags);
                diags.push(e.for_rule(ctx.id.as_deref(), ctx.title.as_deref()));
            }
        }
    }
    (rules, diags)
}

fn without_key(node: &Node, key: &str) -> Node {
    match &node.value {
        Value::Map(entries) => Node {
            value: Value::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.as_str() != Some(key))
                    .cloned()
                    .collect(),
            ),
            line: node.line,
        },
        _ => node.clone(),
    }
}

/// Deep merge of two maps: `over` wins for scalars and lists, maps merge key by key.
fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let mut out: Vec<(Node, Node)> = b.clone();
            for (ok, ov) in o {
                match out
                    .iter_mut()
                    .find(|(bk, _)| bk.as_str().is_some() && bk.as_str() == ok.as_str())
                {
                    Some((_, bv)) => *bv = merge(bv, ov),
                    None => out.push((ok.clone(), ov.clone())),
                }
            }
            Node {
                value: Value::Map(out),
                line: over.line,
            }
        }
        _ => over.clone(),
    }
}

struct Ctx<'f> {
    file: &'f str,
    diags: Vec<RuleError>,
    id: Option<String>,
    title: Option<String>,
}

type Res<T> = Result<T, RuleError>;

impl Ctx<'_> {
    fn err(&self, line: usize, reason: impl Into<String>) -> RuleError {
        RuleError::new(self.file, Some(line), reason)
            .for_rule(self.id.as_deref(), self.title.as_deref())
    }

    fn warn(&mut self, line: usize, reason: impl Into<String>) {
        let w = self.err(line, reason).warning();
        self.diags.push(w);
    }

    fn string(&self, node: &Node, key: &str) -> Res<Option<String>> {
        match node.get(key) {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(None),
            Some(v) => match &v.value {
                Value::Scalar(s, _) => Ok(Some(s.clone())),
                _ => Err(self.err(
                    v.line,
                    format!("'{key}' must be a string, not a {}", v.type_name()),
                )),
            },
        }
    }

    fn strings(&self, node: &Node, key: &str) -> Res<Vec<String>> {
        match node.get(key) {
            None => Ok(Vec::new()),
            Some(v) => match &v.value {
                Value::Scalar(_, ScalarKind::Null) => Ok(Vec::new()),
                Value::Scalar(s, _) => Ok(vec![s.clone()]),
                Value::Seq(items) => items
                    .iter()
                    .filter(|i| !i.is_null())
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| self.err(i.line, format!("'{key}' must list strings")))
                    })
                    .collect(),
                Value::Map(_) => {
                    Err(self.err(v.line, format!("'{key}' must be a list of strings")))
                }
            },
        }
    }

    fn rule(&mut self, doc: &Node) -> Res<Rule> {
        if doc.as_map().is_none() {
            return Err(self.err(
                doc.line,
                format!("a rule must be a map, not a {}", doc.type_name()),
            ));
        }
        self.id = self.string(doc, "id")?;
        let title = self.string(doc, "title")?;
        self.title = title.clone();
        let Some(title) = title else {
            return Err(self.err(doc.line, "missing 'title'"));
        };
        let level = match self.string(doc, "level")? {
            None => None,
            Some(l) => Some(l.parse::<Level>().map_err(|e| {
                let line = doc.get("level").map_or(doc.line, |n| n.line);
                self.err(line, e.to_string())
            })?),
        };
        let logsource = match doc.get("logsource") {
            None => LogSource::default(),
            Some(ls) if ls.is_null() => LogSource::default(),
            Some(ls) => {
                if ls.as_map().is_none() {
                    return Err(self.err(ls.line, "'logsource' must be a map"));
                }
                LogSource {
                    category: self.string(ls, "category")?,
                    product: self.string(ls, "product")?,
                    service: self.string(ls, "service")?,
                    definition: self.string(ls, "definition")?,
                }
            }
        };
        let related = self.related(doc)?;
        let body = if let Some(c) = doc.get("correlation") {
            RuleBody::Correlation(self.correlation(c)?)
        } else if let Some(f) = doc.get("filter") {
            RuleBody::Filter(self.filter(f)?)
        } else if let Some(d) = doc.get("detection") {
            if doc.get("logsource").is_none() {
                return Err(self.err(doc.line, "missing 'logsource'"));
            }
            RuleBody::Detection(self.detection(d, &["condition", "timeframe"])?)
        } else {
            return Err(self.err(
                doc.line,
                "no 'detection', 'correlation' or 'filter' section",
            ));
        };
        Ok(Rule {
            title,
            id: self.id.clone(),
            name: self.string(doc, "name")?,
            status: self.string(doc, "status")?,
            description: self.string(doc, "description")?,
            license: self.string(doc, "license")?,
            author: self.string(doc, "author")?,
            references: self.strings(doc, "references")?,
            date: self.string(doc, "date")?,
            modified: self.string(doc, "modified")?,
            level,
            tags: self.strings(doc, "tags")?,
            logsource,
            related,
            falsepositives: self.strings(doc, "falsepositives")?,
            fields: self.strings(doc, "fields")?,
            scope: self.strings(doc, "scope")?,
            taxonomy: self.string(doc, "taxonomy")?,
            file: self.file.to_owned(),
            line: doc.line,
            body,
        })
    }

    fn related(&self, doc: &Node) -> Res<Vec<Related>> {
        let Some(node) = doc.get("related") else {
            return Ok(Vec::new());
        };
        if node.is_null() {
            return Ok(Vec::new());
        }
        let items = node
            .as_seq()
            .ok_or_else(|| self.err(node.line, "'related' must be a list"))?;
        items
            .iter()
            .map(|item| {
                let id = self.string(item, "id")?;
                let kind = self.string(item, "type")?;
                match (id, kind) {
                    (Some(id), Some(kind)) => Ok(Related { id, kind }),
                    _ => Err(self.err(item.line, "each 'related' entry needs 'id' and 'type'")),
                }
            })
            .collect()
    }

    /// A detection map: search identifiers plus `condition`; `reserved` keys are not identifiers.
    fn detection(&mut self, node: &Node, reserved: &[&str]) -> Res<Detection> {
        let entries = node
            .as_map()
            .ok_or_else(|| self.err(node.line, "'detection' must be a map"))?;
        let mut searches: Vec<Search> = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                return Err(self.err(key.line, "search identifiers must be strings"));
            };
            if reserved.contains(&name) {
                if name == "timeframe" {
                    self.warn(
                        key.line,
                        "'timeframe' belongs to the obsolete aggregation syntax and is ignored",
                    );
                }
                continue;
            }
            if let Some(prev) = searches.iter().position(|s| s.name == name) {
                self.warn(
                    key.line,
                    format!("search identifier '{name}' defined twice; the last one is used"),
                );
                searches.remove(prev);
            }
            let alternatives = self.search(name, value)?;
            searches.push(Search {
                name: name.to_owned(),
                line: key.line,
                alternatives,
            });
        }
        let cond_node = node
            .get("condition")
            .ok_or_else(|| self.err(node.line, "'detection' has no 'condition'"))?;
        let texts: Vec<(&str, usize)> = match &cond_node.value {
            Value::Scalar(s, kind) if *kind != ScalarKind::Null => {
                vec![(s.as_str(), cond_node.line)]
            }
            Value::Seq(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(|s| (s, i.line))
                        .ok_or_else(|| self.err(i.line, "each condition must be a string"))
                })
                .collect::<Res<_>>()?,
            _ => {
                return Err(self.err(
                    cond_node.line,
                    "'condition' must be a string or a list of strings",
                ));
            }
        };
        if texts.is_empty() {
            return Err(self.err(cond_node.line, "empty 'condition'"));
        }
        let names: Vec<&str> = searches.iter().map(|s| s.name.as_str()).collect();
        let mut conditions = Vec::with_capacity(texts.len());
        for (text, line) in texts {
            let cond = condition::parse(text).map_err(|e| self.err(line, e.to_string()))?;
            cond.check(&names).map_err(|e| self.err(line, e))?;
            conditions.push(cond);
        }
        let used: Vec<&str> = conditions
            .iter()
            .flat_map(|c| c.referenced(&names))
            .collect();
        for s in &searches {
            if !used.contains(&s.name.as_str()) {
                let (line, name) = (s.line, s.name.clone());
                self.warn(
                    line,
                    format!("search identifier '{name}' is not used by the condition"),
                );
            }
        }
        Ok(Detection {
            searches,
            conditions,
            condition_line: cond_node.line,
        })
    }

    fn search(&mut self, name: &str, node: &Node) -> Res<Vec<Vec<FieldItem>>> {
        match &node.value {
            Value::Map(_) => Ok(vec![self.field_map(node)?]),
            Value::Seq(items) => {
                if items.is_empty() {
                    return Err(self.err(
                        node.line,
                        format!("search identifier '{name}' is an empty list"),
                    ));
                }
                let mut alternatives = Vec::new();
                let mut keywords = Vec::new();
                for item in items {
                    match &item.value {
                        Value::Map(_) => alternatives.push(self.field_map(item)?),
                        Value::Scalar(..) => keywords.push(self.value(item)?),
                        Value::Seq(_) => {
                            return Err(
                                self.err(item.line, "nested lists are not allowed in a search")
                            );
                        }
                    }
                }
                if !keywords.is_empty() {
                    alternatives.push(vec![FieldItem {
                        field: None,
                        modifiers: Vec::new(),
                        values: keywords,
                        line: node.line,
                    }]);
                }
                Ok(alternatives)
            }
            Value::Scalar(_, ScalarKind::Null) => Err(self.err(
                node.line,
                format!("search identifier '{name}' has no content"),
            )),
            Value::Scalar(..) => Ok(vec![vec![FieldItem {
                field: None,
                modifiers: Vec::new(),
                values: vec![self.value(node)?],
                line: node.line,
            }]]),
        }
    }

    fn field_map(&mut self, node: &Node) -> Res<Vec<FieldItem>> {
        let entries = node.as_map().unwrap_or(&[]);
        if entries.is_empty() {
            return Err(self.err(node.line, "empty map in a search"));
        }
        let mut items = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(spec) = key.as_str() else {
                return Err(self.err(key.line, "field names must be strings"));
            };
            items.push(self.field_item(spec, key.line, value)?);
        }
        Ok(items)
    }

    fn field_item(&mut self, spec: &str, line: usize, node: &Node) -> Res<FieldItem> {
        let mut parts = spec.split('|');
        let field = parts.next().unwrap_or("").to_owned();
        let mut modifiers = Vec::new();
        for name in parts {
            let m = Modifier::parse(name)
                .ok_or_else(|| self.err(line, format!("unknown modifier '{name}'")))?;
            modifiers.push(m);
        }
        modifier::check_chain(&modifiers).map_err(|e| self.err(line, format!("'{spec}': {e}")))?;
        let values = match &node.value {
            Value::Seq(items) => {
                if items.is_empty() {
                    return Err(self.err(line, format!("'{spec}' has an empty list of values")));
                }
                items
                    .iter()
                    .map(|i| self.value(i))
                    .collect::<Res<Vec<_>>>()?
            }
            Value::Map(_) => {
                return Err(self.err(node.line, format!("'{spec}' has a map as value")));
            }
            Value::Scalar(..) => vec![self.value(node)?],
        };
        let item = FieldItem {
            field: if field.is_empty() { None } else { Some(field) },
            modifiers,
            values,
            line,
        };
        self.check_values(spec, &item)?;
        Ok(item)
    }

    fn value(&self, node: &Node) -> Res<SigmaValue> {
        match &node.value {
            Value::Scalar(s, kind) => Ok(match kind {
                ScalarKind::Null => SigmaValue::Null,
                ScalarKind::Bool => SigmaValue::Bool(s.eq_ignore_ascii_case("true")),
                ScalarKind::Int => match yaml::parse_int(s) {
                    Some(v) => SigmaValue::Int(v, s.clone()),
                    None => SigmaValue::Str(s.clone()),
                },
                ScalarKind::Float => match s.trim_start_matches('+').parse::<f64>() {
                    Ok(v) => SigmaValue::Float(v, s.clone()),
                    Err(_) => SigmaValue::Str(s.clone()),
                },
                ScalarKind::Str => SigmaValue::Str(s.clone()),
            }),
            _ => Err(self.err(
                node.line,
                format!("a value must be a scalar, not a {}", node.type_name()),
            )),
        }
    }

    /// Checks values against what the modifiers need.
    fn check_values(&mut self, spec: &str, item: &FieldItem) -> Res<()> {
        let line = item.line;
        let has = |m| item.has(m);
        if has(Modifier::Exists) {
            if !matches!(item.values.as_slice(), [SigmaValue::Bool(_)]) {
                return Err(self.err(
                    line,
                    format!("'{spec}': 'exists' takes a single true or false"),
                ));
            }
            return Ok(());
        }
        if item.field.is_none() && (has(Modifier::FieldRef) || has(Modifier::Exists)) {
            return Err(self.err(
                line,
                format!("'{spec}': keyword searches cannot use this modifier"),
            ));
        }
        let numeric = item
            .modifiers
            .iter()
            .any(|m| m.is_comparison() || m.is_time_part());
        let textual = has(Modifier::Re)
            || has(Modifier::Cidr)
            || has(Modifier::FieldRef)
            || has(Modifier::Expand)
            || item.modifiers.iter().any(|m| m.is_encoding());
        for v in &item.values {
            match v {
                SigmaValue::Null if item.values.len() > 1 => {
                    self.warn(line, format!("'{spec}': null inside a list of values"));
                }
                SigmaValue::Null
                    if numeric || textual || item.modifiers.iter().any(|m| m.is_placement()) =>
                {
                    return Err(
                        self.err(line, format!("'{spec}': null cannot take these modifiers"))
                    );
                }
                SigmaValue::Str(s) if numeric && s.trim().parse::<f64>().is_err() => {
                    return Err(self.err(line, format!("'{spec}': '{s}' is not a number")));
                }
                SigmaValue::Bool(_) if numeric => {
                    return Err(self.err(line, format!("'{spec}': a boolean is not a number")));
                }
                _ => {}
            }
            if has(Modifier::Cidr) && crate::pattern::parse_cidr(&v.text()).is_none() {
                return Err(self.err(
                    line,
                    format!("'{spec}': '{}' is not an IP network", v.text()),
                ));
            }
        }
        if has(Modifier::All) && item.values.len() == 1 {
            self.warn(line, format!("'{spec}': 'all' on a single value"));
        }
        if has(Modifier::Base64Offset) && !has(Modifier::Contains) {
            self.warn(
                line,
                format!("'{spec}': 'base64offset' without 'contains' matches whole values only"),
            );
        }
        Ok(())
    }

    fn correlation(&mut self, node: &Node) -> Res<Correlation> {
        if node.as_map().is_none() {
            return Err(self.err(node.line, "'correlation' must be a map"));
        }
        let kind_text = self
            .string(node, "type")?
            .ok_or_else(|| self.err(node.line, "correlation without 'type'"))?;
        let kind = match kind_text.as_str() {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            other => {
                return Err(self.err(node.line, format!("unsupported correlation type '{other}'")));
            }
        };
        let rules = self.strings(node, "rules")?;
        if rules.is_empty() {
            return Err(self.err(node.line, "correlation without 'rules'"));
        }
        let group_by = self.strings(node, "group-by")?;
        let span_text = self
            .string(node, "timespan")?
            .or(self.string(node, "timeframe")?)
            .ok_or_else(|| self.err(node.line, "correlation without 'timespan'"))?;
        let timespan_ms = parse_timespan(&span_text)
            .ok_or_else(|| self.err(node.line, format!("bad timespan '{span_text}'")))?;
        let mut condition = Vec::new();
        let mut field = None;
        match node.get("condition") {
            None => {}
            Some(c) => {
                let entries = c
                    .as_map()
                    .ok_or_else(|| self.err(c.line, "correlation 'condition' must be a map"))?;
                for (k, v) in entries {
                    let key = k.as_str().unwrap_or("");
                    if key == "field" {
                        field = match &v.value {
                            Value::Scalar(s, _) => Some(s.clone()),
                            Value::Seq(items) => {
                                if items.len() != 1 {
                                    self.warn(
                                        v.line,
                                        "only the first 'field' of a correlation condition is used",
                                    );
                                }
                                items.first().and_then(Node::as_str).map(str::to_owned)
                            }
                            Value::Map(_) => None,
                        };
                        continue;
                    }
                    let op = match key {
                        "gt" => CmpOp::Gt,
                        "gte" => CmpOp::Gte,
                        "lt" => CmpOp::Lt,
                        "lte" => CmpOp::Lte,
                        "eq" => CmpOp::Eq,
                        "neq" => CmpOp::Neq,
                        other => {
                            return Err(self
                                .err(k.line, format!("unknown correlation condition '{other}'")));
                        }
                    };
                    let bound = v
                        .as_str()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .ok_or_else(|| self.err(v.line, format!("'{key}' needs a number")))?;
                    condition.push((op, bound));
                }
            }
        }
        let needs_condition = matches!(
            kind,
            CorrelationType::EventCount
                | CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
        );
        if needs_condition && condition.is_empty() {
            return Err(self.err(
                node.line,
                format!("{kind_text} correlation needs a condition"),
            ));
        }
        let needs_field = matches!(
            kind,
            CorrelationType::ValueCount | CorrelationType::ValueSum | CorrelationType::ValueAvg
        );
        if needs_field && field.is_none() {
            return Err(self.err(
                node.line,
                format!("{kind_text} correlation needs 'condition.field'"),
            ));
        }
        let mut aliases = Vec::new();
        if let Some(a) = node.get("aliases").filter(|a| !a.is_null()) {
            let entries = a
                .as_map()
                .ok_or_else(|| self.err(a.line, "'aliases' must be a map"))?;
            for (alias, per_rule) in entries {
                let name = alias
                    .as_str()
                    .ok_or_else(|| self.err(alias.line, "alias names must be strings"))?;
                let map = per_rule.as_map().ok_or_else(|| {
                    self.err(per_rule.line, "each alias maps rule names to fields")
                })?;
                let mut pairs = Vec::new();
                for (r, f) in map {
                    match (r.as_str(), f.as_str()) {
                        (Some(r), Some(f)) => pairs.push((r.to_owned(), f.to_owned())),
                        _ => return Err(self.err(r.line, "each alias maps rule names to fields")),
                    }
                }
                aliases.push((name.to_owned(), pairs));
            }
        }
        let generate = match node.get("generate") {
            None => false,
            Some(g) => match g.as_str() {
                Some(s) if s.eq_ignore_ascii_case("true") => true,
                Some(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(self.err(g.line, "'generate' must be true or false")),
            },
        };
        Ok(Correlation {
            kind,
            rules,
            group_by,
            timespan_ms,
            condition,
            field,
            aliases,
            generate,
        })
    }

    fn filter(&mut self, node: &Node) -> Res<Filter> {
        if node.as_map().is_none() {
            return Err(self.err(node.line, "'filter' must be a map"));
        }
        let rules = match node.get("rules") {
            None => {
                return Err(self.err(
                    node.line,
                    "filter without 'rules' (use 'any' for every rule)",
                ));
            }
            Some(r) => match r.as_str() {
                Some(s) if s.eq_ignore_ascii_case("any") || s.eq_ignore_ascii_case("all") => {
                    Vec::new()
                }
                _ => self.strings(node, "rules")?,
            },
        };
        let detection = self.detection(node, &["condition", "rules"])?;
        Ok(Filter { rules, detection })
    }
}

/// `30s`, `5m`, `1h`, `7d` (and `1w`, `500ms`) in milliseconds.
pub fn parse_timespan(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "M" => 30 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor).filter(|ms| *ms > 0)
}

/// Replaces `%placeholders%` of `|expand` values through `lookup`; a placeholder without a value is
/// left in place (the compiler then makes that value match nothing and warns).
pub fn expand_placeholders(rule: &mut Rule, lookup: &dyn Fn(&str) -> Option<Vec<String>>) {
    let mut detections: Vec<&mut Detection> = Vec::new();
    match &mut rule.body {
        RuleBody::Detection(d) => detections.push(d),
        RuleBody::Filter(f) => detections.push(&mut f.detection),
        RuleBody::Correlation(_) => {}
    }
    for d in detections {
        for search in &mut d.searches {
            for alt in &mut search.alternatives {
                for item in alt.iter_mut().filter(|i| i.has(Modifier::Expand)) {
                    let mut out = Vec::new();
                    for v in &item.values {
                        match v {
                            SigmaValue::Str(s) => {
                                out.extend(expand_one(s, lookup).into_iter().map(SigmaValue::Str))
                            }
                            other => out.push(other.clone()),
                        }
                    }
                    item.values = out;
                }
            }
        }
    }
}

/// Most values one `|expand` value may expand to.
const MAX_EXPANSION: usize = 4096;

fn expand_one(value: &str, lookup: &dyn Fn(&str) -> Option<Vec<String>>) -> Vec<String> {
    let mut outputs = vec![String::new()];
    let mut rest = value;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\%") {
            outputs.iter_mut().for_each(|o| o.push_str("\\%"));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('%') {
            if let Some(end) = after.find('%') {
                let name = &after[..end];
                if let Some(values) = lookup(name).filter(|v| !v.is_empty()) {
                    if outputs.len().saturating_mul(values.len()) <= MAX_EXPANSION {
                        outputs = outputs
                            .iter()
                            .flat_map(|o| values.iter().map(move |v| format!("{o}{v}")))
                            .collect();
                        rest = &after[end + 1..];
                        continue;
                    }
                }
                outputs.iter_mut().for_each(|o| {
                    o.push('%');
                    o.push_str(name);
                    o.push('%');
                });
                rest = &after[end + 1..];
                continue;
            }
        }
        let ch_len = rest.chars().next().map_or(1, char::len_utf8);
        let (head, tail) = rest.split_at(ch_len);
        outputs.iter_mut().for_each(|o| o.push_str(head));
        rest = tail;
    }
    outputs
}

/// The placeholders (`%name%`, not escaped) still present in an `|expand` value.
pub fn placeholders_in(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(pos) = rest.find(['%', '\\']) {
        let (_, tail) = rest.split_at(pos);
        if let Some(after) = tail.strip_prefix("\\%") {
            rest = after;
            continue;
        }
        if let Some(after) = tail.strip_prefix('\\') {
            rest = after;
            continue;
        }
        let after = &tail[1..];
        match after.find('%') {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Rule {
        let (rules, diags) = parse_file(text, "t.yml");
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        assert_eq!(rules.len(), 1);
        rules.into_iter().next().unwrap()
    }

    fn error(text: &str) -> RuleError {
        let (rules, diags) = parse_file(text, "t.yml");
        assert!(rules.is_empty(), "{rules:?}");
        diags.into_iter().find(RuleError::is_error).unwrap()
    }

    const BASIC: &str = "title: Whoami\nid: 1234\nstatus: test\nlevel: high\ntags: [attack.t1033]\n\
        logsource:\n    category: process_creation\n    product: windows\n\
        detection:\n    selection:\n        Image|endswith: '\\whoami.exe'\n        EventID: 1\n    \
        keywords:\n        - evil\n        - 5\n    condition: selection or keywords\n\
        falsepositives:\n    - admins\n";

    #[test]
    fn metadata_and_detection() {
        let r = one(BASIC);
        assert_eq!(r.title, "Whoami");
        assert_eq!(r.id.as_deref(), Some("1234"));
        assert_eq!(r.level, Some(Level::High));
        assert_eq!(r.tags, ["attack.t1033"]);
        assert_eq!(r.logsource.category.as_deref(), Some("process_creation"));
        assert_eq!(r.falsepositives, ["admins"]);
        let d = r.detection().unwrap();
        let sel = d.search("selection").unwrap();
        assert_eq!(sel.line, 10);
        let item = &sel.alternatives[0][0];
        assert_eq!(item.field.as_deref(), Some("Image"));
        assert_eq!(item.modifiers, [Modifier::EndsWith]);
        assert_eq!(item.values, [SigmaValue::Str("\\whoami.exe".into())]);
        assert_eq!(item.line, 11);
        assert_eq!(
            sel.alternatives[0][1].values,
            [SigmaValue::Int(1, "1".into())]
        );
        let kw = &d.search("keywords").unwrap().alternatives[0][0];
        assert!(kw.field.is_none());
        assert_eq!(kw.values.len(), 2);
    }

    #[test]
    fn errors_are_located() {
        let e = error(&BASIC.replace("endswith", "endswith|bogus"));
        assert_eq!(e.line, Some(11));
        assert!(e.reason.contains("bogus"));
        assert_eq!(e.rule_id.as_deref(), Some("1234"));
        let e = error(&BASIC.replace("selection or keywords", "selection or nothing"));
        assert_eq!(e.line, Some(16));
        let e = error(&BASIC.replace("level: high", "level: severe"));
        assert_eq!(e.line, Some(4));
        let e = error("title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    a: [1\n");
        assert!(e.reason.starts_with("YAML"));
        assert!(
            error("title: x\nlogsource: {}\n")
                .reason
                .contains("no 'detection'")
        );
        assert!(
            error("logsource: {}\ndetection: {sel: {a: 1}, condition: sel}\n")
                .reason
                .contains("title")
        );
        assert!(
            error("title: t\nlogsource: {}\ndetection: {sel: {a|exists: 1}, condition: sel}\n")
                .reason
                .contains("exists")
        );
        assert!(
            error("title: t\nlogsource: {}\ndetection: {sel: {a|cidr: nope}, condition: sel}\n")
                .reason
                .contains("network")
        );
        assert!(
            error("title: t\nlogsource: {}\ndetection: {sel: {a|gt: abc}, condition: sel}\n")
                .reason
                .contains("number")
        );
    }

    #[test]
    fn warnings_do_not_drop_the_rule() {
        let text = "title: t\nlogsource: {}\ndetection:\n  sel:\n    a|all: x\n  unused:\n    b: 1\n  condition: sel\n";
        let (rules, diags) = parse_file(text, "t.yml");
        assert_eq!(rules.len(), 1);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().all(|d| !d.is_error()));
    }

    #[test]
    fn collections_merge_global() {
        let text = "action: global\ntitle: T\nlogsource: {product: windows}\ndetection:\n  condition: sel\n\
            ---\nid: a\ndetection:\n  sel: {EventID: 1}\n---\nid: b\nlogsource: {service: security}\n\
            detection:\n  sel: {EventID: 4688}\n";
        let (rules, diags) = parse_file(text, "c.yml");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].title, "T");
        assert_eq!(rules[1].logsource.product.as_deref(), Some("windows"));
        assert_eq!(rules[1].logsource.service.as_deref(), Some("security"));
        assert_eq!(
            rules[1]
                .detection()
                .unwrap()
                .search("sel")
                .unwrap()
                .alternatives[0][0]
                .values,
            [SigmaValue::Int(4688, "4688".into())]
        );
    }

    #[test]
    fn correlation_and_filter() {
        let text = "title: Many\nid: c1\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [User]\n\
            \x20 timespan: 10m\n  condition: {gte: 10}\nlevel: high\n---\n\
            title: F\nlogsource: {product: windows}\nfilter:\n  rules: [r1, r2]\n  selection: {User|startswith: adm_}\n  condition: not selection\n";
        let (rules, diags) = parse_file(text, "m.yml");
        assert!(diags.is_empty(), "{diags:?}");
        let RuleBody::Correlation(c) = &rules[0].body else {
            panic!()
        };
        assert_eq!(c.kind, CorrelationType::EventCount);
        assert_eq!(c.timespan_ms, 600_000);
        assert_eq!(c.condition, [(CmpOp::Gte, 10.0)]);
        let RuleBody::Filter(f) = &rules[1].body else {
            panic!()
        };
        assert_eq!(f.rules, ["r1", "r2"]);
        assert!(f.detection.search("selection").is_some());
        assert!(
            error("title: x\ncorrelation: {type: event_count, rules: [a], timespan: 1h}\n")
                .reason
                .contains("condition")
        );
        assert!(
            error("title: x\ncorrelation: {type: value_percentile, rules: [a], timespan: 1h}\n")
                .reason
                .contains("unsupported")
        );
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("90m"), Some(5_400_000));
        assert_eq!(parse_timespan("1d"), Some(86_400_000));
        assert_eq!(parse_timespan("1x"), None);
        assert_eq!(parse_timespan("h"), None);
        assert_eq!(parse_timespan("0s"), None);
        assert_eq!(parse_timespan("99999999999999999999d"), None);
    }

    #[test]
    fn placeholder_expansion() {
        let lookup =
            |name: &str| (name == "admins").then(|| vec!["root".to_owned(), "adm_*".to_owned()]);
        assert_eq!(expand_one("%admins%", &lookup), ["root", "adm_*"]);
        assert_eq!(
            expand_one("x-%admins%-%other%", &lookup),
            ["x-root-%other%", "x-adm_*-%other%"]
        );
        assert_eq!(expand_one("\\%admins%", &lookup), ["\\%admins%"]);
        assert_eq!(placeholders_in("a%x%b\\%y%"), ["x"]);
        assert_eq!(placeholders_in("no placeholder"), Vec::<&str>::new());
    }
}
