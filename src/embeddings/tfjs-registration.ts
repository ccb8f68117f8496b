/**
 * Two tfjs copies live in one process once both offline encoders have loaded: `@energetic-ai/core` (USE-lite,
 * text) bundles tfjs 4.5 with its WASM backend, and the bundled image encoder runs `@tensorflow/tfjs` 4.22 with
 * its WASM backend. Both register into tfjs's process-wide registries, so the copy that loads second warns once
 * per kernel — about 150 lines ("The kernel 'X' for backend 'wasm' is already registered", "wasm backend was
 * already registered. Reusing existing backend factory.", "Platform node has already been set. Overwriting the
 * platform with node.") — on every `plotpointe serve` that warms both cold-start encoders. The registrations
 * already in place stay in force and both encoders work (their tests check their outputs), so while an encoder
 * loads, exactly these known lines are dropped; every other warning passes through.
 */
const KNOWN_LINES = [
  /^The kernel '[^']+' for backend '[^']+' is already registered$/,
  /^\w+ backend was already registered\. Reusing existing backend factory\.$/,
  /^Platform \w+ has already been set\. Overwriting the platform with \w+\.$/,
];

let depth = 0;
let original: typeof console.warn | null = null;

/** Runs `load` (an encoder's tfjs import and initialisation) with the re-registration warnings dropped. */
export async function withoutTfjsReRegistrationWarnings<T>(load: () => Promise<T>): Promise<T> {
  if (depth++ === 0) {
    const warn = (original = console.warn);
    console.warn = (...args: unknown[]) => {
      if (args.length === 1 && typeof args[0] === 'string' && KNOWN_LINES.some((r) => r.test(args[0] as string))) return;
      warn.apply(console, args);
    };
  }
  try {
    return await load();
  } finally {
    if (--depth === 0) {
      console.warn = original!;
      original = null;
    }
  }
}
