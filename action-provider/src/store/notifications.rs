//! The `notifications` table: events for administrators, queued in the transaction of the
//! event and mailed by the background sender.

use diesel::prelude::*;

use super::schema::{notification_slots, notifications};

/// A queued notification.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    /// Id (queue order).
    pub id: i64,
    /// Event kind.
    pub kind: String,
    /// What it is about (a login, a profile, a channel).
    pub subject: String,
    /// The text of the mail.
    pub detail: String,
    /// When the event happened.
    pub created_at: i64,
    /// Send attempts so far.
    pub attempts: i32,
}

/// Queries of the notifications table.
pub trait Notifications {
    /// Queues a notification unless one of the same kind and subject was queued after
    /// `since`; returns whether it queued one. Atomic across nodes: of concurrent calls for
    /// one kind and subject, one queues.
    fn notification_queue(
        &mut self,
        kind: &str,
        subject: &str,
        detail: &str,
        now: i64,
        since: i64,
    ) -> QueryResult<bool>;
    /// Unsent notifications whose lease is free at `now`, oldest first.
    fn notifications_due(&mut self, now: i64, limit: i64) -> QueryResult<Vec<NotificationRow>>;
    /// Takes notification `id` until `until` if it is unsent and free at `now`.
    fn notification_take(&mut self, id: i64, now: i64, until: i64) -> QueryResult<bool>;
    /// Records a send: `sent` (or given up) at `now`, or the error for a later retry.
    fn notification_done(
        &mut self,
        id: i64,
        finished: bool,
        error: Option<&str>,
        now: i64,
    ) -> QueryResult<()>;
}

for_both_backends! {
    impl Notifications {
        fn notification_queue(&mut self, kind: &str, subject: &str, detail: &str, now: i64, since: i64) -> QueryResult<bool> {
            // Take the slot first, in one statement: a concurrent transaction on another node
            // waits on the slot's row and then sees it taken (check-then-insert would let both
            // through).
            let took = diesel::query_dsl::methods::FilterDsl::filter(
                diesel::insert_into(notification_slots::table)
                .values((
                    notification_slots::kind.eq(kind),
                    notification_slots::subject.eq(subject),
                    notification_slots::last_queued_at.eq(now),
                ))
                .on_conflict((notification_slots::kind, notification_slots::subject))
                .do_update()
                .set(notification_slots::last_queued_at.eq(now)),
                notification_slots::last_queued_at.le(since),
            )
            .execute(self)?;
            if took != 1 {
                return Ok(false);
            }
            diesel::insert_into(notifications::table)
                .values((
                    notifications::kind.eq(kind),
                    notifications::subject.eq(subject),
                    notifications::detail.eq(detail),
                    notifications::created_at.eq(now),
                ))
                .execute(self)?;
            Ok(true)
        }

        fn notifications_due(&mut self, now: i64, limit: i64) -> QueryResult<Vec<NotificationRow>> {
            notifications::table
                .filter(notifications::sent_at.is_null())
                .filter(notifications::lease_until.is_null().or(notifications::lease_until.lt(now)))
                .order(notifications::id)
                .limit(limit)
                .select(NotificationRow::as_select())
                .load(self)
        }

        fn notification_take(&mut self, id: i64, now: i64, until: i64) -> QueryResult<bool> {
            diesel::update(
                notifications::table
                    .filter(notifications::id.eq(id))
                    .filter(notifications::sent_at.is_null())
                    .filter(notifications::lease_until.is_null().or(notifications::lease_until.lt(now))),
            )
            .set((notifications::lease_until.eq(until), notifications::attempts.eq(notifications::attempts + 1)))
            .execute(self)
            .map(|n| n == 1)
        }

        fn notification_done(&mut self, id: i64, finished: bool, error: Option<&str>, now: i64) -> QueryResult<()> {
            let target = notifications::table.filter(notifications::id.eq(id));
            if finished {
                diesel::update(target)
                    .set((notifications::sent_at.eq(now), notifications::lease_until.eq(None::<i64>), notifications::last_error.eq(error)))
                    .execute(self)?;
            } else {
                diesel::update(target).set(notifications::last_error.eq(error)).execute(self)?;
            }
            Ok(())
        }
    }
}
