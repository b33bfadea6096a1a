//! Pre-filled application forms as PDF (M1: the booking produces the form).
//!
//! Kept in a crate of its own because the PDF writer is the heaviest dependency of the
//! workspace: the rest builds and tests without waiting for it to change. It knows nothing of
//! bookings: the app hands it a title and labelled rows, already in the citizen's words. The CJK
//! font comes from the system (Debian `fonts-wqy-microhei` or `fonts-noto-cjk`), never from the
//! repository; krilla embeds only the glyphs used, so a page stays small.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;
use std::path::{Path, PathBuf};

/// Fonts tried in order when none is configured.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// No CJK font could be found or read; the message says where Wujing looked.
    NoFont(String),
    Pdf(String),
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoFont(m) => write!(f, "no CJK font: {m}"),
            Self::Pdf(m) => write!(f, "PDF writing failed: {m}"),
        }
    }
}

impl std::error::Error for FormError {}

/// A loaded CJK font, shared by every form.
#[derive(Clone)]
pub struct FormFont(Font);

impl FormFont {
    /// Loads `path`, or the first of [`FONT_CANDIDATES`] that exists.
    pub fn load(path: Option<&Path>) -> Result<Self, FormError> {
        let candidates: Vec<PathBuf> = match path {
            Some(p) => vec![p.to_path_buf()],
            None => FONT_CANDIDATES.iter().map(PathBuf::from).collect(),
        };
        for p in &candidates {
            if let Ok(data) = std::fs::read(p) {
                return Font::new(data.into(), 0).map(Self).ok_or_else(|| {
                    FormError::NoFont(format!("{} is not a readable font", p.display()))
                });
            }
        }
        Err(FormError::NoFont(format!(
            "none of {} exists; install fonts-wqy-microhei or fonts-noto-cjk, or set WUJING_CJK_FONT",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// One form: a title, a subtitle, labelled rows, and notes at the foot.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub title: String,
    pub subtitle: String,
    pub rows: Vec<(String, String)>,
    pub notes: Vec<String>,
    /// Document metadata: the language (`zh-CN`) and a title for readers.
    pub language: String,
}

const W: f32 = 595.0; // A4 in points
const H: f32 = 842.0;
const MARGIN: f32 = 56.0;
/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;

/// An upper bound of the width of `t` at `size` points: a CJK character is one em, anything
/// else at most 0.62 em in the fonts used.
fn width(t: &str, size: f32) -> f32 {
    t.chars()
        .map(|c| if (c as u32) < 0x2E80 { 0.62 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// The size, at most `size`, at which `t` fits in `room` points (not below 5 pt).
fn fit(t: &str, size: f32, room: f32) -> f32 {
    let w = width(t, size);
    if w <= room {
        size
    } else {
        (size * room / w).max(5.0)
    }
}

fn black() -> Fill {
    Fill {
        paint: rgb::Color::new(20, 32, 43).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Renders the form on one A4 page.
pub fn render(form: &Form, font: &FormFont) -> Result<Vec<u8>, FormError> {
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(form.title.clone())
            .language(form.language.clone())
            .creator("Wujing".into()),
    );
    let mut page = doc.start_page_with(PageSettings::from_wh(W, H).expect("A4 is a valid size"));
    let mut s = page.surface();
    let f = font.0.clone();
    s.set_fill(Some(black()));
    let text = |s: &mut krilla::surface::Surface, x: f32, y: f32, size: f32, t: &str| {
        s.draw_text(
            Point::from_xy(x, y),
            f.clone(),
            size,
            t,
            false,
            TextDirection::Auto,
        );
    };
    text(&mut s, MARGIN, 80.0, 18.0, &form.title);
    text(&mut s, MARGIN, 104.0, 11.0, &form.subtitle);

    // The photo box, top right, at the size of an exit-entry photo (33 × 48 mm), beside the
    // first rows of the table; those rows end at its left edge.
    let (photo_w, photo_h) = (33.0 * MM, 48.0 * MM);
    let photo_x = W - MARGIN - photo_w;
    let top = 126.0;
    let row_h = 30.0;
    let label_w = 150.0;
    let bottom = top + row_h * form.rows.len() as f32;
    let beside_photo = ((photo_h + 8.0) / row_h).ceil() as usize;
    let right_of = |i: usize| {
        if i < beside_photo {
            photo_x - 8.0
        } else {
            W - MARGIN
        }
    };
    let mut pb = PathBuilder::new();
    for i in 0..=form.rows.len() {
        let y = top + row_h * i as f32;
        pb.move_to(MARGIN, y);
        pb.line_to(right_of(i.saturating_sub(1)).max(right_of(i)), y);
    }
    for i in 0..form.rows.len() {
        let (y0, y1) = (top + row_h * i as f32, top + row_h * (i + 1) as f32);
        for x in [MARGIN, MARGIN + label_w, right_of(i)] {
            pb.move_to(x, y0);
            pb.line_to(x, y1);
        }
    }
    // The photo box itself.
    pb.move_to(photo_x, top);
    pb.line_to(photo_x + photo_w, top);
    pb.line_to(photo_x + photo_w, top + photo_h);
    pb.line_to(photo_x, top + photo_h);
    pb.close();
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            width: 0.8,
            ..Default::default()
        }));
        s.draw_path(&path);
        s.set_stroke(None);
        s.set_fill(Some(black()));
    }
    text(
        &mut s,
        photo_x + 22.0,
        top + photo_h / 2.0 - 4.0,
        10.0,
        "照片",
    );
    text(
        &mut s,
        photo_x + 16.0,
        top + photo_h / 2.0 + 10.0,
        7.5,
        "Photo",
    );
    text(
        &mut s,
        photo_x + 10.0,
        top + photo_h / 2.0 + 22.0,
        6.5,
        "33 × 48 mm",
    );
    for (i, (label, value)) in form.rows.iter().enumerate() {
        let y = top + row_h * i as f32;
        // A label is Chinese over its English, each within the label column.
        let (zh, en) = label.split_once(' ').unwrap_or((label.as_str(), ""));
        text(
            &mut s,
            MARGIN + 6.0,
            y + 13.0,
            fit(zh, 10.5, label_w - 12.0),
            zh,
        );
        if !en.is_empty() {
            text(
                &mut s,
                MARGIN + 6.0,
                y + 24.5,
                fit(en, 7.5, label_w - 12.0),
                en,
            );
        }
        // A value is shrunk until it fits its cell, never drawn over a border.
        let room = right_of(i) - (MARGIN + label_w) - 12.0;
        text(
            &mut s,
            MARGIN + label_w + 6.0,
            y + 19.0,
            fit(value, 11.0, room),
            value,
        );
    }
    let mut y = bottom + 40.0;
    text(
        &mut s,
        MARGIN,
        y,
        12.0,
        "申请人签名 Signature：______________________    日期 Date：______________",
    );
    y += 36.0;
    for n in &form.notes {
        text(&mut s, MARGIN, y, 9.5, n);
        y += 16.0;
    }
    s.finish();
    page.finish();
    doc.finish().map_err(|e| FormError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_font_is_a_clear_error() {
        let e = FormFont::load(Some(Path::new("/nonexistent/font.ttc")))
            .err()
            .unwrap();
        assert!(
            matches!(e, FormError::NoFont(ref m) if m.contains("/nonexistent/font.ttc")),
            "{e}"
        );
    }
}
