/**
 * Text as the analytics store takes it: DuckDB VARCHAR is UTF-8, and a JS string may hold a lone UTF-16
 * surrogate (`"\ud800"` is valid JSON and a valid JS string) that has no UTF-8 form — DuckDB rejects the whole
 * statement carrying it. Every string written to the request log or the events table goes through
 * {@link storableText}: well-formed strings are kept as they are (one native check), a lone surrogate becomes
 * U+FFFD (what `String.prototype.toWellFormed` does). NUL and other control characters are valid UTF-8 and
 * are stored as they are.
 */

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** `s` with every lone surrogate replaced by U+FFFD (the same string when it has none). */
export function storableText(s: string): string {
  const w = s as unknown as WellFormed;
  return w.isWellFormed() ? s : w.toWellFormed();
}

/** {@link storableText} of a nullable string. */
export function storableOrNull(s: string | null | undefined): string | null {
  return s === null || s === undefined ? null : storableText(s);
}
