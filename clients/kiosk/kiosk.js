// The check-in kiosk: receipt number (typed, from a hand scanner that types it, or the camera) and
// birth date give a queue ticket — or, for a passport that is ready, a pickup ticket. It starts
// over by itself after 30 seconds without a touch.
import { api, ApiError, errorText } from '../shared/api.js';
import { loadDevice, setUpDevice } from '../shared/device.js';
import { birthDateField, busy, say } from '../shared/forms.js';
import {
  apply, formatTime, languageButtons, onLangChange, register, relativeDay, setLang, t, waitSentence,
} from '../shared/i18n.js';

const DEVICE_KEY = 'sambang.kiosk';
const IDLE_SECONDS = 30;
const WARN_SECONDS = 10;
const RECEIPT = /^[A-Z]{3}[0-9]{13}$/;

register({
  id: {
    'kiosk.title': 'Kios Antrean Paspor',
    'kiosk.welcome': 'Selamat datang',
    'kiosk.choose': 'Pilih yang Anda perlukan:',
    'kiosk.checkin': 'Ambil nomor antrean',
    'kiosk.pickup': 'Ambil paspor yang sudah jadi',
    'kiosk.checkin.title': 'Ambil nomor antrean',
    'kiosk.pickup.title': 'Ambil paspor',
    'kiosk.receipt': 'Nomor tanda terima',
    'kiosk.receipt.hint': 'Ketik nomornya, atau pindai kode QR dari lembar konfirmasi.',
    'kiosk.receipt.bad': 'Nomor tanda terima terdiri dari 3 huruf dan 13 angka. Periksa lagi.',
    'kiosk.scan': 'Pindai kode QR dengan kamera',
    'kiosk.scan.title': 'Arahkan kode QR ke kamera',
    'kiosk.scan.cancel': 'Batal',
    'kiosk.scan.none': 'Kamera tidak dapat dipakai. Ketik nomornya saja.',
    'kiosk.scan.looking': 'Mencari kode QR…',
    'kiosk.submit': 'Ambil nomor',
    'kiosk.back': 'Kembali',
    'kiosk.your_ticket': 'Nomor antrean Anda',
    'kiosk.your_pickup': 'Nomor antrean pengambilan paspor',
    'kiosk.seat': 'Kursi prioritas {seat}',
    'kiosk.priority': 'Silakan duduk di kursi prioritas, petugas akan datang kepada Anda.',
    'kiosk.priority.noseat': 'Semua kursi prioritas sedang terisi. Silakan duduk di dekat kursi prioritas, petugas akan datang kepada Anda.',
    'kiosk.regular': 'Silakan duduk dan tunggu nomor Anda dipanggil di layar.',
    'kiosk.pickup.wait': 'Silakan tunggu nomor Anda dipanggil untuk mengambil paspor.',
    'kiosk.ahead': 'Ada {n} orang sebelum Anda.',
    'kiosk.first': 'Anda berikutnya.',
    'kiosk.print': 'Cetak',
    'kiosk.done': 'Selesai',
    'kiosk.idle': 'Layar akan kembali ke awal dalam {n} detik. Sentuh layar untuk melanjutkan.',
    'kiosk.when': 'Jadwal Anda {when}, {start}–{end}.',
    'kiosk.too_early': 'Check-in untuk jadwal Anda dibuka pukul {time}.',
    'kiosk.too_late': 'Waktu check-in untuk jadwal Anda sudah lewat. Silakan ke meja layanan.',
    'kiosk.not_paid': 'Tagihan Anda belum dibayar. Bayar dulu, lalu kembali ke kios ini.',
    'kiosk.not_ready': 'Paspor Anda belum siap diambil.',
    'kiosk.ready_from': 'Paspor Anda dapat diambil mulai {when}.',
    'kiosk.ask_staff': 'Jika perlu bantuan, silakan ke meja layanan.',
  },
  en: {
    'kiosk.title': 'Passport Queue Kiosk',
    'kiosk.welcome': 'Welcome',
    'kiosk.choose': 'Choose what you need:',
    'kiosk.checkin': 'Get a queue ticket',
    'kiosk.pickup': 'Collect a passport that is ready',
    'kiosk.checkin.title': 'Get a queue ticket',
    'kiosk.pickup.title': 'Collect your passport',
    'kiosk.receipt': 'Receipt number',
    'kiosk.receipt.hint': 'Type the number, or scan the QR code on your confirmation sheet.',
    'kiosk.receipt.bad': 'A receipt number has 3 letters and 13 digits. Please check it.',
    'kiosk.scan': 'Scan the QR code with the camera',
    'kiosk.scan.title': 'Hold the QR code to the camera',
    'kiosk.scan.cancel': 'Cancel',
    'kiosk.scan.none': 'The camera cannot be used. Please type the number.',
    'kiosk.scan.looking': 'Looking for a QR code…',
    'kiosk.submit': 'Get my ticket',
    'kiosk.back': 'Back',
    'kiosk.your_ticket': 'Your queue ticket',
    'kiosk.your_pickup': 'Your passport pickup ticket',
    'kiosk.seat': 'Priority seat {seat}',
    'kiosk.priority': 'Please sit on a priority seat, an officer will come to you.',
    'kiosk.priority.noseat': 'All priority seats are taken. Please sit near the priority seats, an officer will come to you.',
    'kiosk.regular': 'Please take a seat and wait for your number on the screen.',
    'kiosk.pickup.wait': 'Please wait for your number to be called to collect your passport.',
    'kiosk.ahead': '{n} people are before you.',
    'kiosk.first': 'You are next.',
    'kiosk.print': 'Print',
    'kiosk.done': 'Done',
    'kiosk.idle': 'The screen goes back to the start in {n} seconds. Touch the screen to continue.',
    'kiosk.when': 'Your appointment is {when}, {start}–{end}.',
    'kiosk.too_early': 'Check-in for your appointment opens at {time}.',
    'kiosk.too_late': 'The check-in time for your appointment has passed. Please go to the service desk.',
    'kiosk.not_paid': 'Your bill is not paid yet. Please pay first, then come back to this kiosk.',
    'kiosk.not_ready': 'Your passport is not ready to collect yet.',
    'kiosk.ready_from': 'You can collect your passport from {when}.',
    'kiosk.ask_staff': 'If you need help, please go to the service desk.',
  },
});

