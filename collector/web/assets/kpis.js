/*
 * nines KPI page: one month's operational KPIs (GET /api/v1/kpis/YYYY-MM, the
 * rows of `nines kpi`), service rows and team rows, a month picker and a CSV
 * download. A figure of -1 (no sample) is shown as a dash. Same rules as the
 * dashboard: no third-party code, no inline handlers, text only through
 * textContent; the token is the dashboard's (localStorage).
 */
'use strict';
(function () {
  const DASH = '\u2014';
  const $ = (id) => document.getElementById(id);
  let token = localStorage.getItem('nines.token') || '';
  let seq = 0;                       /* answers to an older month are dropped */

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  async function get(path) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const r = await fetch(path, { cache: 'no-store', headers });
    if (r.status === 401 || r.status === 403) throw new Error('paste a viewer token (HTTP ' + r.status + ')');
    if (!r.ok) {
      let msg = 'HTTP ' + r.status;
      try { msg = (await r.json()).error.message || msg; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r;
  }

  const none = (v) => v === undefined || v === null || v < 0;
  function pct(v) { return none(v) ? DASH : (Math.floor(v * 1000 + 1e-6) / 1000) + '%'; }
  function count(v) { return none(v) ? DASH : String(v); }
  function dur(ms) {
    if (none(ms)) return DASH;
    if (ms < 1000) return ms + ' ms';
    const s = ms / 1000;
    if (s < 120) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' d';
  }
  function trio(a, b, c) { return [a, b, c].map(count).join(' / '); }

  function figures(r) {
    const met = none(r.availability_pct) || none(r.target_pct) ? '' : (r.met ? 'met' : 'missed');
    const cov = (r.coverage || []).map((c) => c.check + ': ' + pct(c.coverage_pct)).join(', ');
    return [
      el('td', { class: 'num avail ' + met, title: met ? 'commitment ' + met : 'no eligible time' }, pct(r.availability_pct)),
      el('td', { class: 'num' }, pct(r.target_pct)),
      el('td', { class: 'num incidents' }, count(r.incidents)),
      el('td', { class: 'num' }, dur(r.mttd_ms)),
      el('td', { class: 'num' }, dur(r.mtta_ms)),
      el('td', { class: 'num' }, dur(r.mttr_ms)),
      el('td', { class: 'num' }, trio(r.notifications_sent, r.notifications_delivered, r.notifications_failed)),
      el('td', { class: 'num' }, dur(r.delivery_p95_ms)),
      el('td', { class: 'num', title: 'target ' + dur(r.ack_target_ms) }, pct(r.ack_within_target_pct)),
      el('td', { class: 'num' }, count(r.drills_held) + ' / ' + count(r.drills_passed)),
      el('td', { class: 'num' }, none(r.drill_overdue) ? DASH : (r.drill_overdue ? 'overdue' : 'no')),
      el('td', { class: 'num' }, dur(r.rto_ms)),
      el('td', { class: 'num' }, dur(r.rpo_ms)),
      el('td', { class: 'num', title: cov || 'no checks' }, pct(r.coverage_min_pct)),
      el('td', { class: 'num' }, count(r.forecasts_raised)),
      el('td', { class: 'num' }, dur(r.forecast_lead_min_ms) + ' / ' + dur(r.forecast_lead_median_ms)),
    ];
  }

  function fill(id, rows, head, cols) {
    const body = $(id).tBodies[0];
    if (!rows.length) {
      body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: String(cols) }, 'No rows for this month.')));
      return;
    }
    body.replaceChildren(...rows.map((r) => el('tr', { 'data-scope': r.scope, 'data-service': r.service || '',
      'data-customer': r.customer || '', 'data-team': r.team || '' }, ...head(r), ...figures(r))));
  }

  function setError(msg) {
    $('error').textContent = msg || '';
    $('error').hidden = !msg;
  }

  async function load() {
    const month = $('month').value;
    const mine = ++seq;
    if (!/^\d{4}-\d{2}$/.test(month)) return;
    $('live').dataset.live = '0';
    $('live').textContent = 'computing ' + month;
    history.replaceState(null, '', '/kpis?month=' + month);
    try {
      const doc = await (await get('/api/v1/kpis/' + month)).json();
      if (mine !== seq) return;
      const rows = doc.rows || [];
      fill('services', rows.filter((r) => r.scope === 'service'),
        (r) => [el('td', {}, r.customer || DASH), el('td', {}, el('strong', {}, r.service)), el('td', {}, r.team || DASH)], 19);
      fill('teams', rows.filter((r) => r.scope === 'team'), (r) => [el('td', {}, el('strong', {}, r.team || DASH))], 17);
      setError('');
      $('live').dataset.live = '1';
      $('live').textContent = month + ', computed ' + new Date(doc.generated_ms || Date.now()).toLocaleTimeString();
    } catch (e) {
      if (mine !== seq) return;
      $('live').textContent = 'not loaded';
      setError(String(e.message || e));
    }
  }

  async function csv() {
    const month = $('month').value;
    try {
      const blob = await (await get('/api/v1/kpis/' + month + '.csv')).blob();
      const a = el('a', { href: URL.createObjectURL(blob), download: 'nines-kpis-' + month + '.csv' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      setError('CSV: ' + (e.message || e));
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    const asked = new URLSearchParams(location.search).get('month');
    const now = new Date();
    $('month').value = asked && /^\d{4}-\d{2}$/.test(asked) ? asked
      : now.getFullYear() + '-' + String(now.getMonth() + 1).padStart(2, '0');
    $('month').max = now.getFullYear() + '-' + String(now.getMonth() + 1).padStart(2, '0');
    $('token').value = token;
    $('month').addEventListener('change', load);
    $('monthform').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
    $('csv').addEventListener('click', csv);
    $('tokenform').addEventListener('submit', (ev) => {
      ev.preventDefault();
      token = $('token').value.trim();
      localStorage.setItem('nines.token', token);
      load();
    });
    load();
  });
})();
