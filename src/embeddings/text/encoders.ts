import { ppError } from '../../errors.js';
import type { TextEncoderModel } from '../encoder.js';
import { UseLiteEncoder } from './use-lite.js';
import { SentenceTransformersEncoder } from './sentence-transformers.js';

/** The text encoders by spec: `use-lite`, or `st:<folder>` for a local sentence-transformers ONNX export. */
export const TEXT_ENCODER_SPECS = ['use-lite', 'st:<folder>'] as const;

/** Loads the text encoder named by `spec`; PP_EMBED_ENCODER_UNKNOWN for anything else. */
export async function createTextEncoder(spec: string): Promise<TextEncoderModel> {
  if (spec === 'use-lite') return UseLiteEncoder.load();
  if (spec.startsWith('st:')) {
    const folder = spec.slice(3);
    if (!folder) throw ppError('PP_EMBED_ENCODER_UNKNOWN', 'st: needs a model folder, e.g. st:./models/all-MiniLM-L6-v2');
    return SentenceTransformersEncoder.load(folder);
  }
  throw ppError('PP_EMBED_ENCODER_UNKNOWN', `"${spec}" (known: ${TEXT_ENCODER_SPECS.join(', ')})`);
}
