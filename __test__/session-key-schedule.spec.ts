// The PFS key schedule (bindings/session/pool/key-schedule.ts) alone: no sockets,
// no timers. Unit tests of each path, then a property test that drives it with a
// model executor through random outcomes, losses, rebinds and clock steps.

import test from 'ava';
import fc from 'fast-check';
import { KeySchedule, type ScheduleAction } from '../bindings/session/pool/key-schedule';

const pfs = { expiresInSec: 3600, renewBeforeSec: 600, jitterSec: 300 };
const T0 = 1_700_000_000_000;
const EXPIRES = T0 + 3_600_000;

const kinds = (a: ScheduleAction[]) => a.map((x) => ('gen' in x ? `${x.kind}:${x.gen}` : x.kind));

/** A schedule opened with generation 1 bound at T0 (renewal jitter 0.5). */
function opened(): KeySchedule {
  const s = new KeySchedule({ pfs, random: () => 0.5 });
  s.start();
  s.keyMade(1);
  s.bound(1, EXPIRES, T0);
  return s;
}

test('opening: make, bind, adopt; renewal due renewBeforeSec plus jitter before expiry', (t) => {
  const s = new KeySchedule({ pfs, random: () => 0.5 });
  t.deepEqual(kinds(s.start()), ['makeKey:1']);
  t.true(s.busy);
  t.deepEqual(kinds(s.keyMade(1)), ['bind:1']);
  t.deepEqual(kinds(s.bound(1, EXPIRES, T0)), ['adopt:1', 'opened:1']);
  t.false(s.busy);
  t.is(s.deadline(), EXPIRES - (600 + 150) * 1000);
  t.deepEqual(s.tick(s.deadline() - 1), []);
  t.deepEqual(kinds(s.tick(s.deadline())), ['makeKey:2']);
});

test('renewal: the new generation is adopted, the old one drains', (t) => {
  const s = opened();
  s.tick(s.deadline());
  t.deepEqual(kinds(s.keyMade(2)), ['bind:2']);
  t.deepEqual(kinds(s.bound(2, EXPIRES + 3_600_000, EXPIRES - 750_000)), ['adopt:2', 'drain:1']);
  t.is(s.currentId, 2);
  t.is(s.size, 2);
  s.retired(1);
  t.is(s.size, 1);
});

test('-404 on the current key: a new one at once; the dead one resends once its successor is bound', (t) => {
  const s = opened();
  t.deepEqual(kinds(s.keyLost(1, T0)), ['makeKey:2']);
  t.deepEqual(s.keyLost(1, T0), [], 'reported once');
  s.keyMade(2);
  t.deepEqual(kinds(s.bound(2, EXPIRES, T0 + 10)), ['adopt:2', 'resend:1']);
});

test('-404 on a draining generation: its calls go again now', (t) => {
  const s = opened();
  s.tick(s.deadline());
  s.keyMade(2);
  s.bound(2, EXPIRES, T0);
  t.deepEqual(kinds(s.keyLost(1, T0)), ['resend:1']);
});

test('a binding refused as undecryptable: the permanent key is probed, one more binding, then BIND_FAILED', (t) => {
  const s = new KeySchedule({ pfs, random: () => 0 });
  s.start();
  s.keyMade(1);
  const refused = new Error('ENCRYPTED_MESSAGE_INVALID');
  t.deepEqual(kinds(s.bindRefused(1, refused, true, T0)), ['probePermKey:1']);
  t.deepEqual(kinds(s.probed(1, true, refused, 'transient', T0)), ['bind:1']);
  t.deepEqual(kinds(s.bindRefused(1, refused, true, T0)), ['probePermKey:1']);
  const end = s.probed(1, true, refused, 'transient', T0);
  t.deepEqual(kinds(end), ['discard:1', 'openFailed']);
  t.is((end[1] as { error: unknown }).error, refused);
  t.deepEqual(s.tick(T0 + 1e9), [], 'nothing more after a failed open');
});

