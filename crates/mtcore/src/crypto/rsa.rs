//! RSA for the auth-key exchange: RSA_PAD, the legacy scheme, key fingerprints.
