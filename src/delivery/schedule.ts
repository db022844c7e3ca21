/**
 * The dispatcher's due index, in memory: which open deliveries may be attempted now, in log
 * order, and when the next one will be. It is loaded once from the projection and then kept
 * up to date from the entries appended (planned → due now; failed → due at `retry_at`;
 * succeeded or dead → gone; re-driven → due now), so finding work costs what the new work
 * costs, never a scan of every open delivery after every commit.
 *
 * Per-key order (README "Delivery"): of the open deliveries with the same sink and order key, only the
 * one planned first (lowest seq) is eligible; the next becomes eligible when it closes. A re-driven
 * earlier delivery becomes the first, but while a later one of its key is in flight it waits for
 * that attempt to come back: two of a key are never in flight at once.
 */

import { Heap, type HeapItem } from './heap.js';

/** One open delivery as the schedule knows it. */
export interface ScheduledDelivery {
  delivery_id: string;
  /** `seq` of its `delivery.planned` entry: log order, within a key and across a sink. */
  seq: number;
  sink: string;
  order_key: string | null;
  /** When it is due, in ms since the epoch; 0 for "now". */
  due: number;
}

interface Slot {
  d: ScheduledDelivery;
  /** Bumped on every change: heap items of an older version are stale and skipped. */
  version: number;
  /** Handed to the dispatcher and not yet back (its attempt is being made or recorded). */
  taken: boolean;
}

/** One sink's eligible deliveries: waiting for their time, or ready (due) in log order. */
class SinkQueue {
  readonly waiting = new Heap();
  readonly ready = new Heap();
}

export class DueSchedule {
  private readonly slots = new Map<string, Slot>();
  private readonly sinks = new Map<string, SinkQueue>();
  /** Open keyed deliveries by `sink \0 order_key`, in seq order: only the first is eligible. */
  private readonly keys = new Map<string, ScheduledDelivery[]>();
  /**
   * By key: the delivery in flight that a re-driven earlier one of its key must wait for (it was
   * the first, and taken, when the earlier one came back). Cleared when its attempt comes back.
   */
  private readonly inFlightBehind = new Map<string, string>();
  /**
   * Versions of slots, one counter for all: a heap item is current only while its slot has its
   * version. Per-slot counts would restart when a closed delivery is re-driven, and a stale heap
   * item from its earlier life would then pass for current (found by the property test).
   */
  private versions = 0;

  /** Open deliveries held. */
  get size(): number {
    return this.slots.size;
  }

  has(deliveryId: string): boolean {
    return this.slots.has(deliveryId);
  }

  /** An open delivery as the index holds it, taken or not. */
  get(deliveryId: string): ScheduledDelivery | undefined {
    return this.slots.get(deliveryId)?.d;
  }

  /**
   * Adds an open delivery, or changes when it is due (a failure's `retry_at`, a re-drive).
   * A delivery handed out by `take` comes back with this: it is no longer taken.
   */
  put(d: ScheduledDelivery): void {
    const old = this.slots.get(d.delivery_id);
    const slot: Slot = { d, version: ++this.versions, taken: false };
    this.slots.set(d.delivery_id, slot);
    if (d.order_key !== null) {
      const list = this.keyList(d);
      const at = old ? list.findIndex((k) => k.delivery_id === d.delivery_id) : -1;
      if (at >= 0) list[at] = d;
      else this.insertKeyed(d);
      this.cameBack(d);
    }
    if (this.eligible(d)) this.enqueue(slot);
  }

  /** A delivery closed (succeeded or dead): forgotten; the next of its key becomes eligible. */
  remove(deliveryId: string): void {
    const slot = this.slots.get(deliveryId);
    if (!slot) return;
    this.slots.delete(deliveryId);
    const { d } = slot;
    if (d.order_key === null) return;
    const list = this.keyList(d);
    const at = list.findIndex((k) => k.delivery_id === deliveryId);
    list.splice(at, 1);
    if (list.length === 0) this.keys.delete(keyOf(d));
    else if (at === 0) {
      const next = this.slots.get(list[0]!.delivery_id)!;
      if (!next.taken && this.eligible(next.d)) this.enqueue(next);
    }
    this.cameBack(d);
  }

  /**
   * Hands out up to `limit` deliveries of `sink` due at `now`, in log order, and marks them
   * taken: they are not handed out again until `put` (attempted, failed) or `remove`
   * (closed) says what became of them, or `release` gives them back unattempted.
   */
  take(sink: string, now: number, limit: number): ScheduledDelivery[] {
    const q = this.sinks.get(sink);
    if (!q || limit <= 0) return [];
    this.promote(q, now);
    const out: ScheduledDelivery[] = [];
    while (out.length < limit && q.ready.size > 0) {
      const item = q.ready.pop()!;
      const slot = this.current(item);
      if (!slot) continue;
      slot.taken = true;
      slot.version = ++this.versions;
      out.push(slot.d);
    }
    return out;
  }

