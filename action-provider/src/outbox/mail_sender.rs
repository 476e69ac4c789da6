//! [`MailSender`], the outbox sender of the `email` channel: code mails (tracked
//! Message-ID and VERP) and, through [`MailSender::send_mail`], notifications, sent through
//! the active accounts in failover order.

use std::future::Future;
use std::pin::Pin;

use delivery::email::smtp::Tracking;
use delivery::email::{
    AccountRole, ErrorClass, MailKind, Outcome, OutgoingMail, SmtpAccount, failover_order,
    send_with_failover,
};

use super::email::{AccountTokens, DEFAULT_SUBJECT, MailError, Tokens, account_from_row};
use super::{AttemptReport, Context, Payload, SendReport, Sender};
use crate::store::outbox::ClaimedJob;

/// The outbox sender of the `email` channel.
pub struct MailSender {
    tokens: Tokens,
}

impl MailSender {
    /// A sender over the server's accounts and profiles.
    pub fn new(ctx: Context) -> Result<Self, MailError> {
        Ok(Self {
            tokens: Tokens::new(ctx)?,
        })
    }

    async fn deliver(&self, job: &ClaimedJob, payload: &Payload) -> Result<SendReport, MailError> {
        let subject = payload.subject.as_deref().unwrap_or(DEFAULT_SUBJECT);
        let mut mail =
            match OutgoingMail::new(&payload.to, subject, payload.text.as_str(), MailKind::Code) {
                Ok(mail) => mail,
                Err(e) => return Ok(SendReport::failed(e.to_string(), false)),
            };
        // The Message-ID (and VERP return path) name the request and attempt, so a bounce
        // finds its way back. Request ids are hexadecimal; anything else goes untracked.
        match Tracking::new(&job.request_id, u32::try_from(job.attempts).unwrap_or(0)) {
            Ok(tracking) => mail = mail.with_tracking(tracking),
            Err(e) => tracing::warn!(request = %job.request_id, error = %e, "mail sent untracked"),
        }
        self.send_mail(&mail).await
    }

    /// Sends `mail` through the active accounts in failover order (the default first).
    pub async fn send_mail(&self, mail: &OutgoingMail) -> Result<SendReport, MailError> {
        let rows = self
            .tokens
            .ctx
            .store
            .read(|c| Ok::<_, MailError>(c.accounts_active()?))
            .await?;
        let accounts = {
            let ring = crate::crypto::read(&self.tokens.ctx.keyring)?;
            rows.iter()
                .filter_map(|row| match account_from_row(&ring, row) {
                    Ok(account) => Some((
                        account,
                        AccountRole {
                            active: row.active,
                            default: row.is_default,
                            forced: row.force_use,
                        },
                        row.oauth2_profile_id,
                    )),
                    Err(e) => {
                        tracing::warn!(error = %e, "SMTP account skipped");
                        None
                    }
                })
                .collect::<Vec<_>>()
        };
        if accounts.is_empty() {
            return Ok(SendReport::failed(
                "no active SMTP account is configured",
                true,
            ));
        }
        let profiles = accounts
            .iter()
            .filter_map(|(a, _, p)| p.map(|p| (a.name().to_owned(), p)))
            .collect();
        let provider = AccountTokens::new(&self.tokens, profiles);
        let order: Vec<&SmtpAccount> = failover_order(&accounts, role_of)
            .into_iter()
            .map(account_of)
            .collect();
        let report = send_with_failover(order, mail, &provider).await;
        let attempts: Vec<AttemptReport> = report
            .attempts()
            .iter()
            .map(|a| AttemptReport {
                broker: a.account().to_owned(),
                delivered: a.outcome() == Outcome::Delivered,
                http_status: None,
                error: a.error().map(str::to_owned),
                latency_ms: u64::try_from(a.latency().as_millis()).unwrap_or(u64::MAX),
                excerpt: a.reply().map(str::to_owned),
                message_id: a.message_id().map(str::to_owned),
            })
            .collect();
        let delivered = report.delivered_by().is_some();
        let error = (!delivered).then(|| {
            attempts
                .last()
                .and_then(|a| a.error.clone())
                .unwrap_or_else(|| "no account delivered".into())
        });
        Ok(SendReport {
            attempts,
            delivered,
            retryable: report.final_failure() != Some(ErrorClass::Recipient),
            error,
        })
    }
}

type Candidate = (SmtpAccount, AccountRole, Option<i64>);

fn role_of(candidate: &Candidate) -> AccountRole {
    candidate.1
}

fn account_of(candidate: &Candidate) -> &SmtpAccount {
    &candidate.0
}

impl Sender for MailSender {
    fn send<'a>(
        &'a self,
        job: &'a ClaimedJob,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        Box::pin(async move {
            self.deliver(job, payload)
                .await
                .unwrap_or_else(|e| SendReport::failed(e.to_string(), true))
        })
    }
}
