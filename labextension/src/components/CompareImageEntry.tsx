/** One output image that differs: where it is, its sizes, how much changed, and the images. */
import * as React from 'react';

import { describeImage, describeSize } from '../describe';
import { IImageChange } from '../diffTypes';
import { ImageDiff } from './ImageDiff';

/** The cell as the text form names it: its index in B, else in A. */
function cellOf(image: IImageChange): number | null {
  return image.b_index ?? image.a_index;
}

export function CompareImageEntry({
  image
}: {
  image: IImageChange;
}): React.ReactElement {
  const cell = cellOf(image);
  const label = `cell ${cell ?? '?'}, output ${image.output}`;
  // An SVG compared as text has no size to tell.
  const known = image.size_before !== null || image.size_after !== null;
  const sizes = !known
    ? ''
    : image.status === 'changed'
      ? `${describeSize(image.size_before)} → ${describeSize(image.size_after)}`
      : describeSize(
          image.status === 'added' ? image.size_after : image.size_before
        );
  return (
    <div
      className="jp-mlvc-image-entry"
      data-cell={cell ?? ''}
      data-output={image.output}
      data-status={image.status}
    >
      <div className="jp-mlvc-image-heading">
        <span className={`jp-mlvc-badge jp-mlvc-kind-${image.status}`}>
          {image.status}
        </span>
        <b>{label}</b>
        <code className="jp-mlvc-dim">{image.mime}</code>
        {sizes && <span className="jp-mlvc-image-sizes">{sizes}</span>}
        {image.status === 'changed' && (
          <span className="jp-mlvc-image-share">{describeImage(image)}</span>
        )}
      </div>
      <ImageDiff
        image={image}
        before={image.before}
        after={image.after}
        label={label}
      />
    </div>
  );
}