  /** Gives back a taken delivery that was not attempted after all (a rate limit, shutdown). */
  release(deliveryId: string): void {
    const slot = this.slots.get(deliveryId);
    if (!slot || !slot.taken) return;
    slot.taken = false;
    slot.version = ++this.versions;
    if (slot.d.order_key !== null) this.cameBack(slot.d);
    if (this.eligible(slot.d)) this.enqueue(slot);
  }

  /** Whether `sink` has a delivery due at `now` that `take` would hand out. */
  hasDue(sink: string, now: number): boolean {
    const q = this.sinks.get(sink);
    if (!q) return false;
    this.promote(q, now);
    this.dropStale(q.ready);
    return q.ready.size > 0;
  }

  /** When the next delivery of `sink` not due at `now` becomes due (ms), or null. */
  nextDue(sink: string, now: number): number | null {
    const q = this.sinks.get(sink);
    if (!q) return null;
    this.promote(q, now);
    this.dropStale(q.waiting);
    return q.waiting.peek()?.key ?? null;
  }

  /** The sinks that have open deliveries. */
  sinkNames(): string[] {
    return [...this.sinks.keys()];
  }

  private eligible(d: ScheduledDelivery): boolean {
    if (d.order_key === null) return true;
    const behind = this.inFlightBehind.get(keyOf(d));
    return this.keyList(d)[0]?.delivery_id === d.delivery_id && (behind === undefined || behind === d.delivery_id);
  }

  /**
   * `d`'s attempt came back (it was put, released or removed): if the first of its key waited for
   * it (`inFlightBehind`), that one is eligible now.
   */
  private cameBack(d: ScheduledDelivery): void {
    const key = keyOf(d);
    if (this.inFlightBehind.get(key) !== d.delivery_id) return;
    this.inFlightBehind.delete(key);
    const first = this.keys.get(key)?.[0];
    const slot = first && first.delivery_id !== d.delivery_id ? this.slots.get(first.delivery_id) : undefined;
    if (slot && !slot.taken) this.enqueue(slot);
  }

  private enqueue(slot: Slot): void {
    slot.version = ++this.versions;
    const { d } = slot;
    let q = this.sinks.get(d.sink);
    if (!q) this.sinks.set(d.sink, (q = new SinkQueue()));
    // every item starts waiting; `promote` moves it to ready when its time has come
    q.waiting.push({ id: d.delivery_id, version: slot.version, key: d.due, seq: d.seq });
  }

  /** Moves what is due at `now` from waiting to ready (ordered by seq there). */
  private promote(q: SinkQueue, now: number): void {
    for (;;) {
      const top = q.waiting.peek();
      if (!top || top.key > now) return;
      q.waiting.pop();
      const slot = this.current(top);
      if (slot) q.ready.push({ ...top, key: 0 });
    }
  }

  private dropStale(heap: Heap): void {
    while (heap.size > 0 && !this.current(heap.peek()!)) heap.pop();
  }

  /** The slot a heap item stands for, if the item is still current. */
  private current(item: HeapItem): Slot | undefined {
    const slot = this.slots.get(item.id);
    return slot && !slot.taken && slot.version === item.version ? slot : undefined;
  }

  private keyList(d: ScheduledDelivery): ScheduledDelivery[] {
    let list = this.keys.get(keyOf(d));
    if (!list) this.keys.set(keyOf(d), (list = []));
    return list;
  }

  /** Inserts in seq order; a re-driven earlier delivery becomes the head and holds the rest back. */
  private insertKeyed(d: ScheduledDelivery): void {
    const list = this.keyList(d);
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > d.seq) i -= 1;
    list.splice(i, 0, d);
    if (i === 0 && list.length > 1) {
      // the former head is no longer eligible: its queued items go stale; if its attempt is in
      // flight, the new head waits for it to come back
      const former = this.slots.get(list[1]!.delivery_id);
      if (former && !former.taken) former.version += 1;
      else if (former?.taken && !this.inFlightBehind.has(keyOf(d))) this.inFlightBehind.set(keyOf(d), former.d.delivery_id);
    }
  }
}

const keyOf = (d: ScheduledDelivery): string => `${d.sink}\0${d.order_key ?? ''}`;
