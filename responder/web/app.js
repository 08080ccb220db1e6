// vtrace operator page. No framework, no build step, no inline script (the CSP forbids it).
// Everything that came from a mail or a log (subjects, addresses, virus names, host names,
// evidence lines) is attacker-controlled: it is only ever put into the page with textContent
// (through el()/text()), never with innerHTML, insertAdjacentHTML or document.write.
'use strict';

const TOKEN_KEY = 'vtrace.api_token';
const POLL_MS = 3000;
const VIEWS = ['incidents', 'outbreak', 'origins', 'containments', 'mail'];
const SVG_NS = 'http://www.w3.org/2000/svg';
const state = { view: 'incidents', incidents: [], selected: null, pendingRelease: null, pendingMail: null, stats: null };

// ---- DOM helpers: text only ---------------------------------------------------------------
function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return e;
}
function text(node, value) { node.textContent = value === null || value === undefined ? '' : String(value); }
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
const $ = (id) => document.getElementById(id);
function when(t) { return t ? String(t).replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–'; }
// A cell that shows one line and clips the rest; the whole text is in the tooltip.
function clipped(tag, cls, value) {
  const e = el(tag, cls, value);
  e.title = value === null || value === undefined ? '' : String(value);
  return e;
}

// Seconds as a person reads them: "42 s", "7 min 5 s", "3 h 7 min", "2 d 3 h".
function humanDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 10) return (Math.max(0, seconds)).toFixed(1).replace(/\.0$/, '') + ' s';
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (a, ua, b, ub) => a + ' ' + ua + (b ? ' ' + b + ' ' + ub : '');
  if (d) return two(d, 'd', h, 'h');
  if (h) return two(h, 'h', m, 'min');
  if (m) return two(m, 'min', sec, 's');
  return sec + ' s';
}
function setStatus(s) { text($('status'), s); }

// ---- API ------------------------------------------------------------------------------------
class NeedToken extends Error {}

async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers['Authorization'] = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                cache: 'no-store', credentials: 'same-origin' });
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token-form').classList.remove('hidden');
    throw new NeedToken('a bearer token is required');
  }
  let doc = null;
  try { doc = await r.json(); } catch (e) { doc = null; }
  if (!r.ok) throw new Error((doc && doc.error) || ('HTTP ' + r.status));
  return doc;
}

// ---- views ----------------------------------------------------------------------------------
function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.view === view);
  for (const v of VIEWS) $('view-' + v).classList.toggle('hidden', v !== view);
  if (view !== 'incidents') closeIncident();
  if (view === 'outbreak' && state.stats) renderTimeline(state.stats.timeline);
  refresh();
}

function originClass(o) { return !o ? 'unknown' : (o.internal ? 'internal' : 'external'); }

function matches(i) {
  const cls = $('f-class').value, zone = $('f-zone').value.trim().toLowerCase();
  const virus = $('f-virus').value.trim().toLowerCase(), conf = $('f-confidence').value;
  if (cls && originClass(i.origin) !== cls) return false;
  if (zone && !(i.origin && String(i.origin.zone || '').toLowerCase().includes(zone))) return false;
  if (virus && !String(i.virus || '').toLowerCase().includes(virus)) return false;
  if (conf && i.confidence !== conf) return false;
  return true;
}

async function loadIncidents() {
  const since = $('f-since').value;
  const doc = await api('GET', '/v1/incidents?limit=1000' + (since ? '&since=' + encodeURIComponent(since) : ''));
  state.incidents = doc.incidents;
  renderIncidents();
}

function renderIncidents() {
  const body = $('incidents').tBodies[0];
  clear(body);
  const rows = state.incidents.filter(matches);  // the API answers newest first
  for (const i of rows) {
    const o = i.origin;
    const cls = originClass(o);
    const tr = el('tr', i.id === state.selected ? 'selected' : '',
      el('td', 'mono', when(i.detected_at)),
      el('td', 'mono', o ? o.ip : '–', o && o.name ? el('div', 'hint', o.name) : null),
      el('td', null, el('span', 'badge ' + cls, cls), o && o.zone ? ' ' + o.zone : ''),
      clipped('td', 'virus', whatWasSeen(i)),
      el('td', null, el('span', 'badge ' + i.confidence, i.confidence)),
      clipped('td', 'mono from', i.from || ''),
      clipped('td', 'subject', i.subject || ''));
    tr.dataset.id = i.id;
    tr.addEventListener('click', () => openIncident(i.id));
    body.appendChild(tr);
  }
  $('incidents-empty').classList.toggle('hidden', rows.length > 0);
}

