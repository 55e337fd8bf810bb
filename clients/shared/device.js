// A kiosk or display board is set up once by the office's staff: its office and its device token
// (role kiosk or display, from `make token` or the office's identity provider) are kept in this
// browser's localStorage. Provisioning may also open the page with #office=BLT&token=… (the
// fragment never reaches a server) and the page stores it and clears the address bar.
import { register, t } from './i18n.js';

register({
  id: {
    'device.title': 'Pengaturan perangkat',
    'device.intro': 'Untuk petugas: masukkan kode kantor dan token perangkat ini.',
    'device.office': 'Kode kantor (3 huruf)',
    'device.token': 'Token perangkat',
    'device.save': 'Simpan',
    'device.bad': 'Kode kantor harus 3 huruf dan token wajib diisi.',
    'device.reset': 'Ubah pengaturan perangkat',
  },
  en: {
    'device.title': 'Device set-up',
    'device.intro': 'For staff: enter the office code and this device\'s token.',
    'device.office': 'Office code (3 letters)',
    'device.token': 'Device token',
    'device.save': 'Save',
    'device.bad': 'The office code must be 3 letters and the token is required.',
    'device.reset': 'Change the device set-up',
  },
});

export function loadDevice(key) {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token') && hash.get('office')) {
    const device = { office: hash.get('office').toUpperCase(), token: hash.get('token') };
    localStorage.setItem(key, JSON.stringify(device));
    history.replaceState(null, '', location.pathname + location.search);
    return device;
  }
  try {
    const saved = JSON.parse(localStorage.getItem(key) || 'null');
    return saved && saved.office && saved.token ? saved : null;
  } catch {
    return null;
  }
}

export function forgetDevice(key) {
  localStorage.removeItem(key);
}

/** Show the set-up form in `container`; resolves with the device once saved. */
export function setUpDevice(container, key) {
  return new Promise((resolve) => {
    container.innerHTML = `
      <form class="card device-setup" novalidate>
        <h1>${t('device.title')}</h1>
        <p>${t('device.intro')}</p>
        <label for="device-office">${t('device.office')}</label>
        <input id="device-office" maxlength="3" autocapitalize="characters" autocomplete="off" required>
        <label for="device-token">${t('device.token')}</label>
        <textarea id="device-token" rows="4" autocomplete="off" spellcheck="false" required></textarea>
        <p class="message" role="alert" hidden></p>
        <div class="actions"><button type="submit">${t('device.save')}</button></div>
      </form>`;
    const form = container.querySelector('form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const office = form.querySelector('#device-office').value.trim().toUpperCase();
      const token = form.querySelector('#device-token').value.trim();
      if (!/^[A-Z]{3}$/.test(office) || !token) {
        const msg = form.querySelector('.message');
        msg.textContent = t('device.bad');
        msg.dataset.kind = 'error';
        msg.hidden = false;
        return;
      }
      const device = { office, token };
      localStorage.setItem(key, JSON.stringify(device));
      resolve(device);
    });
  });
}
