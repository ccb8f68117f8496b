import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlotPointeError } from '../../errors.js';
import { DEFAULT_ITEM_TEXT, itemText, parseTextFields, resolveItemTextOptions, truncateAtWord } from './item-text.js';

const item = {
  title: '  Sony   WH-1000XM4 Headphones ',
  brand: 'Sony',
  categories: ['Electronics', 'Headphones', 'Over-Ear'],
  description: '<p>Industry-leading noise cancellation &amp; 30 hours of battery life for long flights and commutes.</p>',
};

test('item text joins title, brand, categories and description as sentences with whitespace and HTML cleaned', () => {
  assert.equal(
    itemText(item),
    'Sony WH-1000XM4 Headphones. Brand: Sony. Category: Electronics > Headphones > Over-Ear. ' +
      'Industry-leading noise cancellation & 30 hours of battery life for long flights and commutes.',
  );
});

test('item text uses only the chosen fields, in the given order', () => {
  const o = resolveItemTextOptions({ fields: ['brand', 'title'] });
  assert.equal(itemText(item, o), 'Brand: Sony. Sony WH-1000XM4 Headphones.');
});

test('the description is cut at a word boundary to maxDescriptionChars and the whole text to maxChars', () => {
  const o = resolveItemTextOptions({ fields: ['description'], maxDescriptionChars: 30 });
  assert.equal(itemText(item, o), 'Industry-leading noise.');
  assert.equal(truncateAtWord('abcdefghij', 4), 'abcd');
  const short = resolveItemTextOptions({ maxChars: 20 });
  assert.ok(itemText(item, short)!.length <= 20);
});

test('an item without any text in the chosen fields has no text (null)', () => {
  assert.equal(itemText({ title: null, brand: '  ', categories: [], description: null }), null);
  assert.equal(itemText({ ...item, title: null }, resolveItemTextOptions({ fields: ['title'] })), null);
  assert.equal(itemText({ title: 'x', brand: null, categories: null, description: null }), 'x.');
});

test('item text is deterministic: equal inputs give equal strings', () => {
  assert.equal(itemText({ ...item }), itemText({ ...item, categories: [...item.categories] }));
  assert.deepEqual(DEFAULT_ITEM_TEXT.fields, ['title', 'brand', 'categories', 'description']);
});

test('unknown text fields and bad limits are PP_EMBED_INVALID', () => {
  assert.throws(() => parseTextFields('title,price'), (e) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.throws(() => parseTextFields(''), (e) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.throws(() => resolveItemTextOptions({ maxChars: -1 }), (e) => isPlotPointeError(e, 'PP_EMBED_INVALID'));
  assert.deepEqual(parseTextFields(' title , brand,title'), ['title', 'brand']);
});
