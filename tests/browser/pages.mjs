// Drives the system's headless Chromium (/usr/bin/chromium, never a downloaded
// browser) against a running collector; started by tests/test_e2e_pages.c.
//
// Environment: NINES_BASE (collector URL), NINES_FIXTURE (httpfix URL, whose
// mode this script flips to 500), NINES_TOKEN (an operator token), NINES_OUT
// (folder for screenshots), NINES_CHECK_DOWN / NINES_CHECK_UP (check ids: the
// first follows the fixture's mode, the second stays up), NINES_CUSTOMER.
// Prints one JSON line and exits 0 when every step passed; otherwise prints
// what failed on stderr and exits 1.
import { chromium } from 'playwright-core';
import path from 'node:path';

const env = process.env;
const base = env.NINES_BASE;
const out = env.NINES_OUT;
const downId = env.NINES_CHECK_DOWN;
const upId = env.NINES_CHECK_UP;
const STEP_MS = Number(env.NINES_STEP_MS || 30000);

function must(cond, what) {
  if (!cond) throw new Error(what);
}

const row = (id, state) => `tr[data-check="${id}"][data-state="${state}"]`;

async function dashboard(browser, report) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  let tokenGiven = false;    // before it, the API's 401 answers are expected
  page.on('console', (m) => {
    if (m.type() === 'error' && (tokenGiven || !/status of 401/.test(m.text()))) problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('request', (r) => { if (!r.url().startsWith(base + '/')) problems.push('external request: ' + r.url()); });

  const resp = await page.goto(base + '/');
  must(resp.status() === 200, 'GET / answered ' + resp.status());
  must((resp.headers()['content-security-policy'] || '').includes("default-src 'self'"),
    'the dashboard has no CSP: ' + JSON.stringify(resp.headers()));
  await page.waitForSelector('#error:not([hidden])', { timeout: STEP_MS });
  report.without_token = await page.textContent('#error');
  await page.fill('#token', env.NINES_TOKEN);
  tokenGiven = true;
  await page.click('#usetoken');
  await page.waitForSelector(row(downId, 'UP'), { timeout: STEP_MS });
  await page.waitForSelector(row(upId, 'UP'), { timeout: STEP_MS });
  report.rows = await page.$$eval('#checks tbody tr', (trs) => trs.map((t) => [t.dataset.check, t.dataset.state]));
  await page.screenshot({ path: path.join(out, 'dashboard-up.png'), fullPage: true });

  // the page must change by itself: a marker set now survives only without a reload
  await page.evaluate(() => { window.ninesNoReload = 42; });
  const flip = await fetch(env.NINES_FIXTURE + '/__fixture/mode?status=500');
  must(flip.status === 200, 'the fixture refused the mode change');
  const t0 = Date.now();
  await page.waitForSelector(row(downId, 'DOWN'), { timeout: STEP_MS });
  report.down_seen_after_ms = Date.now() - t0;
  must(await page.evaluate(() => window.ninesNoReload) === 42, 'the page was reloaded');
  must(await page.$(row(upId, 'UP')) !== null, upId + ' is no longer shown UP');
  await page.screenshot({ path: path.join(out, 'dashboard-down.png'), fullPage: true });

  const ack = page.locator(`#incidents li[data-check="${downId}"] button.ack`);
  await ack.waitFor({ timeout: STEP_MS });
  await ack.click();
  const acked = page.locator(`#incidents li[data-check="${downId}"] .acked`);
  await acked.waitFor({ timeout: STEP_MS });
  report.acked_text = await acked.textContent();
  must(await page.evaluate(() => window.ninesNoReload) === 42, 'the page was reloaded');
  await page.screenshot({ path: path.join(out, 'dashboard-acked.png'), fullPage: true });
  must(problems.length === 0, 'dashboard problems:\n' + problems.join('\n'));
  await ctx.close();
}

async function phone(browser, report) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await ctx.addInitScript((t) => localStorage.setItem('nines.token', t), env.NINES_TOKEN);
  const page = await ctx.newPage();
  await page.goto(base + '/');
  await page.waitForSelector(row(downId, 'DOWN'), { timeout: STEP_MS });
  report.phone_overflow_px = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  must(report.phone_overflow_px <= 1, 'the dashboard is wider than a phone: ' + report.phone_overflow_px + ' px');
  await page.screenshot({ path: path.join(out, 'dashboard-phone.png'), fullPage: true });
  await ctx.close();
}

