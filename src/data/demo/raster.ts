/**
 * A tiny anti-aliased rasterizer for the demo product images: an RGB buffer and filled primitives
 * (rounded rectangles, ellipses, rings, arcs, capsules, polygons) evaluated as signed distance fields,
 * so edges get one pixel of coverage-based anti-aliasing. Shapes are given in a unit "design space"
 * ([0,1]², y down) mapped to pixels by a per-image transform (offset, scale, mirror). Pure arithmetic:
 * the same calls give the same bytes everywhere.
 */
import type { Rgb } from './taxonomy.js';

/** Signed distance in design units: negative inside. */
type Sdf = (x: number, y: number) => number;

export class Raster {
  readonly width: number;
  readonly height: number;
  /** RGB, row-major, 3 bytes a pixel. */
  readonly data: Uint8Array;
  private ox = 0;
  private oy = 0;
  /** Pixels per design unit. */
  private s = 1;
  private mirror = false;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 3);
    this.setTransform(0, 0, 1, false);
  }

  /** Design (0,0) maps to pixel (ox, oy); one design unit spans `scale * width` pixels. */
  setTransform(ox: number, oy: number, scale: number, mirror: boolean): void {
    this.ox = ox;
    this.oy = oy;
    this.s = scale * this.width;
    this.mirror = mirror;
  }

  /** Vertical gradient over the whole image (ignores the transform). */
  gradient(top: Rgb, bottom: Rgb): void {
    const { width, height, data } = this;
    for (let y = 0; y < height; y++) {
      const t = height > 1 ? y / (height - 1) : 0;
      const r = Math.round(top[0] + (bottom[0] - top[0]) * t);
      const g = Math.round(top[1] + (bottom[1] - top[1]) * t);
      const b = Math.round(top[2] + (bottom[2] - top[2]) * t);
      let o = y * width * 3;
      for (let x = 0; x < width; x++) {
        data[o++] = r;
        data[o++] = g;
        data[o++] = b;
      }
    }
  }

  /** Fills the region where `sdf < 0` inside the design-space box [x0,x1]×[y0,y1] (the shape's bounds). */
  fill(x0: number, y0: number, x1: number, y1: number, sdf: Sdf, color: Rgb, alpha = 1): void {
    const { width, height, data, s, ox, oy, mirror } = this;
    // Design bounds to pixel bounds (mirror flips x around the design box centre 0.5).
    const dx0 = mirror ? 1 - x1 : x0;
    const dx1 = mirror ? 1 - x0 : x1;
    const px0 = Math.max(0, Math.floor(ox + dx0 * s) - 1);
    const px1 = Math.min(width - 1, Math.ceil(ox + dx1 * s) + 1);
    const py0 = Math.max(0, Math.floor(oy + y0 * s) - 1);
    const py1 = Math.min(height - 1, Math.ceil(oy + y1 * s) + 1);
    if (px0 > px1 || py0 > py1) return;
    const [cr, cg, cb] = color;
    const inv = 1 / s;
    for (let py = py0; py <= py1; py++) {
      const y = (py + 0.5 - oy) * inv;
      let o = (py * width + px0) * 3;
      for (let px = px0; px <= px1; px++, o += 3) {
        let x = (px + 0.5 - ox) * inv;
        if (mirror) x = 1 - x;
        const d = sdf(x, y) * s;
        if (d >= 0.5) continue;
        const a = d <= -0.5 ? alpha : (0.5 - d) * alpha;
        data[o] = Math.round(data[o] + (cr - data[o]) * a);
        data[o + 1] = Math.round(data[o + 1] + (cg - data[o + 1]) * a);
        data[o + 2] = Math.round(data[o + 2] + (cb - data[o + 2]) * a);
      }
    }
  }

  /** Rounded rectangle with top-left (x, y), size (w, h) and corner radius r. */
  rect(x: number, y: number, w: number, h: number, r: number, color: Rgb, alpha = 1): void {
    const cx = x + w / 2;
    const cy = y + h / 2;
    const rad = Math.min(r, w / 2, h / 2);
    const bx = w / 2 - rad;
    const by = h / 2 - rad;
    this.fill(
      x, y, x + w, y + h,
      (px, py) => {
        const qx = Math.abs(px - cx) - bx;
        const qy = Math.abs(py - cy) - by;
        const mx = qx > 0 ? qx : 0;
        const my = qy > 0 ? qy : 0;
        return Math.sqrt(mx * mx + my * my) + Math.min(Math.max(qx, qy), 0) - rad;
      },
      color, alpha,
    );
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, color: Rgb, alpha = 1): void {
    const m = Math.min(rx, ry);
    this.fill(
      cx - rx, cy - ry, cx + rx, cy + ry,
      (px, py) => {
        const X = (px - cx) / rx;
        const Y = (py - cy) / ry;
        const k0 = Math.sqrt(X * X + Y * Y);
        const X2 = (px - cx) / (rx * rx);
        const Y2 = (py - cy) / (ry * ry);
        const k1 = Math.sqrt(X2 * X2 + Y2 * Y2);
        return k1 === 0 ? -m : (k0 * (k0 - 1)) / k1;
      },
      color, alpha,
    );
  }

  circle(cx: number, cy: number, r: number, color: Rgb, alpha = 1): void {
    this.fill(cx - r, cy - r, cx + r, cy + r, (px, py) => len(px - cx, py - cy) - r, color, alpha);
  }

  /** A ring of centre radius r and thickness t. */
  ring(cx: number, cy: number, r: number, t: number, color: Rgb, alpha = 1): void {
    const o = r + t / 2;
    this.fill(cx - o, cy - o, cx + o, cy + o, (px, py) => Math.abs(len(px - cx, py - cy) - r) - t / 2, color, alpha);
  }

  /**
   * A ring segment from angle a0 to a1 (radians, counter-clockwise on screen with y down means
   * angles are measured as atan2(-dy, dx)), thickness t, with round ends.
   */
  arc(cx: number, cy: number, r: number, t: number, a0: number, a1: number, color: Rgb, alpha = 1): void {
    const o = r + t / 2;
    const e0x = cx + r * Math.cos(a0);
    const e0y = cy - r * Math.sin(a0);
    const e1x = cx + r * Math.cos(a1);
    const e1y = cy - r * Math.sin(a1);
    this.fill(
      cx - o, cy - o, cx + o, cy + o,
      (px, py) => {
        let a = Math.atan2(-(py - cy), px - cx);
        if (a < a0) a += 2 * Math.PI;
        if (a <= a1) return Math.abs(len(px - cx, py - cy) - r) - t / 2;
        return Math.min(len(px - e0x, py - e0y), len(px - e1x, py - e1y)) - t / 2;
      },
      color, alpha,
    );
  }

  /** A segment from (x1,y1) to (x2,y2) with round caps of radius r. */
  capsule(x1: number, y1: number, x2: number, y2: number, r: number, color: Rgb, alpha = 1): void {
    const bax = x2 - x1;
    const bay = y2 - y1;
    const bb = bax * bax + bay * bay || 1e-12;
    this.fill(
      Math.min(x1, x2) - r, Math.min(y1, y2) - r, Math.max(x1, x2) + r, Math.max(y1, y2) + r,
      (px, py) => {
        const pax = px - x1;
        const pay = py - y1;
        let h = (pax * bax + pay * bay) / bb;
        h = h < 0 ? 0 : h > 1 ? 1 : h;
        return len(pax - bax * h, pay - bay * h) - r;
      },
      color, alpha,
    );
  }

  /** A simple polygon given as flat [x0, y0, x1, y1, ...]. */
  polygon(pts: readonly number[], color: Rgb, alpha = 1): void {
    const n = pts.length / 2;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, pts[2 * i]);
      x1 = Math.max(x1, pts[2 * i]);
      y0 = Math.min(y0, pts[2 * i + 1]);
      y1 = Math.max(y1, pts[2 * i + 1]);
    }
    this.fill(
      x0, y0, x1, y1,
      (px, py) => {
        let d = (px - pts[0]) ** 2 + (py - pts[1]) ** 2;
        let sign = 1;
        for (let i = 0, j = n - 1; i < n; j = i, i++) {
          const vix = pts[2 * i];
          const viy = pts[2 * i + 1];
          const ex = pts[2 * j] - vix;
          const ey = pts[2 * j + 1] - viy;
          const wx = px - vix;
          const wy = py - viy;
          let h = (wx * ex + wy * ey) / (ex * ex + ey * ey);
          h = h < 0 ? 0 : h > 1 ? 1 : h;
          const bx = wx - ex * h;
          const by = wy - ey * h;
          d = Math.min(d, bx * bx + by * by);
          const c1 = py >= viy;
          const c2 = py < pts[2 * j + 1];
          const c3 = ex * wy > ey * wx;
          if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sign = -sign;
        }
        return sign * Math.sqrt(d);
      },
      color, alpha,
    );
  }
}

/** Euclidean length (Math.hypot is several times slower and this runs per pixel). */
function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

/** Linear mix of two colours (t = 0 gives a). */
export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}

/** Perceived brightness 0..255. */
export function luma(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
