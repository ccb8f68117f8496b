/**
 * Staging of operands for heap kernels: arrays already in the shared heap are passed by pointer;
 * others are copied into temporary heap blocks for the call (and outputs copied back), so every
 * kernel accepts plain typed arrays too — at the cost of the copies.
 */
import { allocF32, allocI32, free, inHeap } from './heap.js';

export class Stage {
  private temps: ArrayBufferView[] = [];
  private copyBack: [Float32Array, Float32Array][] = [];

  /** Byte pointer of an input Float32Array. */
  inF32(a: Float32Array): number {
    if (inHeap(a)) return a.byteOffset;
    const h = allocF32(a.length, false);
    h.set(a);
    this.temps.push(h);
    return h.byteOffset;
  }

  /** Byte pointer of an input Int32Array. */
  inI32(a: Int32Array): number {
    if (inHeap(a)) return a.byteOffset;
    const h = allocI32(a.length, false);
    h.set(a);
    this.temps.push(h);
    return h.byteOffset;
  }

  /** Byte pointer of an output (copied back by {@link done}); `readToo` also copies it in. */
  outF32(a: Float32Array, readToo = false): number {
    if (inHeap(a)) return a.byteOffset;
    const h = allocF32(a.length, false);
    if (readToo) h.set(a);
    this.temps.push(h);
    this.copyBack.push([a, h]);
    return h.byteOffset;
  }

  /** Copies outputs back and frees the temporaries. */
  done(): void {
    for (const [dst, src] of this.copyBack) dst.set(src);
    for (const t of this.temps) free(t);
    this.temps = [];
    this.copyBack = [];
  }
}

/** Runs `f` with a fresh stage and always releases it. */
export function staged<T>(f: (s: Stage) => T): T {
  const s = new Stage();
  try {
    const r = f(s);
    s.done();
    return r;
  } catch (err) {
    s.done();
    throw err;
  }
}
