//! The exit codes every command uses, and the `--json` form of a command's result.
//!
//! With `--json` a command prints one JSON object on stdout, whatever the outcome, and exits
//! with the same code as without it: `{"ok": true, ...}` on success; on failure
//! `{"ok": false, "exit": 1|2, "error": {"code": "...", "message": "..."}}` plus what the
//! command adds (a tampered sequence, the configuration problems). The message is the one
//! printed on stderr without `--json`: never patient data, never a store URL.

use serde_json::{Value, json};

/// The command succeeded.
pub(crate) const OK: u8 = 0;
/// The input was refused (invalid bundle, failed mapping or fixture, demo incomplete).
pub(crate) const REFUSED: u8 = 1;
/// The input could not be read, or the arguments are wrong.
pub(crate) const UNREADABLE: u8 = 2;

/// Prints `value` as JSON on stdout and returns `code` (or [`UNREADABLE`] when it cannot be
/// printed, which a JSON value always can be).
pub(crate) fn emit(value: &Value, code: u8) -> u8 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            code
        }
        Err(_) => UNREADABLE,
    }
}

/// `{"ok": true}` merged with the fields of `fields` (an object; anything else is kept under
/// `"result"`).
pub(crate) fn success(fields: Value) -> Value {
    let mut out = json!({"ok": true});
    match fields {
        Value::Object(map) => {
            if let Value::Object(o) = &mut out {
                o.extend(map);
            }
        }
        other => out["result"] = other,
    }
    out
}

/// The failure object: `{"ok": false, "exit": code, "error": {"code", "message"}}`.
pub(crate) fn failure(exit: u8, code: &str, message: &str) -> Value {
    json!({"ok": false, "exit": exit, "error": {"code": code, "message": message}})
}

/// Prints a failure (JSON on stdout with `json`, else the message on stderr prefixed by the
/// command) and returns `exit`.
pub(crate) fn fail(json: bool, command: &str, exit: u8, code: &str, message: &str) -> u8 {
    if json {
        emit(&failure(exit, code, message), exit)
    } else {
        eprintln!("waymark {command}: {message}");
        exit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_merges_fields_and_failure_names_the_exit() {
        let ok = success(json!({"entries": 3}));
        assert_eq!(ok, json!({"ok": true, "entries": 3}));
        assert_eq!(success(json!("t"))["result"], "t");
        let bad = failure(REFUSED, "audit.tampered", "sequence 4 modified");
        assert_eq!(bad["ok"], false);
        assert_eq!(bad["exit"], 1);
        assert_eq!(bad["error"]["code"], "audit.tampered");
    }
}
