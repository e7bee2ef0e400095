//! mtp (filled in by its issue).
