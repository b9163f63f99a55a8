/**
 * Sizes, durations and metrics as text: the mirror of
 * jupyter_mlvc/present/format.py, so a snapshot reads the same in the sidebar
 * as in the magics, the CLI and the widget (tests/test_format_mirror.py runs
 * this module in node against the Python functions).
 *
 * Python rounds the exact binary value half to even, where JavaScript's
 * `toFixed` and `toExponential` round ties up; the helpers below round the
 * exact decimal expansion the way Python does. This module imports nothing,
 * so node can load the compiled file on its own.
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** The decimal digits of `x` (finite, > 0) and the power of ten of the first. */
function decimal(x: number): { digits: string; exp: number } {
  // 100 significant digits hold the exact expansion of every double above
  // about 1e-20: enough to tell an exact tie from a near one.
  const text = x.toPrecision(100);
  const [mantissa, power] = text.split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  if (power !== undefined) {
    return { digits: whole + fraction, exp: Number(power) };
  }
  const all = whole + fraction;
  const lead = all.length - all.replace(/^0+/, '').length;
  return { digits: all.slice(lead), exp: whole.length - 1 - lead };
}

/** The first `n` digits as an integer, rounded half to even on the rest. */
function roundDigits(digits: string, n: number): bigint {
  if (n <= 0) {
    const tail = n === 0 ? digits : '';
    return tail[0] > '5' || (tail[0] === '5' && /[1-9]/.test(tail.slice(1)))
      ? 1n
      : 0n;
  }
  const kept = BigInt(digits.slice(0, n).padEnd(n, '0'));
  const rest = digits.slice(n);
  const up =
    rest[0] > '5' ||
    (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || kept % 2n === 1n));
  return up ? kept + 1n : kept;
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? '-' : '';
}

function nonFinite(x: number): string {
  return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
}

/** Python's `f"{x:.{places}f}"`. */
export function toFixedPy(x: number, places: number): string {
  if (!Number.isFinite(x)) {
    return nonFinite(x);
  }
  let units = 0n;
  if (x !== 0) {
    const { digits, exp } = decimal(Math.abs(x));
    units = roundDigits(digits, exp + 1 + places);
  }
  const text = units.toString().padStart(places + 1, '0');
  const whole = text.slice(0, text.length - places);
  const fraction = text.slice(text.length - places);
  return signOf(x) + whole + (places ? `.${fraction}` : '');
}

/** Python's `f"{x:.{precision}g}"`. */
export function toGeneralPy(x: number, precision: number): string {
  if (!Number.isFinite(x)) {
    return nonFinite(x);
  }
  if (x === 0) {
    return `${signOf(x)}0`;
  }
  const { digits, exp: first } = decimal(Math.abs(x));
  let text = roundDigits(digits, precision).toString();
  let exp = first;
  if (text.length > precision) {
    // Rounding carried into a new digit: 9.999995 -> 10.0000.
    text = text.slice(0, precision);
    exp += 1;
  }
  const strip = (s: string): string => s.replace(/0+$/, '');
  if (exp >= -4 && exp < precision) {
    const whole = exp >= 0 ? text.slice(0, exp + 1) : '0';
    const fraction = strip(
      exp >= 0 ? text.slice(exp + 1) : '0'.repeat(-exp - 1) + text
    );
    return signOf(x) + whole + (fraction ? `.${fraction}` : '');
  }
  const fraction = strip(text.slice(1));
  const power = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return `${signOf(x)}${text[0]}${fraction ? `.${fraction}` : ''}e${power}`;
}

/** `1536` -> `1.5 kB`: powers of 1000, whole bytes below a kilobyte. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) {
    return '';
  }
  let value = n;
  for (const unit of UNITS) {
    if (Math.abs(value) < 1000 || unit === 'TB') {
      return unit === 'B'
        ? `${Math.trunc(value)} B`
        : `${toFixedPy(value, 1)} ${unit}`;
    }
    value /= 1000;
  }
  return `${toFixedPy(value, 1)} TB`;
}

/** `12.3 s`, or `4 min 5 s` from a minute on. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) {
    return `${toFixedPy(seconds, 1)} s`;
  }
  // Python's round(): halves go to the even neighbour.
  const whole =
    Math.abs(seconds % 1) === 0.5
      ? 2 * Math.round(seconds / 2)
      : Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/**
 * A metric value with six significant digits; empty when there is none.
 *
 * Metrics are stored as floats, and JSON does not say whether 3 was 3.0, so
 * every number is formatted as Python formats a float.
 */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '';
  }
  return toGeneralPy(value, 6);
}

/** Any JSON value as one line of text. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}
