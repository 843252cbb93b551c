//! The two container formats of `torch.save` and the pickled state_dict inside them.

use std::io::Read;

use repugnant_pickle::{SequenceType, Value, ops::PickleOp};
use tch::{Kind, Tensor};

pub(super) fn read_zip_format(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let pickle_name = zip
        .file_names()
        .find(|n| n.ends_with("/data.pkl") || *n == "data.pkl")
        .map(str::to_owned)
        .ok_or("no data.pkl in the archive")?;
    let prefix = pickle_name.trim_end_matches("data.pkl").to_owned();
    let pickle = read_entry(&mut zip, &pickle_name)?;
    let (ops, _) = one_pickle(&pickle)?;
    let values = evaluate(&ops)?;
    let specs = tensor_specs(&values)?;
    let mut tensors = Vec::with_capacity(specs.len());
    for (name, spec) in specs {
        let storage = read_entry(&mut zip, &format!("{prefix}data/{}", spec.storage))?;
        let tensor = spec.view(&storage).map_err(|r| format!("`{name}`: {r}"))?;
        tensors.push((name.to_owned(), tensor));
    }
    Ok(tensors)
}

/// Legacy layout: pickles of the magic number, the protocol version (1001) and system
/// info, then the object, then the list of storage keys; then per key, in that order, the
/// element count (little-endian i64) and the raw little-endian elements.
pub(super) fn read_legacy_format(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    let mut rest = bytes;
    for what in ["magic number", "protocol version", "system info"] {
        rest = one_pickle(rest).map_err(|e| format!("{what}: {e}"))?.1;
    }
    let (object_ops, rest) = one_pickle(rest)?;
    let (key_ops, mut rest) = one_pickle(rest)?;
    let values = evaluate(&object_ops)?;
    let specs = tensor_specs(&values)?;
    let key_values = evaluate(&key_ops)?;
    let keys: Vec<&str> = match key_values.first() {
        Some(Value::Seq(_, keys)) => keys
            .iter()
            .map(|k| match k {
                Value::String(s) => Ok(*s),
                _ => Err("a storage key is not a string".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("storage key list missing".into()),
    };
    let mut storages = std::collections::HashMap::new();
    for key in keys {
        let kind = specs
            .iter()
            .find(|(_, s)| s.storage == key)
            .map(|(_, s)| s.kind)
            .ok_or_else(|| format!("storage {key} is used by no tensor"))?;
        let (count, data) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| format!("file ends before storage {key}"))?;
        let len = usize::try_from(i64::from_le_bytes(*count))
            .ok()
            .and_then(|n| n.checked_mul(kind.elt_size_in_bytes()))
            .filter(|&n| n <= data.len())
            .ok_or_else(|| format!("storage {key} runs past the end of the file"))?;
        storages.insert(key, &data[..len]);
        rest = &data[len..];
    }
    specs
        .into_iter()
        .map(|(name, spec)| {
            let storage = storages
                .get(spec.storage)
                .ok_or_else(|| format!("`{name}`: storage {} is not in the file", spec.storage))?;
            let tensor = spec.view(storage).map_err(|r| format!("`{name}`: {r}"))?;
            Ok((name.to_owned(), tensor))
        })
        .collect()
}

/// The ops of the pickle at the start of `bytes` (through STOP) and the bytes after it.
fn one_pickle(bytes: &[u8]) -> Result<(Vec<PickleOp<'_>>, &[u8]), String> {
    let mut ops = Vec::new();
    let mut rest = bytes;
    loop {
        let (next, op) = repugnant_pickle::parsers::parse_op::<()>(rest)
            .map_err(|_| format!("pickle does not parse at byte {}", bytes.len() - rest.len()))?;
        rest = next;
        let stop = op == PickleOp::STOP;
        ops.push(op);
        if stop {
            return Ok((ops, rest));
        }
    }
}

fn evaluate<'a>(ops: &'a [PickleOp<'a>]) -> Result<Vec<Value<'a>>, String> {
    repugnant_pickle::evaluate(ops, true)
        .map(|(values, _)| values)
        .map_err(|e| format!("pickle does not evaluate: {e}"))
}

/// Tensor entries of the state_dict in `values`, in order; non-tensor entries are skipped.
fn tensor_specs<'a>(values: &'a [Value<'a>]) -> Result<Vec<(&'a str, TensorSpec<'a>)>, String> {
    let mut specs = Vec::new();
    for (name, value) in state_dict_entries(values)? {
        if let Some(spec) = tensor_spec(value).map_err(|r| format!("`{name}`: {r}"))? {
            specs.push((name, spec));
        }
    }
    Ok(specs)
}

fn read_entry(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let mut entry = zip
        .by_name(name)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| format!("zip entry {name}: {e}"))?;
    Ok(bytes)
}

/// The (key, value) pairs of the top-level `OrderedDict` (or plain dict).
fn state_dict_entries<'a>(
    values: &'a [Value<'a>],
) -> Result<Vec<(&'a str, &'a Value<'a>)>, String> {
    let top = match values.first() {
        Some(Value::Build(inner, _)) => inner.as_ref(),
        Some(other) => other,
        None => return Err("empty pickle".into()),
    };
    let items = match top {
        Value::Global(_, args) => match args.as_slice() {
            [_, Value::Seq(SequenceType::Tuple, items), ..] => items,
            _ => return Err("top-level object is not an OrderedDict".into()),
        },
        Value::Seq(SequenceType::Dict, items) => items,
        _ => return Err("top-level object is not a dict".into()),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Seq(SequenceType::Tuple, kv) => match kv.as_slice() {
                [Value::String(k), v] => Ok((*k, v)),
                _ => Err("a dict key is not a string".to_owned()),
            },
            _ => Err("malformed dict item".to_owned()),
        })
        .collect()
}

