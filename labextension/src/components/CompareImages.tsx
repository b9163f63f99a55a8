/** The notebook's output images that differ; the identical ones are only counted. */
import * as React from 'react';

import { INotebookDiff } from '../diffTypes';
import { CompareImageEntry } from './CompareImageEntry';
import { Section } from './CompareSection';

export function CompareImages({
  notebook
}: {
  notebook: INotebookDiff | null;
}): React.ReactElement | null {
  // A server without image diffs sends no `images`: nothing to say then.
  const images = notebook?.images;
  if (!notebook || !notebook.available || !images) {
    return null;
  }
  const unchanged = notebook.images_unchanged ?? 0;
  if (!images.length && !unchanged) {
    return null;
  }
  return (
    <Section title={`Images (${images.length} differ, ${unchanged} unchanged)`}>
      <div className="jp-mlvc-compare-images">
        {images.map(image => (
          <CompareImageEntry
            key={`${image.a_index}-${image.b_index}-${image.output}-${image.status}`}
            image={image}
          />
        ))}
        {unchanged > 0 && (
          <div className="jp-mlvc-dim jp-mlvc-images-unchanged">
            {unchanged === 1
              ? '1 image is the same on both sides'
              : `${unchanged} images are the same on both sides`}
            {images.length ? ' (not shown).' : '.'}
          </div>
        )}
      </div>
    </Section>
  );
}