// A direct_smtp incident names no virus: what the firewall saw, in its words.
function whatWasSeen(i) {
  if (i.kind !== 'direct_smtp') return i.virus;
  const c = i.direct_smtp || {};
  return 'direct SMTP' + (c.connections !== undefined ? ': ' + c.connections + ' connections to ' + c.destinations + ' hosts' : '');
}

function hopNode(cls, host, lines) {
  const li = el('li', 'hop ' + cls, el('div', 'hop-host', host));
  for (const [label, value] of lines) {
    if (value) li.appendChild(el('div', 'hop-line', label + ': ', el('span', 'mono', value)));
  }
  return li;
}

function closeIncident() {
  if (state.selected === null) return;
  state.selected = null;
  $('detail').classList.add('hidden');
  for (const tr of document.querySelectorAll('#incidents tbody tr.selected')) tr.classList.remove('selected');
}

async function openIncident(id) {
  state.selected = id;
  for (const tr of $('incidents').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
  let doc;
  try {
    doc = await api('GET', '/v1/incidents/' + encodeURIComponent(id));
  } catch (e) {
    setStatus(e instanceof NeedToken ? 'token required' : 'error: ' + e.message);
    return;
  }
  if (state.selected !== id) return;  // another row was clicked meanwhile
  const panel = $('detail');
  const d = $('detail-body');
  clear(d);
  panel.classList.remove('hidden');
  panel.scrollTop = 0;
  panel.focus({ preventScroll: true });
  const inc = doc.incident || {};
  const o = inc.origin;
  const msg = inc.message || {};
  const env = inc.envelope || {};
  d.appendChild(el('h2', null, 'Incident ', el('span', 'mono', inc.id), ' — ', el('span', 'virus', whatWasSeen(inc))));
  const dl = el('dl');
  const row = (k, v) => { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); };
  row('Detected', when(inc.detected_at) + ' by ' + ((inc.detector || {}).host || '?'));
  row('Action', inc.action);
  const ds = inc.direct_smtp;
  if (inc.kind === 'direct_smtp' && ds) {
    row('Seen by firewall', ds.connections + ' SMTP connections to ' + ds.destinations + ' hosts, ' + ds.blocked +
      ' blocked, ' + ds.allowed + ' allowed, ' + when(ds.first_seen) + ' to ' + when(ds.last_seen));
  }
  row('Confidence', inc.confidence + (inc.note ? ' — ' + inc.note : ''));
  row('Origin', o ? o.ip + ' ' + (o.name || '') + ' (' + originClass(o) + (o.zone ? ', zone ' + o.zone : '') + ')' : 'not determined');
  row('Envelope from', env.from || '');
  row('Envelope to', (env.to || []).join(', '));
  row('Subject', msg.subject || '');
  row('Message-ID', msg.message_id || '');
  d.appendChild(dl);

  // The hop chain, drawn from the origin PC to the detecting gateway (hops are stored
  // detector first, origin-side last).
  d.appendChild(el('h3', null, 'Path'));
  const chain = el('ol', 'hop-chain');
  chain.id = 'hop-chain';
  const hops = (inc.hops || []).slice().reverse();
  if (hops.length) {
    const first = hops[0];
    chain.appendChild(hopNode('origin', first.client_name || first.client_ip,
      [['address', first.client_ip], ['role', o && o.ip === first.client_ip ? 'origin' : 'sender']]));
  }
  for (const h of hops) {
    chain.appendChild(hopNode('relay', h.host, [['queue id', h.queue_id], ['time', when(h.received_at)],
      ['client', (h.client_name ? h.client_name + ' ' : '') + '[' + h.client_ip + ']'], ['link', h.link]]));
  }
  d.appendChild(chain);

  if ((inc.candidates || []).length) {
    d.appendChild(el('h3', null, 'Candidates'));
    const ul = el('ul');
    for (const c of inc.candidates) ul.appendChild(el('li', 'mono', c.host + ' ' + c.queue_id + ' ' + c.origin_ip + ' ' + (c.origin_name || '')));
    d.appendChild(ul);
  }
  d.appendChild(el('h3', null, 'Evidence'));
  d.appendChild(el('pre', 'evidence', (inc.evidence || []).join('\n')));
  d.appendChild(el('h3', null, 'Actions'));
  const ul = el('ul', 'actions');
  for (const a of doc.actions || []) ul.appendChild(el('li', null, when(a.at) + ' ' + a.policy + ' ' + a.type + ': ' + a.status + (a.detail ? ' — ' + a.detail : '')));
  for (const m of doc.mails || []) ul.appendChild(el('li', null, 'mail #' + m.id + ' ' + m.status + ' to ' + (m.to || []).join(', ') + ': ' + m.subject));
  d.appendChild(ul);
}

