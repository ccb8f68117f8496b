/**
 * The error registry: every failure a user can meet has a stable code, a one-line message, an exit status and
 * an HTTP status.
 * Modelled on Fastify's lib/errors.js. Commands throw `PlotPointeError`; the CLI prints
 * `error PP_CODE: message` on one line (the stack only with --debug) and exits with the registered status.
 */

export interface ErrorSpec {
  /** What went wrong, in words a user understands. */
  readonly message: string;
  /** Process exit status used by the CLI. */
  readonly exit: number;
  /** HTTP status when the error reaches an API client (every route maps errors through this; 5xx hide the message). */
  readonly http: number;
}

export const ERRORS = {
  PP_USAGE: { message: 'invalid command line', exit: 2, http: 400 },
  PP_CONFIG_INVALID: { message: 'invalid configuration', exit: 2, http: 400 },
  PP_CONFIG_UNREADABLE: { message: 'cannot read configuration file', exit: 2, http: 500 },
  PP_ANALYTICS_DRIFT: { message: 'drift at or above the --fail-on status', exit: 1, http: 409 },
  PP_ANALYTICS_INVALID: { message: 'invalid analytics settings', exit: 2, http: 400 },
  PP_ANALYTICS_LOGS_LOCKED: { message: 'the serving logs are held by the running server; pass --server URL to query through it', exit: 75, http: 503 },
  PP_ANALYTICS_SERVER: { message: 'the analytics request to the server failed', exit: 4, http: 502 },
  PP_ANALYTICS_SQL_ERROR: { message: 'the analytics query failed', exit: 2, http: 400 },
  PP_ANALYTICS_SQL_REJECTED: { message: 'only read-only SQL is accepted (SELECT, WITH, DESCRIBE, SHOW, PRAGMA table_info)', exit: 2, http: 400 },
  PP_ANALYTICS_TIMEOUT: { message: 'the analytics request ran over its time limit (analytics.query_timeout_ms / report_timeout_ms) and was interrupted', exit: 2, http: 422 },
  PP_ANALYTICS_UNAVAILABLE: { message: 'analytics over the serving logs is not available here', exit: 3, http: 503 },
  PP_INPUT_NOT_FOUND: { message: 'input not found', exit: 3, http: 404 },
  PP_INPUT_UNREADABLE: { message: 'input cannot be read', exit: 3, http: 422 },
  PP_INGEST_BAD_GZIP: { message: 'corrupt or truncated gzip input', exit: 3, http: 422 },
  PP_INGEST_UNKNOWN_FORMAT: { message: 'unknown input format', exit: 2, http: 400 },
  PP_INGEST_MISSING_INPUT: { message: 'a required input file is missing for this format', exit: 3, http: 422 },
  PP_INGEST_BAD_HEADER: { message: 'input header does not match the format', exit: 3, http: 422 },
  PP_INGEST_NO_RECORDS: { message: 'no valid records were read', exit: 3, http: 422 },
  PP_INGEST_TOO_LARGE: { message: 'an input decompresses to more bytes than ingest.max_input_bytes allows', exit: 3, http: 413 },
  PP_DISK_FULL: { message: 'no space left on the device (or the disk quota is used up) while writing; free space and run again', exit: 74, http: 507 },
  PP_DOWNLOAD_FAILED: { message: 'download failed', exit: 4, http: 502 },
  PP_DOWNLOAD_CHECKSUM: { message: 'downloaded file does not match its expected size or checksum', exit: 4, http: 502 },
  PP_FETCH_UNKNOWN_DATASET: { message: 'unknown dataset for fetch', exit: 2, http: 400 },
  PP_FETCH_BLOCKED: { message: 'the URL is not allowed (scheme, or a loopback/private/link-local address)', exit: 4, http: 400 },
  PP_FETCH_TOO_LARGE: { message: 'the response is larger than the size cap', exit: 4, http: 413 },
  PP_FETCH_TIMEOUT: { message: 'the request timed out', exit: 4, http: 422 },
  PP_FETCH_FAILED: { message: 'the request failed', exit: 4, http: 422 },
  PP_LAKE_NOT_FOUND: { message: 'lake dataset not found', exit: 3, http: 404 },
  PP_SPLIT_INVALID: { message: 'invalid split settings', exit: 2, http: 400 },
  PP_SPLIT_EMPTY: { message: 'the split leaves no data', exit: 3, http: 422 },
  PP_DEMO_INVALID: { message: 'invalid demo catalog settings', exit: 2, http: 400 },
  PP_EVAL_INVALID: { message: 'invalid evaluation settings or inputs', exit: 2, http: 400 },
  PP_PIPELINE_INVALID: { message: 'invalid pipeline definition or settings', exit: 2, http: 400 },
  PP_PIPELINE_LOCKED: { message: 'another pipeline run holds this lake', exit: 75, http: 409 },
  PP_PIPELINE_OUTPUT_MISSING: { message: 'a pipeline step finished without writing its declared outputs', exit: 6, http: 500 },
  PP_PIPELINE_QUEUE: { message: 'the job queue (Redis / BullMQ) is unreachable or failed', exit: 4, http: 503 },
  PP_PIPELINE_STEP_FAILED: { message: 'a pipeline step failed', exit: 6, http: 500 },
  PP_PIPELINE_STORAGE: { message: 'artifact storage failed', exit: 3, http: 500 },
  PP_RUN_NOT_FOUND: { message: 'run not found', exit: 3, http: 404 },
  PP_RUN_NOT_BLESSED: { message: 'no blessed run to compare against', exit: 3, http: 409 },
  PP_RUN_INVALID: { message: 'invalid run record or run operation', exit: 2, http: 409 },
  PP_RUN_STORE_LOCKED: { message: 'the run store is locked by another process', exit: 75, http: 503 },
  PP_GATE_FAILED: { message: 'the run regresses against the blessed run', exit: 1, http: 409 },
  PP_MODEL_UNKNOWN: { message: 'unknown model', exit: 2, http: 400 },
  PP_MODEL_PARAM: { message: 'invalid model parameter', exit: 2, http: 400 },
  PP_MODEL_LOAD: { message: 'cannot load the saved model', exit: 3, http: 500 },
  PP_TRAIN_DIVERGED: { message: 'training diverged (the loss is not finite)', exit: 5, http: 500 },
  PP_INDEX_INVALID: { message: 'invalid ANN index settings or inputs', exit: 2, http: 400 },
  PP_INDEX_LOAD: { message: 'cannot load the saved ANN index', exit: 3, http: 500 },
  PP_INDEX_NO_EMBEDDINGS: { message: 'the model exports no user/item embeddings to serve (embedding models serve: mf, lightgcn, gat, mmgat, ease with variant lowrank)', exit: 2, http: 400 },
  PP_TRAIN_EVENTS_LOCKED: { message: 'the serving event log is held by the running server: stop it (or train from a copy of <lake>/logs/serving.duckdb) to fold its events into train', exit: 75, http: 503 },
  PP_SERVE_BUNDLE: { message: 'the serving bundle is missing or inconsistent (run plotpointe index build)', exit: 3, http: 409 },
  PP_SERVE_INVALID: { message: 'invalid serving settings', exit: 2, http: 400 },
  PP_SERVE_BAD_REQUEST: { message: 'invalid request', exit: 2, http: 400 },
  PP_SERVE_USER_UNKNOWN: { message: 'unknown user', exit: 3, http: 404 },
  PP_SERVE_ITEM_UNKNOWN: { message: 'unknown item', exit: 3, http: 404 },
  PP_SERVE_MODALITY_MISSING: { message: 'no index for this modality in the serving bundle', exit: 3, http: 404 },
  PP_SERVE_UNAUTHORIZED: { message: 'missing or wrong bearer token', exit: 2, http: 401 },
  PP_SERVE_BODY_TOO_LARGE: { message: 'request body over the size limit', exit: 2, http: 413 },
  PP_SERVE_NOT_FOUND: { message: 'no such route', exit: 2, http: 404 },
  PP_SERVE_FORBIDDEN: { message: 'refused: the Host or Origin is not one of the server\'s names (serve.allowed_hosts), or the route is off in this configuration', exit: 2, http: 403 },
  PP_SERVE_UNAVAILABLE: { message: 'the service is not ready or shutting down', exit: 75, http: 503 },
  PP_SERVE_COLD_START: { message: 'cold start is not possible with this bundle (no content encoder or index)', exit: 3, http: 422 },
  PP_GRAPH_INVALID: { message: 'invalid graph settings or inputs', exit: 2, http: 400 },
  PP_GRAPH_LOAD: { message: 'cannot load the saved graph', exit: 3, http: 500 },
  PP_EMBED_INVALID: { message: 'invalid embedding settings', exit: 2, http: 400 },
  PP_EMBED_ENCODER_UNKNOWN: { message: 'unknown encoder', exit: 2, http: 422 },
  PP_EMBED_MODEL_LOAD: { message: 'cannot load the encoder model', exit: 3, http: 503 },
  PP_EMBED_STORE: { message: 'embedding file is missing, corrupt or inconsistent', exit: 3, http: 500 },
  PP_EMBED_IMAGE_DECODE: { message: 'the image cannot be decoded (not a supported JPEG/PNG/WebP/GIF/TIFF, corrupt, or too many pixels)', exit: 3, http: 422 },
  PP_INTERNAL: { message: 'internal error', exit: 70, http: 500 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class PlotPointeError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly httpStatus: number;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec = ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options);
    this.name = 'PlotPointeError';
    this.code = code;
    this.exitCode = spec.exit;
    this.httpStatus = spec.http;
  }
}

