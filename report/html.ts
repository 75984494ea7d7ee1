// The report of a run: one self-contained HTML file. The echarts browser build is inlined
// into the page together with the run's data, so the file opens without any network.
// Four charts: a timeline of rounds, dispatches, downloads and imports per node; the share
// of members holding the full history over time; bytes per member; signal counts.
// Each chart's echarts instance is kept on `window.archivistCharts` so tests can check it.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RunDetails, RunResult } from '../scenarios/result.ts';

const require = createRequire(import.meta.url);

let echartsSource: string | undefined;

/** The minified echarts build shipped in the package (read once). */
function echartsBundle(): string {
  if (echartsSource === undefined) {
    const path = require.resolve('echarts/dist/echarts.min.js');
    echartsSource = readFileSync(path, 'utf8');
  }
  return echartsSource;
}

/** JSON safe to put inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function summaryHtml(result: RunResult, details: RunDetails): string {
  const status = result.ok ? '<span class="ok">passed</span>' : '<span class="fail">failed</span>';
  const expectations = result.expectations
    .map(
      (e) =>
        `<tr><td class="${e.ok ? 'ok' : 'fail'}">${e.ok ? '✔' : '✘'}</td><td>${escapeHtml(e.text)}</td></tr>`,
    )
    .join('');
  const invariants = [...Object.entries(result.invariants), ...Object.entries(result.checks)]
    .map(
      ([name, verdict]) =>
        `<tr><td class="${verdict === 'ok' ? 'ok' : 'fail'}">${verdict === 'ok' ? '✔' : '✘'}</td><td>${escapeHtml(name)}</td><td>${escapeHtml(verdict)}</td></tr>`,
    )
    .join('');
  return `
<header>
  <h1>archivist — ${escapeHtml(result.scenario)} ${status}</h1>
  <p>seed ${result.seed} · start ${isoDate(details.start)} · ${(result.virtualMs / 86_400_000).toFixed(1)} virtual days ·
  ${result.events} trace events · ${result.rounds.length} rounds · ${result.magnetlinks.length} magnetlinks ·
  trace <code>${escapeHtml(result.traceHash.slice(0, 16))}…</code></p>
</header>
<section class="tables">
  <div><h2>Expectations</h2><table>${expectations || '<tr><td>none</td></tr>'}</table></div>
  <div><h2>Invariants and checks</h2><table>${invariants || '<tr><td>none</td></tr>'}</table></div>
</section>`;
}

// Runs in the browser: builds the four charts from `archivistData`.
const pageScript = `
(function () {
  var data = window.archivistData;
  var result = data.result, details = data.details;
  var kinds = [
    { kind: 'round', name: 'rounds (owner)', symbol: 'diamond', color: '#7b3fe4' },
    { kind: 'dispatch', name: 'dispatches', symbol: 'triangle', color: '#e4572e' },
    { kind: 'download', name: 'downloads', symbol: 'circle', color: '#29a3a3' },
    { kind: 'import', name: 'imports', symbol: 'rect', color: '#f0a202' }
  ];
  var nodes = [];
  details.activity.forEach(function (e) { if (nodes.indexOf(e.node) < 0) nodes.push(e.node); });
  result.members.forEach(function (m) { if (nodes.indexOf(m.node) < 0) nodes.push(m.node); });
  nodes.sort();
  var names = details.communityNames || {};
  function communityLabel(id) { return names[id] || (id.length > 14 ? id.slice(0, 12) + '…' : id); }
  var timeAxis = { type: 'time', min: details.start, max: details.start + result.virtualMs };
  var charts = {};
  function make(id, option) {
    var chart = echarts.init(document.getElementById(id), null, { renderer: 'canvas' });
    chart.setOption(option);
    charts[id] = chart;
  }
  make('timeline', {
    animation: false,
    title: { text: 'Rounds, dispatches, downloads and imports per node' },
    tooltip: { trigger: 'item', formatter: function (p) { return p.seriesName + '<br>' + p.value[1] + '<br>' + new Date(p.value[0]).toISOString() + (p.value[2] ? '<br>' + p.value[2] : ''); } },
    legend: { top: 28 },
    grid: { left: 90, right: 30, top: 70, bottom: 40 },
    xAxis: timeAxis,
    yAxis: { type: 'category', data: nodes },
    series: kinds.map(function (k, i) {
      return {
        name: k.name, type: 'scatter', symbol: k.symbol, symbolSize: 11,
        itemStyle: { color: k.color },
        symbolOffset: [0, (i - 1.5) * 5],
        data: details.activity.filter(function (e) { return e.kind === k.kind; })
          .map(function (e) { return [e.t, e.node, e.detail || '']; })
      };
    })
  });
  var communities = [];
  details.history.forEach(function (s) { if (communities.indexOf(s.communityId) < 0) communities.push(s.communityId); });
  make('history', {
    animation: false,
    title: { text: 'Share of members holding the full history' },
    tooltip: { trigger: 'axis' },
    legend: { top: 28 },
    grid: { left: 60, right: 30, top: 70, bottom: 40 },
    xAxis: timeAxis,
    yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + '%'; } } },
    series: communities.map(function (c) {
      return {
        name: communityLabel(c), type: 'line', step: 'end', showSymbol: false, areaStyle: { opacity: 0.15 },
        data: details.history.filter(function (s) { return s.communityId === c; }).map(function (s) { return [s.t, s.share]; })
      };
    })
  });
  var memberLabels = result.members.map(function (m) { return m.node + (communities.length > 1 ? ' / ' + communityLabel(m.communityId) : ''); });
  make('bytes', {
    animation: false,
    title: { text: 'Bytes per member' },
    tooltip: { trigger: 'axis' },
    legend: { top: 28 },
    grid: { left: 90, right: 30, top: 70, bottom: 40 },
    xAxis: { type: 'category', data: memberLabels },
    yAxis: { type: 'value', axisLabel: { formatter: function (v) { return v >= 1e6 ? (v / 1e6) + ' MB' : v >= 1e3 ? (v / 1e3) + ' kB' : v + ' B'; } } },
    series: [
      { name: 'downloaded', type: 'bar', itemStyle: { color: '#29a3a3' }, data: result.members.map(function (m) { return m.bytesDown; }) },
      { name: 'uploaded', type: 'bar', itemStyle: { color: '#7b3fe4' }, data: result.members.map(function (m) { return m.bytesUp; }) }
    ]
  });
  var signalNames = Object.keys(result.signals).sort();
  make('signals', {
    animation: false,
    title: { text: 'Signals' },
    tooltip: { trigger: 'axis' },
    grid: { left: 280, right: 40, top: 50, bottom: 30 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: signalNames.map(function (s) { return s.replace(/^community\\./, ''); }) },
    series: [{ name: 'count', type: 'bar', itemStyle: { color: '#e4572e' }, label: { show: true, position: 'right' },
      data: signalNames.map(function (s) { return result.signals[s]; }) }]
  });
  window.archivistCharts = charts;
  window.addEventListener('resize', function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
})();
`;

const style = `
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 16px; margin: 8px 0; }
p { margin: 4px 0 12px; color: #444; }
.ok { color: #1a7f37; } .fail { color: #c62828; }
.tables { display: flex; gap: 32px; flex-wrap: wrap; }
.tables > div { flex: 1 1 400px; }
table { border-collapse: collapse; font-size: 13px; }
td { padding: 2px 8px; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
.chart { width: 100%; height: 360px; background: #fff; border: 1px solid #e4e4e4; margin: 12px 0; }
`;

/** The report as one HTML string. Deterministic: same result and details, same bytes. */
export function renderReport(result: RunResult, details: RunDetails): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>archivist report — ${escapeHtml(result.scenario)}</title>
<style>${style}</style>
</head>
<body>
${summaryHtml(result, details)}
<div id="timeline" class="chart" style="height: ${Math.max(260, 120 + 40 * new Set([...details.activity.map((e) => e.node), ...result.members.map((m) => m.node)]).size)}px"></div>
<div id="history" class="chart"></div>
<div id="bytes" class="chart"></div>
<div id="signals" class="chart"></div>
<script>${echartsBundle().replace(/<\/script/gi, '<\\/script')}</script>
<script>window.archivistData = ${scriptJson({ result, details })};</script>
<script>${pageScript}</script>
</body>
</html>
`;
}
