//! Page layout: a [`Document`] placed on A4 pages as drawing operations, before any PDF
//! is written (so the page count is known when the footers say "n / N").
//!
//! Invariants:
//! - everything is drawn inside the margins; body blocks stay above the footer band;
//! - a block that does not fit the room left on a page starts the next page, unless the
//!   page is still empty; two kinds of blocks may split: a paragraph of more than
//!   [`KEEP_LINES`] lines flows on by line (starting only where two of its lines fit),
//!   a table by row (starting only where its header and first row fit, never splitting
//!   a row), repeating its header row on each page it continues onto;
//! - a heading is never the last thing on a page (it moves with what follows it);
//! - a table cell shows at most [`CELL_LINES`] lines, the last cut with `…`;
//! - the same document gives the same operations.

use domain::funnel::document::{Align, Block, Document, Table};

use super::chart;
use super::text::Metrics;

pub(super) const PAGE_W: f32 = 595.28;
pub(super) const PAGE_H: f32 = 841.89;
pub(super) const MARGIN: f32 = 40.0;
pub(super) const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const TOP: f32 = MARGIN;
/// The band above the bottom margin kept for the footer.
const FOOTER_BAND: f32 = 24.0;
const BOTTOM: f32 = PAGE_H - MARGIN - FOOTER_BAND;

const TITLE_SIZE: f32 = 20.0;
const HEADING_SIZE: f32 = 13.0;
const BODY_SIZE: f32 = 9.5;
const BODY_LEADING: f32 = 15.0;
const TABLE_SIZE: f32 = 8.5;
const TABLE_LEADING: f32 = 12.0;
const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 3.5;
pub(super) const CELL_LINES: usize = 3;
const FOOTER_SIZE: f32 = 7.5;
/// A paragraph of at most this many lines is never split across pages.
const KEEP_LINES: usize = 6;
/// Room a heading asks for below itself, so that it is not left alone at a page's foot.
const KEEP_WITH_NEXT: f32 = 48.0;

/// An sRGB colour.
pub(super) type Rgb = (u8, u8, u8);
pub(super) const INK: Rgb = (0x1a, 0x1a, 0x1a);
pub(super) const MUTED: Rgb = (0x5f, 0x66, 0x70);
pub(super) const ACCENT: Rgb = (0x1f, 0x3a, 0x68);
pub(super) const RULE: Rgb = (0x9a, 0xa1, 0xab);
pub(super) const HAIRLINE: Rgb = (0xdc, 0xdf, 0xe4);
const HEADER_FILL: Rgb = (0xe8, 0xeb, 0xf0);

/// One drawing operation; `y` grows downwards from the page's top edge.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    /// One line of text whose baseline starts at (`x`, `baseline`).
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        color: Rgb,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb>,
        stroke: Option<(Rgb, f32)>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        color: Rgb,
        width: f32,
    },
}

/// The pages laid out so far and where the next block goes.
pub(super) struct Pager<'m> {
    pub m: &'m Metrics,
    pages: Vec<Vec<Op>>,
    pub y: f32,
}

impl<'m> Pager<'m> {
    fn new(m: &'m Metrics) -> Self {
        Self { m, pages: vec![Vec::new()], y: TOP }
    }

    fn at_top(&self) -> bool {
        self.y <= TOP
    }

