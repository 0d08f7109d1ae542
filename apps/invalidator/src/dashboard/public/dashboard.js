// The dashboard page: one WebSocket (a snapshot on connect, then an update a second), charts
// by uPlot, everything written with textContent. The admin token, when the service needs one,
// is kept in sessionStorage and sent as a WebSocket subprotocol, never in a URL.
(function () {
  'use strict';

  const PROTOCOL = 'invalidator.dashboard.v1';
  const TOKEN_KEY = 'invalidator.dashboard.token';
  const UNAUTHORIZED = 4401;
  const TOO_MANY = 4429;
  const LOCKED_OUT = 4423;
  const HISTORY_SECONDS = 15 * 60;
  const STAGES = ['lock', 'transaction', 'publish', 'purge'];
  const STAGE_COLOURS = {
    lock: '#7c3aed',
    transaction: '#2563eb',
    publish: '#059669',
    purge: '#d97706',
  };

  const $ = (id) => document.getElementById(id);
  const state = { socket: null, attempt: 0, timer: null, history: [], thresholds: null };
  const charts = {};

  // --- token --------------------------------------------------------------------------------
  const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
  const base64url = (text) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(text)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value);
    $('token').value = '';
    $('login').hidden = true;
    state.attempt = 0;
    connect();
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.socket) state.socket.close(1000, 'token forgotten');
  });

  function showLogin(message) {
    setStatus('login', 'login required');
    $('login-message').textContent = message;
    $('login').hidden = false;
    $('content').hidden = true;
    $('logout').hidden = true;
  }

  // --- connection ---------------------------------------------------------------------------
  function setStatus(kind, text) {
    $('status').dataset.state = kind;
    $('status').textContent = text;
  }

  function connect() {
    clearTimeout(state.timer);
    const token = storedToken();
    const protocols = token ? [PROTOCOL, 'token.' + base64url(token)] : [PROTOCOL];
    const url =
      (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/dashboard/socket';
    const socket = new WebSocket(url, protocols);
    state.socket = socket;
    setStatus(
      state.attempt ? 'reconnecting' : 'connecting',
      state.attempt ? 'reconnecting…' : 'connecting…',
    );
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'snapshot') {
        state.attempt = 0;
        $('content').hidden = false;
        $('logout').hidden = !storedToken();
        setStatus('live', 'live');
        renderSnapshot(message);
      } else if (message.type === 'update') {
        renderUpdate(message);
      }
    });
    socket.addEventListener('close', (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      if (event.code === UNAUTHORIZED) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(
          token
            ? 'The token was refused. Enter the admin token.'
            : 'This dashboard needs the admin token.',
        );
        return;
      }
      // Back-off: 0.5 s doubling to 15 s, jittered; a snapshot resets it.
      const base = Math.min(500 * 2 ** state.attempt, 15000);
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      state.attempt += 1;
      const why =
        event.code === TOO_MANY
          ? 'too many clients; '
          : event.code === LOCKED_OUT
            ? 'locked out after too many bad tokens; '
            : '';
      setStatus(
        'reconnecting',
        `disconnected (${why}${event.code}); retrying in ${(delay / 1000).toFixed(1)} s`,
      );
      state.timer = setTimeout(connect, delay);
    });
  }

  // --- rendering ----------------------------------------------------------------------------
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
  const fmtAge = (ms) =>
    ms === null || ms === undefined ? '–' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
  const pct = (rate) =>
    rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(2)} %`;

  function fillTable(id, rows, cells, rowAttrs) {
    const body = $(id).querySelector('tbody');
    const fresh = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement('tr');
      if (rowAttrs) rowAttrs(tr, row);
      for (const cell of cells(row)) {
        const td = document.createElement('td');
        const [text, className] = Array.isArray(cell) ? cell : [cell, ''];
        td.textContent = String(text);
        if (className) td.className = className;
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    }
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = $(id).querySelectorAll('thead th').length;
      td.className = 'none';
      td.textContent = 'none';
      tr.appendChild(td);
      fresh.appendChild(tr);
    }
    body.replaceChildren(fresh);
  }

  function renderState(message) {
    const { instance, shared, thresholds } = message;
    state.thresholds = thresholds;
    $('instance').textContent =
      `instance ${instance.instance}, up since ${fmtTime(instance.startedAt)}`;
    $('breaker-state').textContent = instance.breaker.state;
    $('breaker-state').dataset.state = instance.breaker.state;
    $('breaker-changed').textContent = fmtTime(instance.breaker.changedAt);
    $('events-applied').textContent = instance.totals.events.applied;
    $('events-duplicate').textContent = instance.totals.events.duplicate;
    $('events-dead-lettered').textContent = instance.totals.events.deadLettered;
    const latest = state.history[state.history.length - 1];
    const rate = latest ? latest.errorRate : null;
    $('error-rate').textContent = pct(rate);
    $('error-rate').className = rate !== null && rate > thresholds.errorRate ? 'over' : '';
    $('error-threshold').textContent = pct(thresholds.errorRate);
    $('perf-threshold').textContent = thresholds.performanceMs;
    $('window-seconds').textContent = thresholds.windowSeconds;
    $('error-window').textContent = thresholds.errorWindowSeconds;
    $('fallbacks').textContent = instance.fallbacks;
    $('global-version').textContent =
      shared.globalVersion.redis ?? shared.globalVersion.mysql ?? '–';
    $('stores-state').textContent = shared.unavailable.length
      ? `not answering: ${shared.unavailable.join(', ')} (last figures shown)`
      : '';

    fillTable(
      'versions',
      shared.versions,
      (v) => [
        v.dataType,
        [v.version, 'num version'],
        fmtTime(v.lastBump ? v.lastBump.at : v.updatedAt),
        v.lastBump ? v.lastBump.actor : '–',
      ],
      (tr, v) => (tr.dataset.type = v.dataType),
    );
    fillTable('lag', instance.lag, (l) => [l.topic, [l.partition, 'num'], [l.messages, 'num']]);
    fillTable('locks', shared.locks || [], (l) => [
      l.dataType,
      [fmtAge(l.ageMs), 'num'],
      [fmtAge(l.ttlMs), 'num'],
    ]);
    fillTable('admin-access', instance.adminAccess, (a) => [
      a.route,
      a.outcome,
      a.reason,
      [a.count, 'num'],
    ]);
    fillTable(
      'incidents',
      shared.incidents || [],
      (i) => [fmtTime(i.createdAt), i.severity, i.kind, i.message, i.correctiveAction, i.instance],
      (tr, i) => (tr.className = `sev-${i.severity}`),
    );
  }

  function renderSnapshot(message) {
    state.history = message.history.slice(-HISTORY_SECONDS);
    renderState(message);
    redrawCharts();
  }

  function renderUpdate(message) {
    const last = state.history.length ? state.history[state.history.length - 1].t : 0;
    for (const point of message.points) if (point.t > last) state.history.push(point);
    if (state.history.length > HISTORY_SECONDS)
      state.history.splice(0, state.history.length - HISTORY_SECONDS);
    renderState(message);
    redrawCharts();
  }

  // --- charts -------------------------------------------------------------------------------
  function chartWidth(id) {
    return Math.max($(id).clientWidth || $(id).parentElement.clientWidth - 16, 300);
  }

  function ensureChart(id, series, yLabel, yScale) {
    if (charts[id]) return charts[id];
    const options = {
      width: chartWidth(id),
      height: 200,
      scales: { x: { time: true }, y: yScale || {} },
      axes: [{}, { label: yLabel, size: 60 }],
      series: [{}].concat(series),
    };
    charts[id] = new uPlot(options, [[]].concat(series.map(() => [])), $(id));
    return charts[id];
  }

  function redrawCharts() {
    const h = state.history;
    const xs = h.map((p) => p.t / 1000);
    const thresholds = state.thresholds || { performanceMs: 0, errorRate: 0 };
    ensureChart(
      'chart-events',
      [
        { label: 'applied', stroke: '#2563eb' },
        { label: 'duplicate', stroke: '#d97706' },
        { label: 'dead-lettered', stroke: '#c62828' },
      ],
      'events/s',
    ).setData([
      xs,
      h.map((p) => p.eventsPerSec.applied),
      h.map((p) => p.eventsPerSec.duplicate),
      h.map((p) => p.eventsPerSec.deadLettered),
    ]);
    ensureChart(
      'chart-sagas',
      [
        { label: 'succeeded', stroke: '#059669' },
        { label: 'failed', stroke: '#c62828' },
      ],
      'sagas/s',
    ).setData([xs, h.map((p) => p.sagasPerSec.success), h.map((p) => p.sagasPerSec.error)]);
    const stageSeries = [];
    const stageData = [];
    for (const stage of STAGES) {
      stageSeries.push({ label: `${stage} p50`, stroke: STAGE_COLOURS[stage] });
      stageSeries.push({ label: `${stage} p99`, stroke: STAGE_COLOURS[stage], dash: [6, 4] });
      stageData.push(h.map((p) => p.stageMs[stage].p50));
      stageData.push(h.map((p) => p.stageMs[stage].p99));
    }
    stageSeries.push({ label: 'threshold', stroke: '#c62828', width: 1, dash: [2, 2] });
    stageData.push(h.map(() => thresholds.performanceMs));
    // Log scale: millisecond stages and a threshold of a second stay readable together.
    ensureChart('chart-stages', stageSeries, 'ms', { distr: 3 }).setData([xs].concat(stageData));
    ensureChart(
      'chart-errors',
      [
        { label: 'error rate', stroke: '#c62828' },
        { label: 'threshold', stroke: '#667085', dash: [2, 2] },
      ],
      'rate',
    ).setData([xs, h.map((p) => p.errorRate), h.map(() => thresholds.errorRate)]);
  }

  window.addEventListener('resize', () => {
    for (const id of Object.keys(charts))
      charts[id].setSize({ width: chartWidth(id), height: 200 });
  });

  connect();
})();
