//! `train_label.xml` / `test_label.xml` of VeRi-776 and CityFlow-ReID:
//! `<TrainingImages Version="1.0"><Items number="N"><Item imageName=".." vehicleID="0001"
//! cameraID="c001" colorID="1" typeID="4" />…`. The files declare `encoding="gb2312"` but
//! their content is ASCII; callers pass the text decoded leniently and the declaration is
//! not acted on. `colorID` and `typeID` are VeRi-only and optional.

use quick_xml::XmlVersion;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};

use super::error::ParseError;
use super::name::{camera_name, parse_camera, parse_number};

/// One `<Item>` of a label file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelItem {
    /// `imageName`: the file name inside the split's image folder.
    pub image_name: String,
    /// `vehicleID` (`0001` → 1).
    pub vehicle_id: u32,
    /// `cameraID` (`c001` → 1).
    pub camera: u32,
    /// `colorID`, when present (VeRi-776).
    pub color: Option<u32>,
    /// `typeID`, when present (VeRi-776).
    pub vehicle_type: Option<u32>,
}

/// The root element of a label file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelRoot {
    /// `<TrainingImages>` (`train_label.xml`).
    Training,
    /// `<TestImages>` (`test_label.xml`).
    Test,
}

impl LabelRoot {
    fn tag(self) -> &'static str {
        match self {
            LabelRoot::Training => "TrainingImages",
            LabelRoot::Test => "TestImages",
        }
    }
}

fn line_of(text: &str, byte: u64) -> usize {
    let end = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn parse_item(file: &str, line: usize, e: &BytesStart<'_>) -> Result<LabelItem, ParseError> {
    let mut image_name = None;
    let mut vehicle_id = None;
    let mut camera = None;
    let mut color = None;
    let mut vehicle_type = None;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| ParseError::new(file, line, "Item", err.to_string()))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| ParseError::new(file, line, &key, err.to_string()))?;
        let number = |parse: fn(&str) -> Option<u32>, what: &str| {
            parse(&value).ok_or_else(|| {
                ParseError::new(file, line, &key, format!("{value:?} is not {what}"))
            })
        };
        match key.as_str() {
            "imageName" => image_name = Some(value.clone().into_owned()),
            "vehicleID" => vehicle_id = Some(number(parse_number, "a number")?),
            "cameraID" => camera = Some(number(parse_camera, "a camera like c001")?),
            "colorID" => color = Some(number(parse_number, "a number")?),
            "typeID" => vehicle_type = Some(number(parse_number, "a number")?),
            _ => {}
        }
    }
    let missing = |field: &str| ParseError::new(file, line, field, "attribute missing");
    Ok(LabelItem {
        image_name: image_name.ok_or_else(|| missing("imageName"))?,
        vehicle_id: vehicle_id.ok_or_else(|| missing("vehicleID"))?,
        camera: camera.ok_or_else(|| missing("cameraID"))?,
        color,
        vehicle_type,
    })
}

