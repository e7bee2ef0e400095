// Metrics in the Prometheus text format (prom-client), for plain sessions and for the
// fleet. Sessions are observed from outside, through their events (a client: hand
// `metrics.client()` to Session.open, or call `metrics.observe(event)` from yours) and
// through `metrics.call()` around Session.call for latency; the lease renewer's
// counters are read at scrape time. Nothing in the session code knows about metrics.
//
// prom-client is loaded on first use, so a process that makes no metrics never loads it.

import type * as Prom from 'prom-client';
import type { SessionEvent } from '../session/types';
import type { LeaseRenewer } from '../storage/lease-renewer';
import { RpcError } from '../tl';

export interface MetricsOptions {
  /** Where the metrics register (default: a registry of their own). */
  registry?: Prom.Registry;
  /** Name prefix (default 'tmt_'). */
  prefix?: string;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class TelegramMetrics {
  readonly registry: Prom.Registry;
  private readonly open = new Set<string>();
  private readonly connected = new Set<string>();
  private readonly renewers = new Set<LeaseRenewer>();
  private readonly g: {
    open: Prom.Gauge;
    connected: Prom.Gauge;
    reconnects: Prom.Counter;
    rpc: Prom.Histogram<'method'>;
    rpcErrors: Prom.Counter<'code'>;
    floodWaits: Prom.Counter;
    handshakes: Prom.Counter<'kind'>;
    updateLag: Prom.Histogram;
    delivered: Prom.Counter;
    leaseLost: Prom.Counter;
    renewals: Prom.Counter;
    renewalBatches: Prom.Counter;
  };
  /** The fleet's own metrics (fleet/worker.ts, fleet/client.ts, the update stream). */
  readonly fleet: {
    owned: Prom.Gauge;
    claims: Prom.Counter;
    sheds: Prom.Counter;
    openFailures: Prom.Counter;
    routed: Prom.Counter<'outcome'>;
    routedSeconds: Prom.Histogram;
    served: Prom.Counter<'outcome'>;
    appends: Prom.Counter;
    appendSeconds: Prom.Histogram;
    appendFailures: Prom.Counter;
    streamLag: Prom.Gauge;
    ticks: Prom.Counter;
    tickFailures: Prom.Counter;
  };

  constructor(options: MetricsOptions = {}) {
    const prom = require('prom-client') as typeof Prom;
    this.registry = options.registry ?? new prom.Registry();
    const p = options.prefix ?? 'tmt_';
    const registers = [this.registry];
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
      new prom.Counter<L>({ name: p + name, help, labelNames, registers });
    const gauge = (name: string, help: string) => new prom.Gauge({ name: p + name, help, registers });
    const histogram = <L extends string = never>(
      name: string,
      help: string,
      buckets: number[],
      labelNames: L[] = [],
    ) => new prom.Histogram<L>({ name: p + name, help, buckets, labelNames, registers });
    this.g = {
      open: gauge('sessions_open', 'Sessions open (first connected, not yet closed or stopped)'),
      connected: gauge('sessions_connected', 'Sessions whose connection is up'),
      reconnects: counter('reconnects_total', 'Connections made again after a drop'),
      rpc: histogram('rpc_duration_seconds', 'Session.call latency by method', LATENCY_BUCKETS, ['method']),
      rpcErrors: counter('rpc_errors_total', 'Calls rejected, by rpc_error code or SessionError code', [
        'code',
      ]),
      floodWaits: counter('flood_waits_total', 'FLOOD_WAIT (and other *_WAIT_X) answers'),
      handshakes: counter('handshakes_total', 'Auth keys made: permanent, or temporary (PFS) bound', [
        'kind',
      ]),
      updateLag: histogram(
        'update_lag_seconds',
        'From an update’s date to its delivery in order',
        LAG_BUCKETS,
      ),
      delivered: counter('updates_delivered_total', 'Updates delivered in order by the engine'),
      leaseLost: counter('leases_lost_total', 'Stored sessions stopped because their lease was lost'),
      renewals: counter('lease_renewals_total', 'Leases renewed (counted by the batching renewer)'),
      renewalBatches: counter('lease_renewal_batches_total', 'Batched renewal calls to the storage'),
    };
    this.fleet = {
      owned: gauge('fleet_owned_sessions', 'Sessions this worker runs'),
      claims: counter('fleet_claims_total', 'Sessions claimed by this worker'),
      sheds: counter('fleet_sheds_total', 'Sessions given up to even the load'),
      openFailures: counter('fleet_open_failures_total', 'Claimed sessions that failed to open'),
      routed: counter('fleet_routed_calls_total', 'Routed calls made, by outcome', ['outcome']),
      routedSeconds: histogram('fleet_routed_call_seconds', 'Routed call latency', LATENCY_BUCKETS),
      served: counter('fleet_served_calls_total', 'Routed calls this worker served, by outcome', ['outcome']),
      appends: counter('fleet_stream_appends_total', 'Updates appended to the streams'),
      appendSeconds: histogram('fleet_stream_append_seconds', 'XADD round trips', LATENCY_BUCKETS),
      appendFailures: counter('fleet_stream_append_failures_total', 'XADDs that failed (retried)'),
      streamLag: gauge('fleet_stream_lag_seconds', 'Age of the oldest update not yet appended'),
      ticks: counter('fleet_ticks_total', 'Roster ticks (heartbeat + claims, one storage call each)'),
      tickFailures: counter('fleet_tick_failures_total', 'Roster ticks that failed'),
    };
    // The renewers' counters, read at scrape time.
    const last = new Map<LeaseRenewer, { batches: number; renewed: number }>();
    new prom.Gauge({
      name: `${p}lease_renewers`,
      help: 'Lease renewers observed',
      registers,
      collect: () => {
        for (const r of this.renewers) {
          const before = last.get(r) ?? { batches: 0, renewed: 0 };
          this.g.renewals.inc(r.stats.renewed - before.renewed);
          this.g.renewalBatches.inc(r.stats.batches - before.batches);
          last.set(r, { batches: r.stats.batches, renewed: r.stats.renewed });
        }
      },
    }).set(0);
  }

  /** A session client that feeds these metrics (scope: to tell registries' 's1's apart). */
  client(scope = ''): (event: SessionEvent) => void {
    return (event) => this.observe(event, scope);
  }

  /** Feeds one session event. */
  observe(event: SessionEvent, scope = ''): void {
    const key = `${scope}\0${event.sessionId}`;
    switch (event.kind) {
      case 'connected':
        if (event.reconnect) this.g.reconnects.inc();
        if (!this.open.has(key)) this.setIn(this.open, key, this.g.open);
        this.setIn(this.connected, key, this.g.connected);
        break;
      case 'disconnected':
      case 'reconnecting':
        this.setOut(this.connected, key, this.g.connected);
        break;
      case 'closed':
      case 'authKeyDuplicated':
        this.setOut(this.connected, key, this.g.connected);
        this.setOut(this.open, key, this.g.open);
        break;
      case 'leaseLost':
        this.g.leaseLost.inc();
        this.setOut(this.connected, key, this.g.connected);
        this.setOut(this.open, key, this.g.open);
        break;
      case 'authKeyCreated':
        this.g.handshakes.inc({ kind: 'permanent' });
        break;
      case 'tempKeyBound':
        this.g.handshakes.inc({ kind: 'temporary' });
        break;
      case 'rpcError':
        if (event.code === 420) this.g.floodWaits.inc();
        break;
      case 'delivered': {
        this.g.delivered.inc();
        const date = event.update.date;
        if (date > 0) this.g.updateLag.observe(Math.max(0, Date.now() / 1000 - date));
        break;
      }
    }
  }

  private setIn(set: Set<string>, key: string, g: Prom.Gauge): void {
    if (set.has(key)) return;
    set.add(key);
    g.inc();
  }

  private setOut(set: Set<string>, key: string, g: Prom.Gauge): void {
    if (set.delete(key)) g.dec();
  }

  /** Times `fn` (a Session.call) under `method`; counts its errors (FLOOD_WAITs come from the events). */
  async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    const end = this.g.rpc.startTimer({ method });
    try {
      return await fn();
    } catch (e) {
      const code =
        e instanceof RpcError ? String(e.code) : String((e as { code?: unknown })?.code ?? 'ERROR');
      this.g.rpcErrors.inc({ code });
      throw e;
    } finally {
      end();
    }
  }

  /** Counts the renewals of `renewer` (LeaseRenewer.for(storage)). */
  watchRenewer(renewer: LeaseRenewer): void {
    this.renewers.add(renewer);
  }

  /** Everything, in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
