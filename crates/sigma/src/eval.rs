//! Evaluation of a compiled [`Program`] against one event.

use chrono::{Datelike, Timelike};
use serde_json::Value;
use shield_event::time::parse_timestamp;

use crate::fields::FieldId;
use crate::modifier::Modifier;
use crate::pattern::cidr_contains;
use crate::program::{Item, Node, Program, Target, Test};
use crate::view::EventView;

/// Whether `program` matches the event.
pub fn matches(program: &Program, view: &mut EventView<'_, '_>) -> bool {
    node(program, &program.cond, view)
}

fn node(p: &Program, n: &Node, view: &mut EventView<'_, '_>) -> bool {
    match n {
        Node::Search(i) => p.searches.get(*i as usize).is_some_and(|alts| {
            alts.iter()
                .any(|items| items.iter().all(|item| eval_item(item, view)))
        }),
        Node::Not(inner) => !node(p, inner, view),
        Node::And(items) => items.iter().all(|c| node(p, c, view)),
        Node::Or(items) => items.iter().any(|c| node(p, c, view)),
        Node::AtLeast(k, items) => {
            let mut seen = 0u32;
            for c in items {
                if node(p, c, view) {
                    seen += 1;
                    if seen >= *k {
                        return true;
                    }
                }
            }
            false
        }
    }
}

fn eval_item(item: &Item, view: &mut EventView<'_, '_>) -> bool {
    let result = match item.target {
        Target::Exists(f, want) => view.value(f).is_some() == want,
        Target::Field(f) => eval_field(item, f, view),
        Target::Keywords => eval_keywords(item, view),
    };
    result != item.neq
}

fn combine(item: &Item, mut test: impl FnMut(&Test) -> bool) -> bool {
    if item.all {
        item.groups.iter().all(|g| g.iter().any(&mut test))
    } else {
        item.groups.iter().any(|g| g.iter().any(&mut test))
    }
}

fn eval_field(item: &Item, f: FieldId, view: &mut EventView<'_, '_>) -> bool {
    let value = view.value(f);
    match value {
        None | Some(Value::Null) => combine(item, |t| matches!(t, Test::Null)),
        Some(Value::Object(_)) => false,
        Some(Value::Array(elements)) => {
            let elements: &[Value] = elements;
            combine(item, |t| {
                elements.iter().any(|e| {
                    !matches!(e, Value::Array(_) | Value::Object(_)) && test_detached(t, e, view)
                })
            })
        }
        Some(scalar) => {
            // FieldRef tests need the other field's text: resolve those spans before borrowing.
            let lowered = if item.needs_lower {
                view.lower(f)
            } else {
                None
            };
            let plain = view.plain(f);
            let refs = if item.has_fieldref {
                fieldref_texts(item, view)
            } else {
                Vec::new()
            };
            let view = &*view;
            let lowered = lowered.map(|r| view.arena(r));
            let plain = plain.as_ref().map(|p| view.plain_str(p));
            combine(item, |t| test_scalar(t, scalar, lowered, plain, &refs))
        }
    }
}

/// The other fields' texts (lowercased and as written) for an item's `fieldref` tests.
fn fieldref_texts(
    item: &Item,
    view: &mut EventView<'_, '_>,
) -> Vec<(FieldId, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    for t in item.groups.iter().flatten() {
        if let Test::FieldRef { other, .. } = t {
            let lowered = view.lower(*other).map(|r| view.arena(r).to_owned());
            let plain = view.plain(*other).map(|p| view.plain_str(&p).to_owned());
            out.push((*other, lowered, plain));
        }
    }
    out
}

fn test_scalar(
    t: &Test,
    value: &Value,
    lowered: Option<&str>,
    plain: Option<&str>,
    refs: &[(FieldId, Option<String>, Option<String>)],
) -> bool {
    match t {
        Test::Str { matcher, cased, .. } => {
            let text = if *cased { plain } else { lowered };
            text.is_some_and(|s| matcher.is_match(s))
        }
        Test::Num { value: n, text } => match value {
            Value::Number(num) => num.as_f64() == Some(*n),
            _ => lowered.is_some_and(|s| s == text),
        },
        Test::Bool(b) => match value {
            Value::Bool(v) => v == b,
            _ => lowered.is_some_and(|s| s == if *b { "true" } else { "false" }),
        },
        Test::Null | Test::Never => false,
        Test::Cmp(op, bound) => numeric(value).is_some_and(|v| op.holds(v, *bound)),
        Test::Regex(re, _) => plain.is_some_and(|s| re.is_match(s)),
        Test::Cidr(net) => plain.is_some_and(|s| cidr_contains(net, s)),
        Test::FieldRef {
            other,
            place,
            cased,
        } => {
            let Some((_, other_lower, other_plain)) = refs.iter().find(|(f, _, _)| f == other)
            else {
                return false;
            };
            let (this, that) = if *cased {
                (plain, other_plain.as_deref())
            } else {
                (lowered, other_lower.as_deref())
            };
            match (this, that) {
                (Some(a), Some(b)) => place_match(*place, a, b),
                _ => false,
            }
        }
        Test::Time {
            part,
            cmp,
            value: bound,
        } => time_part(value, *part).is_some_and(|v| cmp.holds(v, *bound)),
    }
}

