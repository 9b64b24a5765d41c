//! Storage traits with an embedded SQLite implementation, and the compressed event archive.
