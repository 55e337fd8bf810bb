// The applicant pages at "/": book a visit (alone or as a family), then the receipt, its QR code and
// the bill; check the status by receipt number and birth date. #book and #status switch the view.
import { api, errorText } from '../shared/api.js';
import { birthDateField, busy, el, say } from '../shared/forms.js';
import { apply, formatDate, formatTime, languageButtons, onLangChange, t } from '../shared/i18n.js';
import { qrSvg } from '../shared/qr.js';
import { lookUp, mountStatus } from './status.js';
import './words.js';

const SERVICES = ['NEW', 'RENEWAL', 'REPLACEMENT_LOST', 'REPLACEMENT_DAMAGED'];
const PASSPORTS = ['ELECTRONIC', 'REGULAR', 'ELECTRONIC_POLYCARBONATE'];
const PRIORITIES = ['NONE', 'ELDERLY', 'DISABLED', 'PREGNANT', 'CHILD'];
const MAX_FAMILY = 5;

const $ = (id) => document.getElementById(id);
let slots = [];
let people = [];
let stopStatus = null;
let lastAttempt = { body: '', key: '' };

/** The same key for a resend of the same booking (a dropped answer books nothing twice); a new one
 *  when anything changed. getRandomValues, unlike randomUUID, works on plain http in an office LAN. */
function idempotencyKey(body) {
  const json = JSON.stringify(body);
  if (json !== lastAttempt.body) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    lastAttempt = { body: json, key: [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('') };
  }
  return lastAttempt.key;
}

// --- views ---------------------------------------------------------------------------------------

function route() {
  const view = location.hash === '#status' ? 'status' : 'book';
  $('view-book').hidden = view !== 'book';
  $('view-status').hidden = view !== 'status';
  for (const name of ['book', 'status']) {
    const tab = $('tab-' + name);
    if (name === view) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
}

// --- booking -------------------------------------------------------------------------------------

async function loadOffices() {
  const offices = await api('/v1/offices');
  const select = $('office');
  select.replaceChildren(...offices.map((o) => el('option', { value: o.code, text: o.name })));
  await loadSlots();
}

async function loadSlots() {
  const office = $('office').value;
  if (!office) return;
  slots = await api(`/v1/offices/${office}/slots`);
  renderDates();
}

function renderDates() {
  const select = $('date');
  const chosen = select.value;
  const days = [...new Set(slots.filter((s) => s.bookable !== false).map((s) => s.date))];
  select.replaceChildren(...days.map((d) => {
    const free = slots.filter((s) => s.date === d).reduce((n, s) => n + s.available, 0);
    return el('option', { value: d, text: `${formatDate(d)} (${free})` });
  }));
  if (days.includes(chosen)) select.value = chosen;
  $('no-dates').hidden = days.length > 0;
  renderSessions();
}

function renderSessions() {
  const list = $('session-list');
  const chosen = document.querySelector('input[name="slot"]:checked')?.value;
  const day = $('date').value;
  list.replaceChildren(...slots.filter((s) => s.date === day).map((s) => {
    const full = s.available <= 0;
    const words = full
      ? t('book.session.full', { start: formatTime(s.start), end: formatTime(s.end) })
      : t('book.session.places', { start: formatTime(s.start), end: formatTime(s.end), n: s.available });
    return el('label', { class: 'choice' },
      el('input', { type: 'radio', name: 'slot', value: String(s.slot_id), disabled: full, checked: String(s.slot_id) === chosen }),
      el('span', { text: words }));
  }));
}

function options(values, prefix, chosen) {
  return values.map((v) => el('option', { value: v, selected: v === chosen, text: t(prefix + v) }));
}

function personForm(index) {
  const n = index + 1;
  const id = `p${n}`;
  const box = el('fieldset', { class: 'person', id: `person-${n}` });
  const birth = el('div');
  box.append(
    el('legend', { text: t('book.person', { n }) }),
    el('label', { for: `${id}-name`, text: t('book.full_name') }),
    el('input', { id: `${id}-name`, name: 'full_name', autocomplete: n === 1 ? 'name' : 'off', required: true, maxlength: '200' }),
    el('label', { for: `${id}-nik`, text: t('book.nik') }),
    el('input', { id: `${id}-nik`, name: 'nik', inputmode: 'numeric', pattern: '[0-9]{16}', maxlength: '16', required: true, autocomplete: 'off' }),
    birth,
    el('label', { for: `${id}-service`, text: t('book.service') }),
    el('select', { id: `${id}-service`, name: 'service_type' }, ...options(SERVICES, 'service.', 'NEW')),
    el('label', { for: `${id}-passport`, text: t('book.passport') }),
    el('select', { id: `${id}-passport`, name: 'passport_type' }, ...options(PASSPORTS, 'passport.', 'ELECTRONIC')),
    el('label', { for: `${id}-priority`, text: t('book.priority') }),
    el('p', { class: 'hint', id: `${id}-priority-hint`, text: t('book.priority.hint') }),
    el('select', { id: `${id}-priority`, name: 'priority_category', 'aria-describedby': `${id}-priority-hint` },
      ...options(PRIORITIES, 'priority.', 'NONE')),
    el('label', { for: `${id}-email`, text: t('book.email') }),
    el('input', { id: `${id}-email`, name: 'email', type: 'email', autocomplete: n === 1 ? 'email' : 'off', maxlength: '254' }),
    el('label', { for: `${id}-phone`, text: t('book.phone') }),
    el('input', { id: `${id}-phone`, name: 'phone', type: 'tel', autocomplete: n === 1 ? 'tel' : 'off', maxlength: '32' }),
  );
  if (index > 0) {
    box.append(el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'secondary', onclick: () => removePerson(index) }, t('book.remove', { n }))));
  }
  const field = birthDateField(birth, { idPrefix: `${id}-birth` });
  return { box, field };
}