async function statusPage(browser, report) {
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  page.on('request', (r) => { if (!r.url().startsWith(base + '/')) problems.push('external request: ' + r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  const resp = await page.goto(base + '/status/' + env.NINES_CUSTOMER);
  must(resp.status() === 200, 'status page answered ' + resp.status());
  report.services = await page.$$eval('article.service', (as) => as.map((a) => [
    a.querySelector('.name').textContent, a.dataset.state, a.querySelectorAll('.bar').length]));
  const bar = page.locator('article.service .bar').last();
  await bar.hover();
  report.today_title = await bar.getAttribute('title');
  must(/uptime|no data/.test(report.today_title || ''), 'a day bar has no figure: ' + report.today_title);
  await page.screenshot({ path: path.join(out, 'status.png'), fullPage: true });
  must(problems.length === 0, 'status page problems:\n' + problems.join('\n'));
  await ctx.close();
}

async function kpiPage(browser, report) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript((t) => localStorage.setItem('nines.token', t), env.NINES_TOKEN);
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('request', (r) => { if (!r.url().startsWith(base + '/')) problems.push('external request: ' + r.url()); });

  await page.goto(base + '/');
  const link = page.locator('a[href="/kpis"]');
  await link.waitFor({ timeout: STEP_MS });
  await link.click();
  await page.waitForURL(/\/kpis/, { timeout: STEP_MS });
  const svc = '#services tbody tr[data-scope="service"]';
  await page.waitForSelector(svc, { timeout: STEP_MS });
  const month = await page.inputValue('#month');
  const r = await fetch(base + '/api/v1/kpis/' + month, { headers: { Authorization: 'Bearer ' + env.NINES_TOKEN } });
  must(r.status === 200, 'the KPI API answered ' + r.status);
  const rows = (await r.json()).rows;
  report.kpi_month = month;
  report.kpi_services = await page.$$eval(svc, (trs) => trs.map((t) => t.dataset.customer + '/' + t.dataset.service));
  const want = rows.filter((x) => x.scope === 'service').map((x) => x.customer + '/' + x.service);
  must(JSON.stringify(report.kpi_services) === JSON.stringify(want),
    'the page shows ' + JSON.stringify(report.kpi_services) + ', the API has ' + JSON.stringify(want));
  report.kpi_teams = await page.$$eval('#teams tbody tr[data-scope="team"]', (trs) => trs.map((t) => t.dataset.team));
  must(report.kpi_teams.length === rows.filter((x) => x.scope === 'team').length, 'team rows differ from the API');
  const cells = await page.$$eval('table.kpis tbody td', (tds) => tds.map((t) => t.textContent));
  must(!cells.some((c) => /(^|[^0-9.])-1([^0-9]|$)/.test(c)), 'a -1 is shown: ' + JSON.stringify(cells));
  if (rows.some((x) => x.mttd_ms === -1 || x.rto_ms === -1)) must(cells.includes('\u2014'), 'no dash for a figure without a sample');
  await page.screenshot({ path: path.join(out, 'kpis.png'), fullPage: true });

  // another month through the picker: the table follows, without a reload
  await page.evaluate(() => { window.ninesNoReload = 7; });
  const [y, m] = month.split('-').map(Number);
  const prev = m === 1 ? (y - 1) + '-12' : y + '-' + String(m - 1).padStart(2, '0');
  const answered = page.waitForResponse((resp) => resp.url().endsWith('/api/v1/kpis/' + prev), { timeout: STEP_MS });
  await page.fill('#month', prev);
  await page.dispatchEvent('#month', 'change');
  must((await answered).status() === 200, 'the KPIs of ' + prev + ' were not served');
  await page.waitForSelector('#live[data-live="1"]', { timeout: STEP_MS });
  must(await page.evaluate(() => window.ninesNoReload) === 7, 'the KPI page was reloaded');
  must(problems.length === 0, 'KPI page problems:\n' + problems.join('\n'));
  await ctx.close();
}

const report = {};
const browser = await chromium.launch({
  executablePath: env.NINES_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let rc = 0;
try {
  await dashboard(browser, report);
  await phone(browser, report);
  await statusPage(browser, report);
  await kpiPage(browser, report);
  report.ok = true;
} catch (e) {
  console.error('pages.mjs: ' + (e && e.stack ? e.stack : e));
  rc = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(rc);