async function loadOrigins() {
  const doc = await api('GET', '/v1/origins');
  const body = $('origins').tBodies[0];
  clear(body);
  for (const o of doc.origins) {
    const c = o.containment;
    const cls = o.internal ? 'internal' : 'external';
    const tr = el('tr', null,
      el('td', 'mono', o.ip), el('td', 'text', o.name), el('td', null, el('span', 'badge ' + cls, cls), o.zone ? ' ' + o.zone : ''),
      el('td', 'mono', when(o.first_seen)), el('td', 'mono', when(o.last_seen)), el('td', null, o.detections),
      el('td', 'virus', o.viruses.map((v) => v.name + ' ×' + v.count).join(', ')), el('td', null, o.mails_sent),
      el('td', null, c ? el('span', 'badge ' + c.status, c.status) : '–', c && c.port ? ' ' + c.switch + ' ' + c.port : ''));
    tr.dataset.ip = o.ip;
    body.appendChild(tr);
  }
}

async function loadContainments() {
  const doc = await api('GET', '/v1/containments');
  const body = $('containments').tBodies[0];
  clear(body);
  for (const c of doc.containments) {
    // An escaped containment's port is still shut (someone else may be on it now).
    const button = c.status === 'down' || c.status === 'escaped' ? el('button', 'release', 'Release') : null;
    if (button) {
      button.type = 'button';
      button.addEventListener('click', () => askRelease(c));
    }
    const tr = el('tr', null,
      el('td', 'mono', 'c' + c.id), el('td', 'mono', c.ip), el('td', null, c.switch),
      el('td', 'mono port', c.port + (c.if_index ? ' (' + c.if_index + ')' : '')),
      el('td', 'state', el('span', 'badge ' + c.status, c.status),
         c.action === 'quarantine_vlan' ? el('div', 'hint', 'VLAN ' + c.vlan + (c.previous_vlan ? ' (was ' + c.previous_vlan + ')' : '')) : null),
      el('td', 'mono', when(c.downed_at || c.created_at)), el('td', 'mono', when(c.expires_at)),
      el('td', 'text', 'policy ' + c.policy + ', incident ', el('span', 'mono', c.incident),
         c.release_reason ? el('div', 'hint', 'released: ' + c.release_reason + ' (' + c.released_by + ')') : null),
      el('td', 'text', c.detail, c.follows ? el('div', 'hint', 'follows c' + c.follows) : null), el('td', null, button));
    tr.dataset.id = String(c.id);
    body.appendChild(tr);
  }
}

async function loadStats() {
  const since = $('s-since').value;
  const doc = await api('GET', '/v1/stats' + (since ? '?since=' + encodeURIComponent(since) : ''));
  text($('s-internal'), doc.internal);
  text($('s-external'), doc.external);
  text($('s-unknown'), doc.unknown);
  text($('s-direct'), doc.direct_smtp || 0);
  const db = $('s-direct-hosts').tBodies[0];
  clear(db);
  for (const h of doc.direct_smtp_hosts || []) {
    const tr = el('tr', null, el('td', 'mono', h.ip, h.name ? el('div', 'hint', h.name) : null), el('td', null, h.connections),
      el('td', null, h.destinations));
    tr.title = h.bursts + ' burst(s), ' + h.blocked + ' blocked; last ' + when(h.last_seen);
    db.appendChild(tr);
  }
  $('s-direct-hosts').classList.toggle('hidden', !(doc.direct_smtp_hosts || []).length);
  const vb = $('s-viruses').tBodies[0];
  clear(vb);
  for (const v of doc.viruses) vb.appendChild(el('tr', null, clipped('td', 'virus', v.virus), el('td', null, v.detections), el('td', null, v.origins)));
  const tb = $('s-ttc').tBodies[0];
  clear(tb);
  for (const t of doc.time_to_containment) {
    const took = el('td', 'duration', t.seconds === null ? 'not contained' : humanDuration(t.seconds));
    if (t.seconds !== null) took.title = t.seconds.toFixed(1) + ' s';
    const tr = el('tr', null, el('td', 'mono', t.ip), took);
    tr.dataset.ip = t.ip;
    tb.appendChild(tr);
  }
  state.stats = doc;
  if (state.view === 'outbreak') renderTimeline(doc.timeline);
}

