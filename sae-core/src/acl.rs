//! Administrator groups and their ACL over users and wallets (SPEC §4.7).
//!
//! The built-in "System Administrator" group may do everything. Any other group starts with
//! everything denied. Per group:
//! - `may_modify`: whether it may create, update or delete users and wallets at all. Without
//!   it, every field is at most viewable, whatever is configured.
//! - per field of a user ([`UserField`]) and of a wallet ([`WalletField`]): `none` (hidden),
//!   `view` or `edit`.
//!
//! JSON: `{name, may_modify, users: {field: "none"|"view"|"edit"}, wallets: {...}}`; omitted
//! fields are `none`, unknown members and unknown field names are refused.
//!
//! The API enforces this on every administrator request: [`AdminGroup::filter_view`] removes
//! hidden fields from a resource before it is returned, [`AdminGroup::check_update`],
//! [`AdminGroup::check_create`] and [`AdminGroup::check_delete`] refuse changes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The name of the built-in group that may do everything.
pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";
/// Longest group name, in characters.
pub const GROUP_NAME_MAX_CHARS: usize = 64;
/// Members of a user or wallet object that every group sees (identity and timestamps).
pub const ALWAYS_VISIBLE: [&str; 3] = ["id", "created_at", "updated_at"];

/// Errors of the ACL: refused requests and invalid groups.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// The group may not see this field, so it may not change it either.
    #[error("{field}: this {resource} field is not visible to the administrator's group")]
    FieldHidden {
        /// The resource.
        resource: Resource,
        /// The field's API name.
        field: &'static str,
    },
    /// The group may see but not edit this field.
    #[error("{field}: this {resource} field is read-only for the administrator's group")]
    FieldReadOnly {
        /// The resource.
        resource: Resource,
        /// The field's API name.
        field: &'static str,
    },
    /// The group may not create, update or delete resources of this kind.
    #[error("the administrator's group may not modify {resource}s")]
    ModifyDenied {
        /// The resource.
        resource: Resource,
    },
    /// The group name is empty, too long or has control characters.
    #[error("name: {reason}")]
    InvalidGroupName {
        /// Why it is refused.
        reason: &'static str,
    },
    /// The name of the built-in group was used for another group.
    #[error("name: \"System Administrator\" is the built-in group's name")]
    ReservedGroupName,
    /// The built-in group cannot be changed.
    #[error("name: the built-in \"System Administrator\" group cannot be changed")]
    BuiltinGroupImmutable,
}

impl AclError {
    /// The API field the error is about (the resource name when no field is involved).
    pub fn field(&self) -> &'static str {
        match self {
            Self::FieldHidden { field, .. } | Self::FieldReadOnly { field, .. } => field,
            Self::ModifyDenied { resource } => resource.as_str(),
            Self::InvalidGroupName { .. }
            | Self::ReservedGroupName
            | Self::BuiltinGroupImmutable => "name",
        }
    }
}

/// A group's access to one field. Ordered: `None` < `View` < `Edit`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Hidden.
    #[default]
    None,
    /// Visible, not editable.
    View,
    /// Visible and editable.
    Edit,
}

/// The kinds of resources the ACL covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    /// Users (identities of the IM).
    User,
    /// Wallets (portfolios of users).
    Wallet,
}

impl Resource {
    /// The API name: `user` or `wallet`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Wallet => "wallet",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of a resource under ACL: implemented by [`UserField`] and [`WalletField`].
pub trait AclField: Copy + Eq + Ord + fmt::Debug + 'static {
    /// The resource the field belongs to.
    const RESOURCE: Resource;
    /// Every field, in order.
    const ALL: &'static [Self];
    /// Fields that creating or deleting a resource needs `edit` on.
    const REQUIRED: &'static [Self];
    /// The field's API name.
    fn as_str(self) -> &'static str;
    /// The field a member of the resource's JSON object belongs to (see the field docs).
    fn from_key(key: &str) -> Option<Self>;
    /// Position in [`Self::ALL`].
    fn index(self) -> usize;
}

