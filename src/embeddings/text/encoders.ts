import { ppError } from '../../errors.js';
import type { TextEncoderModel } from '../encoder.js';
import { UseLiteEncoder } from './use-lite.js';
import { UseLiteStaticEncoder } from './use-lite-static.js';
import { SentenceTransformersEncoder } from './sentence-transformers.js';

/**
 * The text encoders by spec: `use-lite-static` (the default: USE lite distilled into a token table, thousands of
 * items/s), `use-lite` (the transformer itself), or `st:<folder>` for a local sentence-transformers ONNX export.
 */
export const TEXT_ENCODER_SPECS = ['use-lite-static', 'use-lite', 'st:<folder>'] as const;
export const DEFAULT_TEXT_ENCODER = 'use-lite-static';

export type TextEncoderSpec = { kind: 'use-lite' } | { kind: 'use-lite-static' } | { kind: 'st'; folder: string };

/** Checks an encoder spec without loading anything; PP_EMBED_ENCODER_UNKNOWN for an unknown one. */
export function checkTextEncoderSpec(spec: string): TextEncoderSpec {
  if (spec === 'use-lite') return { kind: 'use-lite' };
  if (spec === 'use-lite-static') return { kind: 'use-lite-static' };
  if (spec.startsWith('st:')) {
    const folder = spec.slice(3);
    if (!folder) throw ppError('PP_EMBED_ENCODER_UNKNOWN', 'st: needs a model folder, e.g. st:./models/all-MiniLM-L6-v2');
    return { kind: 'st', folder };
  }
  throw ppError('PP_EMBED_ENCODER_UNKNOWN', `"${spec}" (known: ${TEXT_ENCODER_SPECS.join(', ')})`);
}

/** Loads the text encoder named by `spec`; PP_EMBED_ENCODER_UNKNOWN for an unknown spec, PP_EMBED_MODEL_LOAD when loading fails. */
export async function createTextEncoder(spec: string): Promise<TextEncoderModel> {
  const s = checkTextEncoderSpec(spec);
  if (s.kind === 'use-lite') return UseLiteEncoder.load();
  if (s.kind === 'use-lite-static') return UseLiteStaticEncoder.load();
  return SentenceTransformersEncoder.load(s.folder);
}
