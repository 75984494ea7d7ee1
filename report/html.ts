// The report of a run, or of two runs side by side: one self-contained HTML file. The
// echarts browser build and the page's script (report/page.js) are inlined together with
// the runs' data, so the file opens without any network. For a protocol engineer: the
// scenario's parameters and the machines' options, the expectations and invariants, a
// timeline of rounds, dispatches, downloads and imports per node with the fault windows
// behind it, the fault windows on their own rows, each member's progress over time, the
// announce → download → import latency distributions, the share of members holding the
// full history, bytes per member, the backend figures (a table with a column per run, each
// member's time to full history, the uploads of owners and peers in the torrent swarm and
// the content network, failed and retried fetches: `archivist compare` puts the torrent and
// the cid run side by side), signal counts, and the table of rounds and archives.
// Every time axis zooms (wheel, drag, slider), and zooming one zooms all of them.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { backendRows } from '../scenarios/backend-table.ts';
import type { LatencyStats, RunDetails, RunResult } from '../scenarios/result.ts';
import { LATENCY_EDGES } from '../scenarios/run/report-details.ts';
import { formatDuration } from '../scenarios/units.ts';

const require = createRequire(import.meta.url);

/** One run as the report shows it; `label` names it beside another. */
export interface ReportRun {
  label: string;
  result: RunResult;
  details: RunDetails;
}

let echartsSource: string | undefined;
let pageSource: string | undefined;

/** The minified echarts build shipped in the package (read once). */
function echartsBundle(): string {
  if (echartsSource === undefined) {
    const path = require.resolve('echarts/dist/echarts.min.js');
    echartsSource = readFileSync(path, 'utf8');
  }
  return echartsSource;
}

/** The page's own script (read once). */
function pageScript(): string {
  pageSource ??= readFileSync(new URL('./page.js', import.meta.url), 'utf8');
  return pageSource;
}

/** JSON safe to put inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function inlineScript(source: string): string {
  return source.replace(/<\/script/gi, '<\\/script');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A latency in the report's words: "850 ms", "28 s", "2h30m". */
function latencyText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

function table(rows: string[][], head?: string[], cls = ''): string {
  const th = head ? `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` : '';
  return `<table class="${cls}">${th}${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</table>`;
}
const td = (text: string | number, cls = ''): string =>
  `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(String(text))}</td>`;

function statusOf(result: RunResult): string {
  return result.ok ? '<span class="ok">passed</span>' : '<span class="fail">failed</span>';
}

function headline(run: ReportRun): string {
  const { result, details } = run;
  return `<p><b>${escapeHtml(run.label)}</b> ${statusOf(result)} — seed ${result.seed} · start ${isoDate(details.start)} ·
  ${(result.virtualMs / 86_400_000).toFixed(1)} virtual days · ${result.events} trace events · ${result.rounds.length} rounds ·
  ${result.magnetlinks.length} magnetlinks · ${details.faults.length} fault windows · trace <code>${escapeHtml(result.traceHash.slice(0, 16))}…</code></p>`;
}

/** The scenario's parameters; `other` marks the values that differ from the other run's. */
function parametersHtml(run: ReportRun, other?: ReportRun): string {
  const p = run.details.parameters;
  const q = other?.details.parameters;
  const rows: [string, string, string | undefined][] = [
    ['scenario', p.scenario, q?.scenario],
    ['seed', String(p.seed), q ? String(q.seed) : undefined],
    ['start', isoDate(p.start), q ? isoDate(q.start) : undefined],
    ['duration', formatDuration(p.duration), q ? formatDuration(q.duration) : undefined],
    ['mode', p.mode, q?.mode],
    [
      'nodes',
      `${p.nodes.owners} owner${p.nodes.owners > 1 ? 's' : ''}, ${p.nodes.members} members (${p.nodes.lateJoiners} joining late)`,
      q
        ? `${q.nodes.owners} owner${q.nodes.owners > 1 ? 's' : ''}, ${q.nodes.members} members (${q.nodes.lateJoiners} joining late)`
        : undefined,
    ],
    [
      'communities',
      p.communities.map((c) => `${c.id} (${c.chats} chats${c.encrypted ? ', encrypted' : ''})`).join(', '),
      q?.communities.map((c) => `${c.id} (${c.chats} chats${c.encrypted ? ', encrypted' : ''})`).join(', '),
    ],
    [
      'traffic',
      p.traffic.map((t) => `${t.community}: ${t.rate}, ${t.size}, ${t.window}`).join('; ') || 'none',
      q
        ? q.traffic.map((t) => `${t.community}: ${t.rate}, ${t.size}, ${t.window}`).join('; ') || 'none'
        : undefined,
    ],
    [
      'network',
      Object.entries(p.network)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'simulator defaults',
      q
        ? Object.entries(q.network)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'simulator defaults'
        : undefined,
    ],
    ['store retention', p.storeRetention, q?.storeRetention],
    ['timeline actions', String(p.timelineActions), q ? String(q.timelineActions) : undefined],
  ];
  const scenario = table(
    rows.map(([k, v, w]) => [td(k, 'key'), td(v, w !== undefined && w !== v ? 'diff' : '')]),
    undefined,
    'params',
  );
  const otherOptions = new Map(q?.machineOptions.map((o) => [o.name, o.value]));
  const options = table(
    p.machineOptions.map((o) => [
      td(o.name, 'key'),
      td(
        o.value,
        [o.changed ? 'changed' : '', q && otherOptions.get(o.name) !== o.value ? 'diff' : '']
          .filter(Boolean)
          .join(' '),
      ),
    ]),
    undefined,
    'params',
  );
  const description = p.description ? `<p class="desc">${escapeHtml(p.description)}</p>` : '';
  return `<h2>Scenario</h2>${description}${scenario}<h2>Machine options and quirks</h2><p class="note">bold: not the reference's default${q ? '; shaded: differs from the other run' : ''}</p>${options}`;
}

