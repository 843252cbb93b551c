//! Name lists (`name_train.txt`, `name_query.txt`, `name_test.txt`): one image file name
//! per line, in the split's order.

use super::error::{ParseError, WriteError, check_token};

/// One listed name with its 1-based line number (for error messages downstream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedName {
    /// Line in the list file (or position in a folder listing).
    pub line: usize,
    /// Image file name.
    pub name: String,
}

/// Parses a name list; blank lines are skipped, a line with inner whitespace is an error.
pub fn parse_name_list(file: &str, text: &str) -> Result<Vec<ListedName>, ParseError> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let name = l.trim();
        if name.is_empty() {
            continue;
        }
        if name.split_whitespace().nth(1).is_some() {
            return Err(ParseError::new(
                file,
                i + 1,
                "name",
                format!("{name:?} has more than one field"),
            ));
        }
        out.push(ListedName {
            line: i + 1,
            name: name.to_owned(),
        });
    }
    Ok(out)
}

/// Names in listing order, numbered from 1 (for folder listings).
pub fn numbered(names: impl IntoIterator<Item = String>) -> Vec<ListedName> {
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| ListedName { line: i + 1, name })
        .collect()
}

/// Writes a name list, one name per line.
pub fn write_name_list<S: AsRef<str>>(names: &[S]) -> Result<String, WriteError> {
    let mut out = String::new();
    for n in names {
        check_token("name", n.as_ref(), false)?;
        out.push_str(n.as_ref());
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_round_trips_and_rejects() {
        let text = "0002_c002_00030600_0.jpg\r\n\n0002_c002_00030605_0.jpg\n";
        let names = parse_name_list("name_test.txt", text).unwrap();
        assert_eq!(
            names[1],
            ListedName {
                line: 3,
                name: "0002_c002_00030605_0.jpg".into()
            }
        );
        let written =
            write_name_list(&names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            written,
            "0002_c002_00030600_0.jpg\n0002_c002_00030605_0.jpg\n"
        );
        let e = parse_name_list("name_test.txt", "a.jpg\nb.jpg c.jpg\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "name"));
        assert!(write_name_list(&["a b.jpg"]).is_err());
        assert!(write_name_list(&[""]).is_err());
    }
}
