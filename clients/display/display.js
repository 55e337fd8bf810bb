// The waiting room's display board: each ticket called, with the counter or the priority seat,
// live from the notifier's display stream; the last five calls; an optional spoken announcement
// in Indonesian (Web Speech API). It reconnects by itself (shared/sse.js). Under the calls, the
// estimated wait of each lane and stage (GET /v1/lines/{office}/estimates: counts and minutes, never
// a receipt number or a name), asked again every minute and soon after each call.
import { api, ApiError } from '../shared/api.js';
import { forgetDevice, loadDevice, setUpDevice } from '../shared/device.js';
import { apply, formatWait, lang, languageButtons, onLangChange, register, t } from '../shared/i18n.js';
import { follow } from '../shared/sse.js';

const DEVICE_KEY = 'sambang.display';
const RECENT_KEY = 'sambang.display.recent';
const KEEP = 5;
const ESTIMATES_EVERY = 60_000; // ms
const ESTIMATES_AFTER_CALL = 1_500; // ms: one request for a burst of calls
const ESTIMATES_GAP = 10_000; // ms at least between two requests (the queue limits each address)
const ESTIMATES_STALE = 5 * 60_000; // ms: older estimates are taken down rather than shown wrong

register({
  id: {
    'display.title': 'Antrean Paspor',
    'display.now': 'Dipanggil',
    'display.recent': 'Panggilan terakhir',
    'display.waiting': 'Menunggu panggilan berikutnya',
    'display.counter': 'Loket {counter}',
    'display.seat': 'Kursi {seat}',
    'display.speech': 'Suara panggilan',
    'display.live': 'Tersambung',
    'display.connecting': 'Menyambung…',
    'display.reconnecting': 'Menyambung ulang…',
    'display.refused': 'Token layar ditolak',
    'lane.REGULAR.VERIFICATION': 'Verifikasi dokumen (A)',
    'lane.REGULAR.INTERVIEW': 'Wawancara (A)',
    'lane.PRIORITY': 'Layanan prioritas (P)',
    'lane.PICKUP': 'Pengambilan paspor (C)',
  },
  en: {
    'display.title': 'Passport Queue',
    'display.now': 'Now calling',
    'display.recent': 'Last calls',
    'display.waiting': 'Waiting for the next call',
    'display.counter': 'Counter {counter}',
    'display.seat': 'Seat {seat}',
    'display.speech': 'Spoken calls',
    'display.live': 'Connected',
    'display.connecting': 'Connecting…',
    'display.reconnecting': 'Reconnecting…',
    'display.refused': 'The display token was refused',
    'lane.REGULAR.VERIFICATION': 'Document check (A)',
    'lane.REGULAR.INTERVIEW': 'Interview (A)',
    'lane.PRIORITY': 'Priority service (P)',
    'lane.PICKUP': 'Passport collection (C)',
  },
});

const $ = (id) => document.getElementById(id);
let recent = [];
let speech = false;
let state = 'connecting';

try {
  recent = JSON.parse(sessionStorage.getItem(RECENT_KEY) || '[]').slice(0, KEEP);
} catch { recent = []; }

function place(call) {
  if (call.seat && !call.counter) return t('display.seat', { seat: call.seat });
  if (call.counter) return t('display.counter', { counter: call.counter });
  return '';
}

function render(fresh = false) {
  const now = $('now');
  const latest = recent[0];
  if (latest) {
    const ticket = document.createElement('p');
    ticket.className = 'ticket';
    ticket.id = 'now-ticket';
    ticket.textContent = latest.ticket;
    const where = document.createElement('p');
    where.className = 'place';
    where.id = 'now-place';
    where.textContent = place(latest);
    now.replaceChildren(ticket, where);
    if (fresh) {
      now.classList.remove('flash');
      void now.offsetWidth; // restart the animation
      now.classList.add('flash');
    }
  }
  $('recent').replaceChildren(...recent.map((call) => {
    const li = document.createElement('li');
    const ticket = document.createElement('span');
    ticket.className = 'ticket';
    ticket.textContent = call.ticket;
    const where = document.createElement('span');
    where.className = 'place';
    where.textContent = place(call);
    li.append(ticket, where);
    return li;
  }));
}

// Digits one by one, as the counters' own announcements do: "A nol nol tujuh".
const DIGITS = ['nol', 'satu', 'dua', 'tiga', 'empat', 'lima', 'enam', 'tujuh', 'delapan', 'sembilan'];
function spoken(ticket) {
  return [...ticket].map((c) => (/[0-9]/.test(c) ? DIGITS[Number(c)] : c)).join(' ');
}

function announce(call) {
  if (!speech || !('speechSynthesis' in window)) return;
  // Always in Indonesian: the language of the waiting room.
  const where = call.counter
    ? `loket ${spoken(String(call.counter))}`
    : `kursi ${spoken(String(call.seat || ''))}, petugas akan datang`;
  const text = `Nomor antrean ${spoken(call.ticket)}, silakan ke ${where}.`;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = 'id-ID';
  utterance.rate = 0.9;
  const voice = speechSynthesis.getVoices().find((v) => v.lang?.toLowerCase().startsWith('id'));
  if (voice) utterance.voice = voice;
  speechSynthesis.speak(utterance);
}

