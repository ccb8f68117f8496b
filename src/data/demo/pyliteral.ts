/**
 * A small serializer of Python literals, as Python 3's `repr` writes them: the line format of McAuley's
 * 2014 Amazon metadata (`{'asin': '0000031852', 'title': "Girls' Tutu", 'price': 3.17, ...}`).
 *
 * - str: single quotes unless the text contains a single quote and no double quote; backslash, the
 *   chosen quote, \n, \r, \t escaped; other non-printable characters as \xNN, \uNNNN or \UNNNNNNNN
 *   (printable non-ASCII text is kept as is, as Python 3 does).
 * - numbers: integers as ints; non-integers, and values wrapped in `pyFloat`, as Python floats
 *   (shortest round-trip digits, `.0` on whole values, exponent form below 1e-4 and from 1e16).
 * - true/false/null as True/False/None; arrays as lists; `pyTuple` as tuples; plain objects as dicts
 *   (insertion order, string keys).
 */

/** Forces float formatting of a whole number (Python writes `13.0`, not `13`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export type PyValue =
  | string
  | number
  | boolean
  | null
  | PyFloat
  | PyTuple
  | readonly PyValue[]
  | { readonly [key: string]: PyValue };

export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

export function pyTuple(...items: PyValue[]): PyTuple {
  return new PyTuple(items);
}

/** Serialises a value as a Python literal. */
export function toPythonLiteral(value: PyValue): string {
  if (typeof value === 'string') return pyStr(value);
  if (typeof value === 'number') return Number.isInteger(value) ? pyInt(value) : pyFloatRepr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null) return 'None';
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (value instanceof PyTuple) {
    const parts = value.items.map(toPythonLiteral);
    return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
  }
  if (Array.isArray(value)) return `[${(value as readonly PyValue[]).map(toPythonLiteral).join(', ')}]`;
  const obj = value as { readonly [key: string]: PyValue };
  let out = '{';
  let first = true;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!first) out += ', ';
    first = false;
    out += pyStr(key) + ': ' + toPythonLiteral(v);
  }
  return out + '}';
}

function pyInt(x: number): string {
  // Python ints have no exponent form; safe integers print exactly, larger ones through BigInt.
  return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
}

/** Python's repr of a float. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const ax = Math.abs(x);
  if (ax >= 1e-4 && ax < 1e16) {
    // Both languages print the shortest round-trip digits in fixed notation here.
    const t = String(x);
    return t.includes('.') ? t : t + '.0';
  }
  const sign = x < 0 ? '-' : '';
  // Shortest round-trip digits and decimal exponent, e.g. 1.2345e+2.
  const [mant, expStr] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  const decpt = exp + 1; // position of the decimal point relative to the digits
  if (decpt > 16 || decpt <= -4) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** Python's repr of a str. */
export function pyStr(s: string): string {
  if (!NEEDS_CARE.test(s)) return `'${s}'`;
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  let plainFrom = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c === 0x5c) esc = '\\\\';
    else if (c === 0x27 && quote === "'") esc = "\\'";
    else if (c === 0x0a) esc = '\\n';
    else if (c === 0x0d) esc = '\\r';
    else if (c === 0x09) esc = '\\t';
    else if (c < 0x20 || c === 0x7f) esc = '\\x' + hex(c, 2);
    else if (c >= 0x80) {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          if (!isPrintable(cp)) {
            out += s.slice(plainFrom, i) + '\\U' + hex(cp, 8);
            plainFrom = i + 2;
          }
          i++;
          continue;
        }
      }
      if (!isPrintable(c)) esc = c <= 0xff ? '\\x' + hex(c, 2) : '\\u' + hex(c, 4);
    }
    if (esc !== null) {
      out += s.slice(plainFrom, i) + esc;
      plainFrom = i + 1;
    }
  }
  return out + s.slice(plainFrom) + quote;
}

/** Characters that need a look: quotes, backslash, controls and anything non-ASCII. */
const NEEDS_CARE = /[\x00-\x1f'\\\x7f-\uffff]/;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * Python's str.isprintable for a non-ASCII code point: false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp
 * and Zs other than the ASCII space. Uses the JS regex Unicode tables (close to Python's for assigned
 * characters; lone surrogates are never printable).
 */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function isPrintable(cp: number): boolean {
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return !NON_PRINTABLE.test(String.fromCodePoint(cp));
}
