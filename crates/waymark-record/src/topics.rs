//! Topic definitions as data (`profiles/hjmd/topics.json`, written by the package generator).

use std::collections::BTreeSet;

use serde::Deserialize;
use waymark_core::{DataClass, ErrorCode, IssueType};

use crate::change::ChangeKind;
use crate::path::Path;

const BUILTIN: &str = include_str!("../../../profiles/hjmd/topics.json");

/// A topics file that does not load. Messages name topics and fields, never record content
/// (the file holds none).
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// Not JSON of the topics shape (unknown fields included).
    #[error("topics file is not valid JSON of the topics shape: {0}")]
    Malformed(String),
    /// A version this build does not read.
    #[error("topics file version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// The same topic code twice.
    #[error("topics file lists topic `{0}` twice")]
    Duplicate(String),
    /// A data class that is not a Waymark data class.
    #[error("topic `{topic}` names unknown data class `{class}`")]
    UnknownDataClass {
        /// The topic.
        topic: String,
        /// The unknown name.
        class: String,
    },
    /// A path that does not parse, or a condition without exactly one of `in` / `contains`.
    #[error("topic `{topic}` has a malformed path or condition `{path}`")]
    BadPath {
        /// The topic.
        topic: String,
        /// The path.
        path: String,
    },
    /// A trigger that can never fire (no change kinds, or only `refreshed`).
    #[error("topic `{0}` has a trigger with no change kind (added, changed, ended)")]
    EmptyChange(String),
    /// A topic with no trigger that does not say what raises it instead.
    #[error("topic `{0}` has no triggers and no `raisedElsewhere`")]
    NoTrigger(String),
}

impl ErrorCode for TopicError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::UnsupportedVersion(_) => "record.topics.malformed",
            Self::Duplicate(_) => "record.topics.duplicate",
            Self::UnknownDataClass { .. } => "record.topics.unknown-data-class",
            Self::BadPath { .. } => "record.topics.bad-path",
            Self::EmptyChange(_) | Self::NoTrigger(_) => "record.topics.no-trigger",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Invalid
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default, rename = "how-to-read")]
    how_to_read: Vec<String>,
    topics: Vec<RawTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTopic {
    code: String,
    url: String,
    title: String,
    description: String,
    #[serde(default)]
    subscribers: Vec<String>,
    #[serde(default)]
    raised_elsewhere: Option<String>,
    #[serde(default)]
    triggers: Vec<RawTrigger>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTrigger {
    change: Vec<ChangeKind>,
    #[serde(default)]
    item: Vec<String>,
    #[serde(default)]
    resource_type: Vec<String>,
    #[serde(default)]
    data_class: Vec<String>,
    #[serde(default)]
    source_event: Vec<String>,
    #[serde(default, rename = "where")]
    conditions: Vec<RawCondition>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    from: Vec<String>,
    #[serde(default)]
    to: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    path: String,
    #[serde(default, rename = "in")]
    any_of: Option<Vec<String>>,
    #[serde(default)]
    contains: Option<String>,
}

/// The topics the record raises events for.
#[derive(Clone, Debug)]
pub struct Topics {
    topics: Vec<Topic>,
}

/// One topic: a code (`prison.reception`), its canonical URL and what fires it.
#[derive(Clone, Debug)]
pub struct Topic {
    /// Topic code, e.g. `prison.reception`.
    pub code: String,
    /// Canonical URL (R4 Subscriptions Backport), e.g.
    /// `https://fhir.waymark.org.uk/SubscriptionTopic/prison-reception`.
    pub url: String,
    /// Short title.
    pub title: String,
    /// When it is raised.
    pub description: String,
    /// Typical subscribers (documentation).
    pub subscribers: Vec<String>,
    /// What raises it when it has no triggers (e.g. the consent path for `consent.changed`).
    pub raised_elsewhere: Option<String>,
    /// Any one matching fires the topic.
    pub triggers: Vec<Trigger>,
}

/// A trigger rule: every given condition must hold for one changed item.
#[derive(Clone, Debug)]
pub struct Trigger {
    /// The change kinds that fire.
    pub change: BTreeSet<ChangeKind>,
    /// Item key names (item code or kind); empty: any.
    pub item: Vec<String>,
    /// Resource types of the new value; empty: any.
    pub resource_type: Vec<String>,
    /// Data classes of the new value; empty: any.
    pub data_class: Vec<DataClass>,
    /// The bundle's source-event tag must be one of these; empty: any.
    pub source_event: Vec<String>,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) field: Option<Path>,
    /// With `field`: a value before must be one of these; empty: any.
    pub from: Vec<String>,
    /// With `field`: a value after must be one of these; empty: any.
    pub to: Vec<String>,
}

