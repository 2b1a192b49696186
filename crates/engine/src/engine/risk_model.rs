//! Credit scorecards in the engine (`SetModel`): loaded like a rule set
//! (journaled text, checked on apply, versioned, live or shadow), scored on
//! the risk features at every decision that passes the credit rules. The
//! live model's score is the feature `model.score` the rules read (with
//! `model.live` true); every
//! model in force records its score and its three largest adverse
//! contributions in the order's decision record.

use super::Engine;
use crate::error::CommandError;
use crate::risk::book::{self, ModelEntry, ModelScore};
use crate::risk::drift::{ClosedDay, DayCounts, DriftTrack, psi_micro};
use crate::risk::features::{F, FEATURES, FeatureValue, Features};
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_core::{At, JstDate};
use atobarai_model::{Model, Value};
use std::sync::Arc;

/// Longest model file, bytes.
pub const MODEL_SOURCE_MAX: usize = 4 * 1024 * 1024;
/// Most models kept.
pub const MODELS_MAX: usize = 1_000;

/// A checked scorecard bound to the engine's features.
pub(crate) struct LoadedModel {
    pub(crate) model: Model,
    /// Per attribute: its feature's position in [`FEATURES`].
    features: Vec<usize>,
    /// Training rows per score bucket (drift's baseline).
    expected: Vec<u64>,
}

/// Loaded scorecards (derived from the risk book; rebuilt on restore).
#[derive(Default)]
pub(crate) struct ModelRuntime {
    /// By book version − 1.
    pub(crate) loaded: Vec<Arc<LoadedModel>>,
    /// Positions in `loaded` of the models in force.
    pub(crate) live: Option<usize>,
    pub(crate) shadow: Option<usize>,
    /// By book version − 1: each model's running drift.
    pub(crate) drift: Vec<DriftTrack>,
}

/// Check a model file and bind its attributes to risk features.
pub fn load_model(source: &str) -> Result<LoadedModelInfo, String> {
    bind(source).map(|m| LoadedModelInfo {
        attributes: m.model.attribute_names().map(str::to_owned).collect(),
    })
}

/// What [`load_model`] reports of a model that loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedModelInfo {
    /// Its attributes (risk feature names).
    pub attributes: Vec<String>,
}

fn bind(source: &str) -> Result<LoadedModel, String> {
    let model = Model::from_file_text(source).map_err(|e| e.to_string())?;
    let mut features = Vec::new();
    for name in model.attribute_names() {
        if name.starts_with("model.") {
            return Err(format!(
                "a model cannot read {name:?} (another model's output)"
            ));
        }
        let pos = FEATURES
            .iter()
            .position(|d| d.name == name)
            .ok_or_else(|| format!("attribute {name:?} is not a risk feature"))?;
        features.push(pos);
    }
    let expected = training_counts(&model);
    Ok(LoadedModel {
        model,
        features,
        expected,
    })
}

fn value(v: FeatureValue) -> Value<'static> {
    match v {
        // Exact for every integer a feature holds in practice (|v| < 2^53);
        // deterministic for all of them.
        #[allow(clippy::cast_precision_loss)]
        FeatureValue::Int(i) => Value::Number(i as f64),
        FeatureValue::Bool(b) => Value::Text(if b { "true" } else { "false" }),
        FeatureValue::Str(s) => Value::Text(s),
    }
}

impl LoadedModel {
    fn score(&self, version: u32, shadow: bool, f: &Features) -> ModelScore {
        let (score, lost) = self.model.score_explained(|a| {
            self.features
                .get(a)
                .and_then(|&p| f.by_index(p))
                .map_or(Value::Missing, value)
        });
        let mut adverse = Vec::with_capacity(lost.as_slice().len());
        for l in lost.iter() {
            if let (Ok(a), Ok(k)) = (u16::try_from(l.attribute), u16::try_from(l.bin)) {
                adverse.push((a, k, l.points_lost));
            }
        }
        ModelScore {
            model: version,
            shadow,
            score,
            adverse,
        }
    }
}

