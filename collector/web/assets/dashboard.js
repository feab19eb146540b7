/*
 * nines ops dashboard. Polls the collector's JSON API every 2 s (states,
 * incidents, alerts, maintenance, drills) and every 60 s for uptime; no page
 * reload, no third-party code, no inline handlers (the page's CSP forbids
 * them). Text reaches the page only through textContent, never innerHTML.
 * The token is kept in localStorage; with an API that has no tokens none is
 * needed.
 */
'use strict';
(function () {
  const POLL_MS = 2000;
  const UPTIME_MS = 60000;
  const SPARK_POINTS = 60;           /* latency samples kept per check (2 min) */
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  let token = localStorage.getItem('nines.token') || '';
  let lastUptime = 0;
  let timer = null;
  const spark = new Map();           /* check id -> latencies (ms), oldest first */
  const lastSample = new Map();      /* check id -> last_result_ms already sampled */
  const uptime = new Map();          /* check id -> {d1, d30} */
  const shown = new Map();           /* section -> signature of what is shown */

  class AuthError extends Error {
    constructor(status) { super(status === 403 ? 'this token may not do that' : 'a token is needed'); this.status = status; }
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  async function api(path, opts) {
    const o = Object.assign({ cache: 'no-store' }, opts || {});
    o.headers = Object.assign({}, o.headers || {});
    if (token) o.headers.Authorization = 'Bearer ' + token;
    const r = await fetch(path, o);
    if (r.status === 401 || r.status === 403) throw new AuthError(r.status);
    if (!r.ok) throw new Error(path.split('?')[0] + ': HTTP ' + r.status);
    return r.json();
  }

  function fmtTime(ms) {
    if (!ms) return '-';
    const d = new Date(ms);
    return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function fmtAgo(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    return Math.round(s / 3600) + ' h';
  }
  function fmtPct(u) {
    if (!u || u.no_eligible_time) return 'n/a';
    if (u.uptime >= 1) return '100%';
    return (Math.floor(u.uptime * 10000 + 1e-6) / 100).toString() + '%';
  }

  function setError(msg) {
    const e = $('error');
    e.textContent = msg || '';
    e.hidden = !msg;
  }
  function setLive(ok) {
    const l = $('live');
    l.dataset.live = ok ? '1' : '0';
    l.textContent = ok ? 'live, updated ' + new Date().toLocaleTimeString() : 'not updating';
  }

  /* Replaces a section's content only when what it shows changed, so that a
   * button is not swapped under the user's finger every 2 s. */
  function render(id, data, build) {
    const sig = JSON.stringify(data);
    if (shown.get(id) === sig) return;
    shown.set(id, sig);
    const box = $(id);
    box.replaceChildren(...build(data));
  }

  function sparkline(values) {
    const svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + SPARK_POINTS + ' 20');
    svg.setAttribute('preserveAspectRatio', 'none');
    if (values.length > 1) {
      const max = Math.max(...values, 1);
      const pts = values.map((v, i) => (SPARK_POINTS - values.length + i) + ',' + (19 - 18 * v / max).toFixed(1));
      const line = document.createElementNS(SVGNS, 'polyline');
      line.setAttribute('points', pts.join(' '));
      svg.append(line);
    }
    const t = document.createElementNS(SVGNS, 'title');
    t.textContent = values.length ? 'latency, last ' + values.length + ' samples (max ' + Math.max(...values).toFixed(0) + ' ms)' : 'no samples yet';
    svg.append(t);
    return svg;
  }

  function sample(c) {
    if (!c.last_result_ms || lastSample.get(c.id) === c.last_result_ms) return;
    lastSample.set(c.id, c.last_result_ms);
    const a = spark.get(c.id) || [];
    a.push(c.last_latency_us / 1000);
    while (a.length > SPARK_POINTS) a.shift();
    spark.set(c.id, a);
  }

  function checkRow(c) {
    const locs = el('td', { class: 'locs' });
    for (const l of c.locations || []) {
      locs.append(el('span', { class: 'dot state-' + l.state + (l.silent ? ' silent' : ''),
        title: l.name + ': ' + l.state + (l.silent ? ' (probe silent)' : '') + ', probe ' + l.probe }));
    }
    const u = uptime.get(c.id) || {};
    const lat = spark.get(c.id) || [];
    return el('tr', { 'data-check': c.id, 'data-state': c.state },
      el('td', {}, el('strong', {}, c.id), el('span', { class: 'kind' }, c.kind)),
      el('td', {}, el('span', { class: 'state state-' + c.state, title: 'since ' + fmtTime(c.since_ms) }, c.state)),
      locs,
      el('td', {}, sparkline(lat), el('span', { class: 'ms' }, lat.length ? lat[lat.length - 1].toFixed(lat[lat.length - 1] < 10 ? 1 : 0) + ' ms' : '')),
      el('td', { class: 'up24' }, fmtPct(u.d1)),
      el('td', { class: 'up30' }, fmtPct(u.d30)));
  }

  async function ack(id, button) {
    button.disabled = true;
    button.textContent = 'acknowledging';
    try {
      await api('/api/v1/incidents/' + encodeURIComponent(id) + '/ack', { method: 'POST' });
      button.textContent = 'acknowledged';
      setError('');
      poll();
    } catch (e) {
      button.disabled = false;
      button.textContent = 'Ack';
      setError(e instanceof AuthError && e.status === 403 ? 'Acknowledging needs an operator token.' : 'Ack failed: ' + e.message);
    }
  }

  function incidentItems(list) {
    if (!list.length) return [el('li', { class: 'empty' }, 'No open incidents.')];
    return list.map((i) => {
      const li = el('li', { 'data-incident': i.id, 'data-check': i.check || '' },
        el('strong', {}, i.check || '?'),
        el('span', {}, 'down since ' + fmtTime(i.start_ms) + ' (' + fmtAgo(i.start_ms) + ')'),
        el('span', { class: 'muted' }, (i.reason || '') + (i.message ? ': ' + i.message : '')));
      if (i.maintenance) li.append(el('span', { class: 'muted' }, 'in maintenance ' + i.maintenance));
      if (i.ack_by) {
        li.append(el('span', { class: 'acked' }, 'acknowledged by ' + i.ack_by));
      } else {
        const b = el('button', { type: 'button', class: 'ack' }, 'Ack');
        b.addEventListener('click', () => ack(i.id, b));
        li.append(b);
      }
      return li;
    });
  }

  function capacityItems(alerts) {
    const cap = alerts.filter((a) => a.notification && /^capacity/.test(a.notification.rule || ''));
    if (!cap.length) return [el('li', { class: 'empty' }, 'No capacity warnings.')];
    return cap.map((a) => el('li', {}, el('strong', {}, a.notification.check || a.what),
      el('span', {}, a.notification.summary || a.notification.rule),
      el('span', { class: 'muted' }, 'since ' + fmtTime(a.fired_ms))));
  }

  function maintItems(list) {
    const now = Date.now();
    if (!list.length) return [el('li', { class: 'empty' }, 'No maintenance windows.')];
    return list.map((m) => {
      const what = [].concat(m.services || [], m.checks || []).join(', ') || 'everything';
      const when = m.recurring ? m.recurring : fmtTime(m.start_ms) + ' to ' + fmtTime(m.end_ms);
      const active = !m.recurring && m.start_ms <= now && now < m.end_ms;
      return el('li', {}, el('strong', {}, m.id), el('span', {}, what), el('span', { class: 'muted' }, when),
        active ? el('span', { class: 'acked' }, 'in progress') : '');
    });
  }

  function drillItems(d) {
    const all = [].concat((d.running || []).map((x) => Object.assign({ _running: true }, x)), (d.ended || []).slice(0, 5));
    if (!all.length) return [el('li', { class: 'empty' }, 'No drills yet.')];
    return all.filter(Boolean).map((x) => el('li', {}, el('strong', {}, x.service || '?'),
      el('span', {}, x._running ? 'running' : (x.result || x.state || 'ended')),
      el('span', { class: 'muted' }, 'started ' + fmtTime(x.t0_ms) + (x.scenario ? ', ' + x.scenario : ''))));
  }

  async function refreshUptime(checks) {
    lastUptime = Date.now();
    await Promise.all(checks.map(async (c) => {
      try {
        const u = await api('/api/v1/uptime?check=' + encodeURIComponent(c.id));
        uptime.set(c.id, { d1: u.windows['24h'], d30: u.windows['30d'] });
      } catch (e) { /* shown as n/a; the next round retries */ }
    }));
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const checks = (await api('/api/v1/checks')).checks;
      checks.forEach(sample);
      if (Date.now() - lastUptime > UPTIME_MS) await refreshUptime(checks);
      const rows = checks.map((c) => ({ id: c.id, kind: c.kind, state: c.state, since_ms: c.since_ms, locations: c.locations,
        spark: spark.get(c.id), up: uptime.get(c.id) }));
      render('checks-body', rows, () => checks.map(checkRow));
      const counts = {};
      checks.forEach((c) => { counts[c.state] = (counts[c.state] || 0) + 1; });
      $('summary').textContent = Object.entries(counts).map(([k, v]) => v + ' ' + k).join(' · ');
      const [inc, alerts, maint, drills] = await Promise.all([
        api('/api/v1/incidents?open=1'), api('/api/v1/alerts'), api('/api/v1/maintenance'),
        api('/api/v1/drills').catch(() => ({ running: [], ended: [] }))]);
      render('incidents', inc.incidents, incidentItems);
      render('capacity', alerts.alerts || [], capacityItems);
      render('maintenance', maint.maintenance || [], maintItems);
      render('drills', drills, drillItems);
      setError('');
      setLive(true);
    } catch (e) {
      setLive(false);
      setError(e instanceof AuthError ? 'Paste an API token (viewer, or operator to acknowledge): ' + e.message + '.' : String(e.message || e));
    }
    timer = setTimeout(poll, POLL_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('checks').tBodies[0].id = 'checks-body';
    $('token').value = token;
    $('tokenform').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token').value.trim();
      localStorage.setItem('nines.token', token);
      lastUptime = 0;
      shown.clear();
      poll();
    });
    $('forget').addEventListener('click', () => {
      token = '';
      $('token').value = '';
      localStorage.removeItem('nines.token');
      shown.clear();
      poll();
    });
    poll();
  });
})();
