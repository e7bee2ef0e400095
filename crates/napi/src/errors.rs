//! Maps mtcore errors to JS errors with a stable `code` string.
//!
//! napi-rs sets a thrown error's `code` property from the error's status, so a
//! status that is our own code string gives JS `err.code === 'ERR_...'`.

/// The error type of every fallible binding: `err.code` is the stable code.
pub type JsError = napi::Error<&'static str>;
// Bindings write `Result<T, JsError>` in full: napi-derive recognises a
// fallible function by the literal name `Result` in its signature.

/// A JS error whose `code` property is `code` and whose message carries the data.
pub fn coded(code: &'static str, message: impl std::fmt::Display) -> JsError {
    napi::Error::new(code, format!("{code}: {message}"))
}
