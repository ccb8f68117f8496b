import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Largest piece handed to one hash update: OpenSSL's update refuses 2 GiB and more ("data is too long"). */
const HASH_PIECE = 1 << 30;

/** sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 (hex) of bytes of any size (hashed in pieces below the 2 GiB limit of one update). */
export function sha256Bytes(bytes: Uint8Array): string {
  const hash = createHash('sha256');
  for (let at = 0; at < bytes.byteLength; at += HASH_PIECE) hash.update(bytes.subarray(at, at + HASH_PIECE));
  return hash.digest('hex');
}

/** sha256 (hex) of a string or of a JSON-serialisable value (keys sorted, so equal configs hash equally). */
export function sha256Of(value: unknown): string {
  const text = typeof value === 'string' ? value : stableStringify(value);
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted recursively: a canonical form for hashing configs and manifests. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
