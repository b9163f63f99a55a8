import * as React from 'react';

/** A titled block of the details pane and of the compare tab. */
export function Section(props: {
  title: string;
  className?: string;
  children: React.ReactNode;
}): React.ReactElement {
  const className = props.className
    ? `jp-mlvc-section ${props.className}`
    : 'jp-mlvc-section';
  return (
    <section className={className}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}
