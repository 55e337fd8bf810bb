// The sambang officer's tablet: sign in with a token, the live worklist of priority applicants
// (GET worklist + the officers' stream), claim one, then capture step by step at the seat —
// documents, photo, fingerprints (with exceptions), signature, interview — and complete.
// Every step goes through the outbox (IndexedDB) first, so nothing is lost offline; what waits there
// is sealed with a key held in memory only, and signing out leaves nothing behind (see outbox.js).
import { api, errorText } from '../shared/api.js';
import { busy, el, say } from '../shared/forms.js';
import { apply, lang, languageButtons, onLangChange, t } from '../shared/i18n.js';
import { follow } from '../shared/sse.js';
import { clearAll, discardUnreadable, enqueue, flush, pending } from './outbox.js';
import './words.js';

const TOKEN_KEY = 'sambang.tablet.token';
const CAPTURE_KEY = 'sambang.tablet.capture';
const STATE_KEY = 'sambang.tablet.steps';
const DEVICE_KEY = 'sambang.tablet.device';
const FINGERS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const STEPS = ['documents', 'photo', 'fingerprints', 'signature', 'interview', 'complete'];
const CHECKLIST_KEY = 'sambang.tablet.checklist';

const $ = (id) => document.getElementById(id);
let officer = null; // { token, sub, office, exp }
let closeStream = null;
let visits = [];
let seen = new Set();
let capture = null; // { receipt, visit_id, seat, ticket, category }
let summary = null; // GET /v1/captures/{receipt}
let step = 'documents';
let items = {}; // item key -> { state: queued|done|error, text, checks }
let retryTimer = null;

// --- sign in ---------------------------------------------------------------------------------------

function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

function signedIn(token) {
  const c = claims(token);
  if (!c || !c.office || !Array.isArray(c.roles)) return null;
  if (!c.roles.includes('sambang_officer')) return null;
  if (c.exp && c.exp * 1000 < Date.now()) return null;
  return { token, sub: c.sub, office: c.office, exp: c.exp };
}

// The checklist of an application capture has not heard of yet (a walk-in registered moments ago):
// capture's own for a new passport of an adult, asked once signed in and kept for when the tablet is
// offline. An application capture knows comes with its own checklist in the capture summary.
async function loadChecklist() {
  try {
    const list = await api('/v1/captures/checklists/NEW', { token: officer.token });
    sessionStorage.setItem(CHECKLIST_KEY, JSON.stringify(list));
  } catch { /* offline: the one kept before, if any */ }
}

function keptChecklist() {
  return JSON.parse(sessionStorage.getItem(CHECKLIST_KEY) || '[]');
}

let heldSteps = 0; // steps in the outbox (any officer's): signing out must stay possible while any wait
function show(section) {
  for (const name of ['signin', 'worklist', 'capture']) $(name).hidden = name !== section;
  $('sign-out').hidden = section === 'signin' && heldSteps === 0;
}

/** Stop everything an officer's session runs: the stream, the timers, the camera. */
function stopSession() {
  closeStream?.();
  closeStream = null;
  clearInterval(worklistTimer);
  clearTimeout(retryTimer);
  clearTimeout(reloadTimer);
  stopCamera();
  officer = null;
  streamLive = false;
  $('who').textContent = '';
  $('stream-state').hidden = true;
}

/** Forget what the screen shows of applicants (cards, the capture panel, previews). */
function forgetScreen() {
  visits = [];
  seen = new Set();
  capture = null;
  summary = null;
  items = {};
  for (const img of document.querySelectorAll('#panel img[src^="blob:"]')) URL.revokeObjectURL(img.src);
  for (const id of ['visits', 'panel', 'steps']) $(id).replaceChildren();
  for (const id of ['arrivals', 'capture-title', 'capture-who']) $(id).textContent = '';
  for (const id of ['worklist-message', 'capture-message']) say($(id), '');
}

/**
 * Sign out: the tablet leaves nothing behind — this tab's sessionStorage (token, capture, checklist),
 * the outbox of every officer (IndexedDB, the database itself), the sealing key and any approval in
 * memory, and what the screen showed. Steps not yet sent are gone with it (the screen said how many).
 */
