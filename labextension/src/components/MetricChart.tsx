/**
 * The notebook's metrics over its snapshots (GET /mlvc/api/chart): the chart of
 * `%mlvc log --plot`, drawn with vega-embed. Hovering a point shows its
 * snapshot; clicking it selects that snapshot, as a click in the list does.
 *
 * Vega is loaded the first time a chart is drawn, so the sidebar's first paint
 * never waits for it. The spec keeps everything the snapshots wrote in its
 * data; this component only sizes it, colours it and sets the selection as
 * signal values.
 */
import * as React from 'react';
// Types only: erased from the build, so vega is not in the sidebar's first load.
import type { Config, Result, VisualizationSpec } from 'vega-embed';

import { IChart } from '../api';
import { IProps } from './props';

type Embed = (typeof import('vega-embed'))['default'];

let embedding: Promise<Embed> | null = null;

/** vega-embed (with vega and vega-lite), fetched once, on first use. */
function loadEmbed(): Promise<Embed> {
  embedding ??= import('vega-embed').then(module => module.default);
  return embedding;
}

/** Room left of each panel for the y axis' labels, and below the last for the x axis'. */
const AXIS_ROOM = 64;
const PANEL_HEIGHT = 110;

/** A JupyterLab theme colour (a CSS variable of the page), or `fallback`. */
function themeColor(css: CSSStyleDeclaration, name: string, fallback: string) {
  return css.getPropertyValue(name).trim() || fallback;
}

/** Vega's config from JupyterLab's theme: fonts, text, rules and branch colours. */
function themeConfig(): Config {
  const css = getComputedStyle(document.body);
  const text = themeColor(css, '--jp-ui-font-color1', '#333');
  const dim = themeColor(css, '--jp-ui-font-color2', '#666');
  const rule = themeColor(css, '--jp-border-color2', '#ddd');
  const font = themeColor(css, '--jp-ui-font-family', 'sans-serif');
  return {
    background: 'transparent',
    font,
    title: { color: text, fontSize: 11, fontWeight: 'normal' },
    axis: {
      labelColor: dim,
      titleColor: text,
      domainColor: rule,
      tickColor: rule,
      gridColor: rule,
      labelFontSize: 10
    },
    header: { labelColor: text, labelFontSize: 11 },
    legend: { labelColor: text, titleColor: dim, labelFontSize: 10 },
    view: { stroke: rule },
    range: {
      category: [
        themeColor(css, '--jp-brand-color1', '#1976d2'),
        themeColor(css, '--jp-warn-color1', '#f57c00'),
        themeColor(css, '--jp-success-color1', '#388e3c'),
        '#9467bd',
        '#8c564b',
        '#e377c2',
        '#7f7f7f',
        '#bcbd22',
        '#17becf',
        themeColor(css, '--jp-error-color1', '#d32f2f')
      ]
    }
  };
}

/** The server's spec with the panels as wide as the sidebar allows. */
function sized(spec: IChart['spec'], width: number): IChart['spec'] {
  return {
    ...spec,
    spec: {
      ...spec.spec,
      width: Math.max(120, width - AXIS_ROOM),
      height: PANEL_HEIGHT
    }
  };
}

/** The id of the snapshot a clicked item is a point of, if it is one. */
function clickedId(item: unknown): string | null {
  const mark = (item as { mark?: { marktype?: string; role?: string } })?.mark;
  const datum = (item as { datum?: { id?: unknown } })?.datum;
  if (mark?.marktype !== 'symbol' || mark.role !== 'mark') {
    return null;
  }
  return typeof datum?.id === 'string' ? datum.id : null;
}

export function MetricChart({ model }: IProps): React.ReactElement {
  const chart = model.chart;
  const [host, setHost] = React.useState<HTMLDivElement | null>(null);
  const [width, setWidth] = React.useState(0);
  const [failure, setFailure] = React.useState<string | null>(null);
  const [drawn, setDrawn] = React.useState(false);
  const view = React.useRef<Result['view'] | null>(null);
  // Read when a drawing finishes: the selection may have changed meanwhile.
  const selected = React.useRef(model.selectedId);
  selected.current = model.selectedId;

  React.useEffect(() => {
    if (!host) {
      return;
    }
    // Redraw in steps of 16 px only: dragging the sidebar's edge stays smooth.
    const measure = () => setWidth(Math.floor(host.clientWidth / 16) * 16);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(host);
    return () => observer.disconnect();
  }, [host]);

  React.useEffect(() => {
    if (!host || !chart || chart.points === 0 || width <= 0) {
      return;
    }
    let cancelled = false;
    let result: Result | null = null;
    setDrawn(false);
    setFailure(null);
    const css = getComputedStyle(document.body);
    const dark = document.body.dataset.jpThemeLight === 'false';
    const spec = sized(chart.spec, width);
    // Each drawing gets an element of its own: one overtaken by the next (a resize
    // while Vega was still drawing) then draws into a detached element, unseen.
    const target = document.createElement('div');
    host.appendChild(target);
    void loadEmbed()
      .then(embed =>
        cancelled
          ? null
          : embed(target, spec as VisualizationSpec, {
              mode: 'vega-lite',
              renderer: 'svg',
              actions: false,
              config: themeConfig(),
              tooltip: { theme: dark ? 'dark' : 'light' }
            })
      )
      .then(async embedded => {
        if (!embedded) {
          return;
        }
        if (cancelled) {
          embedded.finalize();
          return;
        }
        result = embedded;
        view.current = embedded.view;
        embedded.view.addEventListener('click', (_event, item) => {
          const id = clickedId(item);
          if (id) {
            void model.select(id === model.selectedId ? null : id);
          }
        });
        embedded.view.signal(
          'selected_color',
          themeColor(css, '--jp-ui-font-color0', 'black')
        );
        await embedded.view.signal('selected_id', selected.current).runAsync();
        if (!cancelled) {
          setDrawn(true);
        }
      })
      .catch((error: unknown) => {
        if (!cancelled) {
          setFailure(error instanceof Error ? error.message : String(error));
        }
      });
    return () => {
      cancelled = true;
      view.current = null;
      result?.finalize();
      target.remove();
    };
  }, [host, chart, width]);

  React.useEffect(() => {
    void view.current?.signal('selected_id', model.selectedId).runAsync();
  }, [model.selectedId]);

  if (model.loadError) {
    return (
      <div className="jp-mlvc-error">
        Could not load the metrics: {model.loadError}
      </div>
    );
  }
  if (!chart) {
    return <div className="jp-mlvc-empty">Loading…</div>;
  }
  if (chart.points === 0) {
    return (
      <div className="jp-mlvc-empty">
        {chart.total === 0
          ? 'No snapshots of this notebook yet: press Commit.'
          : 'No metrics recorded yet: commit with numbers, e.g. %mlvc commit -m "..." --metric acc=0.93, and they are charted here.'}
      </div>
    );
  }
  return (
    <div
      className="jp-mlvc-chart-section"
      data-points={chart.points}
      data-drawn={drawn}
    >
      <div className="jp-mlvc-count">
        {chart.points} value{chart.points === 1 ? '' : 's'} of{' '}
        {chart.metrics.length} metric{chart.metrics.length === 1 ? '' : 's'}
        {chart.truncated &&
          ` (the newest ${chart.snapshots} of ${chart.total} snapshots)`}
      </div>
      {failure && (
        <div className="jp-mlvc-error">Could not draw the chart: {failure}</div>
      )}
      <div
        className="jp-mlvc-chart"
        ref={setHost}
        aria-label="Metrics over the snapshots"
      />
    </div>
  );
}
