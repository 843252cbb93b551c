//! A small builder for ONNX graphs over `tract_onnx::pb` (the protobuf types of the ONNX
//! standard): named inputs, initializers, nodes and outputs, written as a `ModelProto` that
//! tract and onnxruntime both load. The trainer's exporter and the fixture model use it.

use prost::Message;
use tract_onnx::pb;

/// The ONNX operator-set version graphs are written for.
pub const OPSET: i64 = 17;

/// An attribute of a node.
#[derive(Clone, Debug)]
pub enum Attr {
    /// One integer.
    Int(&'static str, i64),
    /// A list of integers.
    Ints(&'static str, Vec<i64>),
    /// One float.
    Float(&'static str, f32),
    /// A string.
    Str(&'static str, &'static str),
}

impl Attr {
    fn proto(&self) -> pb::AttributeProto {
        use pb::attribute_proto::AttributeType;
        match self {
            Self::Int(name, v) => pb::AttributeProto {
                name: (*name).into(),
                r#type: AttributeType::Int as i32,
                i: *v,
                ..Default::default()
            },
            Self::Ints(name, v) => pb::AttributeProto {
                name: (*name).into(),
                r#type: AttributeType::Ints as i32,
                ints: v.clone(),
                ..Default::default()
            },
            Self::Float(name, v) => pb::AttributeProto {
                name: (*name).into(),
                r#type: AttributeType::Float as i32,
                f: *v,
                ..Default::default()
            },
            Self::Str(name, v) => pb::AttributeProto {
                name: (*name).into(),
                r#type: AttributeType::String as i32,
                s: v.as_bytes().to_vec(),
                ..Default::default()
            },
        }
    }
}

/// Element types used for graph inputs and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// f32.
    F32,
}

/// A graph under construction.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    inputs: Vec<pb::ValueInfoProto>,
    outputs: Vec<pb::ValueInfoProto>,
    metadata: Vec<(String, String)>,
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

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares an f32 graph input; `None` dimensions are the batch size `N`.
    pub fn input(&mut self, name: &str, dims: &[Option<i64>]) {
        self.inputs.push(value(name, dims));
    }

    /// Declares an f32 graph output.
    pub fn output(&mut self, name: &str, dims: &[Option<i64>]) {
        self.outputs.push(value(name, dims));
    }

    /// Adds a key–value pair to the model's metadata.
    pub fn metadata(&mut self, key: &str, value: &str) {
        self.metadata.push((key.into(), value.into()));
    }

    /// Adds an f32 constant; returns its name.
    pub fn f32s(&mut self, name: &str, dims: &[i64], data: Vec<f32>) -> String {
        debug_assert_eq!(dims.iter().product::<i64>() as usize, data.len(), "{name}");
        self.initializers.push(pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.into()
    }

    /// Adds an i8 constant; returns its name.
    pub fn i8s(&mut self, name: &str, dims: &[i64], data: &[i8]) -> String {
        self.initializers.push(pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Int8 as i32,
            raw_data: data.iter().map(|v| *v as u8).collect(),
            ..Default::default()
        });
        name.into()
    }

    /// Adds a u8 constant; returns its name.
    pub fn u8s(&mut self, name: &str, dims: &[i64], data: &[u8]) -> String {
        self.initializers.push(pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Uint8 as i32,
            raw_data: data.to_vec(),
            ..Default::default()
        });
        name.into()
    }

    /// Adds an i64 constant; returns its name.
    pub fn i64s(&mut self, name: &str, dims: &[i64], data: &[i64]) -> String {
        self.initializers.push(pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.into()
    }

    /// Adds a node with one output called `output`; returns that name.
    pub fn node(&mut self, op: &str, inputs: &[&str], output: &str, attrs: &[Attr]) -> String {
        self.node_multi(op, inputs, &[output], attrs);
        output.into()
    }

    /// Adds a node with several outputs.
    pub fn node_multi(&mut self, op: &str, inputs: &[&str], outputs: &[&str], attrs: &[Attr]) {
        self.nodes.push(pb::NodeProto {
            op_type: op.into(),
            name: outputs.first().copied().unwrap_or(op).into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attrs.iter().map(Attr::proto).collect(),
            ..Default::default()
        });
    }

    /// Number of nodes so far.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The finished model.
    pub fn finish(self, graph_name: &str, producer: &str) -> pb::ModelProto {
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: producer.into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            metadata_props: self
                .metadata
                .into_iter()
                .map(|(key, value)| pb::StringStringEntryProto { key, value })
                .collect(),
            graph: Some(pb::GraphProto {
                name: graph_name.into(),
                node: self.nodes,
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The finished model as bytes.
    pub fn finish_bytes(self, graph_name: &str, producer: &str) -> Vec<u8> {
        self.finish(graph_name, producer).encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::*;

    #[test]
    fn a_built_graph_runs_in_tract_with_the_expected_values() {
        let mut g = GraphBuilder::new();
        g.input("x", &[None, Some(3)]);
        let w = g.f32s("w", &[2, 3], vec![1.0, 0.0, -1.0, 0.5, 0.5, 0.5]);
        let b = g.f32s("b", &[2], vec![0.25, -1.0]);
        let y = g.node("Gemm", &["x", &w, &b], "y", &[Attr::Int("transB", 1)]);
        let lo = g.f32s("lo", &[], vec![0.0]);
        let hi = g.f32s("hi", &[], vec![6.0]);
        g.node("Clip", &[&y, &lo, &hi], "out", &[]);
        g.output("out", &[None, Some(2)]);
        g.metadata("model_id", "test");
        let bytes = g.finish_bytes("t", "test");
        let model = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .expect("model");
        let x = tract_ndarray::arr2(&[[1.0f32, 2.0, 3.0], [10.0, 10.0, -10.0]]).into_tensor();
        let out = model.run(tvec!(x.into())).expect("run");
        let v = out[0].to_plain_array_view::<f32>().expect("f32");
        // Row 1: [1 - 3 + 0.25, 3 - 1] = [-1.75 → 0, 2]; row 2: [20.25 → 6, 5 - 1].
        assert_eq!(v.as_slice().expect("contiguous"), &[0.0, 2.0, 6.0, 4.0]);
    }
}
