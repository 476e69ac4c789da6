//! The hand-written parts of the inbound mail clients fed arbitrary server output: POP3
//! replies and listings, and IMAP response framing (imap-proto plus the client's skipping
//! of unknown lines, tagged-line fallback and FETCH extraction).
#![no_main]

use delivery::email::inbound::fuzzing::{imap_responses, pop3_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // The client contains imap-proto's panics (a known slicing bug, see delivery's
        // `imap/wire.rs`); libfuzzer-sys's hook would abort before they unwind. Any other
        // panic still aborts and is reported.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| l.file().contains("/imap-proto-")) {
                return;
            }
            abort(info);
        }));
    },
    |data: &[u8]| {
        pop3_lines(data);
        imap_responses(data);
    }
);
