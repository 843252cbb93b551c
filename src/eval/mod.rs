//! Re-identification metrics: mAP, CMC and mINP under the common protocol, streamed per query.
