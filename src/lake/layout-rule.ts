import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * The lake-layout rule: no file outside src/lake/ builds a lake location. It flags, line by line (comments
 * skipped), a `join(`/`resolve(` with one of the layout's folder names as a string literal, a literal file name
 * of a lake table (`items.parquet`, `runs.duckdb`, `datacard.json` …), and a template that puts a layout folder
 * after an interpolation (`${lake}/staging/`). A hit that is not a lake location (a temp folder that happens to
 * be called `serving`, the repo's `src/pipeline`) is listed in an allow-list with its reason.
 */

export const LAYOUT_FOLDERS = ['staging', 'artifacts', 'splits', 'datasets', 'raw', 'embeddings', 'graphs', 'serving', 'logs', 'pipeline', 'cache', 'sources', 'ablations', 'work'] as const;

const folders = LAYOUT_FOLDERS.join('|');
const RULES: readonly { kind: string; re: RegExp }[] = [
  { kind: 'folder literal in a path join', re: new RegExp(`\\b(?:join|resolve)\\([^\\n]*?'(?:${folders})'`) },
  { kind: 'lake table file name', re: /'(?:items|interactions|rejects|user_map|item_map|train|valid|test|drift)\.parquet'|'(?:runs|serving)\.duckdb'|'datacard\.(?:json|md)'/ },
  { kind: 'layout folder in a path template', re: new RegExp(`\\$\\{[^}]+\\}/(?:${folders})/`) },
];

export interface LayoutHit {
  file: string;
  line: number;
  kind: string;
  text: string;
}

/** An allowed hit: a file (repo-relative, '/') and a substring of the line, with why it is not a lake location. */
export interface LayoutAllow {
  file: string;
  contains: string;
  reason: string;
}

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') yield* sources(p);
    } else if (/\.(?:ts|mjs)$/.test(e.name)) yield p;
  }
}

/** Hits of the rule in `roots` (under `repo`), src/lake/ excepted, minus the allowed ones. */
export function scanLayout(repo: string, roots: readonly string[], allow: readonly LayoutAllow[]): LayoutHit[] {
  const hits: LayoutHit[] = [];
  for (const root of roots) {
    for (const abs of sources(join(repo, root))) {
      const file = relative(repo, abs).split(sep).join('/');
      if (file.startsWith('src/lake/')) continue;
      readFileSync(abs, 'utf8').split('\n').forEach((text, i) => {
        const t = text.trim();
        if (t.startsWith('*') || t.startsWith('//') || t.startsWith('/*')) return;
        for (const { kind, re } of RULES) {
          if (!re.test(text)) continue;
          if (allow.some((a) => a.file === file && text.includes(a.contains))) continue;
          hits.push({ file, line: i + 1, kind, text: t.slice(0, 160) });
        }
      });
    }
  }
  return hits;
}
