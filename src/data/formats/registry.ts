import { ppError } from '../../errors.js';
import type { FormatReader } from './format.js';
import { amazon2014 } from './amazon2014.js';
import { amazon2018 } from './amazon2018.js';
import { lightgcn } from './lightgcn.js';
import { unisrec } from './unisrec.js';
import { movielens } from './movielens.js';
import { csv } from './csv.js';
import { parquet } from './parquet.js';

/** All input formats by name. Adding a format is one file plus one line here. */
export const FORMATS: ReadonlyMap<string, FormatReader> = new Map(
  [amazon2014, amazon2018, lightgcn, unisrec, movielens, csv, parquet].map((f) => [f.name, f]),
);

export function getFormat(name: string): FormatReader {
  const f = FORMATS.get(name);
  if (!f) throw ppError('PP_INGEST_UNKNOWN_FORMAT', `"${name}" (known: ${[...FORMATS.keys()].join(', ')})`);
  return f;
}
