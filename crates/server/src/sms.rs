//! Sending verification codes: the [`SmsGateway`] adapter and its drivers
//! (`[sms] driver`), and the shell's part of verifications
//! ([`VerificationShell`]): drawing 6-digit codes and hashing them under
//! `sms.code_secret` (only the keyed hash reaches the engine, the journal
//! and snapshots).
//!
//! Drivers:
//!
//! - [`FileSms`] (`file`, development and tests): each message is appended
//!   as one JSON line `{"to", "text", "code"}` to `sms-outbox.jsonl` in the
//!   data directory (the working directory for a PostgreSQL or NATS
//!   journal). E-mail codes go to `mail-outbox.jsonl` the same way.
//! - [`LogSms`] (`log`): the message is logged (with its code) and never
//!   sent; for a development machine without a file to read.
//! - [`HttpSms`] (`http`): `POST url` with `Authorization: Bearer token`
//!   and the JSON body `{"to", "from", "text"}`; any 2xx is sent, anything
//!   else (or no answer within `timeout_ms`) is a failure.
//!
//! The code is only handed to a driver after the verification is durable;
//! a failed send answers `502 sms_unavailable` (see `http_verifications`).

use atobarai_core::config::SmsConfig;
use rand::Rng;
use serde::Serialize;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One message to send.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    /// The recipient: a phone number in E.164 (`+819012345678`) or an
    /// e-mail address.
    pub to: String,
    /// The text sent.
    pub text: String,
    /// The code in the text (the file driver writes it down for tests).
    pub code: String,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// A boxed future of a send.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Something that delivers a message: an SMS gateway, or (same shape) the
/// e-mail notifier.
pub trait SmsGateway: Send + Sync {
    /// Deliver `message`; `Ok` once the gateway accepted it.
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a>;
    /// The driver's name (`file`, `log`, `http`).
    fn driver(&self) -> &'static str;
}

/// Appends each message as a JSON line to a file.
pub struct FileSms {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl FileSms {
    pub fn new(path: impl Into<PathBuf>) -> FileSms {
        FileSms {
            path: path.into(),
            file: Mutex::new(None),
        }
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &[u8]) -> std::io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            *file = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        match file.as_mut() {
            Some(f) => f.write_all(line),
            None => Ok(()),
        }
    }
}

impl SmsGateway for FileSms {
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a> {
        Box::pin(async move {
            let mut line = serde_json::to_vec(message).map_err(|e| SendError(e.to_string()))?;
            line.push(b'\n');
            self.append(&line)
                .map_err(|e| SendError(format!("{}: {e}", self.path.display())))
        })
    }

    fn driver(&self) -> &'static str {
        "file"
    }
}

/// Logs each message; sends nothing.
pub struct LogSms;

impl SmsGateway for LogSms {
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a> {
        Box::pin(async move {
            tracing::info!(to = %message.to, text = %message.text, "verification message (log driver: not sent)");
            Ok(())
        })
    }

    fn driver(&self) -> &'static str {
        "log"
    }
}

/// POSTs each message as JSON to a gateway.
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    sender: String,
}

#[derive(Serialize)]
struct HttpBody<'a> {
    to: &'a str,
    from: &'a str,
    text: &'a str,
}

impl HttpSms {
    pub fn new(
        url: &str,
        token: Option<&str>,
        sender: &str,
        timeout: Duration,
    ) -> Result<HttpSms, SendError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SendError(e.to_string()))?;
        Ok(HttpSms {
            client,
            url: url.to_string(),
            token: token.map(str::to_string),
            sender: sender.to_string(),
        })
    }
}

impl SmsGateway for HttpSms {
    fn send<'a>(&'a self, message: &'a Message) -> Sending<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(&HttpBody {
                to: &message.to,
                from: &self.sender,
                text: &message.text,
            })
            .map_err(|e| SendError(e.to_string()))?;
            let mut request = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let response = request
                .send()
                .await
                .map_err(|e| SendError(format!("gateway unreachable: {e}")))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(SendError(format!("gateway answered {status}")))
            }
        })
    }

    fn driver(&self) -> &'static str {
        "http"
    }
}

