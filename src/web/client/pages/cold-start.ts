import { api } from '../api.js';
import { empty, errorBox, field, fmt, h, section, setChildren } from '../dom.js';
import { itemMeta, itemRow } from '../items.js';
import type { PageContext } from '../page.js';
import { scoredItems, scoredUsers } from '../serving.js';

/**
 * Cold-start playground: describe a new product (title, description, brand, categories) and/or upload an
 * image; `POST /v1/items/cold-start` answers with the most similar catalog items and the users the new item
 * would be recommended to.
 */

const MAX_UPLOAD = 5 * 1024 * 1024;

export async function renderColdStart({ main, alive }: PageContext): Promise<void> {
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: 500, placeholder: 'e.g. Wireless noise-cancelling headphones' });
  const description = h('textarea', { name: 'description', rows: 4, maxlength: 5000 });
  const brand = h('input', { type: 'text', name: 'brand', maxlength: 200 });
  // One per line: category names may contain commas ("Bags, Cases & Sleeves").
  const categories = h('textarea', { name: 'categories', rows: 3, placeholder: 'Electronics\nHeadphones' });
  const image = h('input', { type: 'file', name: 'image', accept: 'image/png,image/jpeg' });
  const submit = h('button', { type: 'submit' }, 'Find similar items and users');
  const status = h('p', { class: 'muted small', role: 'status', id: 'cold-status' });
  const itemsBox = h('ul', { class: 'items cold-modalities', id: 'cold-items' });
  const usersBox = h('div', { id: 'cold-users' });

  const form = h(
    'form',
    {
      class: 'card',
      id: 'cold-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void run();
      },
    },
    h('h2', {}, 'A new item'),
    field('Title', title),
    field('Description', description),
    h('div', { class: 'grid two' }, field('Brand', brand), field('Categories (one per line)', categories)),
    field('Image (PNG or JPEG, optional)', image),
    submit,
    status,
  );
  main.append(h('div', { class: 'grid two' }, form, h('div', {}, section('Similar catalog items', itemsBox), section('Users it would reach', usersBox))));

  async function run(): Promise<void> {
    const body: Record<string, unknown> = {
      title: title.value.trim(),
      description: description.value.trim() || undefined,
      brand: brand.value.trim() || undefined,
      categories: categories.value.split('\n').map((s) => s.trim()).filter(Boolean),
    };
    const file = image.files?.[0];
    if (file) {
      if (file.size > MAX_UPLOAD) {
        setChildren(status, errorBox(`The image is ${fmt(file.size / 1e6, 1)} MB; the limit is ${MAX_UPLOAD / 1e6} MB.`));
        return;
      }
      body.image_base64 = await toBase64(file);
    }
    submit.disabled = true;
    setChildren(status, 'Encoding and searching…');
    const t0 = performance.now();
    try {
      const resp = await api<Record<string, unknown>>('/v1/items/cold-start', { method: 'POST', body: JSON.stringify(body) });
      const similar = Object.entries((resp.similar ?? {}) as Record<string, unknown>).map(([m, list]) => [m, scoredItems(list)] as const);
      const users = scoredUsers(resp, 'users');
      const metas = await itemMeta(similar.flatMap(([, rows]) => rows.map((r) => r.itemId)));
      if (!alive()) return;
      const modalities = Array.isArray(resp.modalities) ? (resp.modalities as string[]).join(', ') : '–';
      setChildren(status, `Answered in ${fmt(performance.now() - t0, 0)} ms · encoded as ${modalities} · model ${String(resp.model_version)} (variant ${String(resp.variant)})`);
      setChildren(
        itemsBox,
        ...(similar.length
          ? similar.map(([m, rows]) =>
              h('li', { 'data-modality': m }, h('h3', {}, `by ${m}`), rows.length ? h('ul', { class: 'items' }, ...rows.map((r) => itemRow(r.itemId, metas.get(r.itemId), h('div', { class: 'score' }, `#${r.rank} · cosine ${fmt(r.score, 4)}`)))) : empty('No similar items.')),
            )
          : [empty('No similar items.')]),
      );
      setChildren(
        usersBox,
        users.length
          ? h(
              'ol',
              { class: 'small' },
              ...users.map((u) => h('li', { 'data-user-id': u.userId }, h('a', { href: `#/recommendations?user=${encodeURIComponent(u.userId)}` }, u.userId), ` · score ${fmt(u.score, 4)}`)),
            )
          : empty('No users.'),
      );
    } catch (err) {
      if (alive()) setChildren(status, errorBox((err as Error).message));
    } finally {
      submit.disabled = false;
    }
  }
}

function toBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