/// Where a tensor's data lives and how to view it.
struct TensorSpec<'a> {
    storage: &'a str,
    kind: Kind,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

impl TensorSpec<'_> {
    fn view(&self, bytes: &[u8]) -> Result<Tensor, String> {
        let elem = self.kind.elt_size_in_bytes();
        if !bytes.len().is_multiple_of(elem) {
            return Err(format!(
                "storage of {} bytes is not a whole number of elements",
                bytes.len()
            ));
        }
        let len = (bytes.len() / elem) as i64;
        let last = self.offset
            + self
                .size
                .iter()
                .zip(&self.stride)
                .map(|(n, s)| (n - 1).max(0) * s)
                .sum::<i64>();
        if self.offset < 0 || (self.size.iter().all(|&n| n > 0) && last >= len) {
            return Err(format!(
                "view reaches element {last} of a {len}-element storage"
            ));
        }
        let storage = Tensor::from_data_size(bytes, &[len], self.kind);
        Ok(storage
            .as_strided(self.size.as_slice(), self.stride.as_slice(), self.offset)
            .contiguous())
    }
}

/// Decodes `_rebuild_tensor_v2((storage pid), offset, size, stride, requires_grad, …)`;
/// `Ok(None)` for values that are not tensors.
fn tensor_spec<'a>(value: &'a Value<'a>) -> Result<Option<TensorSpec<'a>>, String> {
    let Value::Global(func, args) = value else {
        return Ok(None);
    };
    let is_rebuild = matches!(func.as_ref(),
        Value::Raw(op) if **op == PickleOp::GLOBAL("torch._utils", "_rebuild_tensor_v2"));
    if !is_rebuild {
        return Ok(None);
    }
    let [Value::Seq(SequenceType::Tuple, fields)] = args.as_slice() else {
        return Err("unexpected _rebuild_tensor_v2 arguments".into());
    };
    let [
        Value::PersId(pid),
        Value::Int(offset),
        Value::Seq(_, size),
        Value::Seq(_, stride),
        ..,
    ] = fields.as_slice()
    else {
        return Err("unexpected _rebuild_tensor_v2 fields".into());
    };
    let Value::Seq(SequenceType::Tuple, pid) = pid.as_ref() else {
        return Err("unexpected storage id".into());
    };
    let [
        Value::String("storage"),
        Value::Raw(class),
        Value::String(key),
        ..,
    ] = pid.as_slice()
    else {
        return Err("unexpected storage id fields".into());
    };
    let kind = match class.as_ref() {
        PickleOp::GLOBAL("torch", name) => storage_kind(name)?,
        _ => return Err("storage class is not a torch global".into()),
    };
    let ints = |v: &[Value<'_>]| -> Result<Vec<i64>, String> {
        v.iter()
            .map(|x| match x {
                Value::Int(n) => Ok(*n),
                _ => Err("non-integer size or stride".to_owned()),
            })
            .collect()
    };
    Ok(Some(TensorSpec {
        storage: key,
        kind,
        offset: *offset,
        size: ints(size)?,
        stride: ints(stride)?,
    }))
}

fn storage_kind(class: &str) -> Result<Kind, String> {
    Ok(match class {
        "FloatStorage" => Kind::Float,
        "DoubleStorage" => Kind::Double,
        "HalfStorage" => Kind::Half,
        "BFloat16Storage" => Kind::BFloat16,
        "LongStorage" => Kind::Int64,
        "IntStorage" => Kind::Int,
        "ShortStorage" => Kind::Int16,
        "CharStorage" => Kind::Int8,
        "ByteStorage" => Kind::Uint8,
        "BoolStorage" => Kind::Bool,
        other => return Err(format!("unsupported storage type {other}")),
    })
}