const $ = (id) => document.getElementById(id);
let device = null;
let mode = 'checkin';
let idleTimer = null;
let warnTimer = null;
let countdown = null;
const birth = birthDateField($('birth'), { idPrefix: 'kiosk-birth' });

function show(screen) {
  for (const name of ['home', 'form', 'ticket']) $('screen-' + name).hidden = name !== screen;
  touched();
}

function home() {
  stopScanner();
  $('kiosk-form').reset();
  birth.clear();
  say($('kiosk-message'), '');
  setLang('id', { remember: false });
  show('home');
  $('go-checkin').focus();
}

function openForm(which) {
  mode = which;
  $('form-title').textContent = t(which === 'checkin' ? 'kiosk.checkin.title' : 'kiosk.pickup.title');
  $('form-title').dataset.i18n = which === 'checkin' ? 'kiosk.checkin.title' : 'kiosk.pickup.title';
  show('form');
  $('receipt').focus();
}

// --- the plain words of an error -----------------------------------------------------------------

async function explain(err, receipt, birthDate) {
  const p = err instanceof ApiError ? err.problem : {};
  const lines = [];
  try {
    if (err.code === 'not_today' || err.code === 'too_late') {
      const view = await api(`/v1/applications/${encodeURIComponent(receipt)}/lookup`, {
        method: 'POST', body: { birth_date: birthDate }, token: device.token,
      });
      lines.push(t('kiosk.when', {
        when: relativeDay(view.slot.date), start: formatTime(view.slot.start), end: formatTime(view.slot.end),
      }));
      if (err.code === 'too_late') lines.push(t('kiosk.too_late'));
    } else if (err.code === 'too_early' && p.opens_at) {
      const time = new Intl.DateTimeFormat('id-ID', { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Jakarta' })
        .format(new Date(p.opens_at));
      lines.push(t('kiosk.too_early', { time }));
    } else if (err.code === 'not_paid') {
      lines.push(t('kiosk.not_paid'));
    } else if (err.code === 'not_ready') {
      lines.push(p.pickup_from ? t('kiosk.ready_from', { when: relativeDay(p.pickup_from) }) : t('kiosk.not_ready'));
    }
  } catch { /* the service's own words below are enough */ }
  // The service's own sentence, in the language asked for, under our plainer one.
  const detail = errorText(err);
  if (!lines.includes(detail)) lines.push(detail);
  if (err.status !== 0) lines.push(t('kiosk.ask_staff'));
  return lines.join(' ');
}

// --- the ticket ----------------------------------------------------------------------------------

let lastTicket = null;

function showTicket(ticket) {
  lastTicket = ticket;
  $('ticket-title').textContent = t(mode === 'checkin' ? 'kiosk.your_ticket' : 'kiosk.your_pickup');
  $('ticket-number').textContent = ticket.ticket;
  const priority = ticket.lane === 'PRIORITY';
  $('ticket-seat').hidden = !(priority && ticket.seat);
  $('ticket-seat').textContent = ticket.seat ? t('kiosk.seat', { seat: ticket.seat }) : '';
  let sentence = t('kiosk.regular');
  if (mode === 'pickup') sentence = t('kiosk.pickup.wait');
  else if (priority) sentence = t(ticket.seat ? 'kiosk.priority' : 'kiosk.priority.noseat');
  $('ticket-sentence').textContent = sentence;
  const position = ticket.position;
  $('ticket-position').textContent = !position || priority ? '' : position <= 1 ? t('kiosk.first') : t('kiosk.ahead', { n: position - 1 });
  // The queue's estimate for this lane and stage, as a range; nothing at all when it has none.
  const wait = waitSentence(ticket.estimated_wait);
  $('ticket-wait').textContent = wait;
  $('ticket-wait').hidden = !wait;
  show('ticket');
  $('done').focus();
}

async function submit(event) {
  event.preventDefault();
  const message = $('kiosk-message');
  const receipt = $('receipt').value.replace(/[\s-]/g, '').toUpperCase();
  const birthDate = birth.value();
  if (!RECEIPT.test(receipt)) {
    say(message, t('kiosk.receipt.bad'), 'error');
    $('receipt').focus();
    return;
  }
  if (!birthDate) {
    say(message, t('birth.invalid'), 'error');
    birth.focus();
    return;
  }
  say(message, '');
  await busy($('kiosk-submit'), async () => {
    const path = mode === 'checkin' ? 'check-ins' : 'pickups';
    try {
      const ticket = await api(`/v1/offices/${device.office}/${path}`, {
        method: 'POST',
        body: { receipt_number: receipt, birth_date: birthDate },
        token: device.token,
      });
      showTicket(ticket);
    } catch (err) {
      say(message, await explain(err, receipt, birthDate), 'error');
    }
  });
}

// --- scanning a QR code with the camera ----------------------------------------------------------

let stream = null;
let scanning = null;

async function decoder() {
  if ('BarcodeDetector' in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        return async (video) => (await detector.detect(video))[0]?.rawValue || null;
      }
    } catch { /* fall back to jsQR */ }
  }
  if (!window.jsQR) {
    await new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/shared/vendor/jsQR.js';
      script.onload = resolve;
      script.onerror = reject;
      document.head.append(script);
    });
  }
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    if (!video.videoWidth) return null;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    ctx.drawImage(video, 0, 0);
    const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' })?.data || null;
  };
}