async function signOut() {
  stopSession();
  forgetScreen();
  say($('outbox-notice'), '');
  sessionStorage.clear();
  await clearAll().catch(() => {});
  heldSteps = 0;
  show('signin');
  await showPending().catch(() => {});
  say($('signin-message'), t('tablet.signedout'), 'ok');
  $('token').value = '';
  $('token').focus();
}

/**
 * The server refused the token (it expired, or was revoked): back to the sign-in form, keeping the
 * outbox. The same officer signing in again sends their steps; another officer's token never does.
 */
function sessionEnded() {
  stopSession();
  sessionStorage.removeItem(TOKEN_KEY);
  show('signin');
  say($('signin-message'), t('tablet.token.expired'), 'error');
  $('token').value = '';
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  const who = signedIn(token);
  if (!who) {
    say($('signin-message'), t('tablet.token.bad'), 'error');
    return;
  }
  await busy($('signin-submit'), async () => {
    try {
      await api(`/v1/offices/${who.office}/sambang/worklist`, { token });
    } catch (err) {
      say($('signin-message'), err.status === 401 || err.status === 403 ? t('tablet.token.bad') : errorText(err), 'error');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    say($('signin-message'), '');
    start(who);
  });
}

function start(who) {
  officer = who;
  forgetScreen();
  $('who').textContent = `${who.sub} · ${who.office}`;
  loadChecklist();
  closeStream = follow({
    stream: 'officers',
    office: who.office,
    token: who.token,
    kinds: ['priority_check_in', 'sambang_claimed', 'sambang_released'],
    onEvent: streamed,
    onState: (state) => {
      $('stream-state').hidden = false;
      $('stream-state').dataset.state = state === 'refused' ? 'offline' : state;
      $('stream-state').textContent = t('tablet.stream.' + state);
      streamLive = state === 'live';
      if (streamLive) loadWorklist(); // what happened while it was away
    },
  });
  const saved = JSON.parse(sessionStorage.getItem(CAPTURE_KEY) || 'null');
  if (saved && saved.sub === who.sub) openCapture(saved);
  else openWorklist();
  sendPending();
}

// --- worklist --------------------------------------------------------------------------------------

let reloadTimer = null;
function streamed(kind, data) {
  if (kind === 'priority_check_in' && data.seat !== undefined) {
    $('arrivals').textContent = t('tablet.arrived', { seat: data.seat || data.ticket, category: t('cat.' + data.priority_category) });
  }
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadWorklist, 150);
}

async function loadWorklist() {
  if (!officer) return;
  try {
    const list = await api(`/v1/offices/${officer.office}/sambang/worklist`, { token: officer.token });
    visits = list.visits;
    lastLoad = Date.now();
    say($('worklist-message'), '');
    renderWorklist();
  } catch (err) {
    if (err.status === 401) sessionEnded();
    else say($('worklist-message'), errorText(err), 'error');
  }
}

function renderWorklist() {
  const fresh = seen.size > 0;
  $('visits').replaceChildren(...visits.map((v) => {
    const mine = v.claimed_by === officer.sub;
    const other = v.claimed_by && !mine;
    const card = el('li', { class: `visit${fresh && !seen.has(v.visit_id) ? ' new' : ''}`, 'data-visit': v.visit_id },
      el('p', { class: 'seat', text: v.seat ? t('tablet.seat', { seat: v.seat }) : v.ticket }),
      el('p', { class: 'category', text: t('cat.' + v.priority_category) }),
      el('p', { text: `${t('tablet.ticket')} ${v.ticket}` }),
      el('p', { text: t('tablet.waited', { n: v.minutes_waited }) }),
      el('p', { text: v.paid ? t('tablet.paid') : t('tablet.unpaid') }),
      other ? el('p', { class: 'item-state', text: t('tablet.claimed_by', { who: v.claimed_by }) }) : null,
      other ? null : el('button', {
        type: 'button',
        class: 'claim',
        'aria-label': t(mine ? 'tablet.resume.label' : 'tablet.claim.label', { seat: v.seat || v.ticket }),
        onclick: (e) => claim(v, e.currentTarget),
      }, t(mine ? 'tablet.resume' : 'tablet.claim')),
    );
    return card;
  }));
  for (const v of visits) seen.add(v.visit_id);
  if (!seen.size) seen.add(''); // the first load is not "new"
  $('worklist-empty').hidden = visits.length > 0;
}

