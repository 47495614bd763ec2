//! `Sensitive<T>`: a value that must never reach a log, a metric or an error message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Wraps patient data (identifiers, names, clinical text, raw payloads).
///
/// `Debug` and `Display` print `[redacted]`; the value is reachable only through
/// [`Sensitive::expose`], so every place that reads it is visible in review. Serde is
/// transparent: the wrapper changes what is *printed*, not what is *stored*.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the value. Never pass the result to `tracing`, `format!` for an error, or a metric.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value, for handing it on to code that keeps it protected.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printing_never_shows_the_value() {
        let nhs = Sensitive::new("9434765919".to_owned());
        assert_eq!(
            format!("{nhs} {nhs:?} {nhs:#?}"),
            "[redacted] [redacted] [redacted]"
        );
        assert_eq!(nhs.expose(), "9434765919");
    }

    #[test]
    fn serde_is_transparent() {
        let v = Sensitive::new(vec![1u8, 2]);
        assert_eq!(serde_json::to_string(&v).unwrap(), "[1,2]");
    }
}
