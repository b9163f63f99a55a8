/**
 * Variables and their changes as short lines of text, for the compare tab.
 */
import {
  IArrayChange,
  IChange,
  IFrameChange,
  IImageComparison,
  IModelChange,
  IVariableInfo
} from './diffTypes';
import { formatMetric, formatValue, toFixedPy, toGeneralPy } from './format';

/** A one-line description of a variable from its summary: shape, length, columns or repr. */
export function describeInfo(info: IVariableInfo | null): string {
  if (!info) {
    return '';
  }
  const s = info.summary;
  const parts: string[] = [info.type];
  if (Array.isArray(s['shape'])) {
    parts.push((s['shape'] as unknown[]).join('×'));
  }
  if (typeof s['dtype'] === 'string') {
    parts.push(s['dtype'] as string);
  }
  if (typeof s['rows'] === 'number') {
    parts.push(`${s['rows']} rows`);
  }
  if (Array.isArray(s['columns'])) {
    parts.push(`${(s['columns'] as unknown[]).length} columns`);
  } else if (typeof s['len'] === 'number') {
    parts.push(`len ${s['len']}`);
  }
  const repr = formatValue(s['repr']);
  if (repr && parts.length === 1) {
    parts.push(repr.length > 80 ? repr.slice(0, 77) + '…' : repr);
  }
  return parts.join(', ');
}

function num(value: number | null | undefined): string {
  return typeof value === 'number' ? formatMetric(value) : formatValue(value);
}

function signed(delta: number): string {
  return `${delta > 0 ? '+' : ''}${formatMetric(delta)}`;
}

function addedRemoved(
  what: string,
  change: { added: string[]; removed: string[] }
): string[] {
  const lines: string[] = [];
  if (change.added.length) {
    lines.push(`${what} added: ${change.added.join(', ')}`);
  }
  if (change.removed.length) {
    lines.push(`${what} removed: ${change.removed.join(', ')}`);
  }
  return lines;
}

function lengthChange(change: {
  len_before: number;
  len_after: number;
}): string[] {
  return change.len_before !== change.len_after
    ? [`length ${change.len_before} → ${change.len_after}`]
    : [];
}

function modelLines(c: IModelChange): string[] {
  const lines: string[] = [];
  const params = Object.entries(c.params_changed);
  for (const [name, values] of params) {
    lines.push(`${name}: ${values.join(' → ')}`);
  }
  if (
    typeof c.n_parameters_before === 'number' &&
    c.n_parameters_before !== c.n_parameters_after
  ) {
    lines.push(`parameters ${c.n_parameters_before} → ${c.n_parameters_after}`);
  }
  if (typeof c.max_weight_change === 'number') {
    lines.push(`max weight change ${num(c.max_weight_change)}`);
  }
  const layers = c.library === 'torch' ? c.layers_changed : [];
  if (layers.length) {
    lines.push(`layers changed: ${layers.join(', ')}`);
  }
  if (!params.length && lines.length === 0) {
    lines.push('weights changed');
  }
  return lines;
}

function arrayLines(change: IArrayChange): string[] {
  const lines: string[] = [];
  const sb = change.shape_before.join('×');
  const sa = change.shape_after.join('×');
  if (sb !== sa) {
    lines.push(`shape ${sb} → ${sa}`);
  }
  if (change.dtype_before !== change.dtype_after) {
    lines.push(`dtype ${change.dtype_before} → ${change.dtype_after}`);
  }
  if (typeof change.n_differ === 'number') {
    lines.push(
      `${change.n_differ} of ${change.n_elements} elements differ` +
        (typeof change.max_abs_diff === 'number'
          ? `, max abs diff ${num(change.max_abs_diff)}`
          : '')
    );
  }
  return lines;
}

function frameLines(change: IFrameChange): string[] {
  const lines: string[] = [];
  if (change.columns_added.length) {
    lines.push(`columns added: ${change.columns_added.join(', ')}`);
  }
  if (change.columns_removed.length) {
    lines.push(`columns removed: ${change.columns_removed.join(', ')}`);
  }
  for (const [col, types] of Object.entries(change.dtype_changed)) {
    lines.push(`${col}: dtype ${types.join(' → ')}`);
  }
  if (change.rows_before !== change.rows_after) {
    lines.push(`rows ${change.rows_before} → ${change.rows_after}`);
  }
  const differ = Object.entries(change.rows_differ ?? {});
  if (differ.length) {
    lines.push(
      'rows that differ: ' +
        differ.map(([col, n]) => `${col} ${formatValue(n)}`).join(', ')
    );
  } else if (change.index_equal === false) {
    lines.push('index changed');
  }
  return lines;
}

/**
 * A share (0..1) of pixels as a percentage: "12.4 %", "0.012 %", "100 %"; as
 * jupyter_mlvc/present/images.py `percent` writes it.
 */
export function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  if (percent === 0 || percent === 100) {
    return `${toFixedPy(percent, 0)} %`;
  }
  if (percent < 0.05) {
    return `${toGeneralPy(percent, 2)} %`;
  }
  return `${toFixedPy(Math.min(percent, 99.9), 1)} %`;
}

/** An image's size, "640×480"; "—" for a side without it (or an SVG not drawn). */
export function describeSize(size: number[] | null): string {
  return size && size.length === 2 ? `${size[0]}×${size[1]}` : '—';
}

/** How much of an image changed and where: "12.4 % of pixels, in the upper-left quarter". */
export function describeImage(image: IImageComparison): string {
  if (image.fraction_changed === null) {
    // Compared as text (an SVG), or not compared: `where` says which.
    return image.where || 'changed';
  }
  if (image.fraction_changed === 0) {
    return `looks the same (${image.where})`;
  }
  return `${formatPercent(image.fraction_changed)} of pixels, ${image.where}`;
}

/** How a changed value changed, in a few lines (one case per kind of diffTypes.IChange). */
export function describeChange(change: IChange | null): string[] {
  if (!change) {
    return [];
  }
  const lines: string[] = [];
  switch (change.kind) {
    case 'scalar':
      lines.push(
        `${formatValue(change.before)} → ${formatValue(change.after)}` +
          (typeof change.delta === 'number' ? ` (${signed(change.delta)})` : '')
      );
      break;
    case 'array':
      lines.push(...arrayLines(change));
      break;
    case 'frame':
    case 'series':
      lines.push(...frameLines(change));
      break;
    case 'model':
      lines.push(...modelLines(change));
      break;
    case 'type':
      lines.push(`type ${change.before_type} → ${change.after_type}`);
      break;
    case 'text':
      lines.push(`text of length ${change.len_before} → ${change.len_after}`);
      break;
    case 'mapping':
      lines.push(...addedRemoved('keys', change));
      if (change.changed.length) {
        lines.push(`values changed: ${change.changed.join(', ')}`);
      }
      lines.push(...lengthChange(change));
      break;
    case 'set':
    case 'sequence':
      lines.push(...addedRemoved('items', change), ...lengthChange(change));
      break;
    case 'figure':
      lines.push(`figure changed, ${describeImage(change.image)}`);
      break;
    case 'bytes':
      lines.push('contents changed');
      if (typeof change.note === 'string') {
        lines.push(change.note);
      }
      break;
    default:
      // A kind from a newer server than this sidebar.
      lines.push('contents changed');
  }
  return lines.length ? lines : ['contents changed'];
}