let worklistTimer = null;
let streamLive = false;
let lastLoad = 0;
function openWorklist() {
  capture = null;
  sessionStorage.removeItem(CAPTURE_KEY);
  show('worklist');
  loadWorklist();
  clearInterval(worklistTimer);
  // Every 30 s for the minutes waited while the stream brings the rest; every 10 s without it.
  worklistTimer = setInterval(() => {
    if (!streamLive || Date.now() - lastLoad > 30000) loadWorklist();
  }, 10000);
}

async function claim(v, button) {
  await busy(button, async () => {
    try {
      if (v.claimed_by !== officer.sub) await api(`/v1/visits/${v.visit_id}/claim`, { method: 'POST', token: officer.token });
      openCapture({ receipt: v.receipt_number, visit_id: v.visit_id, seat: v.seat, ticket: v.ticket, category: v.priority_category });
    } catch (err) {
      say($('worklist-message'), errorText(err), 'error');
      loadWorklist();
    }
  });
}

// --- capture ---------------------------------------------------------------------------------------

function saveItems() {
  sessionStorage.setItem(STATE_KEY, JSON.stringify({ receipt: capture?.receipt, sub: officer?.sub, items }));
}

function setItem(key, state, text = '', checks = null) {
  items[key] = { state, text, checks };
  saveItems();
  renderSteps();
  refreshPanel(key);
}

async function openCapture(c) {
  clearInterval(worklistTimer);
  capture = c;
  sessionStorage.setItem(CAPTURE_KEY, JSON.stringify({ ...c, sub: officer.sub }));
  const saved = JSON.parse(sessionStorage.getItem(STATE_KEY) || 'null');
  items = saved && saved.receipt === c.receipt && saved.sub === officer.sub ? saved.items : {};
  saveItems();
  show('capture');
  $('capture-title').textContent = t('tablet.capture.title', { seat: c.seat || c.ticket });
  $('capture-who').textContent = `${t('cat.' + c.category)} · ${t('tablet.ticket')} ${c.ticket} · ${c.receipt}`;
  summary = null;
  try {
    summary = await api(`/v1/captures/${c.receipt}`, { token: officer.token });
  } catch { /* offline, or capture has not heard of it yet: capture's checklist kept at sign-in */ }
  if (!summary && !keptChecklist().length) await loadChecklist();
  goTo(items.complete?.state === 'done' ? 'complete' : 'documents');
}

function stepState(name) {
  const keys = name === 'fingerprints' ? FINGERS.map((p) => 'fp' + p) : [name];
  const states = keys.map((k) => items[k]?.state);
  if (states.some((s) => s === 'error')) return 'error';
  if (states.some((s) => s === 'queued')) return 'queued';
  if (name === 'fingerprints' && summary && !summary.fingerprints_required) return 'done';
  if (states.every((s) => s === 'done')) return 'done';
  return 'todo';
}

function renderSteps() {
  $('steps').replaceChildren(...STEPS.map((name, i) => {
    const state = stepState(name);
    return el('li', {},
      el('button', {
        type: 'button',
        'aria-current': name === step ? 'step' : null,
        'data-step': name,
        'data-state': state,
        onclick: () => goTo(name),
      },
      el('span', { text: `${i + 1}. ${t('tablet.step.' + name)}` }),
      el('span', { class: 'mark', text: t('tablet.state.' + state) })),
    );
  }));
}

function goTo(name) {
  stopCamera();
  step = name;
  say($('capture-message'), '');
  renderSteps();
  const panels = { documents, photo, fingerprints, signature, interview, complete };
  $('panel').replaceChildren(...[panels[name]()].flat());
  apply($('panel'));
  $('panel').querySelector('h2')?.focus();
}

function next() {
  const i = STEPS.indexOf(step);
  goTo(STEPS[Math.min(STEPS.length - 1, i + 1)]);
}

