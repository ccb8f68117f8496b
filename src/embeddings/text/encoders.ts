import { ppError } from '../../errors.js';
import type { TextEncoderModel } from '../encoder.js';
import { UseLiteEncoder } from './use-lite.js';
import { SentenceTransformersEncoder } from './sentence-transformers.js';

/** The text encoders by spec: `use-lite`, or `st:<folder>` for a local sentence-transformers ONNX export. */
export const TEXT_ENCODER_SPECS = ['use-lite', 'st:<folder>'] as const;

/** Checks an encoder spec without loading anything; PP_EMBED_ENCODER_UNKNOWN for an unknown one. */
export function checkTextEncoderSpec(spec: string): { kind: 'use-lite' } | { kind: 'st'; folder: string } {
  if (spec === 'use-lite') return { kind: 'use-lite' };
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
  return s.kind === 'use-lite' ? UseLiteEncoder.load() : SentenceTransformersEncoder.load(s.folder);
}
