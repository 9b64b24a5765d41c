//! Sigma rule parser, compiler and matcher: synchronous detection core, no I/O.