/** Keep a step in the outbox, then try to send it (and anything before it). */
async function queue(key, call) {
  try {
    await enqueue({ sub: officer.sub, receipt: capture.receipt, key, ...call });
  } catch (err) {
    setItem(key, 'error', t(err?.message === 'no_webcrypto' ? 'tablet.nocrypto' : 'tablet.notkept'));
    return;
  }
  setItem(key, 'queued', t('tablet.queued'));
  await sendPending();
}

async function sendPending() {
  clearTimeout(retryTimer);
  if (!officer) return;
  let result = 'later';
  try {
    result = await flush({
      sub: () => officer?.sub,
      token: () => officer?.token,
      lang,
      onAnswer: answered,
      onAuth: sessionEnded,
      onDiscard: (entry) => discarded([entry]),
    });
  } catch { /* IndexedDB refused: tried again below */ }
  await showPending().catch(() => {});
  if (officer && !['done', 'cleared', 'unauthorized'].includes(result)) retryTimer = setTimeout(sendPending, 5000);
}

/** Steps waiting: the signed-in officer's, and apart from them those of other officers (kept, not sent). */
async function showPending() {
  const all = await pending();
  heldSteps = all.length;
  const mine = officer ? all.filter((e) => e.sub === officer.sub).length : 0;
  const others = all.length - mine;
  const words = [];
  if (mine) words.push(t('tablet.pending', { n: mine }));
  if (others) words.push(t('tablet.pending.others', { n: others }));
  $('pending').hidden = words.length === 0;
  $('pending').dataset.mine = String(mine);
  $('pending').dataset.others = String(others);
  $('pending').textContent = words.join(' · ');
  if (!$('signin').hidden) $('sign-out').hidden = heldSteps === 0;
}

/** Steps that can no longer be sent (their key went with a reloaded page): said, and marked to redo. */
function discarded(lost) {
  if (!lost.length) return;
  say($('outbox-notice'), t('tablet.discarded', { n: lost.length }), 'error');
  const saved = JSON.parse(sessionStorage.getItem(STATE_KEY) || 'null');
  for (const entry of lost) {
    if (capture && entry.receipt === capture.receipt) {
      setItem(entry.key, 'error', t('tablet.discarded.item'));
    } else if (saved && saved.receipt === entry.receipt && saved.items?.[entry.key]) {
      saved.items[entry.key] = { state: 'error', text: t('tablet.discarded.item'), checks: null };
    }
  }
  if (saved && (!capture || capture.receipt !== saved.receipt)) sessionStorage.setItem(STATE_KEY, JSON.stringify(saved));
}

function reasonsText(problem) {
  const reasons = problem?.reasons || [];
  const words = reasons.map((r) => r[lang()] || r.en || r.code);
  return words.length ? words.join('; ') : problem?.detail || t('error.generic');
}

function answered(entry, { ok, data }) {
  if (!capture || entry.receipt !== capture.receipt) return;
  const key = entry.key;
  if (ok) {
    const checks = data?.quality?.checks || null;
    setItem(key, 'done', t('tablet.sent'), checks);
    if (key === 'complete') {
      say($('capture-message'), t('tablet.completed'), 'ok');
    }
  } else {
    const checks = data?.quality?.checks || null;
    setItem(key, 'error', reasonsText(data), checks);
    if (key === 'complete' && data?.missing) {
      setItem(key, 'error', `${data.detail || ''} ${missingText(data.missing)}`.trim());
    }
  }
  if (['photo', 'signature', 'complete', 'documents', 'interview'].includes(step) || key.startsWith('fp')) {
    refreshPanel(key);
  }
}

function refreshPanel(key) {
  // Redraw the open panel's result lines only (never the officer's half-filled inputs).
  for (const node of $('panel').querySelectorAll(`[data-item="${key}"]`)) renderItemState(node, key);
}

function renderItemState(node, key) {
  const item = items[key];
  node.dataset.state = item?.state || 'todo';
  node.replaceChildren();
  if (!item) return;
  node.append(el('span', { text: item.text }));
  if (item.checks) {
    node.append(el('ul', { class: 'checks' }, ...item.checks.map((c) => el('li', {
      'data-passed': String(c.passed),
      text: `${c.passed ? '✓' : '✗'} ${t('check.' + c.name)}${c.passed ? '' : ` — ${t('reason.' + c.reason)}`}`,
    }))));
  }
}

