//! Flaws added to a script on purpose, to prove that nothing is dropped, nothing panics and
//! every case gets the answer the crate docs promise.

use crate::script::{Expect, Script, Scripted, Transport};

/// Size of the padding note of the oversized message (over the default 1 MiB frame limit).
pub const OVERSIZED_BYTES: usize = 1_500_000;

/// Labels of the faults [`Script::with_faults`] adds, with what each should become.
pub const FAULTS: [(&str, Expect); 14] = [
    ("wrong-version-2.1", Expect::Unsupported),
    ("wrong-version-3.0", Expect::Unsupported),
    ("unsupported-type", Expect::Unsupported),
    ("missing-msh9", Expect::Quarantine),
    ("missing-msh10", Expect::Quarantine),
    ("not-hl7", Expect::Quarantine),
    ("oversized", Expect::Refuse),
    ("truncated", Expect::Accept),
    ("slow", Expect::Accept),
    ("dropped-before-ack", Expect::Accept),
    ("garbage-before", Expect::Accept),
    ("duplicate", Expect::Accept),
    ("out-of-order-first", Expect::Accept),
    ("out-of-order-second", Expect::Accept),
];

/// Replaces MSH field `n` (1-based, `n` ≥ 3) of a message.
fn set_msh(bytes: &[u8], n: usize, value: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let (msh, rest) = text.split_once('\r').unwrap_or((&text, ""));
    let mut fields: Vec<String> = msh.split('|').map(str::to_owned).collect();
    if fields.len() < n {
        fields.resize(n, String::new());
    }
    fields[n - 1] = value.to_owned();
    format!("{}\r{rest}", fields.join("|")).into_bytes()
}

fn variant(base: &Scripted, label: &str, expect: Expect, edits: &[(usize, &str)]) -> Scripted {
    let mut bytes = base.bytes.clone();
    for (n, value) in edits {
        bytes = set_msh(&bytes, *n, value);
    }
    let key = base.key.as_ref().and_then(|(facility, control)| {
        let control = edits
            .iter()
            .find(|(n, _)| *n == 10)
            .map_or(control.as_str(), |(_, v)| v);
        (!control.is_empty()).then(|| (facility.clone(), control.to_owned()))
    });
    Scripted {
        label: label.to_owned(),
        bytes,
        key,
        expect,
        transport: Transport::Clean,
    }
}

impl Script {
    /// Adds every fault of [`FAULTS`] (once; a second call adds nothing), spread through the
    /// script. Needs at least six messages; a smaller script is returned unchanged.
    pub fn with_faults(mut self) -> Self {
        let len = self.items.len();
        if self.faults_added || len < 6 {
            return self;
        }
        self.faults_added = true;
        let base = self.items[0].clone();
        let control = |suffix: &str| {
            let c = base.key.as_ref().map(|k| k.1.clone()).unwrap_or_default();
            format!("{c}{suffix}")
        };
        let (c21, c30, csiu, cnine) = (
            control("V21"),
            control("V30"),
            control("SIU"),
            control("N9"),
        );
        let mut oversized = variant(&base, "oversized", Expect::Refuse, &[(10, &control("BIG"))]);
        oversized.bytes.extend_from_slice(b"NTE|1|L|");
        oversized
            .bytes
            .extend(std::iter::repeat_n(b'x', OVERSIZED_BYTES));
        oversized.bytes.push(b'\r');
        let inserted = [
            variant(
                &base,
                "wrong-version-2.1",
                Expect::Unsupported,
                &[(10, &c21), (12, "2.1")],
            ),
            variant(
                &base,
                "wrong-version-3.0",
                Expect::Unsupported,
                &[(10, &c30), (12, "3.0")],
            ),
            variant(
                &base,
                "unsupported-type",
                Expect::Unsupported,
                &[(9, "SIU^S12^SIU_S12"), (10, &csiu)],
            ),
            variant(
                &base,
                "missing-msh9",
                Expect::Quarantine,
                &[(9, ""), (10, &cnine)],
            ),
            variant(&base, "missing-msh10", Expect::Quarantine, &[(10, "")]),
            Scripted {
                label: "not-hl7".into(),
                bytes: b"HELLO FROM THE INTERFACE ENGINE".to_vec(),
                key: None,
                expect: Expect::Quarantine,
                transport: Transport::Clean,
            },
            oversized,
        ];
        self.mark(len / 6, "truncated", Transport::Truncate);
        self.mark(len / 3, "slow", Transport::Slow);
        self.mark(len / 2, "dropped-before-ack", Transport::DropBeforeAck);
        self.mark(2 * len / 3, "garbage-before", Transport::GarbageBefore);
        self.swap_out_of_order(5 * len / 6);
        let mut duplicate = self.items[len / 4].clone();
        duplicate.label = "duplicate".into();
        duplicate.transport = Transport::Clean;
        self.items.insert(len / 4 + 2, duplicate);
        for (k, item) in inserted.into_iter().enumerate() {
            let at = (k + 1) * self.items.len() / 9;
            self.items.insert(at, item);
        }
        self
    }

    fn mark(&mut self, at: usize, label: &str, transport: Transport) {
        if let Some(item) = self.items.get_mut(at) {
            item.label = label.to_owned();
            item.transport = transport;
        }
    }

    /// Swaps a message with the one after it (a later event arrives first).
    fn swap_out_of_order(&mut self, at: usize) {
        let at = at.min(self.items.len().saturating_sub(2));
        self.items.swap(at, at + 1);
        self.items[at].label = "out-of-order-first".into();
        self.items[at + 1].label = "out-of-order-second".into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msh::{Flaw, Verdict, read_header};

    #[test]
    fn adds_every_fault_once() {
        let clean = Script::synthetic(3, 20);
        let faulty = clean.clone().with_faults();
        assert_eq!(faulty.items().len(), clean.items().len() + 8);
        assert_eq!(faulty.clone().with_faults(), faulty);
        for (label, expect) in FAULTS {
            let found: Vec<_> = faulty.items().iter().filter(|i| i.label == label).collect();
            assert_eq!(found.len(), 1, "{label}");
            assert_eq!(found[0].expect, expect, "{label}");
        }
        let verdict = |label: &str| {
            let item = faulty.items().iter().find(|i| i.label == label).unwrap();
            read_header(&item.bytes).map(|h| h.verdict())
        };
        assert_eq!(
            verdict("wrong-version-3.0"),
            Ok(Verdict::Unsupported(Flaw::UnsupportedVersion))
        );
        assert_eq!(
            verdict("missing-msh9"),
            Ok(Verdict::Flawed(Flaw::MissingType))
        );
        assert_eq!(
            verdict("missing-msh10"),
            Ok(Verdict::Flawed(Flaw::MissingControlId))
        );
        assert!(verdict("not-hl7").is_err());
        assert_eq!(verdict("slow"), Ok(Verdict::Accept));
    }
}
