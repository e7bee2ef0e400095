//! auth.bindTempAuthKey through the session: the query names its own msg_id, also
//! after the server made the session re-stamp it.

use super::*;
use crate::mtp::bind::open_query;
use crate::mtp::events::Event;

fn perm() -> AuthKey {
    AuthKey::new(std::array::from_fn(|i| (i * 13 + 5) as u8))
}

#[test]
fn a_binding_names_its_msg_id_and_a_new_one_after_bad_server_salt() {
    let mut c = client();
    let mut s = Server::new();
    let p = perm();
    let id = c.enqueue_bind(p.clone(), 77, 1_900_000_000, T0, &mut rng());
    let sent = s.open(&send(&mut c, T0).packets[0], 0);
    let first = &sent.msgs[0];
    assert_eq!(first.msg_id, id);
    assert_eq!(open_query(&p, &first.body).0, id);

    let ev = recv(
        &mut c,
        s.send_service(
            T0 + 5,
            &bad_msg(sent.outer.msg_id, sent.outer.seqno, 48, Some(0xBEEF)),
        ),
        T0 + 5,
    );
    let resent = resent_pairs(&ev);
    assert_eq!(resent.len(), 1);
    let (old, new) = resent[0];
    assert_eq!(old, id);
    assert!(ev.iter().any(|e| matches!(e, Event::SaltChanged { .. })));
    let again = s.open(&send(&mut c, T0 + 5).packets[0], 0);
    let m = again
        .msgs
        .iter()
        .find(|m| m.msg_id == new)
        .expect("re-sent");
    assert_eq!(
        open_query(&p, &m.body).0,
        new,
        "the re-sent binding names its new id"
    );
}