/// Parses a label file's text; `file` names it in errors.
pub fn parse_label_xml(file: &str, text: &str) -> Result<Vec<LabelItem>, ParseError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut items = Vec::new();
    let mut declared = None;
    loop {
        let start = reader.buffer_position();
        match reader.read_event() {
            Ok(Event::Empty(e) | Event::Start(e)) => {
                let line = line_of(text, start);
                match e.name().as_ref() {
                    b"Item" => items.push(parse_item(file, line, &e)?),
                    b"Items" => {
                        for attr in e.attributes().flatten() {
                            if attr.key.as_ref() == b"number" {
                                declared = parse_number(&String::from_utf8_lossy(&attr.value));
                            }
                        }
                    }
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(err) => {
                let line = line_of(text, reader.error_position());
                return Err(ParseError::new(file, line, "xml", err.to_string()));
            }
        }
    }
    if let Some(n) = declared.filter(|&n| n as usize != items.len()) {
        tracing::warn!(
            file,
            declared = n,
            found = items.len(),
            "Items number disagrees"
        );
    }
    Ok(items)
}

/// Writes a label file in the published form (one `<Item>` per line).
pub fn write_label_xml(root: LabelRoot, items: &[LabelItem]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"gb2312\"?>\n");
    out.push_str(&format!("<{} Version=\"1.0\">\n", root.tag()));
    out.push_str(&format!("<Items number=\"{}\">\n", items.len()));
    for it in items {
        out.push_str(&format!(
            "<Item imageName=\"{}\" vehicleID=\"{:04}\" cameraID=\"{}\"",
            escape(it.image_name.as_str()),
            it.vehicle_id,
            camera_name(it.camera)
        ));
        if let Some(c) = it.color {
            out.push_str(&format!(" colorID=\"{c}\""));
        }
        if let Some(t) = it.vehicle_type {
            out.push_str(&format!(" typeID=\"{t}\""));
        }
        out.push_str(" />\n");
    }
    out.push_str(&format!("</Items>\n</{}>\n", root.tag()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERI: &str = "<?xml version=\"1.0\" encoding=\"gb2312\"?>\n\
<TrainingImages Version=\"1.0\">\n\
<Items number=\"2\">\n\
<Item imageName=\"0001_c001_00016450_0.jpg\" vehicleID=\"0001\" cameraID=\"c001\" colorID=\"1\" typeID=\"4\" />\n\
<Item imageName=\"0002_c002_00030600_0.jpg\" vehicleID=\"0002\" cameraID=\"c002\" colorID=\"5\" typeID=\"2\" />\n\
</Items>\n</TrainingImages>\n";

    #[test]
    fn parses_veri_items() {
        let items = parse_label_xml("train_label.xml", VERI).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            LabelItem {
                image_name: "0001_c001_00016450_0.jpg".into(),
                vehicle_id: 1,
                camera: 1,
                color: Some(1),
                vehicle_type: Some(4),
            }
        );
        assert_eq!(items[1].vehicle_type, Some(2));
    }

    #[test]
    fn parses_cityflow_items_on_one_line() {
        let text = "<?xml version=\"1.0\" encoding=\"gb2312\"?><TrainingImages Version=\"1.0\">\
<Items number=\"1\"><Item imageName=\"000001.jpg\" vehicleID=\"0001\" cameraID=\"c001\" />\
</Items></TrainingImages>";
        let items = parse_label_xml("train_label.xml", text).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].vehicle_id, items[0].camera, items[0].color),
            (1, 1, None)
        );
    }

    #[test]
    fn writer_round_trips() {
        let items = parse_label_xml("x", VERI).unwrap();
        let text = write_label_xml(LabelRoot::Test, &items);
        assert!(text.contains("<TestImages Version=\"1.0\">"));
        assert_eq!(parse_label_xml("x", &text).unwrap(), items);
        let odd = vec![LabelItem {
            image_name: "a&\"b.jpg".into(),
            vehicle_id: 12345,
            camera: 40,
            color: None,
            vehicle_type: None,
        }];
        assert_eq!(
            parse_label_xml("y", &write_label_xml(LabelRoot::Training, &odd)).unwrap(),
            odd
        );
    }

    #[test]
    fn malformed_items_name_file_line_and_field() {
        let bad_id = VERI.replace("vehicleID=\"0002\"", "vehicleID=\"00x2\"");
        let e = parse_label_xml("train_label.xml", &bad_id).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.field.as_str()),
            ("train_label.xml", 5, "vehicleID")
        );
        let bad_cam = VERI.replace("cameraID=\"c001\"", "cameraID=\"001\"");
        let e = parse_label_xml("f", &bad_cam).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (4, "cameraID"));
        let no_name = VERI.replace("imageName=\"0002_c002_00030600_0.jpg\" ", "");
        let e = parse_label_xml("f", &no_name).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (5, "imageName"));
        let broken = VERI.replace("</Items>", "</Itemz>");
        let e = parse_label_xml("f", &broken).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (6, "xml"));
    }
}
