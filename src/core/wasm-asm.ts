/**
 * A minimal WebAssembly assembler: turns function bodies written in the *flat* (linear, non-folded)
 * WebAssembly text syntax into a binary module, so the SIMD kernels need no toolchain, no npm
 * dependency and no build step.
 *
 * Supported: i32 / f32 / v128 locals and params, one imported memory (optionally shared),
 * `block` / `loop` / `if` / `else` / `end` without result types, `br` / `br_if` to `$label`s or
 * depths, `call $fn`, integer and float arithmetic used by the kernels, and the f32x4 subset of
 * SIMD (see {@link OPS}). Anything else throws at assembly time with the offending token.
 *
 * ```wat
 * local.get $p
 * v128.load offset=16
 * f32x4.add
 * ```
 */

/** Value types a kernel may use. */
export type ValType = 'i32' | 'f32' | 'v128';

/** One function of the module. Params are addressed by name in the body (`local.get $x`). */
export interface WasmFunction {
  name: string;
  params: [string, ValType][];
  results?: ValType[];
  locals?: [string, ValType][];
  /** Flat WAT instructions; `;;` starts a comment. */
  body: string;
  /** Exported under `name` (default true). */
  exported?: boolean;
}

/** The module: one imported memory `env.memory` and a list of functions. */
export interface WasmModuleSpec {
  memory: { minPages: number; maxPages: number; shared: boolean };
  functions: WasmFunction[];
}

const TYPE_CODE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

type Imm = 'none' | 'local' | 'i32' | 'f32' | 'mem' | 'lane' | 'label' | 'block' | 'call' | 'v128';
interface OpInfo {
  code: number;
  simd?: boolean;
  imm: Imm;
  /** natural alignment (log2) for memory ops */
  align?: number;
}

const plain = (code: number): OpInfo => ({ code, imm: 'none' });
const simd = (code: number, imm: Imm = 'none', align?: number): OpInfo => ({ code, simd: true, imm, align });
const mem = (code: number, align: number): OpInfo => ({ code, imm: 'mem', align });

/** Opcode table (core MVP subset + fixed-width SIMD f32x4 subset). */
export const OPS: Record<string, OpInfo> = {
  unreachable: plain(0x00),
  nop: plain(0x01),
  block: { code: 0x02, imm: 'block' },
  loop: { code: 0x03, imm: 'block' },
  if: { code: 0x04, imm: 'block' },
  else: plain(0x05),
  end: plain(0x0b),
  br: { code: 0x0c, imm: 'label' },
  br_if: { code: 0x0d, imm: 'label' },
  return: plain(0x0f),
  call: { code: 0x10, imm: 'call' },
  drop: plain(0x1a),
  select: plain(0x1b),
  'local.get': { code: 0x20, imm: 'local' },
  'local.set': { code: 0x21, imm: 'local' },
  'local.tee': { code: 0x22, imm: 'local' },
  'i32.load': mem(0x28, 2),
  'f32.load': mem(0x2a, 2),
  'i32.store': mem(0x36, 2),
  'f32.store': mem(0x38, 2),
  'i32.const': { code: 0x41, imm: 'i32' },
  'f32.const': { code: 0x43, imm: 'f32' },
  'i32.eqz': plain(0x45),
  'i32.eq': plain(0x46),
  'i32.ne': plain(0x47),
  'i32.lt_s': plain(0x48),
  'i32.lt_u': plain(0x49),
  'i32.gt_s': plain(0x4a),
  'i32.gt_u': plain(0x4b),
  'i32.le_s': plain(0x4c),
  'i32.le_u': plain(0x4d),
  'i32.ge_s': plain(0x4e),
  'i32.ge_u': plain(0x4f),
  'f32.eq': plain(0x5b),
  'f32.ne': plain(0x5c),
  'f32.lt': plain(0x5d),
  'f32.gt': plain(0x5e),
  'f32.le': plain(0x5f),
  'f32.ge': plain(0x60),
  'i32.add': plain(0x6a),
  'i32.sub': plain(0x6b),
  'i32.mul': plain(0x6c),
  'i32.div_s': plain(0x6d),
  'i32.div_u': plain(0x6e),
  'i32.rem_u': plain(0x70),
  'i32.and': plain(0x71),
  'i32.or': plain(0x72),
  'i32.xor': plain(0x73),
  'i32.shl': plain(0x74),
  'i32.shr_s': plain(0x75),
  'i32.shr_u': plain(0x76),
  'f32.abs': plain(0x8b),
  'f32.floor': plain(0x8e),
  'f32.neg': plain(0x8c),
  'f32.sqrt': plain(0x91),
  'f32.add': plain(0x92),
  'f32.sub': plain(0x93),
  'f32.mul': plain(0x94),
  'f32.div': plain(0x95),
  'f32.min': plain(0x96),
  'f32.max': plain(0x97),
  'i32.trunc_f32_s': plain(0xa8),
  'f32.convert_i32_s': plain(0xb2),
  'f32.convert_i32_u': plain(0xb3),
  'i32.reinterpret_f32': plain(0xbc),
  'f32.reinterpret_i32': plain(0xbe),
  // SIMD (0xfd prefix)
  'v128.load': simd(0x00, 'mem', 4),
  'v128.load32_splat': simd(0x09, 'mem', 2),
  'v128.store': simd(0x0b, 'mem', 4),
  'v128.const': simd(0x0c, 'v128'),
  'i32x4.splat': simd(0x11),
  'f32x4.splat': simd(0x13),
  'f32x4.extract_lane': simd(0x1f, 'lane'),
  'f32x4.replace_lane': simd(0x20, 'lane'),
  'f32x4.eq': simd(0x41),
  'f32x4.ne': simd(0x42),
  'f32x4.lt': simd(0x43),
  'f32x4.gt': simd(0x44),
  'f32x4.le': simd(0x45),
  'f32x4.ge': simd(0x46),
  'v128.not': simd(0x4d),
  'v128.and': simd(0x4e),
  'v128.andnot': simd(0x4f),
  'v128.or': simd(0x50),
  'v128.xor': simd(0x51),
  'v128.bitselect': simd(0x52),
  'f32x4.floor': simd(0x68),
  'i32x4.shl': simd(0xab),
  'i32x4.add': simd(0xae),
  'i32x4.sub': simd(0xb1),
  'f32x4.abs': simd(0xe0),
  'f32x4.neg': simd(0xe1),
  'f32x4.sqrt': simd(0xe3),
  'f32x4.add': simd(0xe4),
  'f32x4.sub': simd(0xe5),
  'f32x4.mul': simd(0xe6),
  'f32x4.div': simd(0xe7),
  'f32x4.min': simd(0xe8),
  'f32x4.max': simd(0xe9),
  'f32x4.pmin': simd(0xea),
  'f32x4.pmax': simd(0xeb),
  'i32x4.trunc_sat_f32x4_s': simd(0xf8),
  'f32x4.convert_i32x4_s': simd(0xfa),
};

