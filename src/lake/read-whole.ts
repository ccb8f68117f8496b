/**
 * Reads a whole binary file of any size into one aligned buffer. `fs.readFile` refuses files of 2 GiB and more
 * (ERR_FS_FILE_TOO_LARGE) — the reference catalog's image matrix is 498,196 × 1,280 float32 = 2.55 GB — and its
 * Buffer may sit at an unaligned offset of a shared pool; this reads by positioned reads of ≤ 1 GiB into a fresh
 * ArrayBuffer, so a Float32Array/Int32Array view of the result is always valid.
 */
import { open } from 'node:fs/promises';

const PIECE = 1 << 30;

/** The file's bytes, in a buffer of their own (offset 0). */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await fh.read(out, at, Math.min(PIECE, size - at), at);
      if (bytesRead === 0) break; // truncated while reading: the caller's size checks catch it
      at += bytesRead;
    }
    return at === size ? out : out.subarray(0, at);
  } finally {
    await fh.close();
  }
}
