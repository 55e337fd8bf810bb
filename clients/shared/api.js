// The public REST API of API.md, same origin. Errors are RFC 9457 problems whose `detail` the
// service writes in the language asked for (Accept-Language), so pages show it as it comes.
import { lang, t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || (status === 0 ? 'network' : 'http_' + status);
    this.problem = problem;
    this.retryAfter = retryAfter ? Number(retryAfter) : null;
  }

  /** What to tell a person: the service's own words, or ours when there are none. */
  get message_() {
    if (this.status === 0) return t('network');
    if (this.status === 429) return this.problem.detail || t('busy');
    return this.problem.detail || t('error.generic');
  }
}

/** The words to show for any error a call raised. */
export function errorText(err) {
  return err instanceof ApiError ? err.message_ : t('error.generic');
}

/**
 * One call. `body` is sent as JSON unless it is a Blob (then as it is, with its own type).
 * A dropped connection raises ApiError with status 0 (code "network").
 */
export async function api(path, { method = 'GET', body, token, headers = {}, signal } = {}) {
  const sent = { Accept: 'application/json, application/problem+json', 'Accept-Language': lang(), ...headers };
  let payload;
  if (body instanceof Blob) {
    payload = body;
    if (!sent['Content-Type'] && body.type) sent['Content-Type'] = body.type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    sent['Content-Type'] = 'application/json';
  }
  if (token) sent.Authorization = `Bearer ${token}`;
  let resp;
  try {
    resp = await fetch(path, { method, headers: sent, body: payload, signal, cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, { code: 'network' });
  }
  if (resp.status === 204) return null;
  const type = resp.headers.get('content-type') || '';
  const data = type.includes('json') ? await resp.json().catch(() => null) : null;
  if (!resp.ok) throw new ApiError(resp.status, data || {}, resp.headers.get('retry-after'));
  return data;
}

/** Call fn every `seconds` while the page is visible, politely: never two at once, a pause while
 *  hidden, the server's Retry-After honoured and a longer wait after errors. Returns stop(). */
export function poll(fn, seconds) {
  let timer = null;
  let stopped = false;
  let failures = 0;
  const schedule = (wait) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(run, wait * 1000);
  };
  async function run() {
    if (stopped) return;
    if (document.hidden) return; // resumed by visibilitychange
    let wait = seconds;
    try {
      await fn();
      failures = 0;
    } catch (err) {
      failures += 1;
      wait = err instanceof ApiError && err.retryAfter ? err.retryAfter : Math.min(60, seconds * 2 ** failures);
    }
    schedule(wait);
  }
  const onVisible = () => { if (!document.hidden) schedule(0); };
  document.addEventListener('visibilitychange', onVisible);
  schedule(seconds);
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}
