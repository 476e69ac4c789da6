//! The `oauth2_profiles` and `oauth2_pending` tables: OAuth2 clients with their sealed
//! secrets and tokens, and authorizations in progress (state + PKCE verifier).

use diesel::prelude::*;

use super::schema::{oauth2_pending, oauth2_profiles, smtp_accounts};

/// Seconds a pending authorization (state + PKCE verifier) stays usable.
pub const PENDING_TTL_S: i64 = 600;

/// A stored OAuth2 profile. Secrets are sealed; `Debug` is not derived.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = oauth2_profiles)]
pub struct ProfileRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Provider authorization endpoint (authorization code flow).
    pub authorization_url: Option<String>,
    /// Provider token endpoint.
    pub token_url: String,
    /// Our callback URL as registered at the provider.
    pub redirect_url: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Sealed client secret (the service account's JSON key for the JWT bearer flow).
    pub client_secret_enc: String,
    /// Space-separated scopes.
    pub scope: String,
    /// `authorization_code`, `client_credentials` or `jwt_bearer`.
    pub flow: String,
    /// A token is stored and the last token operation succeeded.
    pub valid: bool,
    /// Sealed access token.
    pub access_token_enc: Option<String>,
    /// Sealed refresh token.
    pub refresh_token_enc: Option<String>,
    /// Access token expiry, unix seconds.
    pub expires_at: Option<i64>,
    /// Last time a token was obtained, unix seconds.
    pub last_refresh_at: Option<i64>,
    /// Last token error text (never a secret).
    pub last_error: Option<String>,
    /// The mailbox the authorization was made for.
    pub authorized_mailbox: Option<String>,
    /// The refresh token was refused: an administrator must authorise again.
    pub needs_reauthorization: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last change of the settings.
    pub updated_at: i64,
    /// Tokens are obtained and used only while enabled.
    pub enabled: bool,
    /// When the client secret expires at the provider (unix seconds).
    pub client_secret_expires_at: Option<i64>,
    /// The mailbox a JWT bearer profile's assertions impersonate (`sub`).
    pub subject: Option<String>,
}

/// The settings of a profile, as inserted or replaced (the secret is set apart).
#[derive(Clone, Insertable, AsChangeset)]
#[diesel(table_name = oauth2_profiles, treat_none_as_null = true)]
pub struct ProfileSettingsRow {
    /// Unique name.
    pub name: String,
    /// Provider authorization endpoint.
    pub authorization_url: Option<String>,
    /// Provider token endpoint.
    pub token_url: String,
    /// Callback URL.
    pub redirect_url: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Flow name.
    pub flow: String,
    /// Tokens are obtained and used only while enabled.
    pub enabled: bool,
    /// When the client secret expires at the provider.
    pub client_secret_expires_at: Option<i64>,
    /// The mailbox a JWT bearer profile's assertions impersonate.
    pub subject: Option<String>,
    /// Last change.
    pub updated_at: i64,
}

/// Tokens obtained from the provider, sealed.
pub struct SealedTokens {
    /// Sealed access token.
    pub access: String,
    /// Sealed refresh token, if any.
    pub refresh: Option<String>,
    /// Expiry, unix seconds.
    pub expires_at: Option<i64>,
}

/// A pending authorization.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_pending)]
pub struct PendingRow {
    /// The single-use `state`.
    pub state: String,
    /// The profile being authorised.
    pub profile_id: i64,
    /// Sealed PKCE verifier.
    pub pkce_verifier_enc: String,
    /// The mailbox asked for (`login_hint`).
    pub login_hint: Option<String>,
    /// Creation time.
    pub created_at: i64,
}

