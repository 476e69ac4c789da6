//! Diesel table definitions; they mirror `migrations/{sqlite,postgres}/*/up.sql`
//! (the `schema_matches_migrations` test checks every column against both backends).

diesel::table! {
    wallets (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        email_norm -> Nullable<Text>,
        document -> Nullable<Text>,
        document_norm -> Nullable<Text>,
        mobile -> Nullable<Text>,
        mobile_norm -> Nullable<Text>,
        wallet_id -> Nullable<BigInt>,
        disabled -> Bool,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<BigInt>,
        password_history -> Text,
        authsys_names -> Text,
        authsys_enc -> Nullable<Text>,
        pwd_failures -> Integer,
        pwd_last_failure -> Nullable<BigInt>,
        otp_failures -> Integer,
        otp_last_failure -> Nullable<BigInt>,
        hash_failures -> Integer,
        hash_last_failure -> Nullable<BigInt>,
        locked_at -> Nullable<BigInt>,
        locked_until -> Nullable<BigInt>,
        lock_factor -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        user_id -> BigInt,
        device -> Nullable<Text>,
        kind -> Text,
        algorithm -> Text,
        digits -> Integer,
        period -> Integer,
        t0 -> BigInt,
        secret_enc -> Nullable<Text>,
        last_counter -> Nullable<BigInt>,
        opie_seed -> Nullable<Text>,
        opie_count -> Nullable<Integer>,
        opie_last -> Nullable<Text>,
        active -> Bool,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    issued_codes (id) {
        id -> BigInt,
        request_id -> Text,
        user_id -> BigInt,
        channel -> Text,
        code_mac -> Text,
        key_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        request_id -> Text,
        channel -> Text,
        user_id -> Nullable<BigInt>,
        payload_enc -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> BigInt,
        outbox_id -> BigInt,
        request_id -> Text,
        channel -> Text,
        broker -> Text,
        destination_masked -> Text,
        outcome -> Text,
        http_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        latency_ms -> BigInt,
        excerpt -> Nullable<Text>,
        at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        scope -> Text,
        digest -> Text,
        prefix -> Text,
        group_id -> Nullable<BigInt>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
        version -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        subject -> Nullable<Text>,
        source -> Nullable<Text>,
        outcome -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency (api_key_id, idem_key) {
        api_key_id -> BigInt,
        idem_key -> Text,
        request_digest -> Text,
        status -> Integer,
        response -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    oauth2_profiles (id) {
        id -> BigInt,
        name -> Text,
        authorization_url -> Nullable<Text>,
        token_url -> Text,
        redirect_url -> Nullable<Text>,
        client_id -> Text,
        client_secret_enc -> Text,
        scope -> Text,
        flow -> Text,
        valid -> Bool,
        access_token_enc -> Nullable<Text>,
        refresh_token_enc -> Nullable<Text>,
        expires_at -> Nullable<BigInt>,
        last_refresh_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        authorized_mailbox -> Nullable<Text>,
        needs_reauthorization -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    oauth2_pending (state) {
        state -> Text,
        profile_id -> BigInt,
        pkce_verifier_enc -> Text,
        login_hint -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    smtp_accounts (id) {
        id -> BigInt,
        name -> Text,
        active -> Bool,
        is_default -> Bool,
        sender -> Text,
        reply_to -> Nullable<Text>,
        return_path -> Nullable<Text>,
        confirmation_address -> Nullable<Text>,
        read_confirmation -> Bool,
        force_use -> Bool,
        footer -> Bool,
        host -> Text,
        port -> Integer,
        security -> Text,
        auth -> Text,
        username -> Nullable<Text>,
        password_enc -> Nullable<Text>,
        oauth2_profile_id -> Nullable<BigInt>,
        ignore_cert_errors -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        footer_text -> Nullable<Text>,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_id -> Text,
        shares_principal -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    admin_groups (id) {
        id -> BigInt,
        name -> Text,
        acl -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    admins (id) {
        id -> BigInt,
        login -> Text,
        password_hash -> Text,
        group_id -> Nullable<BigInt>,
        totp_secret -> Nullable<Text>,
        totp_pending -> Nullable<Text>,
        totp_last_counter -> Nullable<BigInt>,
        pwd_failures -> Integer,
        pwd_last_failure -> Nullable<BigInt>,
        otp_failures -> Integer,
        otp_last_failure -> Nullable<BigInt>,
        locked_at -> Nullable<BigInt>,
        locked_until -> Nullable<BigInt>,
        lock_factor -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_login_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    admin_sessions (digest) {
        digest -> Text,
        admin_id -> BigInt,
        created_at -> BigInt,
        last_seen -> BigInt,
    }
}

diesel::joinable!(users -> wallets (wallet_id));
diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(issued_codes -> users (user_id));
diesel::joinable!(oauth2_pending -> oauth2_profiles (profile_id));
diesel::joinable!(smtp_accounts -> oauth2_profiles (oauth2_profile_id));
diesel::joinable!(admins -> admin_groups (group_id));
diesel::joinable!(admin_sessions -> admins (admin_id));

diesel::allow_tables_to_appear_in_same_query!(
    admin_groups,
    admins,
    admin_sessions,
    devices,
    wallets,
    users,
    tokens,
    issued_codes,
    outbox,
    delivery_attempts,
    api_keys,
    settings,
    audit,
    idempotency,
    oauth2_profiles,
    oauth2_pending,
    smtp_accounts
);
