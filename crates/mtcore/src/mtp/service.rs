//! Hand-written codecs of the MTProto service messages (not the API layer).
//!
//! Constructor ids and field layouts: the official service schema
//! (vectors/mtproto.tl in this repository, core.telegram.org/schema/mtproto). Semantics:
//! https://core.telegram.org/mtproto/service_messages and
//! https://core.telegram.org/mtproto/service_messages_about_messages.

use super::salts::FutureSalt;
use super::wire::{self, ParseError, Reader};

/// Constructor ids of the service schema.
pub mod ctor {
    pub const RPC_RESULT: u32 = 0xf35c_6d01;
    pub const RPC_ERROR: u32 = 0x2144_ca19;
    pub const MSGS_ACK: u32 = 0x62d6_b459;
    pub const BAD_MSG_NOTIFICATION: u32 = 0xa7ef_f811;
    pub const BAD_SERVER_SALT: u32 = 0xedab_447b;
    pub const NEW_SESSION_CREATED: u32 = 0x9ec2_0908;
    pub const PONG: u32 = 0x3477_73c5;
    pub const FUTURE_SALTS: u32 = 0xae50_0895;
    pub const MSGS_STATE_REQ: u32 = 0xda69_fb52;
    pub const MSGS_STATE_INFO: u32 = 0x04de_b57d;
    pub const MSGS_ALL_INFO: u32 = 0x8cc0_d131;
    pub const MSG_DETAILED_INFO: u32 = 0x276d_3ec6;
    pub const MSG_NEW_DETAILED_INFO: u32 = 0x809d_b6df;
    pub const MSG_RESEND_REQ: u32 = 0x7d86_1a08;
    pub const DESTROY_SESSION_OK: u32 = 0xe220_45fc;
    pub const DESTROY_SESSION_NONE: u32 = 0x62d3_50c9;
    pub const GZIP_PACKED: u32 = 0x3072_cfa1;
    pub const MSG_CONTAINER: u32 = 0x73f1_f8dc;
    pub const MSG_COPY: u32 = 0xe060_46b2;
    pub const PING: u32 = 0x7abe_77ec;
    pub const PING_DELAY_DISCONNECT: u32 = 0xf342_7b8c;
    pub const GET_FUTURE_SALTS: u32 = 0xb921_bd04;
    pub const DESTROY_SESSION: u32 = 0xe751_2126;
    pub const HTTP_WAIT: u32 = 0x9299_359f;
}

/// Whether a message with this body is content-related, i.e. must carry an odd seqno
/// (spec: all messages are, except containers, acknowledgments and the other
/// messages about messages; https://core.telegram.org/mtproto/description#content-related-message).
pub fn is_content_related(body: &[u8]) -> bool {
    !matches!(
        constructor(body),
        Some(
            ctor::MSGS_ACK
                | ctor::MSG_CONTAINER
                | ctor::MSGS_STATE_REQ
                | ctor::MSGS_STATE_INFO
                | ctor::MSGS_ALL_INFO
                | ctor::MSG_RESEND_REQ
                | ctor::MSG_DETAILED_INFO
                | ctor::MSG_NEW_DETAILED_INFO
                | ctor::HTTP_WAIT
        )
    )
}

/// The constructors of the service schema that `parse` reads (anything else is API
/// content: `Service::Other`).
pub const SERVICE_CTORS: [u32; 18] = [
    ctor::RPC_RESULT,
    ctor::MSGS_ACK,
    ctor::BAD_MSG_NOTIFICATION,
    ctor::BAD_SERVER_SALT,
    ctor::NEW_SESSION_CREATED,
    ctor::PONG,
    ctor::FUTURE_SALTS,
    ctor::MSGS_STATE_REQ,
    ctor::MSGS_STATE_INFO,
    ctor::MSGS_ALL_INFO,
    ctor::MSG_DETAILED_INFO,
    ctor::MSG_NEW_DETAILED_INFO,
    ctor::MSG_RESEND_REQ,
    ctor::DESTROY_SESSION_OK,
    ctor::DESTROY_SESSION_NONE,
    ctor::GZIP_PACKED,
    ctor::MSG_CONTAINER,
    ctor::MSG_COPY,
];

/// Whether `id` is one of `SERVICE_CTORS`.
pub fn is_service(id: u32) -> bool {
    SERVICE_CTORS.contains(&id)
}

