// The page the e-mailed arrival link opens: /arrival/?receipt=…&token=…
// Confirming needs the token only; the sheet (PDF) and the status need the birth date as well.
import { api, errorText } from '../shared/api.js';
import { birthDateField, busy, say } from '../shared/forms.js';
import { apply, languageButtons, onLangChange, t } from '../shared/i18n.js';
import { lookUp, mountStatus } from './status.js';
import './words.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const receipt = (params.get('receipt') || '').trim().toUpperCase();
const token = params.get('token') || '';

function intro() {
  $('arrival-intro').textContent = receipt ? t('arrival.intro', { receipt }) : '';
}

const birth = birthDateField($('arrival-birth'), { idPrefix: 'arrival-birth' });

$('arrival-confirm').addEventListener('click', () => busy($('arrival-confirm'), async () => {
  try {
    await api(`/v1/applications/${encodeURIComponent(receipt)}/arrival-confirmation`, { method: 'POST', body: { token } });
    say($('arrival-message'), t('arrival.done'), 'ok');
    // Confirmed: the token is not needed again, so keep it out of the address bar and the history.
    history.replaceState(null, '', `${location.pathname}?receipt=${encodeURIComponent(receipt)}`);
    $('arrival-confirm').hidden = true;
    $('arrival-sheet').hidden = false;
    birth.focus();
  } catch (err) {
    say($('arrival-message'), errorText(err), 'error');
  }
}));

$('arrival-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const date = birth.value();
  if (!date) {
    say($('arrival-form-message'), t('birth.invalid'), 'error');
    return;
  }
  busy($('arrival-status'), async () => {
    try {
      const view = await lookUp(receipt, date);
      $('arrival-form').hidden = true;
      mountStatus($('status-view'), view, { receipt, birthDate: date });
    } catch (err) {
      say($('arrival-form-message'), errorText(err), 'error');
    }
  });
});

languageButtons();
onLangChange(intro);
apply();
intro();
if (!receipt || !token) {
  say($('arrival-message'), t('arrival.bad_link'), 'error');
  $('arrival-confirm').hidden = true;
}