function itemState(key) {
  const node = el('div', { class: 'item-state', 'data-item': key, role: 'status' });
  renderItemState(node, key);
  return node;
}

function missingText(missing) {
  return missing.map((m) => {
    if (m.item === 'DOCUMENT') return t('doc.req.' + m.requirement);
    if (m.item === 'FINGERPRINT') return t('finger.' + m.position);
    return t('item.' + m.item);
  }).join(', ');
}

// -- step 1: documents
function documents() {
  const list = summary?.documents?.checklist?.length ? summary.documents.checklist : keptChecklist();
  const form = el('form', { novalidate: true });
  list.forEach((r, i) => {
    const name = `doc${i}`;
    const row = el('div', { class: 'doc-row' },
      el('h3', { id: `${name}-title`, text: t('doc.req.' + r.requirement) }));
    if (r.kinds.length > 1) {
      row.append(el('label', { for: `${name}-kind`, text: t('tablet.doc.which') }),
        el('select', { id: `${name}-kind`, name: `${name}-kind` }, ...r.kinds.map((k) => el('option', { value: k, text: t('doc.' + k) }))));
    }
    const choices = el('fieldset', { 'aria-labelledby': `${name}-title` });
    for (const status of ['OK', 'MISSING', 'MISMATCH']) {
      choices.append(el('label', { class: 'choice' },
        el('input', { type: 'radio', name, value: status, checked: status === 'OK' && r.met ? true : null }),
        el('span', { text: t('doc.status.' + status) })));
    }
    row.append(choices,
      el('label', { for: `${name}-note`, text: t('tablet.note') }),
      el('input', { id: `${name}-note`, name: `${name}-note`, maxlength: '2000' }));
    form.append(row);
  });
  form.append(itemState('documents'), el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'save-documents' }, t('tablet.save_next'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = [];
    list.forEach((r, i) => {
      const status = form.querySelector(`input[name="doc${i}"]:checked`)?.value;
      if (!status) return;
      const kind = form.querySelector(`[name="doc${i}-kind"]`)?.value || r.kinds[0];
      const note = form.querySelector(`[name="doc${i}-note"]`).value.trim();
      body.push({ kind, status, holder: r.holder || 'APPLICANT', ...(note ? { note } : {}) });
    });
    if (!body.length) {
      say($('capture-message'), t('tablet.doc.none'), 'error');
      return;
    }
    await queue('documents', { method: 'POST', path: `/v1/captures/${capture.receipt}/documents`, body: JSON.stringify(body), contentType: 'application/json' });
    next();
  });
  return [el('h2', { tabindex: '-1', text: t('tablet.step.documents') }), form];
}

// -- step 2: photo
let stream = null;
function stopCamera() {
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
}

function photo() {
  const video = el('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': t('tablet.photo.preview') });
  const preview = el('img', { alt: t('tablet.photo.taken'), hidden: true });
  const take = el('button', { type: 'button', id: 'take-photo', disabled: true }, t('tablet.photo.take'));
  const file = el('input', { type: 'file', id: 'photo-file', accept: 'image/jpeg,image/png' });
  const send = async (blob) => {
    preview.src = URL.createObjectURL(blob);
    preview.hidden = false;
    await queue('photo', { method: 'PUT', path: `/v1/captures/${capture.receipt}/photo`, body: blob, contentType: blob.type });
  };
  navigator.mediaDevices?.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false })
    .then((s) => {
      stream = s;
      video.srcObject = s;
      take.disabled = false;
    })
    .catch(() => { say($('capture-message'), t('tablet.photo.nocamera'), 'info'); });
  take.addEventListener('click', async () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92));
    await send(blob);
  });
  file.addEventListener('change', async () => { if (file.files[0]) await send(file.files[0]); file.value = ''; });
  return [
    el('h2', { tabindex: '-1', text: t('tablet.step.photo') }),
    el('p', { text: t('tablet.photo.hint') }),
    el('div', { class: 'camera' }, video, preview),
    el('div', { class: 'actions' }, take),
    el('label', { for: 'photo-file', text: t('tablet.photo.file') }), file,
    itemState('photo'),
    el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', onclick: next }, t('tablet.next'))),
  ];
}

