import * as React from 'react';

/** A 0–100 slider between the words "before" and "after". */
export function BeforeAfterSlider(props: {
  value: number;
  label: string;
  onChange: (value: number) => void;
}): JSX.Element {
  return (
    <label className="jp-mlvc-image-slider">
      <span className="jp-mlvc-dim">before</span>
      <input
        type="range"
        min={0}
        max={100}
        value={props.value}
        aria-label={props.label}
        onChange={e => props.onChange(Number(e.currentTarget.value))}
      />
      <span className="jp-mlvc-dim">after</span>
    </label>
  );
}
