//! The MTProto 2.0 message layer: one sans-IO state machine per session.
//!
//! `session::Session` assigns msg_id/seqno, packs and encrypts outgoing
//! messages, and decrypts, checks and interprets incoming ones into
//! `events::Event`s. Time and randomness come in as arguments; the next
//! wake-up time goes out as a deadline.

pub mod acks;
pub mod bind;
pub mod events;
pub mod file_part;
pub mod gzip;
pub mod inflight;
pub mod msg_id;
pub mod outbox;
pub mod plain;
pub mod received;
pub mod salts;
pub mod seqno;
pub mod service;
pub mod session;
pub mod wire;

pub use events::{DropReason, Event, FailReason};
pub use salts::FutureSalt;
pub use session::{MtpError, Options, Session, SessionState, Transmit};