/** Unsigned LEB128. */
function uleb(out: number[], v: number): void {
  if (v < 0 || !Number.isInteger(v)) throw new Error(`uleb: bad value ${v}`);
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** Signed LEB128 for 32-bit values. */
function sleb(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

function parseIntToken(tok: string): number {
  const v = Number(tok.replace(/_/g, ''));
  if (!Number.isFinite(v)) throw new Error(`bad integer '${tok}'`);
  return v;
}

/** Assembles one function body into code bytes (locals header + instructions + end). */
function assembleBody(fn: WasmFunction, funcIndex: Map<string, number>): number[] {
  const localIdx = new Map<string, number>();
  fn.params.forEach(([n], i) => localIdx.set(n, i));
  const locals = fn.locals ?? [];
  locals.forEach(([n], i) => {
    if (localIdx.has(n)) throw new Error(`${fn.name}: duplicate local ${n}`);
    localIdx.set(n, fn.params.length + i);
  });
  const code: number[] = [];
  // locals header: run-length groups
  const groups: [number, ValType][] = [];
  for (const [, t] of locals) {
    const last = groups[groups.length - 1];
    if (last && last[1] === t) last[0]++;
    else groups.push([1, t]);
  }
  uleb(code, groups.length);
  for (const [n, t] of groups) {
    uleb(code, n);
    code.push(TYPE_CODE[t]);
  }

  const text = fn.body.replace(/;;[^\n]*/g, ' ');
  const tokens = text.split(/\s+/).filter((t) => t.length > 0);
  const labels: (string | null)[] = []; // control stack, innermost last
  let i = 0;
  const next = (what: string): string => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`${fn.name}: expected ${what} at end of body`);
    return t;
  };
  while (i < tokens.length) {
    const tok = tokens[i++];
    const op = OPS[tok];
    if (!op) throw new Error(`${fn.name}: unknown instruction '${tok}'`);
    if (op.simd) {
      code.push(0xfd);
      uleb(code, op.code);
    } else code.push(op.code);
    switch (op.imm) {
      case 'none':
        if (tok === 'end') {
          if (labels.length === 0) throw new Error(`${fn.name}: unbalanced end`);
          labels.pop();
        }
        break;
      case 'block': {
        const peek = tokens[i];
        if (peek !== undefined && peek.startsWith('$')) {
          labels.push(peek);
          i++;
        } else labels.push(null);
        code.push(0x40);
        break;
      }
      case 'label': {
        const t = next('label');
        let depth: number;
        if (t.startsWith('$')) {
          const pos = labels.lastIndexOf(t);
          if (pos < 0) throw new Error(`${fn.name}: unknown label ${t}`);
          depth = labels.length - 1 - pos;
        } else depth = parseIntToken(t);
        uleb(code, depth);
        break;
      }
      case 'local': {
        const t = next('local');
        const idx = t.startsWith('$') ? localIdx.get(t.slice(1)) : parseIntToken(t);
        if (idx === undefined) throw new Error(`${fn.name}: unknown local ${t}`);
        uleb(code, idx);
        break;
      }
      case 'call': {
        const t = next('function');
        const idx = funcIndex.get(t.replace(/^\$/, ''));
        if (idx === undefined) throw new Error(`${fn.name}: unknown function ${t}`);
        uleb(code, idx);
        break;
      }
      case 'i32':
        sleb(code, parseIntToken(next('i32 constant')));
        break;
      case 'f32': {
        const tokF = next('f32 constant');
        const v = tokF === 'inf' ? Infinity : tokF === '-inf' ? -Infinity : tokF === 'nan' ? NaN : Number(tokF);
        if (Number.isNaN(v) && tokF !== 'nan') throw new Error(`${fn.name}: bad f32 constant '${tokF}'`);
        const b = new Uint8Array(new Float32Array([v]).buffer);
        for (const x of b) code.push(x);
        break;
      }
      case 'v128': {
        // only the `f32x4 a b c d` form
        const shape = next('v128 shape');
        if (shape !== 'f32x4') throw new Error(`${fn.name}: v128.const supports f32x4 only`);
        const f = new Float32Array(4);
        for (let k = 0; k < 4; k++) f[k] = Number(next('f32 lane'));
        for (const x of new Uint8Array(f.buffer)) code.push(x);
        break;
      }
      case 'lane':
        code.push(parseIntToken(next('lane index')));
        break;
      case 'mem': {
        let offset = 0;
        let align = op.align ?? 0;
        while (i < tokens.length && /^(offset|align)=/.test(tokens[i])) {
          const [k, v] = tokens[i++].split('=');
          if (k === 'offset') offset = parseIntToken(v);
          else align = Math.log2(parseIntToken(v));
        }
        uleb(code, align);
        uleb(code, offset);
        break;
      }
    }
  }
  if (labels.length !== 0) throw new Error(`${fn.name}: ${labels.length} unclosed block(s)`);
  code.push(0x0b);
  const out: number[] = [];
  uleb(out, code.length);
  return out.concat(code);
}

