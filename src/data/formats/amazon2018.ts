/**
 * Ni et al. 2018 Amazon dumps: `<Category>.json.gz` reviews and `meta_<Category>.json.gz`, both JSON lines.
 * Meta: asin, title, description (list of paragraphs), category, brand, price ("$12.99", "$10.99 - $15.99"),
 * imageURL / imageURLHighRes (URLs, or paths relative to the meta file as in the generated demo catalog);
 * also_buy, also_view, rank, main_cat, feature, date, details, similar_item, tech1/2 … go into `extra`.
 */
import type { ItemRecord } from '../records.js';
import {
  amazonReader,
  extraFields,
  firstOfList,
  flattenCategories,
  optionalLines,
  optionalText,
  parsePrice,
  pickImage,
  requiredId,
  type JsonObject,
} from './amazon-common.js';
import type { FormatReader, InputFile } from './format.js';

/** Meta keys that feed staged columns; every other key goes into `extra`. */
const STAGED = new Set(['asin', 'title', 'description', 'brand', 'category', 'price', 'imageURL', 'imageURLHighRes']);

function toItem(obj: JsonObject, input: InputFile): ItemRecord {
  const item_id = requiredId(obj, 'asin');
  const { price, raw } = parsePrice(obj, 'price');
  const { image_url, image_path, image_rejected } = pickImage([firstOfList(obj, 'imageURLHighRes'), firstOfList(obj, 'imageURL')], input.origin);
  return {
    item_id,
    title: optionalText(obj, 'title'),
    description: optionalLines(obj, 'description'),
    brand: optionalText(obj, 'brand'),
    categories: flattenCategories(obj, 'category'),
    price,
    image_url,
    image_path,
    extra: extraFields(obj, STAGED, { price_raw: raw, image_rejected }),
  };
}

export const amazon2018: FormatReader = amazonReader({
  name: 'amazon2018',
  description: 'Amazon reviews 2018 (Ni et al.): review and meta_*.json(.gz) files, JSON lines',
  metaSyntax: { parse: JSON.parse, malformed: 'malformed_json', what: 'a JSON object' },
  toItem,
});