function verdictsHtml(result: RunResult): string {
  const expectations = result.expectations.map((e) => [
    td(e.ok ? '✔' : '✘', e.ok ? 'ok' : 'fail'),
    td(e.text),
  ]);
  const invariants = [...Object.entries(result.invariants), ...Object.entries(result.checks)].map(
    ([name, verdict]) => [
      td(verdict === 'ok' ? '✔' : '✘', verdict === 'ok' ? 'ok' : 'fail'),
      td(name),
      td(verdict),
    ],
  );
  return `<h2>Expectations</h2>${table(expectations.length > 0 ? expectations : [[td('none')]])}
<h2>Invariants and checks</h2>${table(invariants.length > 0 ? invariants : [[td('none')]])}`;
}

function latencyHtml(latency: LatencyStats[]): string {
  if (latency.length === 0) return '';
  return table(
    latency.map((l) => [
      td(l.stage, 'key'),
      td(l.count),
      td(latencyText(l.p50)),
      td(latencyText(l.p90)),
      td(latencyText(l.p99)),
      td(latencyText(l.max)),
    ]),
    ['stage', 'pairs', 'p50', 'p90', 'p99', 'max'],
    'latency',
  );
}

/**
 * The runs' backend figures in one table, a column per run (`archivist compare`: torrent
 * beside cid), and what each member's time to full history is measured from.
 */
function backendsHtml(runs: readonly ReportRun[]): string {
  const shown = runs.filter((r) => r.details.backend !== undefined);
  if (shown.length === 0) return '';
  const figures = shown.map((r) => r.details.backend as NonNullable<RunDetails['backend']>);
  const head = [
    '',
    ...shown.map((r, i) => {
      const backend = figures[i]?.backend as string;
      if (shown.length === 1) return backend;
      return r.label.includes(backend) ? r.label : `${r.label} (${backend})`;
    }),
  ];
  const rows = backendRows(figures).map(([label, ...cells]) => [
    td(label as string, 'key'),
    ...cells.map((c) => td(c, cells.some((o) => o !== c) ? 'diff' : '')),
  ]);
  return `<h2>Backends</h2><p class="note">time to full history: from the announce of the last archive the owners made (or the member's first start, when later) to the member's import of the last of them, over the members that held them all; uploads: bytes sent by the owners and by every other node; failed fetches: tasks ended timeout, error or malformed, and failed content fetches; retried: metadata asked again within a task, and tasks started again on a link that failed${shown.length > 1 ? '; shaded: the runs differ' : ''}</p>${table(rows, head, 'backends')}`;
}

/** Rows of the rounds and archives table, at most this many per run. */
const MAX_ARCHIVE_ROWS = 400;

function archivesHtml(run: ReportRun): string {
  const { details } = run;
  const rows = details.archives;
  if (rows.length === 0) return '<h2>Rounds and archives</h2><p>No archive was made.</p>';
  const communities = new Set(rows.map((a) => a.communityId)).size > 1;
  const owners = new Set(rows.map((a) => a.owner)).size > 1;
  const head = [
    ...(owners ? ['owner'] : []),
    ...(communities ? ['community'] : []),
    'round',
    'created',
    'messages from',
    'to',
    'archive',
    'messages',
    'bytes',
    'announced',
    'downloaded by',
    'imported by',
    'median announce → import',
  ];
  const shown = rows.slice(0, MAX_ARCHIVE_ROWS);
  const body = shown.map((a) => [
    ...(owners ? [td(a.owner)] : []),
    ...(communities ? [td(details.communityNames[a.communityId] ?? a.communityId.slice(0, 12))] : []),
    td(a.round),
    td(isoDate(a.createdAt)),
    td(isoDate(a.from)),
    td(isoDate(a.to)),
    td(`${a.id.slice(0, 10)}…`, 'mono'),
    td(a.messages),
    td(a.bytes),
    td(a.announcedAt === null ? 'never' : isoDate(a.announcedAt)),
    td(`${a.downloadedBy}/${a.members}`, a.downloadedBy < a.members ? 'short' : ''),
    td(`${a.importedBy}/${a.members}`, a.importedBy < a.members ? 'short' : ''),
    td(a.medianAnnounceToImport === null ? '–' : latencyText(a.medianAnnounceToImport)),
  ]);
  const more =
    rows.length > shown.length ? `<p class="note">… and ${rows.length - shown.length} more archives</p>` : '';
  const roundsCount = new Set(rows.map((a) => `${a.owner}/${a.communityId}/${a.round}`)).size;
  return `<h2>Rounds and archives</h2><p class="note">${roundsCount} rounds, ${rows.length} archives</p>${table(body, head, 'archives')}${more}`;
}

