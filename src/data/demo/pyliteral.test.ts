import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePythonLiteral } from '../formats/python-literal.js';
import { pyFloat, pyFloatRepr, pyStr, pyTuple, toPythonLiteral, type PyValue } from './pyliteral.js';

// Expected values are Python 3's repr() of the same values.
const STRINGS: Array<[string, string]> = [
  ['plain', "'plain'"],
  ["it's", `"it's"`],
  ['say "hi"', `'say "hi"'`],
  [`both ' and "`, `'both \\' and "'`],
  ['back\\slash', "'back\\\\slash'"],
  ['nl\nx\r\t', "'nl\\nx\\r\\t'"],
  ['\x00\x1f\x7f', "'\\x00\\x1f\\x7f'"],
  ['ü é Sørlund 日本 😀', "'ü é Sørlund 日本 😀'"],
  ['\u00a0nbsp', "'\\xa0nbsp'"],
  ['\u00ad', "'\\xad'"],
  ['\u0085', "'\\x85'"],
  ['\u2028', "'\\u2028'"],
  ['\u200b', "'\\u200b'"],
  ['\u3000', "'\\u3000'"],
  ['\uffff', "'\\uffff'"],
  ['\ud800lone', "'\\ud800lone'"],
  ['15.6" Laptop', `'15.6" Laptop'`],
  [`Marlowe's 15.6" Laptop`, `'Marlowe\\'s 15.6" Laptop'`],
  ['', "''"],
];

const FLOATS: Array<[number, string]> = [
  [12.99, '12.99'],
  [13, '13.0'],
  [0.0001, '0.0001'],
  [0.00001, '1e-05'],
  [1e16, '1e+16'],
  [1e15, '1000000000000000.0'],
  [1.2345678901234568e20, '1.2345678901234568e+20'],
  [1.5e-7, '1.5e-07'],
  [-2.5, '-2.5'],
  [-0, '-0.0'],
  [0.1 + 0.2, '0.30000000000000004'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [5e-324, '5e-324'],
  [Infinity, 'inf'],
  [NaN, 'nan'],
];

test('strings are quoted and escaped exactly as Python repr does', () => {
  for (const [input, expected] of STRINGS) assert.equal(pyStr(input), expected, JSON.stringify(input));
});

test('floats print as Python repr does, ints without a decimal point', () => {
  for (const [input, expected] of FLOATS) assert.equal(pyFloatRepr(input), expected, String(input));
  assert.equal(toPythonLiteral(1234), '1234');
  assert.equal(toPythonLiteral(pyFloat(1234)), '1234.0');
  assert.equal(toPythonLiteral(-7), '-7');
});

test('containers print as Python repr does', () => {
  const v: PyValue = { asin: 'B0X', a: [1, 'x', null, true, false], "b'": { c: pyFloat(2) }, t: pyTuple(1), e: [], d: {} };
  assert.equal(
    toPythonLiteral(v),
    `{'asin': 'B0X', 'a': [1, 'x', None, True, False], "b'": {'c': 2.0}, 't': (1,), 'e': [], 'd': {}}`,
  );
  assert.equal(toPythonLiteral(pyTuple('a', 2)), "('a', 2)");
});

test('serialized literals parse back to the same values with the project parser', () => {
  for (const [input] of STRINGS) assert.equal(parsePythonLiteral(pyStr(input)), input, JSON.stringify(input));
  for (const [input] of FLOATS) {
    if (!Number.isFinite(input)) continue; // nan/inf are names in Python, not literals
    const back = parsePythonLiteral(pyFloatRepr(input));
    assert.ok(Object.is(back, input) || (input === 0 && back === 0), `${input} -> ${String(back)}`);
  }
  const rec = {
    asin: 'B0ABCDEFGH',
    title: `Marlowe's Parlour 15.6" Speaker`,
    price: pyFloat(1299.99),
    related: { also_bought: ['B01', 'B02'] },
    salesRank: { Electronics: 1234 },
    categories: [['Electronics', 'Headphones', 'Over-Ear Headphones']],
  };
  assert.deepEqual(parsePythonLiteral(toPythonLiteral(rec)), { ...rec, price: 1299.99 });
});
