/** 32-bit FNV-1a of a string's UTF-16 code units (stream names of the demo generator, A/B buckets of users). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