/// Queries of the OAuth2 tables.
pub trait OAuth2 {
    /// Inserts a profile; returns its id.
    fn profile_insert(
        &mut self,
        settings: &ProfileSettingsRow,
        secret_enc: &str,
        now: i64,
    ) -> QueryResult<i64>;
    /// One profile.
    fn profile_get(&mut self, id: i64) -> QueryResult<Option<ProfileRow>>;
    /// Whether another profile (not `except`) has this name.
    fn profile_name_taken(&mut self, name: &str, except: Option<i64>) -> QueryResult<bool>;
    /// A page of profiles by id after `cursor`.
    fn profiles_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<ProfileRow>>;
    /// Replaces a profile's settings and, when given, its sealed secret; returns whether it
    /// existed.
    fn profile_update(
        &mut self,
        id: i64,
        settings: &ProfileSettingsRow,
        secret_enc: Option<&str>,
    ) -> QueryResult<bool>;
    /// Deletes a profile; returns whether it existed.
    fn profile_delete(&mut self, id: i64) -> QueryResult<bool>;
    /// Names of the accounts using a profile.
    fn profile_users(&mut self, id: i64) -> QueryResult<Vec<String>>;
    /// The mailbox (username) of the first OAuth2 account using a profile.
    fn profile_mailbox(&mut self, id: i64) -> QueryResult<Option<String>>;
    /// Stores new tokens: clears the error and the re-authorization mark, sets `valid`.
    /// `mailbox`, when given, replaces the authorized mailbox.
    fn profile_tokens_ok(
        &mut self,
        id: i64,
        tokens: &SealedTokens,
        mailbox: Option<Option<&str>>,
        now: i64,
    ) -> QueryResult<()>;
    /// Records a token failure (and, for a refused grant, the need to authorise again).
    fn profile_token_failed(
        &mut self,
        id: i64,
        error: &str,
        needs_reauthorization: bool,
    ) -> QueryResult<()>;
    /// Forgets the profile's access and refresh tokens (and their expiry).
    fn profile_drop_tokens(&mut self, id: i64) -> QueryResult<()>;
    /// Stores a pending authorization and drops expired ones.
    fn pending_insert(&mut self, pending: &PendingRow, now: i64) -> QueryResult<()>;
    /// Removes and returns a pending authorization if it is not expired (single use).
    fn pending_take(&mut self, state: &str, now: i64) -> QueryResult<Option<PendingRow>>;
}

