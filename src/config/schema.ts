/**
 * PlotPointe's one configuration: every key with its meaning, type and default. Config files (JSON) and
 * CLI flags override the defaults, in that order; the result is validated and frozen (`load.ts`).
 * `plotpointe config show` prints the effective values; `plotpointe config docs` prints this table.
 */

export type KeySpec =
  | { type: 'string'; default: string; doc: string }
  | { type: 'enum'; choices: readonly string[]; default: string; doc: string }
  | { type: 'integer'; default: number; min?: number; max?: number; doc: string }
  | { type: 'number'; default: number; min?: number; max?: number; doc: string }
  | { type: 'boolean'; default: boolean; doc: string }
  | { type: 'numbers'; default: readonly number[]; doc: string };

export const CONFIG_SCHEMA = {
  'lake.dir': { type: 'string', default: './lake', doc: 'Folder of the data lake (raw/, staging/, artifacts/).' },
  'dataset.name': { type: 'string', default: 'demo', doc: 'Dataset name in the lake used by commands that take no --name.' },

  'demo.dir': { type: 'string', default: './lake/sources/demo', doc: 'Not used by `plotpointe demo` and `pipeline run`, which generate the catalog into <lake>/sources/<name> (a pipeline output).' },
  'demo.seed': { type: 'integer', default: 42, min: 0, doc: 'Seed of the demo catalog: the same seed gives the same bytes.' },
  'demo.users': { type: 'integer', default: 1500, min: 10, doc: 'Demo users.' },
  'demo.items': { type: 'integer', default: 2000, min: 10, doc: 'Demo items that receive interactions.' },
  'demo.catalog_items': { type: 'integer', default: 2000, min: 10, doc: 'Demo catalog size (≥ items; the rest are cold, never reviewed).' },
  'demo.images': { type: 'boolean', default: true, doc: 'Render a PNG per demo product.' },

  'ingest.memory_limit': { type: 'string', default: '2GB', doc: 'DuckDB memory limit during validation (spills to disk beyond it).' },
  'ingest.max_line_bytes': {
    type: 'integer',
    default: 16777216,
    min: 1024,
    doc: 'Longest input line (or CSV record) in bytes after decompression; a longer one is a line_too_long reject, skipped without being held in memory (default 16 MiB).',
  },
  'ingest.max_input_bytes': {
    type: 'integer',
    default: 0,
    min: 0,
    doc: 'Most bytes one input file may decompress to; more fails the ingest with PP_INGEST_TOO_LARGE and leaves nothing behind (0 = no cap).',
  },

  'split.name': { type: 'string', default: 'default', doc: 'Name of the split folder under staging/<name>/splits/.' },
  'split.strategy': {
    type: 'enum',
    choices: ['ratio', 'loo', 'temporal', 'given', 'cold-item'],
    default: 'ratio',
    doc: 'ratio: per-user random; loo: per-user leave-last-k; temporal: global cut-off; given: the source split; cold-item: items held out of training.',
  },
  'split.ratio': { type: 'numbers', default: [0.8, 0.1, 0.1], doc: 'train/valid/test shares for ratio (and for warm items in cold-item).' },
  'split.leave_k': { type: 'integer', default: 1, min: 1, doc: 'Interactions per user held out for test (and again for valid) by loo.' },
  'split.kcore': { type: 'integer', default: 0, min: 0, doc: 'Iterative k-core filter on users and items before splitting (0 = off).' },
  'split.valid_share': { type: 'number', default: 0.1, min: 0, max: 0.9, doc: "given: share of each user's train rows held out for validation when the source has none." },
  'split.cold_share': { type: 'number', default: 0.2, min: 0.01, max: 0.9, doc: 'cold-item: share of items held out of training.' },
  'split.seed': { type: 'integer', default: 42, min: 0, doc: 'Seed of every random choice in splitting.' },

  'embed.image.encoder': { type: 'string', default: 'bundled-ort', doc: 'Image encoder of `embed image`: bundled-ort[?size=128&layer=out_relu&threads=2] (npm-shipped MobileNetV2 on onnxruntime, offline, fast), bundled (the same weights on tfjs-wasm, 224 px, slow) or onnx:<path>[?size=224&mean=…&std=…&layout=nchw&output=features&threads=2].' },
  'embed.image.batch': { type: 'integer', default: 64, min: 1, max: 4096, doc: 'Images per encoder call (spread over the encoder threads in runs of at most 8).' },
  'embed.image.concurrency': { type: 'integer', default: 8, min: 1, max: 256, doc: 'Image files read / URLs downloaded at once.' },
  'embed.image.timeout_ms': { type: 'integer', default: 15000, min: 100, doc: 'Time limit of one image download attempt (connect, redirects, body).' },
  'embed.image.retries': { type: 'integer', default: 2, min: 0, max: 10, doc: 'Extra attempts of an image download after a 5xx, 429, timeout or reset.' },
  'embed.image.max_bytes': { type: 'integer', default: 20971520, min: 1024, doc: 'Largest image file or download accepted, bytes (larger ones mark the item missing).' },
  'embed.image.allow_private': { type: 'boolean', default: false, doc: 'Allow image URLs on loopback/private/link-local addresses (SSRF guard off: intranet catalogs only).' },

  'graph.k': { type: 'integer', default: 20, min: 1, max: 1000, doc: 'Neighbours per item of the item–item kNN graphs (`plotpointe graph knn`).' },
  'graph.symmetrize': {
    type: 'enum',
    choices: ['none', 'union', 'mutual'],
    default: 'none',
    doc: 'Item–item kNN graphs: none = directed kNN (k per row); union = A ∪ Aᵀ; mutual = A ∩ Aᵀ.',
  },
  'graph.recall_sample': { type: 'integer', default: 1000, min: 0, doc: 'Rows of an item–item kNN graph checked against exact search (0 = skip).' },

  'train.seed': { type: 'integer', default: 42, min: 0, doc: 'Seed of initialisation, sampling and dropout in training.' },
  'train.auto_candidates': {
    type: 'string',
    default: 'pop,itemknn,rp3beta,ease,gfcf,bspm,lightgcn',
    doc: 'Candidates of train --model auto: comma-separated model names, each optionally with params as name:key=value:key=value.',
  },
  'train.budget_min': { type: 'number', default: 0, min: 0, doc: 'Wall-clock budget for fitting, minutes (0 = none); the best checkpoint so far is kept.' },
  'train.valid_users': {
    type: 'integer',
    default: 0,
    min: 0,
    doc: 'Users sampled (seeded) from the valid part for the validation during fitting — the best epoch, early stopping, a closed-form model\'s λ (0 = every valid user); the final valid/test metrics always rank every user. At the reference size one full validation costs about as much as an epoch.',
  },
  'train.event_types': { type: 'string', default: 'click,purchase,rating', doc: '`train --since`: comma-separated serving event types whose (user, item) pairs are folded into the train part (valid/test pairs are never added).' },
  'tune.trials': { type: 'integer', default: 20, min: 1, max: 1000, doc: 'Trials of `plotpointe tune` (each a tracked train run, child of the search run).' },
  'tune.sampler': { type: 'enum', choices: ['tpe', 'random'], default: 'tpe', doc: '`plotpointe tune`: tpe (Parzen estimators of the good and bad trials, after 5 random ones) or random.' },
  'tune.budget_min': { type: 'number', default: 0, min: 0, doc: '`plotpointe tune`: wall-clock budget of the whole search, minutes (0 = none); each trial gets what is left over the trials left.' },
  'tune.prune': { type: 'boolean', default: true, doc: '`plotpointe tune`: stop a trial whose best valid NDCG@20 is below the median of earlier trials at the same epoch (median stopping).' },
  'ablate.seeds': { type: 'integer', default: 3, min: 1, max: 20, doc: 'Seeds per grid cell of `plotpointe ablate` (the table reports mean ± sd over them).' },
  'eval.ks': { type: 'numbers', default: [10, 20, 50], doc: 'Cut-offs K of the final evaluation (Recall@K, NDCG@K, …).' },

  'pipeline.jobs': { type: 'integer', default: 0, min: 0, doc: 'CPU budget of `pipeline run`: cpu-class steps running at once (0 = the number of cores).' },
  'pipeline.io_jobs': { type: 'integer', default: 2, min: 1, doc: 'io-class steps (ingest, split, index, publish) that may run beside the cpu steps.' },
  'pipeline.executor': { type: 'enum', choices: ['local', 'bullmq'], default: 'local', doc: 'local: steps as child processes here; bullmq: steps as BullMQ jobs for `plotpointe worker` processes.' },
  'pipeline.redis': { type: 'string', default: 'redis://127.0.0.1:6379', doc: 'Redis URL of the bullmq executor and of `plotpointe worker`.' },
  'pipeline.queue_prefix': { type: 'string', default: 'plotpointe', doc: 'BullMQ key prefix: runners and workers of one deployment share it.' },
  'pipeline.source': { type: 'enum', choices: ['demo', 'files'], default: 'demo', doc: 'demo: generate the demo catalog (demo.*) as the raw input; files: ingest pipeline.inputs.' },
  'pipeline.format': { type: 'string', default: 'amazon2018', doc: 'Input format of the ingest step when pipeline.source = files.' },
  'pipeline.inputs': { type: 'string', default: '', doc: 'Comma-separated input files/folders of the ingest step when pipeline.source = files.' },
  'pipeline.text_encoder': { type: 'string', default: 'use-lite-static', doc: 'Text encoder spec of the embed-text step: use-lite-static (USE lite distilled into a token table, fast), use-lite (the transformer), st:<folder>.' },
  'pipeline.model': { type: 'string', default: 'lightgcn', doc: 'Model the train step fits (see plotpointe models), or auto: the best of train.auto_candidates on valid NDCG@20 among models that export embeddings (served).' },
  'pipeline.model_params': { type: 'string', default: '', doc: 'Hyperparameters of the train step, comma-separated key=value (e.g. epochs=20,dim=64).' },
  'pipeline.shards': { type: 'integer', default: 0, min: 0, max: 256, doc: 'bullmq executor: run each step that has a sharded form (embed-text, embed-image, evaluate) as this many shard jobs and a merge job, one BullMQ flow; same outputs (0 = whole steps; the local executor ignores it).' },

  'analytics.top_items': { type: 'integer', default: 10, min: 1, max: 1000, doc: 'Items listed in the top-items table of `analytics report`.' },
  'analytics.max_rows': { type: 'integer', default: 10000, min: 1, doc: 'Most rows `analytics query` returns (the rest are cut, with `truncated: true`).' },
  'analytics.query_timeout_ms': { type: 'integer', default: 5000, min: 10, doc: 'Time limit of one POST /v1/analytics/query inside the server (user SQL): interrupted beyond it with 422 PP_ANALYTICS_TIMEOUT. Every analytics request is also interrupted when its client disconnects and when the server shuts down.' },
  'analytics.report_timeout_ms': { type: 'integer', default: 120000, min: 10, doc: 'Time limit of one analytics report, drift or tables request inside the server (their SQL is fixed, their cost grows with the logs; 200K requests: ~7 s): 422 PP_ANALYTICS_TIMEOUT beyond it.' },
  'analytics.memory_limit': { type: 'string', default: '1GB', doc: 'DuckDB memory limit of the server\'s analytics store (serving.duckdb: analytics queries and the log writer share it); a query needing more fails with 400 PP_ANALYTICS_SQL_ERROR.' },
  'drift.window': { type: 'string', default: '1h', doc: 'Bucket width of the drift summaries: <n>m, <n>h or <n>d.' },
  'drift.reference': { type: 'string', default: '24h', doc: 'Reference window of the score distribution: the first <duration> of the logs (buckets are compared with it).' },
  'drift.min_count': { type: 'integer', default: 20, min: 1, doc: 'A metric computed on fewer samples than this in a bucket gets status na instead of ok/warn/alert.' },
  'drift.psi_bins': { type: 'integer', default: 10, min: 2, max: 100, doc: 'Quantile bins of the reference scores used by the PSI.' },
  'drift.unknown_user.warn': { type: 'number', default: 0.05, min: 0, max: 1, doc: 'Share of requests whose user is not in the trained split: warn at ≥ this.' },
  'drift.unknown_user.alert': { type: 'number', default: 0.2, min: 0, max: 1, doc: 'Share of requests whose user is not in the trained split: alert at ≥ this.' },
  'drift.unknown_item.warn': { type: 'number', default: 0.05, min: 0, max: 1, doc: 'Share of events on items without training interactions: warn at ≥ this.' },
  'drift.unknown_item.alert': { type: 'number', default: 0.2, min: 0, max: 1, doc: 'Share of events on items without training interactions: alert at ≥ this.' },
  'drift.not_found.warn': { type: 'number', default: 0.02, min: 0, max: 1, doc: 'Share of requests answered 404 (unknown user or item): warn at ≥ this.' },
  'drift.not_found.alert': { type: 'number', default: 0.1, min: 0, max: 1, doc: 'Share of requests answered 404: alert at ≥ this.' },
  'drift.score_psi.warn': { type: 'number', default: 0.1, min: 0, doc: 'PSI of served scores vs the reference window: warn at ≥ this (0.1 = the usual "some shift").' },
  'drift.score_psi.alert': { type: 'number', default: 0.25, min: 0, doc: 'PSI of served scores vs the reference window: alert at ≥ this (0.25 = the usual "major shift").' },
  'drift.embedding_gap.warn': { type: 'number', default: 0.05, min: 0, max: 2, doc: 'Mean cosine to the catalog centroid of trained items minus that of new items: warn at ≥ this.' },
  'drift.embedding_gap.alert': { type: 'number', default: 0.15, min: 0, max: 2, doc: 'Mean cosine to the catalog centroid of trained items minus that of new items: alert at ≥ this.' },

  'index.connectivity': { type: 'integer', default: 16, min: 2, max: 128, doc: 'Serving indexes: HNSW M (edges per node per layer).' },
  'index.expansion_add': { type: 'integer', default: 128, min: 8, max: 2048, doc: 'Serving indexes: HNSW efConstruction.' },
  'index.expansion_search': { type: 'integer', default: 32, min: 8, max: 2048, doc: 'Serving indexes: HNSW ef at query time (searches use max(ef, k)). 32: recall@10 0.983 on 500K × 128 clustered vectors with M 16 / efC 128 (24: 0.972, 64: 0.997; npm run bench:serve).' },
  'index.quantization': { type: 'enum', choices: ['f32', 'f16'], default: 'f16', doc: 'Serving indexes: vector precision inside the usearch indexes. f16: half the memory and ~2× faster queries at the same recall (100K × 128, M 16 / efC 128, ef 32: p50 0.083 ms at recall@10 0.997 vs f32 0.194 ms at 0.998; npm run bench:serve).' },
  'index.similar_k': { type: 'integer', default: 50, min: 0, max: 1000, doc: 'Serving bundle: each item\'s top-K most similar items per modality, precomputed at index build (graph: in a cos index over the normalised item embeddings; scores: exact cosines), so GET /v1/items/{id}/similar with k ≤ K is a table lookup (larger k searches the index). 0 = no tables. 500K items: 200 MB per modality at K 50.' },

  'serve.host': { type: 'string', default: '127.0.0.1', doc: 'Address `plotpointe serve` listens on.' },
  'serve.port': { type: 'integer', default: 8080, min: 0, max: 65535, doc: 'Port of `plotpointe serve` (0 = any free port).' },
  'serve.workers': { type: 'integer', default: 1, min: 0, max: 64, doc: 'API processes of `plotpointe serve`: 1 = one process; N ≥ 2 = a cluster of N workers sharing the port (each its own event loop and copy of the models; a primary holds the request log, coordinates reloads and aggregates metrics); 0 = one per CPU core. One Node process answers on one core: on 2 cores, 2 workers served 1.8× the recommendations per second of one (bench:serve, README Serving).' },
  'serve.admin_token': { type: 'string', default: '', doc: 'Bearer token of POST /v1/admin/reload and POST /v1/analytics/query (env PLOTPOINTE_ADMIN_TOKEN wins; empty = reload always 401, SQL queries off: 403).' },
  'serve.variants': { type: 'string', default: '', doc: 'A/B variants: `name=RUN:weight,…` (e.g. `control=RUN_A:90,treatment=RUN_B:10`); users are assigned by a hash of their id. Empty = one variant "default" serving --run or the blessed run.' },
  'serve.max_k': { type: 'integer', default: 100, min: 1, max: 1000, doc: 'Largest k a request may ask for.' },
  'serve.body_limit': { type: 'integer', default: 1048576, min: 1024, doc: 'Largest request body in bytes (413 beyond it).' },
  'serve.explain_history': { type: 'integer', default: 200, min: 0, doc: "Most history items a recommendation's explanation compares against (0 = no explanations)." },
  'serve.log_flush_rows': { type: 'integer', default: 500, min: 1, doc: 'The request log is written to <lake>/logs/serving.duckdb every this many rows …' },
  'serve.log_flush_ms': { type: 'integer', default: 1000, min: 10, doc: '… or every this many milliseconds, and at shutdown.' },
  'serve.request_log': { type: 'boolean', default: true, doc: 'Write one row per response of the recommendation routes to the request log (<lake>/logs/serving.duckdb: analytics report, drift, CTR). false: no rows (events are still stored); measures what the log costs (bench:serve --server-args).' },
  'serve.log_ipc_rows': { type: 'integer', default: 256, min: 1, max: 100000, doc: '`serve --workers N`: most request-log rows per worker→primary message. A worker sends the rows of the responses of one event-loop turn as one message, before those responses are written (a killed worker loses no answered row).' },
  'serve.request_log_level': { type: 'enum', choices: ['off', 'trace', 'debug', 'info'], default: 'debug', doc: 'Pino level of the one JSON line `plotpointe serve` writes per request (method, url, route, status, ms; errors are logged regardless). debug: not written at the default --log-level info — at info a line per request cost ~7 % of the CPU of a similar/recommendations request (bench:serve). Every recommendation request is still in the DuckDB request log.' },
  'serve.image_max_bytes': { type: 'integer', default: 10485760, min: 1024, doc: 'Cold start: size cap of a fetched or uploaded image.' },
  'serve.image_timeout_ms': { type: 'integer', default: 10000, min: 100, doc: 'Cold start: timeout of an image fetch.' },
  'serve.allowed_hosts': { type: 'string', default: '', doc: 'Comma-separated extra host names the server answers to: a request whose Host header (or Origin, when sent) names another host gets 403 PP_SERVE_FORBIDDEN (DNS rebinding). Always accepted: localhost, 127.0.0.1, [::1] and serve.host. `*` = any host (behind a proxy that checks it).' },
  'serve.request_timeout_ms': { type: 'integer', default: 30000, min: 100, doc: 'Time a client has to send a whole request (headers and body); a connection whose request is not complete by then gets 408 and is closed (checked every second).' },
  'serve.headers_timeout_ms': { type: 'integer', default: 10000, min: 100, doc: 'Time a client has to send the request headers (408 and closed after it; at most serve.request_timeout_ms).' },
  'serve.event_value_max': { type: 'number', default: 1e9, min: 0, doc: 'POST /v1/events: largest |value| (a rating or an amount) accepted; beyond it, or not finite, 400.' },
  'serve.event_max_age_days': { type: 'integer', default: 3650, min: 0, doc: 'POST /v1/events: an event `ts` older than this many days is refused (400).' },
  'serve.event_max_future_s': { type: 'integer', default: 300, min: 0, doc: 'POST /v1/events: an event `ts` more than this many seconds ahead of the server clock is refused (400; e.g. 9999-12-31).' },
  'serve.feedback.enabled': { type: 'boolean', default: true, doc: 'Live feedback: POST /v1/events changes the next recommendations of that user or session (consumed items excluded, recent events folded into the user vector); false = the model alone.' },
  'serve.feedback.consume_types': { type: 'string', default: 'purchase,rating', doc: 'Comma-separated event types that consume an item: it leaves that user\'s (or session\'s) recommendations from the next request on, on every worker and after a restart.' },
  'serve.feedback.blend': { type: 'number', default: 0.25, min: 0, max: 1, doc: 'Weight α of the recent-event fold-in in the serving user vector: u = ‖u‖·((1−α)·u/‖u‖ + α·f), f = the unit fold-in of the recent events (src/models/fold-in.ts). Users the model never saw and anonymous sessions get f alone. 0.25: the best mean valid NDCG@20 gain over the demo and amazon-scientific replays of npm run bench:replay (0 / 0.25 / 0.5 / 0.75; README Live feedback).' },
  'serve.feedback.weight_impression': { type: 'number', default: 0, min: 0, doc: 'Fold-in weight of an impression event.' },
  'serve.feedback.weight_click': { type: 'number', default: 1, min: 0, doc: 'Fold-in weight of a click (a view of the item).' },
  'serve.feedback.weight_purchase': { type: 'number', default: 1, min: 0, doc: 'Fold-in weight of a purchase.' },
  'serve.feedback.weight_rating': { type: 'number', default: 1, min: 0, doc: 'Fold-in weight of a rating event at or above serve.feedback.min_rating (0 below it: a bad rating consumes the item but pulls nothing towards it).' },
  'serve.feedback.min_rating': { type: 'number', default: 3, doc: 'Ratings below this get fold-in weight 0.' },
  'serve.feedback.half_life_hours': { type: 'number', default: 24, min: 0.001, doc: 'Time decay of the fold-in: an event\'s weight halves every this many hours of age (weight × 2^(−age/half-life)).' },
  'serve.feedback.max_events': { type: 'integer', default: 50, min: 1, max: 10000, doc: 'Most recent events per user or session kept for the fold-in (older ones drop out).' },
  'serve.feedback.max_consumed': { type: 'integer', default: 1000, min: 1, max: 100000, doc: 'Most consumed items per user or session kept for exclusion.' },
  'serve.feedback.max_keys': { type: 'integer', default: 300000, min: 1, doc: 'Users and sessions held in memory per API process (least recently used dropped; a dropped one is read back from the event log on its next request).' },
  'serve.feedback.load_events': { type: 'integer', default: 1000000, min: 0, doc: 'Most recent stored events read at start (restart durability). Keys with older events only are read from the event log on their first request.' },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type ValueOf<S> = S extends { type: 'string' | 'enum' }
  ? string
  : S extends { type: 'integer' | 'number' }
    ? number
    : S extends { type: 'boolean' }
      ? boolean
      : S extends { type: 'numbers' }
        ? readonly number[]
        : never;

export type Config = { readonly [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]> };
