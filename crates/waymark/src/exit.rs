//! The exit codes every command uses.

/// The command succeeded.
pub(crate) const OK: u8 = 0;
/// The input was refused (invalid bundle, failed mapping or fixture, demo incomplete).
pub(crate) const REFUSED: u8 = 1;
/// The input could not be read, or the arguments are wrong.
pub(crate) const UNREADABLE: u8 = 2;
