//! Credit scorecards over HTTP: an admin loads a model file (from
//! `atobarai model train`) live or in shadow; operators list them. The file
//! is checked here first (checksum, schema, every attribute a risk
//! feature), off the async workers; a file that does not load is refused
//! with `422 model_invalid` and the models in force stay. The engine checks
//! it again when it applies the journaled `SetModel`.

use crate::error::{ApiError, ErrorBody};
use crate::http::{AppState, Caller, JsonBody, read};
use atobarai_engine::{Command, MODEL_SOURCE_MAX, ModelEntryView, Outcome};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest body `PUT /v1/admin/models` takes: a model file at its limit
/// with every character JSON-escaped, and room for the envelope.
pub const PUT_MODEL_BODY_MAX: usize = 6 * MODEL_SOURCE_MAX + 64 * 1024;

/// A model to load.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutModelBody {
    /// The model file's text, as `atobarai model train` wrote it.
    #[schema(max_length = 4_194_304)]
    pub model: String,
    /// `live`: its score is the feature `model.score` the rules read;
    /// `shadow`: scored and recorded, never read.
    #[schema(pattern = "^(live|shadow)$")]
    pub mode: String,
}

/// A loaded model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelJson {
    /// 1, 2, … in the order the models were loaded.
    pub version: u32,
    /// `live` or `shadow`.
    pub mode: &'static str,
    /// In force now (the newest live one and the newest shadow one).
    pub in_force: bool,
    pub loaded_at: String,
    /// An operator's id (`opr_…`).
    pub author: String,
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// The risk features it reads.
    pub attributes: Vec<String>,
}

/// Every model loaded, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    pub models: Vec<ModelJson>,
}

fn json(m: &ModelEntryView) -> ModelJson {
    ModelJson {
        version: m.version,
        mode: if m.shadow { "shadow" } else { "live" },
        in_force: m.in_force,
        loaded_at: m.at.to_rfc3339_jst(),
        author: m.author.clone(),
        digest: hex::encode(m.digest),
        attributes: m.attributes.clone(),
    }
}

/// Load a scorecard live or in shadow (admin key).
#[utoipa::path(put, path = "/v1/admin/models", request_body = PutModelBody,
    responses((status = 200, description = "the model loaded", body = ModelJson),
        (status = 409, description = "`models_full`", body = ErrorBody),
        (status = 413, description = "the body is larger than the limit", body = ErrorBody),
        (status = 422, description = "`model_invalid` (checksum, schema, or an attribute that is not a risk feature), `model_too_large` or `mode` not `live`/`shadow`; the models in force stay", body = ErrorBody)))]
pub async fn put_model(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PutModelBody>,
) -> Result<Json<ModelJson>, ApiError> {
    let shadow = match body.mode.as_str() {
        "live" => false,
        "shadow" => true,
        _ => {
            return Err(ApiError::invalid(
                "mode_invalid",
                "mode",
                "mode is `live` or `shadow`",
            ));
        }
    };
    if body.model.len() > MODEL_SOURCE_MAX {
        return Err(ApiError::invalid(
            "model_too_large",
            "model",
            format!("a model file is at most {MODEL_SOURCE_MAX} bytes"),
        ));
    }
    let (source, checked) = tokio::task::spawn_blocking(move || {
        let checked = atobarai_engine::load_model(&body.model);
        (body.model, checked)
    })
    .await
    .map_err(|_| ApiError::internal("the model check stopped"))?;
    checked.map_err(|e| ApiError::invalid("model_invalid", "model", e))?;
    let command = Command::SetModel {
        source,
        shadow,
        author: crate::http_risk::author(caller.0),
    };
    let version = match app.node.submit(None, command).await {
        Err(u) => return Err(u.into()),
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(applied)) => match applied.outcome {
            Outcome::ModelLoaded { version, .. } => version,
            other => return Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
        },
    };
    let models = read(&app, |e| e.models()).await?;
    models
        .iter()
        .find(|m| m.version == version)
        .map(|m| Json(json(m)))
        .ok_or_else(|| ApiError::internal("the loaded model is not listed"))
}

/// Every scorecard loaded, oldest first (operator key).
#[utoipa::path(get, path = "/v1/admin/models",
    responses((status = 200, body = ModelList)))]
pub async fn list_models(State(app): State<AppState>) -> Result<Json<ModelList>, ApiError> {
    let models = read(&app, |e| e.models()).await?;
    Ok(Json(ModelList {
        models: models.iter().map(json).collect(),
    }))
}

/// Drift above this population stability index raises `alert`.
pub const PSI_ALERT: f64 = 0.25;

/// One day of a model's scores against its training distribution.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftDay {
    /// `YYYY-MM-DD` (JST).
    pub day: String,
    /// Decisions the model scored that day.
    pub scored: u64,
    /// Population stability index of the day's scores against training
    /// (Σ (a − e) ln(a / e) over score buckets, half a count added to
    /// every bucket so an empty one stays finite).
    pub psi: f64,
    /// `psi` above 0.25: the population has shifted; review the model.
    pub alert: bool,
}

/// A model's drift, day by day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DriftJson {
    pub model: u32,
    pub alert_threshold: f64,
    /// Oldest first (the last 90 days with scores).
    pub days: Vec<DriftDay>,
}

/// The engine's PSI (millionths, integer arithmetic) as a number.
#[allow(clippy::cast_precision_loss)]
pub fn psi_from_micro(micro: u64) -> f64 {
    micro as f64 / 1e6
}

/// A model's scores per day against its training distribution, with the
/// population stability index and an alert above 0.25 (operator key).
#[utoipa::path(get, path = "/v1/admin/models/{version}/drift",
    params(("version" = u32, Path, minimum = 1, maximum = 4_294_967_295_u32,
        description = "the model's version, as `GET /v1/admin/models` lists it")),
    responses((status = 200, body = DriftJson),
        (status = 404, description = "`model_not_found`", body = ErrorBody)))]
pub async fn model_drift(
    State(app): State<AppState>,
    crate::http::ApiPath(version): crate::http::ApiPath<u32>,
) -> Result<Json<DriftJson>, ApiError> {
    let drift = read(&app, move |e| e.model_drift(version, 90))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "model_not_found",
                format!("no model version {version}"),
            )
            .field("version")
        })?;
    Ok(Json(DriftJson {
        model: version,
        alert_threshold: PSI_ALERT,
        days: drift
            .days
            .iter()
            .map(|(day, psi)| DriftDay {
                day: day.day.to_string(),
                scored: day.scored(),
                psi: psi_from_micro(*psi),
                alert: *psi > atobarai_engine::risk::drift::PSI_ALERT_MICRO,
            })
            .collect(),
    }))
}
