// The report's charts, run in the browser from `window.archivistData` ({runs: [{label,
// result, details}]}, one run or two side by side). Every chart's echarts instance is kept on
// `window.archivistCharts` under its id (`timeline`, or `timeline-1` and `timeline-2` when two
// runs are compared) so tests can read it. All charts share one echarts group: zooming one
// time axis zooms them all, in both runs.
(() => {
  const data = window.archivistData;
  const runs = data.runs;
  const compare = runs.length > 1;
  const charts = {};
  const GROUP = 'archivist';
  const kinds = [
    { kind: 'round', name: 'rounds (owner)', symbol: 'diamond', color: '#7b3fe4' },
    { kind: 'dispatch', name: 'dispatches', symbol: 'triangle', color: '#e4572e' },
    { kind: 'download', name: 'downloads', symbol: 'circle', color: '#29a3a3' },
    { kind: 'import', name: 'imports', symbol: 'rect', color: '#f0a202' },
  ];
  const faultColors = {
    node: '#c62828',
    'host app': '#ef6c00',
    network: '#1565c0',
    swarm: '#6a1b9a',
    'torrent client': '#00838f',
    disk: '#4e342e',
    ports: '#455a64',
    'relay adversary': '#ad1457',
    community: '#2e7d32',
  };
  const latencyEdges = data.latencyEdges;

  function iso(ms) {
    return new Date(ms).toISOString().replace('.000Z', 'Z');
  }
  function shortTime(ms) {
    return new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
  }
  function duration(ms) {
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${Math.round(ms / 100) / 10} s`;
    if (ms < 3600000) return `${Math.round(ms / 6000) / 10} min`;
    if (ms < 86400000) return `${Math.round(ms / 360000) / 10} h`;
    return `${Math.round(ms / 8640000) / 10} d`;
  }
  function byNumber(a, b) {
    return a.localeCompare(b, 'en', { numeric: true });
  }
  function make(id, option) {
    const el = document.getElementById(id);
    const chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(option);
    chart.group = GROUP;
    charts[id] = chart;
  }
  function zoom(extra) {
    return [
      { type: 'inside', xAxisIndex: 0, filterMode: 'none' },
      { type: 'slider', xAxisIndex: 0, height: 18, bottom: 6, filterMode: 'none' },
    ].concat(extra || []);
  }
  function communityLabel(details, id) {
    const names = details.communityNames || {};
    return names[id] || (id.length > 14 ? `${id.slice(0, 12)}…` : id);
  }
  /** Bands of the fault windows on a time chart (whole height), as one invisible series. */
  function faultBands(details) {
    const spans = details.faults.filter((w) => !w.instant);
    const instants = details.faults.filter((w) => w.instant);
    return {
      name: 'fault windows',
      type: 'line',
      data: [],
      silent: true,
      markArea: {
        silent: true,
        itemStyle: { color: 'rgba(198, 40, 40, 0.07)' },
        data: spans.map((w) => [{ xAxis: w.from, name: '' }, { xAxis: Math.max(w.to, w.from + 1) }]),
      },
      markLine: {
        silent: true,
        symbol: 'none',
        label: { show: false },
        lineStyle: { color: 'rgba(198, 40, 40, 0.5)', type: 'dashed', width: 1 },
        data: instants.map((w) => ({ xAxis: w.from })),
      },
    };
  }

  /** A round top for an axis holding `v`: 1, 2 or 5 times a power of ten. */
  function niceMax(v) {
    if (!(v > 0)) return null;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  // shared scales, so that two runs compare at a glance
  let bytesMax = 0;
  let latencyMax = 0;
  for (const run of runs) {
    for (const m of run.result.members) bytesMax = Math.max(bytesMax, m.bytesDown, m.bytesUp);
    for (const l of run.details.latency) for (const b of l.bins) latencyMax = Math.max(latencyMax, b);
  }
  bytesMax = compare ? niceMax(bytesMax) : null;
  // the backend figures (absent from runs saved before them): charts only when every run has them
  const backends = runs.every((run) => run.details.backend);
  let historyMax = 0;
  let uploadMax = 0;
  if (backends)
    for (const run of runs) {
      const b = run.details.backend;
      for (const m of b.members) historyMax = Math.max(historyMax, m.timeToFullHistory || 0);
      uploadMax = Math.max(
        uploadMax,
        b.uploaded.torrent.owners + b.uploaded.torrent.peers,
        b.uploaded.content.owners + b.uploaded.content.peers,
      );
    }
  historyMax = compare ? niceMax(historyMax) : null;
  uploadMax = compare ? niceMax(uploadMax) : null;
  function bytesLabel(v) {
    return v >= 1e6 ? `${v / 1e6} MB` : v >= 1e3 ? `${v / 1e3} kB` : `${v} B`;
  }
  latencyMax = compare ? niceMax(latencyMax) : null;

  runs.forEach((run, i) => {
    const suffix = compare ? `-${i + 1}` : '';
    const result = run.result;
    const details = run.details;
    const timeAxis = { type: 'time', min: details.start, max: details.start + result.virtualMs };
    // beside another run, each chart names its run under its title
    const title = (text) => ({
      text,
      textStyle: { fontSize: 14 },
      ...(compare ? { subtext: run.label } : {}),
    });
    const legendTop = compare ? 42 : 24;
    const gridTop = compare ? 84 : 64;

    // --- timeline of rounds, dispatches, downloads and imports per node, fault windows behind
    const nodes = [];
    for (const e of details.activity) if (nodes.indexOf(e.node) < 0) nodes.push(e.node);
    for (const m of result.members) if (nodes.indexOf(m.node) < 0) nodes.push(m.node);
    nodes.sort(byNumber);
    const manyNodes = nodes.length > 30;
    make(`timeline${suffix}`, {
      animation: false,
      title: title('Rounds, dispatches, downloads and imports per node'),
      tooltip: {
        trigger: 'item',
        formatter: (p) =>
          p.seriesType === 'scatter'
            ? `${p.seriesName}<br>${p.value[1]}<br>${iso(p.value[0])}${p.value[2] ? `<br>${p.value[2]}` : ''}`
            : p.name,
      },
      legend: { top: legendTop },
      grid: { left: 90, right: manyNodes ? 50 : 30, top: gridTop, bottom: 56 },
      xAxis: timeAxis,
      yAxis: { type: 'category', data: nodes },
      dataZoom: zoom(
        manyNodes
          ? [
              {
                type: 'slider',
                yAxisIndex: 0,
                right: 8,
                width: 16,
                start: 0,
                end: Math.min(100, 3000 / nodes.length),
              },
            ]
          : [],
      ),
      series: kinds
        .map((k, j) => ({
          name: k.name,
          type: 'scatter',
          symbol: k.symbol,
          symbolSize: manyNodes ? 7 : 11,
          itemStyle: { color: k.color },
          symbolOffset: [0, (j - 1.5) * (manyNodes ? 2 : 5)],
          data: details.activity.filter((e) => e.kind === k.kind).map((e) => [e.t, e.node, e.detail || '']),
        }))
        .concat([faultBands(details)]),
    });

    // --- fault windows: one bar per window on the row of the node (or network) it hit
    const subjects = [];
    for (const w of details.faults) if (subjects.indexOf(w.subject) < 0) subjects.push(w.subject);
    subjects.sort((a, b) => (a === 'network' ? -1 : b === 'network' ? 1 : byNumber(a, b)));
    const faultKinds = [];
    for (const w of details.faults) if (faultKinds.indexOf(w.kind) < 0) faultKinds.push(w.kind);
    const end = details.start + result.virtualMs;
    make(`faults${suffix}`, {
      animation: false,
      title: title(details.faults.length === 0 ? 'Fault windows: none' : 'Fault windows'),
      tooltip: {
        trigger: 'item',
        formatter: (p) => {
          const w = details.faults[p.value[3]];
          return `${w.kind} (${w.layer}) on ${w.subject}${w.detail ? `<br>${w.detail}` : ''}<br>${iso(w.from)}${w.instant ? '' : ` → ${w.unrecovered ? 'end of run' : iso(w.to)}<br>${duration(w.to - w.from)}`}`;
        },
      },
      legend: { top: legendTop, data: faultKinds },
      grid: { left: 90, right: 30, top: gridTop, bottom: 56 },
      xAxis: timeAxis,
      yAxis: { type: 'category', data: subjects },
      dataZoom: zoom(),
      series: faultKinds.map((kind) => ({
        name: kind,
        type: 'custom',
        encode: { x: [1, 2], y: 0 },
        itemStyle: {
          color: faultColors[details.faults.find((w) => w.kind === kind).layer] || '#777',
          opacity: 0.8,
        },
        renderItem: (params, api) => {
          const row = api.value(0);
          const a = api.coord([api.value(1), row]);
          const b = api.coord([Math.min(api.value(2), end), row]);
          const h = api.size([0, 1])[1] * 0.6;
          const rect = echarts.graphic.clipRectByRect(
            { x: a[0] - 1, y: a[1] - h / 2, width: Math.max(3, b[0] - a[0] + 2), height: h },
            {
              x: params.coordSys.x,
              y: params.coordSys.y,
              width: params.coordSys.width,
              height: params.coordSys.height,
            },
          );
          return rect && { type: 'rect', shape: rect, style: api.style() };
        },
        data: details.faults
          .map((w, j) => ({ w, j }))
          .filter((x) => x.w.kind === kind)
          .map((x) => [subjects.indexOf(x.w.subject), x.w.from, x.w.to, x.j]),
      })),
    });

    // --- per-member progress: share of the owner's index imported, over time
    const progress = details.progress;
    const rows = progress.rows.map((r) =>
      r.communityId && details.parameters.communities.length > 1
        ? `${r.node} / ${communityLabel(details, r.communityId)}`
        : r.node,
    );
    const cells = [];
    progress.rows.forEach((r, y) => {
      r.share.forEach((v, x) => {
        if (v !== null) cells.push([x, y, v]);
      });
    });
    make(`progress${suffix}`, {
      animation: false,
      title: title(
        `Members' progress: share of the owner's index imported${progress.grouped > 1 ? ` (${progress.grouped} members a row)` : ''}`,
      ),
      tooltip: {
        position: 'top',
        formatter: (p) =>
          `${rows[p.value[1]]}<br>${iso(progress.times[p.value[0]])}<br>${Math.round(p.value[2] * 100)}% imported`,
      },
      grid: { left: 110, right: 70, top: gridTop - 24, bottom: 56 },
      xAxis: { type: 'category', data: progress.times.map(shortTime), splitArea: { show: false } },
      yAxis: { type: 'category', data: rows, inverse: true },
      visualMap: {
        min: 0,
        max: 1,
        calculable: false,
        orient: 'vertical',
        right: 4,
        top: 'middle',
        itemHeight: 120,
        text: ['100%', '0%'],
        inRange: { color: ['#fbe9e7', '#ffcc80', '#29a3a3', '#1a7f37'] },
      },
      dataZoom: zoom(
        rows.length > 40
          ? [
              {
                type: 'slider',
                yAxisIndex: 0,
                left: 4,
                width: 14,
                start: 0,
                end: Math.min(100, 4000 / rows.length),
              },
            ]
          : [],
      ),
      series: [{ name: 'imported share', type: 'heatmap', data: cells, progressive: 0 }],
    });

    // --- latencies from announce to download and import, as histograms over log bins
    const binLabels = latencyEdges.map((e, j) =>
      j === latencyEdges.length - 1
        ? `≥ ${duration(e)}`
        : `${duration(e)} – ${duration(latencyEdges[j + 1])}`,
    );
    make(`latency${suffix}`, {
      animation: false,
      title: title('Announce → download → import latency (member × archive)'),
      tooltip: { trigger: 'axis' },
      legend: { top: legendTop },
      grid: { left: 60, right: 30, top: gridTop, bottom: 70 },
      xAxis: { type: 'category', data: binLabels, axisLabel: { rotate: 30, fontSize: 10 } },
      yAxis: { type: 'value', minInterval: 1, max: latencyMax, name: 'pairs' },
      series: details.latency.map((l, j) => ({
        name: `${l.stage} (${l.count}, p50 ${duration(l.p50)}, p90 ${duration(l.p90)})`,
        type: 'bar',
        itemStyle: { color: ['#29a3a3', '#f0a202', '#7b3fe4'][j] },
        data: l.bins,
      })),
    });

    // --- share of members holding the full history over time (fault windows behind)
    const communities = [];
    for (const s of details.history)
      if (communities.indexOf(s.communityId) < 0) communities.push(s.communityId);
    make(`history${suffix}`, {
      animation: false,
      title: title('Share of members holding the full history'),
      tooltip: { trigger: 'axis' },
      legend: { top: legendTop },
      grid: { left: 60, right: 30, top: gridTop, bottom: 56 },
      xAxis: timeAxis,
      yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
      dataZoom: zoom(),
      series: communities
        .map((c) => ({
          name: communityLabel(details, c),
          type: 'line',
          step: 'end',
          showSymbol: false,
          areaStyle: { opacity: 0.15 },
          data: details.history.filter((s) => s.communityId === c).map((s) => [s.t, s.share]),
        }))
        .concat([faultBands(details)]),
    });

    // --- bytes per member
    const memberLabels = result.members.map(
      (m) => m.node + (communities.length > 1 ? ` / ${communityLabel(details, m.communityId)}` : ''),
    );
    make(`bytes${suffix}`, {
      animation: false,
      title: title('Bytes per member'),
      tooltip: { trigger: 'axis' },
      legend: { top: legendTop },
      grid: { left: 90, right: 30, top: gridTop, bottom: 56 },
      xAxis: { type: 'category', data: memberLabels },
      yAxis: {
        type: 'value',
        max: bytesMax,
        axisLabel: { formatter: (v) => (v >= 1e6 ? `${v / 1e6} MB` : v >= 1e3 ? `${v / 1e3} kB` : `${v} B`) },
      },
      dataZoom: memberLabels.length > 40 ? zoom() : [],
      series: [
        {
          name: 'downloaded',
          type: 'bar',
          itemStyle: { color: '#29a3a3' },
          data: result.members.map((m) => m.bytesDown),
        },
        {
          name: 'uploaded',
          type: 'bar',
          itemStyle: { color: '#7b3fe4' },
          data: result.members.map((m) => m.bytesUp),
        },
      ],
    });

    if (backends) {
      const b = details.backend;
      // --- time to full history per member, with its failed and retried fetches
      const members = b.members
        .slice()
        .sort((x, y) => byNumber(x.node, y.node) || x.communityId.localeCompare(y.communityId));
      const labels = members.map(
        (m) => m.node + (communities.length > 1 ? ` / ${communityLabel(details, m.communityId)}` : ''),
      );
      make(`tohistory${suffix}`, {
        animation: false,
        title: title(
          `Time to full history per member (${b.backend}): ${b.membersComplete}/${b.membersCounted} complete`,
        ),
        tooltip: {
          trigger: 'axis',
          formatter: (ps) => {
            const m = members[ps[0].dataIndex];
            const time = m.timeToFullHistory === null ? 'never complete' : duration(m.timeToFullHistory);
            return `${labels[ps[0].dataIndex]}<br>${time}<br>${m.archivesHeld}/${m.archivesNeeded} archives, ${m.failedFetches} failed, ${m.retriedFetches} retried fetches`;
          },
        },
        legend: { top: legendTop },
        grid: { left: 70, right: 30, top: gridTop, bottom: 56 },
        xAxis: { type: 'category', data: labels },
        yAxis: [
          { type: 'value', max: historyMax, axisLabel: { formatter: (v) => duration(v) } },
          { type: 'value', name: 'fetches', minInterval: 1 },
        ],
        dataZoom: labels.length > 40 ? zoom() : [],
        series: [
          {
            name: 'time to full history',
            type: 'bar',
            itemStyle: { color: '#29a3a3' },
            data: members.map((m) => m.timeToFullHistory),
          },
          {
            name: 'failed fetches',
            type: 'line',
            yAxisIndex: 1,
            itemStyle: { color: '#c62828' },
            data: members.map((m) => m.failedFetches),
          },
          {
            name: 'retried fetches',
            type: 'line',
            yAxisIndex: 1,
            itemStyle: { color: '#f0a202' },
            data: members.map((m) => m.retriedFetches),
          },
        ],
      });

      // --- uploads by the owners and by the other peers, per distribution network
      make(`uploads${suffix}`, {
        animation: false,
        title: title('Bytes uploaded: owners vs peers'),
        tooltip: { trigger: 'axis' },
        legend: { top: legendTop },
        grid: { left: 90, right: 30, top: gridTop, bottom: 30 },
        xAxis: { type: 'category', data: ['torrent swarm', 'content network'] },
        yAxis: { type: 'value', max: uploadMax, axisLabel: { formatter: bytesLabel } },
        series: [
          {
            name: 'owners',
            type: 'bar',
            stack: 'up',
            itemStyle: { color: '#7b3fe4' },
            data: [b.uploaded.torrent.owners, b.uploaded.content.owners],
          },
          {
            name: 'peers',
            type: 'bar',
            stack: 'up',
            itemStyle: { color: '#29a3a3' },
            data: [b.uploaded.torrent.peers, b.uploaded.content.peers],
          },
        ],
      });
    }

    // --- signal counts
    const signalNames = Object.keys(result.signals).sort();
    make(`signals${suffix}`, {
      animation: false,
      title: title('Signals'),
      tooltip: { trigger: 'axis' },
      grid: { left: 280, right: 40, top: gridTop - 14, bottom: 30 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: signalNames.map((s) => s.replace(/^community\./, '')) },
      series: [
        {
          name: 'count',
          type: 'bar',
          itemStyle: { color: '#e4572e' },
          label: { show: true, position: 'right' },
          data: signalNames.map((s) => result.signals[s]),
        },
      ],
    });
  });

  echarts.connect(GROUP);
  window.archivistCharts = charts;
  window.addEventListener('resize', () => {
    for (const k of Object.keys(charts)) charts[k].resize();
  });
})();
