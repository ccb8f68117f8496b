/**
 * Product-type silhouettes for the demo images, drawn with the rasterizer's filled primitives in design
 * space ([0,1]², y down, product roughly within [0.05, 0.95]). Each silhouette paints the body in the
 * product colour, details in darker/lighter shades and trims in the brand accent, and says where the brand
 * logo goes. Small seeded variations (`v`, in [0,1)) change proportions without changing the type's look.
 */
import { Raster, mix, luma, WHITE, BLACK } from './raster.js';
import type { LogoShape, Rgb, ShapeKey } from './taxonomy.js';

export interface Palette {
  body: Rgb;
  accent: Rgb;
  /** A darker shade of the body (or near black for dark bodies). */
  dark: Rgb;
  /** A contrasting trim shade of the body. */
  trim: Rgb;
  screen: Rgb;
  glass: Rgb;
  metal: Rgb;
}

export function makePalette(body: Rgb, accent: Rgb): Palette {
  const l = luma(body);
  return {
    body,
    accent,
    dark: l > 90 ? mix(body, BLACK, 0.55) : ([16, 16, 20] as Rgb),
    trim: l > 140 ? mix(body, BLACK, 0.25) : mix(body, WHITE, 0.3),
    screen: [18, 26, 44],
    glass: [22, 24, 38],
    metal: [176, 178, 184],
  };
}

/** Where and how big the brand mark is drawn. */
export interface LogoAnchor {
  x: number;
  y: number;
  size: number;
}

type Draw = (r: Raster, p: Palette, v: number) => LogoAnchor;

const SHINE: Rgb = [255, 255, 255];

function screenShine(r: Raster, x: number, y: number, w: number, h: number): void {
  r.polygon([x, y, x + w * 0.45, y, x + w * 0.15, y + h, x, y + h], SHINE, 0.1);
}

function headphonesBody(r: Raster, p: Palette, v: number, gaming: boolean): LogoAnchor {
  const bandR = 0.3 + 0.03 * v;
  r.arc(0.5, 0.52, bandR, 0.055, 0.05 * Math.PI, 0.95 * Math.PI, p.body);
  r.arc(0.5, 0.52, bandR - 0.035, 0.02, 0.12 * Math.PI, 0.88 * Math.PI, p.dark);
  r.rect(0.15, 0.47, 0.05, 0.12, 0.02, p.metal);
  r.rect(0.8, 0.47, 0.05, 0.12, 0.02, p.metal);
  for (const x of [0.1, 0.74]) {
    r.rect(x, 0.52, 0.16, 0.28, 0.07, p.body);
    r.rect(x + (x < 0.5 ? 0.11 : -0.02), 0.55, 0.07, 0.22, 0.035, p.dark);
    if (gaming) r.ring(x + 0.08, 0.66, 0.06, 0.018, p.accent);
  }
  if (gaming) {
    r.capsule(0.2, 0.74, 0.36, 0.86, 0.014, p.dark);
    r.circle(0.37, 0.865, 0.025, p.accent);
  }
  return { x: 0.18, y: 0.66, size: 0.03 };
}

