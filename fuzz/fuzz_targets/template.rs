//! Message and broker templates: parse with both tag sets, render, estimate SMS segments.
//! Broker templates may hold `{secret.NAME}`; message templates never do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::template::{TagSet, TagValues, Template, is_secret_name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let message = Template::parse("text", text, TagSet::Message);
    let broker = Template::parse("text", text, TagSet::Broker);
    // The broker tags are a superset of the message tags.
    if message.is_ok() {
        assert!(
            broker.is_ok(),
            "a message template is a valid broker template"
        );
    }
    if let Ok(message) = &message {
        assert_eq!(
            message.secret_names().count(),
            0,
            "message templates hold no secret tags"
        );
    }
    for template in [message, broker].into_iter().flatten() {
        assert_eq!(template.as_str(), text);
        let names: Vec<&str> = template.secret_names().collect();
        for name in &names {
            assert!(is_secret_name(name), "a secret name is [A-Za-z0-9_]{{1,64}}: {name:?}");
            assert!(text.contains(&format!("{{secret.{name}}}")));
        }
        // Each tag (and each secret) rendered as its own `{name}` gives the source back: tags
        // and literal text are split exactly.
        let spelled: Vec<String> = names.iter().map(|name| format!("{{secret.{name}}}")).collect();
        let own: Vec<(&str, &str)> = names
            .iter()
            .zip(&spelled)
            .map(|(name, spelled)| (*name, spelled.as_str()))
            .collect();
        let itself = TagValues {
            otp: "{otp}",
            login: "{login}",
            name: "{name}",
            expires_in: "{expires_in}",
            app: "{app}",
            phone: "{phone}",
            message: "{message}",
            secrets: &own,
        };
        assert_eq!(template.render(&itself).as_str(), text);
        let sample = TagValues {
            otp: "123456",
            login: "jdoe",
            name: "Zoë \"Q\" <Ng>",
            expires_in: "5 minutes",
            app: "VPN",
            phone: "351912345678",
            message: "Your code is 123456\n",
            secrets: &[("API_KEY", "k\"<&>'\\")],
        };
        let rendered = template.render(&sample);
        let _ = template.render_json(&sample);
        let estimate = template.sms_estimate(&sample);
        assert!(estimate.segments() >= 1 || rendered.is_empty());
        let _ = template.sms_estimate_for_otp(usize::from(data.first().copied().unwrap_or(6)));
    }
});
