/**
 * The shared heap: one growable, shared `WebAssembly.Memory` that every numeric buffer of the core
 * may live in, so the WebAssembly kernels and the worker threads read and write it in place (no
 * per-call copying, no message passing of data).
 *
 * - {@link allocF32} / {@link allocI32} return ordinary typed-array views into the heap.
 *   Blocks are 64-byte aligned (cache lines, f32x4 loads) and come zero-filled.
 * - {@link free} returns a block to a free list keyed by size class (sizes are rounded up to
 *   one of 4 steps per power of two, so a training loop that allocates the same shapes every step
 *   reuses the same blocks). Freed views must not be used again.
 * - Growing a *shared* memory never detaches older views: a view made before a grow stays valid.
 * - Typed arrays not made here (e.g. `new Float32Array(n)`) are accepted by every kernel; they are
 *   copied into the heap for the call ("staged"), which costs a copy in and out.
 *
 * Limits: 4 GiB (65,536 pages of 64 KiB) of address space is reserved, memory is committed as it
 * grows. Pointers handed to kernels are byte offsets (`view.byteOffset`).
 */

/** Bytes per WebAssembly page. */
export const PAGE_BYTES = 65536;
/** Maximum pages of the heap (4 GiB). */
export const MAX_PAGES = 65536;
const ALIGN = 64;
/** Offsets below this are never handed out, so 0 can mean "no buffer" to a kernel. */
const RESERVED = 1024;

const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });
const knownBuffers = new WeakSet<ArrayBufferLike>();
let current = memory.buffer as unknown as SharedArrayBuffer;
knownBuffers.add(current);

let top = RESERVED;
/** PLOTPOINTE_HEAP_TRACE=<bytes>: every allocation of at least that size is logged to stderr with its caller. */
const TRACE_BYTES = Number(process.env.PLOTPOINTE_HEAP_TRACE ?? 0);

function traceAlloc(bytes: number): void {
  const callers = (new Error().stack ?? '').split('\n').slice(3, 8).map((l) => l.trim().replace(/^at /, ''));
  process.stderr.write(`[heap] +${(bytes / 1e6).toFixed(1)} MB live=${(liveBytes / 1e6).toFixed(0)} MB top=${(top / 1e6).toFixed(0)} MB ${callers.join(' < ')}\n`);
}
const freeLists = new Map<number, number[]>();
const live = new Map<number, number>(); // offset -> class size in bytes
let liveBytes = 0;

/** The heap memory (posted to worker threads; imported by the wasm kernels). */
export function heapMemory(): WebAssembly.Memory {
  return memory;
}

/** The heap's current buffer (covers every block allocated so far). */
export function heapBuffer(): SharedArrayBuffer {
  if (current.byteLength !== memory.buffer.byteLength) {
    current = memory.buffer as unknown as SharedArrayBuffer;
    knownBuffers.add(current);
  }
  return current;
}

/** Rounds a byte size up to its class: ≥ 64, then 4 steps per power of two (≤ 25 % slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= ALIGN) return ALIGN;
  const p = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = Math.max(ALIGN, p / 4);
  return Math.ceil(bytes / step) * step;
}

function allocBytes(bytes: number, zero: boolean): number {
  const cls = sizeClass(Math.max(bytes, 1));
  const list = freeLists.get(cls);
  let off: number;
  if (list && list.length > 0) {
    off = list.pop()!;
    if (zero) new Uint8Array(heapBuffer(), off, cls).fill(0);
  } else {
    off = top;
    const end = off + cls;
    if (end > MAX_PAGES * PAGE_BYTES) throw new RangeError(`heap exhausted: ${end} bytes requested`);
    const have = memory.buffer.byteLength;
    if (end > have) {
      const need = Math.ceil((end - have) / PAGE_BYTES);
      const grow = Math.min(MAX_PAGES - have / PAGE_BYTES, Math.max(need, Math.ceil(have / PAGE_BYTES / 4)));
      memory.grow(grow);
    }
    top = end; // fresh memory is zero
  }
  live.set(off, cls);
  liveBytes += cls;
  if (TRACE_BYTES > 0 && cls >= TRACE_BYTES) traceAlloc(cls);
  return off;
}

/** A zero-filled Float32Array of `n` elements in the heap. */
export function allocF32(n: number, zero = true): Float32Array {
  const off = allocBytes(n * 4, zero);
  return new Float32Array(heapBuffer(), off, n);
}

/** A zero-filled Int32Array of `n` elements in the heap. */
export function allocI32(n: number, zero = true): Int32Array {
  const off = allocBytes(n * 4, zero);
  return new Int32Array(heapBuffer(), off, n);
}

/** True if `a` is a view into the heap (kernels use it in place). */
export function inHeap(a: ArrayBufferView): boolean {
  return knownBuffers.has(a.buffer);
}

/** A heap copy of `a` (or `a` itself if it already lives in the heap and `always` is false). */
export function toHeapF32(a: Float32Array, always = false): Float32Array {
  if (!always && inHeap(a)) return a;
  const h = allocF32(a.length, false);
  h.set(a);
  return h;
}

/** A heap copy of `a` (or `a` itself if it already lives in the heap and `always` is false). */
export function toHeapI32(a: Int32Array, always = false): Int32Array {
  if (!always && inHeap(a)) return a;
  const h = allocI32(a.length, false);
  h.set(a);
  return h;
}

/**
 * Returns the block of `a` to the heap. `a` must be a view returned by an alloc function (not a
 * subarray). Views that are not in the heap are ignored, so `free` can be called on any array.
 */
export function free(a: ArrayBufferView): void {
  if (!inHeap(a)) return;
  const off = a.byteOffset;
  const cls = live.get(off);
  if (cls === undefined) throw new Error(`heap.free: ${off} is not a live block (double free or subarray?)`);
  live.delete(off);
  liveBytes -= cls;
  let list = freeLists.get(cls);
  if (!list) freeLists.set(cls, (list = []));
  list.push(off);
}

/** Heap statistics: bytes in live blocks, bytes ever handed out (high-water mark), committed bytes. */
export function heapStats(): { liveBytes: number; liveBlocks: number; topBytes: number; committedBytes: number } {
  return { liveBytes, liveBlocks: live.size, topBytes: top, committedBytes: memory.buffer.byteLength };
}
