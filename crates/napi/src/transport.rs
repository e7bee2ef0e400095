//! JS binding of mtcore::transport.
