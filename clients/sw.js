// Service worker of the applicant pages (installable PWA). The pages' own files come from the
// network when it answers and from the cache when it does not, so the booking and status pages
// open on a phone without signal; the API is never cached (a status must be current).
const CACHE = 'sambang-applicant-v1';
const SHELL = [
  '/',
  '/arrival/',
  '/manifest.webmanifest',
  '/icons/icon.svg',
  '/icons/icon-192.png',
  '/shared/base.css',
  '/shared/i18n.js',
  '/shared/api.js',
  '/shared/forms.js',
  '/shared/qr.js',
  '/shared/pdf.js',
  '/shared/vendor/qrcodegen.js',
  '/app/applicant.css',
  '/app/applicant.js',
  '/app/arrival.js',
  '/app/status.js',
  '/app/words.js',
];
const OTHER_CLIENTS = ['/kiosk/', '/display/', '/tablet/', '/v1/', '/internal/', '/simkim/'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (OTHER_CLIENTS.some((p) => url.pathname.startsWith(p))) return; // the network alone
  event.respondWith(
    fetch(event.request)
      .then((resp) => {
        if (resp.ok && SHELL.includes(url.pathname)) {
          const copy = resp.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return resp;
      })
      .catch(() => caches.match(url.pathname).then((hit) => hit || caches.match('/'))),
  );
});
