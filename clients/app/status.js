// The status of one application (receipt number + birth date): bill, timeline, cancel, the arrival
// confirmation sheet. It moves on by itself: the page asks again every few seconds while visible.
import { api, errorText, poll } from '../shared/api.js';
import { el, say } from '../shared/forms.js';
import { formatDate, formatInstant, formatMoney, formatTime, onLangChange, t, waitSentence } from '../shared/i18n.js';
import { onePagePdf, PAGE } from '../shared/pdf.js';
import { qrMatrix, qrSvg } from '../shared/qr.js';
import './words.js';

const POLL_SECONDS = 5;
const CANCELLABLE = new Set(['BOOKED', 'PAID', 'ARRIVAL_CONFIRMED']);
let offices = null;

export async function officeInfo(code) {
  if (!offices) offices = await api('/v1/offices').catch(() => []);
  return offices.find((o) => o.code === code) || { code, name: code, timezone: 'Asia/Jakarta' };
}

// The birth date travels in the body, never in the URL: access logs and histories keep URLs.
export function lookUp(receipt, birthDate) {
  return api(`/v1/applications/${encodeURIComponent(receipt)}/lookup`, { method: 'POST', body: { birth_date: birthDate } });
}

/**
 * Show an application in `container` and keep it current. `first` is the view already fetched.
 * Returns stop().
 */
