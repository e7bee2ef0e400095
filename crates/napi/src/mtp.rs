//! JS binding of mtcore::mtp.
