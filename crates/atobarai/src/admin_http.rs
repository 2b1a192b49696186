//! The one HTTP call the admin commands make: a `PUT` with a JSON body
//! and an admin key, answered with a status and a JSON body.

use anyhow::{Context, Result};

/// `PUT {server}{path}` with `body`; the status and the JSON answer.
pub(crate) fn put_json(
    server: &str,
    path: &str,
    key: &str,
    body: &serde_json::Value,
) -> Result<(reqwest::StatusCode, serde_json::Value)> {
    let url = format!("{}{path}", server.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let resp = reqwest::Client::new()
            .put(&url)
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .with_context(|| format!("sending to {url}"))?;
        let status = resp.status();
        let answer = resp.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, answer))
    })
}
