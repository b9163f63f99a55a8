/**
 * Two images before and after: side by side, swiped (after revealed over before
 * up to a slider) or as onion skin (after over before, at a chosen opacity);
 * "Difference" outlines and tints the rectangle where pixels differ. An image
 * on one side only is shown alone.
 *
 * Both images are laid on one canvas the size of the larger, from the top-left
 * corner, which is where the diff measures the changed rectangle from.
 */
import * as React from 'react';

import { describeSize } from '../describe';
import { IImageBox, IImageComparison } from '../diffTypes';
import { imageSource } from '../imageSource';
import { BeforeAfterSlider } from './BeforeAfterSlider';
import { ImagePicture } from './ImagePicture';

export type ImageView = 'side' | 'swipe' | 'onion';

const VIEWS: { view: ImageView; label: string; title: string }[] = [
  { view: 'side', label: 'Side by side', title: 'Before and after, apart' },
  {
    view: 'swipe',
    label: 'Swipe',
    title: 'After over before, revealed up to the slider'
  },
  {
    view: 'onion',
    label: 'Onion skin',
    title: 'After over before, as transparent as the slider says'
  }
];

/** The canvas both images are laid on, in pixels; null when a size is unknown. */
function canvasOf(image: IImageComparison): [number, number] | null {
  const sizes = [image.size_before, image.size_after].filter(
    (s): s is number[] => !!s && s.length === 2 && s[0] > 0 && s[1] > 0
  );
  if (!sizes.length) {
    return null;
  }
  return [Math.max(...sizes.map(s => s[0])), Math.max(...sizes.map(s => s[1]))];
}

/** "before, 640×480"; without the size when it is not known (an SVG). */
function caption(what: string, size: number[] | null): string {
  return size ? `${what}, ${describeSize(size)}` : what;
}

function percent(part: number, whole: number): string {
  return `${(100 * part) / whole}%`;
}

/** Where an image of `size` sits on the canvas: top-left, at its own scale. */
function layerStyle(
  size: number[] | null,
  canvas: [number, number] | null
): React.CSSProperties {
  if (!canvas || !size || size.length !== 2) {
    return {};
  }
  return { width: percent(size[0], canvas[0]) };
}

function boxStyle(
  box: IImageBox,
  canvas: [number, number]
): React.CSSProperties {
  return {
    left: percent(box.x, canvas[0]),
    top: percent(box.y, canvas[1]),
    width: percent(box.width, canvas[0]),
    height: percent(box.height, canvas[1])
  };
}

export function ImageDiff(props: {
  image: IImageComparison;
  /** As stored: base64 for PNG/JPEG, the text of an SVG; null on the side without it. */
  before: string | null;
  after: string | null;
  /** What the image is, for its alternative text: "cell 3, output 0". */
  label: string;
}): React.ReactElement {
  const { image, label } = props;
  const [view, setView] = React.useState<ImageView>('side');
  const [swipe, setSwipe] = React.useState(50);
  const [opacity, setOpacity] = React.useState(50);
  const [showBox, setShowBox] = React.useState(false);

  const before = imageSource(image.mime, props.before);
  const after = imageSource(image.mime, props.after);
  const both = props.before !== null && props.after !== null;
  const canvas = canvasOf(image);
  const frameStyle: React.CSSProperties = canvas
    ? { width: `${canvas[0]}px`, aspectRatio: `${canvas[0]} / ${canvas[1]}` }
    : {};
  const box =
    showBox && image.box && canvas ? (
      <div
        className="jp-mlvc-image-box"
        style={boxStyle(image.box, canvas)}
        aria-hidden="true"
      />
    ) : null;
  const picture = (side: 'before' | 'after') => (
    <ImagePicture
      src={side === 'before' ? before : after}
      alt={`${label}, ${side}`}
      side={side}
      style={layerStyle(
        side === 'before' ? image.size_before : image.size_after,
        canvas
      )}
    />
  );
  const frameClass = `jp-mlvc-image-frame${canvas ? '' : ' jp-mlvc-image-free'}`;

  if (!both) {
    const side = props.before !== null ? 'before' : 'after';
    return (
      <div className="jp-mlvc-image-diff" data-view="single">
        <figure className="jp-mlvc-image-figure" data-side={side}>
          <figcaption>
            {caption(
              side === 'before' ? 'removed' : 'added',
              side === 'before' ? image.size_before : image.size_after
            )}
          </figcaption>
          <div className={frameClass} style={frameStyle}>
            {picture(side)}
          </div>
        </figure>
      </div>
    );
  }

  let body: React.ReactElement;
  if (view === 'side') {
    body = (
      <div className="jp-mlvc-image-pair">
        {(['before', 'after'] as const).map(side => (
          <figure key={side} className="jp-mlvc-image-figure" data-side={side}>
            <figcaption>
              {caption(
                side,
                side === 'before' ? image.size_before : image.size_after
              )}
            </figcaption>
            <div className={frameClass} style={frameStyle}>
              {picture(side)}
              {box}
            </div>
          </figure>
        ))}
      </div>
    );
  } else {
    const top: React.CSSProperties =
      view === 'swipe'
        ? { clipPath: `inset(0 ${100 - swipe}% 0 0)` }
        : { opacity: opacity / 100 };
    body = (
      <div className={`${frameClass} jp-mlvc-image-stack`} style={frameStyle}>
        {picture('before')}
        <div className="jp-mlvc-image-top" data-side="after" style={top}>
          {picture('after')}
        </div>
        {view === 'swipe' && (
          <div
            className="jp-mlvc-image-divider"
            style={{ left: `${swipe}%` }}
            aria-hidden="true"
          />
        )}
        {box}
      </div>
    );
  }

  return (
    <div className="jp-mlvc-image-diff" data-view={view}>
      <div className="jp-mlvc-image-controls">
        <div
          className="jp-mlvc-view-toggle"
          role="group"
          aria-label="How to show the two images"
        >
          {VIEWS.map(v => (
            <button
              key={v.view}
              className={`jp-mlvc-toggle${view === v.view ? ' jp-mod-active' : ''}`}
              aria-pressed={view === v.view}
              title={v.title}
              onClick={() => setView(v.view)}
            >
              {v.label}
            </button>
          ))}
        </div>
        {view === 'swipe' && (
          <BeforeAfterSlider
            value={swipe}
            label="How much of after to show"
            onChange={setSwipe}
          />
        )}
        {view === 'onion' && (
          <BeforeAfterSlider
            value={opacity}
            label="Opacity of after"
            onChange={setOpacity}
          />
        )}
        {image.box && canvas && (
          <label
            className="jp-mlvc-image-toggle"
            title="Outline the rectangle where the pixels differ"
          >
            <input
              type="checkbox"
              checked={showBox}
              onChange={e => setShowBox(e.currentTarget.checked)}
            />
            Difference
          </label>
        )}
      </div>
      {body}
    </div>
  );
}
