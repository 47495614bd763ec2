//! Capturing the adapter's tracing output, and what must never appear in it.

use std::{
    collections::HashSet,
    io::Write,
    sync::{Arc, Mutex},
};

use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;
use waymark_adapter_nomis::Population;

/// A `MakeWriter` that appends everything to one shared buffer.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What the mock's Prison API says about each person: prison numbers, booking ids and numbers,
/// names and dates of birth (the NOMIS population holds no NHS number). Values of 3+ characters.
pub fn personal_values(population: &Population) -> HashSet<String> {
    const KEYS: &[&str] = &[
        "nomsId",
        "offenderNo",
        "bookingId",
        "bookingNo",
        "givenName1",
        "givenName2",
        "firstName",
        "lastName",
        "dateOfBirth",
    ];
    let mut values = HashSet::new();
    for route in population.routes() {
        let Ok(record) = serde_json::from_slice::<Value>(&route.body) else {
            continue;
        };
        let records = match record {
            Value::Array(items) => items,
            one => vec![one],
        };
        for record in &records {
            for key in KEYS {
                values.extend(text_of(&record[*key]));
            }
        }
    }
    values.retain(|v| v.len() >= 3);
    values
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `word` appears in `text` not as part of a longer word.
pub fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}
