//! Diffie-Hellman for the auth-key exchange: the security checks of the handshake.
