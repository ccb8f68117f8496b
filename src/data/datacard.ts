import type { Db } from '../lake/duckdb.js';

export interface DegreeStats {
  min: number;
  mean: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
}

/** The data card: what a data set holds and how healthy it is. Written as datacard.json and datacard.md. */
export interface DataCard {
  dataset: string;
  format: string;
  counts: {
    users: number;
    items: number;
    items_with_interactions: number;
    interactions: number;
    /** interactions / (users × items_with_interactions) */
    density: number;
    rejects: number;
  };
  /** Share of catalog items that have each field (0..1). */
  coverage: { title: number; description: number; brand: number; categories: number; price: number; image: number };
  ratings: { histogram: Array<{ rating: number | null; count: number }>; implicit_share: number; mean: number | null };
  user_degree: DegreeStats;
  item_degree: DegreeStats;
  timestamps: { min: number | null; max: number | null; min_iso: string | null; max_iso: string | null; missing_share: number };
  /** Share of input records of each kind rejected as duplicates; `repeated_pairs`: share of staged
   * interactions repeating an earlier (user, item) pair (only where the format allows repeats). */
  duplicates: { interactions: number; items: number; repeated_pairs: number };
  integrity: {
    /** Staged interactions whose item is not in the staged catalog: 0 by construction, checked here. */
    interactions_with_unknown_item: number;
    /** Interactions rejected because their item was not in the catalog. */
    unknown_item_rejects: number;
    /** Items known only from interactions (no metadata). */
    items_without_metadata: number;
    /** Catalog items no one interacted with (cold items). */
    items_without_interactions: number;
  };
  rejects_by_reason: Record<string, number>;
  /** Interactions per part for sources with a given split. */
  given_split: Record<string, number> | null;
}

const toIso = (ts: number | null) => (ts === null ? null : new Date(ts * 1000).toISOString());

async function degreeStats(db: Db, column: 'user_id' | 'item_id'): Promise<DegreeStats> {
  const r = await db.one<Record<string, number>>(`
    SELECT coalesce(min(d), 0) AS min, coalesce(avg(d), 0) AS mean, coalesce(median(d), 0) AS median,
      coalesce(quantile_cont(d, 0.9), 0) AS p90, coalesce(quantile_cont(d, 0.99), 0) AS p99, coalesce(max(d), 0) AS max
    FROM (SELECT count(*) AS d FROM interactions GROUP BY ${column})`);
  return {
    min: Number(r!.min),
    mean: Number(r!.mean),
    median: Number(r!.median),
    p90: Number(r!.p90),
    p99: Number(r!.p99),
    max: Number(r!.max),
  };
}

