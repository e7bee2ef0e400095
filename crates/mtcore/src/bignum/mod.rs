//! bignum (filled in by its issue).
