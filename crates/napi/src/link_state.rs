//! `MtpLink`'s session state as JS reads and sets it: ids, salts, the clock,
//! the seqno counter, export and import; and a server's look into a packet
//! before it knows which session must read it.

use mtcore::crypto::envelope::{self, AuthKey, Sender};
use napi::bindgen_prelude::{BigInt, BufferSlice};
use napi_derive::napi;

use crate::convert::{big, ms, u64_of};
use crate::link::MtpLink;
use crate::mtp_convert::{self, salt_js, salt_rs, MtpFutureSalt, MtpState};

#[napi]
impl MtpLink {
    #[napi(getter)]
    pub fn session_id(&self) -> BigInt {
        big(self.inner.session().session_id())
    }

    #[napi(setter)]
    pub fn set_session_id(&mut self, id: BigInt) {
        self.inner.session_mut().set_session_id(u64_of(&id));
    }

    #[napi(getter)]
    pub fn salt(&self) -> BigInt {
        big(self.inner.session().salt())
    }

    #[napi(setter)]
    pub fn set_salt(&mut self, salt: BigInt) {
        self.inner.session_mut().set_salt(u64_of(&salt));
    }

    /// Server time minus local time in ms; setting it also marks the clock as trusted.
    #[napi(getter)]
    pub fn time_offset(&self) -> f64 {
        self.inner.session().time_offset_ms() as f64
    }

    #[napi(setter)]
    pub fn set_time_offset(&mut self, offset: f64) {
        self.inner.session_mut().set_time_offset_ms(ms(offset));
    }

    #[napi(getter)]
    pub fn time_synced(&self) -> bool {
        self.inner.session().time_synced()
    }

    /// Content-related messages sent so far (the seqno counter).
    #[napi(getter)]
    pub fn seqno(&self) -> u32 {
        self.inner.session().seqno()
    }

    #[napi(setter)]
    pub fn set_seqno(&mut self, count: u32) {
        self.inner.session_mut().set_seqno(count);
    }

    #[napi(getter)]
    pub fn last_msg_id(&self) -> BigInt {
        big(self.inner.session().last_msg_id())
    }

    #[napi(setter)]
    pub fn set_last_msg_id(&mut self, id: BigInt) {
        self.inner.session_mut().set_last_msg_id(u64_of(&id));
    }

    #[napi(getter)]
    pub fn future_salts(&self) -> Vec<MtpFutureSalt> {
        self.inner
            .session()
            .future_salts()
            .iter()
            .map(salt_js)
            .collect()
    }

    /// Replaces the future salts (a server: the salts clients may use, each inside
    /// its window; the current one follows the time).
    #[napi]
    pub fn set_future_salts(&mut self, salts: Vec<MtpFutureSalt>, now: f64) {
        self.inner
            .session_mut()
            .set_future_salts(salts.iter().map(salt_rs).collect(), ms(now));
    }

    /// Everything to persist, the auth key included.
    #[napi]
    pub fn export_state(&self) -> MtpState {
        mtp_convert::export_state(self.inner.session())
    }

    /// Restores exported state (the auth key is the constructor's; `authKey` is ignored).
    #[napi]
    pub fn import_state(&mut self, state: MtpState, now: f64) {
        mtp_convert::import_state(self.inner.session_mut(), &state, now);
    }

    /// A server's look into a client's whole packet: the session_id inside it (a
    /// copy is decrypted with `authKey`), or null when it does not decrypt with it.
    /// Tells which session must `receive` the packet.
    #[napi]
    pub fn peek_session_id(auth_key: BufferSlice, packet: BufferSlice) -> Option<BigInt> {
        let key = AuthKey::from_slice(&auth_key)?;
        let plain = envelope::decrypt(&key, Sender::Client, &packet).ok()?;
        Some(big(u64::from_le_bytes(plain[8..16].try_into().ok()?)))
    }

    /// Server side: the session_id a client's packet names, from its first block only
    /// (unchecked: `receive` checks the packet in full). Null for a packet too short or
    /// under another key. Cheap for large packets, where `peekSessionId` decrypts all.
    #[napi]
    pub fn peek_session_id_unchecked(auth_key: BufferSlice, packet: BufferSlice) -> Option<BigInt> {
        let key = AuthKey::from_slice(&auth_key)?;
        envelope::peek_session_id(&key, Sender::Client, &packet).map(big)
    }
}
