// Two languages on every page: Bahasa Indonesia (the default) and English.
// Strings live beside each page (register()); elements carry data-i18n="key" for their text and
// data-i18n-attr="attribute:key; attribute:key" for attributes such as aria-label or placeholder.

const KEY = 'sambang.lang';
export const LANGUAGES = ['id', 'en'];
const strings = { id: {}, en: {} };
const listeners = [];
let current = 'id';
try {
  const saved = localStorage.getItem(KEY);
  if (LANGUAGES.includes(saved)) current = saved;
} catch { /* storage may be off: Indonesian then */ }

export function register(table) {
  for (const lang of LANGUAGES) Object.assign(strings[lang], table[lang] || {});
}

export function lang() {
  return current;
}

/** The string of a key in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  let text = strings[current][key] ?? strings.id[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

export function setLang(next, { remember = true } = {}) {
  if (!LANGUAGES.includes(next)) return;
  current = next;
  if (remember) {
    try { localStorage.setItem(KEY, next); } catch { /* not remembered */ }
  }
  apply();
  for (const fn of listeners) fn(next);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

/** Translate every marked element under root. */
export function apply(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  for (const btn of document.querySelectorAll('[data-lang]')) {
    btn.setAttribute('aria-pressed', String(btn.dataset.lang === current));
  }
}

/** Wire the language buttons (<button data-lang="id">) already in the page. */
export function languageButtons() {
  for (const btn of document.querySelectorAll('[data-lang]')) {
    btn.addEventListener('click', () => setLang(btn.dataset.lang));
  }
}

register({
  id: {
    'lang.label': 'Bahasa',
    'network': 'Tidak ada sambungan. Periksa internet Anda lalu coba lagi.',
    'busy': 'Terlalu banyak permintaan. Tunggu sebentar lalu coba lagi.',
    'error.generic': 'Terjadi kesalahan. Silakan coba lagi.',
    'month.1': 'Januari', 'month.2': 'Februari', 'month.3': 'Maret', 'month.4': 'April',
    'month.5': 'Mei', 'month.6': 'Juni', 'month.7': 'Juli', 'month.8': 'Agustus',
    'month.9': 'September', 'month.10': 'Oktober', 'month.11': 'November', 'month.12': 'Desember',
    'birth.legend': 'Tanggal lahir',
    'birth.day': 'Tanggal',
    'birth.month': 'Bulan',
    'birth.year': 'Tahun',
    'birth.choose': 'Pilih bulan',
    'birth.invalid': 'Tanggal lahir belum lengkap atau tidak benar.',
    'today': 'hari ini',
    'tomorrow': 'besok',
    'day_after': 'lusa',
    'wait.label': 'Perkiraan waktu tunggu',
    'wait.about': 'sekitar {low}–{high} menit',
    'wait.about.one': 'sekitar {n} menit',
    'wait.under': 'kurang dari {n} menit',
  },
  en: {
    'lang.label': 'Language',
    'network': 'No connection. Check your internet and try again.',
    'busy': 'Too many requests. Please wait a moment and try again.',
    'error.generic': 'Something went wrong. Please try again.',
    'month.1': 'January', 'month.2': 'February', 'month.3': 'March', 'month.4': 'April',
    'month.5': 'May', 'month.6': 'June', 'month.7': 'July', 'month.8': 'August',
    'month.9': 'September', 'month.10': 'October', 'month.11': 'November', 'month.12': 'December',
    'birth.legend': 'Date of birth',
    'birth.day': 'Day',
    'birth.month': 'Month',
    'birth.year': 'Year',
    'birth.choose': 'Choose the month',
    'birth.invalid': 'The date of birth is incomplete or not right.',
    'today': 'today',
    'tomorrow': 'tomorrow',
    'day_after': 'the day after tomorrow',
    'wait.label': 'Estimated wait',
    'wait.about': 'about {low}–{high} minutes',
    'wait.about.one': 'about {n} minutes',
    'wait.under': 'less than {n} minutes',
  },
});

const locale = () => (current === 'id' ? 'id-ID' : 'en-GB');

/** "Senin, 3 Maret 2025" from "2025-03-03". */
export function formatDate(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), {
    weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
  }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** "08:00" from "08:00:00". */
export function formatTime(value) {
  return value ? value.slice(0, 5) : '';
}

/** A moment in the office's time zone (Asia/Jakarta unless told). */
export function formatInstant(iso, timeZone = 'Asia/Jakarta') {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale(), {
    day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone,
  }).format(new Date(iso));
}

/** "Rp 350.000" */
export function formatMoney(amount) {
  return new Intl.NumberFormat('id-ID', { style: 'currency', currency: 'IDR', maximumFractionDigits: 0 })
    .format(amount);
}

/** "hari ini", "besok", "lusa" or the date, for a day compared with today in the office's zone. */
export function relativeDay(iso, timeZone = 'Asia/Jakarta') {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date());
  const days = Math.round((Date.parse(iso.slice(0, 10)) - Date.parse(today)) / 86400000);
  if (days === 0) return t('today');
  if (days === 1) return t('tomorrow');
  if (days === 2) return t('day_after');
  return formatDate(iso);
}

/** The queue's estimated wait ({low_minutes, high_minutes}) in words: "sekitar 20–30 menit";
 *  "kurang dari 5 menit" when it is within 5 minutes (the queue then says 0–5), "kurang dari 10
 *  menit" for 0–10; '' when there is none (too few tickets served today to estimate honestly), and
 *  then nothing is shown at all. */
export function formatWait(estimate) {
  if (!estimate || !Number.isFinite(estimate.high_minutes)) return '';
  const high = Math.max(0, Math.round(estimate.high_minutes));
  const low = Math.min(high, Math.max(0, Math.round(estimate.low_minutes ?? high)));
  if (high <= 5) return t('wait.under', { n: 5 });
  if (low === 0) return t('wait.under', { n: high });
  if (low === high) return t('wait.about.one', { n: high });
  return t('wait.about', { low, high });
}

/** "Perkiraan waktu tunggu: sekitar 20–30 menit", or '' when there is no estimate. */
export function waitSentence(estimate) {
  const words = formatWait(estimate);
  return words ? `${t('wait.label')}: ${words}` : '';
}