impl Engine {
    pub(crate) fn set_model(
        &mut self,
        at: At,
        source: &str,
        shadow: bool,
        author: &str,
    ) -> Result<Outcome, CommandError> {
        if source.len() > MODEL_SOURCE_MAX {
            return Err(CommandError::invalid(
                "model_too_large",
                "model",
                format!("a model file is at most {MODEL_SOURCE_MAX} bytes"),
            ));
        }
        book::check_author(author)?;
        if self.state.risk.models.len() >= MODELS_MAX {
            return Err(CommandError::conflict(
                "models_full",
                format!("at most {MODELS_MAX} models are kept"),
            ));
        }
        let loaded =
            bind(source).map_err(|e| CommandError::invalid("model_invalid", "model", e))?;
        let version = crate::checked::id32(self.state.risk.models.len()).saturating_add(1);
        let attributes = loaded.features.len();
        self.state.risk.models.push(ModelEntry {
            version,
            shadow,
            at,
            author: author.to_owned(),
            digest: <sha2::Sha256 as sha2::Digest>::digest(source.as_bytes()).into(),
            source: source.to_owned(),
        });
        let i = self.models.loaded.len();
        self.models.loaded.push(Arc::new(loaded));
        self.models.drift.push(DriftTrack::default());
        if shadow {
            self.models.shadow = Some(i);
        } else {
            self.models.live = Some(i);
        }
        Ok(Outcome::ModelLoaded {
            version,
            shadow,
            attributes: u32::try_from(attributes).unwrap_or(u32::MAX),
        })
    }

    /// Load every journaled model again (after a restore).
    pub(crate) fn rebuild_model_runtime(&mut self) -> Result<(), CommandError> {
        let mut runtime = ModelRuntime::default();
        for (i, entry) in self.state.risk.models.iter().enumerate() {
            let loaded = bind(&entry.source).map_err(|e| {
                CommandError::invalid(
                    "model_invalid",
                    "model",
                    format!("journaled model {} no longer loads: {e}", entry.version),
                )
            })?;
            runtime.loaded.push(Arc::new(loaded));
            if entry.shadow {
                runtime.shadow = Some(i);
            } else {
                runtime.live = Some(i);
            }
        }
        self.models = runtime;
        self.rebuild_drift();
        Ok(())
    }

    /// Score an order's risk features with the models in force, as every
    /// authorization past the credit rules does: the live model's score
    /// becomes `model.score` with `model.live` true (0 and false without
    /// one); every score is returned, as the decision record keeps it.
    pub fn score_models(&self, features: &mut Features) -> Vec<ModelScore> {
        let mut out = Vec::new();
        features.set_int(F::ModelScore, 0);
        features.set_bool(F::ModelLive, false);
        for (slot, shadow) in [(self.models.live, false), (self.models.shadow, true)] {
            let Some(i) = slot else { continue };
            let Some(m) = self.models.loaded.get(i) else {
                continue;
            };
            let version = crate::checked::id32(i).saturating_add(1);
            let s = m.score(version, shadow, features);
            if !shadow {
                features.set_int(F::ModelScore, s.score);
                features.set_bool(F::ModelLive, true);
            }
            out.push(s);
        }
        out
    }

    /// The model views of an order's decision record.
    pub(crate) fn model_views(&self, scores: &[ModelScore]) -> Vec<crate::view::ModelScoreView> {
        scores
            .iter()
            .filter_map(|s| {
                let m = self
                    .models
                    .loaded
                    .get(usize::try_from(s.model).ok()?.checked_sub(1)?)?;
                let card = m.model.card();
                let reasons = s
                    .adverse
                    .iter()
                    .filter_map(|&(a, b, lost)| {
                        let attr = card.attributes.get(usize::from(a))?;
                        let bin = attr.bins.get(usize::from(b))?.label();
                        Some(crate::view::ModelReason {
                            text_ja: format!(
                                "{}（{bin}）が信用スコアを{lost}点下げました。",
                                attr.name
                            ),
                            text_en: format!(
                                "{} ({bin}) lowered the credit score by {lost} points.",
                                attr.name
                            ),
                            attribute: attr.name.clone(),
                            bin,
                            points_lost: lost,
                        })
                    })
                    .collect();
                Some(crate::view::ModelScoreView {
                    model: s.model,
                    shadow: s.shadow,
                    score: s.score,
                    reasons,
                })
            })
            .collect()
    }
}

