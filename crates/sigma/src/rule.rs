//! The parsed form of Sigma documents: detection rules, correlation rules and filters.
//!
//! These types say what a rule *means*, independent of how it is matched; the compiler
//! ([`crate::CompiledRuleSet`]) turns them into matchers.

use shield_event::Level;

use crate::condition::Condition;
use crate::modifier::Modifier;

/// One Sigma document: metadata plus a detection, a correlation or a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `title`.
    pub title: String,
    /// `id` (normally a UUID).
    pub id: Option<String>,
    /// `name`: a unique human-readable handle, used by correlations.
    pub name: Option<String>,
    /// `status` as written (`stable`, `test`, `experimental`, `deprecated`, `unsupported`).
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `date` as written.
    pub date: Option<String>,
    /// `modified` as written.
    pub modified: Option<String>,
    /// `level`; `None` when the rule has none.
    pub level: Option<Level>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// `related`.
    pub related: Vec<Related>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `scope`.
    pub scope: Vec<String>,
    /// `taxonomy`.
    pub taxonomy: Option<String>,
    /// The file the rule came from.
    pub file: String,
    /// 1-based line where the document starts.
    pub line: usize,
    /// What the rule does.
    pub body: RuleBody,
}

impl Rule {
    /// The rule's `id`, or its `title` when it has none: what messages call it.
    pub fn handle(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.title)
    }

    /// The detection, for detection rules.
    pub fn detection(&self) -> Option<&Detection> {
        match &self.body {
            RuleBody::Detection(d) => Some(d),
            _ => None,
        }
    }
}

/// The three kinds of Sigma document.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleBody {
    /// A detection rule: matches single events.
    Detection(Detection),
    /// A correlation rule: matches groups of events matched by other rules.
    Correlation(Correlation),
    /// A filter: extra conditions for other rules.
    Filter(Filter),
}

/// `logsource`: which events a rule is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogSource {
    /// `category` (`process_creation`, `proxy`…).
    pub category: Option<String>,
    /// `product` (`windows`, `linux`, `aws`…).
    pub product: Option<String>,
    /// `service` (`security`, `sysmon`, `sshd`…).
    pub service: Option<String>,
    /// `definition`: free text for readers.
    pub definition: Option<String>,
}

impl LogSource {
    /// `product/category/service` with `-` for absent parts, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{}/{}/{}",
            self.product.as_deref().unwrap_or("-"),
            self.category.as_deref().unwrap_or("-"),
            self.service.as_deref().unwrap_or("-")
        )
    }
}

/// An entry of `related`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The related rule's id.
    pub id: String,
    /// `derived`, `obsolete`, `merged`, `renamed` or `similar`.
    pub kind: String,
}

/// `detection`: named searches and the condition over them.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The search identifiers, in file order.
    pub searches: Vec<Search>,
    /// The condition(s); several conditions are OR-ed.
    pub conditions: Vec<Condition>,
    /// 1-based line of `condition`.
    pub condition_line: usize,
}

impl Detection {
    /// The search with this identifier.
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches.iter().find(|s| s.name == name)
    }
}

/// A search identifier: alternatives (OR) of conjunctions (AND) of field items.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The identifier (`selection`, `filter_main_*`…).
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// OR of ANDs: a map is one alternative, a list of maps one alternative per map, a keyword list
    /// one alternative holding one keyword item.
    pub alternatives: Vec<Vec<FieldItem>>,
}

/// One `field|modifiers: values` entry, or a keyword list (no field).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldItem {
    /// The field; `None` for keyword searches over every field's value.
    pub field: Option<String>,
    /// Modifiers in the order written.
    pub modifiers: Vec<Modifier>,
    /// The values: OR-ed, or AND-ed with [`Modifier::All`].
    pub values: Vec<SigmaValue>,
    /// 1-based line.
    pub line: usize,
}

impl FieldItem {
    /// Whether the item carries this modifier.
    pub fn has(&self, m: Modifier) -> bool {
        self.modifiers.contains(&m)
    }
}

/// A value in a detection as written in YAML.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// `null`: the field is absent or null.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, with its text as written.
    Int(i64, String),
    /// A float, with its text as written.
    Float(f64, String),
    /// A string (escape sequences not yet interpreted).
    Str(String),
}

impl SigmaValue {
    /// The value as text (numbers as written; `null` as empty).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            SigmaValue::Null => "".into(),
            SigmaValue::Bool(b) => if *b { "true" } else { "false" }.into(),
            SigmaValue::Int(_, s) | SigmaValue::Float(_, s) | SigmaValue::Str(s) => {
                s.as_str().into()
            }
        }
    }
}

/// The correlation types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// Count matching events per group.
    EventCount,
    /// Count distinct values of a field per group.
    ValueCount,
    /// All referenced rules match within the timespan, in any order.
    Temporal,
    /// All referenced rules match within the timespan, in the order given.
    TemporalOrdered,
    /// Sum of a numeric field per group.
    ValueSum,
    /// Average of a numeric field per group.
    ValueAvg,
}

impl CorrelationType {
    /// The name used in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
        }
    }
}

/// A comparison in a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `eq`.
    Eq,
    /// `neq`.
    Neq,
}

impl CmpOp {
    /// Whether `value op bound` holds.
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            CmpOp::Gt => value > bound,
            CmpOp::Gte => value >= bound,
            CmpOp::Lt => value < bound,
            CmpOp::Lte => value <= bound,
            CmpOp::Eq => value == bound,
            CmpOp::Neq => value != bound,
        }
    }
}

/// `correlation`: how events matched by other rules are grouped and counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// The type.
    pub kind: CorrelationType,
    /// Referenced rules, by `id` or `name`, in order.
    pub rules: Vec<String>,
    /// `group-by` fields (or alias names).
    pub group_by: Vec<String>,
    /// `timespan` in milliseconds.
    pub timespan_ms: u64,
    /// Condition terms, AND-ed (`gte: 10`, or `gt: 100` and `lte: 200`). Empty for temporal types
    /// without a condition: all referenced rules must match.
    pub condition: Vec<(CmpOp, f64)>,
    /// `condition.field`, for the value types.
    pub field: Option<String>,
    /// `aliases`: alias name → (rule reference → field name).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// `generate`: referenced rules also alert on their own.
    pub generate: bool,
}

/// A filter document: extra conditions AND-ed into the rules it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Rules by `id` or `name`; empty means every rule of the filter's log source.
    pub rules: Vec<String>,
    /// The filter's searches and condition.
    pub detection: Detection,
}