test('the permanent key is unknown (probe -404) during a renewal: everything fails', (t) => {
  const s = opened();
  s.tick(s.deadline());
  s.keyMade(2);
  s.bindRefused(2, new Error('x'), true, T0);
  const unknown = new Error('AUTH_KEY_UNKNOWN');
  t.deepEqual(kinds(s.probed(2, false, unknown, 'fatal', T0)), ['discard:2', 'fail']);
  t.is(s.deadline(), Number.POSITIVE_INFINITY);
});

test('a failed renewal is retried after a backoff; the current key keeps serving', (t) => {
  const s = new KeySchedule({ pfs, random: () => 0.5, reconnect: { baseMs: 1000, capMs: 8000 } });
  s.start();
  s.keyMade(1);
  s.bound(1, EXPIRES, T0);
  const due = s.deadline();
  s.tick(due);
  t.deepEqual(kinds(s.makeFailed(2, new Error('down'), 'transient', due)), ['discard:2']);
  t.is(s.currentId, 1);
  t.false(s.busy);
  // backoff: random 0.5 of min(cap, base * 2^0) = 500, plus 100.
  t.is(s.deadline(), due + 600);
  t.deepEqual(kinds(s.tick(due + 600)), ['makeKey:3']);
  s.makeFailed(3, new Error('down'), 'transient', due + 600);
  t.is(s.deadline(), due + 600 + 1000 + 100, 'the backoff grows');
});

test('AUTH_KEY_PERM_EMPTY on the current key: rebind once; then initConnection again, or a new key', (t) => {
  const s = opened();
  t.deepEqual(kinds(s.permEmpty(1)), ['rebind:1']);
  t.true(s.busy);
  t.deepEqual(s.permEmpty(1), [], 'one rebinding at a time');
  t.deepEqual(kinds(s.rebound(1, true)), ['resetInit:1']);
  t.false(s.busy);
  s.permEmpty(1);
  t.deepEqual(kinds(s.rebound(1, false)), ['makeKey:2']);
  t.deepEqual(s.permEmpty(99), [], 'old generations: the caller retries on the current one');
});

test('closed while a key is made: it is discarded when it reports; nothing more is made', (t) => {
  const s = opened();
  s.tick(s.deadline());
  s.close();
  t.deepEqual(kinds(s.keyMade(2)), ['discard:2']);
  t.deepEqual(s.tick(Number.MAX_SAFE_INTEGER), []);
  t.deepEqual(s.keyLost(1, T0), []);
});

// --- The property test: a model executor ---

type Outcome =
  | { kind: 'complete'; pick: number; ok: boolean; invalid: boolean; fatal: boolean }
  | { kind: 'tick'; ms: number }
  | { kind: 'lost'; which: 'current' | 'old' | 'making' }
  | { kind: 'permEmpty' }
  | { kind: 'retired'; pick: number }
  | { kind: 'close' };

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('complete' as const),
      pick: fc.nat(),
      ok: fc.boolean(),
      invalid: fc.boolean(),
      fatal: fc.boolean(),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 4_000_000 }) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('lost' as const),
      which: fc.constantFrom('current' as const, 'old' as const, 'making' as const),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('permEmpty' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('retired' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('close' as const) }), weight: 1 },
);

