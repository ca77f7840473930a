//! A report as a document: what a PDF (or any other rendering) shows, free of any
//! layout engine. Built by pure functions from an analysis (coverage, medical) and
//! rendered by the `PdfRenderer` port (`infra::pdf`).
//!
//! Invariants:
//! - every value a rendering shows is a string of this document: a renderer adds
//!   layout, never data (so the PDF and the JSON report cannot disagree);
//! - a table's rows have as many cells as it has columns ([`Table::new`] refuses
//!   otherwise);
//! - a bar chart's values are whole, non-negative amounts, two series per bar.

use serde::Serialize;

/// A report document: a title, a few key–value facts, then blocks in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub title: String,
    /// Facts under the title, e.g. ("대상자", "홍*동").
    pub facts: Vec<(String, String)>,
    pub blocks: Vec<Block>,
    /// A line at the foot of every page (e.g. the table version, "test data").
    pub footer: String,
}

/// One block of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    Table(Table),
    BarChart(BarChart),
}

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Align {
    Left,
    Right,
    Center,
}

/// A column: its title, alignment and relative width (weights, summed per table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub title: String,
    pub align: Align,
    pub weight: u16,
}

impl Column {
    pub fn new(title: &str, align: Align, weight: u16) -> Self {
        Self { title: title.to_owned(), align, weight: weight.max(1) }
    }
}

/// A table whose rows all have one cell per column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

/// A row with a cell count other than the table's column count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row} has {cells} cells for {columns} columns")]
pub struct RaggedRow {
    pub row: usize,
    pub cells: usize,
    pub columns: usize,
}

impl Table {
    pub fn new(columns: Vec<Column>, rows: Vec<Vec<String>>) -> Result<Self, RaggedRow> {
        if let Some((row, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != columns.len()) {
            return Err(RaggedRow { row, cells: r.len(), columns: columns.len() });
        }
        Ok(Self { columns, rows })
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }
}

/// Bars of two series (e.g. held vs recommended) per label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BarChart {
    pub title: String,
    /// The two series' names, in the order of [`Bar::values`].
    pub series: [String; 2],
    /// The unit the axis shows values in, e.g. "만원"; values are divided by `scale`.
    pub unit: String,
    pub scale: u64,
    pub bars: Vec<Bar>,
}

/// One label's two values, in the chart's base unit (e.g. won).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    pub label: String,
    pub values: [u64; 2],
}

/// `n` with a comma every three digits (`1234567` → `"1,234,567"`), as reports print
/// amounts and axis ticks.
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A time as reports show it: in Korea (UTC+9), where the person reads it.
#[must_use]
pub fn kst(at: time::OffsetDateTime) -> time::OffsetDateTime {
    at.to_offset(time::macros::offset!(+9))
}

/// `YYYY-MM-DD`.
#[must_use]
pub fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_puts_a_comma_every_three_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(123_456), "123,456");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn a_ragged_row_is_refused() {
        let cols = vec![Column::new("a", Align::Left, 1), Column::new("b", Align::Right, 1)];
        assert_eq!(
            Table::new(cols.clone(), vec![vec!["1".into(), "2".into()], vec!["3".into()]]),
            Err(RaggedRow { row: 1, cells: 1, columns: 2 })
        );
        let t = Table::new(cols, vec![vec!["1".into(), "2".into()]]).unwrap();
        assert_eq!(t.rows().len(), 1);
        assert_eq!(Column::new("z", Align::Center, 0).weight, 1);
    }
}
