// Capture steps the tablet has not sent yet, kept in IndexedDB so that neither a dropped connection
// nor a closed tab loses them. They are sent one by one, in the order they were taken; every capture
// call is idempotent (the same bytes give the same answer, no second row), so a step whose answer was
// lost on the way back is simply sent again.

const DB = 'sambang-tablet';
const STORE = 'outbox';
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

/** One request in its own transaction; resolves with its result once the transaction committed. */
async function tx(mode, fn) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const t = database.transaction(STORE, mode);
    const request = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(request.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

/** Keep a call to send: { receipt, step, method, path, body (Blob or JSON text), contentType, headers }. */
export async function enqueue(entry) {
  return tx('readwrite', (store) => store.add({ ...entry, queuedAt: Date.now() }));
}

export async function pending() {
  return tx('readonly', (store) => store.getAll());
}

async function drop(id) {
  return tx('readwrite', (store) => store.delete(id));
}

let flushing = null;

/**
 * Send what is pending, oldest first, until the network fails. For each call answered:
 * onAnswer(entry, { ok, status, data }). A refused call (4xx but 401/408/429) is dropped, because
 * sending it again cannot help; 401 stops (sign in again), 5xx/408/429 and network errors stop and
 * keep the rest for the next try.
 */
export function flush({ token, lang, onAnswer, onAuth }) {
  if (flushing) return flushing;
  flushing = (async () => {
    for (const entry of await pending()) {
      const headers = { Accept: 'application/json, application/problem+json', 'Accept-Language': lang(), ...entry.headers };
      if (entry.contentType) headers['Content-Type'] = entry.contentType;
      headers.Authorization = `Bearer ${token()}`;
      let resp;
      try {
        resp = await fetch(entry.path, { method: entry.method, headers, body: entry.body, cache: 'no-store' });
      } catch {
        return 'offline';
      }
      const data = (resp.headers.get('content-type') || '').includes('json') ? await resp.json().catch(() => null) : null;
      if (resp.status === 401) {
        onAuth?.();
        return 'unauthorized';
      }
      if (resp.status >= 500 || resp.status === 408 || resp.status === 429) return 'later';
      await drop(entry.id);
      onAnswer(entry, { ok: resp.ok, status: resp.status, data });
    }
    return 'done';
  })().finally(() => { flushing = null; });
  return flushing;
}
