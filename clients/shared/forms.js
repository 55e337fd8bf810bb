// Form pieces every page uses: the birth date as three plain fields, messages, busy buttons.
import { t } from './i18n.js';

let counter = 0;

/** A fieldset with day, month (by name) and year; .value() is "YYYY-MM-DD" or null. */
export function birthDateField(container, { idPrefix } = {}) {
  const id = idPrefix || `bd${++counter}`;
  container.innerHTML = `
    <fieldset class="birth">
      <legend data-i18n="birth.legend"></legend>
      <div class="birth-parts">
        <label for="${id}-d"><span data-i18n="birth.day"></span>
          <input id="${id}-d" name="day" inputmode="numeric" pattern="[0-9]*" maxlength="2" autocomplete="bday-day" required></label>
        <label for="${id}-m"><span data-i18n="birth.month"></span>
          <select id="${id}-m" name="month" autocomplete="bday-month" required>
            <option value="" data-i18n="birth.choose"></option>
            ${Array.from({ length: 12 }, (_, i) => `<option value="${i + 1}" data-i18n="month.${i + 1}"></option>`).join('')}
          </select></label>
        <label for="${id}-y"><span data-i18n="birth.year"></span>
          <input id="${id}-y" name="year" inputmode="numeric" pattern="[0-9]*" maxlength="4" autocomplete="bday-year" required></label>
      </div>
    </fieldset>`;
  const [d, m, y] = ['d', 'm', 'y'].map((p) => container.querySelector(`#${id}-${p}`));
  return {
    value() {
      const day = Number(d.value);
      const month = Number(m.value);
      const year = Number(y.value);
      if (!day || !month || !year || year < 1900) return null;
      const date = new Date(Date.UTC(year, month - 1, day));
      if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
      return date.toISOString().slice(0, 10);
    },
    set(iso) {
      const [yy, mm, dd] = iso.split('-');
      y.value = yy;
      m.value = String(Number(mm));
      d.value = String(Number(dd));
    },
    clear() {
      d.value = '';
      m.value = '';
      y.value = '';
    },
    focus() {
      d.focus();
    },
  };
}

/** Show a message in a status or alert region (role set in the page). kind: "error" | "ok" | "info". */
export function say(region, text, kind = 'info') {
  region.textContent = text;
  region.dataset.kind = kind;
  region.hidden = !text;
}

/** Run fn with the button disabled and marked busy. */
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export { t };
