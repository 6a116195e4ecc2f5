//! Shared helpers for the integration tests (data location, temporary nodes).