// -- step 3: fingerprints
function fingerprints() {
  if (summary && !summary.fingerprints_required) {
    return [el('h2', { tabindex: '-1', text: t('tablet.step.fingerprints') }), el('p', { class: 'lead', text: t('tablet.fp.none') }),
      el('div', { class: 'actions' }, el('button', { type: 'button', onclick: next }, t('tablet.next')))];
  }
  // Never kept: not in storage, cleared from the field as soon as it is read.
  const approval = el('input', { type: 'password', id: 'approval', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'approval-hint' });
  const grid = el('div', { class: 'fingers' });
  for (const p of FINGERS) {
    const input = el('input', { type: 'file', id: `fp-file-${p}`, accept: 'image/png,image/jpeg' });
    input.addEventListener('change', async () => {
      const f = input.files[0];
      input.value = '';
      if (f) await queue('fp' + p, { method: 'PUT', path: `/v1/captures/${capture.receipt}/fingerprints/${p}`, body: f, contentType: f.type || 'image/png' });
    });
    const reason = el('select', { id: `fp-reason-${p}` }, ...['AMPUTATED', 'BANDAGED', 'UNUSABLE', 'OTHER'].map((r) => el('option', { value: r, text: t('fp.reason.' + r) })));
    const note = el('input', { id: `fp-note-${p}`, maxlength: '2000' });
    const record = el('button', { type: 'button', class: 'secondary', id: `fp-except-${p}` }, t('tablet.fp.record'));
    record.addEventListener('click', () => busy(record, async () => {
      const given = approval.value.trim();
      approval.value = '';
      if (!given) {
        say($('capture-message'), t('tablet.fp.approval.needed'), 'error');
        approval.focus();
        return;
      }
      const token = await approvalFor(given, capture.receipt, p);
      if (!token) {
        approval.focus();
        return;
      }
      say($('capture-message'), '');
      const body = { reason: reason.value, ...(note.value.trim() ? { note: note.value.trim() } : {}) };
      // The approval rides in memory with this one step, sent once and dropped with it (outbox.js).
      await queue('fp' + p, {
        method: 'PUT',
        path: `/v1/captures/${capture.receipt}/fingerprints/${p}/exception`,
        body: JSON.stringify(body),
        contentType: 'application/json',
        headers: { 'X-Supervisor-Approval': token },
      });
    }));
    grid.append(el('div', { class: 'finger' },
      el('h3', { text: `${p}. ${t('finger.' + p)}` }),
      el('label', { for: `fp-file-${p}`, text: t('tablet.fp.file', { finger: t('finger.' + p) }) }), input,
      el('details', {},
        el('summary', { text: t('tablet.fp.exception') }),
        el('label', { for: `fp-reason-${p}`, text: t('tablet.fp.reason') }), reason,
        el('label', { for: `fp-note-${p}`, text: t('tablet.note') }), note,
        el('div', { class: 'actions' }, record)),
      itemState('fp' + p)));
  }
  return [
    el('h2', { tabindex: '-1', text: t('tablet.step.fingerprints') }),
    el('p', { text: t('tablet.fp.hint') }),
    el('label', { for: 'approval', text: t('tablet.fp.approval') }),
    el('p', { class: 'hint', id: 'approval-hint', text: t('tablet.fp.approval.hint') }),
    approval,
    grid,
    el('div', { class: 'actions' }, el('button', { type: 'button', onclick: next }, t('tablet.next'))),
  ];
}

/**
 * The approval of one fingerprint exception, or null (the reason said on the page). `given` is what the
 * supervisor typed into the field:
 * - an approval token (audience sambang-approval) issued elsewhere for this receipt and finger: used
 *   as it is (checked here only to say a mismatch plainly; capture verifies it);
 * - the supervisor's own token: the tablet asks `POST /v1/approvals` {action: fingerprint_exception,
 *   subject: receipt, position: finger} with it at once and forgets it; only the approval (15 min at
 *   most, one receipt, one finger, single use) goes on with the step.
 */
