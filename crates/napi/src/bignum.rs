//! JS binding of mtcore::bignum.
