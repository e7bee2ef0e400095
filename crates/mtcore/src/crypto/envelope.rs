//! The MTProto 2.0 message envelope: msg_key, key derivation, padding, auth_key_id.
