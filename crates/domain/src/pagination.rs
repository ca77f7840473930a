//! Pagination and sorting shared by every list.
//!
//! Invariants: `page >= 1`; `1 <= limit <= MAX_LIMIT`; a sort key is one of the list's
//! own keys and an unknown one is refused, never ignored.

use std::str::FromStr;

use crate::error::{FieldError, ValidationError};

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;
/// The largest page number (a signed 64-bit integer, as the OpenAPI document says).
pub const MAX_PAGE: u64 = i64::MAX.unsigned_abs();
/// The largest offset a database takes (a signed 64-bit integer).
const MAX_OFFSET: u64 = i64::MAX.unsigned_abs();

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u64,
    limit: u64,
}

impl PageRequest {
    /// Parses the raw `page` and `limit` query values (absent means the default).
    ///
    /// # Errors
    /// Names `page` or `limit` when either is not a number in its range.
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let page = match page.map(str::parse::<u64>) {
            None => 1,
            Some(Ok(p)) if (1..=MAX_PAGE).contains(&p) => p,
            Some(_) => {
                errors.push(FieldError::new("page", format!("must be an integer from 1 to {MAX_PAGE}")));
                1
            }
        };
        let limit = match limit.map(str::parse::<u64>) {
            None => DEFAULT_LIMIT,
            Some(Ok(l)) if (1..=MAX_LIMIT).contains(&l) => l,
            Some(_) => {
                errors.push(FieldError::new("limit", format!("must be an integer from 1 to {MAX_LIMIT}")));
                DEFAULT_LIMIT
            }
        };
        if errors.is_empty() { Ok(Self { page, limit }) } else { Err(ValidationError(errors)) }
    }

    #[must_use]
    pub fn page(self) -> u64 {
        self.page
    }

    #[must_use]
    pub fn limit(self) -> u64 {
        self.limit
    }

    /// Rows to skip; saturates at `i64::MAX` (what SQL takes) instead of overflowing for
    /// absurd page numbers, so such a page is simply empty.
    #[must_use]
    pub fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.limit).min(MAX_OFFSET)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, limit: DEFAULT_LIMIT }
    }
}

/// One page of results and the total over the whole filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub request: PageRequest,
    pub total: u64,
}

impl<T> Page<T> {
    #[must_use]
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(self.request.limit)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

impl FromStr for SortOrder {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(()),
        }
    }
}

/// The keys a list may be sorted by. Each list declares its own enum.
pub trait SortKey: Sized + Copy + 'static {
    /// The accepted spellings, in the order the error message lists them.
    const ALLOWED: &'static [(&'static str, Self)];
    /// The key used when `sortBy` is absent.
    const DEFAULT: Self;
}

/// A validated `sortBy` + `sortOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<K> {
    pub key: K,
    pub order: SortOrder,
}

impl<K: SortKey> Sort<K> {
    /// # Errors
    /// Names `sortBy` or `sortOrder` when a value is not one of the allowed ones.
    pub fn parse(sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let key = match sort_by {
            None => K::DEFAULT,
            Some(raw) => match K::ALLOWED.iter().find(|(name, _)| *name == raw) {
                Some((_, key)) => *key,
                None => {
                    let names: Vec<&str> = K::ALLOWED.iter().map(|(n, _)| *n).collect();
                    errors.push(FieldError::new("sortBy", format!("must be one of {}", names.join(", "))));
                    K::DEFAULT
                }
            },
        };
        let order = match sort_order.map(str::parse::<SortOrder>) {
            None => SortOrder::default(),
            Some(Ok(order)) => order,
            Some(Err(())) => {
                errors.push(FieldError::new("sortOrder", "must be asc or desc"));
                SortOrder::default()
            }
        };
        if errors.is_empty() { Ok(Self { key, order }) } else { Err(ValidationError(errors)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Key {
        Name,
        Price,
    }

    impl SortKey for Key {
        const ALLOWED: &'static [(&'static str, Self)] = &[("name", Key::Name), ("price", Key::Price)];
        const DEFAULT: Self = Key::Name;
    }

    #[test]
    fn absent_values_give_the_first_page_of_twenty() -> Result<(), ValidationError> {
        let page = PageRequest::parse(None, None)?;
        assert_eq!((page.page(), page.limit(), page.offset()), (1, 20, 0));
        Ok(())
    }

    #[test]
    fn a_limit_above_one_hundred_is_refused() {
        let err = PageRequest::parse(None, Some("101")).err();
        assert_eq!(err, Some(ValidationError::single("limit", "must be an integer from 1 to 100")));
    }

    #[test]
    fn page_zero_and_garbage_are_both_reported() {
        let err = PageRequest::parse(Some("0"), Some("x")).err().map(|e| e.0.len());
        assert_eq!(err, Some(2));
    }

    #[test]
    fn the_offset_of_an_absurd_page_stays_within_what_sql_takes() -> Result<(), ValidationError> {
        let page = PageRequest::parse(Some("461168453193320704"), Some("23"))?;
        assert_eq!(page.offset(), i64::MAX.unsigned_abs());
        let page = PageRequest::parse(Some(&MAX_PAGE.to_string()), Some("100"))?;
        assert_eq!(page.offset(), i64::MAX.unsigned_abs());
        assert!(PageRequest::parse(Some(&(MAX_PAGE + 1).to_string()), None).is_err());
        Ok(())
    }

    #[test]
    fn the_offset_of_page_three_skips_two_pages() -> Result<(), ValidationError> {
        assert_eq!(PageRequest::parse(Some("3"), Some("10"))?.offset(), 20);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn any_query_text_parses_or_names_its_field(page in "\\PC{0,8}", limit in "\\PC{0,8}") {
            match PageRequest::parse(Some(&page), Some(&limit)) {
                Ok(p) => {
                    proptest::prop_assert!(p.page() >= 1 && (1..=MAX_LIMIT).contains(&p.limit()));
                    let _ = p.offset();
                }
                Err(e) => proptest::prop_assert!(e.0.iter().all(|f| f.field == "page" || f.field == "limit")),
            }
        }

        #[test]
        fn pages_cover_every_row_exactly_once(total in 0u64..10_000, limit in 1u64..=100) {
            let req = PageRequest::parse(None, Some(&limit.to_string())).expect("valid");
            let page: Page<()> = Page { items: vec![], request: req, total };
            let pages = page.total_pages();
            proptest::prop_assert!(pages * limit >= total);
            proptest::prop_assert!(pages == 0 || (pages - 1) * limit < total);
        }
    }

    #[test]
    fn total_pages_rounds_up() {
        let page: Page<()> = Page { items: vec![], request: PageRequest::default(), total: 41 };
        assert_eq!(page.total_pages(), 3);
    }

    #[test]
    fn an_unknown_sort_key_is_refused_not_ignored() {
        let err = Sort::<Key>::parse(Some("colour"), None).err();
        assert_eq!(err, Some(ValidationError::single("sortBy", "must be one of name, price")));
    }

    #[test]
    fn sort_defaults_to_the_lists_key_descending() -> Result<(), ValidationError> {
        assert_eq!(Sort::<Key>::parse(None, None)?, Sort { key: Key::Name, order: SortOrder::Desc });
        assert_eq!(Sort::<Key>::parse(Some("price"), Some("asc"))?.key, Key::Price);
        Ok(())
    }
}