function timelineHeight(run: ReportRun): number {
  const nodes = new Set([
    ...run.details.activity.map((e) => e.node),
    ...run.result.members.map((m) => m.node),
  ]).size;
  return nodes > 30 ? 760 : Math.max(260, 130 + 40 * nodes);
}

function faultsHeight(run: ReportRun): number {
  const subjects = new Set(run.details.faults.map((w) => w.subject)).size;
  return Math.min(700, Math.max(180, 130 + 34 * subjects));
}

function progressHeight(run: ReportRun): number {
  return Math.min(760, Math.max(220, 110 + 16 * run.details.progress.rows.length));
}

const style = `
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 16px 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 15px; margin: 14px 0 6px; }
p { margin: 4px 0 10px; color: #444; } p.note { font-size: 12px; color: #666; } p.desc { font-style: italic; }
.ok { color: #1a7f37; } .fail { color: #c62828; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.cols > .col { flex: 1 1 500px; min-width: 0; }
table { border-collapse: collapse; font-size: 12.5px; margin-bottom: 8px; }
th { text-align: left; padding: 2px 8px; border-bottom: 2px solid #ccc; font-weight: 600; }
td { padding: 2px 8px; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
td.key { color: #555; } td.changed { font-weight: 600; } td.diff { background: #fff3c4; }
td.short { color: #c62828; } td.mono { font-family: ui-monospace, monospace; }
table.archives { display: block; max-height: 420px; overflow: auto; }
.chart { width: 100%; height: 360px; background: #fff; border: 1px solid #e4e4e4; margin: 10px 0; }
`;

/** One row of the page: the same block for each run, side by side. */
function row(runs: readonly ReportRun[], block: (run: ReportRun, i: number) => string): string {
  return `<div class="cols">${runs.map((r, i) => `<div class="col">${block(r, i)}</div>`).join('')}</div>`;
}

function chartDiv(id: string, runs: readonly ReportRun[], i: number, height?: number): string {
  const suffix = runs.length > 1 ? `-${i + 1}` : '';
  return `<div id="${id}${suffix}" class="chart"${height ? ` style="height: ${height}px"` : ''}></div>`;
}

/** Each run's time to full history per member and its uploads by owners and peers. */
function backendCharts(runs: readonly ReportRun[]): string {
  if (runs.some((r) => r.details.backend === undefined)) return '';
  return `${row(runs, (_, i) => chartDiv('tohistory', runs, i))}\n${row(runs, (_, i) => chartDiv('uploads', runs, i))}`;
}

/** The report of one run, or of several side by side. Deterministic: same runs, same bytes. */
export function renderRuns(runs: readonly ReportRun[]): string {
  const first = runs[0];
  if (!first) throw new RangeError('renderRuns: no run');
  const compare = runs.length > 1;
  const title = compare ? runs.map((r) => r.label).join(' vs ') : first.result.scenario;
  const charts = (id: string, height?: (r: ReportRun) => number) =>
    row(runs, (r, i) => chartDiv(id, runs, i, height?.(r)));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>archivist report — ${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>archivist — ${escapeHtml(title)}${compare ? '' : ` ${statusOf(first.result)}`}</h1>
  ${runs.map(headline).join('\n  ')}
</header>
${row(runs, (r, i) => parametersHtml(r, compare ? runs[1 - i] : undefined))}
${row(runs, (r) => verdictsHtml(r.result))}
${backendsHtml(runs)}
${charts('timeline', timelineHeight)}
${charts('faults', faultsHeight)}
${charts('progress', progressHeight)}
${charts('latency')}
${row(runs, (r) => latencyHtml(r.details.latency))}
${charts('history')}
${charts('bytes')}
${backendCharts(runs)}
${charts('signals')}
${row(runs, archivesHtml)}
<script>${inlineScript(echartsBundle())}</script>
<script>window.archivistData = ${scriptJson({ runs, latencyEdges: LATENCY_EDGES })};</script>
<script>${inlineScript(pageScript())}</script>
</body>
</html>
`;
}

/** The report of one run. */
export function renderReport(result: RunResult, details: RunDetails): string {
  return renderRuns([{ label: result.scenario, result, details }]);
}
