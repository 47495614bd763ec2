//! Credential revocation that takes effect at once: a registry, shared by every request
//! (`Arc<Revocations>`), checked after a token verifies. [`Revocations::revoke`] changes the
//! in-memory set before it persists, so the very next request is refused even if the
//! persistence hook fails (the error is still returned). The hook ([`RevocationSource`]) is
//! what the store will implement; [`FileRevocations`] (JSON lines, append-only) and
//! [`MemoryRevocations`] serve until then.

use std::{
    collections::{BTreeSet, HashSet},
    path::PathBuf,
    sync::{Mutex, PoisonError, RwLock},
};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use waymark_core::{ErrorCode, IssueType};

/// What is revoked. Subjects, clients and key ids match whatever the issuer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "kebab-case")]
pub enum Revocation {
    /// One token, by its `jti`.
    TokenId(String),
    /// Every token of a subject (`sub`): a leaver, a compromised account.
    Subject(String),
    /// Every token of a client (`client_id` / `azp`).
    Client(String),
    /// Every token signed with a key (`kid`): a compromised signing key.
    Key(String),
}

/// The persistence hook failed (the message never holds revoked ids).
#[derive(Debug, thiserror::Error)]
#[error("revocations could not be {0}")]
pub struct RevocationError(pub &'static str);

impl ErrorCode for RevocationError {
    fn code(&self) -> &'static str {
        "auth.revocation.persist"
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Transient
    }
}

/// Where revocations are kept across restarts. Both writes must be idempotent.
#[async_trait]
pub trait RevocationSource: Send + Sync {
    /// Every revocation in force.
    async fn load(&self) -> Result<Vec<Revocation>, RevocationError>;
    /// Records a revocation.
    async fn revoked(&self, revocation: &Revocation) -> Result<(), RevocationError>;
    /// Records that a revocation was lifted.
    async fn reinstated(&self, revocation: &Revocation) -> Result<(), RevocationError>;
}

/// The registry every request checks.
#[derive(Default)]
pub struct Revocations {
    set: RwLock<HashSet<Revocation>>,
    source: Option<Box<dyn RevocationSource>>,
}

impl Revocations {
    /// An empty registry kept in memory only.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry loaded from, and persisting to, `source`.
    pub async fn with_source(source: Box<dyn RevocationSource>) -> Result<Self, RevocationError> {
        let loaded = source.load().await?;
        Ok(Self {
            set: RwLock::new(loaded.into_iter().collect()),
            source: Some(source),
        })
    }

    /// Revokes at once (the next request is refused), then persists.
    pub async fn revoke(&self, revocation: Revocation) -> Result<(), RevocationError> {
        self.set
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(revocation.clone());
        match &self.source {
            Some(source) => source.revoked(&revocation).await,
            None => Ok(()),
        }
    }

    /// Lifts a revocation once it is persisted (a failure leaves it in force).
    pub async fn reinstate(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        if let Some(source) = &self.source {
            source.reinstated(revocation).await?;
        }
        self.set
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(revocation);
        Ok(())
    }

    /// Whether any of `candidates` is revoked.
    pub fn any_revoked(&self, candidates: &[Revocation]) -> bool {
        let set = self.set.read().unwrap_or_else(PoisonError::into_inner);
        candidates.iter().any(|c| set.contains(c))
    }

    /// Every revocation in force, sorted.
    pub fn list(&self) -> Vec<Revocation> {
        let set = self.set.read().unwrap_or_else(PoisonError::into_inner);
        let sorted: BTreeSet<&Revocation> = set.iter().collect();
        sorted.into_iter().cloned().collect()
    }
}

/// Revocations kept in memory (tests, and a hub without persistence).
#[derive(Debug, Default)]
pub struct MemoryRevocations(Mutex<BTreeSet<Revocation>>);

#[async_trait]
impl RevocationSource for MemoryRevocations {
    async fn load(&self) -> Result<Vec<Revocation>, RevocationError> {
        let set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(set.iter().cloned().collect())
    }

    async fn revoked(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        let mut set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        set.insert(revocation.clone());
        Ok(())
    }

    async fn reinstated(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        let mut set = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        set.remove(revocation);
        Ok(())
    }
}

/// Revocations in an append-only JSON-lines file
/// (`{"op":"revoke","revocation":{"by":"subject","id":...}}`),
/// replayed in order on load; each write is synced before it returns.
#[derive(Debug)]
pub struct FileRevocations {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Line {
    op: Op,
    revocation: Revocation,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Revoke,
    Reinstate,
}

impl FileRevocations {
    /// Revocations kept in `path` (created on the first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    async fn append(&self, op: Op, revocation: &Revocation) -> Result<(), RevocationError> {
        let line = Line {
            op,
            revocation: revocation.clone(),
        };
        let mut text = serde_json::to_string(&line).map_err(|_| RevocationError("encoded"))?;
        text.push('\n');
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|_| RevocationError("opened for writing"))?;
        file.write_all(text.as_bytes())
            .await
            .map_err(|_| RevocationError("written"))?;
        file.sync_data()
            .await
            .map_err(|_| RevocationError("synced"))
    }
}

#[async_trait]
impl RevocationSource for FileRevocations {
    async fn load(&self) -> Result<Vec<Revocation>, RevocationError> {
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(_) => return Err(RevocationError("read")),
        };
        let mut set = BTreeSet::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let line: Line = serde_json::from_str(line).map_err(|_| RevocationError("parsed"))?;
            match line.op {
                Op::Revoke => set.insert(line.revocation),
                Op::Reinstate => set.remove(&line.revocation),
            };
        }
        Ok(set.into_iter().collect())
    }

    async fn revoked(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        self.append(Op::Revoke, revocation).await
    }

    async fn reinstated(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        self.append(Op::Reinstate, revocation).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_revocations_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("revocations.jsonl");
        let first = Revocations::with_source(Box::new(FileRevocations::new(&path)))
            .await
            .unwrap();
        first
            .revoke(Revocation::Subject("u1".into()))
            .await
            .unwrap();
        first
            .revoke(Revocation::TokenId("t1".into()))
            .await
            .unwrap();
        first
            .reinstate(&Revocation::TokenId("t1".into()))
            .await
            .unwrap();
        assert!(first.any_revoked(&[Revocation::Subject("u1".into())]));

        let again = Revocations::with_source(Box::new(FileRevocations::new(&path)))
            .await
            .unwrap();
        assert_eq!(again.list(), vec![Revocation::Subject("u1".into())]);
        assert!(!again.any_revoked(&[Revocation::TokenId("t1".into())]));
    }

    #[tokio::test]
    async fn memory_revocations_round_trip() {
        let registry = Revocations::with_source(Box::new(MemoryRevocations::default()))
            .await
            .unwrap();
        registry.revoke(Revocation::Key("k1".into())).await.unwrap();
        assert!(
            registry.any_revoked(&[Revocation::Client("c".into()), Revocation::Key("k1".into())])
        );
        registry
            .reinstate(&Revocation::Key("k1".into()))
            .await
            .unwrap();
        assert!(registry.list().is_empty());
    }
}