test('property: one key made at a time, no generation leaks, the current key is always a bound one, a dead current key is always being replaced, nothing is made after the end', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(outcome, { maxLength: 120 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (steps, r) => {
          const s = new KeySchedule({ pfs, random: () => r, reconnect: { baseMs: 100, capMs: 5000 } });
          let now = T0;
          /** Async actions the model executor has in flight. */
          const inFlight: ScheduleAction[] = [];
          const bound = new Set<number>();
          const draining = new Set<number>();
          const dead = new Set<number>();
          let ended = false;
          let closed = false;
          const apply = (actions: ScheduleAction[]) => {
            for (const a of actions) {
              if (ended && a.kind === 'makeKey') throw new Error('a key made after the end');
              switch (a.kind) {
                case 'makeKey':
                case 'bind':
                case 'rebind':
                case 'probePermKey':
                  inFlight.push(a);
                  break;
                case 'adopt':
                  bound.add(a.gen);
                  break;
                case 'drain':
                case 'resend':
                  draining.add(a.gen);
                  break;
                case 'openFailed':
                case 'fail':
                  ended = true;
                  break;
                case 'discard':
                  // The executor closes the generation's connections: a binding or a probe under
                  // way on them fails, and the schedule ignores what a discarded one reports.
                  for (let i = inFlight.length - 1; i >= 0; i--) {
                    const f = inFlight[i];
                    if ((f.kind === 'bind' || f.kind === 'probePermKey') && f.gen === a.gen)
                      inFlight.splice(i, 1);
                  }
                  break;
              }
            }
            const makes = inFlight.filter(
              (a) => a.kind === 'makeKey' || a.kind === 'bind' || a.kind === 'probePermKey',
            );
            if (makes.length > 1) throw new Error(`two keys made at once: ${kinds(makes)}`);
            const cur = s.currentId;
            if (cur !== null && !bound.has(cur)) throw new Error(`current ${cur} was never bound`);
            // A dead current key is being replaced, or a retry is due.
            if (cur !== null && dead.has(cur) && !closed && !ended && !s.busy && s.deadline() > now + 10_000)
              throw new Error('a dead current key with nothing replacing it');
            if (s.size > 3 + draining.size) throw new Error(`generations leak: ${s.size}`);
          };
          apply(s.start());
          for (const step of steps) {
            switch (step.kind) {
              case 'complete': {
                if (inFlight.length === 0) break;
                const a = inFlight.splice(step.pick % inFlight.length, 1)[0] as ScheduleAction & {
                  gen: number;
                };
                const err = new Error('x');
                const kind = step.fatal ? 'fatal' : 'transient';
                if (a.kind === 'makeKey')
                  apply(step.ok ? s.keyMade(a.gen) : s.makeFailed(a.gen, err, kind, now));
                else if (a.kind === 'bind')
                  apply(
                    step.ok
                      ? s.bound(a.gen, now + 3_600_000, now)
                      : s.bindRefused(a.gen, err, step.invalid, now),
                  );
                else if (a.kind === 'probePermKey') apply(s.probed(a.gen, step.ok, err, kind, now));
                else if (a.kind === 'rebind') apply(s.rebound(a.gen, step.ok));
                break;
              }
              case 'tick':
                now += step.ms;
                apply(s.tick(now));
                break;
              case 'lost': {
                const cur = s.currentId;
                // -404 comes on a connection: a key being bound or probed has one; a key still
                // being exchanged does not (its own failure is makeFailed).
                const making = inFlight.find((a) => a.kind === 'bind' || a.kind === 'probePermKey') as
                  | { gen: number }
                  | undefined;
                const gen =
                  step.which === 'current' ? cur : step.which === 'making' ? making?.gen : [...draining][0];
                if (gen == null) break;
                dead.add(gen);
                apply(s.keyLost(gen, now));
                break;
              }
              case 'permEmpty':
                if (s.currentId !== null) apply(s.permEmpty(s.currentId));
                break;
              case 'retired': {
                const gen = [...draining][step.pick % Math.max(1, draining.size)];
                if (gen === undefined) break;
                draining.delete(gen);
                s.retired(gen);
                apply([]);
                break;
              }
              case 'close':
                closed = true;
                s.close();
                apply([]);
                break;
            }
            if (closed && s.deadline() !== Number.POSITIVE_INFINITY) return false;
          }
          return true;
        },
      ),
      { numRuns: 500 },
    ),
  );
});