function keepValues() {
  return people.map(({ box, field }) => ({
    values: [...box.querySelectorAll('input[name], select[name]')].map((i) => [i.name, i.value]),
    birth: field.value(),
  }));
}

function renderPeople(count, kept = keepValues()) {
  people = Array.from({ length: count }, (_, i) => personForm(i));
  $('people').replaceChildren(...people.map((p) => p.box));
  apply($('people'));
  kept.slice(0, count).forEach((k, i) => {
    for (const [name, value] of k.values) {
      const input = people[i].box.querySelector(`[name="${name}"]`);
      if (input) input.value = value;
    }
    if (k.birth) people[i].field.set(k.birth);
  });
  const family = document.querySelector('input[name="who"]:checked').value === 'family';
  $('add-person').hidden = !family || count >= MAX_FAMILY;
}

function removePerson(index) {
  const kept = keepValues();
  kept.splice(index, 1);
  renderPeople(people.length - 1, kept);
}

function member({ box, field }) {
  const value = (name) => box.querySelector(`[name="${name}"]`).value.trim();
  const applicant = {
    full_name: value('full_name'),
    nik: value('nik'),
    birth_date: field.value(),
    language: document.documentElement.lang === 'en' ? 'en' : 'id',
  };
  if (value('email')) applicant.email = value('email');
  if (value('phone')) applicant.phone = value('phone');
  const problems = [];
  const mark = (name, bad) => box.querySelector(`[name="${name}"]`).setAttribute('aria-invalid', String(bad));
  mark('full_name', !applicant.full_name);
  mark('nik', !/^[0-9]{16}$/.test(applicant.nik));
  if (!applicant.full_name) problems.push(t('book.name.invalid'));
  if (!/^[0-9]{16}$/.test(applicant.nik)) problems.push(t('book.nik.invalid'));
  if (!applicant.birth_date) problems.push(t('birth.invalid'));
  return {
    body: {
      service_type: value('service_type'),
      passport_type: value('passport_type'),
      priority_category: value('priority_category'),
      applicant,
    },
    problems,
  };
}

