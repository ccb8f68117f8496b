#!/usr/bin/env node
// Checks a running `plotpointe serve` from outside (image and compose tests): waits for GET /readyz = 200
// (at most --timeout seconds), then asks one user's recommendations and loads the dashboard page and its bundle.
// Usage: check-serving.mjs <base URL> <run serving folder (holds user_ids.json)> [--timeout S] [--since EPOCH_MS]
// Prints one JSON line: {"ready_s": seconds from --since (or from this script's start) to the first 200 /readyz, ...}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [base, servingDir, ...rest] = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : dflt;
};
if (!base || !servingDir) {
  console.error('usage: check-serving.mjs <base URL> <serving dir> [--timeout S] [--since EPOCH_MS]');
  process.exit(2);
}
const since = opt('--since', Date.now());
const deadline = Date.now() + opt('--timeout', 300) * 1000;
const fail = (msg) => {
  console.error(`check-serving: ${msg}`);
  process.exit(1);
};

let readyAt = null;
let last = '';
while (Date.now() < deadline) {
  try {
    const r = await fetch(`${base}/readyz`);
    last = `${r.status} ${(await r.text()).slice(0, 200)}`;
    if (r.status === 200) {
      readyAt = Date.now();
      break;
    }
  } catch (e) {
    last = e.cause?.code ?? e.message;
  }
  await new Promise((r) => setTimeout(r, 250));
}
if (readyAt === null) fail(`/readyz never answered 200 (last: ${last})`);

const healthz = await fetch(`${base}/healthz`);
if (healthz.status !== 200) fail(`/healthz ${healthz.status}`);
const users = JSON.parse(readFileSync(join(servingDir, 'user_ids.json'), 'utf8'));
const user = users[0];
const recs = await fetch(`${base}/v1/users/${encodeURIComponent(user)}/recommendations?k=5`);
const recsBody = await recs.text();
if (recs.status !== 200) fail(`recommendations for ${user}: ${recs.status} ${recsBody.slice(0, 300)}`);
const items = JSON.parse(recsBody).items;
if (!Array.isArray(items) || items.length !== 5) fail(`recommendations for ${user}: ${recsBody.slice(0, 300)}`);
const page = await fetch(`${base}/`);
const html = await page.text();
const src = /src="([^"]*app\.js[^"]*)"/.exec(html)?.[1];
if (page.status !== 200 || !src) fail(`dashboard page: ${page.status} ${html.slice(0, 200)}`);
const js = await fetch(`${base}${src}`);
const jsBytes = (await js.text()).length;
if (js.status !== 200 || jsBytes < 10_000) fail(`dashboard bundle ${src}: ${js.status}, ${jsBytes} bytes`);

console.log(JSON.stringify({ ready_s: (readyAt - since) / 1000, user, first_item: items[0].item_id ?? items[0], dashboard_js_bytes: jsBytes }));