async function approvalFor(given, receipt, position) {
  const c = claims(given);
  const refuse = (key) => { say($('capture-message'), t(key), 'error'); return null; };
  if (!c) return refuse('tablet.fp.approval.bad');
  if (c.exp && c.exp * 1000 < Date.now()) return refuse('tablet.fp.approval.expired');
  if (c.sub && c.sub === officer.sub) return refuse('tablet.fp.approval.self');
  const audiences = [c.aud].flat();
  if (audiences.includes('sambang-approval')) {
    if (c.action !== 'fingerprint_exception' || c.subject !== receipt || c.position !== position) {
      return refuse('tablet.fp.approval.mismatch');
    }
    return given;
  }
  if (!Array.isArray(c.roles) || !c.roles.includes('supervisor')) return refuse('tablet.fp.approval.bad');
  try {
    const issued = await api('/v1/approvals', {
      method: 'POST',
      token: given,
      body: { action: 'fingerprint_exception', subject: receipt, position },
    });
    return issued.token;
  } catch (err) {
    if (err.status === 0) return refuse('tablet.fp.approval.offline');
    say($('capture-message'), errorText(err), 'error');
    return null;
  }
}

// -- step 4: signature
function signature() {
  const canvas = el('canvas', { class: 'signature', width: '800', height: '280', role: 'img', 'aria-label': t('tablet.sign.area') });
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 5;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#000';
  let drawing = false;
  let inked = false;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)];
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.stroke();
    inked = true;
  });
  const end = () => { drawing = false; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  const clear = () => {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    inked = false;
  };
  const save = async () => {
    if (!inked) {
      say($('capture-message'), t('tablet.sign.empty'), 'error');
      return;
    }
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    await queue('signature', { method: 'PUT', path: `/v1/captures/${capture.receipt}/signature`, body: blob, contentType: 'image/png' });
    next();
  };
  const cannot = async () => {
    await queue('signature', {
      method: 'PUT', path: `/v1/captures/${capture.receipt}/signature`, body: JSON.stringify({ exception: 'CANNOT_SIGN' }), contentType: 'application/json',
    });
    next();
  };
  return [
    el('h2', { tabindex: '-1', text: t('tablet.step.signature') }),
    el('p', { text: t('tablet.sign.hint') }),
    canvas,
    el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'save-signature', onclick: save }, t('tablet.sign.save')),
      el('button', { type: 'button', class: 'secondary', onclick: clear }, t('tablet.sign.clear')),
      el('button', { type: 'button', class: 'secondary', id: 'cannot-sign', onclick: cannot }, t('tablet.sign.cannot'))),
    itemState('signature'),
  ];
}

// -- step 5: interview
function interview() {
  const form = el('form', { novalidate: true });
  const decisions = el('fieldset', {}, el('legend', { text: t('tablet.int.decision') }));
  for (const d of ['APPROVED', 'NEEDS_DOCUMENTS', 'REJECTED']) {
    decisions.append(el('label', { class: 'choice' }, el('input', { type: 'radio', name: 'decision', value: d }), el('span', { text: t('int.' + d) })));
  }
  const notes = el('textarea', { id: 'int-notes', rows: '3', maxlength: '4000' });
  const flag = el('input', { type: 'checkbox', id: 'int-violation' });
  const category = el('select', { id: 'int-category' }, ...['NONPROCEDURAL_MIGRANT_WORKER', 'FORGED_DOCUMENT', 'IDENTITY_FRAUD', 'FALSE_STATEMENT', 'OTHER']
    .map((c) => el('option', { value: c, text: t('vio.' + c) })));
  const detail = el('textarea', { id: 'int-detail', rows: '3', maxlength: '2000' });
  const violation = el('div', { hidden: true },
    el('label', { for: 'int-category', text: t('tablet.int.category') }), category,
    el('label', { for: 'int-detail', text: t('tablet.int.detail') }), detail);
  flag.addEventListener('change', () => { violation.hidden = !flag.checked; });
  form.append(decisions,
    el('label', { for: 'int-notes', text: t('tablet.int.notes') }), notes,
    el('label', { class: 'choice', for: 'int-violation' }, flag, el('span', { text: t('tablet.int.violation') })),
    violation, itemState('interview'),
    el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'save-interview' }, t('tablet.save_next'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const decision = form.querySelector('input[name="decision"]:checked')?.value;
    if (!decision) {
      say($('capture-message'), t('tablet.int.choose'), 'error');
      return;
    }
    const body = { decision, mode: 'SAMBANG' };
    if (notes.value.trim()) body.notes = notes.value.trim();
    if (flag.checked) {
      if (!detail.value.trim()) {
        say($('capture-message'), t('tablet.int.detail.needed'), 'error');
        detail.focus();
        return;
      }
      body.violation = { category: category.value, detail: detail.value.trim() };
    }
    await queue('interview', { method: 'POST', path: `/v1/captures/${capture.receipt}/interview`, body: JSON.stringify(body), contentType: 'application/json' });
    next();
  });
  return [el('h2', { tabindex: '-1', text: t('tablet.step.interview') }), form];
}