fn place_match(place: Option<Modifier>, value: &str, needle: &str) -> bool {
    match place {
        Some(Modifier::Contains) => value.contains(needle),
        Some(Modifier::StartsWith) => value.starts_with(needle),
        Some(Modifier::EndsWith) => value.ends_with(needle),
        _ => value == needle,
    }
}

/// A test on a value that is not a cached field (an array element): text computed on the spot.
fn test_detached(t: &Test, value: &Value, view: &mut EventView<'_, '_>) -> bool {
    let mut lowered = std::mem::take(&mut view.c.tmp);
    lowered.clear();
    let has_text = crate::view::write_text(value, &mut lowered, true);
    let mut plain = String::new();
    if has_text && needs_plain(t) {
        crate::view::write_text(value, &mut plain, false);
    }
    let result = match t {
        // Array elements have no other field to refer to.
        Test::FieldRef { .. } => false,
        _ => test_scalar(
            t,
            value,
            has_text.then_some(lowered.as_str()),
            has_text.then_some(plain.as_str()),
            &[],
        ),
    };
    view.c.tmp = lowered;
    result
}

fn needs_plain(t: &Test) -> bool {
    matches!(
        t,
        Test::Str { cased: true, .. } | Test::Regex(..) | Test::Cidr(_)
    )
}

fn eval_keywords(item: &Item, view: &mut EventView<'_, '_>) -> bool {
    let needs_plain = item.groups.iter().flatten().any(needs_plain);
    let lowered: Vec<(u32, u32)> = view.leaves(true).to_vec();
    let plain: Vec<(u32, u32)> = if needs_plain {
        view.leaves(false).to_vec()
    } else {
        Vec::new()
    };
    let view = &*view;
    let dummy = Value::Null;
    combine(item, |t| {
        lowered.iter().enumerate().any(|(i, (a, b))| {
            let low = view.arena(*a as usize..*b as usize);
            let pl = plain
                .get(i)
                .map(|(a, b)| view.arena(*a as usize..*b as usize));
            test_scalar(t, &dummy, Some(low), pl, &[])
        })
    })
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                return i64::from_str_radix(hex, 16).ok().map(|n| n as f64);
            }
            s.parse::<f64>().ok().filter(|f| f.is_finite())
        }
        _ => None,
    }
}

