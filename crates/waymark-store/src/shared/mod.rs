//! What the SQLite and PostgreSQL stores share: everything that does not depend on the SQL
//! dialect. `codec` turns stored text into model values and back; `identity` derives ids,
//! assembles identity events and pathway events from already-decoded values and checks requests.
//!
//! Pure functions only: no connection, no query, no clock (times are parameters).

pub(crate) mod codec;
pub(crate) mod identity;