/// Most ids a msgs_ack / msgs_state_req / msg_resend_req may carry (spec: 8192).
pub const MAX_IDS: usize = 8192;

/// One message of a msg_container (or the one of a msg_copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inner<'a> {
    pub msg_id: u64,
    pub seqno: u32,
    pub body: &'a [u8],
}

/// A parsed service message; `Other` is anything else (API content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service<'a> {
    RpcResult {
        req_msg_id: u64,
        result: &'a [u8],
    },
    MsgsAck(Vec<u64>),
    /// bad_msg_notification, or bad_server_salt when `new_server_salt` is set.
    BadMsg {
        bad_msg_id: u64,
        bad_msg_seqno: u32,
        error_code: i32,
        new_server_salt: Option<u64>,
    },
    NewSessionCreated {
        first_msg_id: u64,
        unique_id: u64,
        server_salt: u64,
    },
    Pong {
        msg_id: u64,
        ping_id: u64,
    },
    FutureSalts {
        req_msg_id: u64,
        now: i32,
        salts: SaltList<'a>,
    },
    MsgsStateReq(Vec<u64>),
    MsgsStateInfo {
        req_msg_id: u64,
        info: &'a [u8],
    },
    MsgsAllInfo {
        msg_ids: Vec<u64>,
        info: &'a [u8],
    },
    /// msg_detailed_info (with `msg_id`) or msg_new_detailed_info (without).
    MsgDetailedInfo {
        msg_id: Option<u64>,
        answer_msg_id: u64,
        bytes: i32,
        status: i32,
    },
    MsgResendReq(Vec<u64>),
    DestroySession {
        session_id: u64,
        existed: bool,
    },
    GzipPacked(&'a [u8]),
    Container(Messages<'a>),
    MsgCopy(Inner<'a>),
    Other(u32),
}

/// The constructor id a body starts with, if it has one.
pub fn constructor(body: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(body.get(..4)?.try_into().ok()?))
}

/// Parses a message body as a service message.
pub fn parse(body: &[u8]) -> Result<Service<'_>, ParseError> {
    let mut r = Reader::new(body);
    let id = r.u32("constructor")?;
    let s = match id {
        ctor::RPC_RESULT => Service::RpcResult {
            req_msg_id: r.u64("rpc_result.req_msg_id")?,
            result: r.rest(),
        },
        ctor::MSGS_ACK => Service::MsgsAck(r.long_vector(MAX_IDS, "msgs_ack.msg_ids")?),
        ctor::BAD_MSG_NOTIFICATION | ctor::BAD_SERVER_SALT => Service::BadMsg {
            bad_msg_id: r.u64("bad_msg_id")?,
            bad_msg_seqno: r.u32("bad_msg_seqno")?,
            error_code: r.i32("error_code")?,
            new_server_salt: if id == ctor::BAD_SERVER_SALT {
                Some(r.u64("new_server_salt")?)
            } else {
                None
            },
        },
        ctor::NEW_SESSION_CREATED => Service::NewSessionCreated {
            first_msg_id: r.u64("first_msg_id")?,
            unique_id: r.u64("unique_id")?,
            server_salt: r.u64("server_salt")?,
        },
        ctor::PONG => Service::Pong {
            msg_id: r.u64("pong.msg_id")?,
            ping_id: r.u64("pong.ping_id")?,
        },
        ctor::FUTURE_SALTS => {
            let req_msg_id = r.u64("future_salts.req_msg_id")?;
            let now = r.i32("future_salts.now")?;
            // vector<future_salt>: a bare vector of bare future_salt (16 bytes each), read
            // lazily: a hostile answer may hold a million of them (a 16 MiB packet).
            let n = r.u32("future_salts.count")? as usize;
            let bytes = r.take(n.saturating_mul(16), "future_salts.count")?;
            Service::FutureSalts {
                req_msg_id,
                now,
                salts: SaltList { bytes },
            }
        }
        ctor::MSGS_STATE_REQ => {
            Service::MsgsStateReq(r.long_vector(MAX_IDS, "msgs_state_req.msg_ids")?)
        }
        ctor::MSGS_STATE_INFO => Service::MsgsStateInfo {
            req_msg_id: r.u64("msgs_state_info.req_msg_id")?,
            info: r.bytes("msgs_state_info.info")?,
        },
        ctor::MSGS_ALL_INFO => Service::MsgsAllInfo {
            msg_ids: r.long_vector(usize::MAX, "msgs_all_info.msg_ids")?,
            info: r.bytes("msgs_all_info.info")?,
        },
        ctor::MSG_DETAILED_INFO | ctor::MSG_NEW_DETAILED_INFO => Service::MsgDetailedInfo {
            msg_id: if id == ctor::MSG_DETAILED_INFO {
                Some(r.u64("msg_detailed_info.msg_id")?)
            } else {
                None
            },
            answer_msg_id: r.u64("answer_msg_id")?,
            bytes: r.i32("bytes")?,
            status: r.i32("status")?,
        },
        ctor::MSG_RESEND_REQ => {
            Service::MsgResendReq(r.long_vector(MAX_IDS, "msg_resend_req.msg_ids")?)
        }
        ctor::DESTROY_SESSION_OK | ctor::DESTROY_SESSION_NONE => Service::DestroySession {
            session_id: r.u64("destroy_session.session_id")?,
            existed: id == ctor::DESTROY_SESSION_OK,
        },
        ctor::GZIP_PACKED => Service::GzipPacked(r.bytes("gzip_packed.packed_data")?),
        ctor::MSG_CONTAINER => Service::Container(parse_messages(&mut r)?),
        ctor::MSG_COPY => Service::MsgCopy(parse_message(&mut r)?),
        other => Service::Other(other),
    };
    Ok(s)
}

