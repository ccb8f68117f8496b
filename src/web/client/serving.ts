/**
 * Reading the serving API's result lists. Every list endpoint (recommendations, similar items, cold start)
 * answers with an array of `{ item_id, score, rank, explanation? }`; the users a cold-start item would reach
 * come as `{ user_id, score }`. These helpers accept the documented names and nothing else, so a change of the
 * API shows up as an empty list in the tests rather than as made-up data.
 */

export interface ScoredItem {
  itemId: string;
  score: number;
  rank: number;
  explanation: unknown;
  /** Live feedback: the recent event that put the item in the list ({item_id, type, ts, message}), else null. */
  because: { item_id: string; type: string; message: string } | null;
}

export interface ScoredUser {
  userId: string;
  score: number;
}

type Raw = Record<string, unknown>;

function list(resp: unknown, ...keys: string[]): Raw[] {
  if (Array.isArray(resp)) return resp as Raw[];
  const o = (resp ?? {}) as Raw;
  for (const k of keys) if (Array.isArray(o[k])) return o[k] as Raw[];
  return [];
}

export function scoredItems(resp: unknown, ...keys: string[]): ScoredItem[] {
  return list(resp, ...(keys.length ? keys : ['items'])).map((r, i) => ({
    itemId: String(r.item_id ?? r.itemId),
    score: Number(r.score),
    rank: Number(r.rank ?? i + 1),
    explanation: r.explanation ?? null,
    because: r.because && typeof r.because === 'object' ? (r.because as ScoredItem['because']) : null,
  }));
}

export function scoredUsers(resp: unknown, ...keys: string[]): ScoredUser[] {
  return list(resp, ...(keys.length ? keys : ['users'])).map((r) => ({ userId: String(r.user_id ?? r.userId), score: Number(r.score) }));
}