/// A journaled scorecard as operators see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEntryView {
    /// 1, 2, … in the order they were loaded.
    pub version: u32,
    /// Scored and recorded only.
    pub shadow: bool,
    /// In force now (the newest live one, the newest shadow one).
    pub in_force: bool,
    /// When it was loaded.
    pub at: At,
    /// By whom.
    pub author: String,
    /// SHA-256 of the file.
    pub digest: [u8; 32],
    /// The risk features it reads.
    pub attributes: Vec<String>,
}

impl Engine {
    /// Every journaled scorecard, oldest first.
    pub fn models(&self) -> Vec<ModelEntryView> {
        self.state
            .risk
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| ModelEntryView {
                version: m.version,
                shadow: m.shadow,
                in_force: Some(i) == self.models.live || Some(i) == self.models.shadow,
                at: m.at,
                author: m.author.clone(),
                digest: m.digest,
                attributes: self
                    .models
                    .loaded
                    .get(i)
                    .map(|l| l.model.attribute_names().map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// A model's scores by day against its training distribution, with each
/// day's population stability index ([`crate::risk::drift`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDrift {
    /// The score buckets: bucket `i` holds `[edges[i], edges[i+1])`; scores
    /// below the first edge count in the first bucket, above the last in
    /// the last.
    pub edges: Vec<i64>,
    /// Training rows per bucket (goods and bads).
    pub expected: Vec<u64>,
    /// Per JST day (oldest first): decisions scored per bucket, and the
    /// day's PSI in millionths.
    pub days: Vec<(DayCounts, u64)>,
}

/// The drift of a model in force now, for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftNow {
    /// The model's version.
    pub model: u32,
    /// Scored and recorded only.
    pub shadow: bool,
    /// The day being counted: the day, decisions scored so far, PSI so far
    /// (millionths).
    pub today: Option<(JstDate, u64, u64)>,
    /// The last finished day with scores.
    pub last_day: Option<ClosedDay>,
}

/// A card's training rows per score bucket (empty when the card has no
/// histogram, and then nothing is tracked).
fn training_counts(model: &Model) -> Vec<u64> {
    let h = &model.card().training.histogram;
    if h.edges.len() < 2 {
        return Vec::new();
    }
    h.train_good
        .iter()
        .zip(&h.train_bad)
        .map(|(g, b)| g.saturating_add(*b))
        .collect()
}

impl LoadedModel {
    fn bucket(&self, score: i64, buckets: usize) -> usize {
        let edges = &self.model.card().training.histogram.edges;
        let k = edges.partition_point(|&e| e <= score);
        k.saturating_sub(1).min(buckets.saturating_sub(1))
    }
}

impl Engine {
    /// Model `i`'s scores per day from the decision records, oldest first:
    /// the last `days_max` days with a score (walked from the newest record
    /// back, so a restore that needs two days reads two days).
    fn scored_days(&self, i: usize, days_max: usize) -> Vec<DayCounts> {
        let Some(m) = self.models.loaded.get(i) else {
            return Vec::new();
        };
        let buckets = m.expected.len();
        let version = crate::checked::id32(i).saturating_add(1);
        let mut days: Vec<DayCounts> = Vec::new();
        if buckets == 0 {
            return days;
        }
        for (oi, rec) in self.state.risk.records.iter().rev() {
            for s in rec.models.iter().filter(|s| s.model == version) {
                let Some(order) = self.state.orders.get(*oi as usize) else {
                    continue;
                };
                let day = order.authorized_at.jst_date();
                if days.last().is_none_or(|d| d.day != day) {
                    if days.len() >= days_max {
                        days.reverse();
                        return days;
                    }
                    days.push(DayCounts {
                        day,
                        counts: vec![0; buckets],
                    });
                }
                if let Some(c) = days
                    .last_mut()
                    .and_then(|d| d.counts.get_mut(m.bucket(s.score, buckets)))
                {
                    *c = c.saturating_add(1);
                }
            }
        }
        days.reverse();
        days
    }

    /// Model `version`'s scores per day, from the decision records (at most
    /// the last `days_max` days with a score).
    pub fn model_drift(&self, version: u32, days_max: usize) -> Option<ModelDrift> {
        let i = usize::try_from(version).ok()?.checked_sub(1)?;
        let m = self.models.loaded.get(i)?;
        if m.expected.is_empty() {
            return None;
        }
        let days = self
            .scored_days(i, days_max)
            .into_iter()
            .map(|d| {
                let psi = psi_micro(&m.expected, &d.counts);
                (d, psi)
            })
            .collect();
        Some(ModelDrift {
            edges: m.model.card().training.histogram.edges.clone(),
            expected: m.expected.clone(),
            days,
        })
    }

    /// The drift of the models in force (live first).
    pub fn drift_now(&self) -> Vec<DriftNow> {
        [(self.models.live, false), (self.models.shadow, true)]
            .into_iter()
            .filter_map(|(slot, shadow)| {
                let i = slot?;
                let m = self.models.loaded.get(i)?;
                let track = self.models.drift.get(i)?;
                Some(DriftNow {
                    model: crate::checked::id32(i).saturating_add(1),
                    shadow,
                    today: track
                        .current
                        .as_ref()
                        .map(|c| (c.day, c.scored(), psi_micro(&m.expected, &c.counts))),
                    last_day: track.closed,
                })
            })
            .collect()
    }

    /// Count the order's model scores into each model's day; a day that
    /// closes with its PSI above the alert line raises `model.drift`
    /// (customer: the one whose order opened the next day).
    pub(crate) fn observe_drift(&mut self, at: At, ci: u32, scores: &[ModelScore]) {
        let day = at.jst_date();
        for s in scores {
            let Some(i) = usize::try_from(s.model).ok().and_then(|v| v.checked_sub(1)) else {
                continue;
            };
            let (Some(m), Some(track)) = (self.models.loaded.get(i), self.models.drift.get_mut(i))
            else {
                continue;
            };
            let buckets = m.expected.len();
            if buckets == 0 {
                continue;
            }
            let bucket = m.bucket(s.score, buckets);
            if let Some(closed) = track.observe(day, bucket, buckets, &m.expected)
                && closed.alerts()
            {
                let stored = Stored::ModelDrift {
                    model: s.model,
                    shadow: s.shadow,
                    day: closed.day,
                    scored: u32::try_from(closed.scored).unwrap_or(u32::MAX),
                    psi_micro: u32::try_from(closed.psi_micro).unwrap_or(u32::MAX),
                };
                self.emit(at, EventKind::ModelDrift, ci, stored);
            }
        }
    }

    /// Each model's running drift from the decision records (after a
    /// restore): the newest day counted, the one before closed.
    fn rebuild_drift(&mut self) {
        let tracks = (0..self.models.loaded.len())
            .map(|i| {
                let Some(m) = self.models.loaded.get(i) else {
                    return DriftTrack::default();
                };
                let mut days = self.scored_days(i, 2);
                let current = days.pop();
                let closed = days.pop().map(|d| ClosedDay {
                    day: d.day,
                    scored: d.scored(),
                    psi_micro: psi_micro(&m.expected, &d.counts),
                });
                DriftTrack { current, closed }
            })
            .collect();
        self.models.drift = tracks;
    }
}
