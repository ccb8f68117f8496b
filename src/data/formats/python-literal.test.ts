import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePythonLiteral, PythonLiteralError } from './python-literal.js';

const p = parsePythonLiteral;

/** Asserts that parsing fails with a PythonLiteralError whose reason matches and whose offset is `offset`. */
function rejects(text: string, reason: RegExp, offset?: number): void {
  assert.throws(
    () => p(text),
    (err: unknown) => {
      assert.ok(err instanceof PythonLiteralError, `expected PythonLiteralError, got ${String(err)}`);
      assert.match(err.reason, reason);
      if (offset !== undefined) assert.equal(err.offset, offset, `offset for ${JSON.stringify(text)}`);
      assert.match(err.message, /at offset \d+/);
      return true;
    },
  );
}

describe('parsePythonLiteral', () => {
  describe('containers', () => {
    it('parses dicts with either quote style for keys and a trailing comma', () => {
      assert.deepEqual(p(`{'a': 1, "b": 2,}`), { a: 1, b: 2 });
      assert.deepEqual(p('{}'), {});
      assert.deepEqual(p('{ }'), {});
    });

    it('keeps the last value for a repeated dict key, as Python does', () => {
      assert.deepEqual(p(`{'a': 1, 'a': 2}`), { a: 2 });
    });

    it('turns non-string dict keys into property names', () => {
      assert.deepEqual(p(`{1: 'x', 2.5: 'y', True: 1, None: 2, (1, 'a'): 3}`), {
        1: 'x',
        '2.5': 'y',
        True: 1,
        None: 2,
        '[1,"a"]': 3,
      });
    });

    it('stores a __proto__ key as an own property instead of changing the prototype', () => {
      const v = p(`{'__proto__': {'polluted': 1}}`) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      assert.ok(Object.hasOwn(v, '__proto__'));
      assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { polluted: 1 });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('parses lists, including empty and trailing-comma lists', () => {
      assert.deepEqual(p(`[1, 'two', [3, [4]]]`), [1, 'two', [3, [4]]]);
      assert.deepEqual(p('[]'), []);
      assert.deepEqual(p('[1, 2, ]'), [1, 2]);
    });

    it('turns tuples into arrays and treats a parenthesised single value as that value', () => {
      assert.deepEqual(p('(1, 2)'), [1, 2]);
      assert.deepEqual(p('(1,)'), [1]);
      assert.deepEqual(p('()'), []);
      assert.equal(p('(1)'), 1);
      assert.deepEqual(p(`('a', ('b', 'c'))`), ['a', ['b', 'c']]);
    });

    it('turns sets into arrays without repeated values', () => {
      assert.deepEqual(p(`{'a', 'b', 'a'}`), ['a', 'b']);
      assert.deepEqual(p('{1}'), [1]);
      assert.deepEqual(p('{1, 2,}'), [1, 2]);
    });

    it('parses a McAuley 2014 meta line with nested lists and dicts', () => {
      const line =
        "{'asin': '0000031852', 'categories': [['Electronics', 'Computers & Accessories']], " +
        "'related': {'also_bought': ['B0001', 'B0002']}, 'salesRank': {'Electronics': 1234}, 'price': 12.99}";
      assert.deepEqual(p(line), {
        asin: '0000031852',
        categories: [['Electronics', 'Computers & Accessories']],
        related: { also_bought: ['B0001', 'B0002'] },
        salesRank: { Electronics: 1234 },
        price: 12.99,
      });
    });

    it('allows whitespace, tabs and newlines between tokens', () => {
      assert.deepEqual(p(" \t{\n 'a' :\r\n [ 1 ,\t2 ] } \n"), { a: [1, 2] });
    });
  });

  describe('strings', () => {
    it('parses single- and double-quoted strings containing the other quote', () => {
      assert.equal(p(`"it's"`), "it's");
      assert.equal(p(`'say "hi"'`), 'say "hi"');
      assert.equal(p(`''`), '');
      assert.equal(p(`""`), '');
    });

    it('decodes escaped quotes and backslashes', () => {
      assert.equal(p(String.raw`'it\'s'`), "it's");
      assert.equal(p(String.raw`"a \"b\""`), 'a "b"');
      assert.equal(p(String.raw`'a\\b'`), 'a\\b');
      assert.equal(p(String.raw`'ends with backslash\\'`), 'ends with backslash\\');
    });

    it('decodes the single-character escapes', () => {
      assert.equal(p(String.raw`'\n\t\r\a\b\f\v'`), '\n\t\r\x07\b\f\v');
    });

    it('decodes \\x, \\u, \\U and octal escapes', () => {
      assert.equal(p(String.raw`'caf\xe9'`), 'café');
      assert.equal(p(String.raw`'\u00e9\u2014'`), 'é—');
      assert.equal(p(String.raw`'\U0001F600'`), '😀');
      assert.equal(p(String.raw`'\101\0\12x\1234'`), 'A\0\nxS4');
    });

    it('joins a backslash-newline continuation inside a string', () => {
      assert.equal(p("'abc\\\ndef'"), 'abcdef');
      assert.equal(p("'abc\\\r\ndef'"), 'abcdef');
    });

    it('keeps unknown escapes verbatim, as Python does', () => {
      assert.equal(p(String.raw`'\d\q'`), '\\d\\q');
    });

    it('keeps literal unicode characters', () => {
      assert.equal(p(`'Ünïcödé — 日本語 😀'`), 'Ünïcödé — 日本語 😀');
      assert.deepEqual(p(`{'título': 'Café'}`), { título: 'Café' });
    });

    it('concatenates adjacent string literals', () => {
      assert.equal(p(`'abc' "def"`), 'abcdef');
      assert.equal(p(`'a''b'`), 'ab');
      assert.deepEqual(p(`['x' 'y', 'z']`), ['xy', 'z']);
      assert.equal(p(`('one '\n 'two')`), 'one two');
    });

    it('accepts u, r and b prefixes', () => {
      assert.equal(p(String.raw`u'caf\xe9'`), 'café');
      assert.equal(p(String.raw`U"x"`), 'x');
      assert.equal(p(String.raw`r'\d+\n'`), '\\d+\\n');
      assert.equal(p(String.raw`r'it\'s'`), "it\\'s");
      assert.equal(p(String.raw`b'\x41\u0041'`), 'A\\u0041');
      assert.equal(p(String.raw`u'a' r'\b'`), 'a\\b');
    });

    it('parses triple-quoted strings with line breaks and lone quotes', () => {
      assert.equal(p(`'''line one\nit's "two"'''`), `line one\nit's "two"`);
      assert.equal(p(`"""a""b"""`), 'a""b');
    });
  });

  describe('numbers and constants', () => {
    it('parses ints in every base, with separators and a Python 2 long suffix', () => {
      assert.equal(p('0'), 0);
      assert.equal(p('1234'), 1234);
      assert.equal(p('-42'), -42);
      assert.equal(p('+7'), 7);
      assert.equal(p('1_000_000'), 1000000);
      assert.equal(p('0x1F'), 31);
      assert.equal(p('0o17'), 15);
      assert.equal(p('0b101'), 5);
      assert.equal(p('12L'), 12);
      assert.equal(p('00'), 0);
    });

    it('parses floats with fractions and exponents', () => {
      assert.equal(p('12.99'), 12.99);
      assert.equal(p('-1.5e3'), -1500);
      assert.equal(p('1E-2'), 0.01);
      assert.equal(p('.5'), 0.5);
      assert.equal(p('5.'), 5);
      assert.equal(p('- 2.5'), -2.5);
      assert.equal(p('1e+3'), 1000);
    });

    it('parses Python and JSON constants', () => {
      assert.deepEqual(p('[True, False, None, true, false, null]'), [true, false, null, true, false, null]);
    });

    it('parses a strictly JSON line too', () => {
      const json = '{"asin": "B01", "price": 3.5, "tags": ["a\\u00e9", "b\\"c"], "ok": true, "x": null, "n": -2e-3}';
      assert.deepEqual(p(json), JSON.parse(json));
    });
  });

  describe('rejections', () => {
    it('rejects an unterminated string at the string start', () => {
      rejects(`{'a': 'abc}`, /unterminated string/, 6);
      rejects(`'abc\ndef'`, /unterminated string/, 0);
      rejects(`'abc\\`, /unterminated string/, 0);
      rejects(`'''abc''`, /unterminated string/, 0);
    });

    it('rejects trailing garbage after the value', () => {
      rejects(`{'a': 1} x`, /trailing/, 9);
      rejects(`{'a': 1}}`, /trailing/, 8);
      rejects(`1 2`, /trailing/, 2);
    });

    it('rejects a dict entry without a colon', () => {
      rejects(`{'a' 1}`, /expected ':'/, 5);
      rejects(`{'a': 1, 'b' 2}`, /expected ':' after dict key/, 13);
      rejects(`{'a': 1, 'b'}`, /expected ':' after dict key/, 12);
    });

    it('rejects a function call such as __import__', () => {
      rejects(`__import__('os')`, /call/, 0);
      rejects(`{'a': __import__('os').system('ls')}`, /call/, 6);
      rejects(`set()`, /call/, 0);
    });

    it('rejects bare names and expressions', () => {
      rejects('foo', /unexpected name 'foo'/, 0);
      rejects(`{'a': nan}`, /unexpected name 'nan'/, 6);
      rejects(`{'a': os.system}`, /unexpected name 'os'/, 6);
      rejects('1 + 2', /trailing/, 2);
      rejects('lambda: 1', /unexpected name 'lambda'/, 0);
    });

    it('rejects missing separators and unclosed containers', () => {
      rejects('[1 2]', /expected ',' or '\]'/, 3);
      rejects('[1, 2', /end of input/, 5);
      rejects(`{'a': 1`, /end of input/, 7);
      rejects('(1, 2', /end of input/, 5);
      rejects('[1,,2]', /unexpected character ','/, 3);
      rejects(`{'a':}`, /unexpected character '}'/, 5);
      rejects(`{'a': 1, 2}`, /expected ':' after dict key/, 10);
      rejects(`{1, 2: 3}`, /expected ',' or '}'/, 5);
    });

    it('rejects empty input', () => {
      rejects('', /end of input/, 0);
      rejects('   ', /end of input/, 3);
    });

    it('rejects malformed numbers', () => {
      rejects('012', /leading zeros/, 0);
      rejects('1.2.3', /malformed number/, 0);
      rejects('1__0', /malformed number/, 0);
      rejects('12abc', /malformed number/, 0);
      rejects('1j', /complex/, 0);
      rejects('-x', /expected a number/, 1);
      rejects('-', /expected a number/, 1);
    });

    it('rejects bad escapes and unsupported prefixes', () => {
      rejects(String.raw`'\x4'`, /\\xhh/, 1);
      rejects(String.raw`'\u12'`, /\\uXXXX/, 1);
      rejects(String.raw`'\U00110000'`, /U\+10FFFF/, 1);
      rejects(String.raw`'\N{EM DASH}'`, /\\N/, 1);
      rejects(`f'{x}'`, /prefix 'f'/, 0);
    });

    it('rejects nesting deeper than the limit instead of overflowing the stack', () => {
      rejects('['.repeat(100_000) + ']'.repeat(100_000), /nesting too deep/);
      assert.equal((p('['.repeat(400) + ']'.repeat(400)) as unknown[]).length, 1);
    });

    it('throws a PythonLiteralError that is an Error with name, reason and offset', () => {
      try {
        p(`{'a' 1}`);
        assert.fail('no error');
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.ok(err instanceof PythonLiteralError);
        assert.equal(err.name, 'PythonLiteralError');
        assert.equal(err.offset, 5);
        assert.equal(err.message, `${err.reason} at offset 5`);
      }
    });
  });
});