/// Fields of a user under ACL. Members of the user's JSON object map to them by name, with
/// these extras: `locked_until`, `lock_factor`, `disabled` and `failures` belong to `status`;
/// `has_password`, `password_hash`, `current_password`, `password_changed_at` and
/// `password_expires_at` to `password`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserField {
    /// `login` (needed with `edit` to create or delete a user).
    Login,
    /// `name`.
    Name,
    /// `email`.
    Email,
    /// `document`.
    Document,
    /// `mobile`.
    Mobile,
    /// `wallet` the user belongs to.
    Wallet,
    /// `status` (active, disabled, locked…), lock time and failure counters; `edit` allows
    /// unlocking.
    Status,
    /// `password`: setting it, and its change/expiry dates.
    Password,
    /// `authsys`: the user's AuthSys, claims and values (values are credentials).
    Authsys,
    /// `tokens`: OTP tokens (enrolment, removal).
    Tokens,
    /// `devices`.
    Devices,
}

impl AclField for UserField {
    const RESOURCE: Resource = Resource::User;
    const ALL: &'static [Self] = &[
        Self::Login,
        Self::Name,
        Self::Email,
        Self::Document,
        Self::Mobile,
        Self::Wallet,
        Self::Status,
        Self::Password,
        Self::Authsys,
        Self::Tokens,
        Self::Devices,
    ];
    const REQUIRED: &'static [Self] = &[Self::Login];

    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Name => "name",
            Self::Email => "email",
            Self::Document => "document",
            Self::Mobile => "mobile",
            Self::Wallet => "wallet",
            Self::Status => "status",
            Self::Password => "password",
            Self::Authsys => "authsys",
            Self::Tokens => "tokens",
            Self::Devices => "devices",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "locked_until" | "failures" | "lock_factor" | "disabled" => Some(Self::Status),
            "has_password"
            | "password_hash"
            | "current_password"
            | "password_changed_at"
            | "password_expires_at" => Some(Self::Password),
            _ => Self::ALL
                .iter()
                .copied()
                .find(|field| field.as_str() == key),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Fields of a wallet under ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletField {
    /// `name` (needed with `edit` to create or delete a wallet).
    Name,
    /// `description`.
    Description,
}

impl AclField for WalletField {
    const RESOURCE: Resource = Resource::Wallet;
    const ALL: &'static [Self] = &[Self::Name, Self::Description];
    const REQUIRED: &'static [Self] = &[Self::Name];

    fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Description => "description",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|field| field.as_str() == key)
    }

    fn index(self) -> usize {
        self as usize
    }
}

const USER_FIELDS: usize = UserField::ALL.len();
const WALLET_FIELDS: usize = WalletField::ALL.len();

/// An administrator group and its ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AdminGroupInput", into = "AdminGroupInput")]
pub struct AdminGroup {
    name: String,
    builtin: bool,
    may_modify: bool,
    users: [Access; USER_FIELDS],
    wallets: [Access; WALLET_FIELDS],
}

/// The JSON form of an [`AdminGroup`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminGroupInput {
    name: String,
    #[serde(default)]
    may_modify: bool,
    #[serde(default)]
    users: BTreeMap<UserField, Access>,
    #[serde(default)]
    wallets: BTreeMap<WalletField, Access>,
}

impl TryFrom<AdminGroupInput> for AdminGroup {
    type Error = AclError;

    fn try_from(input: AdminGroupInput) -> Result<Self, Self::Error> {
        let mut group = Self::new(input.name)?;
        group.may_modify = input.may_modify;
        for (field, access) in input.users {
            group.users[field.index()] = access;
        }
        for (field, access) in input.wallets {
            group.wallets[field.index()] = access;
        }
        Ok(group)
    }
}

impl From<AdminGroup> for AdminGroupInput {
    fn from(group: AdminGroup) -> Self {
        Self {
            users: UserField::ALL
                .iter()
                .map(|f| (*f, group.users[f.index()]))
                .collect(),
            wallets: WalletField::ALL
                .iter()
                .map(|f| (*f, group.wallets[f.index()]))
                .collect(),
            name: group.name,
            may_modify: group.may_modify,
        }
    }
}

impl AdminGroup {
    /// The built-in group: may modify, every field `edit`, and [`Self::filter_view`] keeps
    /// every member.
    pub fn system_administrator() -> Self {
        Self {
            name: SYSTEM_ADMINISTRATOR.to_owned(),
            builtin: true,
            may_modify: true,
            users: [Access::Edit; USER_FIELDS],
            wallets: [Access::Edit; WALLET_FIELDS],
        }
    }

