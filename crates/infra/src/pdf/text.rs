//! Text measurement and line breaking with the embedded font's own metrics (skrifa).
//!
//! Invariants:
//! - a string's width is the sum of its characters' advances (no kerning, no shaping):
//!   the glyph runs [`Metrics::glyphs`] hands to krilla are placed with exactly these
//!   advances, so what is measured is what is drawn;
//! - [`Metrics::wrap`] returns lines no wider than the width asked for, except a single
//!   character wider than it; Hangul and other CJK text breaks between any two
//!   characters, Latin text between words (a word wider than the line by character),
//!   closing punctuation stays with what it closes, `\n` always breaks;
//! - [`Metrics::fit`] returns the text itself when it fits, else a prefix ending in `…`.

use krilla::text::{GlyphId as KrillaGlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, GlyphId, MetadataProvider};

/// The font's metrics, in ems.
#[derive(Clone)]
pub(super) struct Metrics {
    charmap: skrifa::charmap::Charmap<'static>,
    glyphs: GlyphMetrics<'static>,
    upem: f32,
    /// Above the baseline, in ems.
    pub ascent: f32,
    /// Below the baseline, in ems (positive).
    pub descent: f32,
}

const ELLIPSIS: char = '…';

impl Metrics {
    /// The metrics of `font`, or `None` when it has no usable units per em.
    pub fn new(font: &FontRef<'static>) -> Option<Self> {
        let m = font.metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(m.units_per_em);
        if upem <= 0.0 {
            return None;
        }
        Some(Self {
            charmap: font.charmap(),
            glyphs: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem,
            ascent: m.ascent / upem,
            descent: -m.descent / upem,
        })
    }

    fn glyph_of(&self, ch: char) -> GlyphId {
        self.charmap.map(ch).unwrap_or(GlyphId::NOTDEF)
    }

    /// `ch`'s advance in ems.
    fn advance(&self, ch: char) -> f32 {
        self.glyphs.advance_width(self.glyph_of(ch)).unwrap_or(0.0) / self.upem
    }

    /// `text`'s width at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// `text` as one glyph per character, each mapped back to its bytes (krilla writes
    /// the `ToUnicode` map from these ranges, which `pdftotext` reads).
    pub fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, c)| KrillaGlyph {
                glyph_id: KrillaGlyphId::new(self.glyph_of(c).to_u32()),
                text_range: i..i + c.len_utf8(),
                x_advance: self.advance(c),
                x_offset: 0.0,
                y_offset: 0.0,
                y_advance: 0.0,
                location: None,
            })
            .collect()
    }

    /// `text` broken into lines no wider than `width` at `size` (see the module invariants).
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let space = self.width(" ", size);
        for para in text.split('\n') {
            let mut line = String::new();
            let mut line_w = 0.0;
            for (gap, unit) in units(para) {
                let unit_w = self.width(&unit, size);
                let sep_w = if gap && !line.is_empty() { space } else { 0.0 };
                if line_w + sep_w + unit_w <= width {
                    if sep_w > 0.0 {
                        line.push(' ');
                    }
                    line.push_str(&unit);
                    line_w += sep_w + unit_w;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                if unit_w <= width {
                    line = unit;
                    line_w = unit_w;
                    continue;
                }
                // A word wider than the line: by character.
                for ch in unit.chars() {
                    let w = self.advance(ch) * size;
                    if line_w + w > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(ch);
                    line_w += w;
                }
            }
            lines.push(line);
        }
        lines
    }

    /// `text` if it fits `width` at `size`, else its longest prefix that fits with `…`.
    pub fn fit(&self, text: &str, size: f32, width: f32) -> String {
        if self.width(text, size) <= width {
            return text.to_owned();
        }
        let mut out = String::new();
        let mut w = self.advance(ELLIPSIS) * size;
        for ch in text.chars() {
            let cw = self.advance(ch) * size;
            if w + cw > width {
                break;
            }
            out.push(ch);
            w += cw;
        }
        out.truncate(out.trim_end().len());
        out.push(ELLIPSIS);
        out
    }

    /// At most `max` lines of `text` wrapped to `width`, the last ending in `…` when some
    /// text was left out.
    pub fn wrap_at_most(&self, text: &str, size: f32, width: f32, max: usize) -> Vec<String> {
        let mut lines = self.wrap(text, size, width);
        if lines.len() > max && max > 0 {
            let rest = lines.split_off(max - 1).join(" ");
            lines.push(self.fit(&format!("{rest}{ELLIPSIS}"), size, width));
        }
        lines
    }
}