/** Computes the data card from the `items`, `interactions` and `rejects` tables left by `stageValidated`. */
export async function computeDataCard(db: Db, dataset: string, format: string): Promise<DataCard> {
  const c = await db.one<Record<string, number>>(`
    SELECT (SELECT count(DISTINCT user_id) FROM interactions) AS users,
      (SELECT count(*) FROM items) AS items,
      (SELECT count(DISTINCT item_id) FROM interactions) AS items_with_interactions,
      (SELECT count(*) FROM interactions) AS interactions,
      (SELECT count(*) FROM rejects) AS rejects`);
  const counts = {
    users: Number(c!.users),
    items: Number(c!.items),
    items_with_interactions: Number(c!.items_with_interactions),
    interactions: Number(c!.interactions),
    density: 0,
    rejects: Number(c!.rejects),
  };
  counts.density = counts.users && counts.items_with_interactions ? counts.interactions / (counts.users * counts.items_with_interactions) : 0;

  const cov = await db.one<Record<string, number>>(`
    SELECT coalesce(avg((title IS NOT NULL)::INT), 0) AS title, coalesce(avg((description IS NOT NULL)::INT), 0) AS description,
      coalesce(avg((brand IS NOT NULL)::INT), 0) AS brand, coalesce(avg((len(categories) > 0)::INT), 0) AS categories,
      coalesce(avg((price IS NOT NULL)::INT), 0) AS price,
      coalesce(avg((image_url IS NOT NULL OR image_path IS NOT NULL)::INT), 0) AS image
    FROM items`);
  const hist = await db.all<{ rating: number | null; count: number }>(
    `SELECT rating, count(*) AS count FROM interactions GROUP BY rating ORDER BY rating NULLS FIRST`,
  );
  const rs = await db.one<{ implicit: number; mean: number | null }>(
    `SELECT coalesce(avg((rating IS NULL)::INT), 0) AS implicit, avg(rating) AS mean FROM interactions`,
  );
  const ts = await db.one<{ min: number | null; max: number | null; missing: number }>(
    `SELECT min(ts) AS min, max(ts) AS max, coalesce(avg((ts IS NULL)::INT), 0) AS missing FROM interactions`,
  );
  const dup = await db.one<Record<string, number>>(`
    SELECT (SELECT count(*) FROM rejects WHERE kind = 'interaction' AND reason = 'duplicate') AS inter_dups,
      (SELECT count(*) FROM rejects WHERE kind = 'item' AND reason = 'duplicate') AS item_dups,
      (SELECT count(*) FROM rejects WHERE kind = 'interaction') AS inter_rejects,
      (SELECT count(*) FROM rejects WHERE kind = 'item') AS item_rejects,
      (SELECT count(*) FROM items WHERE src_file IS NOT NULL) AS items_staged,
      (SELECT count(*) FROM items WHERE src_file IS NULL) AS items_derived,
      (SELECT count(*) FROM interactions i ANTI JOIN items USING (item_id)) AS unknown_items,
      (SELECT count(*) FROM rejects WHERE reason = 'unknown_item') AS unknown_item_rejects,
      (SELECT count(*) FROM items ANTI JOIN (SELECT DISTINCT item_id FROM interactions) USING (item_id)) AS cold_items,
      (SELECT count(*) - count(DISTINCT (user_id, item_id)) FROM interactions) AS repeats`);
  const interRead = counts.interactions + Number(dup!.inter_rejects);
  const itemRead = Number(dup!.items_staged) + Number(dup!.item_rejects);
  const reasons = await db.all<{ key: string; n: number }>(
    `SELECT kind || '/' || reason AS key, count(*) AS n FROM rejects GROUP BY ALL ORDER BY key`,
  );
  const split = await db.all<{ split: string | null; n: number }>(
    `SELECT split, count(*) AS n FROM interactions GROUP BY split ORDER BY split`,
  );
  const hasGiven = split.some((s) => s.split !== null);
  return {
    dataset,
    format,
    counts,
    coverage: {
      title: Number(cov!.title),
      description: Number(cov!.description),
      brand: Number(cov!.brand),
      categories: Number(cov!.categories),
      price: Number(cov!.price),
      image: Number(cov!.image),
    },
    ratings: {
      histogram: hist.map((h) => ({ rating: h.rating === null ? null : Number(h.rating), count: Number(h.count) })),
      implicit_share: Number(rs!.implicit),
      mean: rs!.mean === null ? null : Number(rs!.mean),
    },
    user_degree: await degreeStats(db, 'user_id'),
    item_degree: await degreeStats(db, 'item_id'),
    timestamps: {
      min: ts!.min === null ? null : Number(ts!.min),
      max: ts!.max === null ? null : Number(ts!.max),
      min_iso: toIso(ts!.min === null ? null : Number(ts!.min)),
      max_iso: toIso(ts!.max === null ? null : Number(ts!.max)),
      missing_share: Number(ts!.missing),
    },
    duplicates: {
      interactions: interRead ? Number(dup!.inter_dups) / interRead : 0,
      items: itemRead ? Number(dup!.item_dups) / itemRead : 0,
      repeated_pairs: counts.interactions ? Number(dup!.repeats) / counts.interactions : 0,
    },
    integrity: {
      interactions_with_unknown_item: Number(dup!.unknown_items),
      unknown_item_rejects: Number(dup!.unknown_item_rejects),
      items_without_metadata: Number(dup!.items_derived),
      items_without_interactions: Number(dup!.cold_items),
    },
    rejects_by_reason: Object.fromEntries(reasons.map((r) => [r.key, Number(r.n)])),
    given_split: hasGiven ? Object.fromEntries(split.map((s) => [s.split ?? 'none', Number(s.n)])) : null,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const num = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(2));

/** The data card as Markdown, for people. */
export function renderDataCard(card: DataCard): string {
  const deg = (d: DegreeStats) => `| ${num(d.min)} | ${num(d.mean)} | ${num(d.median)} | ${num(d.p90)} | ${num(d.p99)} | ${num(d.max)} |`;
  const lines = [
    `# Data card: ${card.dataset} (${card.format})`,
    '',
    '## Counts',
    `| users | items | items with interactions | interactions | density | rejects |`,
    `|---|---|---|---|---|---|`,
    `| ${num(card.counts.users)} | ${num(card.counts.items)} | ${num(card.counts.items_with_interactions)} | ${num(card.counts.interactions)} | ${card.counts.density.toExponential(3)} | ${num(card.counts.rejects)} |`,
    '',
    '## Item metadata coverage',
    `| title | description | brand | categories | price | image |`,
    `|---|---|---|---|---|---|`,
    `| ${pct(card.coverage.title)} | ${pct(card.coverage.description)} | ${pct(card.coverage.brand)} | ${pct(card.coverage.categories)} | ${pct(card.coverage.price)} | ${pct(card.coverage.image)} |`,
    '',
    '## Ratings',
    `| rating | count |`,
    `|---|---|`,
    ...card.ratings.histogram.map((h) => `| ${h.rating === null ? 'implicit' : h.rating} | ${num(h.count)} |`),
    '',
    `Mean rating: ${card.ratings.mean === null ? 'n/a (implicit feedback)' : card.ratings.mean.toFixed(3)}.`,
    '',
    '## Degrees',
    `| | min | mean | median | p90 | p99 | max |`,
    `|---|---|---|---|---|---|---|`,
    `| interactions per user ${deg(card.user_degree)}`,
    `| interactions per item ${deg(card.item_degree)}`,
    '',
    '## Time',
    card.timestamps.min_iso
      ? `From ${card.timestamps.min_iso} to ${card.timestamps.max_iso}; ${pct(card.timestamps.missing_share)} without a timestamp.`
      : 'The source has no timestamps.',
    '',
    '## Duplicates and integrity',
    `- Duplicate share: interactions ${pct(card.duplicates.interactions)}, items ${pct(card.duplicates.items)}; repeated (user, item) pairs kept as events: ${pct(card.duplicates.repeated_pairs)}.`,
    `- Staged interactions naming an unknown item: ${num(card.integrity.interactions_with_unknown_item)} (rejected as unknown_item: ${num(card.integrity.unknown_item_rejects)}).`,
    `- Items without metadata (known only from interactions): ${num(card.integrity.items_without_metadata)}.`,
    `- Catalog items without interactions: ${num(card.integrity.items_without_interactions)}.`,
    '',
    '## Rejects by reason',
    ...(Object.keys(card.rejects_by_reason).length
      ? ['| kind/reason | count |', '|---|---|', ...Object.entries(card.rejects_by_reason).map(([k, n]) => `| ${k} | ${num(n)} |`)]
      : ['None.']),
  ];
  if (card.given_split) {
    lines.push('', '## Given split', '| part | interactions |', '|---|---|', ...Object.entries(card.given_split).map(([k, n]) => `| ${k} | ${num(n)} |`));
  }
  return lines.join('\n') + '\n';
}