/// One bare `message msg_id:long seqno:int bytes:int body:Object`.
fn parse_message<'a>(r: &mut Reader<'a>) -> Result<Inner<'a>, ParseError> {
    let msg_id = r.u64("message.msg_id")?;
    let seqno = r.u32("message.seqno")?;
    let len = r.u32("message.bytes")? as usize;
    if !len.is_multiple_of(4) || len < 4 {
        return Err(ParseError {
            what: "message.bytes",
            at: r.pos() - 4,
        });
    }
    Ok(Inner {
        msg_id,
        seqno,
        body: r.take(len, "message.body")?,
    })
}

/// The bare `vector<%Message>` of a msg_container, which must fill the body exactly.
/// Checked whole here (a malformed container is dropped whole), walked lazily by
/// `Messages::iter` so that a container of 800,000 messages allocates nothing.
fn parse_messages<'a>(r: &mut Reader<'a>) -> Result<Messages<'a>, ParseError> {
    let n = r.u32("msg_container.count")? as usize;
    // Each message takes at least 20 bytes.
    if n > r.rest().len() / 20 {
        return Err(ParseError {
            what: "msg_container.count",
            at: r.pos() - 4,
        });
    }
    let start = r.pos();
    for _ in 0..n {
        parse_message(r)?;
    }
    if !r.rest().is_empty() {
        return Err(ParseError {
            what: "msg_container.trailing",
            at: r.pos(),
        });
    }
    Ok(Messages {
        count: n,
        bytes: &r.whole()[start..],
    })
}

/// The messages of a checked msg_container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Messages<'a> {
    count: usize,
    /// The items back to back, each known to parse.
    bytes: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The items back to back (each `msg_id seqno bytes body`).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn iter(&self) -> impl Iterator<Item = Inner<'a>> + 'a {
        let mut r = Reader::new(self.bytes);
        (0..self.count).map(move |_| parse_message(&mut r).expect("checked by parse"))
    }
}

/// The first message of `items` (back to back, as `Messages::bytes` holds them) and
/// how many bytes it took.
pub fn next_message(items: &[u8]) -> Result<(Inner<'_>, usize), ParseError> {
    let mut r = Reader::new(items);
    let it = parse_message(&mut r)?;
    Ok((it, r.pos()))
}

/// The salts of a future_salts answer, read one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaltList<'a> {
    bytes: &'a [u8],
}

impl<'a> SaltList<'a> {
    pub fn len(&self) -> usize {
        self.bytes.len() / 16
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = FutureSalt> + 'a {
        self.bytes.chunks_exact(16).map(|c| FutureSalt {
            valid_since: i32::from_le_bytes(c[..4].try_into().expect("4 bytes")),
            valid_until: i32::from_le_bytes(c[4..8].try_into().expect("4 bytes")),
            salt: u64::from_le_bytes(c[8..].try_into().expect("8 bytes")),
        })
    }
}

/// `rpc_error error_code:int error_message:string`, if `result` is one.
pub fn parse_rpc_error(result: &[u8]) -> Option<(i32, String)> {
    let mut r = Reader::new(result);
    if r.u32("ctor").ok()? != ctor::RPC_ERROR {
        return None;
    }
    let code = r.i32("error_code").ok()?;
    let msg = r.bytes("error_message").ok()?;
    Some((code, String::from_utf8_lossy(msg).into_owned()))
}

