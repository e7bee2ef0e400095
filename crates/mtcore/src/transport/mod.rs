//! transport (filled in by its issue).
