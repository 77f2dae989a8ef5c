//! Shared fixtures for the host integration tests.
