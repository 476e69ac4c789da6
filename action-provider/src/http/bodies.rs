//! The request bodies of the API and the schema each is checked against (the one the
//! OpenAPI document gives it; see [`super::body_check`]).

use sae_core::config::ImConfigInput;
use sae_core::lockout::{AdminLockoutInput, LockoutConfigInput};
use sae_core::password::PasswordPolicyInput;
use sae_core::rules::mfa::MfaRules;
use sae_core::rules::user_authsys::UserAuthsysList;

use super::admin::session::Login as SessionLogin;
use super::auth::PasswordAuth;
use super::otp::{Request, Validate};
use crate::request_bodies;
use crate::service::admins::{CreateAdmin, UpdateAdmin};
use crate::service::apikeys::CreateKey;
use crate::service::credentials::SetPassword;
use crate::service::delivery::{EmailSettings, SmsTest};
use crate::service::devices::NewDevice;
use crate::service::enrol::Enrol;
use crate::service::hash_auth::HashInput;
use crate::service::inbound::InboundBody;
use crate::service::inventory::Assign;
use crate::service::messages::TemplateBody;
use crate::service::notifications::NotificationSettings;
use crate::service::oauth2::ProfileBody;
use crate::service::policies::Retention;
use crate::service::resync::Resync;
use crate::service::rules::{AuthsysBody, PasswordTest};
use crate::service::schemas;
use crate::service::smtp::{AccountBody, TestBody};
use crate::service::users::{CreateUser, UpdateUser};
use crate::service::wallets::WalletBody;

request_bodies! {
    CreateAdmin, UpdateAdmin, CreateKey, SetPassword, SmsTest, NewDevice, HashInput,
    Retention, PasswordTest, TestBody, Assign, Resync,
    TemplateBody => schemas::TemplateNew,
    Change<TemplateBody> => schemas::TemplateChange,
    Enrol => schemas::Enrolment,
    ProfileBody => schemas::ProfileNew,
    Change<ProfileBody> => schemas::ProfileChange,
    InboundBody => schemas::InboundNew,
    Change<InboundBody> => schemas::InboundChange,
    NotificationSettings => schemas::Notifications,
    EmailSettings,
    AccountBody => schemas::AccountNew,
    Change<AccountBody> => schemas::AccountChange,
    CreateUser, UpdateUser, WalletBody, SessionLogin, PasswordAuth, Request, Validate,
    AuthsysBody => schemas::AuthsysRules,
    ImConfigInput => schemas::ImConfig,
    LockoutConfigInput => schemas::LockoutConfig,
    AdminLockoutInput => schemas::AdminLockoutConfig,
    PasswordPolicyInput => schemas::PasswordPolicy,
    MfaRules => schemas::MfaRules,
    UserAuthsysList => schemas::UserAuthsys,
    GroupBody => schemas::AdminGroup,
}

/// The body of `POST /v1/admin-groups` and `PUT /v1/admin-groups/{name}` (parsed by the
/// service into a group; its shape is [`schemas::AdminGroup`]).
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct GroupBody(pub serde_json::Value);

/// The body of a `PUT` whose schema differs from its `POST`'s (a secret or an id that may be
/// left out when changing).
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct Change<T>(pub T);
