//! Receiving an import: the file is sealed and stored in 1 MiB chunks as it arrives (a
//! 64 MiB upload never sits in memory), the form's fields are checked at the end, and the
//! job is queued with its PSK or password sealed.

use delivery::SecretString;
use zeroize::Zeroizing;

use super::items::Format;
use super::source::CHUNK;
use super::{JobCreated, JobKind, Params};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::error::ServiceError;
use crate::store::jobs::{Job, chunk_context, key_context};

/// Marks the sealed key as a pre-shared key.
pub const KEY_PSK: u8 = 1;
/// Marks the sealed key as a password.
pub const KEY_PASSWORD: u8 = 2;

/// Key material as sealed in a job row: a kind byte, then the PSK or password bytes.
type KeyBytes = Option<Zeroizing<Vec<u8>>>;

/// The text fields of an import form, as received.
#[derive(Debug, Default)]
pub struct ImportForm {
    /// `pskc` or `csv` (tokens; recognised from the file when absent).
    pub format: Option<String>,
    /// Pre-shared key, hexadecimal.
    pub psk: Option<SecretString>,
    /// Password of a PBKDF2-protected file.
    pub password: Option<SecretString>,
    /// `true` / `false`.
    pub dry_run: Option<String>,
    /// `true` / `false`.
    pub skip_bad: Option<String>,
}

/// An upload being received.
#[derive(Debug)]
pub struct Upload {
    id: String,
    kind: JobKind,
    seq: i32,
    buf: Zeroizing<Vec<u8>>,
    total: u64,
    file_seen: bool,
    file_name: Option<String>,
    /// When the lease was last renewed (seconds).
    renewed_at: i64,
}

/// The upload's lease lapsed (the client stalled) and a sweep gave it up.
fn given_up() -> ServiceError {
    ServiceError::field(
        "file",
        "file: the upload stalled longer than job_lease_s and was given up; send it again",
    )
}

fn flag(field: &str, value: Option<&str>) -> Result<bool, ServiceError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0" | "off" | "no") => Ok(false),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some(_) => Err(ServiceError::field(
            field,
            format!("{field}: true or false"),
        )),
    }
}

/// The sealed key material of the form, checked (`None`: no key).
fn key_bytes(kind: JobKind, form: &ImportForm) -> Result<KeyBytes, ServiceError> {
    fn given(s: &Option<SecretString>) -> Option<&SecretString> {
        s.as_ref().filter(|s| !s.expose().trim().is_empty())
    }
    match (given(&form.psk), given(&form.password)) {
        (Some(_), Some(_)) => Err(ServiceError::field(
            "password",
            "password: give psk or password, not both",
        )),
        (Some(_), None) | (None, Some(_)) if kind == JobKind::Users => Err(ServiceError::field(
            if form.psk.is_some() {
                "psk"
            } else {
                "password"
            },
            "a users file is not encrypted: give no psk or password",
        )),
        (Some(psk), None) => {
            let hex: Zeroizing<String> = Zeroizing::new(psk.expose().split_whitespace().collect());
            let raw = Zeroizing::new(
                data_encoding::HEXLOWER_PERMISSIVE
                    .decode(hex.as_bytes())
                    .map_err(|_| ServiceError::field("psk", "psk: not valid hexadecimal"))?,
            );
            if ![16, 24, 32].contains(&raw.len()) {
                return Err(ServiceError::field(
                    "psk",
                    "psk: an AES key of 16, 24 or 32 bytes in hexadecimal",
                ));
            }
            let mut out = Zeroizing::new(vec![KEY_PSK]);
            out.extend_from_slice(&raw);
            Ok(Some(out))
        }
        (None, Some(password)) => {
            let mut out = Zeroizing::new(vec![KEY_PASSWORD]);
            out.extend_from_slice(password.expose().as_bytes());
            Ok(Some(out))
        }
        (None, None) => Ok(None),
    }
}