function called(call) {
  const entry = { ticket: call.ticket, counter: call.counter || null, seat: call.seat || null, at: Date.now() };
  recent = [entry, ...recent.filter((c) => c.ticket !== entry.ticket)].slice(0, KEEP);
  try { sessionStorage.setItem(RECENT_KEY, JSON.stringify(recent)); } catch { /* kept in memory */ }
  render(true);
  announce(entry);
}

// --- estimated waits -----------------------------------------------------------------------------

let estimates = { lanes: [], at: 0 };
let estimatesTimer = null;
let estimatesAsked = -Infinity; // when the last request went out
let estimatesPaused = 0; // no request before this (the queue's Retry-After)

function laneName(lane, stage) {
  for (const key of [`lane.${lane}.${stage}`, `lane.${lane}`]) {
    const name = t(key);
    if (name !== key) return name;
  }
  return `${lane} ${stage}`;
}

function renderWaits() {
  const fresh = Date.now() - estimates.at < ESTIMATES_STALE;
  // Only the lanes with an estimate: nothing at all is shown for one the queue cannot estimate.
  const shown = fresh ? estimates.lanes.filter((l) => formatWait(l.estimated_wait)) : [];
  $('waits').replaceChildren(...shown.map((l) => {
    const li = document.createElement('li');
    li.dataset.lane = l.lane;
    li.dataset.stage = l.stage;
    const name = document.createElement('span');
    name.className = 'lane';
    name.textContent = laneName(l.lane, l.stage);
    const wait = document.createElement('span');
    wait.className = 'wait';
    wait.textContent = formatWait(l.estimated_wait);
    li.append(name, wait);
    return li;
  }));
  $('waits-box').hidden = shown.length === 0;
}

async function loadEstimates(office) {
  estimatesAsked = Date.now();
  try {
    const body = await api(`/v1/lines/${encodeURIComponent(office)}/estimates`);
    estimates = { lanes: Array.isArray(body?.lanes) ? body.lanes : [], at: Date.now() };
  } catch (err) {
    // The last ones stay up until they are stale; asked too often: not again before Retry-After.
    if (err instanceof ApiError && err.retryAfter) estimatesPaused = Date.now() + err.retryAfter * 1000;
  }
  renderWaits();
}

/** Ask for the estimates after `delay` ms, then every minute; never sooner than ESTIMATES_GAP after the
 *  last request or before a Retry-After. A sooner request replaces a later one. */
function estimatesIn(office, delay) {
  const earliest = Math.max(estimatesAsked + ESTIMATES_GAP, estimatesPaused) - Date.now();
  clearTimeout(estimatesTimer);
  estimatesTimer = setTimeout(async () => {
    await loadEstimates(office);
    estimatesIn(office, ESTIMATES_EVERY);
  }, Math.max(delay, earliest, 0));
}

function showState(next) {
  state = next;
  const el = $('connection');
  el.dataset.state = next === 'refused' ? 'offline' : next;
  el.textContent = t('display.' + next);
}

function tick() {
  $('clock').textContent = new Intl.DateTimeFormat(lang() === 'id' ? 'id-ID' : 'en-GB', {
    hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Jakarta',
  }).format(new Date());
}

async function start() {
  languageButtons();
  apply();
  let device = loadDevice(DEVICE_KEY);
  if (!device) {
    $('setup').hidden = false;
    device = await setUpDevice($('setup'), DEVICE_KEY);
    $('setup').hidden = true;
  }
  $('board').hidden = false;
  const offices = await api('/v1/offices').catch(() => []);
  $('office-name').textContent = `— ${offices.find((o) => o.code === device.office)?.name || device.office}`;
  $('speech').addEventListener('click', () => {
    speech = !speech;
    $('speech').setAttribute('aria-pressed', String(speech));
    // A first (silent) utterance inside the click unlocks speech in browsers that need a gesture.
    if (speech && 'speechSynthesis' in window) speechSynthesis.speak(new SpeechSynthesisUtterance(''));
  });
  onLangChange(() => { render(); renderWaits(); showState(state); tick(); });
  render();
  tick();
  setInterval(tick, 1000);
  showState('connecting');
  estimatesIn(device.office, 0);
  follow({
    stream: 'displays',
    office: device.office,
    token: device.token,
    kinds: ['ticket_called'],
    onEvent: (kind, data) => {
      if (kind === 'ticket_called' && data.ticket) called(data);
      // A call (or a reset of the stream) moves the queue on: the estimates follow shortly.
      estimatesIn(device.office, ESTIMATES_AFTER_CALL);
    },
    onState: (next) => {
      if (next === 'live' && state !== 'live' && state !== 'connecting') estimatesIn(device.office, 0);
      showState(next);
      if (next === 'refused') {
        // A revoked or wrong token: the board asks staff to set it up again.
        forgetDevice(DEVICE_KEY);
        setTimeout(() => location.reload(), 5000);
      }
    },
  });
}

start();
