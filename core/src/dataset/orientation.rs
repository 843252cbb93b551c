//! VeRi-776 keypoint/orientation files: one line per image,
//! `image_path x1 y1 … x20 y20 orientation` (whitespace-separated; 20 keypoints, a
//! coordinate of −1 marks an invisible keypoint; orientation 0..=7, see [`Orientation`]).

use super::error::{ParseError, WriteError, check_token};
use super::views::Orientation;

/// Number of annotated keypoints per image.
pub const KEYPOINTS: usize = 20;

/// One line of an orientation file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrientationRecord {
    /// Image path as written in the file.
    pub path: String,
    /// `[x, y]` per keypoint in pixels; `-1` marks an invisible keypoint.
    pub keypoints: [[i32; 2]; KEYPOINTS],
    /// Annotated orientation.
    pub orientation: Orientation,
}

const FIELDS: usize = 1 + 2 * KEYPOINTS + 1;

fn parse_line(file: &str, line: usize, text: &str) -> Result<OrientationRecord, ParseError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != FIELDS {
        return Err(ParseError::new(
            file,
            line,
            "line",
            format!(
                "expected {FIELDS} fields (path, 40 coordinates, orientation), found {}",
                fields.len()
            ),
        ));
    }
    let mut keypoints = [[0i32; 2]; KEYPOINTS];
    for (k, point) in keypoints.iter_mut().enumerate() {
        for (axis, name) in ["x", "y"].iter().enumerate() {
            let raw = fields[1 + 2 * k + axis];
            let value: i32 = raw.parse().map_err(|_| {
                ParseError::new(
                    file,
                    line,
                    &format!("{name}{}", k + 1),
                    format!("{raw:?} is not an integer"),
                )
            })?;
            if value < -1 {
                return Err(ParseError::new(
                    file,
                    line,
                    &format!("{name}{}", k + 1),
                    format!("{value} is negative (only -1, invisible, is allowed)"),
                ));
            }
            point[axis] = value;
        }
    }
    let raw = fields[FIELDS - 1];
    let orientation = raw
        .parse::<u32>()
        .ok()
        .and_then(Orientation::from_index)
        .ok_or_else(|| {
            ParseError::new(
                file,
                line,
                "orientation",
                format!("{raw:?} is not an orientation 0..=7"),
            )
        })?;
    Ok(OrientationRecord {
        path: fields[0].to_owned(),
        keypoints,
        orientation,
    })
}

/// Parses an orientation file's text (blank lines are skipped); `file` names it in errors.
pub fn parse_orientation_file(
    file: &str,
    text: &str,
) -> Result<Vec<OrientationRecord>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(file, i + 1, l))
        .collect()
}

/// Writes records in the file format, one line each.
pub fn write_orientation_file(records: &[OrientationRecord]) -> Result<String, WriteError> {
    let mut out = String::new();
    for r in records {
        check_token("path", &r.path, false)?;
        out.push_str(&r.path);
        for [x, y] in r.keypoints {
            out.push_str(&format!(" {x} {y}"));
        }
        out.push_str(&format!(" {}\n", r.orientation.index()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(path: &str, orientation: &str) -> String {
        let coords: Vec<String> = (0..40)
            .map(|i| {
                if i % 7 == 0 {
                    "-1".into()
                } else {
                    i.to_string()
                }
            })
            .collect();
        format!("{path} {} {orientation}", coords.join(" "))
    }

    #[test]
    fn parses_and_round_trips() {
        let text = format!(
            "{}\n\n{}\n",
            line("VeRi/image_train/0001_c001_00016450_0.jpg", "3"),
            line("b.jpg", "7")
        );
        let recs = parse_orientation_file("keypoint_train.txt", &text).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].keypoints[0], [-1, 1]);
        assert_eq!(recs[0].keypoints[19], [38, 39]);
        assert_eq!(recs[0].orientation, Orientation::LeftFront);
        assert_eq!(recs[1].orientation, Orientation::RightRear);
        let written = write_orientation_file(&recs).unwrap();
        assert_eq!(parse_orientation_file("w", &written).unwrap(), recs);
    }

    #[test]
    fn malformed_lines_name_line_and_field() {
        let good = line("a.jpg", "0");
        let cases = [
            (good.replacen(" 0", "", 1), "line"),
            (line("a.jpg", "8"), "orientation"),
            (line("a.jpg", "x"), "orientation"),
            (good.replacen(" 1 ", " one ", 1), "y1"),
            (good.replacen(" 2 ", " -5 ", 1), "x2"),
        ];
        for (bad, field) in cases {
            let text = format!("{good}\n{bad}\n");
            let e = parse_orientation_file("kp.txt", &text).unwrap_err();
            assert_eq!(
                (e.file.as_str(), e.line, e.field.as_str()),
                ("kp.txt", 2, field),
                "{bad}"
            );
        }
    }

    #[test]
    fn writer_rejects_paths_with_spaces() {
        let rec = OrientationRecord {
            path: "a b.jpg".into(),
            keypoints: [[0; 2]; KEYPOINTS],
            orientation: Orientation::Front,
        };
        assert!(write_orientation_file(&[rec]).is_err());
    }
}
