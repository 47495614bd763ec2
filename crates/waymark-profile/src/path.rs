//! FHIRPath-style locations (`Bundle.entry[3].resource.identifier[0].value`).
//!
//! Locations name elements, never values. Property names come from the input, so a name that
//! is not a plain identifier (which could be data smuggled into a key) is printed as `*`.

use std::fmt::Write as _;

/// One step from a parent to a child.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Seg<'a> {
    /// An object property.
    Key(&'a str),
    /// An array index.
    Index(usize),
}

/// A path being walked, rendered only when an issue needs it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Path<'a>(Vec<Seg<'a>>);

impl<'a> Path<'a> {
    /// The path of `Bundle.entry[index].resource`.
    pub(crate) fn entry_resource(index: usize) -> Self {
        Self(vec![
            Seg::Key("entry"),
            Seg::Index(index),
            Seg::Key("resource"),
        ])
    }

    pub(crate) fn push(&mut self, seg: Seg<'a>) {
        self.0.push(seg);
    }

    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    /// A copy with one more step.
    pub(crate) fn with(&self, seg: Seg<'a>) -> Self {
        let mut path = self.clone();
        path.push(seg);
        path
    }

    /// The last step, when it is an object property.
    pub(crate) fn last_key(&self) -> Option<&'a str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// `Bundle.` followed by the steps.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("Bundle");
        for seg in &self.0 {
            push_seg(&mut out, *seg);
        }
        out
    }
}

/// Appends one step to a rendered location.
pub(crate) fn push_seg(out: &mut String, seg: Seg<'_>) {
    match seg {
        Seg::Key(key) if is_plain_name(key) => {
            out.push('.');
            out.push_str(key);
        }
        Seg::Key(_) => out.push_str(".*"),
        Seg::Index(i) => {
            let _ = write!(out, "[{i}]");
        }
    }
}

/// True for names that look like FHIR element names (safe to print).
pub(crate) fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fhirpath() {
        let mut p = Path::entry_resource(3);
        p.push(Seg::Key("identifier"));
        p.push(Seg::Index(0));
        p.push(Seg::Key("value"));
        assert_eq!(p.render(), "Bundle.entry[3].resource.identifier[0].value");
    }

    #[test]
    fn odd_names_are_not_printed() {
        let p = Path::default().with(Seg::Key("Jane Smith 1970"));
        assert_eq!(p.render(), "Bundle.*");
        assert!(is_plain_name("_birthDate"));
        assert!(!is_plain_name(""));
    }
}