/** Assembles a module: type, import (env.memory), function, export and code sections. */
export function assemble(spec: WasmModuleSpec): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const funcIndex = new Map<string, number>();
  spec.functions.forEach((f, i) => funcIndex.set(f.name, i));

  // types: one per function (duplicates are harmless)
  const types: number[] = [];
  uleb(types, spec.functions.length);
  for (const f of spec.functions) {
    types.push(0x60);
    uleb(types, f.params.length);
    for (const [, t] of f.params) types.push(TYPE_CODE[t]);
    const res = f.results ?? [];
    uleb(types, res.length);
    for (const t of res) types.push(TYPE_CODE[t]);
  }
  section(out, 1, types);

  const imports: number[] = [];
  uleb(imports, 1);
  name(imports, 'env');
  name(imports, 'memory');
  imports.push(0x02); // memory
  imports.push(spec.memory.shared ? 0x03 : 0x01);
  uleb(imports, spec.memory.minPages);
  uleb(imports, spec.memory.maxPages);
  section(out, 2, imports);

  const funcs: number[] = [];
  uleb(funcs, spec.functions.length);
  spec.functions.forEach((_, i) => uleb(funcs, i));
  section(out, 3, funcs);

  const exportsList = spec.functions.map((f, i) => [f, i] as const).filter(([f]) => f.exported !== false);
  const exps: number[] = [];
  uleb(exps, exportsList.length);
  for (const [f, i] of exportsList) {
    name(exps, f.name);
    exps.push(0x00);
    uleb(exps, i);
  }
  section(out, 7, exps);

  const codeSec: number[] = [];
  uleb(codeSec, spec.functions.length);
  for (const f of spec.functions) for (const b of assembleBody(f, funcIndex)) codeSec.push(b);
  section(out, 10, codeSec);
  return new Uint8Array(out);
}
