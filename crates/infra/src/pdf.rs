//! PDF reports (ADR 0011): [`KrillaPdf`], the [`PdfRenderer`] that lays a report
//! [`Document`] out on A4 pages and writes it with krilla, in pure Rust.
//!
//! Invariants:
//! - one font, Pretendard Regular (OFL-1.1, `assets/fonts/`), compiled into the binary,
//!   parsed once in [`KrillaPdf::new`] and embedded in each PDF as a subset of the glyphs
//!   it uses, with a `ToUnicode` map (text is searchable and `pdftotext` extracts it);
//! - the layout ([`layout`]) is computed whole before anything is written, so every
//!   page's footer can say "n / N"; it draws only strings of the document and numbers
//!   derived from it (page numbers, axis ticks), never other data;
//! - the same document gives the same bytes: no clock, no random id, no hash-ordered
//!   iteration (krilla's own object ids are content hashes with fixed keys);
//! - a failure is a [`RenderFailure`] naming the stage that failed, never the text of the
//!   document (which holds a person's masked name and their contracts).

mod chart;
mod layout;
mod text;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use domain::funnel::document::Document;
use domain::ports::{PdfRenderer, RenderFailure};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::Font;

use layout::{Op, PAGE_H, PAGE_W, Rgb};
use text::Metrics;

/// Pretendard Regular 1.309 (`assets/fonts/README.md`).
pub(crate) const FONT: &[u8] = include_bytes!("../../../assets/fonts/Pretendard-Regular.ttf");

/// Renders report documents as PDFs. Cloning shares the parsed font.
#[derive(Clone)]
pub struct KrillaPdf(Arc<Inner>);

struct Inner {
    font: Font,
    metrics: Metrics,
}

impl KrillaPdf {
    /// Parses the embedded font.
    ///
    /// # Errors
    /// [`RenderFailure`] when the font cannot be read (a broken build, not an input).
    pub fn new() -> Result<Self, RenderFailure> {
        let unreadable = || RenderFailure("pdf: the embedded font cannot be read".to_owned());
        let font = Font::new(FONT.into(), 0).ok_or_else(unreadable)?;
        let font_ref = skrifa::FontRef::new(FONT).map_err(|_| unreadable())?;
        let metrics = Metrics::new(&font_ref).ok_or_else(unreadable)?;
        Ok(Self(Arc::new(Inner { font, metrics })))
    }
}

impl std::fmt::Debug for KrillaPdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KrillaPdf(Pretendard-Regular)")
    }
}

impl PdfRenderer for KrillaPdf {
    fn render(&self, document: &Document) -> Result<Vec<u8>, RenderFailure> {
        let Inner { font, metrics } = &*self.0;
        let pages = layout::layout(metrics, document);
        let mut pdf = krilla::Document::new();
        pdf.set_metadata(Metadata::new().title(document.title.clone()).language("ko".to_owned()));
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| RenderFailure("pdf: the page size is invalid".to_owned()))?;
        for ops in &pages {
            let mut page = pdf.start_page_with(settings.clone());
            let mut surface = page.surface();
            for op in ops {
                draw(&mut surface, font, metrics, op);
            }
            surface.finish();
            page.finish();
        }
        pdf.finish().map_err(|e| RenderFailure(format!("pdf: writing the document failed ({})", stage(&e))))
    }
}

/// The kind of a krilla failure, without its details (which may quote the text).
fn stage(e: &krilla::error::KrillaError) -> &'static str {
    use krilla::error::KrillaError as E;
    match e {
        E::Font(..) => "font subsetting",
        E::Validation(_) => "validation",
        E::Limit(_) => "a PDF limit",
        _ => "serialisation",
    }
}

fn color((r, g, b): Rgb) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

fn fill(c: Rgb) -> Fill {
    Fill { paint: color(c).into(), ..Fill::default() }
}

/// Draws one operation. Degenerate geometry (an empty or non-finite rectangle or line)
/// draws nothing: it has nothing to show.
fn draw(s: &mut Surface<'_>, font: &Font, m: &Metrics, op: &Op) {
    match op {
        Op::Text { x, baseline, size, color: c, text } => {
            s.set_stroke(None);
            s.set_fill(Some(fill(*c)));
            let glyphs = m.glyphs(text);
            s.draw_glyphs(Point::from_xy(*x, *baseline), &glyphs, font.clone(), text, *size, false);
        }
        Op::Rect { x, y, w, h, fill: f, stroke } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else { return };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            let Some(path) = pb.finish() else { return };
            s.set_fill(f.map(fill));
            s.set_stroke(stroke.map(|(c, width)| Stroke { paint: color(c).into(), width, ..Stroke::default() }));
            s.draw_path(&path);
        }
        Op::Line { x1, y1, x2, y2, color: c, width } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            let Some(path) = pb.finish() else { return };
            s.set_fill(None);
            s.set_stroke(Some(Stroke { paint: color(*c).into(), width: *width, ..Stroke::default() }));
            s.draw_path(&path);
        }
    }
}