/// A condition on the new value.
#[derive(Clone, Debug)]
pub(crate) enum Condition {
    /// A value at the path is one of these.
    In(Path, Vec<String>),
    /// A text at the path contains this (lower-cased).
    Contains(Path, String),
}

impl Topics {
    /// The topics of `profiles/hjmd/topics.json`, embedded at build time.
    pub fn builtin() -> Result<Self, TopicError> {
        Self::from_json(BUILTIN)
    }

    /// Loads a topics file.
    pub fn from_json(text: &str) -> Result<Self, TopicError> {
        let raw: RawFile =
            serde_json::from_str(text).map_err(|e| TopicError::Malformed(e.to_string()))?;
        let _ = (raw.name, raw.source, raw.how_to_read);
        if raw.version != 1 {
            return Err(TopicError::UnsupportedVersion(raw.version));
        }
        let mut seen = BTreeSet::new();
        let mut topics = Vec::new();
        for topic in raw.topics {
            if !seen.insert(topic.code.clone()) {
                return Err(TopicError::Duplicate(topic.code));
            }
            topics.push(build_topic(topic)?);
        }
        Ok(Self { topics })
    }

    /// Every topic, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Topic> {
        self.topics.iter()
    }

    /// The topic with `code`.
    pub fn get(&self, code: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.code == code)
    }
}

fn build_topic(raw: RawTopic) -> Result<Topic, TopicError> {
    if raw.triggers.is_empty() && raw.raised_elsewhere.is_none() {
        return Err(TopicError::NoTrigger(raw.code));
    }
    let triggers = raw
        .triggers
        .into_iter()
        .map(|t| build_trigger(&raw.code, t))
        .collect::<Result<_, _>>()?;
    Ok(Topic {
        code: raw.code,
        url: raw.url,
        title: raw.title,
        description: raw.description,
        subscribers: raw.subscribers,
        raised_elsewhere: raw.raised_elsewhere,
        triggers,
    })
}

fn build_trigger(topic: &str, raw: RawTrigger) -> Result<Trigger, TopicError> {
    let change: BTreeSet<ChangeKind> = raw.change.into_iter().collect();
    if change.is_empty() || change.contains(&ChangeKind::Refreshed) {
        return Err(TopicError::EmptyChange(topic.to_owned()));
    }
    let data_class = raw
        .data_class
        .into_iter()
        .map(|class| {
            class.parse().map_err(|_| TopicError::UnknownDataClass {
                topic: topic.to_owned(),
                class,
            })
        })
        .collect::<Result<_, _>>()?;
    let path = |text: &str| {
        Path::parse(text).ok_or_else(|| TopicError::BadPath {
            topic: topic.to_owned(),
            path: text.to_owned(),
        })
    };
    let mut conditions = Vec::new();
    for c in raw.conditions {
        conditions.push(match (c.any_of, c.contains) {
            (Some(values), None) => Condition::In(path(&c.path)?, values),
            (None, Some(text)) => Condition::Contains(path(&c.path)?, text.to_lowercase()),
            _ => {
                return Err(TopicError::BadPath {
                    topic: topic.to_owned(),
                    path: c.path,
                });
            }
        });
    }
    Ok(Trigger {
        change,
        item: raw.item,
        resource_type: raw.resource_type,
        data_class,
        source_event: raw.source_event,
        conditions,
        field: raw.field.as_deref().map(path).transpose()?,
        from: raw.from,
        to: raw.to,
    })
}
