/**
 * A parser for Python literal syntax, as written by `repr()`/`str()` of a dict (McAuley's 2014
 * `meta_<Category>.json.gz` lines are Python dicts, not JSON). Hand-written recursive descent over
 * `charCodeAt`; nothing is ever evaluated.
 *
 * Accepted: dicts, lists, tuples and sets (both become arrays; sets drop repeated primitive values),
 * strings in single, double or triple quotes with an optional `u`/`r`/`b` prefix (`rb`, `br`, `ur` too)
 * and every Python escape except `\N{name}`, adjacent string literals (concatenated), ints (decimal,
 * `0x`/`0o`/`0b`, `_` separators, a Python 2 `L` suffix), floats (`1.`, `.5`, `-1.5e3`), a unary sign on
 * numbers, `True`/`False`/`None` and JSON's `true`/`false`/`null`.
 *
 * Mapping to JavaScript: dict keys become property names (a string key as is, a number key via
 * `String(n)`, `True`/`False`/`None` as those words, a tuple key as its JSON text); as for any JS object,
 * integer-like keys are enumerated before the others. Ints beyond 2^53 lose precision, as in JSON.parse.
 */

/** Why and where (character offset into the text) a literal could not be parsed. */
export class PythonLiteralError extends Error {
  readonly offset: number;
  readonly reason: string;

  constructor(reason: string, offset: number) {
    super(`${reason} at offset ${offset}`);
    this.name = 'PythonLiteralError';
    this.reason = reason;
    this.offset = offset;
  }
}

const MAX_DEPTH = 500;

// Character codes.
const TAB = 9;
const LF = 10;
const VT = 11;
const FF = 12;
const CR = 13;
const SPACE = 32;
const DQUOTE = 34;
const SQUOTE = 39;
const LPAREN = 40;
const RPAREN = 41;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const SEVEN = 55;
const NINE = 57;
const COLON = 58;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const UNDERSCORE = 95;
const LBRACE = 123;
const RBRACE = 125;
const BOM = 0xfeff;

/** Sticky pattern for a number token (without sign) starting at a digit or a dot. */
const NUMBER =
  /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*\.(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*|\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?/y;

const STRING_PREFIXES = new Set(['r', 'u', 'b', 'br', 'rb', 'ur']);

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === UNDERSCORE || c > 127;
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

function dictKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return key;
    case 'number':
      return String(key);
    case 'boolean':
      return key ? 'True' : 'False';
    default:
      return key === null ? 'None' : JSON.stringify(key);
  }
}

