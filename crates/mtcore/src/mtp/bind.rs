//! auth.bindTempAuthKey as a message of the session that carries it.
//!
//! Spec: https://core.telegram.org/method/auth.bindTempAuthKey. The query's
//! `encrypted_message` must name the msg_id of the very message that carries
//! the query, so the body depends on its own msg_id. The session builds it when
//! it stamps the message, and builds it again whenever it re-stamps it (after
//! bad_server_salt, a clock correction, a container refusal): the binding never
//! travels under an id it does not name. TDLib does the same in
//! `SessionConnection::encrypted_bind`; nothing outside the session predicts ids.

use super::wire;
use crate::crypto::bind::{encrypt_bind_message, BindError};
use crate::crypto::envelope::AuthKey;

/// bind_auth_key_inner#75a3f765 nonce:long temp_auth_key_id:long perm_auth_key_id:long
/// temp_session_id:long expires_at:int = BindAuthKeyInner;
const BIND_AUTH_KEY_INNER: u32 = 0x75a3_f765;
/// auth.bindTempAuthKey#cdd42a05 perm_auth_key_id:long nonce:long expires_at:int
/// encrypted_message:bytes = Bool;
const AUTH_BIND_TEMP_AUTH_KEY: u32 = 0xcdd4_2a05;

/// Random bytes of one binding: 16 in place of salt ‖ session_id, up to 15 of padding.
const NOISE_LEN: usize = 32;

/// What a binding needs besides the msg_id; its random bytes are drawn once, so that
/// a re-stamped binding differs only in its msg_id (and what depends on it).
#[derive(Clone)]
pub struct BindRequest {
    perm_key: AuthKey,
    nonce: u64,
    expires_at: i32,
    inner: Vec<u8>,
    noise: [u8; NOISE_LEN],
}

impl std::fmt::Debug for BindRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No key material, no nonce.
        write!(f, "BindRequest(perm={:016x})", self.perm_key.id())
    }
}

impl BindRequest {
    /// A binding of the temporary key `temp_key_id` (used by the MTProto session
    /// `temp_session_id`) to `perm_key` until `expires_at` (unix seconds, server clock).
    pub fn new(
        perm_key: AuthKey,
        temp_key_id: u64,
        temp_session_id: u64,
        nonce: u64,
        expires_at: i32,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Self {
        let mut inner = Vec::with_capacity(40);
        wire::put_u32(&mut inner, BIND_AUTH_KEY_INNER);
        wire::put_u64(&mut inner, nonce);
        wire::put_u64(&mut inner, temp_key_id);
        wire::put_u64(&mut inner, perm_key.id());
        wire::put_u64(&mut inner, temp_session_id);
        wire::put_u32(&mut inner, expires_at as u32);
        let mut noise = [0u8; NOISE_LEN];
        random(&mut noise);
        BindRequest {
            perm_key,
            nonce,
            expires_at,
            inner,
            noise,
        }
    }

    /// The serialized auth.bindTempAuthKey query for the message `msg_id`.
    pub fn body(&self, msg_id: u64) -> Vec<u8> {
        let mut used = 0;
        let mut replay = |buf: &mut [u8]| {
            buf.copy_from_slice(&self.noise[used..used + buf.len()]);
            used += buf.len();
        };
        let encrypted = match encrypt_bind_message(&self.perm_key, msg_id, &self.inner, &mut replay)
        {
            Ok(e) => e,
            // The inner message is built above: 40 bytes, whole words.
            Err(BindError::UnalignedInner { .. } | BindError::InnerTooLong { .. }) => {
                unreachable!("bind_auth_key_inner is 40 bytes")
            }
        };
        let mut out = Vec::with_capacity(24 + wire::bytes_len(encrypted.len()));
        wire::put_u32(&mut out, AUTH_BIND_TEMP_AUTH_KEY);
        wire::put_u64(&mut out, self.perm_key.id());
        wire::put_u64(&mut out, self.nonce);
        wire::put_u32(&mut out, self.expires_at as u32);
        wire::put_bytes(&mut out, &encrypted);
        out
    }
}

/// Opens a bind query with the permanent key, as a server would: the msg_id the
/// encrypted_message names, and the bind_auth_key_inner it carries.
#[cfg(test)]
pub(crate) fn open_query(perm: &AuthKey, body: &[u8]) -> (u64, Vec<u8>) {
    use crate::crypto::bind::derive_aes_v1;
    use crate::crypto::ige;
    let mut r = wire::Reader::new(body);
    assert_eq!(r.u32("ctor").unwrap(), AUTH_BIND_TEMP_AUTH_KEY);
    assert_eq!(r.u64("perm").unwrap(), perm.id());
    r.u64("nonce").unwrap();
    r.u32("expires").unwrap();
    let enc = r.bytes("encrypted_message").unwrap();
    assert_eq!(&enc[..8], perm.id_bytes());
    let msg_key: [u8; 16] = enc[8..24].try_into().unwrap();
    let (k, iv) = derive_aes_v1(perm.bytes(), &msg_key);
    let mut plain = enc[24..].to_vec();
    ige::decrypt_in_place(&mut plain, &k, &iv).unwrap();
    let msg_id = u64::from_le_bytes(plain[16..24].try_into().unwrap());
    let len = u32::from_le_bytes(plain[28..32].try_into().unwrap()) as usize;
    (msg_id, plain[32..32 + len].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::wire::Reader;

    #[test]
    fn the_binding_names_the_msg_id_it_is_built_for() {
        let perm = AuthKey::new(std::array::from_fn(|i| (i * 29 + 1) as u8));
        let mut n = 0u8;
        let mut rng = |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_add(7);
                *x = n;
            }
        };
        let req = BindRequest::new(
            perm.clone(),
            0x1111,
            0x2222,
            0x3333,
            1_900_000_000,
            &mut rng,
        );
        for id in [0x6000_0000_0000_0004u64, 0x6000_0000_0000_1000] {
            let (named, inner) = open_query(&perm, &req.body(id));
            assert_eq!(named, id);
            let mut r = Reader::new(&inner);
            assert_eq!(r.u32("ctor").unwrap(), BIND_AUTH_KEY_INNER);
            assert_eq!(r.u64("nonce").unwrap(), 0x3333);
            assert_eq!(r.u64("temp").unwrap(), 0x1111);
            assert_eq!(r.u64("perm").unwrap(), perm.id());
            assert_eq!(r.u64("session").unwrap(), 0x2222);
            assert_eq!(r.i32("expires").unwrap(), 1_900_000_000);
        }
    }
}