for_both_backends! {
    impl OAuth2 {
        fn profile_insert(&mut self, settings: &ProfileSettingsRow, secret_enc: &str, now: i64) -> QueryResult<i64> {
            diesel::insert_into(oauth2_profiles::table)
                .values((settings, oauth2_profiles::client_secret_enc.eq(secret_enc), oauth2_profiles::created_at.eq(now)))
                .returning(oauth2_profiles::id)
                .get_result(self)
        }

        fn profile_get(&mut self, id: i64) -> QueryResult<Option<ProfileRow>> {
            oauth2_profiles::table.filter(oauth2_profiles::id.eq(id)).select(ProfileRow::as_select()).first(self).optional()
        }

        fn profile_name_taken(&mut self, name: &str, except: Option<i64>) -> QueryResult<bool> {
            let found: Option<i64> = oauth2_profiles::table
                .filter(oauth2_profiles::name.eq(name))
                .filter(oauth2_profiles::id.ne(except.unwrap_or(-1)))
                .select(oauth2_profiles::id)
                .first(self)
                .optional()?;
            Ok(found.is_some())
        }

        fn profiles_page(&mut self, cursor: i64, limit: i64) -> QueryResult<Vec<ProfileRow>> {
            oauth2_profiles::table
                .filter(oauth2_profiles::id.gt(cursor))
                .order(oauth2_profiles::id)
                .limit(limit)
                .select(ProfileRow::as_select())
                .load(self)
        }

        fn profile_update(&mut self, id: i64, settings: &ProfileSettingsRow, secret_enc: Option<&str>) -> QueryResult<bool> {
            let target = oauth2_profiles::table.filter(oauth2_profiles::id.eq(id));
            let n = diesel::update(target).set(settings).execute(self)?;
            if let Some(secret) = secret_enc {
                diesel::update(target).set(oauth2_profiles::client_secret_enc.eq(secret)).execute(self)?;
            }
            Ok(n == 1)
        }

        fn profile_delete(&mut self, id: i64) -> QueryResult<bool> {
            diesel::delete(oauth2_profiles::table.filter(oauth2_profiles::id.eq(id))).execute(self).map(|n| n == 1)
        }

        fn profile_users(&mut self, id: i64) -> QueryResult<Vec<String>> {
            smtp_accounts::table
                .filter(smtp_accounts::oauth2_profile_id.eq(id))
                .order(smtp_accounts::id)
                .select(smtp_accounts::name)
                .load(self)
        }

        fn profile_mailbox(&mut self, id: i64) -> QueryResult<Option<String>> {
            let found: Option<Option<String>> = smtp_accounts::table
                .filter(smtp_accounts::oauth2_profile_id.eq(id))
                .filter(smtp_accounts::auth.eq("oauth2"))
                .filter(smtp_accounts::username.is_not_null())
                .order(smtp_accounts::id)
                .select(smtp_accounts::username)
                .first(self)
                .optional()?;
            Ok(found.flatten())
        }

        fn profile_tokens_ok(&mut self, id: i64, tokens: &SealedTokens, mailbox: Option<Option<&str>>, now: i64) -> QueryResult<()> {
            let target = oauth2_profiles::table.filter(oauth2_profiles::id.eq(id));
            diesel::update(target)
                .set((
                    oauth2_profiles::access_token_enc.eq(Some(tokens.access.as_str())),
                    oauth2_profiles::refresh_token_enc.eq(tokens.refresh.as_deref()),
                    oauth2_profiles::expires_at.eq(tokens.expires_at),
                    oauth2_profiles::last_refresh_at.eq(Some(now)),
                    oauth2_profiles::last_error.eq(None::<String>),
                    oauth2_profiles::needs_reauthorization.eq(false),
                    oauth2_profiles::valid.eq(true),
                ))
                .execute(self)?;
            if let Some(mailbox) = mailbox {
                diesel::update(target).set(oauth2_profiles::authorized_mailbox.eq(mailbox)).execute(self)?;
            }
            Ok(())
        }

        fn profile_token_failed(&mut self, id: i64, error: &str, needs_reauthorization: bool) -> QueryResult<()> {
            let target = oauth2_profiles::table.filter(oauth2_profiles::id.eq(id));
            diesel::update(target)
                .set((oauth2_profiles::last_error.eq(Some(error)), oauth2_profiles::valid.eq(false)))
                .execute(self)?;
            if needs_reauthorization {
                diesel::update(target).set(oauth2_profiles::needs_reauthorization.eq(true)).execute(self)?;
            }
            Ok(())
        }

        fn profile_drop_tokens(&mut self, id: i64) -> QueryResult<()> {
            diesel::update(oauth2_profiles::table.filter(oauth2_profiles::id.eq(id)))
                .set((
                    oauth2_profiles::access_token_enc.eq(None::<String>),
                    oauth2_profiles::refresh_token_enc.eq(None::<String>),
                    oauth2_profiles::expires_at.eq(None::<i64>),
                    oauth2_profiles::valid.eq(false),
                ))
                .execute(self)
                .map(|_| ())
        }

        fn pending_insert(&mut self, pending: &PendingRow, now: i64) -> QueryResult<()> {
            diesel::delete(oauth2_pending::table.filter(oauth2_pending::created_at.le(now - PENDING_TTL_S))).execute(self)?;
            diesel::insert_into(oauth2_pending::table).values(pending).execute(self).map(|_| ())
        }

        fn pending_take(&mut self, state: &str, now: i64) -> QueryResult<Option<PendingRow>> {
            let row: Option<PendingRow> = diesel::delete(oauth2_pending::table.filter(oauth2_pending::state.eq(state)))
                .returning(PendingRow::as_returning())
                .get_result(self)
                .optional()?;
            Ok(row.filter(|r| r.created_at > now - PENDING_TTL_S))
        }

    }
}