    /// A new group that denies everything. The name is trimmed; it must not be empty, be
    /// longer than 64 characters, contain control characters or be "System Administrator"
    /// (in any case).
    pub fn new(name: impl Into<String>) -> Result<Self, AclError> {
        let name = name.into();
        let name = name.trim();
        let refuse = |reason| Err(AclError::InvalidGroupName { reason });
        if name.is_empty() {
            return refuse("must not be empty");
        }
        if name.chars().any(char::is_control) {
            return refuse("must not contain control characters");
        }
        if name.chars().count() > GROUP_NAME_MAX_CHARS {
            return refuse("is longer than 64 characters");
        }
        if name.eq_ignore_ascii_case(SYSTEM_ADMINISTRATOR) {
            return Err(AclError::ReservedGroupName);
        }
        Ok(Self {
            name: name.to_owned(),
            builtin: false,
            may_modify: false,
            users: [Access::None; USER_FIELDS],
            wallets: [Access::None; WALLET_FIELDS],
        })
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the built-in System Administrator group.
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// Whether the group may create, update or delete users and wallets.
    pub fn may_modify(&self) -> bool {
        self.may_modify
    }

    /// Sets `may_modify`; the built-in group cannot be changed.
    pub fn set_may_modify(&mut self, may_modify: bool) -> Result<(), AclError> {
        self.refuse_builtin()?;
        self.may_modify = may_modify;
        Ok(())
    }

    /// Sets the access to one field; the built-in group cannot be changed.
    pub fn set_access<F: AclField>(&mut self, field: F, access: Access) -> Result<(), AclError> {
        self.refuse_builtin()?;
        if let Some(slot) = self.slot_mut(field) {
            *slot = access;
        }
        Ok(())
    }

    /// The access configured for a field (before `may_modify` is applied).
    pub fn configured_access<F: AclField>(&self, field: F) -> Access {
        let slots: &[Access] = match F::RESOURCE {
            Resource::User => &self.users,
            Resource::Wallet => &self.wallets,
        };
        slots.get(field.index()).copied().unwrap_or(Access::None)
    }

    /// The access in effect for a field: the configured one, at most `view` without
    /// `may_modify`.
    pub fn access<F: AclField>(&self, field: F) -> Access {
        let configured = self.configured_access(field);
        if self.may_modify {
            configured
        } else {
            configured.min(Access::View)
        }
    }

    /// Whether the group may see at least one field of resources of kind `F`.
    pub fn may_view_any<F: AclField>(&self) -> bool {
        F::ALL
            .iter()
            .any(|field| self.access(*field) >= Access::View)
    }

    /// Removes from a resource's JSON object every member the group may not view: members of
    /// hidden fields and members that belong to no field (except [`ALWAYS_VISIBLE`]). An
    /// array is filtered element by element. The built-in group sees everything.
    pub fn filter_view<F: AclField>(&self, resource: &mut Value) {
        if self.builtin {
            return;
        }
        match resource {
            Value::Object(members) => members.retain(|key, _| {
                ALWAYS_VISIBLE.contains(&key.as_str())
                    || F::from_key(key).is_some_and(|field| self.access(field) >= Access::View)
            }),
            Value::Array(items) => {
                for item in items.iter_mut().filter(|item| item.is_object()) {
                    self.filter_view::<F>(item);
                }
            }
            _ => {}
        }
    }

    /// Checks an update touching `fields`: refused with the first field that is hidden or not
    /// editable (every field is at most viewable without `may_modify`), or when the group may
    /// not modify and the update touches nothing.
    pub fn check_update<F: AclField>(
        &self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), AclError> {
        let mut touched = false;
        for field in fields {
            touched = true;
            self.check_edit(field)?;
        }
        if !touched && !self.may_modify {
            return Err(AclError::ModifyDenied {
                resource: F::RESOURCE,
            });
        }
        Ok(())
    }

    /// Checks creating a resource with `fields` set: needs `may_modify`, `edit` on the
    /// required fields (user: `login`; wallet: `name`) and on every field set.
    pub fn check_create<F: AclField>(
        &self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), AclError> {
        self.check_delete::<F>()?;
        fields
            .into_iter()
            .try_for_each(|field| self.check_edit(field))
    }

    /// Checks deleting a resource: needs `may_modify` and `edit` on the required fields.
    pub fn check_delete<F: AclField>(&self) -> Result<(), AclError> {
        if !self.may_modify {
            return Err(AclError::ModifyDenied {
                resource: F::RESOURCE,
            });
        }
        F::REQUIRED
            .iter()
            .try_for_each(|field| self.check_edit(*field))
    }

    fn check_edit<F: AclField>(&self, field: F) -> Result<(), AclError> {
        let (resource, name) = (F::RESOURCE, field.as_str());
        match self.access(field) {
            Access::Edit => Ok(()),
            Access::View => Err(AclError::FieldReadOnly {
                resource,
                field: name,
            }),
            Access::None => Err(AclError::FieldHidden {
                resource,
                field: name,
            }),
        }
    }

    fn slot_mut<F: AclField>(&mut self, field: F) -> Option<&mut Access> {
        match F::RESOURCE {
            Resource::User => self.users.get_mut(field.index()),
            Resource::Wallet => self.wallets.get_mut(field.index()),
        }
    }

    fn refuse_builtin(&self) -> Result<(), AclError> {
        if self.builtin {
            Err(AclError::BuiltinGroupImmutable)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_json() -> Value {
        json!({
            "id": 7, "login": "ana", "name": "Ana", "email": "ana@example.com",
            "document": "12345678909", "mobile": "5511912345678", "wallet": "w1",
            "status": "active", "locked_until": null, "password_expires_at": null,
            "authsys": [], "tokens": [], "devices": [], "internal_note": "x"
        })
    }

    fn view_only() -> AdminGroup {
        let mut group = AdminGroup::new("Help desk").unwrap();
        for field in UserField::ALL {
            group.set_access(*field, Access::View).unwrap();
        }
        group
    }

    #[test]
    fn view_only_group_cannot_update_mobile() {
        let group = view_only();
        let err = group.check_update([UserField::Mobile]).unwrap_err();
        assert_eq!(
            err,
            AclError::FieldReadOnly {
                resource: Resource::User,
                field: "mobile"
            }
        );
        assert_eq!(err.field(), "mobile");
        assert!(err.to_string().starts_with("mobile:"), "{err}");
        // Configured edit does not help without may_modify.
        let mut group = group;
        group.set_access(UserField::Mobile, Access::Edit).unwrap();
        assert_eq!(
            group.check_update([UserField::Mobile]).unwrap_err().field(),
            "mobile"
        );
        group.set_may_modify(true).unwrap();
        assert!(group.check_update([UserField::Mobile]).is_ok());
        assert_eq!(
            group
                .check_update([UserField::Mobile, UserField::Email])
                .unwrap_err()
                .field(),
            "email"
        );
    }

    #[test]
    fn first_refused_field_is_named() {
        let mut group = AdminGroup::new("Ops").unwrap();
        group.set_may_modify(true).unwrap();
        group.set_access(UserField::Name, Access::Edit).unwrap();
        group.set_access(UserField::Email, Access::View).unwrap();
        let rows: [(&[UserField], Result<(), AclError>); 4] = [
            (&[UserField::Name], Ok(())),
            (
                &[UserField::Name, UserField::Document, UserField::Email],
                Err(AclError::FieldHidden {
                    resource: Resource::User,
                    field: "document",
                }),
            ),
            (
                &[UserField::Email, UserField::Document],
                Err(AclError::FieldReadOnly {
                    resource: Resource::User,
                    field: "email",
                }),
            ),
            (&[], Ok(())),
        ];
        for (fields, expected) in rows {
            assert_eq!(
                group.check_update(fields.iter().copied()),
                expected,
                "row {fields:?}"
            );
        }
    }

    #[test]
    fn system_administrator_allows_everything() {
        let admin = AdminGroup::system_administrator();
        assert!(admin.check_update(UserField::ALL.iter().copied()).is_ok());
        assert!(admin.check_update(WalletField::ALL.iter().copied()).is_ok());
        assert!(admin.check_create(UserField::ALL.iter().copied()).is_ok());
        assert!(admin.check_delete::<UserField>().is_ok());
        assert!(admin.check_delete::<WalletField>().is_ok());
        let mut user = user_json();
        admin.filter_view::<UserField>(&mut user);
        assert_eq!(user, user_json());
        let mut admin = admin;
        assert_eq!(
            admin.set_may_modify(false),
            Err(AclError::BuiltinGroupImmutable)
        );
        assert_eq!(
            admin.set_access(UserField::Login, Access::None),
            Err(AclError::BuiltinGroupImmutable)
        );
    }

    #[test]
    fn new_group_denies_everything() {
        let group = AdminGroup::new("Fresh").unwrap();
        for field in UserField::ALL {
            assert_eq!(group.access(*field), Access::None, "user field {field:?}");
            assert_eq!(
                group.check_update([*field]).unwrap_err(),
                AclError::FieldHidden {
                    resource: Resource::User,
                    field: field.as_str()
                },
                "user field {field:?}"
            );
        }
        for field in WalletField::ALL {
            assert_eq!(group.access(*field), Access::None, "wallet field {field:?}");
        }
        assert!(!group.may_view_any::<UserField>());
        assert_eq!(
            group.check_update::<UserField>([]),
            Err(AclError::ModifyDenied {
                resource: Resource::User
            })
        );
        assert_eq!(
            group.check_create::<UserField>([]),
            Err(AclError::ModifyDenied {
                resource: Resource::User
            })
        );
        assert_eq!(
            group.check_delete::<WalletField>(),
            Err(AclError::ModifyDenied {
                resource: Resource::Wallet
            })
        );
        let mut user = user_json();
        group.filter_view::<UserField>(&mut user);
        assert_eq!(user, json!({"id": 7}));
    }

    #[test]
    fn filter_view_keeps_visible_fields_only() {
        let mut group = AdminGroup::new("Auditors").unwrap();
        group.set_access(UserField::Login, Access::View).unwrap();
        group.set_access(UserField::Status, Access::Edit).unwrap();
        group.set_access(UserField::Mobile, Access::None).unwrap();
        let mut users = json!([user_json(), user_json(), "not an object"]);
        group.filter_view::<UserField>(&mut users);
        let expected = json!({"id": 7, "login": "ana", "status": "active", "locked_until": null});
        assert_eq!(users, json!([expected.clone(), expected, "not an object"]));
        assert!(group.may_view_any::<UserField>());
        assert!(!group.may_view_any::<WalletField>());
    }

    #[test]
    fn create_and_delete_need_required_fields() {
        let mut group = AdminGroup::new("Wallet keepers").unwrap();
        group.set_may_modify(true).unwrap();
        group
            .set_access(WalletField::Description, Access::Edit)
            .unwrap();
        assert_eq!(
            group.check_delete::<WalletField>(),
            Err(AclError::FieldHidden {
                resource: Resource::Wallet,
                field: "name"
            })
        );
        group.set_access(WalletField::Name, Access::Edit).unwrap();
        assert!(group.check_delete::<WalletField>().is_ok());
        assert!(
            group
                .check_create([WalletField::Name, WalletField::Description])
                .is_ok()
        );
        group.set_access(UserField::Login, Access::Edit).unwrap();
        assert_eq!(
            group.check_create([UserField::Login, UserField::Mobile]),
            Err(AclError::FieldHidden {
                resource: Resource::User,
                field: "mobile"
            })
        );
    }

    #[test]
    fn json_shape() {
        let body = json!({
            "name": "Help desk", "may_modify": true,
            "users": {"login": "view", "mobile": "edit"},
            "wallets": {"name": "view"}
        });
        let group: AdminGroup = serde_json::from_value(body).unwrap();
        assert_eq!(group.access(UserField::Mobile), Access::Edit);
        assert_eq!(group.access(UserField::Email), Access::None);
        let out = serde_json::to_value(&group).unwrap();
        assert_eq!(out["users"]["mobile"], "edit");
        assert_eq!(out["users"]["email"], "none");
        assert_eq!(out["wallets"]["description"], "none");
        assert_eq!(serde_json::from_value::<AdminGroup>(out).unwrap(), group);

        let rows = [
            (
                json!({"name": "g", "users": {"shoe_size": "view"}}),
                "shoe_size",
            ),
            (json!({"name": "g", "users": {"login": "write"}}), "write"),
            (json!({"name": "g", "extra": true}), "extra"),
            (json!({"name": " system administrator "}), "built-in"),
            (json!({"name": "  "}), "name: must not be empty"),
            (json!({"name": "x".repeat(65)}), "longer than 64"),
        ];
        for (i, (body, needle)) in rows.into_iter().enumerate() {
            let err = serde_json::from_value::<AdminGroup>(body).unwrap_err();
            assert!(err.to_string().contains(needle), "row {i}: {err}");
        }
    }

    #[test]
    fn user_keys_map_to_fields() {
        let rows = [
            ("mobile", Some(UserField::Mobile)),
            ("locked_until", Some(UserField::Status)),
            ("password_hash", Some(UserField::Password)),
            ("authsys", Some(UserField::Authsys)),
            ("id", None),
            ("Mobile", None),
        ];
        for (key, expected) in rows {
            assert_eq!(UserField::from_key(key), expected, "row {key}");
        }
        for (i, field) in UserField::ALL.iter().enumerate() {
            assert_eq!(field.index(), i, "index of {field:?}");
            assert_eq!(
                UserField::from_key(field.as_str()),
                Some(*field),
                "name of {field:?}"
            );
        }
    }
}
