//! `GET /v1/users/export?format=csv`: every user in the users import layout, streamed a page
//! at a time (never the whole list in memory). Password hashes are left out unless asked
//! for (`password_hash=true`, to move users between SAE servers); asking is audited as a
//! disclosure. Exports, like imports, are for System Administrators.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use sae_core::import::csv::{UserCsvWriter, UserRecord};
use serde::Deserialize;

use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::error::ServiceError;
use crate::store::user_list::{After, UserFilter, UserOrder};

/// Users per page of the export.
const PAGE: i64 = 500;

/// `GET /v1/users/export` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (the only format, and the default; empty means the default).
    #[param(pattern = r"^(?:[Cc][Ss][Vv])?$")]
    pub format: Option<String>,
    /// Include the stored password hashes (audited as a disclosure).
    pub password_hash: Option<bool>,
}

/// Where the CSV writer writes: the bytes of the page being produced.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An export under way.
pub struct Export {
    cursor: i64,
    finished: bool,
    with_hash: bool,
    sink: Sink,
    writer: UserCsvWriter<Sink>,
}

fn write_error(e: sae_core::import::csv::CsvError) -> ServiceError {
    ServiceError::internal("writing the users export", e)
}

/// Starts an export (checked and audited before the first byte).
pub async fn start(
    state: &AppState,
    caller: &Caller,
    q: ExportQuery,
) -> Result<Export, ServiceError> {
    caller.require_admin()?;
    if q.format
        .as_deref()
        .is_some_and(|f| !f.is_empty() && !f.eq_ignore_ascii_case("csv"))
    {
        return Err(ServiceError::field(
            "format",
            "format: csv is the only format (or leave it out)",
        ));
    }
    let with_hash = q.password_hash.unwrap_or(false);
    caller
        .audit(
            if with_hash {
                "users.export.password_hashes"
            } else {
                "users.export"
            },
            state.now(),
        )
        .detail(serde_json::json!({"format": "csv", "password_hash": with_hash}))
        .record(state)
        .await?;
    let sink = Sink::default();
    let writer = UserCsvWriter::new(sink.clone()).map_err(write_error)?;
    Ok(Export {
        cursor: 0,
        finished: false,
        with_hash,
        sink,
        writer,
    })
}

impl Export {
    /// The next bytes of the file (the header comes with the first page), or `None` at the
    /// end.
    pub async fn next_chunk(&mut self, state: &AppState) -> Result<Option<Vec<u8>>, ServiceError> {
        if self.finished {
            return Ok(None);
        }
        let cursor = self.cursor;
        let rows = state
            .store
            .read(move |c| {
                Ok::<_, ServiceError>(c.users_page(
                    &UserFilter::default(),
                    UserOrder::Id,
                    false,
                    &if cursor > 0 {
                        After::Row(cursor, None)
                    } else {
                        After::Start
                    },
                    PAGE,
                )?)
            })
            .await?;
        if rows.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
            self.finished = true;
        }
        for (user, wallet) in &rows {
            self.cursor = user.id;
            self.writer
                .write(&UserRecord {
                    login: &user.login,
                    name: user.name.as_deref(),
                    email: user.email.as_deref(),
                    document: user.document.as_deref(),
                    mobile: user.mobile.as_deref(),
                    wallet: wallet.as_deref(),
                    password_hash: user.password_hash.as_deref().filter(|_| self.with_hash),
                })
                .map_err(write_error)?;
        }
        self.writer.flush().map_err(write_error)?;
        let bytes =
            std::mem::take(&mut *self.sink.0.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(Some(bytes))
    }
}
