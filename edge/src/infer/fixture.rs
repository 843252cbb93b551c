//! A tiny stand-in SPAN model written as a real ONNX file, for tests, `bench` and trying the
//! agent before trained models exist. Per part: Conv 3×3 → ReLU → GlobalAveragePool →
//! Flatten gives a feature; a 1×1 Conv → Sigmoid gives the three view masks. Weights come
//! from a fixed pseudo-random sequence, so the file is the same on every run.

use std::path::{Path, PathBuf};

use prost::Message;
use tract_onnx::pb;

use super::InferError;
use super::manifest::sha256_hex;

/// Input and feature sizes of the fixture model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixtureShape {
    /// Input height.
    pub height: u32,
    /// Input width.
    pub width: u32,
    /// Feature dimension.
    pub dim: usize,
}

const FEATURES: [&str; 4] = ["global", "front", "rear", "side"];

fn weights(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn tensor(name: &str, dims: &[i64], data: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: data,
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

fn value(name: &str, dims: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(d.map_or_else(|| Value::DimParam("N".into()), Value::DimValue)),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ONNX bytes of the fixture model.
pub fn model_bytes(shape: FixtureShape) -> Vec<u8> {
    let (h, w, d) = (
        i64::from(shape.height),
        i64::from(shape.width),
        shape.dim as i64,
    );
    let mut nodes = Vec::new();
    let mut init = Vec::new();
    let mut outputs = Vec::new();
    for (k, name) in FEATURES.iter().enumerate() {
        let (wt, conv, relu, pool) = (
            format!("{name}_w"),
            format!("{name}_conv"),
            format!("{name}_relu"),
            format!("{name}_pool"),
        );
        init.push(tensor(
            &wt,
            &[d, 3, 3, 3],
            weights(k as u64 + 1, shape.dim * 27, 0.5),
        ));
        nodes.push(node(
            "Conv",
            &["image", &wt],
            &conv,
            vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
        ));
        nodes.push(node("Relu", &[&conv], &relu, vec![]));
        nodes.push(node("GlobalAveragePool", &[&relu], &pool, vec![]));
        nodes.push(node("Flatten", &[&pool], name, vec![int("axis", 1)]));
        outputs.push(value(name, &[None, Some(d)]));
    }
    init.push(tensor("masks_w", &[3, 3, 1, 1], weights(9, 9, 2.0)));
    init.push(tensor("masks_b", &[3], vec![0.0, -0.5, 0.5]));
    nodes.push(node(
        "Conv",
        &["image", "masks_w", "masks_b"],
        "masks_logits",
        vec![ints("kernel_shape", &[1, 1])],
    ));
    nodes.push(node("Sigmoid", &["masks_logits"], "masks", vec![]));
    outputs.push(value("masks", &[None, Some(3), Some(h), Some(w)]));
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "spanreid-edge fixture".into(),
        graph: Some(pb::GraphProto {
            name: "span_fixture".into(),
            node: nodes,
            initializer: init,
            input: vec![value("image", &[None, Some(3), Some(h), Some(w)])],
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    };
    model.encode_to_vec()
}

/// Writes `fixture.onnx` and a `manifest.toml` naming it `fixture` into `dir`; returns the
/// manifest path.
pub fn write(dir: &Path, shape: FixtureShape) -> Result<PathBuf, InferError> {
    let bytes = model_bytes(shape);
    let model = dir.join("fixture.onnx");
    let manifest = dir.join("manifest.toml");
    let text = format!(
        "# Tiny stand-in model written by `edge-agent fixture`.\n\
         [[model]]\n\
         name = \"fixture\"\n\
         file = \"fixture.onnx\"\n\
         sha256 = \"{}\"\n\
         input = \"image\"\n\
         height = {}\n\
         width = {}\n\
         mean = [0.485, 0.456, 0.406]\n\
         std = [0.229, 0.224, 0.225]\n\
         masks = \"masks\"\n\
         features = [\"global\", \"front\", \"rear\", \"side\"]\n\
         trained_by = \"not trained: fixed pseudo-random weights\"\n",
        sha256_hex(&bytes),
        shape.height,
        shape.width
    );
    let write = |path: &Path, data: &[u8]| {
        std::fs::write(path, data).map_err(|source| InferError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    std::fs::create_dir_all(dir).map_err(|source| InferError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    write(&model, &bytes)?;
    write(&manifest, text.as_bytes())?;
    Ok(manifest)
}