function setProp(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  parse(): unknown {
    if (this.s.charCodeAt(0) === BOM) this.pos = 1;
    this.skipWs();
    const value = this.value();
    this.skipWs();
    if (this.pos < this.s.length) this.fail('unexpected trailing characters');
    return value;
  }

  private fail(reason: string, at = this.pos): never {
    throw new PythonLiteralError(reason, at);
  }

  private skipWs(): void {
    const s = this.s;
    let i = this.pos;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c > SPACE && c !== BACKSLASH) break; // the common case: a token right here
      if (c === SPACE || c === TAB || c === LF || c === CR || c === FF || c === VT) i++;
      else if (c === BACKSLASH && (s.charCodeAt(i + 1) === LF || (s.charCodeAt(i + 1) === CR && s.charCodeAt(i + 2) === LF))) {
        i += s.charCodeAt(i + 1) === LF ? 2 : 3; // explicit line joining
      } else break;
    }
    this.pos = i;
  }

  // Positions of the next backslash / line break at or after some index, cached so that scanning strings
  // uses indexOf (native speed) and every character is searched at most once per kind.
  private nextBackslash = -1;
  private nextLf = -1;
  private nextCr = -1;

  private backslashFrom(i: number): number {
    if (this.nextBackslash < i) {
      const k = this.s.indexOf('\\', i);
      this.nextBackslash = k === -1 ? Infinity : k;
    }
    return this.nextBackslash;
  }

  private lineBreakFrom(i: number): number {
    if (this.nextLf < i) {
      const k = this.s.indexOf('\n', i);
      this.nextLf = k === -1 ? Infinity : k;
    }
    if (this.nextCr < i) {
      const k = this.s.indexOf('\r', i);
      this.nextCr = k === -1 ? Infinity : k;
    }
    return this.nextLf < this.nextCr ? this.nextLf : this.nextCr;
  }

  private value(): unknown {
    const s = this.s;
    const c = s.charCodeAt(this.pos);
    if (c === SQUOTE || c === DQUOTE) return this.strings('');
    if (c === LBRACE) return this.braces();
    if (c === LBRACKET) return this.sequence(RBRACKET, ']');
    if (c === LPAREN) return this.parens();
    if (isDigit(c) || c === DOT) return this.number(this.pos);
    if (c === MINUS || c === PLUS) {
      const start = this.pos;
      this.pos++;
      this.skipWs();
      const d = s.charCodeAt(this.pos);
      if (!isDigit(d) && d !== DOT) this.fail(`expected a number after '${c === MINUS ? '-' : '+'}'`);
      const n = this.number(start);
      return c === MINUS ? -n : n;
    }
    if (isNameChar(c)) return this.name();
    if (Number.isNaN(c)) this.fail('unexpected end of input, expected a value');
    this.fail(`unexpected character '${s[this.pos]}'`);
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('nesting too deep');
  }

  private braces(): unknown {
    const s = this.s;
    const open = this.pos;
    this.enter();
    this.pos++;
    this.skipWs();
    if (s.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      this.depth--;
      return {};
    }
    const first = this.value();
    this.skipWs();
    const c = s.charCodeAt(this.pos);
    let result: unknown;
    if (c === COLON) {
      result = this.dictRest(first);
    } else if (c === COMMA || c === RBRACE) {
      result = this.setRest(first);
    } else {
      this.fail(Number.isNaN(c) ? `unterminated '{' opened at offset ${open}` : "expected ':', ',' or '}'");
    }
    this.depth--;
    return result;
  }

  /** At the ':' after the first key. */
  private dictRest(firstKey: unknown): Record<string, unknown> {
    const s = this.s;
    const obj: Record<string, unknown> = {};
    let key = firstKey;
    for (;;) {
      // at ':'
      this.pos++;
      this.skipWs();
      setProp(obj, dictKey(key), this.value());
      this.skipWs();
      let c = s.charCodeAt(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipWs();
        c = s.charCodeAt(this.pos);
      } else if (c !== RBRACE) {
        this.fail(Number.isNaN(c) ? "unexpected end of input, expected ',' or '}'" : "expected ',' or '}' in dict");
      }
      if (c === RBRACE) {
        this.pos++;
        return obj;
      }
      key = this.value();
      this.skipWs();
      if (s.charCodeAt(this.pos) !== COLON) this.fail("expected ':' after dict key");
    }
  }

  /** At the ',' or '}' after the first element. */
  private setRest(first: unknown): unknown[] {
    const items = [first];
    this.sequenceRest(items, RBRACE, '}');
    const seen = new Set<unknown>();
    return items.filter((v) => {
      if (v !== null && typeof v === 'object') return true;
      if (seen.has(v)) return false;
      seen.add(v);
      return true;
    });
  }

  private sequence(close: number, closeChar: string): unknown[] {
    this.enter();
    this.pos++;
    this.skipWs();
    const items: unknown[] = [];
    if (this.s.charCodeAt(this.pos) === close) {
      this.pos++;
    } else {
      items.push(this.value());
      this.skipWs();
      this.sequenceRest(items, close, closeChar);
    }
    this.depth--;
    return items;
  }

  /** After an element: reads `, elem`* up to and including the closing bracket (a trailing comma is fine). */
  private sequenceRest(items: unknown[], close: number, closeChar: string): void {
    const s = this.s;
    for (;;) {
      let c = s.charCodeAt(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipWs();
        c = s.charCodeAt(this.pos);
        if (c !== close) {
          items.push(this.value());
          this.skipWs();
          continue;
        }
      }
      if (c === close) {
        this.pos++;
        return;
      }
      this.fail(Number.isNaN(c) ? `unexpected end of input, expected ',' or '${closeChar}'` : `expected ',' or '${closeChar}'`);
    }
  }

  /** `()` is an empty tuple, `(x)` is x, `(x,)` and `(x, y)` are tuples. */
  private parens(): unknown {
    const s = this.s;
    this.enter();
    this.pos++;
    this.skipWs();
    if (s.charCodeAt(this.pos) === RPAREN) {
      this.pos++;
      this.depth--;
      return [];
    }
    const first = this.value();
    this.skipWs();
    let result: unknown;
    if (s.charCodeAt(this.pos) === RPAREN) {
      this.pos++;
      result = first;
    } else {
      const items = [first];
      this.sequenceRest(items, RPAREN, ')');
      result = items;
    }
    this.depth--;
    return result;
  }

  private number(start: number): number {
    const s = this.s;
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(s);
    if (!m) this.fail('malformed number');
    const text = m[0];
    let end = this.pos + text.length;
    const next = s.charCodeAt(end);
    const isPlainInt = text.length > 0 && !/[.eExXoObB]/.test(text);
    if (next === 106 || next === 74) this.fail('complex numbers are not supported', start);
    if ((next === 108 || next === 76) && (isPlainInt || /^0[xXoObB]/.test(text))) end++; // Python 2 long suffix
    else if (isNameChar(next) || next === DOT) this.fail('malformed number', start);
    if (isPlainInt && text.length > 1 && text.charCodeAt(0) === ZERO && /[1-9]/.test(text)) {
      this.fail('leading zeros are not allowed in a decimal integer', start);
    }
    this.pos = end;
    return Number(text.indexOf('_') === -1 ? text : text.replace(/_/g, ''));
  }

  private name(): unknown {
    const s = this.s;
    const start = this.pos;
    let i = start + 1;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
    const word = s.slice(start, i);
    const q = s.charCodeAt(i);
    if ((q === SQUOTE || q === DQUOTE) && word.length <= 2) {
      const prefix = word.toLowerCase();
      if (STRING_PREFIXES.has(prefix)) {
        this.pos = i;
        return this.strings(prefix);
      }
      this.fail(`unsupported string prefix '${word}'`, start);
    }
    this.pos = i;
    switch (word) {
      case 'True':
      case 'true':
        return true;
      case 'False':
      case 'false':
        return false;
      case 'None':
      case 'null':
        return null;
    }
    if (q === LPAREN) this.fail(`calls are not literals ('${word}(')`, start);
    this.fail(`unexpected name '${word}'`, start);
  }

  /** One string literal (at its opening quote, after `prefix`) and any adjacent ones, concatenated. */
  private strings(prefix: string): string {
    let out = this.string(prefix);
    const s = this.s;
    for (;;) {
      const save = this.pos;
      this.skipWs();
      const c = s.charCodeAt(this.pos);
      if (c === SQUOTE || c === DQUOTE) {
        out += this.string('');
        continue;
      }
      if (isNameChar(c) && !isDigit(c)) {
        let i = this.pos;
        while (i < s.length && i - this.pos < 3 && isNameChar(s.charCodeAt(i))) i++;
        const q = s.charCodeAt(i);
        const p = s.slice(this.pos, i).toLowerCase();
        if ((q === SQUOTE || q === DQUOTE) && STRING_PREFIXES.has(p)) {
          this.pos = i;
          out += this.string(p);
          continue;
        }
      }
      this.pos = save;
      return out;
    }
  }

  private string(prefix: string): string {
    const s = this.s;
    const n = s.length;
    const start = this.pos - prefix.length;
    const q = s.charCodeAt(this.pos);
    const raw = prefix.indexOf('r') !== -1;
    const bytes = prefix.indexOf('b') !== -1;
    const triple = s.charCodeAt(this.pos + 1) === q && s.charCodeAt(this.pos + 2) === q;
    if (!raw && !triple) return this.quoted(start, q === SQUOTE ? "'" : '"', bytes);
    // Raw or triple-quoted strings (rare in data): a plain character loop.
    let i = this.pos + (triple ? 3 : 1);
    let out = '';
    let run = i;
    for (;;) {
      if (i >= n) this.fail('unterminated string', start);
      const c = s.charCodeAt(i);
      if (c === q) {
        if (!triple) break;
        if (s.charCodeAt(i + 1) === q && s.charCodeAt(i + 2) === q) break;
        i++;
      } else if (c === BACKSLASH) {
        if (i + 1 >= n) this.fail('unterminated string', start);
        if (raw) {
          // In a raw string a backslash only keeps the next character from ending the string.
          i += 2;
          continue;
        }
        out += s.slice(run, i);
        i = this.escape(i, bytes);
        out += this.escaped;
        run = i;
      } else if ((c === LF || c === CR) && !triple) {
        this.fail('unterminated string (line break inside a quoted string)', start);
      } else {
        i++;
      }
    }
    out += s.slice(run, i);
    this.pos = i + (triple ? 3 : 1);
    return out;
  }

  /** The common case: a one-line, non-raw string; `this.pos` is at its opening quote `q`. */
  private quoted(start: number, q: string, bytes: boolean): string {
    const s = this.s;
    let i = this.pos + 1;
    let out = '';
    for (;;) {
      const end = s.indexOf(q, i);
      if (end === -1) this.fail('unterminated string', start);
      const bs = this.backslashFrom(i);
      const stop = bs < end ? bs : end;
      if (this.lineBreakFrom(i) < stop) this.fail('unterminated string (line break inside a quoted string)', start);
      if (stop === end) {
        this.pos = end + 1;
        return i === end ? out : out + s.slice(i, end);
      }
      if (bs + 1 >= s.length) this.fail('unterminated string', start);
      if (i < bs) out += s.slice(i, bs);
      i = this.escape(bs, bytes);
      out += this.escaped;
    }
  }

  /** The text of the last escape decoded by `escape`. */
  private escaped = '';

  /** Decodes the escape at s[i] === '\\' into `this.escaped`; returns the index after it. */
  private escape(i: number, bytes: boolean): number {
    const s = this.s;
    const e = s.charCodeAt(i + 1);
    switch (e) {
      case LF:
        this.escaped = '';
        return i + 2;
      case CR:
        this.escaped = '';
        return s.charCodeAt(i + 2) === LF ? i + 3 : i + 2;
      case BACKSLASH:
        this.escaped = '\\';
        return i + 2;
      case SQUOTE:
        this.escaped = "'";
        return i + 2;
      case DQUOTE:
        this.escaped = '"';
        return i + 2;
      case 97: // a
        this.escaped = '\x07';
        return i + 2;
      case 98: // b
        this.escaped = '\b';
        return i + 2;
      case 102: // f
        this.escaped = '\f';
        return i + 2;
      case 110: // n
        this.escaped = '\n';
        return i + 2;
      case 114: // r
        this.escaped = '\r';
        return i + 2;
      case 116: // t
        this.escaped = '\t';
        return i + 2;
      case 118: // v
        this.escaped = '\v';
        return i + 2;
      case 120: // x
        this.escaped = String.fromCharCode(this.hex(i, 2, '\\xhh'));
        return i + 4;
      case 117: // u
        if (bytes) break;
        this.escaped = String.fromCharCode(this.hex(i, 4, '\\uXXXX'));
        return i + 6;
      case 85: {
        // U
        if (bytes) break;
        const cp = this.hex(i, 8, '\\UXXXXXXXX');
        if (cp > 0x10ffff) this.fail('\\U escape beyond U+10FFFF', i);
        this.escaped = String.fromCodePoint(cp);
        return i + 10;
      }
      case 78: // N
        if (bytes) break;
        this.fail('\\N{name} escapes are not supported', i);
    }
    if (e >= ZERO && e <= SEVEN) {
      let v = e - ZERO;
      let j = i + 2;
      for (let k = 0; k < 2; k++) {
        const d = s.charCodeAt(j);
        if (!(d >= ZERO && d <= SEVEN)) break;
        v = v * 8 + (d - ZERO);
        j++;
      }
      this.escaped = String.fromCharCode(v);
      return j;
    }
    // Unknown escape: Python keeps the backslash and the character.
    this.escaped = s.slice(i, i + 2);
    return i + 2;
  }

  private hex(i: number, digits: number, what: string): number {
    const s = this.s;
    let v = 0;
    for (let k = 0; k < digits; k++) {
      const d = hexValue(s.charCodeAt(i + 2 + k));
      if (d < 0) this.fail(`truncated ${what} escape`, i);
      v = v * 16 + d;
    }
    return v;
  }
}

/** Parses one Python literal (typically a dict). Throws PythonLiteralError on anything else. */
export function parsePythonLiteral(text: string): unknown {
  return new Parser(text).parse();
}
