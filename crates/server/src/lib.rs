//! The Shield node: HTTP API, authentication, ingest endpoints and the processing pipeline.
