//! HL7 v2 ER7 text ("pipe and hat"): splitting a message into segments, fields, repetitions,
//! components and subcomponents, decoding and encoding escape sequences, and the JSON tree the
//! mappings read ([`crate::hl7`] describes it). Pure; never panics on any input. The map stage
//! reads envelopes of content type [`HL7_CONTENT_TYPE`] through [`to_tree`]; the ExceliCare
//! adapter uses the same reader for its MSH checks and ACKs.

use serde_json::Value;

/// The envelope content type of an HL7 v2 message in ER7 text.
pub const HL7_CONTENT_TYPE: &str = "x-application/hl7-v2+er7";

/// The five separators a message declares in MSH-1 and MSH-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: char,
    /// Component separator, usually `^`.
    pub component: char,
    /// Repetition separator, usually `~`.
    pub repetition: char,
    /// Escape character, usually `\`.
    pub escape: char,
    /// Subcomponent separator, usually `&`.
    pub subcomponent: char,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// Why a text is not an HL7 v2 message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Er7Error {
    /// The frame is not UTF-8 (or ASCII) text.
    #[error("the message is not text")]
    NotText,
    /// The first segment is not `MSH`.
    #[error("the message does not start with an MSH segment")]
    NoMsh,
    /// MSH-1/MSH-2 do not declare five distinct separators.
    #[error("MSH-1 and MSH-2 do not declare valid separators")]
    BadDelimiters,
}

/// One segment: its name and its raw (still escaped) field texts, `fields[0]` being field 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Segment name, e.g. `PID`.
    pub name: &'a str,
    /// Raw field texts; for MSH, `fields[0]` is MSH-1 (the separator) and `fields[1]` MSH-2.
    pub fields: Vec<&'a str>,
}

/// A message split into segments (not yet into components).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The separators from MSH-1/MSH-2.
    pub delimiters: Delimiters,
    /// Segments in order; empty lines are skipped.
    pub segments: Vec<Segment<'a>>,
}

/// Splits `text` into segments (separated by CR, LF or CRLF). The first must be `MSH`.
pub fn parse(bytes: &[u8]) -> Result<Message<'_>, Er7Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Er7Error::NotText)?;
    let text = text.trim_start_matches(['\r', '\n', ' ', '\t']);
    let rest = text.strip_prefix("MSH").ok_or(Er7Error::NoMsh)?;
    let delimiters = delimiters(rest)?;
    let segments = text
        .split(['\r', '\n'])
        .filter(|line| !line.trim().is_empty())
        .map(|line| segment(line, &delimiters))
        .collect();
    Ok(Message {
        delimiters,
        segments,
    })
}

fn delimiters(after_msh: &str) -> Result<Delimiters, Er7Error> {
    let mut chars = after_msh.chars();
    let field = chars.next().ok_or(Er7Error::BadDelimiters)?;
    let encoding: Vec<char> = chars.take_while(|c| *c != field).collect();
    let d = Delimiters {
        field,
        component: *encoding.first().ok_or(Er7Error::BadDelimiters)?,
        repetition: *encoding.get(1).ok_or(Er7Error::BadDelimiters)?,
        escape: *encoding.get(2).ok_or(Er7Error::BadDelimiters)?,
        subcomponent: encoding.get(3).copied().unwrap_or('&'),
    };
    let all = [d.field, d.component, d.repetition, d.escape, d.subcomponent];
    let distinct = all.iter().enumerate().all(|(i, c)| !all[..i].contains(c));
    let printable = all.iter().all(|c| c.is_ascii_punctuation());
    if distinct && printable {
        Ok(d)
    } else {
        Err(Er7Error::BadDelimiters)
    }
}

fn segment<'a>(line: &'a str, d: &Delimiters) -> Segment<'a> {
    let mut parts = line.split(d.field);
    let name = parts.next().unwrap_or_default();
    if name == "MSH" {
        let sep_len = d.field.len_utf8();
        let after = line.get(3 + sep_len..).unwrap_or_default();
        let field_one = line.get(3..3 + sep_len).unwrap_or_default();
        let mut fields = vec![field_one];
        fields.extend(after.split(d.field));
        return Segment { name, fields };
    }
    Segment {
        name,
        fields: parts.collect(),
    }
}

