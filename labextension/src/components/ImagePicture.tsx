/** One image of a comparison, from its `data:` URI; a note when it cannot be drawn. */
import * as React from 'react';

export function ImagePicture(props: {
  src: string | null;
  alt: string;
  side: 'before' | 'after';
  style: React.CSSProperties;
}): React.ReactElement {
  if (!props.src) {
    return (
      <div className="jp-mlvc-image-missing jp-mlvc-dim" data-side={props.side}>
        (cannot be shown)
      </div>
    );
  }
  return (
    <img
      className="jp-mlvc-image"
      data-side={props.side}
      src={props.src}
      alt={props.alt}
      style={props.style}
      draggable={false}
    />
  );
}
