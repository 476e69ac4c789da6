//! Routes outbox jobs to the sender of their channel (`sms`, `email`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Payload, SendReport, Sender};
use crate::store::outbox::ClaimedJob;

/// The outbox's sender: one [`Sender`] per channel. A job of a channel without one fails
/// with a clear reason and stays queued (retried with backoff), so configuring the channel
/// later still delivers it.
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
        job: &'a ClaimedJob,
        payload: &'a Payload,
    ) -> Pin<Box<dyn Future<Output = SendReport> + Send + 'a>> {
        let channel = job.channel.as_str();
        match self.channels.get(channel) {
            Some(sender) => sender.send(job, payload),
            None => Box::pin(async move {
                SendReport::failed(format!("no {channel} delivery is configured"), true)
            }),
        }
    }
}
