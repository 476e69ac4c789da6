//! Diesel table definitions; they mirror `migrations/{sqlite,postgres}/*/up.sql`
//! (the `schema_matches_migrations` test checks every column against both backends).

#![allow(missing_docs, reason = "diesel's table! macro generates the items")]

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
        pwd_last_failure_ms -> Nullable<BigInt>,
        otp_failures -> Integer,
        otp_last_failure_ms -> Nullable<BigInt>,
        hash_failures -> Integer,
        hash_last_failure_ms -> Nullable<BigInt>,
        locked_at_ms -> Nullable<BigInt>,
        locked_until_ms -> Nullable<BigInt>,
        lock_factor -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        pwd_inflight_until_ms -> Nullable<BigInt>,
        login_key -> Nullable<Text>,
        login_skeleton -> Nullable<Text>,
        email_bounced_at -> Nullable<BigInt>,
        email_bounce_status -> Nullable<Text>,
        import_job -> Nullable<Text>,
    }
}

diesel::table! {
    tokens (id) {
        seq -> BigInt,
        id -> Text,
        serial -> Text,
        user_id -> Nullable<BigInt>,
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
        issuer -> Nullable<Text>,
        valid_from -> Nullable<BigInt>,
        valid_until -> Nullable<BigInt>,
        import_job -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        state -> Text,
        params -> Text,
        key_enc -> Nullable<Text>,
        origin -> Text,
        actor -> Text,
        client -> Nullable<Text>,
        bytes_total -> BigInt,
        bytes_done -> BigInt,
        total -> Nullable<BigInt>,
        done -> BigInt,
        imported -> BigInt,
        skipped -> BigInt,
        error -> Nullable<Text>,
        owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        claims -> Integer,
        created_at -> BigInt,
        updated_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    job_chunks (id) {
        id -> BigInt,
        job_id -> Text,
        seq -> Integer,
        data_enc -> Text,
    }
}

diesel::table! {
    job_skips (id) {
        id -> BigInt,
        job_id -> Text,
        position -> BigInt,
        item -> Nullable<Text>,
        reason -> Text,
        detail -> Text,
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
        message_id -> Nullable<Text>,
        bounce_status -> Nullable<Text>,
        bounce_diagnostic -> Nullable<Text>,
        bounced_at -> Nullable<BigInt>,
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
        refresh_lease_until -> Nullable<BigInt>,
        enabled -> Bool,
        client_secret_expires_at -> Nullable<BigInt>,
        subject -> Nullable<Text>,
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
        pwd_last_failure_ms -> Nullable<BigInt>,
        otp_failures -> Integer,
        otp_last_failure_ms -> Nullable<BigInt>,
        locked_at_ms -> Nullable<BigInt>,
        locked_until_ms -> Nullable<BigInt>,
        lock_factor -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_login_at -> Nullable<BigInt>,
        pwd_inflight_until_ms -> Nullable<BigInt>,
        login_key -> Nullable<Text>,
        login_skeleton -> Nullable<Text>,
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
diesel::table! {
    inbound_accounts (id) {
        id -> BigInt,
        name -> Text,
        active -> Bool,
        protocol -> Text,
        host -> Text,
        port -> Integer,
        security -> Text,
        auth -> Text,
        username -> Text,
        password_enc -> Nullable<Text>,
        oauth2_profile_id -> Nullable<BigInt>,
        mechanism -> Text,
        folder -> Text,
        keep_copy -> Bool,
        check_every_s -> BigInt,
        timeout_s -> Integer,
        ignore_cert_errors -> Bool,
        position -> Nullable<Text>,
        next_check_at -> BigInt,
        lease_token -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_check_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        fetched_total -> BigInt,
        bounces_total -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    notification_slots (kind, subject) {
        kind -> Text,
        subject -> Text,
        last_queued_at -> BigInt,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        kind -> Text,
        subject -> Text,
        detail -> Text,
        created_at -> BigInt,
        lease_until -> Nullable<BigInt>,
        attempts -> Integer,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(issued_codes -> users (user_id));
diesel::joinable!(oauth2_pending -> oauth2_profiles (profile_id));
diesel::joinable!(smtp_accounts -> oauth2_profiles (oauth2_profile_id));
diesel::joinable!(inbound_accounts -> oauth2_profiles (oauth2_profile_id));
diesel::joinable!(admins -> admin_groups (group_id));
diesel::joinable!(admin_sessions -> admins (admin_id));
diesel::joinable!(api_keys -> admin_groups (group_id));
diesel::joinable!(job_chunks -> jobs (job_id));
diesel::joinable!(job_skips -> jobs (job_id));

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
    smtp_accounts,
    inbound_accounts,
    jobs,
    job_chunks,
    job_skips,
    notification_slots,
    notifications
);