// ---- the outbreak chart: detections per hour, stacked by origin class, as inline SVG -------------
const HOUR_MS = 3600 * 1000;
const MAX_CHART_HOURS = 31 * 24;

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  return e;
}

function hourLabel(ms) {
  const t = new Date(ms).toISOString();  // UTC, as everywhere on the page
  return t.slice(5, 10) + ' ' + t.slice(11, 13) + ':00';
}

function renderTimeline(timeline) {
  const box = $('timeline');
  clear(box);
  const classes = (timeline && timeline.classes) || ['internal', 'external', 'ambiguous', 'unresolved'];
  const buckets = new Map();
  for (const h of (timeline && timeline.hours) || []) buckets.set(Date.parse(h.hour), h);
  if (!buckets.size) {
    box.appendChild(el('p', 'empty', 'No detections in this period.'));
    text($('timeline-summary'), '');
    return;
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  const last = keys[keys.length - 1];
  const first = Math.max(keys[0], last - (MAX_CHART_HOURS - 1) * HOUR_MS);
  const span = Math.round((last - first) / HOUR_MS) + 1;
  let peak = 0, peakHour = first, total = 0;
  for (const [t, h] of buckets) {
    if (t < first) continue;
    const n = classes.reduce((sum, c) => sum + (h[c] || 0), 0);
    total += n;
    if (n > peak) { peak = n; peakHour = t; }
  }
  const width = Math.max(480, box.clientWidth - 16), height = 240;
  const left = 44, right = 40, top = 10, bottom = 34;
  const plotW = width - left - right, plotH = height - top - bottom;
  const slot = plotW / span, barW = Math.max(1, slot * 0.8);
  const y = (n) => top + plotH - (n / peak) * plotH;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': 'detections per hour by origin class' });
  for (const n of new Set([0, Math.round(peak / 2), peak])) {
    chart.appendChild(svg('line', { class: 'gridline', x1: left, x2: width - right, y1: y(n), y2: y(n) }));
    chart.appendChild(svg('text', { x: left - 6, y: y(n) + 4, 'text-anchor': 'end' }, n));
  }
  // Hour labels no closer than ~90 px: every 1, 2, 3, 6, 12 or 24·k hours.
  const steps = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336];
  const step = steps.find((s) => s * slot >= 90) || 336;
  for (let i = 0; i < span; i++) {
    const t = first + i * HOUR_MS;
    const x = left + i * slot;
    if (Math.round(t / HOUR_MS) % step === 0) {
      chart.appendChild(svg('line', { class: 'axis', x1: x + slot / 2, x2: x + slot / 2, y1: top + plotH, y2: top + plotH + 4 }));
      chart.appendChild(svg('text', { x: x + slot / 2, y: top + plotH + 18, 'text-anchor': 'middle' }, hourLabel(t)));
    }
    const h = buckets.get(t);
    if (!h) continue;
    let base = 0;
    for (const c of classes) {
      const n = h[c] || 0;
      if (!n) continue;
      const bar = svg('rect', { class: 'bar ' + c, x: x + (slot - barW) / 2, y: y(base + n), width: barW,
        height: Math.max(2, y(base) - y(base + n)), 'data-hour': h.hour, 'data-class': c, 'data-count': n },
      svg('title', null, hourLabel(t) + ' UTC: ' + n + ' ' + c));
      chart.appendChild(bar);
      base += n;
    }
  }
  chart.appendChild(svg('line', { class: 'axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }));
  box.appendChild(chart);
  const dropped = (timeline.hours_dropped || 0) + keys.filter((t) => t < first).length;
  text($('timeline-summary'), total + ' detections over ' + span + ' h; busiest hour ' + hourLabel(peakHour) +
    ' UTC with ' + peak + (dropped ? '; ' + dropped + ' earlier hours not shown (choose a shorter period)' : ''));
}

// ---- held mail ---------------------------------------------------------------------------------
async function loadHeld() {
  const doc = await api('GET', '/v1/outbox?status=held');
  const mails = doc.mails || [];
  const count = $('held-count');
  text(count, mails.length);
  count.classList.toggle('hidden', mails.length === 0);
  if (state.view !== 'mail') return;
  const body = $('held').tBodies[0];
  clear(body);
  for (const m of mails) {
    const button = el('button', 'release-mail', 'Release');
    button.type = 'button';
    button.addEventListener('click', () => askMailRelease(m));
    const incident = el('a', 'mono', m.incident);
    incident.href = '#';
    incident.addEventListener('click', (e) => { e.preventDefault(); show('incidents'); openIncident(m.incident); });
    const tr = el('tr', null,
      el('td', 'mono', '#' + m.id), el('td', 'mono', when(m.created_at)),
      el('td', null, m.kind, el('div', 'hint', m.policy)),
      el('td', 'mono text', (m.to || []).join(', ')), el('td', 'subject', m.subject),
      el('td', 'why', m.last_error), el('td', null, incident), el('td', null, button));
    tr.dataset.id = String(m.id);
    body.appendChild(tr);
  }
  $('held-empty').classList.toggle('hidden', mails.length > 0);
}

async function askMailRelease(m) {
  state.pendingMail = m;
  text($('mail-what'), 'Mail #' + m.id + ' to ' + (m.to || []).join(', ') + ': ' + m.subject);
  text($('mail-body'), 'loading…');
  $('mail-reason').value = '';
  text($('mail-error'), '');
  $('mail-dialog').showModal();
  // The mail as it will be sent, for review (its evidence lines are attacker text: textContent).
  try {
    const doc = await api('GET', '/v1/outbox/' + m.id);
    if (state.pendingMail === m) text($('mail-body'), doc.body);
  } catch (e) {
    if (state.pendingMail === m) text($('mail-body'), 'could not load the mail: ' + e.message);
  }
}

async function confirmMailRelease(ev) {
  ev.preventDefault();
  const m = state.pendingMail;
  const reason = $('mail-reason').value.trim();
  if (!m || !reason) { text($('mail-error'), 'A reason is required.'); return; }
  try {
    await api('POST', '/v1/outbox/' + m.id + '/release', { reason, operator: $('mail-operator').value.trim() });
    $('mail-dialog').close();
    setStatus('mail #' + m.id + ' released for delivery');
    await loadHeld();
  } catch (e) {
    text($('mail-error'), e.message);
  }
}

// ---- release ----------------------------------------------------------------------------------
function askRelease(c) {
  state.pendingRelease = c;
  text($('release-what'), 'Switch ' + c.switch + ' port ' + c.port + ' (origin ' + c.ip + ', c' + c.id + ')');
  $('release-reason').value = '';
  text($('release-error'), '');
  $('release-dialog').showModal();
}

async function confirmRelease(ev) {
  ev.preventDefault();
  const c = state.pendingRelease;
  const reason = $('release-reason').value.trim();
  if (!c || !reason) { text($('release-error'), 'A reason is required.'); return; }
  try {
    const r = await api('POST', '/v1/containments/' + c.id + '/release', { reason, operator: $('release-operator').value.trim() });
    $('release-dialog').close();
    // 202: the responder re-enables the port in the background; the list shows when it is done.
    setStatus('c' + c.id + (r && r.status === 'cancelled' ? ' cancelled' : ' release requested'));
    await loadContainments();
  } catch (e) {
    text($('release-error'), e.message);
  }
}

// ---- polling ------------------------------------------------------------------------------------
let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    if (state.view === 'incidents') await loadIncidents();
    else if (state.view === 'origins') await loadOrigins();
    else if (state.view === 'containments') await loadContainments();
    await loadStats();
    await loadHeld();
    setStatus('updated ' + new Date().toLocaleTimeString());
  } catch (e) {
    setStatus(e instanceof NeedToken ? 'token required' : 'error: ' + e.message);
  } finally {
    busy = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.view));
  for (const id of ['f-class', 'f-confidence']) $(id).addEventListener('change', renderIncidents);
  for (const id of ['f-zone', 'f-virus']) $(id).addEventListener('input', renderIncidents);
  $('f-since').addEventListener('change', refresh);
  $('s-since').addEventListener('change', refresh);
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('release-form').addEventListener('submit', confirmRelease);
  $('release-cancel').addEventListener('click', () => $('release-dialog').close());
  $('mail-form').addEventListener('submit', confirmMailRelease);
  $('mail-cancel').addEventListener('click', () => $('mail-dialog').close());
  $('detail-close').addEventListener('click', closeIncident);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !document.querySelector('dialog[open]')) closeIncident();
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
    $('token-input').value = '';
    $('token-form').classList.add('hidden');
    refresh();
  });
  refresh();
  setInterval(refresh, POLL_MS);
});
