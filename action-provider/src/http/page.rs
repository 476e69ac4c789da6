//! The one pagination of the API: `?limit=&cursor=` in, `{items, next_cursor}` out.

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::service::page::{Page, PageRequest};

/// `?limit=&cursor=` of list routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The validated request, or a 400 naming `limit` or `cursor`.
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        let limit = match self.limit {
            None => PageRequest::DEFAULT,
            Some(n) if (1..=PageRequest::MAX).contains(&i64::from(n)) => i64::from(n),
            Some(_) => return Err(ApiError::field("limit", "must be between 1 and 500")),
        };
        let cursor =
            match &self.cursor {
                None => 0,
                Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    ApiError::field("cursor", "not a cursor returned by this list")
                })?,
            };
        Ok(PageRequest { limit, cursor })
    }
}

/// A page of a list, as answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent (null) on the last page.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for Paged<T> {
    fn from(p: Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next_cursor.map(|c| c.to_string()),
        }
    }
}
