/**
 * An image from a notebook's output as the `src` of an <img>: always a `data:`
 * URI, never markup in the page.
 *
 * The images of a comparison come from snapshots, which someone else may have
 * made. A PNG or JPEG is base64 already; an SVG is text, which is active
 * content when it is part of the page (scripts, handlers, links). Drawn by an
 * <img> it is a picture only: no script runs and nothing is fetched. So an SVG
 * is encoded to base64 and shown the same way, whatever its notebook's trust.
 */

/** The image types shown; any other MIME type is not drawn. */
const BASE64_TYPES = ['image/png', 'image/jpeg', 'image/gif'];
const SVG = 'image/svg+xml';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** UTF-8 bytes of `text`, as base64. */
function utf8Base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  // In slices: String.fromCharCode takes its characters as arguments.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * The `data:` URI that draws `data` (an output's value for `mime`), or null when
 * it cannot be drawn safely: an unknown type, or base64 that is not base64.
 */
export function imageSource(mime: string, data: string | null): string | null {
  if (typeof data !== 'string') {
    return null;
  }
  if (mime === SVG) {
    return `data:${SVG};base64,${utf8Base64(data)}`;
  }
  if (!BASE64_TYPES.includes(mime)) {
    return null;
  }
  // nbformat keeps base64 in lines.
  const compact = data.replace(/\s+/g, '');
  return BASE64.test(compact) ? `data:${mime};base64,${compact}` : null;
}
