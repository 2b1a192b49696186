//! Risk rule sets over HTTP (admin keys): put a rules file in force, list
//! every version with who put it in force, when, its digest and the hits of
//! each rule, and read one version with its source.
//!
//! `PUT /v1/admin/rules` takes the file as `{"rules": "<TOML text>"}`
//! (`application/json`) or as the body itself (`application/toml`). The
//! file is checked here, on the HTTP thread, before anything is journaled:
//! a file that does not check is refused with `422 rules_invalid` and every
//! error with its line and column in `error.details`, and the set in force
//! stays. A file that checks is journaled (`SetRiskRules`, author: the
//! operator's public id); the engine checks it again and puts it in force
//! between two commands, so a reload holds decisions up for one command at
//! most. Putting the text already in force journals nothing and answers
//! that version.

use crate::error::{ApiError, ErrorBody, ErrorPosition};
use crate::http::{ApiPath, AppState, Caller, JsonBody, read};
use crate::metrics::RuleHits;
use atobarai_core::ids;
use atobarai_engine::risk::book::SOURCE_MAX;
use atobarai_engine::{Command, Engine, Outcome, Principal, RiskRulesView, prefix};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest body `PUT /v1/admin/rules` takes (admin keys only: the
/// role layer runs before the body is read): room for a rules file one
/// character longer than its limit with every character JSON-escaped as a
/// surrogate pair (12 bytes), so that a file too large is answered `422
/// rules_too_large` on the decoded text rather than a bare 413.
pub const PUT_RULES_BODY_MAX: usize = 12 * (SOURCE_MAX + 1) + 64 * 1024;

/// A rules file to put in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRulesBody {
    /// The rules file, TOML (see `crates/rules/README.md`), at most
    /// 524,288 bytes.
    #[schema(max_length = 524_288)]
    pub rules: String,
}

/// One rule of a rule set, with its hits while the set is in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleJson {
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// `decline`, `review`, `cap`, `flag` or `approve`.
    pub action: String,
    /// `live` or `shadow` (recorded, never acting).
    pub mode: &'static str,
    /// Its reason code.
    pub reason: String,
    /// Times it fired live while this set was in force (0 for a set no
    /// longer in force).
    pub hits_live: u64,
    /// Times it fired in shadow while this set was in force.
    pub hits_shadow: u64,
}

/// A journaled rule set.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleSetJson {
    /// 1, 2, … in the order the sets were put in force.
    pub version: u32,
    /// Whether this is the set deciding authorizations now (the newest).
    pub in_force: bool,
    /// The file's own name (`[set] name`).
    pub name: String,
    /// The file's own version (`[set] version`).
    pub file_version: u32,
    /// When it was put in force.
    pub at: String,
    /// Who put it in force: an operator's id (`opr_…`), or `config` for the
    /// server's configured file at start.
    pub author: String,
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// Its rules in file order.
    pub rules: Vec<RuleJson>,
}

/// One rule set with its source.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleSetSource {
    #[serde(flatten)]
    pub set: RuleSetJson,
    /// The rules file as it was put in force.
    pub source: String,
}

/// Every journaled rule set.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleSetList {
    /// The version in force; null while the engine's built-in policy
    /// decides (no set was ever put in force).
    #[schema(required = true)]
    pub in_force: Option<u32>,
    /// Every set, oldest first (the last is in force).
    pub sets: Vec<RuleSetJson>,
}

impl RuleSetJson {
    fn new(v: &RiskRulesView, in_force: bool) -> RuleSetJson {
        RuleSetJson {
            version: v.version,
            in_force,
            name: v.name.clone(),
            file_version: v.file_version,
            at: v.at.to_rfc3339_jst(),
            author: v.author.clone(),
            digest: hex::encode(v.digest),
            rules: v
                .rules
                .iter()
                .map(|r| RuleJson {
                    id: r.id.clone(),
                    version: r.version,
                    action: r.action.clone(),
                    mode: if r.shadow { "shadow" } else { "live" },
                    reason: r.reason.clone(),
                    hits_live: r.hits_live,
                    hits_shadow: r.hits_shadow,
                })
                .collect(),
        }
    }
}

/// The hits of the set in force, for `/metrics`.
pub fn hits_in_force(e: &Engine) -> Option<(u32, Vec<RuleHits>)> {
    let sets = e.risk_rule_sets();
    let set = sets.last()?;
    Some((
        set.version,
        set.rules
            .iter()
            .map(|r| (r.id.clone(), r.hits_live, r.hits_shadow))
            .collect(),
    ))
}

/// Is this `Content-Type` TOML (`application/toml`, any parameters)?
fn is_toml(content_type: &[u8]) -> bool {
    std::str::from_utf8(content_type).is_ok_and(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/toml")
    })
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is larger than {PUT_RULES_BODY_MAX} bytes"),
    )
}

/// The rules file of a `PUT /v1/admin/rules`: the `rules` of a JSON body,
/// or an `application/toml` body as it is.
pub struct RulesText(pub String);

impl FromRequest<AppState> for RulesText {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, ApiError> {
        let toml = req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| is_toml(ct.as_bytes()));
        if !toml {
            return match JsonBody::<PutRulesBody>::from_request(req, app).await {
                Ok(JsonBody(body)) => Ok(RulesText(body.rules)),
                Err(e) if e.status == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
                Err(e) => Err(e),
            };
        }
        let timeout = app.body_timeout;
        let bytes = match tokio::time::timeout(timeout, Bytes::from_request(req, app)).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the body did not arrive within {} seconds",
                        timeout.as_secs_f64()
                    ),
                ));
            }
            Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large());
            }
            Ok(Err(_)) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    "the body could not be read",
                ));
            }
            Ok(Ok(bytes)) => bytes,
        };
        String::from_utf8(bytes.to_vec())
            .map(RulesText)
            .map_err(|_| {
                ApiError::invalid("rules_invalid", "rules", "the rules file is not UTF-8").details(
                    vec![ErrorPosition {
                        line: 1,
                        column: 1,
                        message: "the rules file is not UTF-8".into(),
                    }],
                )
            })
    }
}