    fn room(&self) -> f32 {
        BOTTOM - self.y
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Space above a block, dropped at the top of a page.
    pub fn gap(&mut self, g: f32) {
        if !self.at_top() {
            self.y += g;
        }
    }

    /// Starts a new page unless `h` fits here or the page is empty.
    pub fn need(&mut self, h: f32) {
        if h > self.room() && !self.at_top() {
            self.new_page();
        }
    }

    pub fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// The baseline of a line of `size` centred in a line box of `leading` from `top`.
    pub fn baseline(&self, top: f32, size: f32, leading: f32) -> f32 {
        let glyph_h = (self.m.ascent + self.m.descent) * size;
        top + (leading - glyph_h) / 2.0 + self.m.ascent * size
    }

    pub fn text(&mut self, x: f32, baseline: f32, size: f32, color: Rgb, text: &str) {
        if !text.is_empty() {
            self.push(Op::Text { x, baseline, size, color, text: text.to_owned() });
        }
    }

    /// `text` aligned in the box from `x`, `w` wide.
    pub fn aligned(&mut self, (x, w): (f32, f32), baseline: f32, size: f32, color: Rgb, text: &str, align: Align) {
        let tw = self.m.width(text, size);
        let x = match align {
            Align::Left => x,
            Align::Right => x + w - tw,
            Align::Center => x + (w - tw) / 2.0,
        };
        self.text(x, baseline, size, color, text);
    }

    /// Lines of `size` with `leading`, flowing onto new pages as they fill.
    fn lines(&mut self, lines: &[String], x: f32, size: f32, leading: f32, color: Rgb) {
        for line in lines {
            self.need(leading);
            let b = self.baseline(self.y, size, leading);
            self.text(x, b, size, color, line);
            self.y += leading;
        }
    }
}

/// `document` laid out: the operations of each page, footers included.
pub(super) fn layout(m: &Metrics, document: &Document) -> Vec<Vec<Op>> {
    let mut p = Pager::new(m);
    title(&mut p, &document.title);
    facts(&mut p, &document.facts);
    for block in &document.blocks {
        match block {
            Block::Heading(text) => heading(&mut p, text),
            Block::Paragraph(text) => paragraph(&mut p, text),
            Block::Table(t) => table(&mut p, t),
            Block::BarChart(c) => chart::bar_chart(&mut p, c),
        }
    }
    let mut pages = p.pages;
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        footer(m, page, &document.footer, i + 1, total);
    }
    pages
}

fn title(p: &mut Pager<'_>, title: &str) {
    let leading = TITLE_SIZE * 1.3;
    let lines = p.m.wrap(title, TITLE_SIZE, CONTENT_W);
    p.lines(&lines, MARGIN, TITLE_SIZE, leading, ACCENT);
    p.y += 4.0;
    p.push(Op::Line { x1: MARGIN, y1: p.y, x2: MARGIN + CONTENT_W, y2: p.y, color: ACCENT, width: 1.2 });
    p.y += 10.0;
}

/// Facts as a key column and a value column.
fn facts(p: &mut Pager<'_>, facts: &[(String, String)]) {
    if facts.is_empty() {
        return;
    }
    let widest = facts.iter().map(|(k, _)| p.m.width(k, BODY_SIZE)).fold(0.0, f32::max);
    let key_w = (widest + 16.0).min(CONTENT_W * 0.3);
    let value_w = CONTENT_W - key_w;
    for (key, value) in facts {
        let key = p.m.fit(key, BODY_SIZE, key_w - 8.0);
        let values = p.m.wrap(value, BODY_SIZE, value_w);
        p.need(BODY_LEADING);
        let b = p.baseline(p.y, BODY_SIZE, BODY_LEADING);
        p.text(MARGIN, b, BODY_SIZE, MUTED, &key);
        p.lines(&values, MARGIN + key_w, BODY_SIZE, BODY_LEADING, INK);
    }
    p.y += 6.0;
}

fn heading(p: &mut Pager<'_>, text: &str) {
    let leading = HEADING_SIZE * 1.4;
    let lines = p.m.wrap(text, HEADING_SIZE, CONTENT_W);
    p.gap(14.0);
    p.need(leading * lines.len() as f32 + KEEP_WITH_NEXT);
    p.lines(&lines, MARGIN, HEADING_SIZE, leading, ACCENT);
    p.y += 4.0;
}

fn paragraph(p: &mut Pager<'_>, text: &str) {
    let lines = p.m.wrap(text, BODY_SIZE, CONTENT_W);
    p.gap(6.0);
    // A short paragraph is kept whole; a long one flows on, never starting with one line.
    let kept = if lines.len() <= KEEP_LINES { lines.len() } else { 2 };
    p.need(BODY_LEADING * kept as f32);
    p.lines(&lines, MARGIN, BODY_SIZE, BODY_LEADING, INK);
}

