//! Opening a store by URL: `sqlite://<path>` (or a plain path) for the embedded store,
//! `postgres://` / `postgresql://` for PostgreSQL (with the `postgres` feature).

use std::{path::PathBuf, sync::Arc};

use crate::{SqliteStore, Store, StoreError};

/// Which store a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// The PostgreSQL connection URL (it may hold a password: never print it).
    Postgres(String),
}

impl StoreUrl {
    /// Reads a store URL. `sqlite:///abs/path`, `sqlite://rel/path`, `sqlite:path` and a plain
    /// path are SQLite; `postgres://` and `postgresql://` are PostgreSQL; any other scheme is
    /// refused.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Refused("the store URL names no file"));
        }
        if path.contains("://") {
            return Err(StoreError::Refused(
                "unknown store URL scheme (sqlite://, postgres:// or a file path)",
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// Opens the store a URL names, applying its migrations: SQLite for `sqlite://<path>` or a
/// plain path (the file is created if missing), PostgreSQL for `postgres://` or
/// `postgresql://` (refused when this build lacks the `postgres` feature).
///
/// ```no_run
/// # async fn run() -> Result<(), waymark_store::StoreError> {
/// let store = waymark_store::open("sqlite://./hub-data/store.db").await?;
/// let counts = store.counts().await?;
/// # let _ = counts; Ok(()) }
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    match StoreUrl::parse(url)? {
        StoreUrl::Sqlite(path) => Ok(Arc::new(SqliteStore::open(&path).await?)),
        StoreUrl::Postgres(url) => open_postgres(&url).await,
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(crate::PgStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Err(NO_POSTGRES)
}

/// The error of a `postgres://` URL in a build without the `postgres` feature.
#[cfg(not(feature = "postgres"))]
pub(crate) const NO_POSTGRES: StoreError = StoreError::Refused(
    "this build has no PostgreSQL store: build waymark-store with the `postgres` feature",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_store() {
        let sqlite = |p: &str| StoreUrl::Sqlite(PathBuf::from(p));
        assert_eq!(
            StoreUrl::parse("sqlite:///var/w/store.db").ok(),
            Some(sqlite("/var/w/store.db"))
        );
        assert_eq!(
            StoreUrl::parse("sqlite://store.db").ok(),
            Some(sqlite("store.db"))
        );
        assert_eq!(
            StoreUrl::parse("sqlite:store.db").ok(),
            Some(sqlite("store.db"))
        );
        assert_eq!(
            StoreUrl::parse("./hub/store.db").ok(),
            Some(sqlite("./hub/store.db"))
        );
        assert!(matches!(
            StoreUrl::parse("postgresql://u@localhost/w"),
            Ok(StoreUrl::Postgres(_))
        ));
        assert!(matches!(
            StoreUrl::parse("postgres://u@h/w"),
            Ok(StoreUrl::Postgres(_))
        ));
        assert!(StoreUrl::parse("mysql://u@h/w").is_err());
        assert!(StoreUrl::parse("sqlite://").is_err());
    }
}
