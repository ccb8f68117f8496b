import { api, ApiError, enc } from '../api.js';
import { empty, errorBox, field, fmt, h, section, setChildren } from '../dom.js';
import { explanation } from '../explain.js';
import { itemMeta, itemRow } from '../items.js';
import { go, type PageContext } from '../page.js';
import { scoredItems } from '../serving.js';
import type { HistoryRow, UserRow } from '../../catalog.js';

/**
 * Recommendations explorer: pick or search a user, see their training history with images, and two
 * recommenders side by side — (A) what the API serves the user (`GET /v1/users/{id}/recommendations`, the
 * user's A/B variant) and (B), to choose: another served variant's recommendations for the same user
 * (`/api/dashboard/users/{id}/variants`, computed like the API) or the assigned model folding the user in from
 * their recent history only (`POST /v1/recommendations`), i.e. what an anonymous visitor with that history gets.
 *
 * Live feedback: each item of column A has "viewed" and "bought" buttons that post a click / purchase event for
 * the user (`POST /v1/events`) and then reload column A from the API, so the list's change shows at once (a
 * bought item leaves it, items near what was viewed move up, each with its "because you just …").
 */

interface VariantRecs {
  variant: string;
  model: string;
  model_version: string;
  assigned: boolean;
  items: Record<string, unknown>[] | null;
}

const K = 10;
const FOLD_IN_HISTORY = 20;
/** History rows shown (newest first). */
export const HISTORY_SHOWN = 20;