// -- step 6: complete
function complete() {
  const missingBox = el('p', { class: 'lead', id: 'missing' });
  const doneBox = itemState('complete');
  const finish = el('button', { type: 'button', id: 'complete' }, t('tablet.complete'));
  const back = el('button', { type: 'button', class: 'secondary', id: 'back-to-list', onclick: openWorklist }, t('tablet.back'));
  const release = el('button', { type: 'button', class: 'secondary', id: 'release' }, t('tablet.release'));
  finish.addEventListener('click', async () => {
    const device = localStorage.getItem(DEVICE_KEY) || `tablet-${crypto.getRandomValues(new Uint32Array(2)).join('')}`;
    localStorage.setItem(DEVICE_KEY, device);
    await queue('complete', {
      method: 'POST',
      path: `/v1/captures/${capture.receipt}/complete`,
      body: JSON.stringify({ mode: 'SAMBANG', device_id: device, ...(capture.seat ? { seat: capture.seat } : {}) }),
      contentType: 'application/json',
    });
  });
  release.addEventListener('click', () => busy(release, async () => {
    try {
      await api(`/v1/visits/${capture.visit_id}/release`, { method: 'POST', token: officer.token });
      openWorklist();
    } catch (err) {
      say($('capture-message'), errorText(err), 'error');
    }
  }));
  api(`/v1/captures/${capture.receipt}`, { token: officer.token }).then((s) => {
    summary = s;
    missingBox.textContent = s.completion ? t('tablet.completed') : s.missing.length ? t('tablet.missing', { list: missingText(s.missing) }) : t('tablet.ready');
  }).catch(() => { missingBox.textContent = t('tablet.offline.later'); });
  return [
    el('h2', { tabindex: '-1', text: t('tablet.step.complete') }),
    missingBox,
    el('div', { class: 'actions' }, finish, back, release),
    doneBox,
  ];
}

// --- start -----------------------------------------------------------------------------------------

function network() {
  const online = navigator.onLine;
  $('net-state').dataset.state = online ? 'online' : 'offline';
  $('net-state').textContent = t(online ? 'tablet.online' : 'tablet.offline');
  if (online) sendPending();
}

languageButtons();
apply();
onLangChange(() => {
  network();
  showPending();
  if (!$('worklist').hidden) renderWorklist();
  if (!$('capture').hidden && capture) {
    $('capture-title').textContent = t('tablet.capture.title', { seat: capture.seat || capture.ticket });
    goTo(step);
  }
});
window.addEventListener('online', network);
window.addEventListener('offline', network);
$('signin-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', signOut);
network();
// Steps left by a page that was reloaded or closed are sealed under a key that went with it: no one can
// send them any more. Said once, here, before anything new is queued.
discardUnreadable().then(discarded).catch(() => {}).finally(() => {
  showPending().catch(() => {});
  const saved = signedIn(sessionStorage.getItem(TOKEN_KEY) || '');
  if (saved) start(saved);
  else show('signin');
});