/// The shell's part of verifications: the code secret and the gateways.
pub struct VerificationShell {
    secret: Vec<u8>,
    sender: String,
    sms: Arc<dyn SmsGateway>,
    mail: Arc<dyn SmsGateway>,
}

impl VerificationShell {
    /// The drivers `config` names; `dir` is where the file drivers write
    /// (the data directory).
    pub fn from_config(config: &SmsConfig, dir: &Path) -> VerificationShell {
        let sms: Arc<dyn SmsGateway> = match config.driver.as_str() {
            "http" => match HttpSms::new(
                config.url.as_deref().unwrap_or_default(),
                config.token.as_deref(),
                &config.sender,
                Duration::from_millis(config.timeout_ms),
            ) {
                Ok(h) => Arc::new(h),
                Err(e) => {
                    tracing::error!(error = %e, "the SMS gateway client cannot be built: codes will be logged, not sent");
                    Arc::new(LogSms)
                }
            },
            "log" => Arc::new(LogSms),
            _ => Arc::new(FileSms::new(dir.join("sms-outbox.jsonl"))),
        };
        let mail: Arc<dyn SmsGateway> = match config.mail_driver.as_str() {
            "log" => Arc::new(LogSms),
            _ => Arc::new(FileSms::new(dir.join("mail-outbox.jsonl"))),
        };
        VerificationShell::new(config, sms, mail)
    }

    /// With explicit gateways.
    pub fn new(
        config: &SmsConfig,
        sms: Arc<dyn SmsGateway>,
        mail: Arc<dyn SmsGateway>,
    ) -> VerificationShell {
        VerificationShell {
            secret: config.code_secret.as_bytes().to_vec(),
            sender: config.sender.clone(),
            sms,
            mail,
        }
    }

    /// A fresh random 6-digit code.
    pub fn draw_code(&self) -> String {
        format!("{:06}", rand::rng().random_range(0..1_000_000u32))
    }

    /// The keyed hash of a code (as typed: only 6 ASCII digits ever match).
    pub fn hash(&self, code: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"atobarai verification code v1\0");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The text of a verification message.
    pub fn text(&self, code: &str, ttl_secs: i64) -> String {
        format!(
            "[{}] Your verification code is {code}. It expires in {} minutes. Never share it.",
            self.sender,
            (ttl_secs / 60).max(1)
        )
    }

    /// The SMS gateway.
    pub fn sms(&self) -> &Arc<dyn SmsGateway> {
        &self.sms
    }

    /// The e-mail notifier.
    pub fn mail(&self) -> &Arc<dyn SmsGateway> {
        &self.mail
    }
}

impl std::fmt::Debug for VerificationShell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationShell")
            .field("secret", &"<redacted>")
            .field("sms", &self.sms.driver())
            .field("mail", &self.mail.driver())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hash_under_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let shell = VerificationShell::from_config(&SmsConfig::default(), dir.path());
        for _ in 0..100 {
            let c = shell.draw_code();
            assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()), "{c}");
        }
        assert_eq!(shell.hash("123456"), shell.hash("123456"));
        assert_ne!(shell.hash("123456"), shell.hash("123457"));
        let other = SmsConfig {
            code_secret: "another-secret-of-enough-length".into(),
            ..SmsConfig::default()
        };
        let other = VerificationShell::from_config(&other, dir.path());
        assert_ne!(shell.hash("123456"), other.hash("123456"));
        assert!(!format!("{shell:?}").contains("development"));
    }

    #[tokio::test]
    async fn the_file_driver_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let shell = VerificationShell::from_config(&SmsConfig::default(), dir.path());
        for code in ["000001", "999999"] {
            let m = Message {
                to: "+819012345678".into(),
                text: shell.text(code, 600),
                code: code.into(),
            };
            shell.sms().send(&m).await.unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("sms-outbox.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["code"], "999999");
        assert_eq!(lines[0]["to"], "+819012345678");
        assert!(lines[0]["text"].as_str().unwrap().contains("000001"));
    }
}
