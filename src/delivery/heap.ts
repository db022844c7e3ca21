/** One entry of a `Heap`: a delivery of the due schedule at one version of its slot. */
export interface HeapItem {
  id: string;
  version: number;
  /** What the heap orders by: due time (waiting) or seq (ready). */
  key: number;
  seq: number;
}

/** A binary min-heap of `HeapItem`s by (key, seq): the due schedule's waiting and ready queues. */
export class Heap {
  private readonly items: HeapItem[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): HeapItem | undefined {
    return this.items[0];
  }
  push(item: HeapItem): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): HeapItem | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

const less = (x: HeapItem, y: HeapItem): boolean => x.key < y.key || (x.key === y.key && x.seq < y.seq);