/// Characters that are each a unit of their own: Hangul, CJK ideographs, kana, full-width
/// forms. Korean is broken between any two syllables.
fn breaks_anywhere(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x2E80..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Punctuation that must not begin a line.
fn closes(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ')' | ']' | '}' | '!' | '?' | ':' | ';' | '%' | '·' | '…' | '」' | '』' | '）' | '、' | '。'
    )
}

/// `para` as (whitespace before it, unit) pairs: words, or single CJK characters.
fn units(para: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut current = String::new();
    let mut gap = false;
    for c in para.chars() {
        if c.is_whitespace() {
            if !current.is_empty() {
                out.push((std::mem::replace(&mut gap, false), std::mem::take(&mut current)));
            }
            gap = true;
        } else if breaks_anywhere(c) {
            if !current.is_empty() {
                out.push((std::mem::replace(&mut gap, false), std::mem::take(&mut current)));
            }
            out.push((std::mem::replace(&mut gap, false), c.to_string()));
        } else if closes(c) && current.is_empty() && !gap {
            match out.last_mut() {
                Some((_, last)) => last.push(c),
                None => current.push(c),
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push((gap, current));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        let font = FontRef::new(super::super::FONT).unwrap();
        Metrics::new(&font).unwrap()
    }

    #[test]
    fn widths_add_up_and_scale_with_the_size() {
        let m = metrics();
        let (a, b) = (m.width("보장", 10.0), m.width("분석", 10.0));
        assert!((m.width("보장분석", 10.0) - (a + b)).abs() < 1e-3);
        assert!((m.width("보장", 20.0) - 2.0 * a).abs() < 1e-3);
        // Hangul syllables are about an em wide; a Latin "i" much less.
        assert!(a > 15.0 && a < 22.0, "{a}");
        assert!(m.width("i", 10.0) < 5.0);
        assert!(m.ascent > 0.5 && m.descent > 0.0);
    }

    #[test]
    fn korean_wraps_by_character_and_latin_by_word() {
        let m = metrics();
        let korean = "가나다라마바사아자차카타파하".repeat(3);
        let lines = m.wrap(&korean, 10.0, 100.0);
        assert!(lines.len() > 3);
        assert_eq!(lines.concat(), korean);
        assert!(lines.iter().all(|l| m.width(l, 10.0) <= 100.0));

        let latin = "the quick brown fox jumps over the lazy dog again and again";
        let lines = m.wrap(latin, 10.0, 80.0);
        assert!(lines.len() > 2);
        assert_eq!(lines.join(" "), latin);
        assert!(lines.iter().all(|l| m.width(l, 10.0) <= 80.0));
    }

    #[test]
    fn closing_punctuation_stays_with_its_word_and_newlines_break() {
        let m = metrics();
        let lines = m.wrap("보장분석입니다.", 10.0, m.width("보장분석입니다", 10.0) + 0.01);
        assert!(lines.iter().all(|l| !l.starts_with('.')), "{lines:?}");
        assert_eq!(m.wrap("가\n나", 10.0, 500.0), ["가", "나"]);
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_by_character() {
        let m = metrics();
        let word = "0123456789".repeat(5);
        let lines = m.wrap(&word, 10.0, 60.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn fit_keeps_what_fits_and_marks_the_cut() {
        let m = metrics();
        assert_eq!(m.fit("사망", 10.0, 100.0), "사망");
        let cut = m.fit("아주 긴 상품 이름이 칸을 넘습니다", 10.0, 60.0);
        assert!(cut.ends_with('…') && m.width(&cut, 10.0) <= 60.0, "{cut}");
        let lines = m.wrap_at_most(&"가나다 ".repeat(20), 10.0, 50.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'));
    }

    #[test]
    fn glyphs_map_back_to_the_text() {
        let m = metrics();
        let g = m.glyphs("암a");
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].text_range.clone(), g[1].text_range.clone()), (0..3, 3..4));
        assert!(g.iter().all(|g| g.glyph_id.to_u32() != 0));
    }
}