/// A row's cells as lines, and the row's height.
fn cells(m: &Metrics, texts: &[String], widths: &[f32]) -> (Vec<Vec<String>>, f32) {
    let cells: Vec<Vec<String>> = texts
        .iter()
        .zip(widths)
        .map(|(t, w)| m.wrap_at_most(t, TABLE_SIZE, (w - 2.0 * CELL_PAD_X).max(1.0), CELL_LINES))
        .collect();
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    (cells, lines as f32 * TABLE_LEADING + 2.0 * CELL_PAD_Y)
}

fn table(p: &mut Pager<'_>, t: &Table) {
    let columns = t.columns();
    if columns.is_empty() {
        return;
    }
    let total: f32 = columns.iter().map(|c| f32::from(c.weight)).sum();
    let widths: Vec<f32> = columns.iter().map(|c| CONTENT_W * f32::from(c.weight) / total).collect();
    let aligns: Vec<Align> = columns.iter().map(|c| c.align).collect();
    let titles: Vec<String> = columns.iter().map(|c| c.title.clone()).collect();
    let header = cells(p.m, &titles, &widths);
    let rows: Vec<_> = t.rows().iter().map(|r| cells(p.m, r, &widths)).collect();

    p.gap(6.0);
    p.need(header.1 + rows.first().map_or(0.0, |r| r.1));
    row(p, &header, &widths, &aligns, Some(HEADER_FILL));
    for r in &rows {
        if r.1 > p.room() {
            p.new_page();
            row(p, &header, &widths, &aligns, Some(HEADER_FILL));
        }
        row(p, r, &widths, &aligns, None);
    }
    p.y += 4.0;
}

fn row(p: &mut Pager<'_>, (cells, h): &(Vec<Vec<String>>, f32), widths: &[f32], aligns: &[Align], fill: Option<Rgb>) {
    let mut x = MARGIN;
    for ((lines, w), align) in cells.iter().zip(widths).zip(aligns) {
        p.push(Op::Rect { x, y: p.y, w: *w, h: *h, fill, stroke: Some((RULE, 0.5)) });
        for (i, line) in lines.iter().enumerate() {
            let top = p.y + CELL_PAD_Y + i as f32 * TABLE_LEADING;
            let b = p.baseline(top, TABLE_SIZE, TABLE_LEADING);
            p.aligned((x + CELL_PAD_X, w - 2.0 * CELL_PAD_X), b, TABLE_SIZE, INK, line, *align);
        }
        x += w;
    }
    p.y += h;
}

/// The footer line, the document's footer text and "n / N".
fn footer(m: &Metrics, page: &mut Vec<Op>, text: &str, n: usize, total: usize) {
    let rule_y = PAGE_H - MARGIN - FOOTER_BAND + 8.0;
    page.push(Op::Line { x1: MARGIN, y1: rule_y, x2: MARGIN + CONTENT_W, y2: rule_y, color: HAIRLINE, width: 0.6 });
    let baseline = PAGE_H - MARGIN;
    let number = format!("{n} / {total}");
    let number_w = m.width(&number, FOOTER_SIZE);
    let text = m.fit(text, FOOTER_SIZE, CONTENT_W - number_w - 12.0);
    if !text.is_empty() {
        page.push(Op::Text { x: MARGIN, baseline, size: FOOTER_SIZE, color: MUTED, text });
    }
    page.push(Op::Text { x: MARGIN + CONTENT_W - number_w, baseline, size: FOOTER_SIZE, color: MUTED, text: number });
}

#[cfg(test)]
mod tests {
    use domain::funnel::document::Column;

    use super::*;

    fn metrics() -> Metrics {
        let font = skrifa::FontRef::new(super::super::FONT).unwrap();
        Metrics::new(&font).unwrap()
    }

    fn doc(blocks: Vec<Block>) -> Document {
        Document {
            title: "제목".into(), facts: vec![("대상자".into(), "홍*동".into())], blocks, footer: "끝".into()
        }
    }

    fn texts(page: &[Op]) -> Vec<&str> {
        page.iter().filter_map(|op| if let Op::Text { text, .. } = op { Some(text.as_str()) } else { None }).collect()
    }

    fn table_of(rows: usize) -> Block {
        let cols = vec![Column::new("이름", Align::Left, 2), Column::new("금액", Align::Right, 1)];
        Block::Table(Table::new(cols, (0..rows).map(|i| vec![format!("행{i}"), format!("{i}원")]).collect()).unwrap())
    }

