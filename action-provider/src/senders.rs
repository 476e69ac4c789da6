//! Routes outbox jobs to the sender of their channel (`sms`, `email`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::outbox::{Payload, SendReport, Sender, Unconfigured};

/// The outbox's sender: one [`Sender`] per channel; channels without one fail clearly and
/// stay queued.
#[derive(Default)]
pub struct Router {
    channels: HashMap<&'static str, Arc<dyn Sender>>,
}

impl Router {
    /// Registers the sender of `channel`.
    pub fn with(mut self, channel: &'static str, sender: Arc<dyn Sender>) -> Self {
        self.channels.insert(channel, sender);
        self
    }
}

impl Sender for Router {
    fn send<'a>(
        &'a self,
        channel: &'a str,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        match self.channels.get(channel) {
            Some(sender) => sender.send(channel, payload),
            None => Unconfigured.send(channel, payload),
        }
    }
}