fn time_part(v: &Value, part: Modifier) -> Option<f64> {
    let t = parse_timestamp(v)?;
    Some(f64::from(match part {
        Modifier::Minute => t.minute(),
        Modifier::Hour => t.hour(),
        Modifier::Day => t.day(),
        Modifier::Week => t.iso_week().week(),
        Modifier::Month => t.month(),
        Modifier::Year => u32::try_from(t.year()).unwrap_or(0),
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;
    use crate::parse::parse_file;
    use crate::program::compile_interning;
    use crate::view::{Scratch, recycle};
    use serde_json::json;

    /// Compiles a detection (YAML body of `detection:`) as a generic rule and matches `event`.
    pub(crate) fn check(detection: &str, event: &Value) -> bool {
        let text = format!("title: t\nlogsource: {{product: test}}\ndetection:\n{detection}");
        let (rules, diags) = parse_file(&text, "t.yml");
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let mut table = FieldTable::default();
        let c = compile_interning(rules[0].detection().unwrap(), None, &mut table).unwrap();
        let mut scratch = Scratch::default();
        scratch.begin(table.len(), 0, 0);
        let slots = recycle(std::mem::take(&mut scratch.slots));
        let mut view = EventView::new(event, &table, slots, &mut scratch.caches);
        let r = matches(&c.program, &mut view);
        let slots = view.into_slots();
        scratch.slots = recycle(slots);
        r
    }

    fn sel(body: &str) -> String {
        format!("  sel:\n{body}  condition: sel\n")
    }

    #[test]
    fn plain_values_are_case_insensitive_and_exact() {
        let d = sel("    Image: 'C:\\Windows\\System32\\whoami.exe'\n");
        assert!(check(
            &d,
            &json!({"Image": "c:\\windows\\system32\\WHOAMI.EXE"})
        ));
        assert!(!check(
            &d,
            &json!({"Image": "c:\\windows\\system32\\whoami.exe.bak"})
        ));
        assert!(!check(
            &d,
            &json!({"Other": "c:\\windows\\system32\\whoami.exe"})
        ));
    }

    #[test]
    fn contains_startswith_endswith() {
        assert!(check(
            &sel("    CommandLine|contains: ' -enc '\n"),
            &json!({"CommandLine": "powershell -ENC abc"})
        ));
        assert!(!check(
            &sel("    CommandLine|contains: ' -enc '\n"),
            &json!({"CommandLine": "powershell -encoded"})
        ));
        assert!(check(
            &sel("    Image|startswith: 'C:\\Users\\'\n"),
            &json!({"Image": "c:\\users\\x\\a.exe"})
        ));
        assert!(!check(
            &sel("    Image|startswith: 'C:\\Users\\'\n"),
            &json!({"Image": "d:\\c:\\users\\"})
        ));
        assert!(check(
            &sel("    Image|endswith: '\\cmd.exe'\n"),
            &json!({"Image": "C:\\Windows\\CMD.EXE"})
        ));
        assert!(!check(
            &sel("    Image|endswith: '\\cmd.exe'\n"),
            &json!({"Image": "C:\\Windows\\xcmd.exe"})
        ));
        // Wildcards inside a placed value combine with the placement.
        assert!(check(
            &sel("    CommandLine|contains: 'a*c'\n"),
            &json!({"CommandLine": "xx aBBc yy"})
        ));
    }

    #[test]
    fn lists_or_and_all() {
        let any = sel("    CommandLine|contains:\n      - alpha\n      - beta\n");
        assert!(check(&any, &json!({"CommandLine": "x beta"})));
        assert!(!check(&any, &json!({"CommandLine": "gamma"})));
        let all = sel("    CommandLine|contains|all:\n      - alpha\n      - beta\n");
        assert!(check(&all, &json!({"CommandLine": "beta alpha"})));
        assert!(!check(&all, &json!({"CommandLine": "beta only"})));
    }

    #[test]
    fn maps_and_lists_of_maps() {
        let and = sel("    A: 1\n    B: x\n");
        assert!(check(&and, &json!({"A": 1, "B": "X"})));
        assert!(!check(&and, &json!({"A": 1, "B": "y"})));
        let or = "  sel:\n    - A: 1\n    - B: x\n  condition: sel\n";
        assert!(check(or, &json!({"A": 2, "B": "x"})));
        assert!(!check(or, &json!({"A": 2, "B": "y"})));
    }

    #[test]
    fn numbers_match_numbers_and_numeric_strings() {
        let d = sel("    EventID: 4688\n");
        assert!(check(&d, &json!({"EventID": 4688})));
        assert!(check(&d, &json!({"EventID": "4688"})));
        assert!(!check(&d, &json!({"EventID": 4689})));
        let quoted = sel("    EventID: '4688'\n");
        assert!(check(&quoted, &json!({"EventID": 4688})));
        let float = sel("    Score: 1.5\n");
        assert!(check(&float, &json!({"Score": 1.5})));
        assert!(check(
            &sel("    Enabled: true\n"),
            &json!({"Enabled": true})
        ));
        assert!(check(
            &sel("    Enabled: true\n"),
            &json!({"Enabled": "True"})
        ));
        assert!(!check(
            &sel("    Enabled: true\n"),
            &json!({"Enabled": false})
        ));
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(check(
            &sel("    Image: '*\\prog?.exe'\n"),
            &json!({"Image": "C:\\progA.exe"})
        ));
        assert!(!check(
            &sel("    Image: '*\\prog?.exe'\n"),
            &json!({"Image": "C:\\prog.exe"})
        ));
        assert!(check(&sel("    Name: 'a\\*b'\n"), &json!({"Name": "A*B"})));
        assert!(!check(&sel("    Name: 'a\\*b'\n"), &json!({"Name": "axb"})));
        assert!(check(&sel("    Name: 'a\\?'\n"), &json!({"Name": "a?"})));
        assert!(!check(&sel("    Name: 'a\\?'\n"), &json!({"Name": "ab"})));
        assert!(check(
            &sel("    Path: 'C:\\\\Temp\\\\*'\n"),
            &json!({"Path": "c:\\temp\\\\x"})
        ));
    }

    #[test]
    fn null_empty_and_exists() {
        let null = sel("    PasswordLastSet: null\n");
        assert!(check(&null, &json!({"Other": 1})));
        assert!(check(&null, &json!({"PasswordLastSet": null})));
        assert!(!check(&null, &json!({"PasswordLastSet": ""})));
        let empty = sel("    Field: ''\n");
        assert!(check(&empty, &json!({"Field": ""})));
        assert!(!check(&empty, &json!({})));
        let exists = sel("    Field|exists: true\n");
        assert!(check(&exists, &json!({"Field": null})));
        assert!(!check(&exists, &json!({})));
        assert!(check(&sel("    Field|exists: false\n"), &json!({})));
    }

    #[test]
    fn cased_and_regex() {
        let cased = sel("    Name|cased: Admin\n");
        assert!(check(&cased, &json!({"Name": "Admin"})));
        assert!(!check(&cased, &json!({"Name": "admin"})));
        let re = sel("    CommandLine|re: '^cmd\\.exe /c [a-z]+$'\n");
        assert!(check(&re, &json!({"CommandLine": "cmd.exe /c whoami"})));
        assert!(
            !check(&re, &json!({"CommandLine": "CMD.EXE /c whoami"})),
            "re is case-sensitive"
        );
        let rei = sel("    CommandLine|re|i: '^cmd\\.exe'\n");
        assert!(check(&rei, &json!({"CommandLine": "CMD.EXE /c"})));
        let rem = sel("    Text|re|m: '^second$'\n");
        assert!(check(&rem, &json!({"Text": "first\nsecond\nthird"})));
        assert!(!check(
            &sel("    Text|re: '^second$'\n"),
            &json!({"Text": "first\nsecond"})
        ));
        let res = sel("    Text|re|s: 'a.b'\n");
        assert!(check(&res, &json!({"Text": "a\nb"})));
        assert!(!check(
            &sel("    Text|re: 'a.b'\n"),
            &json!({"Text": "a\nb"})
        ));
    }

    #[test]
    fn encodings() {
        // "cmd" Base64 is Y21k.
        assert!(check(
            &sel("    Data|base64: cmd\n"),
            &json!({"Data": "Y21k"})
        ));
        assert!(check(
            &sel("    Data|base64|contains: cmd\n"),
            &json!({"Data": "xxY21kyy"})
        ));
        let offset = sel("    CommandLine|base64offset|contains: 'Invoke-Mimikatz'\n");
        for prefix in ["", "a", "ab"] {
            let b64 = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{prefix}Invoke-Mimikatz -DumpCreds"),
            );
            assert!(
                check(
                    &offset,
                    &json!({ "CommandLine": format!("powershell -enc {b64}") })
                ),
                "{prefix}"
            );
        }
        let wide = sel("    CommandLine|wide|base64offset|contains: 'ping'\n");
        let utf16: Vec<u8> = "ping 127.0.0.1"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, utf16);
        assert!(check(
            &wide,
            &json!({ "CommandLine": format!("powershell -e {b64}") })
        ));
        assert!(!check(&wide, &json!({"CommandLine": "ping"})));
        assert!(check(
            &sel("    Raw|utf16le: ab\n"),
            &json!({"Raw": "a\u{0}b\u{0}"})
        ));
        assert!(check(
            &sel("    Raw|utf16be: ab\n"),
            &json!({"Raw": "\u{0}a\u{0}b"})
        ));
        let utf16bom = sel("    Raw|utf16|base64: a\n");
        let b64 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [0xff, 0xfe, b'a', 0],
        );
        assert!(check(&utf16bom, &json!({ "Raw": b64 })));
    }

    #[test]
    fn windash() {
        let d = sel("    CommandLine|contains|windash: ' -exec '\n");
        for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
            assert!(
                check(
                    &d,
                    &json!({ "CommandLine": format!("psexec {dash}exec x") })
                ),
                "{dash}"
            );
        }
        assert!(!check(&d, &json!({"CommandLine": "psexec +exec x"})));
    }

    #[test]
    fn cidr_comparisons_fieldref_neq() {
        let cidr = sel("    DestinationIp|cidr:\n      - 10.0.0.0/8\n      - 'fe80::/10'\n");
        assert!(check(&cidr, &json!({"DestinationIp": "10.2.3.4"})));
        assert!(check(&cidr, &json!({"DestinationIp": "fe80::1"})));
        assert!(!check(&cidr, &json!({"DestinationIp": "8.8.8.8"})));
        assert!(check(&sel("    Port|gt: 1024\n"), &json!({"Port": 4444})));
        assert!(!check(
            &sel("    Port|gt: 1024\n"),
            &json!({"Port": "1024"})
        ));
        assert!(check(
            &sel("    Port|gte: 1024\n"),
            &json!({"Port": "1024"})
        ));
        assert!(check(&sel("    Port|lt: 10\n"), &json!({"Port": 9})));
        assert!(check(&sel("    Port|lte: 10\n"), &json!({"Port": 10})));
        assert!(!check(&sel("    Port|lt: 10\n"), &json!({"Port": "abc"})));
        let fr = sel("    TargetUser|fieldref: SubjectUser\n");
        assert!(check(
            &fr,
            &json!({"TargetUser": "Bob", "SubjectUser": "bob"})
        ));
        assert!(!check(
            &fr,
            &json!({"TargetUser": "Bob", "SubjectUser": "alice"})
        ));
        assert!(!check(&fr, &json!({"TargetUser": "Bob"})));
        let fr_ends = sel("    Image|fieldref|endswith: Name\n");
        assert!(check(
            &fr_ends,
            &json!({"Image": "C:\\x\\evil.exe", "Name": "EVIL.exe"})
        ));
        let neq = sel("    User|neq: SYSTEM\n");
        assert!(check(&neq, &json!({"User": "alice"})));
        assert!(!check(&neq, &json!({"User": "system"})));
        let neq_fr = sel("    A|fieldref|neq: B\n");
        assert!(check(&neq_fr, &json!({"A": "x", "B": "y"})));
        assert!(!check(&neq_fr, &json!({"A": "x", "B": "X"})));
    }

    #[test]
    fn time_parts() {
        let d = sel("    UtcTime|hour|gte: 22\n");
        assert!(check(&d, &json!({"UtcTime": "2024-01-01 23:10:00.000"})));
        assert!(!check(&d, &json!({"UtcTime": "2024-01-01 08:10:00.000"})));
        assert!(check(
            &sel("    UtcTime|month: 3\n"),
            &json!({"UtcTime": "2024-03-01T00:00:00Z"})
        ));
        assert!(check(
            &sel("    UtcTime|year: 2024\n"),
            &json!({"UtcTime": "2024-03-01T00:00:00Z"})
        ));
        assert!(!check(
            &sel("    UtcTime|minute: 5\n"),
            &json!({"UtcTime": "garbage"})
        ));
    }

    #[test]
    fn keywords_search_every_value() {
        let d = "  keywords:\n    - 'event::clear'\n    - 'sekurlsa'\n  condition: keywords\n";
        assert!(check(
            d,
            &json!({"a": {"b": ["x", "mimikatz # SEKURLSA::logonpasswords"]}})
        ));
        assert!(!check(d, &json!({"a": "nothing"})));
        let all = "  keywords:\n    '|all':\n      - 'OabVirtualDirectory'\n      - ' -ExternalUrl '\n  condition: keywords\n";
        assert!(check(
            all,
            &json!({"x": "Set-OabVirtualDirectory", "y": "a -ExternalUrl b"})
        ));
        assert!(!check(all, &json!({"x": "Set-OabVirtualDirectory"})));
    }

    #[test]
    fn arrays_match_any_element() {
        let d = sel("    Data|contains: 'HostName=ConsoleHost'\n");
        assert!(check(
            &d,
            &json!({"Data": ["Available", "HostName=ConsoleHost\nHostVersion=5.1"]})
        ));
        assert!(!check(&d, &json!({"Data": ["Available"]})));
    }

    #[test]
    fn conditions() {
        let ev = json!({"A": "1", "B": "2"});
        let base =
            "  sel_a: {A: '1'}\n  sel_b: {B: '2'}\n  filter_x: {X: '3'}\n  _hidden: {H: '4'}\n";
        let cond = |c: &str| check(&format!("{base}  condition: {c}\n"), &ev);
        assert!(cond("sel_a and sel_b"));
        assert!(cond("sel_a or filter_x"));
        assert!(!cond("sel_a and filter_x"));
        assert!(cond("sel_a and not filter_x"));
        assert!(!cond("not sel_a"));
        assert!(cond("1 of sel_*"));
        assert!(cond("all of sel_*"));
        assert!(!cond("all of them"));
        assert!(cond("1 of them"));
        assert!(cond("2 of them"));
        assert!(!cond("3 of them"));
        assert!(cond("not (filter_x or _hidden)"));
        assert!(cond("sel_a and (filter_x or sel_b)"));
        assert!(!cond("not sel_a or filter_x and sel_b"));
        assert!(cond("all of sel_* and not 1 of filter_*"));
        assert!(check(
            &format!("{base}  condition:\n    - filter_x\n    - sel_a\n"),
            &ev
        ));
    }
}
