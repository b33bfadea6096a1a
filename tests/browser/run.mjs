// The citizen journeys in a real browser: Debian's chromium driven by playwright-core (never a
// downloaded browser), against a real `wujing serve` on 127.0.0.1 with a fresh SQLite file, and
// an axe-core scan of every page visited (no serious or critical violation may remain).
//
// Usage: node tests/browser/run.mjs [path/to/wujing]   (scripts/test runs it)

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = process.argv[2] ?? join(root, 'target', 'debug', 'wujing');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

const dir = mkdtempSync(join(tmpdir(), 'wujing-browser-'));
const outbox = join(dir, 'outbox.log');

/** A port free right now on the loopback address (for a server whose public URL must name it). */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(extraEnv = {}, db = join(dir, 'wujing.db'), listen = '127.0.0.1:0') {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--listen', listen], {
      env: { ...process.env, DATABASE_URL: db, WUJING_KEYS_FILE: join(dir, 'wujing.keys'), WUJING_OUTBOX_FILE: outbox, WUJING_LOG: 'warn', ...extraEnv },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    const timer = setTimeout(() => reject(new Error('wujing did not start in 60 s')), 60_000);
    child.stdout.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/Wujing is serving on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`wujing exited with ${code}`)));
  });
}

/** The newest code texted to a phone ending in `tail`, waiting for the dispatcher. */
async function lastCode(tail, after) {
  for (let i = 0; i < 50; i++) {
    if (existsSync(outbox)) {
      const lines = readFileSync(outbox, 'utf8').trim().split('\n').slice(after);
      const hit = lines.reverse().find((l) => l.includes(tail) && l.includes('(phone_code)'));
      if (hit) return hit.match(/(\d{6})/)[1];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no code arrived in the outbox');
}

async function waitForOutbox(text) {
  for (let i = 0; i < 50; i++) {
    if (existsSync(outbox) && readFileSync(outbox, 'utf8').includes(text)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the outbox never showed ${JSON.stringify(text)}`);
}

function outboxLines() {
  return existsSync(outbox) ? readFileSync(outbox, 'utf8').trim().split('\n').filter(Boolean).length : 0;
}

const scanned = new Map();
const wide = [];

/** Every console message of a refused script or style (the content security policy at work
 * against one of our own pages is a bug: a script or style left inline). */
const refusals = [];
function watchRefusals(context) {
  context.on('page', (p) =>
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) refusals.push(`${p.url()}: ${m.text()}`);
    }),
  );
  return context;
}

/** With SCREENSHOTS=<dir>: each scanned page at a phone's and a desktop's width, for a look. */
async function screenshots(page, label) {
  const size = page.viewportSize();
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    await page.screenshot({ path: join(process.env.SCREENSHOTS, `${label.replace(/\W+/g, '-')}-${width}.png`), fullPage: true });
  }
  if (size) await page.setViewportSize(size);
}

/** Binds a terminal's browser to a device the way staff do: the token typed into the form. */
async function bindDevice(page, base, token, back) {
  await page.goto(`${base}/device?back=${encodeURIComponent(back)}`);
  await scan(page, 'device');
  await page.fill('#token', token);
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  assert.equal(new URL(page.url()).pathname, back);
}
async function scan(page, label) {
  // Evaluated through the debugging protocol: an inline script tag would be refused by the
  // content security policy, like any injected script.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  scanned.set(label, result.violations.length);
  // Every page fits a phone: nothing wider than 390 px (issue 15).
  {
    const size = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 390) wide.push(`${label} (${w} px)`);
    if (size) await page.setViewportSize(size);
  }
  if (process.env.SCREENSHOTS) await screenshots(page, label);
  assert.equal(
    bad.length,
    0,
    `${label}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('; ')}`,
  );
}

async function book(page, base, { lang, business, name, id, extra, phone }) {
  await page.goto(`${base}/lang?to=${lang}&back=/`);
  await scan(page, `home ${lang}`);
  await page.goto(`${base}/book/${business}`);
  await scan(page, `business ${lang}`);
  await page.fill('#name', name);
  await page.fill('#id_number', id);
  if (extra) await extra(page);
  await page.locator('form[action$="/check"] button[type=submit]').click();
  await page.waitForLoadState();
  await scan(page, `halls ${lang}`);
  await page.locator('button[name=day]').first().click();
  await page.waitForLoadState();
  await scan(page, `times ${lang}`);
  await page.locator('button[name=slot_id]').first().click();
  await page.waitForLoadState();
  return confirmHeld(page, { lang, phone });
}

async function confirmHeld(page, { lang, phone }) {
  await scan(page, `hold ${lang}`);
  assert.match(await page.locator('#countdown').innerText(), /^\d+:\d\d$/, 'the countdown runs');
  await page.fill('#phone', phone);
  const before = outboxLines();
  await page.locator('button[name=action][value=send]').click();
  await page.waitForLoadState();
  const code = await lastCode(phone.slice(-4), before);
  await page.fill('#code', code);
  await page.locator('button[name=action][value=confirm]').click();
  await page.waitForURL(/\/slip\//);
  await scan(page, `slip ${lang}`);
  return page.url();
}

let hall;

/** JSON over fetch, with the session cookie and CSRF token when given. */
async function api(base, method, path, body, session) {
  const headers = { 'content-type': 'application/json' };
  if (session) Object.assign(headers, { cookie: session.cookie, 'x-csrf-token': session.csrf });
  if (session?.bearer) headers.authorization = `Bearer ${session.bearer}`;
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, cookie: r.headers.get('set-cookie') };
}

async function signIn(base, username, password) {
  const r = await api(base, 'POST', '/api/v1/staff/session', { username, password });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { cookie: r.cookie.split(';')[0], csrf: r.body.csrf_token };
}

async function staffPage(context, base, username, password) {
  const page = await context.newPage();
  await page.goto(`${base}/staff/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.locator('form button').click();
  await page.waitForURL(/\/staff$/);
  return page;
}

// The hall's day, in a training hall whose clock reads Wednesday 2026-12-02 09:20 in Guangzhou:
// a booking checked in at the kiosk, called on the board, accepted and paid at the window,
// rated "unsatisfied" on the window's terminal, and acknowledged by the leader.
async function hallDay(browser) {
  const db = join(dir, 'hall.db');
  const admin = spawn(bin, ['create-admin', '--username', 'admin'], {
    env: { ...process.env, DATABASE_URL: db, WUJING_KEYS_FILE: join(dir, 'wujing.keys'), WUJING_ADMIN_PASSWORD: 'admin password 1', WUJING_LOG: 'warn' },
  });
  await new Promise((r) => admin.on('exit', r));
  // Its public URL names its own port, so that the links in its texts (the status pages')
  // lead back to it.
  const port = await freePort();
  hall = await startServer(
    { WUJING_CLOCK_AT: '2026-12-02T09:20:00+08:00', WUJING_NO_PHONE_CODE: 'true', WUJING_PAYMENT_PROVIDER: 'simulated', WUJING_PUBLIC_URL: `http://127.0.0.1:${port}` },
    db,
    `127.0.0.1:${port}`,
  );
  const base = hall.base;
  const root = await signIn(base, 'admin', 'admin password 1');
  for (const [username, roles, phone] of [
    ['officer1', [{ role: 'officer', hall: 'tianhe' }], null],
    ['leader1', [{ role: 'leader', hall: 'tianhe' }], '13900000001'],
  ]) {
    const r = await api(base, 'POST', '/api/v1/admin/staff', { username, display_name: username, password: 'a long password', roles, phone }, root);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const device = await api(base, 'POST', '/api/v1/admin/devices', { name: 'window terminal', hall_id: 'tianhe' }, root);
  const token = device.body.token;
  // Book 09:30 today and check in at the kiosk.
  const avail = await api(base, 'GET', '/api/v1/availability?business=passport_renewal&halls=tianhe&from=2026-12-02&to=2026-12-02');
  const slot = avail.body.slots.find((s) => s.start === '09:30');
  const hold = await api(base, 'POST', '/api/v1/holds', { slot_id: slot.slot_id, business: 'passport_renewal' });
  const booking = await api(base, 'POST', '/api/v1/bookings', {
    hold_id: hold.body.hold_id,
    applicant: { name: '陈晓明', id_number: '440106198503030116', phone: '13800138000' },
    answers: { renewal_reason: 'pages_full' },
  });
  assert.equal(booking.status, 201, JSON.stringify(booking.body));
  // Check in at the hall's kiosk: its own machine, bound to the device once.
  const kiosk = await (await browser.newContext()).newPage();
  await bindDevice(kiosk, base, token, '/kiosk');
  await scan(kiosk, 'kiosk');
  assert.match(await kiosk.locator('header').innerText(), /天河区出入境办证大厅/);
  // A wrong number is refused with what to do next.
  await kiosk.fill('#code', `WUJING:${booking.body.code}:slipkey`);
  await kiosk.locator('#id_number').click();
  for (const k of '440106198503030117') await kiosk.locator(`.keypad button[data-key="${k}"]`).click();
  assert.equal(await kiosk.locator('#id_number').inputValue(), '440106198503030117', 'the on-screen keypad types');
  await kiosk.locator('button.go').click();
  await kiosk.waitForLoadState();
  assert.match(await kiosk.locator('[role=alert]').innerText(), /咨询台|information desk/);
  await scan(kiosk, 'kiosk refused');
  await kiosk.fill('#code', `WUJING:${booking.body.code}:slipkey`);
  await kiosk.fill('#id_number', '440106198503030116');
  await kiosk.locator('button.go').click();
  await kiosk.waitForLoadState();
  const label = (await kiosk.locator('.ticket').innerText()).trim();
  assert.match(await kiosk.locator('main').innerText(), /留意叫号屏/);
  await scan(kiosk, 'kiosk ticket');
  assert.equal(label, 'A001');

  // The display PC sits in another zone: the board still shows the hall's time.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'America/New_York' });
  const board = await context.newPage();
  await board.goto(`${base}/board/tianhe`);
  await scan(board, 'board');
  const waitingA = async () => Number(await board.locator('#waiting li[data-queue="A"] .count').innerText());
  assert.equal(await waitingA(), 1, 'the checked-in citizen waits in queue A');
  assert.match(await board.locator('#calls').innerText(), /暂未叫号/);
  const hallNow = Number(await board.locator('body').getAttribute('data-now'));
  const hhmm = (ms) => new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(ms));
  const shown = (await board.locator('#clock').innerText()).slice(0, 5);
  assert.ok([hhmm(hallNow), hhmm(hallNow + 60_000)].includes(shown), `board clock ${shown}, hall time ${hhmm(hallNow)}`);
  const officer = await staffPage(context, base, 'officer1', 'a long password');
  const windows = await api(base, 'GET', '/api/v1/admin/halls/tianhe/windows', undefined, root);
  const window = windows.body.find((w) => w.kind === 'general').number;
  await officer.goto(`${base}/staff/counter/tianhe/${window}`);
  await scan(officer, 'counter');
  await new Promise((r) => setTimeout(r, 500)); // the board's event stream is open
  await officer.locator('#next').click();
  await officer.waitForLoadState();
  await board.locator(`#calls li[data-label="${label}"]`).first().waitFor({ timeout: 10_000 });
  assert.match(await board.locator('#calls li').first().innerText(), new RegExp(`${label} → ${window}`));
  await board.waitForFunction(() => document.querySelector('#waiting li[data-queue="A"] .count').textContent === '0', null, { timeout: 10_000 });
  assert.equal(await board.locator('#calls .empty').count(), 0);
  assert.match(await officer.locator('main').innerText(), /陈晓明/);
  await officer.locator('button[value=start]').click();
  await officer.waitForLoadState();
  await officer.selectOption('select[name=method]', 'card');
  await officer.fill('input[name=reference]', 'POS-0001');
  await officer.locator('form:has(input[value=fee]) button').click();
  await officer.waitForLoadState();
  assert.match(await officer.locator('.msg').innerText(), /已收费 120 元/);
  await officer.locator('button[value=finish]').click();
  await officer.waitForLoadState();

  // The terminal is its own machine: its own browser context, bound to the device.
  const terminal = await (await browser.newContext()).newPage();
  await bindDevice(terminal, base, token, `/rate/tianhe/${window}`);
  await terminal.locator('button[value=unsatisfied]').waitFor();
  await scan(terminal, 'rating terminal');
  await terminal.locator('input[value=slow]').check();
  await terminal.locator('button[value=unsatisfied]').click();
  await terminal.waitForLoadState();
  assert.match(await terminal.locator('[role=status]').innerText(), /谢谢/);
  // The terminal returns to its idle screen by itself: no thanks left up, no form for the
  // ticket just rated, ready for the next citizen at this window.
  await terminal.waitForFunction(
    () => !document.querySelector('form') && !document.querySelector('[role=status]') && /欢迎/.test(document.body.innerText),
    null,
    { timeout: 10000 },
  );
  await waitForOutbox('差评提醒');

  const leader = await staffPage(context, base, 'leader1', 'a long password');
  await leader.goto(`${base}/staff/alerts`);
  await scan(leader, 'alerts');
  assert.match(await leader.locator('main').innerText(), new RegExp(label));
  await leader.fill('input[name=outcome]', '已到窗口向市民致歉并说明');
  await leader.locator('form[action$="/ack"] button').click();
  await leader.waitForLoadState();
  assert.match(await leader.locator('main').innerText(), /已确认：已到窗口/);
  console.log(`ok - hall day: ${label} checked in, called on the board, paid 120 at window ${window}, rated unsatisfied, alert acknowledged`);

  // After the counter: a second citizen, accepted at the window, picks the pickup locker; the
  // document is reviewed, made and arrives; the text carries a one-time code, and the hall's
  // locker opens the compartment for the identity number and that code.
  assert.equal((await api(base, 'PUT', '/api/v1/admin/halls/tianhe/locker', { count: 4 }, root)).status, 200);
  const lina = '440106199001011235'; // not documentLife's citizen below
  const firstAvail = await api(base, 'GET', '/api/v1/availability?business=passport_first&halls=tianhe&from=2026-12-02&to=2026-12-02');
  const later = firstAvail.body.slots.find((s) => s.start === '10:00');
  const firstHold = await api(base, 'POST', '/api/v1/holds', { slot_id: later.slot_id, business: 'passport_first' });
  const first = await api(base, 'POST', '/api/v1/bookings', {
    hold_id: firstHold.body.hold_id,
    applicant: { name: '李娜', id_number: lina, phone: '13800138001' },
  });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.equal((await api(base, 'POST', '/api/v1/halls/tianhe/checkins', { code: first.body.code, id_number: lina }, { bearer: token })).status, 201);
  const called = await api(base, 'POST', `/api/v1/halls/tianhe/windows/${window}/call`, undefined, root);
  const at = `/api/v1/halls/tianhe/windows/${window}/tickets/${called.body.id}`;
  await api(base, 'POST', `${at}/action`, 'start', root);
  assert.equal((await api(base, 'POST', `${at}/accept`, {}, root)).status, 201);
  await api(base, 'POST', `${at}/action`, 'finish', root);
  const choice = await api(base, 'POST', `/api/v1/bookings/${first.body.code}/collection`, { id_number: lina, method: 'locker' });
  assert.equal(choice.status, 200, JSON.stringify(choice.body));
  const app = `/api/v1/applications/${choice.body.id}`;
  for (const step of ['review', 'approve']) assert.equal((await api(base, 'POST', `${app}/${step}`, undefined, root)).status, 200);
  for (const step of [{ step: 'start' }, { step: 'produced', document_number: 'E87654321' }, { step: 'dispatched' }, { step: 'ready' }]) {
    const r = await api(base, 'POST', `${app}/production`, step, root);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await waitForOutbox('取件码');
  const pickup = readFileSync(outbox, 'utf8').match(/取件码(\d{8})/)[1];
  const lockerDevice = await api(base, 'POST', '/api/v1/admin/devices', { name: 'pickup locker', hall_id: 'tianhe' }, root);
  const locker = await (await browser.newContext()).newPage();
  await bindDevice(locker, base, lockerDevice.body.token, '/locker');
  await scan(locker, 'locker');
  await locker.fill('#id_number', lina);
  await locker.fill('#code', pickup === '00000000' ? '11111111' : '00000000');
  await locker.locator('form button').click();
  await locker.waitForLoadState();
  assert.match(await locker.locator('[role=alert]').innerText(), /取件码不正确/);
  await locker.fill('#id_number', lina);
  await locker.fill('#code', pickup);
  await locker.locator('form button').click();
  await locker.waitForLoadState();
  await scan(locker, 'locker open');
  assert.match(await locker.locator('main').innerText(), /请从\s*A-01\s*格口取件/);
  const collected = await api(base, 'GET', app, undefined, root);
  assert.equal(collected.body.application.status, 'collected');
  console.log('ok - locker: chosen by the citizen, the document arrived in A-01, the text carried the code, a wrong code refused, A-01 opened');
}

/** The newest application text of `topic` lines containing `text`, waiting for the dispatcher. */
async function outboxLine(text) {
  for (let i = 0; i < 50; i++) {
    if (existsSync(outbox)) {
      const hit = readFileSync(outbox, 'utf8').trim().split('\n').reverse().find((l) => l.includes(text));
      if (hit) return hit;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the outbox never showed ${JSON.stringify(text)}`);
}

// After the counter, in the same training hall: a booking checked in at the kiosk, accepted
// with a missing material (the photo) and collection from the locker, the material brought to another
// hall's counter, approved by the reviewer, produced, and the citizen following it on the
// status page and the slip the texts link to.
async function documentLife(browser) {
  const base = hall.base;
  const root = await signIn(base, 'admin', 'admin password 1');
  for (const [username, roles] of [
    ['officer2', [{ role: 'officer', hall: 'gz-city' }]],
    ['reviewer1', [{ role: 'reviewer' }]],
    ['producer1', [{ role: 'producer' }]],
  ]) {
    const r = await api(base, 'POST', '/api/v1/admin/staff', { username, display_name: username, password: 'a long password', roles }, root);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const avail = await api(base, 'GET', '/api/v1/availability?business=passport_first&halls=tianhe&from=2026-12-02&to=2026-12-02');
  const slot = avail.body.slots.find((s) => s.start === '09:30');
  const hold = await api(base, 'POST', '/api/v1/holds', { slot_id: slot.slot_id, business: 'passport_first' });
  const booking = await api(base, 'POST', '/api/v1/bookings', {
    hold_id: hold.body.hold_id,
    applicant: { name: '郑华', id_number: '440112200001010139', phone: '13700137000' },
    answers: {},
  });
  assert.equal(booking.status, 201, JSON.stringify(booking.body));
  const device = await api(base, 'POST', '/api/v1/admin/devices', { name: 'kiosk 2', hall_id: 'tianhe' }, root);
  const kiosk = await (await browser.newContext()).newPage();
  await bindDevice(kiosk, base, device.body.token, '/kiosk');
  await kiosk.fill('#code', `WUJING:${booking.body.code}:slipkey`);
  await kiosk.fill('#id_number', '440112200001010139');
  await kiosk.locator('button.go').click();
  await kiosk.waitForLoadState();
  const label = (await kiosk.locator('.ticket').innerText()).trim();

  // Accepted at a tianhe window: the household register is missing; the locker is chosen.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const officer = await staffPage(context, base, 'officer1', 'a long password');
  const windows = await api(base, 'GET', '/api/v1/admin/halls/tianhe/windows', undefined, root);
  const window = windows.body.find((w) => w.kind === 'general').number;
  await officer.goto(`${base}/staff/counter/tianhe/${window}`);
  await officer.locator('#next').click();
  await officer.waitForLoadState();
  assert.match(await officer.locator('main').innerText(), new RegExp(label));
  await officer.locator('button[value=start]').click();
  await officer.waitForLoadState();
  // Nothing is ticked for the officer: each material received is ticked, the photo is not.
  for (const box of await officer.locator('input[name=present]').all()) {
    assert.equal(await box.isChecked(), false, 'no material is pre-ticked');
    if (!(await box.getAttribute('value')).includes('照片')) await box.check();
  }
  assert.equal(await officer.locator('#next').isDisabled(), true, 'no next call while serving');
  await officer.locator('input[name=collection][value=locker]').check();
  await scan(officer, 'counter accept');
  await officer.locator('form:has(input[value=accept]) button').click();
  await officer.waitForLoadState();
  assert.match(await officer.locator('.msg').innerText(), /待补正/);
  await officer.locator('button[value=finish]').click();
  await officer.waitForLoadState();
  const accepted = await outboxLine('尚缺');
  const slipPath = accepted.match(/(\/slip\/[A-Z0-9]+\?k=[0-9a-f]+)/)[1];

  // The citizen opens the link in the text: used, waiting for the material, no reschedule.
  const citizen = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'zh-CN' })).newPage();
  await citizen.goto(base + slipPath);
  await scan(citizen, 'slip pending supplement');
  assert.match(await citizen.locator('main').innerText(), /待补充材料/);
  assert.equal(await citizen.locator('button[value=reschedule]').count(), 0);
  assert.match(await citizen.locator('#collection').innerText(), /自助取证机/);

  // The material brought to a counter of another hall (gz-city): found by the ID card.
  const other = await staffPage(context, base, 'officer2', 'a long password');
  const cityWindows = await api(base, 'GET', '/api/v1/admin/halls/gz-city/windows', undefined, root);
  const cityWindow = cityWindows.body.find((w) => w.kind === 'general').number;
  await other.goto(`${base}/staff/counter/gz-city/${cityWindow}`);
  await other.fill('#lookup input[name=id_number]', '440112200001010139');
  await other.locator('#lookup button').first().click();
  await other.waitForLoadState();
  await scan(other, 'counter lookup');
  assert.match(await other.locator('#lookup').innerText(), /待补正 1 件/);
  await other.locator('form:has(input[value=supplement]) button').click();
  await other.waitForLoadState();
  assert.match(await other.locator('.msg').innerText(), /材料已补齐/);
  await outboxLine('补交的材料已收到');

  // Review approves.
  const reviewer = await staffPage(context, base, 'reviewer1', 'a long password');
  await reviewer.goto(`${base}/staff/review`);
  await reviewer.locator('button[value=review]').first().click();
  await reviewer.waitForLoadState();
  await scan(reviewer, 'review');
  await reviewer.locator('button[value=approve]').first().click();
  await reviewer.waitForLoadState();
  await outboxLine('审批通过');

  // The citizen's status page: ID number and a code sent to the phone.
  await citizen.goto(`${base}/status`);
  await scan(citizen, 'status form');
  await citizen.fill('#id_number', '440112200001010139');
  await citizen.fill('#phone', '13700137000');
  const before = outboxLines();
  await citizen.locator('button[value=send]').click();
  await citizen.waitForLoadState();
  await citizen.fill('#code', await lastCode('7000', before));
  await citizen.locator('button[value=find]').click();
  await citizen.waitForLoadState();
  await scan(citizen, 'status found');
  const status = await citizen.locator('main').innerText();
  assert.match(status, /审批通过/);
  assert.match(status, /已受理[\s\S]*待补充材料|待补充材料[\s\S]*已受理/);
  // Production: a batch made on the producers' page, the document numbered, sent to the
  // hall, and its arrival reported there; the citizen is texted a one-time pickup code.
  const producer = await staffPage(context, base, 'producer1', 'a long password');
  await producer.goto(`${base}/staff/production`);
  await producer.locator('form[action="/staff/production/batch"] button').click();
  await producer.waitForLoadState();
  await scan(producer, 'production batch');
  await producer.fill('input[name=document_number]', 'E20261202');
  await producer.locator('button[value=produced]').click();
  await producer.waitForLoadState();
  await producer.locator('button[value=dispatched]').click();
  await producer.waitForLoadState();
  await producer.locator('button[value=ready]').click();
  await producer.waitForLoadState();
  const ready = await outboxLine('137****7000 (application): 【广州市公安局出入境管理支队】您的证件已存入');
  const pickup = ready.match(/取件码(\d{8})/)[1];
  assert.ok(ready.includes(slipPath), 'the ready text links to the slip');

  // The locker: the identity number and the code open one compartment, once.
  const lockerDevice = await api(base, 'POST', '/api/v1/admin/devices', { name: 'pickup locker 2', hall_id: 'tianhe' }, root);
  const locker = await (await browser.newContext()).newPage();
  await bindDevice(locker, base, lockerDevice.body.token, '/locker');
  await locker.fill('#id_number', '440112200001010139');
  await locker.fill('#code', pickup);
  await locker.locator('form button').click();
  await locker.waitForLoadState();
  const opened = (await locker.locator('main').innerText()).match(/请从\s*(\S+)\s*格口取件/);
  assert.ok(opened, 'a compartment opens');
  await locker.goto(`${base}/locker`);
  await locker.fill('#id_number', '440112200001010139');
  await locker.fill('#code', pickup);
  await locker.locator('form button').click();
  await locker.waitForLoadState();
  assert.match(await locker.locator('[role=alert]').innerText(), /取件码不正确/, 'the code works once');

  // The citizen's slip (the texts' link) shows the whole life, collected.
  await citizen.goto(base + slipPath);
  await scan(citizen, 'slip collected');
  const life = await citizen.locator('.timeline').innerText();
  for (const step of ['待补充材料', '已受理', '审批中', '审批通过', '制证中', '已制证', '已发出', '可领取', '已领取']) {
    assert.ok(life.includes(step), `the timeline shows ${step}: ${life}`);
  }
  assert.equal(await citizen.locator('button[value=reschedule]').count(), 0);

  // The audit trail names the steps in Chinese, with their codes.
  const auditor = await staffPage(context, base, 'admin', 'admin password 1');
  await auditor.goto(`${base}/staff/audit`);
  await scan(auditor, 'audit');
  const trail = await auditor.locator('main').innerText();
  assert.match(trail, /受理申请/);
  assert.match(trail, /已领取/);

  // The leader's overdue list (nothing is late on the first day).
  const leader = await staffPage(context, base, 'leader1', 'a long password');
  await leader.goto(`${base}/staff/overdue`);
  await scan(leader, 'overdue');
  assert.match(await leader.locator('main').innerText(), /没有超期的申请/);
  console.log(`ok - documents: ${label} accepted pending a supplement with the locker chosen, supplement taken at gz-city, approved, batched and produced, collected from compartment ${opened[1]} with the texted code; status page and slip follow it`);
  return { base, root, booking: booking.body, slipPath, citizen, context };
}

// The hotline (telephone channel): an operator finds a seat for a caller, holds it and sends
// the code to the caller's phone, and books with the code the caller reads out.
async function hotlineCall(browser) {
  const base = hall.base;
  const root = await signIn(base, 'admin', 'admin password 1');
  const r = await api(base, 'POST', '/api/v1/admin/staff', { username: 'hotline1', display_name: '坐席一', password: 'a long password', roles: [{ role: 'hotline' }] }, root);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await staffPage(context, base, 'hotline1', 'a long password');
  await page.goto(`${base}/staff/hotline`);
  await page.selectOption('select[name=business]', 'passport_first');
  await page.selectOption('select[name=hall]', 'tianhe');
  await page.fill('input[name=day]', '2026-12-03');
  await page.locator('form.filters button').click();
  await page.waitForLoadState();
  await scan(page, 'hotline search');
  await page.locator('input[name=slot_id]').first().check();
  await page.fill('input[name=name]', '王芳');
  await page.fill('input[name=id_number]', '110101199003074514');
  await page.fill('input[name=phone]', '13500135000');
  const before = outboxLines();
  await page.locator('form.caller button').click();
  await page.waitForLoadState();
  await scan(page, 'hotline code');
  assert.match(await page.locator('main').innerText(), /135\*\*\*\*5000/);
  await page.fill('input[name=code]', await lastCode('5000', before));
  await page.locator('form.caller button:not([name=resend])').click();
  await page.waitForLoadState();
  await scan(page, 'hotline booked');
  assert.match(await page.locator('main').innerText(), /已预约/);
  const code = (await page.locator('.done .code').innerText()).trim();
  await waitForOutbox(`预约号 ${code}`);
  console.log(`ok - the hotline booked ${code} for a caller with the code from their phone`);
  await context.close();
}

// Sites (issue 13 §2), the issue's "done when": an administrator creates a police station with
// two windows and three businesses on /staff/sites (a first try with a bad id shows the error
// beside the field); the portal's hall choice lists it for one of the three businesses and not
// for a business it does not offer.
async function siteJourney(browser) {
  const db = join(dir, 'sites.db');
  const admin = spawn(bin, ['create-admin', '--username', 'admin'], {
    env: { ...process.env, DATABASE_URL: db, WUJING_KEYS_FILE: join(dir, 'wujing.keys'), WUJING_ADMIN_PASSWORD: 'admin password 1', WUJING_LOG: 'warn' },
  });
  await new Promise((r) => admin.on('exit', r));
  const server = await startServer({ WUJING_NO_PHONE_CODE: 'true' }, db);
  try {
    const base = server.base;
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await staffPage(context, base, 'admin', 'admin password 1');
    await page.goto(`${base}/staff/sites`);
    await scan(page, 'sites');
    assert.match(await page.locator('main').innerText(), /conghua-jiekou-ps/, 'the demo police stations are listed');
    await page.fill('#f-id', 'Taiping PS');
    await page.selectOption('#f-district', 'conghua');
    await page.selectOption('#f-kind', 'police_station');
    await page.fill('#f-name_zh', '从化区太平派出所出入境受理点');
    await page.fill('#f-name_en', 'Conghua Taiping Police Station');
    await page.fill('#f-address_zh', '广州市从化区太平镇（演示地址）');
    await page.fill('#f-address_en', 'Taiping Town, Conghua (demo address)');
    for (const b of ['passport_first', 'hkm_permit', 'hkm_endorsement_g']) {
      await page.check(`input[name=businesses][value=${b}]`);
    }
    await page.fill('#f-general_windows', '2');
    await page.locator('form.site-form button').click();
    await page.waitForLoadState();
    assert.match(await page.locator('#e-id').innerText(), /小写字母|lower-case/, 'the id error is beside the id');
    assert.equal(await page.inputValue('#f-name_zh'), '从化区太平派出所出入境受理点', 'the form comes back filled in');
    await scan(page, 'sites errors');
    await page.fill('#f-id', 'conghua-taiping-ps');
    await page.locator('form.site-form button').click();
    await page.waitForURL(/\/staff\/sites\/conghua-taiping-ps/);
    await scan(page, 'site edit');
    assert.match(await page.locator('main').innerText(), /派出所受理点|Police station/);

    // The portal's hall choice: listed with its kind for a first passport…
    const citizen = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const portal = await citizen.newPage();
    await portal.goto(`${base}/lang?to=zh-CN&back=/`);
    await portal.goto(`${base}/book/passport_first`);
    await portal.fill('#name', '郑华');
    await portal.fill('#id_number', '440112200001010139');
    await portal.locator('form[action$="/check"] button[type=submit]').click();
    await portal.waitForLoadState();
    const station = portal.locator('section', { hasText: '从化区太平派出所出入境受理点' });
    assert.equal(await station.count(), 1, 'the new police station is offered for passport_first');
    assert.match(await station.locator('.kind').innerText(), /派出所/);
    await scan(portal, 'halls with police stations');
    // …and not for a passport renewal, which it does not offer.
    await portal.goto(`${base}/book/passport_renewal`);
    await portal.fill('#name', '陈晓明');
    await portal.fill('#id_number', '440106198503030116');
    await portal.selectOption('#renewal_reason', 'pages_full');
    await portal.locator('form[action$="/check"] button[type=submit]').click();
    await portal.waitForLoadState();
    assert.ok((await portal.locator('section').count()) > 0, 'halls are offered for the renewal');
    assert.doesNotMatch(await portal.locator('main').innerText(), /太平派出所/);
    await citizen.close();
    await context.close();
    console.log('ok - sites: a police station created on /staff/sites is offered for its businesses only');
  } finally {
    server.child.kill();
  }
}

// Fully online (全程网办), in the same training hall: an eligible Guangzhou resident renews a
// passport without a visit — the code to the registered phone, a photo refused then accepted,
// mail chosen, paid on the simulated provider after a declined attempt (and its notification
// sent twice), reviewed, produced and mailed with a tracking number, followed on the status
// page the texts link to; a registered state functionary is told why after the code.
async function remoteRenewal(browser) {
  const base = hall.base;
  const citizen = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'zh-CN' })).newPage();
  await citizen.goto(`${base}/lang?to=zh-CN&back=/`);
  await citizen.locator('a[href="/online"]').click();
  await citizen.waitForURL(/\/online$/);
  await scan(citizen, 'online start');
  await citizen.selectOption('#business', 'passport_renewal');
  await citizen.fill('#id_number', '440104199208150221');
  await citizen.fill('#name', '李娜');
  let before = outboxLines();
  await citizen.locator('button[value=send]').click();
  await citizen.waitForLoadState();
  assert.match(await citizen.locator('[role=alert]').innerText(), /138\*\*\*\*8001/, 'the code goes to the registered phone, masked');
  await scan(citizen, 'online code sent');
  await citizen.fill('#code', await lastCode('8001', before));
  await citizen.locator('button[value=verify]').click();
  await citizen.waitForURL(/\/online\/app$/);
  await scan(citizen, 'online application');
  assert.match(await citizen.locator('main').innerText(), /您符合网上办理条件/);

  // A photo too small is refused, next to the upload; a good one is accepted.
  await citizen.setInputFiles('#photo', join(here, 'fixtures', 'photo-too-small.jpg'));
  await citizen.locator('form[action="/online/app/photo"] button').click();
  await citizen.waitForLoadState();
  assert.match(await citizen.locator('#photo-errors').innerText(), /照片文件应为20–80KB/);
  await scan(citizen, 'online photo refused');
  await citizen.setInputFiles('#photo', join(here, 'fixtures', 'photo-good.jpg'));
  await citizen.locator('form[action="/online/app/photo"] button').click();
  await citizen.waitForLoadState();
  assert.equal(await citizen.locator('#photo-errors').count(), 0);
  assert.equal(await citizen.locator('img.photo').count(), 1, 'the applicant sees the photo');
  await citizen.check('#m-mail');
  await citizen.fill('#mail_address', '广州市越秀区解放北路618号5楼');
  await citizen.locator('form[action="/online/app/collection"] button').click();
  await citizen.waitForLoadState();
  await scan(citizen, 'online summary');

  // Pay: declined first, then paid; the notification sent again changes nothing.
  await citizen.locator('form[action="/online/app/pay"] button').click();
  await citizen.waitForURL(/\/pay\/simulated\//);
  await citizen.locator('button[value=decline]').click();
  await citizen.waitForURL(/\/online\/return\//);
  assert.match(await citizen.locator('main').innerText(), /支付未成功/);
  await scan(citizen, 'online payment declined');
  await citizen.locator('form[action="/online/app/pay"] button').click();
  await citizen.waitForURL(/\/pay\/simulated\//);
  const checkout = citizen.url();
  await citizen.locator('button[value=pay]').click();
  await citizen.waitForURL(/\/online\/return\//);
  assert.match(await citizen.locator('main').innerText(), /已缴费，申请已提交/);
  await scan(citizen, 'online submitted');
  await citizen.goto(checkout);
  await citizen.locator('button[value=resend]').click();
  await citizen.waitForURL(/\/online\/return\//);
  assert.match(await citizen.locator('main').innerText(), /已缴费，申请已提交/);
  const submitted = await outboxLine('138****8001 (application): 【广州市公安局出入境管理支队】您的网上申请');
  const statusPath = submitted.match(/(\/online\/status\/[A-Z0-9]+\?k=[0-9a-f]+)/)[1];

  // The reviewer of the online site sees one online application, with its photo.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const reviewer = await staffPage(context, base, 'reviewer1', 'a long password');
  await reviewer.goto(`${base}/staff/review`);
  assert.equal(await reviewer.locator('img.photo').count(), 1, 'one online application, paid once');
  assert.ok(await reviewer.locator('img.photo').evaluate((i) => i.complete && i.naturalWidth === 354), 'the photo is shown');
  await scan(reviewer, 'review online');
  await reviewer.locator('button[value=review]').first().click();
  await reviewer.waitForLoadState();
  await reviewer.locator('button[value=approve]').first().click();
  await reviewer.waitForLoadState();
  await outboxLine('138****8001 (application): 【广州市公安局出入境管理支队】您的申请已审批通过');

  // Produced and mailed with its tracking number.
  const producer = await staffPage(context, base, 'producer1', 'a long password');
  await producer.goto(`${base}/staff/production`);
  await producer.locator('form[action="/staff/production/batch"] button').click();
  await producer.waitForLoadState();
  await producer.fill('input[name=document_number]', 'E20261203');
  await producer.locator('button[value=produced]').click();
  await producer.waitForLoadState();
  await producer.fill('input[name=tracking_number]', 'EA123456785CN');
  await producer.locator('button[value=dispatched]').click();
  await producer.waitForLoadState();
  await scan(producer, 'production mailed');
  await outboxLine('运单号EA123456785CN');

  // The citizen follows it on the status page the texts link to.
  await citizen.goto(base + statusPath);
  await scan(citizen, 'online status');
  const status = await citizen.locator('main').innerText();
  assert.match(status, /EA123456785CN/);
  for (const step of ['已受理', '审批中', '审批通过', '制证中', '已制证', '已发出']) {
    assert.ok(status.includes(step), `the status shows ${step}: ${status}`);
  }

  // A registered state functionary is told why — after the code, not before.
  const other = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'zh-CN' })).newPage();
  await other.goto(`${base}/online`);
  await other.fill('#id_number', '440103198012120660');
  await other.fill('#name', '黄敏');
  before = outboxLines();
  await other.locator('button[value=send]').click();
  await other.waitForLoadState();
  assert.doesNotMatch(await other.locator('main').innerText(), /登记备案/);
  await other.fill('#code', await lastCode('8005', before));
  await other.locator('button[value=verify]').click();
  await other.waitForURL(/\/online\/app$/);
  assert.match(await other.locator('main').innerText(), /登记备案人员不能网上办理/);
  assert.equal(await other.locator('form[action="/online/app/pay"]').count(), 0);
  await scan(other, 'online not eligible');
  console.log('ok - online: passport renewed without a visit (photo refused then accepted, declined then paid, the notification sent twice, reviewed, mailed EA123456785CN, followed on the status page); a state functionary told why after the code');
}

/** The 7-3-1 check digit of ICAO Doc 9303 Part 3. */
function checkDigit(s) {
  const value = (c) => (c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c >= 'A' && c <= 'Z' ? c.charCodeAt(0) - 55 : 0);
  return String([...s].reduce((sum, c, i) => sum + value(c) * [7, 3, 1][i % 3], 0) % 10);
}

/** A valid TD3 passport zone (Doc 9303 Part 4): two lines of 44 characters. */
function td3({ surname, given, number, nat, birth, sex, expiry }) {
  const pad = (s, n) => s.padEnd(n, '<');
  const l1 = pad(`P<${nat}${surname}<<${given.replace(/ /g, '<')}`, 44);
  const num = pad(number, 9);
  const opt = pad('', 14);
  const parts = [num + checkDigit(num), birth + checkDigit(birth), expiry + checkDigit(expiry), opt + checkDigit(opt)];
  const l2 = `${parts[0]}${nat}${parts[1]}${sex}${parts[2]}${parts[3]}${checkDigit(parts.join(''))}`;
  assert.equal(l1.length, 44);
  assert.equal(l2.length, 44);
  return `${l1}\n${l2}`;
}

// A foreigner's visit (issue 14 §2), in English on a phone: the home page's foreigners' entry,
// the passport's zone pasted and read on the server, a visa extension refused while fewer than
// 7 days of the stay remain (the reason shown), booked once the date is right; the next
// morning checked in at reception and accepted at the foreigners' window by an officer, who
// also records the holder's renewed passport.
async function foreignerVisit(browser) {
  const db = join(dir, 'foreign.db');
  const admin = spawn(bin, ['create-admin', '--username', 'admin'], {
    env: { ...process.env, DATABASE_URL: db, WUJING_KEYS_FILE: join(dir, 'wujing.keys'), WUJING_ADMIN_PASSWORD: 'admin password 1', WUJING_LOG: 'warn' },
  });
  await new Promise((r) => admin.on('exit', r));
  const env = {};
  let server = await startServer({ ...env, WUJING_CLOCK_AT: '2026-12-02T09:20:00+08:00' }, db);
  try {
    await visitAndAcceptance(browser, db, env, server, (s) => (server = s));
  } finally {
    server.child.kill();
  }
}

async function visitAndAcceptance(browser, db, env, first, restarted) {
  let server = first;
  let base = server.base;
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'en-GB' });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await scan(page, 'home with foreigners');
  await page.locator('a[href="/foreigners"]').click();
  await page.waitForURL(/\/foreigners$/);
  await scan(page, 'foreigners');
  assert.match(await page.locator('h1').innerText(), /Foreigners/);
  // The residence permit asks for its purpose and duration (its fee follows the duration).
  await page.goto(`${base}/foreigners/book/foreign_residence_permit`);
  await scan(page, 'foreigner residence permit');
  assert.equal(await page.locator('#residence_category option').count(), 6);
  await page.goBack();
  await page.locator('a[href="/foreigners/book/foreign_visa_extension"]').click();
  await page.waitForLoadState();
  await scan(page, 'foreigner visa extension');
  const zone = td3({ surname: 'MUELLER', given: 'ANNA LENA', number: 'C01X00T47', nat: 'D<<', birth: '900315', sex: 'F', expiry: '310101' });
  await page.fill('#mrz', zone);
  await page.locator('button[name=action][value=read]').click();
  await page.waitForLoadState();
  await scan(page, 'foreigner mrz read');
  assert.match(await page.locator('.read').innerText(), /every check digit is right/);
  assert.equal(await page.inputValue('#passport_number'), 'C01X00T47');
  assert.equal(await page.inputValue('#nationality'), 'DEU', "the zone's D<< is Germany");
  assert.equal(await page.inputValue('#birth_date'), '1990-03-15');
  assert.equal(await page.inputValue('#name'), 'MUELLER ANNA LENA');
  // The stay ends in 5 days: refused, with the reason.
  await page.fill('#stay_expires_on', '2026-12-07');
  await page.fill('#original_stay_days', '30');
  await page.fill('#extended_days', '0');
  await page.fill('#requested_days', '20');
  await page.locator('button[name=action][value=check]').click();
  await page.waitForLoadState();
  await scan(page, 'foreigner refused');
  const why = await page.locator('.reasons').innerText();
  assert.match(why, /at least 7 days before the stay ends/);
  assert.match(why, /extension_too_late/);
  // Far enough ahead: the halls offering it.
  await page.fill('#stay_expires_on', '2026-12-20');
  await page.locator('button[name=action][value=check]').click();
  await page.waitForLoadState();
  await scan(page, 'foreigner halls');
  const tianhe = page.locator('section[aria-labelledby="hall-tianhe"]');
  const day = await tianhe.locator('button[name=day]').first().getAttribute('value');
  await tianhe.locator('button[name=day]').first().click();
  await page.waitForLoadState();
  const slot = page.locator('button[name=slot_id]').first();
  const start = (await slot.innerText()).match(/\d\d:\d\d/)[0];
  await slot.click();
  await page.waitForLoadState();
  await confirmHeld(page, { lang: 'en', phone: '+4915112345678' });
  assert.match(await page.locator('h1').innerText(), /Booked/);
  assert.doesNotMatch(await page.locator('main').innerText(), /C01X00T47/, 'the passport number is masked');
  const code = await page.locator('#booking-code').innerText();

  // The next morning, a quarter of an hour before the time booked: the same database.
  server.child.kill();
  await new Promise((r) => server.child.on('exit', r));
  const at = new Date(Date.parse(`${day}T${start}:00+08:00`) - 15 * 60_000);
  server = await startServer({ ...env, WUJING_CLOCK_AT: at.toISOString() }, db);
  restarted(server);
  base = server.base;
  const root = await signIn(base, 'admin', 'admin password 1');
  const r = await api(base, 'POST', '/api/v1/admin/staff', { username: 'officer9', display_name: 'officer9', password: 'a long password', roles: [{ role: 'officer', hall: 'tianhe' }] }, root);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const reception = await signIn(base, 'officer9', 'a long password');
  const checkin = await api(base, 'POST', '/api/v1/halls/tianhe/checkins', { code, id_number: 'c01x00t47' }, reception);
  assert.equal(checkin.status, 201, JSON.stringify(checkin.body));
  assert.match(checkin.body.label, /^F/, "the foreigners' queue");
  const windows = await api(base, 'GET', '/api/v1/admin/halls/tianhe/windows', undefined, root);
  const window = windows.body.find((w) => w.kind === 'foreigners').number;
  const staff = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const officer = await staffPage(staff, base, 'officer9', 'a long password');
  await officer.goto(`${base}/staff/counter/tianhe/${window}`);
  await officer.locator('#next').click();
  await officer.waitForLoadState();
  assert.match(await officer.locator('main').innerText(), /MUELLER ANNA LENA/);
  assert.doesNotMatch(await officer.locator('main').innerText(), /C01X00T47/, 'masked at the counter');
  await officer.locator('button[value=start]').click();
  await officer.waitForLoadState();
  // Every material brought: the officer ticks each one (nothing is ticked beforehand).
  for (const box of await officer.locator('input[name=present]').all()) await box.check();
  await officer.locator('form:has(input[value=accept]) button').click();
  await officer.waitForLoadState();
  await scan(officer, 'foreigner accepted');
  const accepted = await officer.locator('main').innerText();
  assert.match(accepted, /受理状态：已受理 accepted/);
  // A decision within 15 days of acceptance.
  const due = new Date(Date.parse(`${day}T00:00:00Z`) + 15 * 86_400_000).toISOString().slice(0, 10);
  const latest = new Date(Date.parse(`${day}T00:00:00Z`) + 18 * 86_400_000).toISOString().slice(0, 10);
  const readyBy = accepted.match(/预计 (\d{4}-\d\d-\d\d)/)[1];
  assert.ok(readyBy >= due && readyBy <= latest, `due ${readyBy}, 15 days after ${day}`);
  // The holder's passport was renewed meanwhile: the officer records the link.
  await officer.locator('a[href="/staff/halls/tianhe/passports"]').click();
  await officer.waitForLoadState();
  await scan(officer, 'passport link');
  await officer.selectOption('select[name=nationality]', 'DEU');
  await officer.fill('input[name=birth_date]', '1990-03-15');
  await officer.fill('input[name=old_passport_number]', 'C01X00T47');
  await officer.fill('input[name=new_passport_number]', 'C02Y11K58');
  await officer.locator('form button').last().click();
  await officer.waitForLoadState();
  await scan(officer, 'passport linked');
  assert.match(await officer.locator('[role=status]').innerText(), /Recorded/);
  assert.match(await officer.locator('main').innerText(), /1 applications/);
  console.log(`ok - foreigner: MRZ pasted and read, refused with 5 days left, booked ${code}, checked in as ${checkin.body.label}, accepted at window ${window}, renewed passport linked`);
}

const { child, base } = await startServer();
const browser = await chromium.launch({
  executablePath: browserPath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
{
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => watchRefusals(await newContext(options));
}
let failed = false;
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();

  // 1. A passport renewal in Chinese, on a phone-sized screen: slip, form and calendar file.
  const slipZh = await book(page, base, {
    lang: 'zh-CN',
    business: 'passport_renewal',
    name: '陈晓明',
    id: '440106198503030116',
    phone: '13800138000',
    extra: (p) => p.selectOption('#renewal_reason', 'pages_full'),
  });
  assert.match(await page.locator('h1').innerText(), /预约成功/);
  const code = await page.locator('#booking-code').innerText();
  await waitForOutbox(`预约号 ${code}`); // the confirmation reached the console outbox
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.locator('a[href*="form.pdf"]').click()]);
  const pdfPath = await pdf.path();
  const pdfBytes = readFileSync(pdfPath);
  assert.equal(pdfBytes.subarray(0, 5).toString(), '%PDF-');
  assert.ok(pdfBytes.length < 300 * 1024, `form is ${pdfBytes.length} bytes`);
  const [ics] = await Promise.all([page.waitForEvent('download'), page.locator('a[href*="booking.ics"]').click()]);
  assert.match(readFileSync(await ics.path(), 'utf8'), /BEGIN:VCALENDAR/);
  console.log(`ok - zh-CN renewal booked (${code}), form ${pdfBytes.length} bytes, calendar file`);

  // 2. Reschedule and cancel from the slip.
  await page.goto(slipZh);
  await page.fill('#proof', '440106198503030116');
  await page.locator('button[value=reschedule]').click();
  await page.waitForLoadState();
  await scan(page, 'reschedule');
  await page.locator('button[name=slot_id]').nth(1).click();
  await page.waitForURL(/\/slip\//);
  assert.match(await page.locator('[role=alert]').innerText(), /已改约/);
  await page.fill('#proof', '440106198503030116');
  await page.locator('button[value=cancel]').click();
  await page.waitForURL(/\/slip\//);
  assert.match(await page.locator('[role=alert]').innerText(), /已取消/);
  console.log('ok - rescheduled and cancelled from the slip');

  // 3. The pre-check answers from the rules alone (the registry waits for the phone code);
  //    the confirmation with the code and the registered name shows the records' reasons.
  await page.goto(`${base}/book/passport_renewal`);
  await page.fill('#name', '陈晓明');
  await page.fill('#id_number', '440106198503030116');
  await page.locator('form[action$="/check"] button[type=submit]').click();
  await page.waitForLoadState();
  assert.match(await page.locator('main').innerText(), /登记记录将在您用手机验证码确认预约时核对/);
  assert.doesNotMatch(await page.locator('main').innerText(), /尚无换发必要/);
  await page.locator('button[name=day]').first().click();
  await page.waitForLoadState();
  await page.locator('button[name=slot_id]').first().click();
  await page.waitForLoadState();
  await page.fill('#phone', '13600136000');
  {
    const before = outboxLines();
    await page.locator('button[name=action][value=send]').click();
    await page.waitForLoadState();
    await page.fill('#code', await lastCode('6000', before));
  }
  await page.locator('button[name=action][value=confirm]').click();
  await page.waitForLoadState();
  await scan(page, 'reasons');
  assert.match(await page.locator('main').innerText(), /尚无换发必要/);
  assert.match(await page.locator('main').innerText(), /号源将在几分钟内自动释放/);
  console.log('ok - the records\' reasons after the phone code');

  // 4. English: a first passport, after the slot chosen has filled up: alternatives, booked.
  const slotsPage = await context.newPage();
  await slotsPage.goto(`${base}/lang?to=en&back=/`);
  await slotsPage.goto(`${base}/book/passport_first`);
  await slotsPage.fill('#name', '郑华');
  await slotsPage.fill('#id_number', '440112200001010139');
  await slotsPage.locator('form[action$="/check"] button[type=submit]').click();
  await slotsPage.waitForLoadState();
  await slotsPage.locator('button[name=day]').first().click();
  await slotsPage.waitForLoadState();
  const slotButton = slotsPage.locator('button[name=slot_id]').first();
  const slotId = await slotButton.getAttribute('value');
  // Everyone else takes the remaining seats of that slot meanwhile.
  for (let i = 0; i < 500; i++) {
    const r = await fetch(`${base}/api/v1/holds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slot_id: Number(slotId), business: 'passport_first' }),
    });
    if (r.status === 409) break;
    assert.equal(r.status, 201);
  }
  await slotButton.click();
  await slotsPage.waitForLoadState();
  await scan(slotsPage, 'full en');
  assert.match(await slotsPage.locator('h1').innerText(), /That time is full/);
  await slotsPage.locator('button[name=slot_id]').first().click();
  await slotsPage.waitForLoadState();
  await confirmHeld(slotsPage, { lang: 'en', phone: '13900139000' });
  assert.match(await slotsPage.locator('h1').innerText(), /Booked/);
  await waitForOutbox('[Guangzhou Exit-Entry] Booked');
  console.log('ok - en: slot full, alternative booked');

  // 5. My bookings, and the large-text mode.
  await slotsPage.goto(`${base}/my`);
  await scan(slotsPage, 'my');
  await slotsPage.fill('#id_number', '440112200001010139');
  await slotsPage.fill('#phone', '13900139000');
  await new Promise((r) => setTimeout(r, 61_000)); // one code a minute per phone
  const before = outboxLines();
  await slotsPage.locator('button[value=send]').click();
  await slotsPage.waitForLoadState();
  await slotsPage.fill('#code', await lastCode('9000', before));
  await slotsPage.locator('button[value=find]').click();
  await slotsPage.waitForLoadState();
  assert.equal(await slotsPage.locator('main a[href^="/slip/"]').count(), 1);
  await slotsPage.goto(`${base}/text?size=large&back=/`);
  const size = await slotsPage.evaluate(() => getComputedStyle(document.body).fontSize);
  assert.ok(parseFloat(size) >= 20, `large text is ${size}`);
  await scan(slotsPage, 'home large');
  console.log('ok - my bookings found; large text');

  await hallDay(browser);
  await documentLife(browser);
  await hotlineCall(browser);
  await siteJourney(browser);
  await remoteRenewal(browser);
  await lodgingDay(browser);
  await foreignerVisit(browser);
  assert.deepEqual(wide, [], 'pages wider than a 390 px phone (a table belongs in a scrolling region)');
  console.log('ok - every page scanned fits a 390 px phone');
  assert.deepEqual(refusals, [], 'the content security policy refused a script or style of ours');
  console.log('ok - no script or style refused by the content security policy');
  const minor = [...scanned.values()].reduce((a, b) => a + b, 0);
  console.log(`axe: ${scanned.size} pages scanned, no serious or critical violations (${minor} minor or moderate)`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  child.kill();
  hall?.child.kill();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

// Accommodation registration (issue 14 §3): a small hotel signs in to its page, pastes a guest's
// passport MRZ (the form fills in), completes and registers the stay; the private host's page is
// there for everyone else; the police station's officer finds the guest, masked, on the
// station's worklist and opens the record.
async function lodgingDay(browser) {
  const db = join(dir, 'lodging.db');
  const admin = spawn(bin, ['create-admin', '--username', 'admin'], {
    env: { ...process.env, DATABASE_URL: db, WUJING_KEYS_FILE: join(dir, 'wujing.keys'), WUJING_ADMIN_PASSWORD: 'admin password 1', WUJING_LOG: 'warn' },
  });
  await new Promise((r) => admin.on('exit', r));
  const server = await startServer({ WUJING_NO_PHONE_CODE: 'true' }, db);
  try {
    const base = server.base;
    const root = await signIn(base, 'admin', 'admin password 1');
    const r = await api(base, 'POST', '/api/v1/admin/staff', { username: 'jiekou1', display_name: '街口民警', password: 'a long password', roles: [{ role: 'officer', hall: 'conghua-jiekou-ps' }], phone: null }, root);
    assert.equal(r.status, 201, JSON.stringify(r.body));

    // The hotel's front desk, on a phone.
    const desk = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await desk.goto(`${base}/lang?to=en&back=/hotel`);
    await scan(desk, 'hotel sign-in');
    await desk.fill('#code', 'jiekou-inn');
    await desk.fill('#password', 'jiekou demo 1');
    await desk.locator('form[action="/hotel/sign-in"] button').click();
    await desk.waitForLoadState();
    await scan(desk, 'hotel form');
    await desk.fill('#mrz', 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10');
    await desk.locator('button[value=prefill]').click();
    await desk.waitForLoadState();
    assert.equal(await desk.inputValue('#surname'), 'ERIKSSON', 'the MRZ fills in the surname');
    assert.equal(await desk.inputValue('#document_number'), 'L898902C3');
    assert.equal(await desk.inputValue('#nationality'), 'UTO');
    await scan(desk, 'hotel prefilled');
    const china = (ms) => new Date(ms + 8 * 3600e3).toISOString();
    await desk.selectOption('#visa_kind', 'L');
    await desk.fill('#stay_until', china(Date.now() + 60 * 86400e3).slice(0, 10));
    await desk.fill('#check_in', china(Date.now() - 2 * 3600e3).slice(0, 16));
    await desk.fill('#room', '301');
    await desk.fill('#stay_id', 'DESK-0001');
    await desk.locator('button[value=register]').click();
    await desk.waitForLoadState();
    const done = await desk.locator('[role=status]').innerText();
    assert.match(done, /Registered LR[A-Z0-9]{10}/, done);
    const reference = done.match(/LR[A-Z0-9]{10}/)[0];
    await scan(desk, 'hotel registered');

    // The private host's page.
    const host = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await host.goto(`${base}/lodging`);
    await scan(host, 'lodging host');

    // The station's officer.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const officer = await staffPage(context, base, 'jiekou1', 'a long password');
    await officer.goto(`${base}/staff/lodging`);
    const list = await officer.locator('main').innerText();
    assert.match(list, new RegExp(reference), 'the registration is on the station\'s worklist');
    assert.match(list, /E\*+/, 'the guest is masked');
    assert.doesNotMatch(list, /ERIKSSON/);
    await scan(officer, 'lodging worklist');
    await officer.locator(`a:has-text("${reference}")`).click();
    await officer.waitForLoadState();
    assert.match(await officer.locator('main').innerText(), /ERIKSSON/);
    await scan(officer, 'lodging record');

    // The station's hall manager registers another hotel: its credentials are shown once.
    const m = await api(base, 'POST', '/api/v1/admin/staff', { username: 'jiekoumgr', display_name: '街口所长', password: 'a long password', roles: [{ role: 'hall_manager', hall: 'conghua-jiekou-ps' }], phone: null }, root);
    assert.equal(m.status, 201, JSON.stringify(m.body));
    const manager = await staffPage(await browser.newContext({ viewport: { width: 390, height: 844 } }), base, 'jiekoumgr', 'a long password');
    await manager.goto(`${base}/staff/lodging/hotels`);
    assert.match(await manager.locator('main').innerText(), /jiekou-inn/, 'the demo hotels are listed');
    await manager.fill('#h-code', 'wenquan-guesthouse');
    await manager.fill('#h-name', '温泉客栈 Wenquan Guesthouse');
    await manager.fill('#h-address', '广州市从化区温泉镇（演示地址）');
    await manager.locator('form.card button').click();
    await manager.waitForLoadState();
    assert.match(await manager.locator('code.token').innerText(), /^wjhotel_/);
    await scan(manager, 'lodging hotels');
    console.log(`ok - a small hotel registered a guest from the pasted MRZ (${reference}); the station's worklist shows it`);
  } finally {
    server.child.kill();
  }
}
