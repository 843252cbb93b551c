//! Batched query-vs-gallery top-k search over int8 signatures.