pub fn msgs_ack(ids: &[u64]) -> Vec<u8> {
    wire::long_vector_message(ctor::MSGS_ACK, ids)
}

pub fn msgs_state_req(ids: &[u64]) -> Vec<u8> {
    wire::long_vector_message(ctor::MSGS_STATE_REQ, ids)
}

pub fn msg_resend_req(ids: &[u64]) -> Vec<u8> {
    wire::long_vector_message(ctor::MSG_RESEND_REQ, ids)
}

pub fn msgs_state_info(req_msg_id: u64, info: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + wire::bytes_len(info.len()));
    wire::put_u32(&mut out, ctor::MSGS_STATE_INFO);
    wire::put_u64(&mut out, req_msg_id);
    wire::put_bytes(&mut out, info);
    out
}

/// bad_msg_notification, or bad_server_salt (code 48) when `new_server_salt` is given.
pub fn bad_msg(
    bad_msg_id: u64,
    bad_msg_seqno: u32,
    error_code: i32,
    new_server_salt: Option<u64>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(28);
    let id = match new_server_salt {
        Some(_) => ctor::BAD_SERVER_SALT,
        None => ctor::BAD_MSG_NOTIFICATION,
    };
    wire::put_u32(&mut out, id);
    wire::put_u64(&mut out, bad_msg_id);
    wire::put_u32(&mut out, bad_msg_seqno);
    wire::put_u32(&mut out, error_code as u32);
    if let Some(salt) = new_server_salt {
        wire::put_u64(&mut out, salt);
    }
    out
}

pub fn new_session_created(first_msg_id: u64, unique_id: u64, server_salt: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(28);
    wire::put_u32(&mut out, ctor::NEW_SESSION_CREATED);
    wire::put_u64(&mut out, first_msg_id);
    wire::put_u64(&mut out, unique_id);
    wire::put_u64(&mut out, server_salt);
    out
}

pub fn get_future_salts(num: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    wire::put_u32(&mut out, ctor::GET_FUTURE_SALTS);
    wire::put_u32(&mut out, num);
    out
}

