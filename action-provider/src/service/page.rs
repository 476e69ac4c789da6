//! The one pagination: keyset pages over row ids. A list reads `limit + 1` rows after the
//! cursor; the extra row only says that there is a next page.

/// The order of a list by time (`?sort=at` oldest first, `?sort=-at` newest first); such
/// lists page by keyset on the row id, which grows with time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
pub enum TimeOrder {
    /// Oldest first.
    #[serde(rename = "at")]
    OldestFirst,
    /// Newest first.
    #[serde(rename = "-at")]
    NewestFirst,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page (1..=500).
    pub limit: i64,
    /// Answer rows after this row id (0: from the start).
    pub cursor: i64,
}

impl PageRequest {
    /// Largest page.
    pub const MAX: i64 = 500;
    /// Page size when none is asked for.
    pub const DEFAULT: i64 = 50;

    /// The first page of `limit` items.
    pub fn first(limit: i64) -> Self {
        Self { limit, cursor: 0 }
    }

    /// How many rows to read: one more than the page, to know whether another follows.
    pub fn fetch(self) -> i64 {
        self.limit.saturating_add(1)
    }
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<i64>,
}

impl<T> Page<T> {
    /// Cuts rows read with [`PageRequest::fetch`] into a page; `id` gives a row's cursor.
    pub fn cut(mut rows: Vec<T>, req: PageRequest, id: impl Fn(&T) -> i64) -> Self {
        let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(id) } else { None };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// A whole list that is never paged (it is small by construction).
    pub fn all(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }

    /// Maps the items.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_last_page_has_no_next_cursor() {
        let req = PageRequest {
            limit: 2,
            cursor: 0,
        };
        let page = Page::cut(vec![1, 2], req, |i| *i);
        assert_eq!(
            page.next_cursor, None,
            "exactly `limit` rows: no empty extra page"
        );
        let page = Page::cut(vec![1, 2, 3], req, |i| *i);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(2));
    }
}