impl<'a> Message<'a> {
    /// The first segment named `name`.
    pub fn segment(&self, name: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// Component `component` (1-based) of the first repetition of field `field` (1-based) of the
    /// first `segment`, unescaped; `None` when absent or empty.
    pub fn value(&self, segment: &str, field: usize, component: usize) -> Option<String> {
        let raw = self.segment(segment)?.fields.get(field.checked_sub(1)?)?;
        let rep = raw.split(self.delimiters.repetition).next()?;
        let comp = rep
            .split(self.delimiters.component)
            .nth(component.checked_sub(1)?)?;
        let sub = comp.split(self.delimiters.subcomponent).next()?;
        let text = unescape(sub, &self.delimiters);
        (!text.is_empty()).then_some(text)
    }

    /// The JSON tree of `waymark_mapping::hl7`: `{segments: [{name, fields}]}`, text unescaped.
    pub fn to_tree(&self) -> Value {
        let segments = self
            .segments
            .iter()
            .map(|s| serde_json::json!({"name": s.name, "fields": self.fields_tree(s)}))
            .collect();
        serde_json::json!({ "segments": Value::Array(segments) })
    }

    fn fields_tree(&self, s: &Segment<'_>) -> Value {
        let d = &self.delimiters;
        let tree = s.fields.iter().enumerate().map(|(i, raw)| {
            if s.name == "MSH" && i < 2 {
                Value::String((*raw).to_owned())
            } else {
                field_tree(raw, d)
            }
        });
        Value::Array(tree.collect())
    }
}

/// One field: a string when it is a single value, else nested arrays (see the module docs).
fn field_tree(raw: &str, d: &Delimiters) -> Value {
    let leaf = |s: &str| Value::String(unescape(s, d));
    let split_subs = |comp: &str| {
        let subs: Vec<&str> = comp.split(d.subcomponent).collect();
        match subs.as_slice() {
            [one] => leaf(one),
            many => Value::Array(many.iter().map(|s| leaf(s)).collect()),
        }
    };
    let split_comps = |rep: &str| {
        let comps: Vec<&str> = rep.split(d.component).collect();
        match comps.as_slice() {
            [one] => split_subs(one),
            many => Value::Array(many.iter().map(|c| split_subs(c)).collect()),
        }
    };
    let reps: Vec<&str> = raw.split(d.repetition).collect();
    match reps.as_slice() {
        [one] => match split_comps(one) {
            v @ Value::String(_) => v,
            v => Value::Array(vec![v]),
        },
        many => Value::Array(many.iter().map(|r| split_comps(r)).collect()),
    }
}

/// Decodes `\F\ \S\ \T\ \R\ \E\`, `\Xhh…\` (hex bytes as Latin-1/ASCII) and `\.br\` (line
/// break); formatting escapes (`\H\`, `\N\`, …) are dropped; an unterminated escape is kept.
pub fn unescape(text: &str, d: &Delimiters) -> String {
    if !text.contains(d.escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(d.escape) {
        out.push_str(&rest[..at]);
        let after = &rest[at + d.escape.len_utf8()..];
        match after.find(d.escape) {
            Some(end) => {
                decode_one(&after[..end], d, &mut out);
                rest = &after[end + d.escape.len_utf8()..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(code: &str, d: &Delimiters, out: &mut String) {
    match code {
        "F" => out.push(d.field),
        "S" => out.push(d.component),
        "T" => out.push(d.subcomponent),
        "R" => out.push(d.repetition),
        "E" => out.push(d.escape),
        ".br" => out.push('\n'),
        _ if code.starts_with('X') => {
            let hex = &code[1..];
            let ok = hex.len().is_multiple_of(2) && hex.bytes().all(|b| b.is_ascii_hexdigit());
            if ok {
                let bytes = (0..hex.len())
                    .step_by(2)
                    .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok());
                out.extend(bytes.map(char::from));
            }
        }
        _ => {}
    }
}

/// Encodes text for a field: each separator and the escape character become escape sequences,
/// and line breaks `\.br\`.
pub fn escape(text: &str, d: &Delimiters) -> String {
    let e = d.escape;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let code = match c {
            _ if c == d.field => "F",
            _ if c == d.component => "S",
            _ if c == d.subcomponent => "T",
            _ if c == d.repetition => "R",
            _ if c == e => "E",
            '\n' => ".br",
            '\r' => continue,
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push(e);
        out.push_str(code);
        out.push(e);
    }
    out
}

/// Parses an ER7 message into the mapping tree (for the map stage and the fixtures).
pub fn to_tree(bytes: &[u8]) -> Result<Value, Er7Error> {
    parse(bytes).map(|m| m.to_tree())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MSG: &str = "MSH|^~\\&|EXCELICARE|SUITE1|WAYMARK|HUB|20240601120000+0100||ADT^A04^ADT_A01|C1|P|2.5.1\r\
PID|1||EX1^^^EXCELICARE^PI~9434765919^^^NHS^NH||Smith^John^Paul~Smyth^Jon^^^^^A||19800101|M\r\
NTE|1||pain 3\\F\\10 \\S\\ A\\T\\E \\R\\ C:\\E\\x\\.br\\next\\X41\\\r";

    #[test]
    fn splits_segments_and_reads_values() {
        let m = parse(MSG.as_bytes()).unwrap();
        assert_eq!(m.segments.len(), 3);
        assert_eq!(m.value("MSH", 9, 1).as_deref(), Some("ADT"));
        assert_eq!(m.value("MSH", 9, 2).as_deref(), Some("A04"));
        assert_eq!(m.value("MSH", 10, 1).as_deref(), Some("C1"));
        assert_eq!(m.value("MSH", 12, 1).as_deref(), Some("2.5.1"));
        assert_eq!(m.value("MSH", 2, 1), None, "MSH-2 split as any field");
        assert_eq!(m.value("PID", 5, 2).as_deref(), Some("John"));
        assert_eq!(m.value("PID", 40, 1), None);
    }

    #[test]
    fn builds_the_mapping_tree_with_unescaped_text() {
        let tree = to_tree(MSG.as_bytes()).unwrap();
        let msh = &tree["segments"][0]["fields"];
        assert_eq!(msh[0], "|");
        assert_eq!(msh[1], "^~\\&");
        assert_eq!(msh[8], json!([["ADT", "A04", "ADT_A01"]]));
        let pid = &tree["segments"][1]["fields"];
        assert_eq!(pid[0], "1");
        assert_eq!(pid[1], "");
        assert_eq!(
            pid[2],
            json!([
                ["EX1", "", "", "EXCELICARE", "PI"],
                ["9434765919", "", "", "NHS", "NH"]
            ])
        );
        assert_eq!(pid[4][1], json!(["Smyth", "Jon", "", "", "", "", "A"]));
        let note = &tree["segments"][2]["fields"][2];
        assert_eq!(note, "pain 3|10 ^ A&E ~ C:\\x\nnextA");
    }

    #[test]
    fn escaping_round_trips() {
        let d = Delimiters::default();
        let text = "a|b^c&d~e\\f\ng";
        let escaped = escape(text, &d);
        assert_eq!(escaped, "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g");
        assert_eq!(unescape(&escaped, &d), text);
        assert_eq!(unescape("open \\F", &d), "open \\F");
        assert_eq!(unescape("\\H\\bold\\N\\", &d), "bold");
    }

    #[test]
    fn refuses_what_is_not_hl7_without_panicking() {
        assert_eq!(parse(b"hello").unwrap_err(), Er7Error::NoMsh);
        assert_eq!(parse(&[0xff, 0xfe]).unwrap_err(), Er7Error::NotText);
        for bad in ["MSH", "MSH|", "MSH|^", "MSH|^~", "MSH|||||", "MSH|^^\\&|"] {
            assert_eq!(
                parse(bad.as_bytes()).unwrap_err(),
                Er7Error::BadDelimiters,
                "{bad}"
            );
        }
        assert!(parse("MSH|^~\\&".as_bytes()).is_ok());
        assert!(parse("MSHé^~\\&".as_bytes()).is_err());
    }
}
