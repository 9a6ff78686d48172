// Exact decimals for money: values arrive as the JSON text the engine
// wrote ("52000.1", "0.00001"), never through a binary float, and are
// added, compared and rounded for display as scaled BigInts.

/** A decimal: `units` × 10^-`scale`. */
export class Dec {
  constructor(units, scale) {
    this.units = units;
    this.scale = scale;
  }

  /** From a JSON number's text, a numeric string, or a safe integer. */
  static of(v) {
    if (v instanceof Dec) return v;
    if (v === null || v === undefined || v === '') return null;
    const text = typeof v === 'number' ? numberText(v) : String(v).trim();
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
    const frac = m[3] ?? '';
    let scale = frac.length - Number(m[4] ?? 0);
    let units = BigInt((m[2] || '0') + frac);
    if (scale < 0) {
      units *= 10n ** BigInt(-scale);
      scale = 0;
    }
    return new Dec(m[1] === '-' ? -units : units, scale);
  }

  static zero() {
    return new Dec(0n, 0);
  }

  withScale(scale) {
    if (scale >= this.scale) return new Dec(this.units * 10n ** BigInt(scale - this.scale), scale);
    return this.round(scale);
  }

  add(o) {
    o = Dec.of(o);
    const s = Math.max(this.scale, o.scale);
    return new Dec(this.withScale(s).units + o.withScale(s).units, s);
  }

  sub(o) {
    return this.add(Dec.of(o).neg());
  }

  mul(o) {
    o = Dec.of(o);
    return new Dec(this.units * o.units, this.scale + o.scale);
  }

  neg() {
    return new Dec(-this.units, this.scale);
  }

  cmp(o) {
    o = Dec.of(o);
    const s = Math.max(this.scale, o.scale);
    const a = this.withScale(s).units;
    const b = o.withScale(s).units;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  isZero() {
    return this.units === 0n;
  }

  sign() {
    return this.units < 0n ? -1 : this.units > 0n ? 1 : 0;
  }

  /** Rounded half away from zero to `places` decimals. */
  round(places) {
    if (places >= this.scale) return new Dec(this.units, this.scale);
    const div = 10n ** BigInt(this.scale - places);
    const neg = this.units < 0n;
    const abs = neg ? -this.units : this.units;
    let q = abs / div;
    if ((abs % div) * 2n >= div) q += 1n;
    return new Dec(neg ? -q : q, places);
  }

  /** Exact text, shortest form. */
  toString() {
    let s = this.units < 0n ? (-this.units).toString() : this.units.toString();
    let scale = this.scale;
    if (scale > 0) {
      s = s.padStart(scale + 1, '0');
      s = `${s.slice(0, -scale)}.${s.slice(-scale)}`.replace(/\.?0+$/, '');
    }
    return (this.units < 0n && s !== '0' ? '-' : '') + s;
  }

  /** Text with exactly `places` decimals and thousands separators. */
  format(places, group = true) {
    const r = this.withScale(Math.max(0, places));
    const neg = r.units < 0n;
    let digits = (neg ? -r.units : r.units).toString().padStart(places + 1, '0');
    let int = places > 0 ? digits.slice(0, -places) : digits;
    const frac = places > 0 ? digits.slice(-places) : '';
    if (group) int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const body = frac ? `${int}.${frac}` : int;
    return (neg && /[1-9]/.test(digits) ? '-' : '') + body;
  }

  toNumber() {
    return Number(this.toString());
  }
}

/** The shortest exact text of a JS number that holds a safe integer. */
function numberText(n) {
  if (!Number.isFinite(n)) return 'NaN';
  return Number.isInteger(n) ? n.toFixed(0) : String(n);
}

/** Formats a money value at `places` decimals; '' for a missing one. */
export function fmt(v, places, group = true) {
  const d = Dec.of(v);
  return d ? d.format(places, group) : '';
}

/** Decimal places of a value's exact text ("0.010" → 2 as a tick). */
export function placesOf(v) {
  const d = Dec.of(v);
  if (!d) return 0;
  const text = d.toString();
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}
