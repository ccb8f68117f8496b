/**
 * McAuley et al. 2014 Amazon dumps: `reviews_<Category>.json.gz` (JSON lines) and `meta_<Category>.json.gz`
 * (one Python dict literal per line: asin, title, description, price, imUrl, brand, categories, related,
 * salesRank). Meta files are read first, then reviews.
 */
import type { ItemRecord } from '../records.js';
import {
  amazonReader,
  extraFields,
  flattenCategories,
  optionalLines,
  optionalText,
  parsePrice,
  pickImage,
  requiredId,
  type JsonObject,
} from './amazon-common.js';
import type { FormatReader, InputFile } from './format.js';
import { parsePythonLiteral } from './python-literal.js';

/** Meta keys that feed staged columns; every other key (related, salesRank, …) goes into `extra`. */
const STAGED = new Set(['asin', 'title', 'description', 'brand', 'categories', 'price', 'imUrl']);

function toItem(obj: JsonObject, input: InputFile): ItemRecord {
  const item_id = requiredId(obj, 'asin');
  const { price, raw } = parsePrice(obj, 'price');
  const { image_url, image_path, image_rejected } = pickImage([optionalText(obj, 'imUrl')], input.origin);
  return {
    item_id,
    title: optionalText(obj, 'title'),
    description: optionalLines(obj, 'description'),
    brand: optionalText(obj, 'brand'),
    categories: flattenCategories(obj, 'categories'),
    price,
    image_url,
    image_path,
    extra: extraFields(obj, STAGED, { price_raw: raw, image_rejected }),
  };
}

export const amazon2014: FormatReader = amazonReader({
  name: 'amazon2014',
  description: 'Amazon reviews 2014 (McAuley): reviews_*.json(.gz) JSON lines, meta_*.json(.gz) Python dict lines',
  metaSyntax: { parse: parsePythonLiteral, malformed: 'malformed_literal', what: 'a dict' },
  toItem,
});