export function mountStatus(container, first, { receipt, birthDate, onClose }) {
  let view = first;
  let bill = null;
  let office = { code: first.office, name: first.office, timezone: 'Asia/Jakarta' };
  const live = el('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const message = el('p', { class: 'message', role: 'alert', hidden: true });
  const body = el('div');
  container.replaceChildren(live, message, body);

  async function loadBill() {
    if (!view.bill || !view.bill.billing_code) return;
    try {
      bill = await api(`/v1/bills/${encodeURIComponent(receipt)}/lookup`, { method: 'POST', body: { birth_date: birthDate } });
    } catch {
      bill = null; // the summary in the application view is enough to go on
    }
  }

  function render() {
    const v = view;
    const status = v.status;
    const parts = [];
    parts.push(el('h2', { text: t('status.for', { receipt }), id: 'status-heading', tabindex: '-1' }));
    // While the applicant waits: the queue's estimate for the lane and stage; nothing when it has none.
    const wait = waitSentence(estimateOf(v));
    parts.push(
      el('div', { class: 'card status-now' },
        el('p', { class: 'hint', text: t('status.now') }),
        el('p', { class: 'big-status', 'data-status': status, id: 'current-status', text: t('st.' + status) }),
        wait ? el('p', { class: 'wait', id: 'status-wait', text: wait }) : null,
        el('p', { class: 'hint', text: t('status.auto') }),
      ),
    );
    const facts = el('dl', { class: 'facts' });
    const add = (label, value) => { if (value) facts.append(el('dt', { text: label }), el('dd', { text: value })); };
    add(t('status.name'), v.applicant?.full_name);
    add(t('status.office'), office.name);
    add(t('status.service'), t('service.' + v.service_type));
    add(t('status.schedule'), `${formatDate(v.slot.date)}, ${formatTime(v.slot.start)}–${formatTime(v.slot.end)}`);
    if (v.priority_category && v.priority_category !== 'NONE') add(t('book.priority'), t('priority.' + v.priority_category));
    if (v.ticket) {
      add(t('status.ticket'), v.ticket.ticket);
      add(t('status.seat'), v.ticket.seat);
      if (v.ticket.position) add(t('status.position'), String(v.ticket.position));
    }
    const qr = el('div', { class: 'receipt-qr' },
      el('p', { class: 'hint', text: t('receipt.title') }),
      el('p', { class: 'big-number', text: receipt }),
      qrSvg(receipt, t('receipt.qr', { receipt })));
    parts.push(el('div', { class: 'card two-col' }, el('div', {}, facts), qr));
    if (v.pickup_from) parts.push(el('p', { class: 'message', 'data-kind': 'ok', text: t('status.pickup', { date: formatDate(v.pickup_from) }) }));
    parts.push(renderBill(v, bill, office));
    const steps = el('ol', { class: 'timeline' });
    for (const step of v.timeline) {
      steps.append(el('li', {},
        el('span', { class: 'when', text: formatInstant(step.at, office.timezone) }),
        el('span', { class: 'what', text: t('step.' + step.step) }),
      ));
    }
    parts.push(el('h3', { text: t('status.timeline') }), steps);
    const actions = el('div', { class: 'actions' },
      el('button', { type: 'button', id: 'sheet-pdf', onclick: () => downloadSheet(view, office, receipt) }, t('status.pdf')),
      el('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, t('status.print')),
    );
    if (CANCELLABLE.has(status)) {
      actions.append(el('button', { type: 'button', class: 'danger', id: 'cancel', onclick: askCancel }, t('status.cancel')));
    }
    if (onClose) actions.append(el('button', { type: 'button', class: 'secondary', onclick: onClose }, t('status.close')));
    parts.push(actions);
    body.replaceChildren(...parts);
  }

  function askCancel() {
    const dialog = el('dialog', { 'aria-labelledby': 'cancel-q' },
      el('p', { id: 'cancel-q', text: t('status.cancel.confirm') }),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'danger', id: 'cancel-yes', onclick: async () => {
          dialog.close();
          try {
            await api(`/v1/applications/${encodeURIComponent(receipt)}/cancel`, { method: 'POST', body: { birth_date: birthDate } });
            say(message, t('status.cancelled'), 'ok');
            await refresh();
          } catch (err) {
            say(message, errorText(err), 'error');
          }
          dialog.remove();
        } }, t('status.cancel.yes')),
        el('button', { type: 'button', class: 'secondary', onclick: () => { dialog.close(); dialog.remove(); } }, t('status.cancel.no')),
      ));
    document.body.append(dialog);
    dialog.showModal();
  }

  async function refresh() {
    const next = await lookUp(receipt, birthDate);
    const before = view;
    const changed = next.status !== before.status;
    const billChanged = JSON.stringify(next.bill) !== JSON.stringify(before.bill);
    const timelineChanged = next.timeline.length !== before.timeline.length;
    const ticketChanged = JSON.stringify(next.ticket) !== JSON.stringify(before.ticket);
    const waitChanged = JSON.stringify(estimateOf(next)) !== JSON.stringify(estimateOf(before));
    view = next;
    if (billChanged) await loadBill();
    if (changed || billChanged || timelineChanged || ticketChanged || waitChanged) {
      render();
      if (changed) live.textContent = t('status.changed', { status: t('st.' + next.status) });
    }
  }

  onLangChange(render);
  officeInfo(first.office).then((o) => { office = o; render(); });
  loadBill().then(render);
  render();
  return poll(refresh, POLL_SECONDS);
}

/** The estimated wait of a status view ({low_minutes, high_minutes}), or null. */
function estimateOf(v) {
  return v.estimated_wait ?? v.ticket?.estimated_wait ?? null;
}