/// ping, or ping_delay_disconnect when `disconnect_delay` (seconds) is given.
pub fn ping(ping_id: u64, disconnect_delay: Option<i32>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    match disconnect_delay {
        None => {
            wire::put_u32(&mut out, ctor::PING);
            wire::put_u64(&mut out, ping_id);
        }
        Some(d) => {
            wire::put_u32(&mut out, ctor::PING_DELAY_DISCONNECT);
            wire::put_u64(&mut out, ping_id);
            wire::put_u32(&mut out, d as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtp::wire::{put_bytes, put_u32, put_u64};

    fn le(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn notifications_parse() {
        let mut b = Vec::new();
        put_u32(&mut b, ctor::BAD_SERVER_SALT);
        put_u64(&mut b, 0x1234);
        put_u32(&mut b, 7);
        put_u32(&mut b, 48);
        put_u64(&mut b, 0xdead_beef);
        assert_eq!(
            parse(&b).unwrap(),
            Service::BadMsg {
                bad_msg_id: 0x1234,
                bad_msg_seqno: 7,
                error_code: 48,
                new_server_salt: Some(0xdead_beef)
            }
        );
        // Every truncation is an error, never a panic.
        for cut in 4..b.len() {
            assert!(parse(&b[..cut]).is_err(), "cut {cut}");
        }
        let mut b = Vec::new();
        put_u32(&mut b, ctor::NEW_SESSION_CREATED);
        b.extend(le(&[1, 2, 3]));
        assert_eq!(
            parse(&b).unwrap(),
            Service::NewSessionCreated {
                first_msg_id: 1,
                unique_id: 2,
                server_salt: 3
            }
        );
    }

    #[test]
    fn future_salts_are_a_bare_vector_of_bare_salts() {
        let mut b = Vec::new();
        put_u32(&mut b, ctor::FUTURE_SALTS);
        put_u64(&mut b, 99);
        put_u32(&mut b, 1000);
        put_u32(&mut b, 2);
        for (since, until, salt) in [(1000u32, 4600u32, 5u64), (4600, 8200, 6)] {
            put_u32(&mut b, since);
            put_u32(&mut b, until);
            put_u64(&mut b, salt);
        }
        let Service::FutureSalts {
            req_msg_id,
            now,
            salts,
        } = parse(&b).unwrap()
        else {
            panic!()
        };
        assert_eq!((req_msg_id, now, salts.len()), (99, 1000, 2));
        assert_eq!(salts.iter().nth(1).unwrap().salt, 6);
        b[16..20].copy_from_slice(&3u32.to_le_bytes());
        assert!(parse(&b).is_err());
    }

    #[test]
    fn containers_must_be_exact() {
        let mut b = Vec::new();
        put_u32(&mut b, ctor::MSG_CONTAINER);
        put_u32(&mut b, 2);
        for (id, body) in [
            (101u64, &[1u8, 2, 3, 4][..]),
            (105, &[5, 6, 7, 8, 9, 10, 11, 12]),
        ] {
            put_u64(&mut b, id);
            put_u32(&mut b, 1);
            put_u32(&mut b, body.len() as u32);
            b.extend_from_slice(body);
        }
        let Service::Container(items) = parse(&b).unwrap() else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        let second = items.iter().nth(1).unwrap();
        assert_eq!(second.msg_id, 105);
        assert_eq!(second.body.len(), 8);
        assert_eq!(next_message(items.bytes()).unwrap().1, 20);
        let mut trailing = b.clone();
        trailing.extend_from_slice(&[0; 4]);
        assert!(parse(&trailing).is_err());
        let mut bad_len = b.clone();
        bad_len[20..24].copy_from_slice(&5u32.to_le_bytes());
        assert!(parse(&bad_len).is_err());
        for cut in 4..b.len() {
            assert!(parse(&b[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn rpc_error_and_state_info() {
        let mut e = Vec::new();
        put_u32(&mut e, ctor::RPC_ERROR);
        put_u32(&mut e, 420);
        put_bytes(&mut e, b"FLOOD_WAIT_7");
        assert_eq!(parse_rpc_error(&e), Some((420, "FLOOD_WAIT_7".to_string())));
        assert_eq!(parse_rpc_error(&e[..10]), None);
        let info = msgs_state_info(77, &[4, 2, 1]);
        assert_eq!(
            parse(&info).unwrap(),
            Service::MsgsStateInfo {
                req_msg_id: 77,
                info: &[4, 2, 1]
            }
        );
        assert_eq!(
            parse(&msgs_ack(&[1, 3])).unwrap(),
            Service::MsgsAck(vec![1, 3])
        );
        assert_eq!(parse(&ping(5, None)).unwrap(), Service::Other(ctor::PING));
    }

    #[test]
    fn is_service_agrees_with_parse() {
        // Every constructor `parse` reads, some it does not, and a spread of others.
        let known = SERVICE_CTORS
            .into_iter()
            .chain([ctor::PING, ctor::RPC_ERROR, ctor::HTTP_WAIT]);
        let mut x = 0x9e37_79b9u32;
        let spread = (0..2000).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        });
        for id in known.into_iter().chain(spread) {
            let mut body = Vec::new();
            put_u32(&mut body, id);
            body.extend_from_slice(&[0; 64]);
            let other = matches!(parse(&body), Ok(Service::Other(_)));
            assert_eq!(is_service(id), !other, "{id:#x}");
        }
    }

    #[test]
    fn server_notifications_round_trip() {
        assert_eq!(
            parse(&bad_msg(0x1234, 7, 48, Some(0xdead_beef))).unwrap(),
            Service::BadMsg {
                bad_msg_id: 0x1234,
                bad_msg_seqno: 7,
                error_code: 48,
                new_server_salt: Some(0xdead_beef)
            }
        );
        assert_eq!(
            parse(&bad_msg(0x1234, 7, 16, None)).unwrap(),
            Service::BadMsg {
                bad_msg_id: 0x1234,
                bad_msg_seqno: 7,
                error_code: 16,
                new_server_salt: None
            }
        );
        assert_eq!(
            parse(&new_session_created(1, 2, 3)).unwrap(),
            Service::NewSessionCreated {
                first_msg_id: 1,
                unique_id: 2,
                server_salt: 3
            }
        );
        assert!(is_content_related(&ping(1, None)));
        assert!(!is_content_related(&msgs_ack(&[1])));
        assert!(!is_content_related(&msgs_state_req(&[1])));
        assert!(is_content_related(&[]), "unknown bodies count as content");
    }
}