/// The file checked as the engine will check it: its digest, or every
/// error with its position. Compiled off the async workers and through the
/// engine's shared cache, so the engine thread finds the compiled set and
/// only hashes the text when it puts it in force.
async fn check(source: String) -> Result<(String, [u8; 32]), ApiError> {
    if source.len() > SOURCE_MAX {
        return Err(ApiError::invalid(
            "rules_too_large",
            "rules",
            format!("a rules file is at most {SOURCE_MAX} bytes"),
        ));
    }
    let (source, compiled) = tokio::task::spawn_blocking(move || {
        let compiled = atobarai_engine::risk::rules::compile_shared(&source);
        (source, compiled)
    })
    .await
    .map_err(|_| ApiError::internal("the rules check stopped"))?;
    let errors = match compiled {
        Ok(set) => return Ok((source, set.digest())),
        Err(errors) => errors,
    };
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    Err(ApiError::invalid(
        "rules_invalid",
        "rules",
        format!(
            "the rules file does not check ({} error{}): {}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            listed.join("; ")
        ),
    )
    .details(
        errors
            .into_iter()
            .map(|e| ErrorPosition {
                line: e.line,
                column: e.column,
                message: e.message,
            })
            .collect(),
    ))
}

/// Who puts a set in force: the operator's public id.
pub(crate) fn author(p: Principal) -> String {
    match p {
        Principal::Operator(index, _) => ids::encode(prefix::OPERATOR, u64::from(index)),
        Principal::Merchant(index) => ids::encode(prefix::MERCHANT, u64::from(index)),
        Principal::System => "system".into(),
    }
}

/// Put a risk rules file in force (admin key). The running set stays in
/// force when the file does not check.
#[utoipa::path(put, path = "/v1/admin/rules",
    request_body(description = "the rules file: `{\"rules\": \"<TOML>\"}` as JSON, or the file itself as `application/toml`",
        content((PutRulesBody = "application/json"), (String = "application/toml"))),
    responses((status = 200, description = "the version now in force (the same version when this text already was)", body = RuleSetJson),
        (status = 409, description = "`rule_sets_full`: the store keeps no more rule sets", body = ErrorBody),
        (status = 413, description = "the body is larger than the limit", body = ErrorBody),
        (status = 415, description = "the body is sent neither as `application/json` nor as `application/toml`", body = ErrorBody),
        (status = 422, description = "`rules_invalid` (every error in `error.details`, with line and column) or `rules_too_large`; the set in force stays", body = ErrorBody)))]
pub async fn put_rules(
    State(app): State<AppState>,
    caller: Caller,
    RulesText(source): RulesText,
) -> Result<Json<RuleSetJson>, ApiError> {
    let (source, digest) = check(source).await?;
    let current = read(&app, |e| e.risk_rule_sets().pop()).await?;
    if let Some(current) = current.filter(|c| c.digest == digest) {
        return Ok(Json(RuleSetJson::new(&current, true)));
    }
    let command = Command::SetRiskRules {
        source,
        author: author(caller.0),
    };
    match app.node.submit(None, command).await {
        Err(u) => Err(u.into()),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(applied)) => match &applied.outcome {
            Outcome::RiskRules(view) => Ok(Json(RuleSetJson::new(view, true))),
            other => Err(ApiError::internal(&format!("unexpected outcome {other:?}"))),
        },
    }
}

/// Every risk rule set put in force, oldest first, with who, when, the
/// digest and each rule's live and shadow hits (operator key).
#[utoipa::path(get, path = "/v1/admin/rules",
    responses((status = 200, body = RuleSetList)))]
pub async fn list_rules(State(app): State<AppState>) -> Result<Json<RuleSetList>, ApiError> {
    let sets = read(&app, |e| e.risk_rule_sets()).await?;
    let newest = sets.last().map(|s| s.version);
    Ok(Json(RuleSetList {
        in_force: newest,
        sets: sets
            .iter()
            .map(|s| RuleSetJson::new(s, Some(s.version) == newest))
            .collect(),
    }))
}

/// One risk rule set with its source (operator key).
#[utoipa::path(get, path = "/v1/admin/rules/{version}",
    params(("version" = u32, Path, minimum = 1, maximum = 4_294_967_295_u32,
        description = "the rule set's version, as `GET /v1/admin/rules` lists it")),
    responses((status = 200, body = RuleSetSource),
        (status = 404, description = "no rule set of this version", body = ErrorBody)))]
pub async fn get_rules(
    State(app): State<AppState>,
    ApiPath(version): ApiPath<u32>,
) -> Result<Json<RuleSetSource>, ApiError> {
    let found = read(&app, move |e| {
        let sets = e.risk_rule_sets();
        let in_force = sets.last().map(|s| s.version);
        let i = usize::try_from(version).ok()?.checked_sub(1)?;
        let view = sets.get(i)?;
        let source = e.risk_rules_source(version)?.to_owned();
        Some(RuleSetSource {
            set: RuleSetJson::new(view, in_force == Some(version)),
            source,
        })
    })
    .await?;
    found.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "rule_set_not_found",
            format!("no rule set of version {version}"),
        )
        .field("version")
    })
}
