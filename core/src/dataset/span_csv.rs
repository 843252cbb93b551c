//! SPAN's view-label file `dataset.csv`: a header `filename,viewpoint`, then one row per
//! image, `image_train/0190_c014_00051260_1.jpg,3` — the path relative to the dataset root
//! and the view number of [`View`] (0 front, 1 rear, 2 side, 3 front-side, 4 rear-side).
//! The published file repeats some rows; they are kept as they are.

use super::error::{ParseError, WriteError, check_token};
use super::views::View;

/// The header line of the file.
pub const SPAN_CSV_HEADER: &str = "filename,viewpoint";

/// One row of `dataset.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewLabel {
    /// Image path relative to the dataset root.
    pub filename: String,
    /// Labelled view.
    pub view: View,
}

/// Parses `dataset.csv` text; `file` names it in errors.
pub fn parse_span_csv(file: &str, text: &str) -> Result<Vec<ViewLabel>, ParseError> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| l.trim_start_matches('\u{feff}').trim());
    if header != Some(SPAN_CSV_HEADER) {
        return Err(ParseError::new(
            file,
            1,
            "header",
            format!(
                "expected {SPAN_CSV_HEADER:?}, found {:?}",
                header.unwrap_or("")
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, l) in lines {
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        let line = i + 1;
        let (filename, view) = l.split_once(',').ok_or_else(|| {
            ParseError::new(file, line, "viewpoint", format!("no comma in {l:?}"))
        })?;
        if filename.is_empty() {
            return Err(ParseError::new(file, line, "filename", "empty"));
        }
        let view = view
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(View::from_index)
            .ok_or_else(|| {
                ParseError::new(
                    file,
                    line,
                    "viewpoint",
                    format!("{view:?} is not a view 0..=4"),
                )
            })?;
        out.push(ViewLabel {
            filename: filename.to_owned(),
            view,
        });
    }
    Ok(out)
}

/// Writes rows with the header.
pub fn write_span_csv(rows: &[ViewLabel]) -> Result<String, WriteError> {
    let mut out = format!("{SPAN_CSV_HEADER}\n");
    for r in rows {
        check_token("filename", &r.filename, true)?;
        out.push_str(&format!("{},{}\n", r.filename, r.view.index()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "filename,viewpoint\n\
image_train/0190_c014_00051260_1.jpg,3\n\
image_train/0190_c014_00051260_1.jpg,3\n\
image_train/0191_c013_00031085_0.jpg,0\n\
image_train/0287_c007_00035435_0.jpg,2\n";

    #[test]
    fn parses_the_published_form_and_round_trips() {
        let rows = parse_span_csv("dataset.csv", GOOD).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].view, View::FrontSide);
        assert_eq!(rows[2].view, View::Front);
        assert_eq!(rows[3].view, View::Side);
        assert_eq!(write_span_csv(&rows).unwrap(), GOOD);
    }

    #[test]
    fn malformed_rows() {
        let cases = [
            ("image,view\na.jpg,1\n", 1, "header"),
            ("filename,viewpoint\na.jpg,1\na.jpg 1\n", 3, "viewpoint"),
            ("filename,viewpoint\na.jpg,5\n", 2, "viewpoint"),
            ("filename,viewpoint\n,1\n", 2, "filename"),
            ("", 1, "header"),
        ];
        for (text, line, field) in cases {
            let e = parse_span_csv("dataset.csv", text).unwrap_err();
            assert_eq!(
                (e.file.as_str(), e.line, e.field.as_str()),
                ("dataset.csv", line, field),
                "{text:?}"
            );
        }
    }

    #[test]
    fn writer_rejects_commas() {
        let r = ViewLabel {
            filename: "a,b.jpg".into(),
            view: View::Rear,
        };
        assert!(write_span_csv(&[r]).is_err());
    }
}
