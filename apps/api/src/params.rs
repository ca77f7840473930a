//! Query parameters shared by lists: `page`, `limit`, `sortBy`, `sortOrder`.
//!
//! They arrive as text and are parsed by the domain (`PageRequest`, `Sort`), so a bad
//! value is a 400 that names the parameter, never a silent default.

use domain::pagination::{PageRequest, Sort, SortKey};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// `page` (1-based, default 1) and `limit` (1..=100, default 20).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Page size (default 20, at most 100).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl PageParams {
    /// # Errors
    /// 400 naming `page` or `limit`.
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.page.as_deref(), self.limit.as_deref())?)
    }
}

/// `sortBy` and `sortOrder` (`asc`|`desc`, default `desc`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SortParams {
    /// One of the list's sort keys.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default `desc`).
    pub sort_order: Option<String>,
}

impl SortParams {
    /// # Errors
    /// 400 naming `sortBy` or `sortOrder`.
    pub fn parse<K: SortKey>(&self) -> Result<Sort<K>, ApiError> {
        Ok(Sort::parse(self.sort_by.as_deref(), self.sort_order.as_deref())?)
    }
}

/// Parses page and sort together, reporting every bad parameter at once.
///
/// # Errors
/// 400 with one detail per bad parameter.
pub fn page_and_sort<K: SortKey>(page: &PageParams, sort: &SortParams) -> Result<(PageRequest, Sort<K>), ApiError> {
    let page = PageRequest::parse(page.page.as_deref(), page.limit.as_deref());
    let sort = Sort::<K>::parse(sort.sort_by.as_deref(), sort.sort_order.as_deref());
    match (page, sort) {
        (Ok(p), Ok(s)) => Ok((p, s)),
        (p, s) => {
            let mut details = Vec::new();
            if let Err(e) = p {
                details.extend(e.0);
            }
            if let Err(e) = s {
                details.extend(e.0);
            }
            Err(ApiError::Validation(details))
        }
    }
}

/// An optional RFC 3339 instant filter (`from`, `to`).
///
/// # Errors
/// 400 naming `field`.
pub fn instant(raw: Option<&str>, field: &str) -> Result<Option<time::OffsetDateTime>, ApiError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(text) => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(Some)
            .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 instant, e.g. 2026-11-24T00:00:00Z")),
    }
}
