/**
 * The schema of `<lake>/runs.duckdb`, as an ordered list of migrations. `schema_version` holds one row per
 * applied migration; opening a store applies the missing ones in order, each in its own transaction, so a
 * file written by an older plotpointe is upgraded in place and a newer file is refused (not downgraded).
 *
 * To change the schema, append a migration; never edit a released one.
 *
 * Tables (version 1):
 *   runs          one row per train/eval/ablate run: identity, provenance, status, final metrics as JSON
 *   run_epochs    one row per (run, epoch): loss, metrics JSON, seconds, learning rate
 *   run_metrics   final metrics in long form (run, part, metric, value) with the run's dataset, split and model
 *                 copied in, for plain SQL: SELECT model, value FROM run_metrics WHERE metric = 'ndcg@20'
 *   blessings     the history of blessed runs; the newest row per (dataset, split, scope) is the blessed one
 *
 * Version 2: the status `interrupted` (a run whose process died without finishing it), and the run's owner
 * (owner_pid, owner_token, owner_space, owner_start; its host is `hostname`) with its heartbeat_at — see
 * run-owner.ts. DuckDB cannot alter a CHECK constraint, so `runs` is rebuilt: renamed, recreated with the
 * wider check and the new columns, its rows copied over, the old table dropped (one transaction).
 *
 * Version 3: the kind `search` — the parent run of a hyperparameter search (`plotpointe tune`) or of the
 * candidates of `train --model auto`; its trials are train runs with it as parent (runs rebuilt as in 2).
 */

export const SCHEMA_VERSION = 3;

/** The columns of `runs` in version 1, copied over by migration 2. */
const V1_RUN_COLUMNS =
  'id, dataset, split, split_hash, model, kind, status, config, config_hash, git_commit, package_version, hostname, node_version, ' +
  'parent_run_id, artifacts_dir, started_at, finished_at, wall_seconds, peak_rss_mb, best_epoch, valid_metrics, test_metrics, artifacts, extra, error';

/** The columns of `runs` in version 2, copied over by migration 3. */
const V2_RUN_COLUMNS = `${V1_RUN_COLUMNS}, owner_pid, owner_token, owner_space, owner_start, heartbeat_at`;

export const SCHEMA_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  applied_at TIMESTAMP NOT NULL,
  package_version VARCHAR
)`;

/** MIGRATIONS[i] takes the schema from version i to version i + 1. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE runs (
      id VARCHAR PRIMARY KEY,
      dataset VARCHAR NOT NULL,
      split VARCHAR NOT NULL,
      split_hash VARCHAR,
      model VARCHAR NOT NULL,
      kind VARCHAR NOT NULL CHECK (kind IN ('train', 'eval', 'ablate')),
      status VARCHAR NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
      config JSON NOT NULL,
      config_hash VARCHAR NOT NULL,
      git_commit VARCHAR,
      package_version VARCHAR,
      hostname VARCHAR,
      node_version VARCHAR,
      parent_run_id VARCHAR,
      artifacts_dir VARCHAR,
      started_at TIMESTAMP NOT NULL,
      finished_at TIMESTAMP,
      wall_seconds DOUBLE,
      peak_rss_mb DOUBLE,
      best_epoch INTEGER,
      valid_metrics JSON,
      test_metrics JSON,
      artifacts JSON,
      extra JSON,
      error VARCHAR
    )`,
    `CREATE TABLE run_epochs (
      run_id VARCHAR NOT NULL,
      epoch INTEGER NOT NULL,
      loss DOUBLE,
      metrics JSON NOT NULL,
      seconds DOUBLE,
      lr DOUBLE,
      logged_at TIMESTAMP NOT NULL,
      PRIMARY KEY (run_id, epoch)
    )`,
    `CREATE TABLE run_metrics (
      run_id VARCHAR NOT NULL,
      dataset VARCHAR NOT NULL,
      split VARCHAR NOT NULL,
      model VARCHAR NOT NULL,
      part VARCHAR NOT NULL CHECK (part IN ('valid', 'test')),
      metric VARCHAR NOT NULL,
      value DOUBLE,
      PRIMARY KEY (run_id, part, metric)
    )`,
    `CREATE TABLE blessings (
      seq INTEGER PRIMARY KEY,
      dataset VARCHAR NOT NULL,
      split VARCHAR NOT NULL,
      scope VARCHAR NOT NULL,
      run_id VARCHAR NOT NULL,
      previous_run_id VARCHAR,
      blessed_at TIMESTAMP NOT NULL,
      note VARCHAR
    )`,
  ],
  [
    `ALTER TABLE runs RENAME TO runs_v1`,
    `CREATE TABLE runs (
      id VARCHAR PRIMARY KEY,
      dataset VARCHAR NOT NULL,
      split VARCHAR NOT NULL,
      split_hash VARCHAR,
      model VARCHAR NOT NULL,
      kind VARCHAR NOT NULL CHECK (kind IN ('train', 'eval', 'ablate')),
      status VARCHAR NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
      config JSON NOT NULL,
      config_hash VARCHAR NOT NULL,
      git_commit VARCHAR,
      package_version VARCHAR,
      hostname VARCHAR,
      node_version VARCHAR,
      parent_run_id VARCHAR,
      artifacts_dir VARCHAR,
      started_at TIMESTAMP NOT NULL,
      finished_at TIMESTAMP,
      wall_seconds DOUBLE,
      peak_rss_mb DOUBLE,
      best_epoch INTEGER,
      valid_metrics JSON,
      test_metrics JSON,
      artifacts JSON,
      extra JSON,
      error VARCHAR,
      owner_pid INTEGER,
      owner_token VARCHAR,
      owner_space VARCHAR,
      owner_start VARCHAR,
      heartbeat_at TIMESTAMP
    )`,
    `INSERT INTO runs (${V1_RUN_COLUMNS}) SELECT ${V1_RUN_COLUMNS} FROM runs_v1`,
    `DROP TABLE runs_v1`,
  ],
  [
    `ALTER TABLE runs RENAME TO runs_v2`,
    `CREATE TABLE runs (
      id VARCHAR PRIMARY KEY,
      dataset VARCHAR NOT NULL,
      split VARCHAR NOT NULL,
      split_hash VARCHAR,
      model VARCHAR NOT NULL,
      kind VARCHAR NOT NULL CHECK (kind IN ('train', 'eval', 'ablate', 'search')),
      status VARCHAR NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
      config JSON NOT NULL,
      config_hash VARCHAR NOT NULL,
      git_commit VARCHAR,
      package_version VARCHAR,
      hostname VARCHAR,
      node_version VARCHAR,
      parent_run_id VARCHAR,
      artifacts_dir VARCHAR,
      started_at TIMESTAMP NOT NULL,
      finished_at TIMESTAMP,
      wall_seconds DOUBLE,
      peak_rss_mb DOUBLE,
      best_epoch INTEGER,
      valid_metrics JSON,
      test_metrics JSON,
      artifacts JSON,
      extra JSON,
      error VARCHAR,
      owner_pid INTEGER,
      owner_token VARCHAR,
      owner_space VARCHAR,
      owner_start VARCHAR,
      heartbeat_at TIMESTAMP
    )`,
    `INSERT INTO runs (${V2_RUN_COLUMNS}) SELECT ${V2_RUN_COLUMNS} FROM runs_v2`,
    `DROP TABLE runs_v2`,
  ],
];
