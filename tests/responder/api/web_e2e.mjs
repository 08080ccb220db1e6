// Browser checks of the operator page, run by web_e2e.py against a real
// responder (non-loopback bind, token required) with seeded incidents, a contained port on
// snmpsim, a 400-incident burst and two held mails.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const URL = process.env.VTRACE_URL;
const TOKEN = process.env.VTRACE_TOKEN;
const ART = process.env.VTRACE_ARTIFACTS;
const EXPECT_HOURS = JSON.parse(process.env.VTRACE_EXPECT_HOURS || '{}');
const ABUSE_MAIL = process.env.VTRACE_ABUSE_MAIL;
let failures = 0;
function check(cond, what) {
  console.log((cond ? 'ok    ' : 'FAIL  ') + what);
  if (!cond) failures++;
}
function adminStatus(i) {
  return execFileSync('snmpget', ['-v2c', '-c', 'switch', '-t', '1', '-r', '1', '-Oqv', process.env.SNMP_ENDPOINT,
    '1.3.6.1.2.1.2.2.1.7.' + i], { encoding: 'utf8' }).trim();
}

mkdirSync(ART, { recursive: true });
// A fresh profile per run (the persistent context's user data dir).
const browser = await chromium.launchPersistentContext(process.env.VTRACE_PROFILE, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const dialogs = [];
  const cspViolations = [];
  page.on('dialog', async (d) => { dialogs.push(d.type() + ': ' + d.message()); await d.dismiss(); });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(URL)) external.push(r.url()); });

  const resp = await page.goto(URL + '/', { waitUntil: 'load' });
  check(resp.status() === 200, 'GET / answers 200');
  check(/default-src 'self'/.test(resp.headers()['content-security-policy'] || ''), 'the page carries the CSP header');

  const listed = () => page.$$eval('#incidents tbody tr', (rows) => rows.map((r) => r.dataset.id));

  // 1. the list renders the incidents, newest first
  await page.waitForSelector('#incidents tbody tr[data-id="i-burst-000"]', { timeout: 10000 });
  const all = await listed();
  const ids = all.filter((id) => ['i-hostile', 'i-pc45', 'i-ext2'].includes(id));
  check(JSON.stringify(ids) === JSON.stringify(['i-hostile', 'i-pc45', 'i-ext2']), 'incidents listed newest first: ' + ids);
  check(all.length === 409 && all[0] === 'i-long' && all[all.length - 1] === 'i-burst-000',
    'all 409 incidents listed, the burst at the bottom: ' + all.length);

  // 2. hostile text is literal text and nothing ran
  const subject = await page.textContent('#incidents tbody tr[data-id="i-hostile"] td.subject');
  const from = await page.textContent('#incidents tbody tr[data-id="i-hostile"] td.from');
  check(subject === '<img src=x onerror=alert(1)>', 'the hostile subject is shown as text: ' + subject);
  check(from === '"><script>window.__pwned=1</script>@evil.example', 'the hostile address is shown as text');
  check(await page.$$eval('#incidents img, #incidents script, #detail img, #detail script', (n) => n.length) === 0,
    'no <img> or <script> element was created from incident text');

  // filters: class and virus
  await page.selectOption('#f-class', 'internal');
  const internalRows = await listed();
  const classes = await page.$$eval('#incidents tbody tr td:nth-child(3) .badge', (n) => [...new Set(n.map((x) => x.textContent))]);
  check(internalRows.includes('i-pc45') && !internalRows.includes('i-hostile') && internalRows.length === 405 &&
    JSON.stringify(classes) === '["internal"]', 'the origin class filter leaves the internal incidents: ' + internalRows.length);
  await page.selectOption('#f-class', '');
  await page.fill('#f-virus', 'agent');
  check(JSON.stringify(await listed()) === '["i-ext2"]', 'the virus filter matches case-insensitively');
  await page.fill('#f-virus', '');

  // a direct_smtp incident says what the firewall saw where a virus would be named
  const seen = await page.textContent('#incidents tbody tr[data-id="i-direct"] td.virus');
  check(seen === 'direct SMTP: 312 connections to 97 hosts', 'the direct SMTP incident reads: ' + seen);

  // the confidence filter offers the values the data uses, and finds them
  const options = await page.$$eval('#f-confidence option', (n) => n.map((o) => o.value));
  check(JSON.stringify(options) === '["","exact","fuzzy","ambiguous","unresolved"]',
    'the confidence filter offers exact, fuzzy, ambiguous, unresolved: ' + options);
  for (const [value, want] of [['fuzzy', ['i-fuzzy1', 'i-fuzzy2']], ['ambiguous', ['i-ambiguous']],
    ['unresolved', ['i-unresolved']]]) {
    await page.selectOption('#f-confidence', value);
    const got = await listed();
    check(JSON.stringify(got) === JSON.stringify(want), 'the confidence filter "' + value + '" finds ' + got);
  }
  await page.selectOption('#f-confidence', 'exact');
  check((await listed()).length === 405, 'the confidence filter "exact" finds the 405 exact traces');
  await page.selectOption('#f-confidence', '');

  // 3. the hop chain: PC -> relay -> gateway
  await page.click('#incidents tbody tr[data-id="i-hostile"]');
  await page.waitForSelector('#hop-chain .hop');
  await page.click('#incidents tbody tr[data-id="i-pc45"]');
  await page.waitForFunction(() => document.querySelector('#detail h2 .mono')?.textContent === 'i-pc45');
  const hosts = await page.$$eval('#hop-chain .hop .hop-host', (n) => n.map((x) => x.textContent));
  check(JSON.stringify(hosts) === JSON.stringify(['pc-45', 'relay1', 'gw1']), 'hop chain in order PC -> relay -> gateway: ' + hosts);
  const relay = await page.textContent('#hop-chain .hop:nth-child(2)');
  check(relay.includes('QRL1') && relay.includes('next_hop_queue_id') && relay.includes('10.1.23.45'),
    'the relay hop shows its queue id, link and client');
  check((await page.textContent('#detail .evidence')).includes('Message infected by Worm.Mydoom.M'), 'evidence lines shown');
  await page.screenshot({ path: path.join(ART, 'incidents.png') });

  // hostile detail too
  await page.click('#incidents tbody tr[data-id="i-hostile"]');
  await page.waitForFunction(() => document.querySelector('#detail h2 .mono')?.textContent === 'i-hostile');
  check((await page.textContent('#detail')).includes('<img src=x onerror=alert(1)>'), 'the detail shows the hostile subject as text');

  // the detail is in view after a click anywhere in the 400-incident list: near its top (where
  // a detail drawn below the list would be 18,000 px down) and at its bottom
  const detailInView = () => page.evaluate(() => {
    const r = document.querySelector('#detail').getBoundingClientRect();
    const h = document.querySelector('#detail h2').getBoundingClientRect();
    return { scrollY: window.scrollY, page: document.documentElement.scrollHeight, w: innerWidth, h: innerHeight,
      top: r.top, bottom: r.bottom, left: r.left, right: r.right, titleTop: h.top, titleBottom: h.bottom };
  });
  const inside = (v) => v.top >= 0 && v.bottom <= v.h && v.left >= 0 && v.right <= v.w && v.right - v.left > 300 &&
    v.titleTop >= 0 && v.titleBottom <= v.h;
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.click('#incidents tbody tr[data-id="i-burst-399"]');
  await page.waitForFunction(() => document.querySelector('#detail h2 .mono')?.textContent === 'i-burst-399');
  const nearTop = await detailInView();
  check(nearTop.page > 10000 && nearTop.scrollY < 1000 && inside(nearTop),
    'after a click near the top of the long list the detail panel is inside the viewport: ' + JSON.stringify(nearTop));
  const bottom = '#incidents tbody tr[data-id="i-burst-000"]';
  await page.click(bottom);
  await page.waitForFunction(() => document.querySelector('#detail h2 .mono')?.textContent === 'i-burst-000');
  const view = await detailInView();
  check(view.scrollY > 8000 && inside(view),
    'after a click at the bottom of the list the detail panel is inside the viewport: ' + JSON.stringify(view));
  await page.screenshot({ path: path.join(ART, 'incident-detail-burst.png') });
  await page.click('#detail-close');
  check(await page.isHidden('#detail'), 'the close button hides the detail panel');
  await page.click('#incidents tbody tr[data-id="i-pc45"]');
  await page.waitForSelector('#detail:not(.hidden)');
  await page.keyboard.press('Escape');
  check(await page.isHidden('#detail'), 'Escape hides the detail panel');

  // long attacker-written strings do not push the statistics panel off screen
  await page.evaluate(() => window.scrollTo(0, 0));
  const layout = await page.evaluate(() => {
    const stats = document.querySelector('#stats').getBoundingClientRect();
    const cell = document.querySelector('#incidents tbody tr[data-id="i-long"] td.subject');
    return { scrollWidth: document.documentElement.scrollWidth, w: innerWidth, statsLeft: stats.left,
      statsRight: stats.right, cellWidth: cell.getBoundingClientRect().width, cellText: cell.textContent.length };
  });
  check(layout.scrollWidth <= layout.w && layout.statsRight <= layout.w && layout.statsLeft > layout.w / 2 &&
    layout.cellWidth < layout.w / 2 && layout.cellText === 3003,
    'a 3000-character subject is clipped in its cell; no horizontal scroll, statistics in view: ' + JSON.stringify(layout));
  await page.click('#incidents tbody tr[data-id="i-long"]');
  await page.waitForFunction(() => document.querySelector('#detail h2 .mono')?.textContent === 'i-long');
  const panel = await page.evaluate(() => { const d = document.querySelector('#detail'); return [d.scrollWidth, d.clientWidth]; });
  check(panel[0] <= panel[1] + 1, 'the long subject wraps inside the detail panel: ' + panel);
  await page.click('#detail-close');

  // durations read as a person would say them
  const ttc = '#s-ttc tr[data-ip="10.1.23.45"] td.duration';
  await page.waitForSelector(ttc);
  check(await page.textContent(ttc) === '3 h 7 min',
    'first detection -> contained reads "3 h 7 min": ' + await page.textContent(ttc));

  // direct SMTP in a column of its own: counted apart, its host listed, no empty virus row
  check(await page.textContent('#s-direct') === '1', 'the statistics count 1 direct SMTP burst: ' +
    await page.textContent('#s-direct'));
  const directHosts = await page.$$eval('#s-direct-hosts tbody tr', (n) => n.map((r) => r.textContent));
  check(directHosts.length === 1 && directHosts[0].includes('10.1.60.6') && directHosts[0].includes('312'),
    'the direct SMTP table lists pc-606 with its 312 connections: ' + JSON.stringify(directHosts));
  const virusNames = await page.$$eval('#s-viruses tbody td.virus', (n) => n.map((c) => c.textContent));
  check(!virusNames.includes(''), 'the virus table has no row without a virus: ' + JSON.stringify(virusNames));

  // the outbreak chart: bars for the burst hours, stacked by origin class
  await page.click('#tab-outbreak');
  await page.waitForSelector('#timeline svg rect.bar');
  const bars = await page.$$eval('#timeline svg rect.bar', (n) => n.map((b) => ({
    hour: b.dataset.hour, cls: b.dataset.class, count: Number(b.dataset.count), height: Number(b.getAttribute('height')),
    title: b.querySelector('title')?.textContent })));
  const heights = [];
  for (const [hour, counts] of Object.entries(EXPECT_HOURS)) {
    const bar = bars.find((b) => b.hour === hour && b.cls === 'internal');
    check(bar && bar.count === counts.internal && bars.filter((b) => b.hour === hour).length === 1,
      'the chart has one internal bar of ' + counts.internal + ' for ' + hour + ': ' + JSON.stringify(bar));
    heights.push(bar ? bar.height : 0);
  }
  check(heights.length === 3 && heights[1] > heights[0] && heights[0] > heights[2] && heights[2] > 0,
    'bar heights follow the counts (150, 200, 50): ' + heights);
  for (const cls of ['external', 'ambiguous', 'unresolved', 'direct_smtp']) {
    check(bars.some((b) => b.cls === cls), 'the chart has a bar for ' + cls + ' detections');
  }
  check(bars.every((b) => b.title && b.title.includes(String(b.count))), 'every bar has a tooltip with its count');
  await page.screenshot({ path: path.join(ART, 'outbreak.png') });

  // 4. origins
  await page.click('#tab-origins');
  await page.waitForSelector('#origins tbody tr[data-ip="10.1.23.45"]');
  const originRow = await page.textContent('#origins tbody tr[data-ip="10.1.23.45"]');
  check(originRow.includes('down') && originRow.includes('Gi1/0/4'), 'the origin shows its containment state');
  await page.screenshot({ path: path.join(ART, 'origins.png'), fullPage: true });

  // 5. containments: without the token the release is refused and the port stays down
  await page.click('#tab-containments');
  const row = '#containments tbody tr:has(td.port:text-matches("Gi1/0/4"))';
  await page.waitForSelector(row + ' button.release');
  await page.screenshot({ path: path.join(ART, 'containments.png'), fullPage: true });
  await page.click(row + ' button.release');
  await page.fill('#release-reason', 'e2e: cleaned and reinstalled');
  await page.fill('#release-operator', 'e2e-operator');
  await page.click('#release-confirm');
  await page.waitForSelector('#token-form:not(.hidden)');
  check(true, 'without the token the release is refused (401) and the page asks for the token');
  check(adminStatus(4) === '2', 'the port is still down on the switch after the refused release');
  await page.click('#release-cancel');

  // with the token (kept in sessionStorage) the release goes through
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button[type=submit]');
  check(await page.evaluate(() => sessionStorage.getItem('vtrace.api_token')) === TOKEN, 'the token is kept in sessionStorage');
  await page.click(row + ' button.release');
  await page.fill('#release-reason', 'e2e: cleaned and reinstalled');
  await page.click('#release-confirm');
  await page.waitForSelector(row + ' td.state .badge.released', { timeout: 15000 });
  check(true, 'the page shows the containment released');
  check(adminStatus(4) === '1', 'the switch reads ifAdminStatus.4 = up(1) after the click');
  await page.screenshot({ path: path.join(ART, 'containments-released.png'), fullPage: true });

  // 6. held mail: listed with why it is held; released from the page only with the token
  await page.evaluate(() => sessionStorage.removeItem('vtrace.api_token'));
  await page.click('#tab-mail');
  const mailRow = '#held tbody tr[data-id="' + ABUSE_MAIL + '"]';
  await page.waitForSelector(mailRow);
  check(await page.textContent('#held-count') === '2', 'the tab counts 2 held mails');
  const whys = await page.$$eval('#held tbody td.why', (n) => n.map((x) => x.textContent));
  check(whys.some((w) => w.startsWith('rate limit')) && (await page.textContent(mailRow)).includes('abuse@example.net'),
    'the held mails say why they are held: ' + whys.join(' | '));
  await page.screenshot({ path: path.join(ART, 'held-mail.png'), fullPage: true });
  await page.click(mailRow + ' button.release-mail');
  await page.waitForFunction(() => document.querySelector('#mail-body').textContent.includes('198.51.100.7'));
  const preview = await page.textContent('#mail-body');
  check(preview.includes('Message infected by Win.Trojan.<img src=x onerror=alert(2)>') &&
    await page.$$eval('#mail-dialog img', (n) => n.length) === 0,
    'the release dialog shows the mail to be sent, its evidence as text');
  await page.screenshot({ path: path.join(ART, 'held-mail-release.png') });
  await page.fill('#mail-reason', 'e2e: abuse desk asked for reports');
  await page.fill('#mail-operator', 'e2e-operator');
  await page.click('#mail-confirm');
  await page.waitForSelector('#token-form:not(.hidden)');
  check((await page.textContent('#mail-error')).includes('token'), 'without the token the mail release is refused (401)');
  const stillHeld = await (await fetch(URL + '/v1/outbox?status=held')).json();
  check(stillHeld.mails.some((m) => String(m.id) === ABUSE_MAIL), 'the mail is still held after the refused release');
  await page.click('#mail-cancel');
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button[type=submit]');
  await page.click(mailRow + ' button.release-mail');
  await page.fill('#mail-reason', 'e2e: abuse desk asked for reports');
  await page.click('#mail-confirm');
  await page.waitForSelector(mailRow, { state: 'detached', timeout: 15000 });
  check(await page.textContent('#held-count') === '1', 'the released mail left the held list; 1 remains');

  check(await page.evaluate(() => window.__pwned) === undefined, 'no injected script ran (window.__pwned undefined)');
  check(dialogs.length === 0, 'no alert/confirm dialog was opened: ' + dialogs.join('; '));
  check(cspViolations.length === 0, 'no CSP violation reported: ' + cspViolations.join('; '));
  check(external.length === 0, 'no request left the responder (no CDN): ' + external.join(', '));
} catch (e) {
  console.log('FAIL  ' + (e && e.stack || e));
  failures++;
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