impl Upload {
    /// Starts receiving an import of `kind`: a job row in state `receiving`.
    pub async fn start(
        state: &AppState,
        caller: &Caller,
        kind: JobKind,
    ) -> Result<Self, ServiceError> {
        caller.require_admin()?;
        let now = state.now().secs();
        let job = Job {
            client: caller.source.clone(),
            ..Job::new(
                crate::service::enrol::new_id(),
                kind.as_str(),
                "receiving",
                "api",
                caller.actor(),
                now,
                now + state.config.job_lease_s,
            )
        };
        let id = job.id.clone();
        state
            .store
            .write(move |c| Ok::<_, ServiceError>(c.job_insert(&job)?))
            .await?;
        Ok(Self {
            id,
            kind,
            seq: 0,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK)),
            total: 0,
            file_seen: false,
            file_name: None,
            renewed_at: now,
        })
    }

    /// The file part begins (its name as the client gave it, if any).
    pub fn file_part(&mut self, name: Option<String>) -> Result<(), ServiceError> {
        if self.file_seen {
            return Err(ServiceError::field("file", "file: give one file"));
        }
        self.file_seen = true;
        self.file_name = name.map(|n| n.chars().filter(|c| !c.is_control()).take(255).collect());
        Ok(())
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.total
    }

    /// Appends bytes of the file; full chunks are sealed and stored.
    pub async fn push(&mut self, state: &AppState, mut bytes: &[u8]) -> Result<(), ServiceError> {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = CHUNK - self.buf.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buf.extend_from_slice(now);
            bytes = rest;
            if self.buf.len() == CHUNK {
                self.flush(state).await?;
            }
        }
        // A slow client keeps its upload alive between chunks.
        let now = state.now().secs();
        if now - self.renewed_at >= (state.config.job_lease_s / 3).max(1) {
            let (id, total) = (self.id.clone(), self.received_i64());
            let lease = now + state.config.job_lease_s;
            let alive = state
                .store
                .write(move |c| Ok::<_, ServiceError>(c.job_received(&id, total, lease, now)?))
                .await?;
            if !alive {
                return Err(given_up());
            }
            self.renewed_at = now;
        }
        Ok(())
    }

    fn received_i64(&self) -> i64 {
        i64::try_from(self.total).unwrap_or(i64::MAX)
    }

    async fn flush(&mut self, state: &AppState) -> Result<(), ServiceError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Zeroizing::new(Vec::with_capacity(CHUNK)));
        let (id, seq) = (self.id.clone(), self.seq);
        let keyring = std::sync::Arc::clone(&state.keyring);
        let total = self.received_i64();
        let now = state.now().secs();
        let lease = now + state.config.job_lease_s;
        let alive = state
            .store
            .write(move |c| {
                // Only while the upload is alive (a sweep may have given it up).
                if !c.job_received(&id, total, lease, now)? {
                    return Ok(false);
                }
                // The chunk's row id is its seal context: insert, then seal under it.
                c.job_chunk_insert(&id, seq, "")?;
                let (chunk_id, _) = c
                    .job_chunk(&id, seq)?
                    .ok_or_else(|| ServiceError::internal("an upload", "the chunk vanished"))?;
                let sealed = crate::crypto::read(&keyring)?
                    .seal(&chunk_context(&chunk_id.to_string()), &data);
                c.job_chunk_seal(chunk_id, &sealed)?;
                Ok::<_, ServiceError>(true)
            })
            .await?;
        if !alive {
            return Err(given_up());
        }
        self.seq += 1;
        self.renewed_at = now;
        Ok(())
    }

    /// The upload is complete: checks the form and queues the job.
    pub async fn finish(
        mut self,
        state: &AppState,
        form: ImportForm,
    ) -> Result<JobCreated, ServiceError> {
        match self.check(&form) {
            Ok((params, key)) => {
                self.flush(state).await?;
                let sealed = key
                    .map(|k| state.ring().map(|r| r.seal(&key_context(&self.id), &k)))
                    .transpose()?;
                let params = serde_json::to_string(&params)
                    .map_err(|e| ServiceError::internal("an import's options", e))?;
                let (id, total, now) = (self.id.clone(), self.received_i64(), state.now().secs());
                let queued = state
                    .store
                    .write(move |c| {
                        Ok::<_, ServiceError>(c.job_queue(
                            &id,
                            &params,
                            sealed.as_deref(),
                            total,
                            now,
                        )?)
                    })
                    .await?;
                if !queued {
                    return Err(given_up());
                }
                state.jobs_notify.notify_one();
                Ok(JobCreated { job_id: self.id })
            }
            Err(e) => {
                self.abort(state, "the import form was refused").await;
                Err(e)
            }
        }
    }

    fn check(&self, form: &ImportForm) -> Result<(Params, KeyBytes), ServiceError> {
        if !self.file_seen {
            return Err(ServiceError::field("file", "file: required"));
        }
        let format = match (self.kind, form.format.as_deref().map(str::trim)) {
            (_, None | Some("")) => None,
            (JobKind::Tokens, Some(f)) => Some(
                Format::parse(f)
                    .ok_or_else(|| ServiceError::field("format", "format: pskc or csv"))?,
            ),
            (JobKind::Users, Some(f)) => match Format::parse(f) {
                Some(Format::Csv) => Some(Format::Csv),
                _ => return Err(ServiceError::field("format", "format: users files are csv")),
            },
        };
        let key = key_bytes(self.kind, form)?;
        if format == Some(Format::Csv) && key.is_some() {
            return Err(ServiceError::field(
                if form.psk.is_some() {
                    "psk"
                } else {
                    "password"
                },
                "a CSV file is not encrypted: give no psk or password",
            ));
        }
        let params = Params {
            format,
            dry_run: flag("dry_run", form.dry_run.as_deref())?,
            skip_bad: flag("skip_bad", form.skip_bad.as_deref())?,
            file_name: self.file_name.clone(),
        };
        Ok((params, key))
    }

    /// Gives up an upload (the client went away, the body was too large): the job fails
    /// and its chunks are deleted.
    pub async fn abort(self, state: &AppState, why: &str) {
        let (id, why, now) = (self.id, why.to_owned(), state.now().secs());
        let result = state
            .store
            .write(move |c| {
                Ok::<_, ServiceError>(c.job_finish(&id, None, "failed", Some(&why), now)?)
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "an aborted upload could not be marked failed");
        }
    }
}