/** Shorthand used throughout the code base: `throw ppError('PP_INPUT_NOT_FOUND', path)`. */
export function ppError(code: ErrorCode, detail?: string, cause?: unknown): PlotPointeError {
  return new PlotPointeError(code, detail, cause === undefined ? undefined : { cause });
}

/** An error as it crosses a worker-thread boundary (structured clone keeps no class): code, message, detail. */
export interface WireError {
  code?: string;
  message: string;
  detail?: string;
}

/** `err` → a WireError (a PlotPointeError keeps its code and its detail without the code's message prefix). */
export function errorToWire(err: unknown): WireError {
  if (isPlotPointeError(err)) {
    const prefix = `${ERRORS[err.code].message}: `;
    return { code: err.code, message: err.message, detail: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : undefined };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

/** A WireError → the PlotPointeError it was (same code and message), or a plain Error. */
export function errorFromWire(e: WireError): Error {
  if (e.code && Object.hasOwn(ERRORS, e.code)) return ppError(e.code as ErrorCode, e.detail);
  return new Error(e.message);
}

/** True for "no space left on device" / "disk quota exceeded", as a Node errno or in a native library's message (DuckDB). */
export function isDiskFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
  return typeof e.message === 'string' && /no space left on device|disk quota exceeded|ENOSPC/i.test(e.message);
}

/** `err` as PP_DISK_FULL (with `where` and the original message) when it is a disk-full error, else unchanged. */
export function diskFullOr(err: unknown, where: string): unknown {
  if (isPlotPointeError(err) || !isDiskFull(err)) return err;
  return ppError('PP_DISK_FULL', `${where}: ${(err as Error).message}`, err);
}

export function isPlotPointeError(err: unknown, code?: ErrorCode): err is PlotPointeError {
  return err instanceof PlotPointeError && (code === undefined || err.code === code);
}
