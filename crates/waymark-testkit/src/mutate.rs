//! A small seeded byte mutator for the stable corpus replay (the fuzzer proper is libFuzzer):
//! bit flips, byte changes, deletions, duplications and insertions of the tokens the parsers
//! care about (JSON brackets and quotes, MLLP blocks, HL7 separators, escapes). Deterministic:
//! the same seed gives the same mutations on every machine.

/// Tokens worth inserting: structure the parsers branch on.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"null",
    b"-1",
    b"1e999",
    b"\\u0000",
    b"\\",
    b"\x0b",
    b"\x1c",
    b"\x1c\r",
    b"\r",
    b"\n",
    b"MSH|^~\\&|",
    b"|",
    b"^",
    b"~",
    b"&",
    b"\\X4\\",
    b"\\E\\",
    b"\\.br\\",
    b"\xff",
    b"\xc3\xa9",
    b"%",
    b"%zz",
    b"+",
    b"=",
    b"&=",
];

use serde_json::{Value, json};

/// SplitMix64: a tiny deterministic generator.
#[derive(Clone, Debug)]
pub struct Mutator(u64);

impl Mutator {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is `0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// `input` with 1 to 4 random edits: of the JSON tree half the time when `input` is JSON (so
/// the result still parses and reaches the code behind the parser), else of the bytes.
pub fn mutate(input: &[u8], rng: &mut Mutator) -> Vec<u8> {
    if rng.below(2) == 0
        && let Ok(mut value) = serde_json::from_slice::<Value>(input)
    {
        for _ in 0..=rng.below(4) {
            edit_json(&mut value, rng);
        }
        return serde_json::to_vec(&value).unwrap_or_default();
    }
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        edit(&mut out, rng);
    }
    out
}

/// Hostile values a JSON edit puts in place of a node.
fn hostile(rng: &mut Mutator) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => json!(""),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(1.5e300),
        5 => json!("x".repeat(rng.below(5_000))),
        6 => nested(40 + rng.below(80)),
        7 => json!({"resourceType": "Bundle", "entry": [{}]}),
        _ => json!("9434765919|A1234BC|2024-02-30T25:61:00Z|\\X0D\\"),
    }
}

/// `depth` arrays, one inside the other (the deepest serde_json reads back is 128).
fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Array(Vec::new()), |inner, _| {
        Value::Array(vec![inner])
    })
}

/// One edit of a random node: replaced, removed, or its array repeated or nested.
fn edit_json(value: &mut Value, rng: &mut Mutator) {
    let depth = rng.below(12);
    let mut node = value;
    for _ in 0..depth {
        let len = match &*node {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let at = rng.below(len);
        node = match node {
            Value::Array(a) => &mut a[at],
            Value::Object(o) => match o.values_mut().nth(at) {
                Some(child) => child,
                None => return,
            },
            _ => return,
        };
    }
    match (rng.below(4), &mut *node) {
        (0, Value::Object(o)) if !o.is_empty() => {
            let key = o
                .keys()
                .nth(rng.below(o.len()))
                .cloned()
                .unwrap_or_default();
            o.remove(&key);
        }
        (1, Value::Array(a)) if !a.is_empty() && a.len() < 2_000 => {
            let copy = a[rng.below(a.len())].clone();
            let times = 1 + rng.below(64);
            a.extend(std::iter::repeat_n(copy, times));
        }
        (2, _) => *node = json!([node.take()]),
        _ => *node = hostile(rng),
    }
}

fn edit(out: &mut Vec<u8>, rng: &mut Mutator) {
    let at = rng.below(out.len() + 1);
    match rng.below(6) {
        0 if at < out.len() => out[at] ^= 1 << rng.below(8),
        1 if at < out.len() => out[at] = rng.next_u64() as u8,
        2 => {
            let end = (at + 1 + rng.below(16)).min(out.len());
            out.drain(at.min(end)..end);
        }
        3 => {
            let end = (at + 1 + rng.below(64)).min(out.len());
            let chunk = out.get(at..end).unwrap_or_default().to_vec();
            for _ in 0..=rng.below(8) {
                out.splice(at..at, chunk.iter().copied());
            }
        }
        _ => {
            let token = TOKENS[rng.below(TOKENS.len())];
            out.splice(at..at, token.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_change_the_input() {
        let input = br#"{"a":[1,2,3]}"#;
        let a: Vec<Vec<u8>> = (0..50)
            .map(|s| mutate(input, &mut Mutator::new(s)))
            .collect();
        let b: Vec<Vec<u8>> = (0..50)
            .map(|s| mutate(input, &mut Mutator::new(s)))
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().filter(|m| m.as_slice() != input).count() > 40);
        let from_empty = (0..20).map(|s| mutate(b"", &mut Mutator::new(s)));
        assert!(from_empty.filter(|m| !m.is_empty()).count() > 5);
    }
}
