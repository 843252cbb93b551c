//! View-label tables in the forms the datasets this project reads come in: VeRi-776's
//! keypoint files (`<image> <keypoints…> <orientation 0–7>`), `<image> <view name>` lists,
//! and CSV files with a header naming `image` and `view` columns (the synthetic sets'
//! `views.csv`, which also carries `azimuth_deg`). The strict readers of SPAN's
//! `dataset.csv` and of orientation files are [`super::span_csv`] and
//! [`super::orientation`]; this one is for telling each image's view, whatever the file.

use std::collections::HashMap;
use std::path::Path;

use super::error::ParseError;
use super::views::View;

/// Parses a view-label table; returns image file name → view. `file` names it in errors.
///
/// With a header line naming an `image` and a `view` column those columns are used;
/// otherwise the image is the first field and the view the last.
pub fn parse_view_table(file: &str, text: &str) -> Result<HashMap<String, View>, ParseError> {
    let split = |line: &str| -> Vec<String> {
        line.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    let mut columns = None;
    if let Some((_, first)) = lines.peek() {
        let header = split(first);
        let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        if let (Some(image), Some(view)) = (find("image"), find("view")) {
            columns = Some((image, view));
            lines.next();
        } else if header
            .last()
            .is_some_and(|v| v.eq_ignore_ascii_case("view"))
        {
            lines.next();
        }
    }
    let mut views = HashMap::new();
    for (line_no, line) in lines {
        let err = |reason: String| ParseError::new(file, line_no, "view", reason);
        let fields = split(line);
        let (image_col, view_col) = columns.unwrap_or((0, fields.len().saturating_sub(1)));
        let (Some(image), Some(label)) = (fields.get(image_col), fields.get(view_col)) else {
            return Err(err(format!("expected an image and a view, found `{line}`")));
        };
        if fields.len() < 2 {
            return Err(err(format!("expected `<image> <view>`, found `{line}`")));
        }
        let view = match label.parse::<u8>() {
            Ok(o) => View::from_veri_orientation(o)
                .ok_or_else(|| err(format!("orientation {o} is not in 0–7")))?,
            Err(_) => label.parse::<View>().map_err(|e| err(e.to_string()))?,
        };
        let name = Path::new(image)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| err(format!("`{image}` is not an image name")))?;
        views.insert(name, view);
    }
    Ok(views)
}

/// Reads the `azimuth_deg` column of a view-label table with a header naming `image` and
/// `azimuth_deg`: image file name → azimuth. `None` when there is no such column.
pub fn parse_azimuth_table(
    file: &str,
    text: &str,
) -> Result<Option<HashMap<String, f64>>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Ok(None);
    };
    let header: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(image_col), Some(az_col)) = (find("image"), find("azimuth_deg")) else {
        return Ok(None);
    };
    let mut out = HashMap::new();
    for (line_no, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let err = |reason: String| ParseError::new(file, line_no, "azimuth_deg", reason);
        let (Some(image), Some(az)) = (fields.get(image_col), fields.get(az_col)) else {
            return Err(err(format!(
                "expected {} fields, found `{line}`",
                header.len()
            )));
        };
        let az: f64 = az
            .parse()
            .ok()
            .filter(|a: &f64| a.is_finite())
            .ok_or_else(|| err(format!("azimuth `{az}` is not a number")))?;
        let name = Path::new(image)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| err(format!("`{image}` is not an image name")))?;
        out.insert(name, az);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_columns_names_numbers_and_errors() {
        let csv = "image,view,azimuth_deg\nimage_train/a.jpg,front-side,40\nb.jpg,rear,180.5\n";
        let v = parse_view_table("views.csv", csv).unwrap();
        assert_eq!(v["a.jpg"], View::FrontSide);
        assert_eq!(v["b.jpg"], View::Rear);
        let az = parse_azimuth_table("views.csv", csv).unwrap().unwrap();
        assert_eq!(az["b.jpg"], 180.5);
        let keypoints = "x/0001_c001.jpg 1 2 3 6\n";
        assert_eq!(
            parse_view_table("k.txt", keypoints).unwrap()["0001_c001.jpg"],
            View::FrontSide
        );
        assert_eq!(parse_azimuth_table("k.txt", keypoints).unwrap(), None);
        let err = parse_view_table("k.txt", "a.jpg 9\n").unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("k.txt", 1));
        assert!(err.reason.contains("0–7"), "{err}");
        let err = parse_azimuth_table("v.csv", "image,azimuth_deg\na.jpg,x\n").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (2, "azimuth_deg"));
    }

    #[test]
    fn reads_span_names_and_veri_keypoint_lines() {
        let text = "image view\n0001_c001_0_0.jpg front-side\n\n# comment\n";
        let v = parse_view_table("v.txt", text).expect("parses");
        assert_eq!(v["0001_c001_0_0.jpg"], View::FrontSide);
        let text = "image_train/0002_c002_1_0.jpg 10 20 -1 -1 7\n";
        let v = parse_view_table("keypoint_train.txt", text).expect("parses");
        assert_eq!(v["0002_c002_1_0.jpg"], View::RearSide);
        let csv = "image,id,camera,view,orientation,azimuth_deg\n\
                   image_train/0001_c002_3_0.jpg,1,2,rear_side,4,147.5\n";
        let v = parse_view_table("views.csv", csv).expect("parses");
        assert_eq!(v["0001_c002_3_0.jpg"], View::RearSide);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn bad_view_lines_name_file_and_line() {
        let err =
            parse_view_table("views.txt", "a.jpg front\nb.jpg top\n").expect_err("unknown view");
        assert!(err.to_string().starts_with("views.txt:2:"), "{err}");
        let err = parse_view_table("k.txt", "a.jpg 9\n").expect_err("orientation 9");
        assert!(err.to_string().contains("k.txt:1"), "{err}");
        let err = parse_view_table("k.txt", "a.jpg front\nlonely\n").expect_err("one field");
        assert!(err.to_string().contains("k.txt:2"), "{err}");
    }
}
