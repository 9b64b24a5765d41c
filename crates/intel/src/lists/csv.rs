//! A small RFC 4180 reader: quoted fields, doubled quotes, line breaks inside quotes, and the line
//! each record starts on. IOC lists need nothing more, so no CSV crate.

/// One record: the 1-based line it starts on and its fields.
pub(super) type Record = (u64, Vec<String>);

/// The delimiter of a file: `,` unless its first content line has none but has `;` or a tab.
pub(super) fn sniff_delimiter(text: &str) -> char {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    if first.contains(',') {
        ','
    } else if first.contains('\t') {
        '\t'
    } else if first.contains(';') {
        ';'
    } else {
        ','
    }
}

/// Splits `text` into records. A quote left open at the end of the input is an error naming the
/// line where the record started; the records before it are kept.
pub(super) fn records(text: &str, delimiter: char) -> (Vec<Record>, Option<(u64, String)>) {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1u64;
    let mut start_line = 1u64;
    let mut in_quotes = false;
    let mut field_was_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() && !field_was_quoted => {
                field.clear();
                in_quotes = true;
                field_was_quoted = true;
            }
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push((start_line, std::mem::take(&mut fields)));
                field_was_quoted = false;
                line += 1;
                start_line = line;
            }
            c if c == delimiter => {
                fields.push(std::mem::take(&mut field));
                field_was_quoted = false;
            }
            c => field.push(c),
        }
    }
    if in_quotes {
        return (
            out,
            Some((start_line, "quoted field not closed".to_owned())),
        );
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push((start_line, fields));
    }
    (out, None)
}

/// One CSV field, quoted when it holds the delimiter, a quote, a line break or edge white space.
pub(super) fn field(value: &str) -> String {
    let needs = value.contains([',', '"', '\n', '\r'])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_line_numbers() {
        let text = "type,value\nurl,\"http://x.example/?a=1,2\"\r\n\"email\",\"a\"\"b\"\n\"multi\nline\",x\nlast,row";
        let (records, err) = records(text, ',');
        assert_eq!(err, None);
        assert_eq!(
            records,
            vec![
                (1, vec!["type".into(), "value".into()]),
                (2, vec!["url".into(), "http://x.example/?a=1,2".into()]),
                (3, vec!["email".into(), "a\"b".into()]),
                (4, vec!["multi\nline".into(), "x".into()]),
                (6, vec!["last".into(), "row".into()]),
            ]
        );
    }

    #[test]
    fn open_quote_names_the_record_line() {
        let (records, err) = records("a,b\nc,\"open\nmore", ',');
        assert_eq!(records.len(), 1);
        assert_eq!(err, Some((2, "quoted field not closed".to_owned())));
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn delimiter_sniffing() {
        assert_eq!(sniff_delimiter("# c\ntype;value\n"), ';');
        assert_eq!(sniff_delimiter("type\tvalue\n"), '\t');
        assert_eq!(sniff_delimiter("type,value\n"), ',');
    }
}