const SHAPES: Record<ShapeKey, Draw> = {
  laptop(r, p, v) {
    const h = 0.4 + 0.04 * v;
    const top = 0.6 - h;
    r.rect(0.19, top, 0.62, h, 0.025, p.body);
    r.rect(0.215, top + 0.025, 0.57, h - 0.055, 0.008, p.screen);
    screenShine(r, 0.215, top + 0.025, 0.57, h - 0.055);
    r.polygon([0.19, 0.6, 0.81, 0.6, 0.9, 0.685, 0.1, 0.685], p.body);
    r.polygon([0.24, 0.612, 0.76, 0.612, 0.79, 0.655, 0.21, 0.655], p.dark, 0.55);
    r.rect(0.1, 0.685, 0.8, 0.022, 0.01, p.trim);
    return { x: 0.5, y: 0.588, size: 0.012 };
  },
  tablet(r, p, v) {
    const w = 0.38 + 0.06 * v;
    const x = 0.5 - w / 2;
    r.rect(x, 0.14, w, 0.72, 0.05, p.body);
    r.rect(x + 0.03, 0.2, w - 0.06, 0.58, 0.01, p.screen);
    screenShine(r, x + 0.03, 0.2, w - 0.06, 0.58);
    r.circle(0.5, 0.17, 0.009, p.dark);
    return { x: 0.5, y: 0.82, size: 0.018 };
  },
  monitor(r, p, v) {
    const h = 0.44 + 0.06 * v;
    r.rect(0.08, 0.14, 0.84, h, 0.015, p.dark);
    r.rect(0.1, 0.16, 0.8, h - 0.05, 0.004, p.screen);
    screenShine(r, 0.1, 0.16, 0.8, h - 0.05);
    r.rect(0.08, 0.14 + h - 0.03, 0.84, 0.03, 0.01, p.body);
    r.rect(0.46, 0.14 + h, 0.08, 0.7 - h, 0.01, p.trim);
    r.ellipse(0.5, 0.85, 0.2, 0.035, p.body);
    return { x: 0.5, y: 0.14 + h - 0.015, size: 0.012 };
  },
  keyboard(r, p, v) {
    const y = 0.36 + 0.04 * v;
    r.rect(0.06, y, 0.88, 0.28, 0.03, p.body);
    for (let row = 0; row < 4; row++) {
      for (let col = 0; col < 13; col++) {
        const kx = 0.09 + col * 0.063;
        const ky = y + 0.035 + row * 0.058;
        const accent = (row === 0 && col === 0) || (row === 3 && col >= 4 && col <= 8);
        if (row === 3 && col > 4 && col <= 8) continue;
        const w = row === 3 && col === 4 ? 0.3 : 0.05;
        r.rect(kx, ky, w, 0.045, 0.008, accent ? p.accent : p.dark);
      }
    }
    return { x: 0.9, y: y + 0.018, size: 0.01 };
  },
  mouse(r, p, v) {
    const ry = 0.26 + 0.03 * v;
    r.ellipse(0.5, 0.52, 0.17, ry, p.body);
    r.ellipse(0.5, 0.58, 0.15, ry - 0.06, p.trim, 0.35);
    r.capsule(0.5, 0.52 - ry + 0.02, 0.5, 0.45, 0.006, p.dark);
    r.rect(0.485, 0.32, 0.03, 0.08, 0.015, p.accent);
    r.capsule(0.34, 0.42, 0.33, 0.58, 0.012, p.dark, 0.6);
    return { x: 0.5, y: 0.66, size: 0.025 };
  },
  router(r, p, v) {
    const n = 3 + Math.floor(v * 2);
    for (let i = 0; i < n; i++) {
      const x = 0.2 + (0.6 * (i + 0.5)) / n;
      r.capsule(x, 0.57, x + (i - (n - 1) / 2) * 0.03, 0.2, 0.022, p.body);
    }
    r.rect(0.13, 0.54, 0.74, 0.18, 0.03, p.body);
    r.rect(0.13, 0.67, 0.74, 0.022, 0.01, p.dark);
    for (let i = 0; i < 6; i++) r.circle(0.4 + i * 0.07, 0.62, 0.01, p.accent);
    return { x: 0.22, y: 0.61, size: 0.02 };
  },
  drive(r, p, v) {
    const h = 0.52 + 0.06 * v;
    r.capsule(0.5, 0.25 + h, 0.5, 0.94, 0.014, p.dark);
    r.rect(0.29, 0.25, 0.42, h, 0.05, p.body);
    r.rect(0.29, 0.25 + h - 0.12, 0.42, 0.04, 0, p.dark, 0.7);
    r.circle(0.5, 0.3, 0.012, p.accent);
    return { x: 0.5, y: 0.52, size: 0.045 };
  },
  camera(r, p, v) {
    r.polygon([0.38, 0.33, 0.44, 0.2, 0.62, 0.2, 0.68, 0.33], p.body);
    r.rect(0.13, 0.31, 0.74, 0.42, 0.04, p.body);
    r.rect(0.13, 0.31, 0.13, 0.42, 0.04, p.dark);
    r.rect(0.19, 0.265, 0.09, 0.05, 0.012, p.accent);
    const lr = 0.16 + 0.02 * v;
    r.circle(0.55, 0.53, lr + 0.02, p.dark);
    r.ring(0.55, 0.53, lr - 0.01, 0.022, p.trim);
    r.circle(0.55, 0.53, lr - 0.045, p.glass);
    r.circle(0.52, 0.5, 0.03, SHINE, 0.45);
    return { x: 0.78, y: 0.37, size: 0.022 };
  },
  lens(r, p, v) {
    const len = 0.48 + 0.1 * v;
    const x0 = 0.5 - len / 2;
    r.rect(x0 - 0.06, 0.36, 0.07, 0.28, 0.01, p.metal);
    r.rect(x0, 0.29, len, 0.42, 0.02, p.body);
    r.rect(x0 + len * 0.2, 0.29, len * 0.25, 0.42, 0, p.dark);
    for (let i = 0; i < 7; i++) r.rect(x0 + len * 0.2 + i * len * 0.035, 0.29, len * 0.012, 0.42, 0, p.trim, 0.5);
    r.rect(x0 + len * 0.72, 0.29, 0.02, 0.42, 0, p.accent);
    r.ellipse(x0 + len, 0.5, 0.06, 0.21, p.dark);
    r.ellipse(x0 + len + 0.01, 0.5, 0.04, 0.17, p.glass);
    return { x: x0 + len * 0.58, y: 0.4, size: 0.02 };
  },
  tripod(r, p, v) {
    const spread = 0.3 + 0.06 * v;
    r.capsule(0.5, 0.3, 0.5 - spread, 0.9, 0.018, p.body);
    r.capsule(0.5, 0.3, 0.5 + spread, 0.9, 0.018, p.body);
    r.capsule(0.5, 0.3, 0.52, 0.92, 0.018, p.body);
    for (const [x, y] of [[0.5 - spread / 2, 0.6], [0.5 + spread / 2, 0.6], [0.51, 0.61]]) r.rect(x - 0.025, y - 0.02, 0.05, 0.04, 0.01, p.accent);
    r.capsule(0.5, 0.22, 0.5, 0.45, 0.016, p.metal);
    r.rect(0.42, 0.19, 0.16, 0.08, 0.02, p.dark);
    r.rect(0.37, 0.16, 0.26, 0.035, 0.01, p.body);
    r.capsule(0.58, 0.24, 0.74, 0.3, 0.012, p.dark);
    return { x: 0.5, y: 0.23, size: 0.015 };
  },
  actioncam(r, p, v) {
    const s = 0.42 + 0.05 * v;
    const x = 0.5 - s / 2;
    r.rect(x, 0.3, s, s * 0.82, 0.05, p.body);
    r.rect(x + s * 0.66, 0.265, s * 0.2, 0.04, 0.01, p.accent);
    r.circle(x + s * 0.32, 0.3 + s * 0.45, s * 0.26, p.dark);
    r.circle(x + s * 0.32, 0.3 + s * 0.45, s * 0.17, p.glass);
    r.circle(x + s * 0.28, 0.3 + s * 0.41, s * 0.05, SHINE, 0.5);
    r.rect(x + s * 0.62, 0.3 + s * 0.12, s * 0.3, s * 0.3, 0.01, p.screen);
    return { x: x + s * 0.77, y: 0.3 + s * 0.65, size: 0.02 };
  },
  overear(r, p, v) {
    return headphonesBody(r, p, v, false);
  },
  earbuds(r, p, v) {
    const w = 0.4 + 0.06 * v;
    r.rect(0.5 - w / 2, 0.5, w, 0.3, 0.13, p.body);
    r.capsule(0.5 - w / 2 + 0.02, 0.6, 0.5 + w / 2 - 0.02, 0.6, 0.004, p.dark);
    r.circle(0.5, 0.7, 0.012, p.accent);
    for (const side of [-1, 1]) {
      const cx = 0.5 + side * 0.12;
      r.capsule(cx, 0.34, cx + side * 0.02, 0.47, 0.026, p.body);
      r.circle(cx, 0.31, 0.065, p.body);
      r.circle(cx - side * 0.03, 0.29, 0.032, p.dark);
    }
    return { x: 0.5, y: 0.55, size: 0.02 };
  },
  tv(r, p, v) {
    const h = 0.5 + 0.04 * v;
    r.polygon([0.17, 0.16 + h, 0.22, 0.16 + h, 0.16, 0.82, 0.11, 0.82], p.dark);
    r.polygon([0.78, 0.16 + h, 0.83, 0.16 + h, 0.89, 0.82, 0.84, 0.82], p.dark);
    r.rect(0.04, 0.16, 0.92, h, 0.01, p.body);
    r.rect(0.055, 0.175, 0.89, h - 0.04, 0, p.screen);
    r.polygon([0.055, 0.175 + h - 0.04, 0.3, 0.35, 0.45, 0.5, 0.62, 0.3, 0.945, 0.175 + h - 0.04], p.accent, 0.3);
    screenShine(r, 0.055, 0.175, 0.89, h - 0.04);
    return { x: 0.5, y: 0.16 + h - 0.012, size: 0.01 };
  },
  streamer(r, p, v) {
    const w = 0.3 + 0.05 * v;
    r.rect(0.14, 0.52, w, 0.13, 0.05, p.body);
    r.circle(0.14 + w - 0.04, 0.585, 0.01, p.accent);
    r.rect(0.6, 0.2, 0.14, 0.62, 0.07, p.dark);
    r.ring(0.67, 0.33, 0.045, 0.02, p.trim);
    r.circle(0.67, 0.33, 0.02, p.body);
    for (let i = 0; i < 3; i++) r.circle(0.67, 0.47 + i * 0.08, 0.018, i === 0 ? p.accent : p.trim);
    return { x: 0.14 + w / 2, y: 0.585, size: 0.022 };
  },
  projector(r, p, v) {
    const h = 0.28 + 0.05 * v;
    r.rect(0.2, 0.38 + h, 0.06, 0.04, 0.01, p.dark);
    r.rect(0.74, 0.38 + h, 0.06, 0.04, 0.01, p.dark);
    r.rect(0.13, 0.38, 0.74, h, 0.05, p.body);
    r.circle(0.33, 0.38 + h / 2, 0.11, p.dark);
    r.circle(0.33, 0.38 + h / 2, 0.07, p.glass);
    r.circle(0.31, 0.36 + h / 2, 0.02, SHINE, 0.5);
    for (let i = 0; i < 5; i++) r.capsule(0.55 + i * 0.05, 0.45, 0.55 + i * 0.05, 0.33 + h, 0.008, p.dark, 0.7);
    return { x: 0.78, y: 0.42, size: 0.02 };
  },
  phone(r, p, v) {
    const w = 0.32 + 0.05 * v;
    const x = 0.5 - w / 2;
    r.rect(x, 0.1, w, 0.8, 0.06, p.body);
    r.rect(x + 0.018, 0.13, w - 0.036, 0.72, 0.045, p.screen);
    screenShine(r, x + 0.018, 0.13, w - 0.036, 0.72);
    r.rect(0.45, 0.13, 0.1, 0.025, 0.012, p.body);
    r.rect(x + w, 0.3, 0.008, 0.1, 0.004, p.trim);
    return { x: 0.5, y: 0.875, size: 0.012 };
  },
  phonecase(r, p, v) {
    const w = 0.34 + 0.05 * v;
    const x = 0.5 - w / 2;
    r.rect(x, 0.1, w, 0.8, 0.07, p.body);
    r.rect(x + 0.02, 0.12, w - 0.04, 0.76, 0.06, p.trim, 0.25);
    r.rect(x + 0.035, 0.15, 0.15, 0.17, 0.04, p.dark);
    r.circle(x + 0.075, 0.195, 0.028, p.glass);
    r.circle(x + 0.075, 0.27, 0.028, p.glass);
    r.circle(x + 0.145, 0.23, 0.012, p.accent);
    return { x: 0.5, y: 0.55, size: 0.035 };
  },
  charger(r, p, v) {
    const s = 0.3 + 0.04 * v;
    r.capsule(0.47, 0.34 + s, 0.42, 0.76, 0.016, p.dark);
    r.capsule(0.42, 0.76, 0.27, 0.86, 0.016, p.dark);
    r.rect(0.32 + s, 0.42, 0.12, 0.035, 0.006, p.metal);
    r.rect(0.32 + s, 0.5, 0.12, 0.035, 0.006, p.metal);
    r.rect(0.32, 0.34, s, s, 0.05, p.body);
    r.rect(0.32 + s * 0.25, 0.34 + s * 0.55, s * 0.2, s * 0.1, 0.01, p.dark);
    r.rect(0.32 + s * 0.55, 0.34 + s * 0.55, s * 0.2, s * 0.1, 0.01, p.dark);
    r.circle(0.32 + s * 0.8, 0.34 + s * 0.2, 0.01, p.accent);
    return { x: 0.32 + s / 2, y: 0.34 + s * 0.28, size: 0.02 };
  },
  smartspeaker(r, p, v) {
    const h = 0.44 + 0.06 * v;
    r.rect(0.32, 0.3, 0.36, h, 0.05, p.body);
    for (let i = 1; i < 8; i++) r.rect(0.32, 0.3 + (i * h) / 8, 0.36, 0.006, 0, p.dark, 0.2);
    r.ellipse(0.5, 0.3, 0.18, 0.045, p.trim);
    r.ellipse(0.5, 0.3, 0.14, 0.032, p.accent);
    r.ellipse(0.5, 0.3, 0.11, 0.022, p.trim);
    return { x: 0.5, y: 0.3 + h - 0.05, size: 0.02 };
  },
  seccam(r, p, v) {
    r.rect(0.16, 0.78, 0.22, 0.04, 0.01, p.trim);
    r.rect(0.245, 0.48, 0.05, 0.32, 0.01, p.trim);
    const len = 0.36 + 0.05 * v;
    r.capsule(0.3, 0.42, 0.3 + len, 0.42, 0.115, p.body);
    r.rect(0.24, 0.29, 0.5, 0.03, 0.015, p.dark, 0.6);
    r.circle(0.3 + len, 0.42, 0.1, p.dark);
    r.circle(0.3 + len, 0.42, 0.06, p.glass);
    r.circle(0.29 + len, 0.41, 0.015, SHINE, 0.6);
    r.circle(0.3 + len - 0.11, 0.5, 0.012, p.accent);
    return { x: 0.42, y: 0.39, size: 0.022 };
  },
  plug(r, p, v) {
    const s = 0.38 + 0.05 * v;
    const x = 0.5 - s / 2;
    r.rect(x, 0.28, s, s * 1.15, 0.08, p.body);
    r.rect(0.43, 0.42, 0.025, 0.09, 0.008, p.dark);
    r.rect(0.545, 0.42, 0.025, 0.09, 0.008, p.dark);
    r.ring(0.5, 0.28 + s * 0.95, 0.03, 0.01, p.accent);
    r.rect(x + s, 0.36, 0.015, 0.08, 0.006, p.accent);
    return { x: 0.5, y: 0.34, size: 0.02 };
  },
  bulb(r, p, v) {
    const gr = 0.2 + 0.03 * v;
    r.circle(0.5, 0.38, gr + 0.1, p.accent, 0.18);
    r.circle(0.5, 0.38, gr, mix(p.body, WHITE, 0.55));
    r.polygon([0.5 - gr * 0.75, 0.38 + gr * 0.6, 0.5 + gr * 0.75, 0.38 + gr * 0.6, 0.57, 0.66, 0.43, 0.66], mix(p.body, WHITE, 0.55));
    r.rect(0.43, 0.64, 0.14, 0.13, 0.01, p.metal);
    for (let i = 0; i < 4; i++) r.capsule(0.43, 0.665 + i * 0.028, 0.57, 0.655 + i * 0.028, 0.005, p.dark, 0.45);
    r.polygon([0.46, 0.77, 0.54, 0.77, 0.51, 0.81, 0.49, 0.81], p.dark);
    r.circle(0.43, 0.32, 0.05, SHINE, 0.35);
    return { x: 0.5, y: 0.62, size: 0.015 };
  },
  dashcam(r, p, v) {
    r.ellipse(0.5, 0.2, 0.1, 0.03, p.dark);
    r.capsule(0.5, 0.2, 0.5, 0.42, 0.02, p.trim);
    const w = 0.48 + 0.06 * v;
    r.rect(0.5 - w / 2, 0.4, w, 0.24, 0.05, p.body);
    r.circle(0.42, 0.52, 0.085, p.dark);
    r.circle(0.42, 0.52, 0.05, p.glass);
    r.circle(0.41, 0.51, 0.013, SHINE, 0.6);
    r.circle(0.62, 0.58, 0.01, p.accent);
    return { x: 0.63, y: 0.47, size: 0.02 };
  },
  carstereo(r, p, v) {
    const h = 0.24 + 0.1 * v;
    const y = 0.5 - h / 2;
    r.rect(0.08, y, 0.84, h, 0.02, p.body);
    r.rect(0.28, y + 0.03, 0.44, h - 0.06, 0.01, p.screen);
    r.rect(0.3, y + 0.05, 0.2, 0.02, 0, p.accent, 0.8);
    r.circle(0.17, 0.5, 0.06, p.trim);
    r.ring(0.17, 0.5, 0.06, 0.012, p.accent);
    for (let i = 0; i < 3; i++) r.circle(0.8, y + 0.05 + i * (h - 0.1) / 2, 0.017, p.dark);
    return { x: 0.86, y: 0.5, size: 0.012 };
  },
  gps(r, p, v) {
    r.capsule(0.5, 0.66, 0.5, 0.83, 0.02, p.dark);
    r.ellipse(0.5, 0.85, 0.09, 0.03, p.dark);
    const w = 0.56 + 0.06 * v;
    r.rect(0.5 - w / 2, 0.28, w, 0.4, 0.04, p.body);
    r.rect(0.5 - w / 2 + 0.035, 0.31, w - 0.07, 0.31, 0.01, [40, 70, 60]);
    r.capsule(0.3, 0.58, 0.45, 0.42, 0.012, p.accent);
    r.capsule(0.45, 0.42, 0.66, 0.38, 0.012, p.accent);
    r.capsule(0.26, 0.45, 0.72, 0.55, 0.006, [230, 220, 180], 0.7);
    return { x: 0.5, y: 0.65, size: 0.012 };
  },
  smartwatch(r, p, v) {
    const cw = 0.3 + 0.04 * v;
    r.rect(0.41, 0.05, 0.18, 0.3, 0.03, p.body);
    r.rect(0.41, 0.65, 0.18, 0.3, 0.03, p.body);
    for (let i = 0; i < 3; i++) r.circle(0.5, 0.73 + i * 0.06, 0.011, p.dark);
    r.rect(0.5 - cw / 2, 0.3, cw, 0.4, 0.08, p.metal);
    r.rect(0.5 - cw / 2 + 0.03, 0.34, cw - 0.06, 0.32, 0.06, p.screen);
    r.ring(0.5, 0.5, 0.075, 0.016, p.accent);
    r.capsule(0.5, 0.5, 0.5, 0.44, 0.006, WHITE);
    r.capsule(0.5, 0.5, 0.54, 0.52, 0.006, WHITE);
    r.rect(0.5 + cw / 2, 0.44, 0.025, 0.07, 0.01, p.metal);
    return { x: 0.5, y: 0.62, size: 0.012 };
  },
  tracker(r, p, v) {
    const len = 0.3 + 0.05 * v;
    r.capsule(0.5 - len, 0.5, 0.5 + len, 0.5, 0.075, p.body);
    for (let i = 0; i < 4; i++) r.circle(0.5 + len - 0.02 - i * 0.05, 0.5, 0.01, p.dark);
    r.rect(0.35, 0.43, 0.2, 0.14, 0.05, p.dark);
    r.rect(0.365, 0.445, 0.17, 0.11, 0.04, p.screen);
    r.rect(0.38, 0.49, 0.1, 0.02, 0.005, p.accent);
    return { x: 0.3, y: 0.5, size: 0.015 };
  },
  btspeaker(r, p, v) {
    const rad = 0.15 + 0.03 * v;
    r.capsule(0.22, 0.52, 0.78, 0.52, rad, p.body);
    for (let row = -1; row <= 1; row++) {
      for (let i = 0; i < 11; i++) r.circle(0.27 + i * 0.046, 0.52 + row * rad * 0.5, 0.011, p.dark, 0.45);
    }
    r.rect(0.17, 0.52 - rad * 0.85, 0.045, rad * 1.7, 0.02, p.accent);
    r.rect(0.785, 0.52 - rad * 0.85, 0.045, rad * 1.7, 0.02, p.accent);
    r.capsule(0.74, 0.52 - rad, 0.88, 0.2, 0.01, p.dark);
    return { x: 0.5, y: 0.52, size: 0.03 };
  },
  soundbar(r, p, v) {
    const h = 0.1 + 0.04 * v;
    r.rect(0.04, 0.5 - h / 2, 0.92, h, 0.045, p.body);
    for (let i = 0; i < 30; i++) r.circle(0.1 + i * 0.027, 0.5, 0.006, p.dark, 0.5);
    r.rect(0.04, 0.5 + h / 2 - 0.015, 0.92, 0.015, 0.007, p.trim);
    r.rect(0.64, 0.5 + h / 2 + 0.05, 0.22, 0.26, 0.02, p.body);
    r.circle(0.75, 0.5 + h / 2 + 0.18, 0.07, p.dark);
    r.circle(0.75, 0.5 + h / 2 + 0.18, 0.025, p.accent);
    return { x: 0.5, y: 0.5 - h / 4, size: 0.015 };
  },
  bookshelf(r, p, v) {
    const h = 0.54 + 0.06 * v;
    for (const x of [0.13, 0.55]) {
      r.rect(x, 0.22, 0.32, h, 0.02, p.body);
      r.circle(x + 0.16, 0.22 + h * 0.62, 0.105, p.dark);
      r.ring(x + 0.16, 0.22 + h * 0.62, 0.1, 0.014, p.trim);
      r.circle(x + 0.16, 0.22 + h * 0.62, 0.035, p.accent);
      r.circle(x + 0.16, 0.22 + h * 0.25, 0.045, p.dark);
      r.circle(x + 0.16, 0.22 + h * 0.25, 0.018, p.metal);
    }
    return { x: 0.29, y: 0.22 + h - 0.04, size: 0.012 };
  },
  console(r, p, v) {
    const h = 0.18 + 0.05 * v;
    r.polygon([0.14, 0.42, 0.86, 0.42, 0.8, 0.36, 0.2, 0.36], p.trim);
    r.rect(0.1, 0.42, 0.8, h, 0.025, p.body);
    r.rect(0.1, 0.42 + h * 0.55, 0.8, 0.016, 0, p.accent);
    r.capsule(0.18, 0.42 + h * 0.3, 0.5, 0.42 + h * 0.3, 0.005, p.dark);
    r.circle(0.84, 0.42 + h * 0.3, 0.012, p.accent);
    r.rect(0.2, 0.42 + h, 0.6, 0.03, 0.01, p.dark);
    return { x: 0.7, y: 0.42 + h * 0.3, size: 0.02 };
  },
  controller(r, p, v) {
    const sp = 0.16 + 0.02 * v;
    r.capsule(0.5 - sp - 0.02, 0.55, 0.5 - sp - 0.08, 0.74, 0.1, p.body);
    r.capsule(0.5 + sp + 0.02, 0.55, 0.5 + sp + 0.08, 0.74, 0.1, p.body);
    r.rect(0.5 - sp - 0.1, 0.36, 2 * sp + 0.2, 0.26, 0.1, p.body);
    r.rect(0.5 - sp - 0.06, 0.46, 0.1, 0.03, 0.008, p.dark);
    r.rect(0.5 - sp - 0.025, 0.425, 0.03, 0.1, 0.008, p.dark);
    const bx = 0.5 + sp + 0.01;
    r.circle(bx, 0.42, 0.018, p.accent);
    r.circle(bx, 0.51, 0.018, p.accent);
    r.circle(bx - 0.045, 0.465, 0.018, p.accent);
    r.circle(bx + 0.045, 0.465, 0.018, p.accent);
    r.circle(0.42, 0.56, 0.04, p.dark);
    r.ring(0.42, 0.56, 0.04, 0.01, p.trim);
    r.circle(0.58, 0.56, 0.04, p.dark);
    r.ring(0.58, 0.56, 0.04, 0.01, p.trim);
    return { x: 0.5, y: 0.43, size: 0.018 };
  },
  headset(r, p, v) {
    return headphonesBody(r, p, v, true);
  },
};

export function drawSilhouette(r: Raster, shape: ShapeKey, palette: Palette, v: number): LogoAnchor {
  return SHAPES[shape](r, palette, v);
}

export function drawLogo(r: Raster, logo: LogoShape, at: LogoAnchor, color: Rgb): void {
  const { x, y, size: s } = at;
  switch (logo) {
    case 'dot':
      r.circle(x, y, s, color);
      break;
    case 'ring':
      r.ring(x, y, s * 0.8, s * 0.4, color);
      break;
    case 'bar':
      r.rect(x - s * 1.6, y - s * 0.45, s * 3.2, s * 0.9, s * 0.3, color);
      break;
    case 'square':
      r.rect(x - s, y - s, 2 * s, 2 * s, s * 0.15, color);
      break;
    case 'triangle':
      r.polygon([x, y - s * 1.1, x + s * 1.1, y + s * 0.8, x - s * 1.1, y + s * 0.8], color);
      break;
    case 'diamond':
      r.polygon([x, y - s * 1.2, x + s, y, x, y + s * 1.2, x - s, y], color);
      break;
  }
}
