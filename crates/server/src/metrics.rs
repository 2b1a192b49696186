//! Prometheus metrics, one place. Labels are low-cardinality: command
//! names, decisions and result classes, never ids.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    pub command: &'static str,
    /// `ok`, `replayed` or an error code class (`invalid`, `conflict`, …).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `delivered`, `failed` (will retry) or `given_up`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleHitLabels {
    /// The version of the rule set in force.
    rule_set: u32,
    /// The rule's id in its set (rule sets hold at most 500 rules).
    rule: String,
    /// `live` or `shadow`.
    mode: &'static str,
}

/// Hits of one rule of the set in force: `(rule id, live, shadow)`.
pub type RuleHits = (String, u64, u64);

/// The per-rule hit counts of the risk rule set in force, as the engine
/// counts them (read from the reader at each scrape, so they are the
/// engine's own figures, restarts included).
#[derive(Debug, Default)]
struct RiskRuleHits {
    /// `(rule set version, hits per rule)`; `None` with no set in force.
    in_force: Mutex<Option<(u32, Vec<RuleHits>)>>,
}

impl Collector for RiskRuleHits {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(in_force) = self.in_force.lock() else {
            return Ok(());
        };
        let Some((version, rules)) = in_force.as_ref() else {
            return Ok(());
        };
        let gauge = ConstGauge::new(i64::from(*version));
        gauge.encode(encoder.encode_descriptor(
            "risk_rule_set_in_force",
            "Version of the risk rule set in force (GET /v1/admin/rules)",
            None,
            gauge.metric_type(),
        )?)?;
        let mut family = encoder.encode_descriptor(
            "risk_rule_hits",
            "Times each rule of the set in force fired, live or in shadow",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (rule, live, shadow) in rules {
            for (mode, hits) in [("live", *live), ("shadow", *shadow)] {
                let labels = RuleHitLabels {
                    rule_set: *version,
                    rule: rule.clone(),
                    mode,
                };
                ConstCounter::new(hits).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    /// The model's version.
    model: u32,
    /// `live` or `shadow`.
    mode: &'static str,
}

/// The drift of the scorecards in force, as the engine computes it (read
/// from the reader at each scrape).
#[derive(Debug, Default)]
struct ModelDrift {
    models: Mutex<Vec<atobarai_engine::DriftNow>>,
}

impl Collector for ModelDrift {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(models) = self.models.lock() else {
            return Ok(());
        };
        if models.is_empty() {
            return Ok(());
        }
        let label = |m: &atobarai_engine::DriftNow| ModelLabels {
            model: m.model,
            mode: if m.shadow { "shadow" } else { "live" },
        };
        type Pick = fn(&atobarai_engine::DriftNow) -> Option<f64>;
        let gauges: [(&str, &str, Pick); 3] = [
            (
                "model_psi_last_day",
                "Population stability index of the last finished JST day's scores against \
                 training (alert above 0.25)",
                |m| {
                    m.last_day
                        .map(|d| crate::http_models::psi_from_micro(d.psi_micro))
                },
            ),
            (
                "model_psi_today",
                "Population stability index of today's scores so far against training",
                |m| m.today.map(|t| crate::http_models::psi_from_micro(t.2)),
            ),
            (
                "model_scored_today",
                "Decisions the model scored today (JST)",
                #[allow(clippy::cast_precision_loss)]
                |m| m.today.map(|t| t.1 as f64),
            ),
        ];
        for (name, help, pick) in gauges {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for m in models.iter() {
                if let Some(v) = pick(m) {
                    ConstGauge::new(v).encode(family.encode_family(&label(m))?)?;
                }
            }
        }
        Ok(())
    }
}

pub struct Metrics {
    registry: Mutex<Registry>,
    risk_rule_hits: std::sync::Arc<RiskRuleHits>,
    model_drift: std::sync::Arc<ModelDrift>,
    pub webhook_attempts: Family<DeliveryLabels, Counter>,
    pub webhook_seconds: Histogram,
    pub webhook_outbox_events: Gauge,
    pub webhook_events_dropped: Gauge,
    pub commands: Family<CommandLabels, Counter>,
    pub decisions: Family<DecisionLabels, Counter>,
    pub journal_commit_seconds: Histogram,
    pub journal_batch_records: Histogram,
    pub journal_records: Counter,
    /// Appends that failed (their batches refused; the node recovered).
    pub journal_failures: Counter,
    pub snapshot_save_seconds: Histogram,
    pub customers: Gauge,
    pub orders: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let commands = Family::<CommandLabels, Counter>::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        let journal_commit_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        let journal_batch_records = Histogram::new(exponential_buckets(1.0, 2.0, 14));
        let journal_records = Counter::default();
        let journal_failures = Counter::default();
        let snapshot_save_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let customers = Gauge::default();
        let orders = Gauge::default();
        let webhook_attempts = Family::<DeliveryLabels, Counter>::default();
        let webhook_seconds = Histogram::new(exponential_buckets(0.000_5, 2.0, 16));
        let webhook_outbox_events = Gauge::default();
        let webhook_events_dropped = Gauge::default();
        let mut registry = Registry::with_prefix("atobarai");
        registry.register(
            "webhook_outbox_events",
            "Events waiting in the webhook outbox",
            webhook_outbox_events.clone(),
        );
        registry.register(
            "webhook_events_dropped",
            "Events dropped because the outbox was full (an endpoint down for long)",
            webhook_events_dropped.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by result",
            webhook_attempts.clone(),
        );
        registry.register(
            "webhook_seconds",
            "Time of one webhook request (success or failure)",
            webhook_seconds.clone(),
        );
        registry.register("commands", "Commands by name and result", commands.clone());
        registry.register("decisions", "Authorization decisions", decisions.clone());
        registry.register(
            "journal_commit_seconds",
            "Time to write and fsync one journal batch",
            journal_commit_seconds.clone(),
        );
        registry.register(
            "journal_batch_records",
            "Records per group commit",
            journal_batch_records.clone(),
        );
        registry.register(
            "journal_records",
            "Records journaled",
            journal_records.clone(),
        );
        registry.register(
            "journal_failures",
            "Journal appends that failed (batch refused with 503, node recovering)",
            journal_failures.clone(),
        );
        registry.register(
            "snapshot_save_seconds",
            "Time to save one snapshot (apart from the journal)",
            snapshot_save_seconds.clone(),
        );
        registry.register("customers", "Registered customers", customers.clone());
        registry.register("orders", "Orders (all decisions)", orders.clone());
        let risk_rule_hits = std::sync::Arc::new(RiskRuleHits::default());
        registry.register_collector(Box::new(risk_rule_hits.clone()));
        let model_drift = std::sync::Arc::new(ModelDrift::default());
        registry.register_collector(Box::new(model_drift.clone()));
        Metrics {
            registry: Mutex::new(registry),
            risk_rule_hits,
            model_drift,
            webhook_attempts,
            webhook_seconds,
            webhook_outbox_events,
            webhook_events_dropped,
            commands,
            decisions,
            journal_commit_seconds,
            journal_batch_records,
            journal_records,
            journal_failures,
            snapshot_save_seconds,
            customers,
            orders,
        }
    }
}

impl Metrics {
    /// The hit counts of the rule set in force (`None`: none in force), as
    /// the next [`Metrics::render`] shows them.
    pub fn set_risk_rule_hits(&self, in_force: Option<(u32, Vec<RuleHits>)>) {
        if let Ok(mut slot) = self.risk_rule_hits.in_force.lock() {
            *slot = in_force;
        }
    }

    /// The drift of the models in force, as the next render shows it.
    pub fn set_model_drift(&self, models: Vec<atobarai_engine::DriftNow>) {
        if let Ok(mut slot) = self.model_drift.models.lock() {
            *slot = models;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Encoding into a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}