    fn within_the_page(op: &Op) -> bool {
        let inside = |x: f32, y: f32| {
            (MARGIN - 0.01..=PAGE_W - MARGIN + 0.01).contains(&x)
                && (MARGIN - 0.01..=PAGE_H - MARGIN + 0.01).contains(&y)
        };
        match op {
            Op::Text { x, baseline, .. } => inside(*x, *baseline),
            Op::Rect { x, y, w, h, .. } => inside(*x, *y) && inside(x + w, y + h),
            Op::Line { x1, y1, x2, y2, .. } => inside(*x1, *y1) && inside(*x2, *y2),
        }
    }

    #[test]
    fn a_long_table_continues_with_its_header_and_every_page_has_a_footer() {
        let m = metrics();
        let pages = layout(&m, &doc(vec![table_of(120)]));
        assert!(pages.len() >= 3, "{}", pages.len());
        let total = pages.len();
        for (i, page) in pages.iter().enumerate() {
            let t = texts(page);
            assert_eq!(t.iter().filter(|s| **s == "이름").count(), 1, "header once on page {}", i + 1);
            assert!(t.contains(&"끝"));
            let number = format!("{} / {total}", i + 1);
            assert!(t.contains(&number.as_str()));
            assert!(page.iter().all(within_the_page));
        }
        let rows: usize = pages.iter().map(|p| texts(p).iter().filter(|s| s.starts_with('행')).count()).sum();
        assert_eq!(rows, 120);
    }

    #[test]
    fn a_block_that_does_not_fit_starts_the_next_page_and_a_heading_goes_with_it() {
        let m = metrics();
        let mut p = Pager::new(&m);
        p.y = BOTTOM - 30.0;
        heading(&mut p, "다음 절");
        assert_eq!(p.pages.len(), 2);
        assert_eq!(texts(&p.pages[1]), ["다음 절"]);
        assert!(texts(&p.pages[0]).is_empty());

        let mut p = Pager::new(&m);
        p.y = BOTTOM - 20.0;
        let Block::Table(t) = table_of(3) else { unreachable!() };
        table(&mut p, &t);
        assert_eq!(p.pages.len(), 2);
        assert_eq!(texts(&p.pages[1])[..2], ["이름", "금액"]);

        // An empty page takes what it can rather than leaving a blank page.
        let pages = layout(&m, &doc(vec![Block::Paragraph("가".repeat(3000))]));
        assert_eq!(pages.len(), 2);
        assert!(pages.iter().flatten().all(within_the_page));
    }

    #[test]
    fn right_aligned_cells_end_at_the_cell_padding() {
        let m = metrics();
        let pages = layout(&m, &doc(vec![table_of(1)]));
        let Some(Op::Text { x, size, text, .. }) =
            pages[0].iter().find(|op| matches!(op, Op::Text { text, .. } if text == "0원"))
        else {
            panic!("the amount is drawn")
        };
        let right = x + m.width(text, *size);
        assert!((right - (MARGIN + CONTENT_W - CELL_PAD_X)).abs() < 0.01, "{right}");
    }

    #[test]
    fn a_long_cell_is_cut_to_its_lines() {
        let m = metrics();
        let cols = vec![Column::new("상품", Align::Left, 1), Column::new("x", Align::Left, 9)];
        let t = Table::new(cols, vec![vec!["아주 긴 상품 이름 ".repeat(10), "x".into()]]).unwrap();
        let pages = layout(&m, &doc(vec![Block::Table(t)]));
        let cell: Vec<&str> = texts(&pages[0]).into_iter().filter(|s| s.contains('긴') || s.ends_with('…')).collect();
        assert_eq!(cell.len(), CELL_LINES);
        assert!(cell[CELL_LINES - 1].ends_with('…'));
    }

    #[test]
    fn the_same_document_lays_out_the_same() {
        let m = metrics();
        let d = doc(vec![Block::Paragraph("보장분석 ".repeat(80)), table_of(70)]);
        assert_eq!(layout(&m, &d), layout(&m, &d));
    }
}
