//! Value modifiers (`field|contains|all`): names, and which chains make sense.

use std::fmt;

/// A value modifier of the Sigma specification (appendix "modifiers", version 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `contains`: wildcards around the value.
    Contains,
    /// `startswith`: a wildcard after the value.
    StartsWith,
    /// `endswith`: a wildcard before the value.
    EndsWith,
    /// `all`: the values are AND-ed instead of OR-ed.
    All,
    /// `base64`: the value, Base64-encoded.
    Base64,
    /// `base64offset`: the three Base64 encodings of the value at any offset.
    Base64Offset,
    /// `utf16le` (alias `wide`).
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16`: UTF-16 little endian with a byte order mark.
    Utf16,
    /// `windash`: `-` and `/` in command-line flags in every dash form.
    Windash,
    /// `re`: a regular expression (case-sensitive).
    Re,
    /// `i` after `re`: case-insensitive.
    ReIgnoreCase,
    /// `m` after `re`: `^`/`$` match at line breaks.
    ReMultiLine,
    /// `s` after `re`: `.` matches newlines.
    ReDotAll,
    /// `cidr`: the value is an IPv4 or IPv6 network.
    Cidr,
    /// `exists`: the field is present (`true`) or absent (`false`).
    Exists,
    /// `expand`: `%placeholder%`s are replaced from configuration.
    Expand,
    /// `fieldref`: the value names another field of the same event.
    FieldRef,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `neq`: the field differs from the values.
    Neq,
    /// `cased`: case-sensitive matching.
    Cased,
    /// `minute` of a date field.
    Minute,
    /// `hour` of a date field.
    Hour,
    /// `day` of the month of a date field.
    Day,
    /// ISO `week` of a date field.
    Week,
    /// `month` of a date field.
    Month,
    /// `year` of a date field.
    Year,
}

impl Modifier {
    /// The modifier named `name` as written after a `|`.
    pub fn parse(name: &str) -> Option<Modifier> {
        Some(match name {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" | "wide" => Modifier::Utf16Le,
            "utf16be" => Modifier::Utf16Be,
            "utf16" => Modifier::Utf16,
            "windash" => Modifier::Windash,
            "re" => Modifier::Re,
            "i" => Modifier::ReIgnoreCase,
            "m" => Modifier::ReMultiLine,
            "s" => Modifier::ReDotAll,
            "cidr" => Modifier::Cidr,
            "exists" => Modifier::Exists,
            "expand" => Modifier::Expand,
            "fieldref" => Modifier::FieldRef,
            "gt" => Modifier::Gt,
            "gte" => Modifier::Gte,
            "lt" => Modifier::Lt,
            "lte" => Modifier::Lte,
            "neq" => Modifier::Neq,
            "cased" => Modifier::Cased,
            "minute" => Modifier::Minute,
            "hour" => Modifier::Hour,
            "day" => Modifier::Day,
            "week" => Modifier::Week,
            "month" => Modifier::Month,
            "year" => Modifier::Year,
            _ => return None,
        })
    }

    /// The name as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::Contains => "contains",
            Modifier::StartsWith => "startswith",
            Modifier::EndsWith => "endswith",
            Modifier::All => "all",
            Modifier::Base64 => "base64",
            Modifier::Base64Offset => "base64offset",
            Modifier::Utf16Le => "utf16le",
            Modifier::Utf16Be => "utf16be",
            Modifier::Utf16 => "utf16",
            Modifier::Windash => "windash",
            Modifier::Re => "re",
            Modifier::ReIgnoreCase => "i",
            Modifier::ReMultiLine => "m",
            Modifier::ReDotAll => "s",
            Modifier::Cidr => "cidr",
            Modifier::Exists => "exists",
            Modifier::Expand => "expand",
            Modifier::FieldRef => "fieldref",
            Modifier::Gt => "gt",
            Modifier::Gte => "gte",
            Modifier::Lt => "lt",
            Modifier::Lte => "lte",
            Modifier::Neq => "neq",
            Modifier::Cased => "cased",
            Modifier::Minute => "minute",
            Modifier::Hour => "hour",
            Modifier::Day => "day",
            Modifier::Week => "week",
            Modifier::Month => "month",
            Modifier::Year => "year",
        }
    }

    /// A placement modifier (`contains`, `startswith`, `endswith`).
    pub fn is_placement(self) -> bool {
        matches!(
            self,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    }

    /// A numeric comparison (`gt`, `gte`, `lt`, `lte`).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Modifier::Gt | Modifier::Gte | Modifier::Lt | Modifier::Lte
        )
    }

    /// A date-part extraction (`minute` … `year`).
    pub fn is_time_part(self) -> bool {
        matches!(
            self,
            Modifier::Minute
                | Modifier::Hour
                | Modifier::Day
                | Modifier::Week
                | Modifier::Month
                | Modifier::Year
        )
    }

    /// An encoding (`base64`, `base64offset`, `utf16*`).
    pub fn is_encoding(self) -> bool {
        matches!(
            self,
            Modifier::Base64
                | Modifier::Base64Offset
                | Modifier::Utf16Le
                | Modifier::Utf16Be
                | Modifier::Utf16
        )
    }

    /// A regular-expression flag (`i`, `m`, `s`).
    pub fn is_regex_flag(self) -> bool {
        matches!(
            self,
            Modifier::ReIgnoreCase | Modifier::ReMultiLine | Modifier::ReDotAll
        )
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that a chain of modifiers makes sense together; answers why not.
pub fn check_chain(mods: &[Modifier]) -> Result<(), String> {
    let count = |pred: fn(Modifier) -> bool| mods.iter().filter(|m| pred(**m)).count();
    let has = |m: Modifier| mods.contains(&m);
    for (i, m) in mods.iter().enumerate() {
        if mods[..i].contains(m) {
            return Err(format!("modifier '{m}' repeated"));
        }
        if m.is_regex_flag() && !mods[..i].contains(&Modifier::Re) {
            return Err(format!("regular expression flag '{m}' must follow 're'"));
        }
    }
    if count(Modifier::is_placement) > 1 {
        return Err("at most one of contains, startswith, endswith".to_owned());
    }
    if count(Modifier::is_comparison) > 1 {
        return Err("at most one of gt, gte, lt, lte".to_owned());
    }
    if count(Modifier::is_time_part) > 1 {
        return Err("at most one of minute, hour, day, week, month, year".to_owned());
    }
    let kinds = [
        has(Modifier::Re),
        has(Modifier::Cidr),
        has(Modifier::Exists),
        count(Modifier::is_comparison) > 0 && count(Modifier::is_time_part) == 0,
        has(Modifier::FieldRef),
    ];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err(
            "re, cidr, exists, fieldref and numeric comparisons cannot be combined".to_owned(),
        );
    }
    let string_transforms = count(Modifier::is_placement) > 0
        || count(Modifier::is_encoding) > 0
        || has(Modifier::Windash)
        || has(Modifier::Expand);
    if has(Modifier::Exists) && mods.len() > 1 {
        return Err("'exists' takes no other modifier".to_owned());
    }
    if (has(Modifier::Re) || has(Modifier::Cidr)) && (string_transforms || has(Modifier::Cased)) {
        return Err("'re' and 'cidr' take no string transformation".to_owned());
    }
    if count(Modifier::is_comparison) > 0 && (string_transforms || has(Modifier::Cased)) {
        return Err("numeric comparisons take no string transformation".to_owned());
    }
    if count(Modifier::is_time_part) > 0 && (string_transforms || has(Modifier::Cased)) {
        return Err("date parts take no string transformation".to_owned());
    }
    if has(Modifier::FieldRef)
        && (count(Modifier::is_encoding) > 0 || has(Modifier::Windash) || has(Modifier::Expand))
    {
        return Err(
            "'fieldref' takes only contains, startswith, endswith, cased and neq".to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(names: &[&str]) -> Result<(), String> {
        let mods: Vec<_> = names.iter().map(|n| Modifier::parse(n).unwrap()).collect();
        check_chain(&mods)
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "contains",
            "startswith",
            "endswith",
            "all",
            "base64",
            "base64offset",
            "utf16le",
            "utf16be",
            "utf16",
            "windash",
            "re",
            "i",
            "m",
            "s",
            "cidr",
            "exists",
            "expand",
            "fieldref",
            "gt",
            "gte",
            "lt",
            "lte",
            "neq",
            "cased",
            "minute",
            "hour",
            "day",
            "week",
            "month",
            "year",
        ] {
            assert_eq!(Modifier::parse(name).map(Modifier::as_str), Some(name));
        }
        assert_eq!(Modifier::parse("wide"), Some(Modifier::Utf16Le));
        assert_eq!(Modifier::parse("contain"), None);
    }

    #[test]
    fn sensible_chains() {
        assert!(chain(&["contains", "all"]).is_ok());
        assert!(chain(&["wide", "base64offset", "contains"]).is_ok());
        assert!(chain(&["contains", "windash"]).is_ok());
        assert!(chain(&["re", "i", "m"]).is_ok());
        assert!(chain(&["fieldref", "endswith"]).is_ok());
        assert!(chain(&["hour", "gte"]).is_ok());
        assert!(chain(&["contains", "cased", "neq"]).is_ok());
    }

    #[test]
    fn senseless_chains() {
        assert!(chain(&["contains", "endswith"]).is_err());
        assert!(chain(&["i"]).is_err());
        assert!(chain(&["re", "contains"]).is_err());
        assert!(chain(&["exists", "contains"]).is_err());
        assert!(chain(&["gt", "lt"]).is_err());
        assert!(chain(&["cidr", "re"]).is_err());
        assert!(chain(&["contains", "contains"]).is_err());
        assert!(chain(&["gt", "contains"]).is_err());
    }
}
