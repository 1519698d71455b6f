// Charts drawn as plain SVG (no chart library, nothing from a CDN): labelled vertical bars
// with their values, and a text table beside for screen readers.
import { barGeometry } from './lib';
import { h, svg } from './dom';

export function barChart(title: string, values: { label: string; value: number | null; cls?: string }[], fmt: (v: number | null) => string): HTMLElement {
  const W = 320, H = 140, top = 18, bottom = 22;
  const bars = barGeometry(values, W, H - top - bottom);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${title}: ` + values.map((v) => `${v.label} ${fmt(v.value)}`).join(', ') });
  bars.forEach((b, i) => {
    const g = svg('g', { class: 'bar ' + (values[i].cls ?? '') });
    g.appendChild(svg('rect', { x: b.x, y: top + b.y, width: b.w, height: Math.max(b.h, values[i].value ? 1 : 0), rx: 2 }));
    const val = svg('text', { x: b.x + b.w / 2, y: top + b.y - 4, 'text-anchor': 'middle', class: 'chart-value' });
    val.textContent = fmt(values[i].value);
    const lab = svg('text', { x: b.x + b.w / 2, y: H - 6, 'text-anchor': 'middle', class: 'chart-label' });
    lab.textContent = b.label;
    g.append(val, lab);
    root.appendChild(g);
  });
  root.appendChild(svg('line', { x1: 0, x2: W, y1: H - bottom, y2: H - bottom, class: 'chart-axis' }));
  return h('figure', { class: 'chart-figure' }, h('figcaption', null, title), root);
}