function renderBill(v, bill, office) {
  const box = el('section', { class: 'card bill', 'aria-labelledby': 'bill-heading' },
    el('h3', { id: 'bill-heading', text: t('bill.title') }));
  const summary = v.bill;
  if (!summary || !summary.billing_code) {
    if (!v.paid) box.append(el('p', { text: t('bill.pending') }));
    else box.append(el('p', { id: 'bill-state', text: t('bill.PAID') }));
    return box;
  }
  // The queue says ISSUED, the payment service UNPAID: both mean "not paid yet".
  const state = summary.status === 'ISSUED' ? 'UNPAID' : summary.status || (v.paid ? 'PAID' : 'UNPAID');
  const facts = el('dl', { class: 'facts' },
    el('dt', { text: t('bill.code') }), el('dd', { class: 'big-number', id: 'billing-code', text: summary.billing_code }),
    el('dt', { text: t('bill.amount') }), el('dd', { id: 'bill-amount', text: formatMoney(summary.amount) }),
    el('dt', { text: t('bill.state') }), el('dd', { id: 'bill-state', 'data-state': state, text: t('bill.' + state) }),
  );
  if (state === 'UNPAID' && summary.expires_at) {
    facts.append(el('dt', { text: t('bill.deadline') }), el('dd', { id: 'bill-deadline', text: formatInstant(summary.expires_at, office.timezone) }));
  }
  if (bill?.ntpn) facts.append(el('dt', { text: t('bill.ntpn') }), el('dd', { text: bill.ntpn }));
  box.append(facts);
  if (bill?.items?.length) {
    const items = el('ul', { class: 'bill-items' });
    for (const item of bill.items) {
      items.append(el('li', { text: `${item.description || item.label || item.code || ''} — ${formatMoney(item.amount)}` }));
    }
    box.append(items);
  }
  if (state === 'UNPAID') {
    box.append(el('h4', { text: t('bill.how') }),
      el('ol', {}, ...[1, 2, 3, 4].map((n) => el('li', { text: t('bill.how.' + n) }))));
  }
  return box;
}

function wrap(text, width) {
  const words = text.split(/\s+/);
  const lines = [];
  let line = '';
  for (const word of words) {
    if ((line + ' ' + word).trim().length > width) {
      if (line) lines.push(line);
      line = word;
    } else {
      line = (line + ' ' + word).trim();
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The arrival confirmation sheet: a one-page PDF with the receipt's QR code, saved by the browser. */
export function sheetPdf(v, office, receipt) {
  const lines = [];
  let y = PAGE.height - 64;
  const side = 170;
  const qrBottom = PAGE.height - 100 - side - 20;
  // Beside the QR code a line stops short of it; below, it may use the page's width.
  const put = (text, size = 12, bold = false, gap = 1.45) => {
    const width = Math.floor((y > qrBottom ? 300 : 480) / (size * 0.55));
    for (const part of wrap(text, width)) {
      lines.push({ text: part, size, bold, y });
      y -= size * gap;
    }
  };
  put(`${t('site.office')} — ${office.name}`, 12, true);
  y -= 10;
  put(t('sheet.title'), 18, true, 2);
  put(t('receipt.title'), 11);
  put(receipt, 22, true, 1.8);
  put(`${t('status.name')}: ${v.applicant?.full_name || '-'}`);
  put(`${t('status.service')}: ${t('service.' + v.service_type)}`);
  put(`${t('status.schedule')}: ${formatDate(v.slot.date)}`);
  put(`${formatTime(v.slot.start)}–${formatTime(v.slot.end)}`, 12, true);
  put(`${t('sheet.paid')}: ${v.paid ? t('sheet.yes') : t('sheet.no')}`);
  if (v.arrival_confirmed_at) put(`${t('sheet.confirmed')}: ${formatInstant(v.arrival_confirmed_at, office.timezone)}`);
  if (v.priority_category && v.priority_category !== 'NONE') put(`${t('book.priority')}: ${t('priority.' + v.priority_category)}`);
  y = Math.min(y, qrBottom) - 10;
  for (const key of ['sheet.kiosk', 'sheet.bring', 'sheet.early']) {
    put(t(key), 12);
    y -= 6;
  }
  y -= 10;
  put(t('sheet.printed', { at: formatInstant(new Date().toISOString(), office.timezone) }), 9);
  return onePagePdf({
    title: `${t('sheet.title')} ${receipt}`,
    lines,
    qr: { matrix: qrMatrix(receipt), x: PAGE.width - 56 - side, y: PAGE.height - 100 - side, width: side },
  });
}

function downloadSheet(v, office, receipt) {
  const blob = sheetPdf(v, office, receipt);
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: `konfirmasi-kedatangan-${receipt}.pdf` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}