async function startScanner() {
  const box = $('scanner');
  box.hidden = false;
  $('scanner-message').textContent = t('kiosk.scan.looking');
  $('scanner-cancel').focus();
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    const video = $('scanner-video');
    video.srcObject = stream;
    await video.play();
    const read = await decoder();
    scanning = setInterval(async () => {
      const text = (await read(video).catch(() => null))?.trim().toUpperCase();
      if (text && RECEIPT.test(text)) {
        $('receipt').value = text;
        stopScanner();
        birth.focus();
      }
    }, 250);
  } catch {
    $('scanner-message').textContent = t('kiosk.scan.none');
  }
}

function stopScanner() {
  clearInterval(scanning);
  scanning = null;
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  $('scanner').hidden = true;
}

// --- idle reset ----------------------------------------------------------------------------------

function touched() {
  clearTimeout(idleTimer);
  clearTimeout(warnTimer);
  clearInterval(countdown);
  $('idle').hidden = true;
  if ($('screen-home').hidden === false) return; // nothing to reset
  warnTimer = setTimeout(() => {
    let left = WARN_SECONDS;
    const tell = () => { $('idle').textContent = t('kiosk.idle', { n: left }); };
    tell();
    $('idle').hidden = false;
    countdown = setInterval(() => { left -= 1; if (left > 0) tell(); }, 1000);
  }, (IDLE_SECONDS - WARN_SECONDS) * 1000);
  idleTimer = setTimeout(() => {
    clearInterval(countdown);
    $('idle').hidden = true;
    home();
  }, IDLE_SECONDS * 1000);
}

// --- start ---------------------------------------------------------------------------------------

async function start() {
  languageButtons();
  apply();
  device = loadDevice(DEVICE_KEY);
  if (!device) {
    $('setup').hidden = false;
    device = await setUpDevice($('setup'), DEVICE_KEY);
    $('setup').hidden = true;
  }
  $('go-checkin').addEventListener('click', () => openForm('checkin'));
  $('go-pickup').addEventListener('click', () => openForm('pickup'));
  $('back').addEventListener('click', home);
  $('done').addEventListener('click', home);
  $('print').addEventListener('click', () => window.print());
  $('kiosk-form').addEventListener('submit', submit);
  $('scan').addEventListener('click', startScanner);
  $('scanner-cancel').addEventListener('click', () => { stopScanner(); $('receipt').focus(); });
  for (const kind of ['pointerdown', 'keydown', 'input']) document.addEventListener(kind, touched, true);
  onLangChange(() => { if (lastTicket && !$('screen-ticket').hidden) showTicket(lastTicket); });
  home();
}

start();
