//! What the session reports to its driver after each receive.

use super::gzip::GzipError;
use super::salts::FutureSalt;
use super::wire::ParseError;
use crate::crypto::envelope::EnvelopeError;

/// One thing that happened; the driver (TypeScript) settles requests and
/// notifies its client from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// rpc_result for a request of ours; `body` is the result object, gzip_packed already
    /// inflated. `req_msg_id` is the request's current msg_id (after any resend).
    RpcResult {
        req_msg_id: u64,
        body: Vec<u8>,
    },
    /// rpc_result carrying rpc_error, parsed.
    RpcError {
        req_msg_id: u64,
        code: i32,
        message: String,
    },
    /// Any other content from the peer (updates; in server mode, the client's queries).
    Message {
        msg_id: u64,
        seqno: u32,
        body: Vec<u8>,
    },
    /// The peer confirmed receipt of these messages of ours (msgs_ack or msgs_state_info).
    Acked {
        msg_ids: Vec<u64>,
    },
    /// A request now travels under a new msg_id (the peer rejected or lost the old one).
    Resent {
        old_msg_id: u64,
        new_msg_id: u64,
    },
    /// A request was given up; `reason` says why. It will not be answered (a late
    /// answer is dropped as `UnknownMessage`).
    Failed {
        msg_id: u64,
        /// The bad_msg_notification code for `Rejected`, -1 for `AnswerDropped`, 0 else.
        error_code: i32,
        reason: FailReason,
    },
    /// The peer rejected one of our messages; recovery follows as Resent/Failed/TimeFixed.
    BadMsg {
        msg_id: u64,
        error_code: i32,
    },
    SaltChanged {
        salt: u64,
    },
    FutureSalts {
        salts: Vec<FutureSalt>,
    },
    SessionCreated {
        first_msg_id: u64,
        unique_id: u64,
        server_salt: u64,
    },
    /// We started a new session_id (after bad_msg_notification 33); everything unanswered
    /// was re-queued. The driver should fetch missed updates.
    SessionReset {
        old_session_id: u64,
        new_session_id: u64,
    },
    TimeFixed {
        offset_ms: i64,
    },
    Pong {
        msg_id: u64,
        ping_id: u64,
    },
    /// Answer to our msgs_state_req: one status byte per msg_id.
    StateInfo {
        req_msg_id: u64,
        states: Vec<(u64, u8)>,
    },
    DestroySession {
        session_id: u64,
        existed: bool,
    },
    /// Server side with `server_checks`: a message of the peer was refused and answered
    /// with bad_msg_notification (or bad_server_salt, code 48) carrying `error_code`.
    Rejected {
        msg_id: u64,
        error_code: i32,
    },
    /// A packet or a message inside it failed a check and was ignored.
    Dropped(DropReason),
}

/// Why a request was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The peer rejected it (bad_msg_notification) more often than the session retries.
    Rejected,
    /// Its answer arrived but could not be read (corrupt, over a budget, nested too
    /// deep), or a message that could have held it was dropped and the peer then said
    /// it had received the request (see `Session::audit`).
    AnswerDropped,
    /// It was re-sent (new msg_id or the same one) more often than `MAX_RESENDS`:
    /// the peer keeps claiming to have lost it.
    ResentTooOften,
}

impl FailReason {
    /// Stable code for JS.
    pub fn code(self) -> &'static str {
        match self {
            Self::Rejected => "REJECTED",
            Self::AnswerDropped => "ANSWER_DROPPED",
            Self::ResentTooOften => "RESENT_TOO_OFTEN",
        }
    }
}

/// Why a packet or message was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    Envelope(EnvelopeError),
    WrongSessionId {
        expected: u64,
        got: u64,
    },
    /// msg_id parity does not fit the sender, or an inner id is not below its container's.
    BadMsgId {
        msg_id: u64,
    },
    /// Outside 300 s in the past / 30 s in the future of the corrected clock.
    TimeWindow {
        msg_id: u64,
        skew_ms: i64,
    },
    Duplicate {
        msg_id: u64,
    },
    /// Below every id of the (full) duplicate window.
    TooOld {
        msg_id: u64,
    },
    Malformed {
        msg_id: u64,
        error: ParseError,
    },
    Gzip {
        msg_id: u64,
        error: GzipError,
    },
    NestedContainer {
        msg_id: u64,
    },
    /// msg_container / msg_copy / gzip_packed nested more than `limit` levels deep.
    TooDeep {
        msg_id: u64,
        limit: usize,
    },
    /// An answer or notification about a message we did not (recently) send.
    UnknownMessage {
        msg_id: u64,
    },
}

impl DropReason {
    /// Stable code for JS.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Envelope(EnvelopeError::AuthKeyIdMismatch { .. }) => "AUTH_KEY_ID",
            Self::Envelope(EnvelopeError::MsgKeyMismatch) => "MSG_KEY",
            Self::Envelope(_) => "ENVELOPE",
            Self::WrongSessionId { .. } => "SESSION_ID",
            Self::BadMsgId { .. } => "MSG_ID",
            Self::TimeWindow { .. } => "TIME_WINDOW",
            Self::Duplicate { .. } => "DUPLICATE",
            Self::TooOld { .. } => "TOO_OLD",
            Self::Malformed { .. } => "MALFORMED",
            Self::Gzip { .. } => "GZIP",
            Self::NestedContainer { .. } => "NESTED_CONTAINER",
            Self::TooDeep { .. } => "TOO_DEEP",
            Self::UnknownMessage { .. } => "UNKNOWN_MESSAGE",
        }
    }

    /// The msg_id concerned, when there is one.
    pub fn msg_id(&self) -> Option<u64> {
        match self {
            Self::Envelope(_) | Self::WrongSessionId { .. } => None,
            Self::BadMsgId { msg_id }
            | Self::TimeWindow { msg_id, .. }
            | Self::Duplicate { msg_id }
            | Self::TooOld { msg_id }
            | Self::Malformed { msg_id, .. }
            | Self::Gzip { msg_id, .. }
            | Self::NestedContainer { msg_id }
            | Self::TooDeep { msg_id, .. }
            | Self::UnknownMessage { msg_id } => Some(*msg_id),
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Envelope(e) => write!(f, "{e}"),
            Self::WrongSessionId { expected, got } => {
                write!(f, "session_id {got:016x} is not ours ({expected:016x})")
            }
            Self::BadMsgId { msg_id } => write!(f, "msg_id {msg_id:016x} is malformed"),
            Self::TimeWindow { msg_id, skew_ms } => {
                write!(
                    f,
                    "msg_id {msg_id:016x} is {skew_ms} ms off the corrected clock"
                )
            }
            Self::Duplicate { msg_id } => write!(f, "msg_id {msg_id:016x} was already received"),
            Self::TooOld { msg_id } => {
                write!(f, "msg_id {msg_id:016x} is below the duplicate window")
            }
            Self::Malformed { msg_id, error } => write!(f, "message {msg_id:016x}: {error}"),
            Self::Gzip { msg_id, error } => write!(f, "message {msg_id:016x}: {error}"),
            Self::NestedContainer { msg_id } => {
                write!(f, "message {msg_id:016x}: a container inside a container")
            }
            Self::TooDeep { msg_id, limit } => write!(
                f,
                "message {msg_id:016x}: containers, copies and gzip_packed nested past {limit} levels"
            ),
            Self::UnknownMessage { msg_id } => {
                write!(f, "message {msg_id:016x} is not one we recently sent")
            }
        }
    }
}