export async function renderRecommendations({ main, params, alive }: PageContext): Promise<void> {
  const userId = params.get('user');
  main.append(userPicker(userId ?? ''));
  const picks = h('ul', { class: 'pick-list', id: 'user-picks', 'aria-label': 'Most active users' });
  main.append(section('Most active users', picks));
  // Everything that depends only on the user id is requested at once (one round trip instead of four).
  const topP = api<{ users: UserRow[] }>(`/api/dashboard/users?limit=12`);
  const historyP = userId ? api<{ userId: string; total: number; items: HistoryRow[] }>(`/api/dashboard/users/${enc(userId)}/history?limit=${HISTORY_SHOWN}`) : null;
  const variantsP = userId ? api<{ assigned: string; variants: VariantRecs[] }>(`/api/dashboard/users/${enc(userId)}/variants?k=${K}`).catch(() => null) : null;
  const servedP = userId ? api<Record<string, unknown>>(`/v1/users/${enc(userId)}/recommendations?k=${K}&exclude_seen=true`) : null;
  servedP?.catch(() => undefined); // handled below; no unhandled rejection meanwhile
  historyP?.catch(() => undefined);
  const top = await topP;
  if (!alive()) return;
  setChildren(picks, ...top.users.map((u) => h('li', {}, h('button', { type: 'button', 'aria-pressed': String(u.userId === userId), 'data-user-id': u.userId, onclick: () => go('recommendations', { user: u.userId }) }, `${u.userId} (${u.trainCount})`))));
  if (!userId || !historyP || !servedP) return;

  let history: { userId: string; total: number; items: HistoryRow[] };
  try {
    history = await historyP;
  } catch (err) {
    if (alive()) main.append(errorBox(err instanceof ApiError && err.status === 404 ? `No user ${userId} with training history.` : (err as Error).message));
    return;
  }
  if (!alive()) return;
  const variants = await variantsP;
  if (!alive()) return;
  const others = (variants?.variants ?? []).filter((v) => !v.assigned && v.items);
  const foldInLabel = `fold-in from the last ${Math.min(FOLD_IN_HISTORY, history.items.length)} history items (POST /v1/recommendations)`;
  const pickB = h(
    'select',
    { name: 'recommender-b', id: 'pick-b' },
    ...others.map((v) => h('option', { value: `variant:${v.variant}` }, `variant ${v.variant} · ${v.model} ${v.model_version}`)),
    h('option', { value: 'fold-in' }, foldInLabel),
  );
  const colA = h('ul', { class: 'items', id: 'recs-a' }, h('li', { class: 'muted' }, 'Loading…'));
  const colB = h('ul', { class: 'items', id: 'recs-b' }, h('li', { class: 'muted' }, 'Loading…'));
  const metaA = h('p', { class: 'muted small', id: 'recs-a-meta' });
  const metaB = h('p', { class: 'muted small', id: 'recs-b-meta' });
  const feedbackStatus = h('p', { class: 'muted small', id: 'feedback-status', 'aria-live': 'polite' });
  main.append(
    h(
      'div',
      { class: 'grid three' },
      section(
        `History of ${userId}: ${history.items.length} newest of ${history.total} training interactions`,
        h('ul', { class: 'items', id: 'history' }, ...history.items.map((r) => itemRow(r.itemId, r, h('div', { class: 'small' }, `rating ${r.rating ?? '–'}${r.ts ? ` · ${new Date(r.ts * 1000).toISOString().slice(0, 10)}` : ''}`)))),
      ),
      section('A · served model (user vector, live feedback)', metaA, feedbackStatus, colA),
      section('B · compare with', field('Recommender B', pickB), metaB, colB),
    ),
  );

  /** Posts a feedback event for the user, then reloads column A. */
  const postEvent = async (type: 'click' | 'purchase', itemId: string) => {
    setChildren(feedbackStatus, `posting ${type} of ${itemId}…`);
    colA.dataset.state = 'loading';
    try {
      await api('/v1/events', { method: 'POST', body: JSON.stringify({ type, user_id: userId, item_id: itemId }) });
    } catch (err) {
      setChildren(feedbackStatus, errorBox((err as Error).message));
      colA.dataset.state = 'ready';
      return;
    }
    await fill(colA, metaA, () => api<Record<string, unknown>>(`/v1/users/${enc(userId)}/recommendations?k=${K}&exclude_seen=true`), true);
    if (alive()) {
      setChildren(feedbackStatus, `${type === 'purchase' ? 'bought' : 'viewed'} ${itemId}: the list above is the API's answer after the event`);
      feedbackStatus.dataset.events = String(Number(feedbackStatus.dataset.events ?? '0') + 1);
    }
  };
  const actions = (itemId: string) =>
    h(
      'div',
      { class: 'row feedback-actions' },
      h('button', { type: 'button', class: 'secondary small', 'data-event': 'click', 'data-item-id': itemId, onclick: () => void postEvent('click', itemId) }, 'viewed'),
      h('button', { type: 'button', class: 'secondary small', 'data-event': 'purchase', 'data-item-id': itemId, onclick: () => void postEvent('purchase', itemId) }, 'bought'),
    );
  const fill = async (col: HTMLElement, meta: HTMLElement, call: () => Promise<Record<string, unknown>>, withActions = false) => {
    try {
      const resp = await call();
      const rows = scoredItems(resp);
      const because = rows.flatMap((r) => [...(Array.isArray(r.explanation) ? (r.explanation as { item_id: string }[]).slice(0, 3).map((e) => e.item_id) : []), ...(r.because ? [r.because.item_id] : [])]);
      const metas = await itemMeta([...rows.map((r) => r.itemId), ...because]);
      if (!alive()) return;
      setChildren(meta, ['model_version', 'variant', 'request_id'].filter((k) => resp[k] !== undefined).map((k) => `${k} ${String(resp[k])}`).join(' · '));
      if (resp.request_id) col.dataset.requestId = String(resp.request_id);
      col.dataset.state = 'ready';
      if (rows.length === 0) setChildren(col, empty('The API returned no items (the user may already know every item the model can recommend).'));
      else
        setChildren(
          col,
          ...rows.map((r) =>
            itemRow(
              r.itemId,
              metas.get(r.itemId),
              h('div', { class: 'score', 'data-score': String(r.score) }, `#${r.rank} · score ${fmt(r.score, 4)}`),
              r.because ? h('div', { class: 'because small', 'data-because': r.because.item_id }, r.because.message) : null,
              explanation(r.explanation, metas),
              withActions ? actions(r.itemId) : null,
            ),
          ),
        );
    } catch (err) {
      if (alive()) setChildren(col, errorBox((err as Error).message));
      col.dataset.state = 'error';
    }
  };
  const fillB = () => {
    const choice = pickB.value;
    colB.dataset.source = choice;
    colB.dataset.state = 'loading';
    setChildren(colB, h('li', { class: 'muted' }, 'Loading…'));
    setChildren(metaB);
    if (choice.startsWith('variant:')) {
      const v = others.find((o) => `variant:${o.variant}` === choice)!;
      return fill(colB, metaB, async () => ({ model_version: v.model_version, variant: v.variant, items: v.items }));
    }
    return fill(colB, metaB, () =>
      api('/v1/recommendations', { method: 'POST', body: JSON.stringify({ item_ids: history.items.slice(0, FOLD_IN_HISTORY).map((r) => r.itemId), k: K, user_id: userId }) }),
    );
  };
  pickB.addEventListener('change', () => void fillB());
  await Promise.all([fill(colA, metaA, () => servedP, true), fillB()]);
}

function userPicker(initial: string): HTMLElement {
  const input = h('input', { type: 'search', name: 'user-q', value: initial, placeholder: 'user id (or part of it)', autocomplete: 'off' });
  const results = h('ul', { class: 'pick-list', id: 'user-results', 'aria-live': 'polite' });
  const run = async () => {
    const q = input.value.trim();
    const r = await api<{ users: UserRow[] }>(`/api/dashboard/users?q=${enc(q)}&limit=12`);
    const exact = r.users.find((u) => u.userId === q);
    if (exact || r.users.length === 1) return go('recommendations', { user: (exact ?? r.users[0]!).userId });
    setChildren(results, ...(r.users.length ? r.users.map((u) => h('li', {}, h('button', { type: 'button', class: 'secondary', onclick: () => go('recommendations', { user: u.userId }) }, `${u.userId} (${u.trainCount})`))) : [empty('No user matches.')]));
  };
  return h('form', { role: 'search', class: 'card', onsubmit: (e: Event) => (e.preventDefault(), void run()) }, h('div', { class: 'row' }, field('Find a user', input), h('button', { type: 'submit' }, 'Search')), results);
}
