//! Message and broker templates: parse with both tag sets, render, estimate SMS segments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sae_core::template::{TagSet, TagValues, Template};

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
    for template in [message, broker].into_iter().flatten() {
        assert_eq!(template.as_str(), text);
        // Each tag rendered as its own `{name}` gives the source back: tags and literal
        // text are split exactly.
        let itself = TagValues {
            otp: "{otp}",
            login: "{login}",
            name: "{name}",
            expires_in: "{expires_in}",
            app: "{app}",
            phone: "{phone}",
            message: "{message}",
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
        };
        let rendered = template.render(&sample);
        let _ = template.render_json(&sample);
        let estimate = template.sms_estimate(&sample);
        assert!(estimate.segments() >= 1 || rendered.is_empty());
        let _ = template.sms_estimate_for_otp(usize::from(data.first().copied().unwrap_or(6)));
    }
});
