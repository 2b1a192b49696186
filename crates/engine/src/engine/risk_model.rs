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
use crate::risk::features::{F, FEATURES, FeatureValue, Features};
use crate::view::Outcome;
use atobarai_core::At;
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
    /// Per attribute: each bin's points, and the best among bins with
    /// training rows (what an adverse reason is measured against).
    points: Vec<(Vec<i64>, i64)>,
}

/// Loaded scorecards (derived from the risk book; rebuilt on restore).
#[derive(Default)]
pub(crate) struct ModelRuntime {
    /// By book version − 1.
    pub(crate) loaded: Vec<Arc<LoadedModel>>,
    /// Positions in `loaded` of the models in force.
    pub(crate) live: Option<usize>,
    pub(crate) shadow: Option<usize>,
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
    let points = model
        .card()
        .attributes
        .iter()
        .map(|a| {
            let points: Vec<i64> = a.bins.iter().map(|b| b.points).collect();
            let best = a
                .bins
                .iter()
                .filter(|b| b.good.saturating_add(b.bad) > 0)
                .map(|b| b.points)
                .max()
                .unwrap_or(0);
            (points, best)
        })
        .collect();
    Ok(LoadedModel {
        model,
        features,
        points,
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
        let values: Vec<Value<'static>> = self
            .features
            .iter()
            .map(|&p| f.by_index(p).map_or(Value::Missing, value))
            .collect();
        let score = self.model.score(&values);
        // The three attributes that lost the most points against their best
        // bin (ties: the earlier attribute), without formatting anything.
        let mut lost: Vec<(i64, u16, u16)> = Vec::with_capacity(self.points.len());
        for (a, (points, best)) in self.points.iter().enumerate() {
            let v = values.get(a).copied().unwrap_or(Value::Missing);
            let k = self.model.bin_index(a, v);
            let l = best.saturating_sub(points.get(k).copied().unwrap_or(*best));
            if l > 0
                && let (Ok(a), Ok(k)) = (u16::try_from(a), u16::try_from(k))
            {
                lost.push((l, a, k));
            }
        }
        lost.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        lost.truncate(3);
        let adverse = lost.into_iter().map(|(l, a, k)| (a, k, l)).collect();
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
        Ok(())
    }

    /// Score the order with the models in force: the live one's score
    /// becomes `model.score` (−1 without one); every score is returned for
    /// the decision record.
    pub(crate) fn score_models(&self, features: &mut Features) -> Vec<ModelScore> {
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

/// A model's scores by day against its training distribution, for drift
/// monitoring (the population stability index is computed by the reader:
/// it needs logarithms, which have no place in the state machine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDrift {
    /// The score buckets: bucket `i` holds `[edges[i], edges[i+1])`; scores
    /// below the first edge count in the first bucket, above the last in
    /// the last.
    pub edges: Vec<i64>,
    /// Training rows per bucket (goods and bads).
    pub expected: Vec<u64>,
    /// Per JST day (oldest first): decisions scored per bucket.
    pub days: Vec<(atobarai_core::JstDate, Vec<u64>)>,
}

impl Engine {
    /// Model `version`'s scores per day, from the decision records (at most
    /// the last `days_max` days with a score).
    pub fn model_drift(&self, version: u32, days_max: usize) -> Option<ModelDrift> {
        let i = usize::try_from(version).ok()?.checked_sub(1)?;
        let m = self.models.loaded.get(i)?;
        let h = &m.model.card().training.histogram;
        let buckets = h.train_good.len();
        if buckets == 0 || h.edges.len() < 2 {
            return None;
        }
        let expected: Vec<u64> = h
            .train_good
            .iter()
            .zip(&h.train_bad)
            .map(|(g, b)| g.saturating_add(*b))
            .collect();
        let bucket = |score: i64| {
            let k = h.edges.partition_point(|&e| e <= score);
            k.saturating_sub(1).min(buckets.saturating_sub(1))
        };
        let mut days: Vec<(atobarai_core::JstDate, Vec<u64>)> = Vec::new();
        for (oi, rec) in &self.state.risk.records {
            for s in rec.models.iter().filter(|s| s.model == version) {
                let Some(order) = self.state.orders.get(*oi as usize) else {
                    continue;
                };
                let day = order.authorized_at.jst_date();
                if days.last().is_none_or(|(d, _)| *d != day) {
                    days.push((day, vec![0; buckets]));
                }
                if let Some((_, counts)) = days.last_mut()
                    && let Some(c) = counts.get_mut(bucket(s.score))
                {
                    *c = c.saturating_add(1);
                }
            }
        }
        let skip = days.len().saturating_sub(days_max);
        days.drain(..skip);
        Some(ModelDrift {
            edges: h.edges.clone(),
            expected,
            days,
        })
    }
}