async function book(event) {
  event.preventDefault();
  const message = $('book-message');
  say(message, '');
  const slot = document.querySelector('input[name="slot"]:checked');
  if (!slot) {
    say(message, t('book.choose_session'), 'error');
    $('sessions').querySelector('input')?.focus();
    return;
  }
  const members = people.map(member);
  const problems = members.flatMap((m) => m.problems);
  if (problems.length) {
    say(message, `${t('book.check_fields')} ${[...new Set(problems)].join(' ')}`, 'error');
    return;
  }
  const office = $('office').value;
  const slotId = Number(slot.value);
  const family = members.length > 1;
  await busy($('book-submit'), async () => {
    try {
      let receipts;
      if (family) {
        const body = { office, slot_id: slotId, members: members.map((m) => m.body) };
        const made = await api('/v1/application-groups', {
          method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey(body) },
        });
        receipts = made.receipt_numbers;
      } else {
        const body = { office, slot_id: slotId, ...members[0].body };
        const made = await api('/v1/applications', {
          method: 'POST', body, headers: { 'Idempotency-Key': idempotencyKey(body) },
        });
        receipts = [made.receipt_number];
      }
      showReceipts(receipts.map((r, i) => ({ receipt: r, member: members[i].body })));
    } catch (err) {
      say(message, errorText(err), 'error');
      if (err.code === 'slot_full') loadSlots().catch(() => {});
    }
  });
}

function showReceipts(made) {
  const result = $('book-result');
  $('book-form').hidden = true;
  const cards = made.map(({ receipt, member: m }) => el('div', { class: 'card receipt-card' },
    el('p', { class: 'hint', text: `${m.applicant.full_name} — ${t('receipt.title')}` }),
    el('p', { class: 'big-number receipt-number', text: receipt }),
    qrSvg(receipt, t('receipt.qr', { receipt })),
    el('div', { class: 'actions' },
      el('button', { type: 'button', onclick: () => openStatus(receipt, m.applicant.birth_date) }, t('receipt.show'))),
  ));
  result.replaceChildren(
    el('p', { class: 'message', 'data-kind': 'ok', role: 'status', text: t('book.done') }),
    ...cards,
  );
  result.hidden = false;
  // One applicant goes straight on to the bill and the status; a family picks a member.
  if (made.length === 1) openStatus(made[0].receipt, made[0].member.applicant.birth_date);
}

// --- status --------------------------------------------------------------------------------------

async function openStatus(receipt, birthDate) {
  location.hash = '#status';
  route();
  $('status-receipt').value = receipt;
  statusField.set(birthDate);
  await showStatus(receipt, birthDate);
}

async function showStatus(receipt, birthDate) {
  const message = $('status-message');
  say(message, '');
  stopStatus?.();
  try {
    const view = await lookUp(receipt, birthDate);
    $('status-form').hidden = true;
    stopStatus = mountStatus($('status-view'), view, {
      receipt,
      birthDate,
      onClose: () => {
        stopStatus?.();
        $('status-view').replaceChildren();
        $('status-form').hidden = false;
        $('status-receipt').focus();
      },
    });
    document.getElementById('status-heading')?.focus();
  } catch (err) {
    say(message, errorText(err), 'error');
  }
}

const statusField = birthDateField($('status-birth'), { idPrefix: 'status-birth' });

$('status-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const receipt = $('status-receipt').value.replace(/[\s-]/g, '').toUpperCase();
  const birth = statusField.value();
  if (!receipt || !birth) {
    say($('status-message'), t('birth.invalid'), 'error');
    return;
  }
  await busy($('status-submit'), () => showStatus(receipt, birth));
});

// --- start ---------------------------------------------------------------------------------------

$('book-form').addEventListener('submit', book);
$('office').addEventListener('change', () => loadSlots().catch((e) => say($('book-message'), errorText(e), 'error')));
$('date').addEventListener('change', renderSessions);
for (const radio of document.querySelectorAll('input[name="who"]')) {
  radio.addEventListener('change', () => {
    const family = radio.value === 'family' && radio.checked;
    renderPeople(family ? Math.max(2, people.length) : 1);
  });
}
$('add-person').addEventListener('click', () => renderPeople(Math.min(MAX_FAMILY, people.length + 1)));
window.addEventListener('hashchange', route);
onLangChange(() => {
  renderDates();
  renderPeople(people.length);
});

languageButtons();
apply();
route();
renderPeople(1, []);
loadOffices().catch((err) => say($('book-message'), errorText(err), 'error'));

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch(() => { /* the pages work without it */ });
}
