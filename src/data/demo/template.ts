/**
 * "{name}" placeholder templates, compiled once and filled by concatenation (the generator fills
 * millions of them; a regex replace per call would dominate the run time).
 */

type Compiled = readonly string[]; // literal, key, literal, key, …, literal

const cache = new Map<string, Compiled>();

function compile(template: string): Compiled {
  const parts: string[] = [];
  const re = /\{(\w+)\}/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    parts.push(template.slice(last, m.index), m[1]);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

/** Replaces each {key} by vars[key]; unknown keys stay as written. */
export function fill(template: string, vars: Readonly<Record<string, string>>): string {
  let parts = cache.get(template);
  if (parts === undefined) {
    parts = compile(template);
    cache.set(template, parts);
  }
  let out = parts[0];
  for (let i = 1; i < parts.length; i += 2) {
    const v = vars[parts[i]];
    out += (v === undefined ? `{${parts[i]}}` : v) + parts[i + 1];
  }
  return out;
}
