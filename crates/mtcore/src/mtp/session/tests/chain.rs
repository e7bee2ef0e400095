//! Chained calls (invokeAfterMsg): the prefix names the current id of the call waited
//! for, also after the session re-stamped that call.

use super::*;
use crate::mtp::wire::Reader;

/// The msg_id an invokeAfterMsg body waits for, and the wrapped query.
fn waits_for(body: &[u8]) -> (u64, &[u8]) {
    let mut r = Reader::new(body);
    assert_eq!(r.u32("ctor").unwrap(), 0xcb9f_372d);
    (r.u64("msg_id").unwrap(), r.rest())
}

#[test]
fn a_chained_body_follows_its_predecessor_through_bad_server_salt() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    let b = c.enqueue_after(&object(2, 0), a, T0).unwrap();
    let sent = s.open(&send(&mut c, T0).packets[0], 0);
    let got_b = sent.msgs.iter().find(|m| m.msg_id == b).unwrap();
    assert_eq!(waits_for(&got_b.body), (a, &object(2, 0)[..]));

    // The whole container is refused: both are re-stamped; b must name a's new id.
    let ev = recv(
        &mut c,
        s.send_service(
            T0 + 5,
            &bad_msg(sent.outer.msg_id, sent.outer.seqno, 48, Some(0xBEEF)),
        ),
        T0 + 5,
    );
    let resent = resent_pairs(&ev);
    let new_a = resent.iter().find(|(o, _)| *o == a).unwrap().1;
    let new_b = resent.iter().find(|(o, _)| *o == b).unwrap().1;
    let again = s.open(&send(&mut c, T0 + 5).packets[0], 0);
    let got_b = again.msgs.iter().find(|m| m.msg_id == new_b).unwrap();
    assert_eq!(waits_for(&got_b.body).0, new_a);
}

#[test]
fn a_body_chained_after_a_re_stamped_call_names_its_new_id() {
    let mut c = client();
    let mut s = Server::new();
    let a = c.enqueue(object(1, 0), true, T0).unwrap();
    // Chains are in use before the re-stamp (renames are kept only then).
    let first = c.enqueue_after(&object(9, 0), a, T0).unwrap();
    let sent = s.open(&send(&mut c, T0).packets[0], 0);
    let ev = recv(
        &mut c,
        s.send_service(
            T0 + 5,
            &bad_msg(sent.outer.msg_id, sent.outer.seqno, 48, Some(0xBEEF)),
        ),
        T0 + 5,
    );
    let new_a = resent_pairs(&ev).iter().find(|(o, _)| *o == a).unwrap().1;
    assert_ne!(first, new_a);
    // The driver still names `a` by its old id (it has not read the events yet).
    let b = c.enqueue_after(&object(2, 0), a, T0 + 6).unwrap();
    let out = s.open(&send(&mut c, T0 + 6).packets[0], 0);
    let got_b = out.msgs.iter().find(|m| m.msg_id == b).unwrap();
    assert_eq!(waits_for(&got_b.body).0, new_a);
}

#[test]
fn renames_are_bounded_and_forgotten_when_no_chain_is_used() {
    let mut c = client();
    let mut s = Server::new();
    // No chained body: re-stamps keep nothing.
    c.enqueue(object(1, 0), true, T0).unwrap();
    let sent = s.open(&send(&mut c, T0).packets[0], 0);
    recv(
        &mut c,
        s.send_service(
            T0 + 5,
            &bad_msg(sent.outer.msg_id, sent.outer.seqno, 48, Some(1)),
        ),
        T0 + 5,
    );
    assert!(c.chain.renamed_len() == 0);
}
