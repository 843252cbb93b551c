//! Readers and writers for the VeRi-776 and CityFlow-ReID dataset layouts and their view
//! labels (VeRi-776 orientation files, SPAN's `dataset.csv`).
//!
//! Parsers and writers are pure functions on strings and values; [`files`] is the only
//! module that touches disk. A malformed file gives a [`ParseError`] naming the file, line
//! and field.

pub mod cityflow;
pub mod error;
pub mod files;
pub mod label_xml;
pub mod name;
pub mod name_list;
pub mod orientation;
pub mod span_csv;
pub mod veri;
pub mod view_table;
pub mod views;

#[cfg(test)]
mod layout_tests;

pub use cityflow::{CityFlowDataset, CityFlowEntry};
pub use error::{DatasetError, ParseError, WriteError};
pub use files::{load_cityflow, load_veri, verify_cityflow, verify_veri};
pub use label_xml::{LabelItem, LabelRoot, parse_label_xml, write_label_xml};
pub use name::VeriName;
pub use name_list::{ListedName, parse_name_list, write_name_list};
pub use orientation::{OrientationRecord, parse_orientation_file, write_orientation_file};
pub use span_csv::{ViewLabel, parse_span_csv, write_span_csv};
pub use veri::{Split, VeriDataset, VeriEntry};
pub use view_table::{parse_azimuth_table, parse_view_table};
pub use views::{Orientation, UnknownView, View};
