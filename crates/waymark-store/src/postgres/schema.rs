//! The PostgreSQL schema: the embedded migrations (`migrations_pg/`), and the check a hub
//! running without the owner's rights makes before it starts.

use sqlx::PgPool;

use super::support::db;
use crate::StoreError;

/// The PostgreSQL migrations, embedded.
pub(super) fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations_pg")
}

/// Refuses a database whose schema lacks one of this build's migrations.
pub(super) async fn check_migrated(pool: &PgPool) -> Result<(), StoreError> {
    let not_up_to_date = || {
        StoreError::Backend(
            "the PostgreSQL schema is not up to date: run the migrations as the owner role"
                .to_owned(),
        )
    };
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if !has_table {
        return Err(not_up_to_date());
    }
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(db)?;
    if migrator().iter().any(|m| !applied.contains(&m.version)) {
        return Err(not_up_to_date());
    }
    Ok(())
}
