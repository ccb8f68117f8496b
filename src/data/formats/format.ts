import type { RecordSink } from '../records.js';
import type { InputLimits } from '../io/line-guard.js';

/** One input file as a reader sees it, after downloads and the copy into `<lake>/raw/<name>/`. */
export interface InputFile {
  /** Path of the copy in the raw folder: read this one. */
  path: string;
  /** File name (basename) as given by the user; readers choose roles by it (e.g. `meta_*.json.gz`). */
  name: string;
  /** Where the user's file was (absolute local path, or the URL it was downloaded from). Relative
   * references inside the file (e.g. demo image paths) resolve against this location's folder. */
  origin: string;
}

/** What validation checks for a format (see `validate.ts`). */
export interface FormatRules {
  /** Allowed explicit rating range; a `null` rating is always allowed (implicit feedback). */
  rating: { min: number; max: number } | null;
  /** Every interaction must carry a timestamp. */
  requireTimestamp: boolean;
  /** Interactions must name an item present in the staged catalog (the format has item metadata). */
  catalogIsAuthoritative: boolean;
  /** The source fixes the train/valid/test split (interactions carry `split`). */
  givenSplit: boolean;
  /**
   * Repeated consumption is real: the source is a sequence of events (e.g. UniSRec's leave-one-out sequences,
   * where a user buys the same item again), so a repeated (user, item) pair is not a duplicate. Default false:
   * a repeated pair is a `duplicate` reject and the first is kept.
   */
  repeatsAllowed?: boolean;
}

export interface ReadContext {
  sink: RecordSink;
  /** Reader options from `--opt key=value` (e.g. csv column mappings). */
  options: Readonly<Record<string, string>>;
  /** Report progress in input bytes read (of `totalBytes` across all inputs). */
  onBytes(bytesSoFarInThisFile: number): void;
  /** Line and input size caps (`ingest.max_line_bytes`, `ingest.max_input_bytes`); DEFAULT_LIMITS when absent. */
  limits?: InputLimits;
}

export interface FormatReader {
  readonly name: string;
  /** One line for `plotpointe data formats` and the README. */
  readonly description: string;
  /**
   * The format's own file names: which files of an input folder it reads (the others are skipped, not even
   * copied to raw). Files named one by one are always taken. Absent: every file.
   */
  accepts?(name: string): boolean;
  /** Documented reader options (`--opt key=value`), name → meaning and default. */
  readonly options?: Readonly<Record<string, string>>;
  /** Validation rules; may depend on options and inputs (e.g. amazon without a meta file has no catalog). */
  rules(options: Readonly<Record<string, string>>, inputs: readonly InputFile[]): FormatRules;
  /**
   * Parses the inputs into the sink. Throws PP_INGEST_MISSING_INPUT when a required file is absent,
   * PP_INGEST_BAD_HEADER when a header does not fit; a bad line is a reject, never a throw.
   * Files are read in the order given, except where the format needs the catalog first.
   */
  read(inputs: readonly InputFile[], ctx: ReadContext): Promise<void>;
}
