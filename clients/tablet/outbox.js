// Capture steps the tablet has not sent yet, kept in IndexedDB so that a dropped connection loses
// nothing. They are sent one by one, in the order they were taken; every capture call is idempotent
// (the same bytes give the same answer, no second row), so a step whose answer was lost on the way
// back is simply sent again.
//
// What IndexedDB holds is ciphertext (#16): each step's body (photo, fingerprint, signature, the
// interview's words) is sealed with AES-GCM under a key made by WebCrypto with extractable=false and
// held in this page's memory only — never stored, never exportable. The officer's `sub`, the method
// and the path are bound to the ciphertext as additional data, so a record moved to another officer
// no longer opens. A reload (or a closed tab) takes the key with it: its steps can no longer be read
// by anyone, and they are discarded with a message (`discardUnreadable`), never sent.
//
// Each step records the officer who took it (`sub`); a flush sends only the signed-in officer's
// steps, with that officer's token, and keeps the others for when their owner signs in again.
// Headers that must not be kept (the supervisor's approval) live in memory only, beside the key.
// `clearAll` (sign-out) deletes the database, the key and those headers.

const DB = 'sambang-tablet';
const STORE = 'outbox';
const LOCK_PREFIX = 'sambang-tablet-key-';
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
      req.onsuccess = () => {
        const database = req.result;
        // Another tab signing out deletes the database: let it.
        database.onversionchange = () => {
          database.close();
          dbPromise = null;
        };
        resolve(database);
      };
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

// --- the key ---------------------------------------------------------------------------------------

let keyPromise = null; // Promise<{ id, key, release }>
const memoryHeaders = new Map(); // entry id -> headers never written down

/**
 * This page's sealing key: AES-GCM 256, not extractable, in memory only. While the page lives it holds
 * a Web Lock named after the key, so another tab can tell a key still alive from one that is gone.
 */
function sealingKey() {
  if (!keyPromise) {
    keyPromise = (async () => {
      if (!globalThis.crypto?.subtle) throw new Error('no_webcrypto');
      const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      const id = crypto.randomUUID();
      let release = () => {};
      if (navigator.locks) {
        await new Promise((granted) => {
          navigator.locks.request(LOCK_PREFIX + id, () => {
            granted();
            return new Promise((resolve) => { release = resolve; });
          });
        });
      }
      return { id, key, release: () => release() };
    })();
    keyPromise.catch(() => { keyPromise = null; });
  }
  return keyPromise;
}

/** Key ids some living page still holds (every other key is gone, with its page). */
async function livingKeys() {
  if (!navigator.locks) return new Set();
  const { held = [] } = await navigator.locks.query();
  return new Set(held.map((l) => l.name).filter((n) => n?.startsWith(LOCK_PREFIX)).map((n) => n.slice(LOCK_PREFIX.length)));
}

const encoder = new TextEncoder();
const bound = (entry) => encoder.encode(`${entry.sub}\n${entry.method}\n${entry.path}`);

async function seal(entry, body) {
  const { id, key } = await sealingKey();
  const plain = body instanceof Blob ? await body.arrayBuffer() : encoder.encode(body ?? '');
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: bound(entry) }, key, plain);
  return { keyId: id, iv, sealed, bodyKind: body instanceof Blob ? 'blob' : 'text' };
}

/** The body as it was queued, or null when this page cannot open it (another page's key, or a lost one). */
async function open(entry) {
  if (!keyPromise || !entry.sealed) return null;
  const { id, key } = await keyPromise;
  if (entry.keyId !== id) return null;
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: entry.iv, additionalData: bound(entry) }, key, entry.sealed);
    return entry.bodyKind === 'blob' ? new Blob([plain], { type: entry.contentType || '' }) : new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}

// --- the queue -------------------------------------------------------------------------------------

/**
 * Keep a call to send: { sub, receipt, key, method, path, body (Blob or JSON text), contentType,
 * headers }. The body is sealed; `headers` stay in this page's memory only.
 */
export async function enqueue({ body, headers, ...entry }) {
  const sealed = await seal(entry, body);
  const id = await tx('readwrite', (store) => store.add({ ...entry, ...sealed, queuedAt: Date.now() }));
  if (headers && Object.keys(headers).length) memoryHeaders.set(id, headers);
  return id;
}

export async function pending() {
  return tx('readonly', (store) => store.getAll());
}

async function drop(id) {
  memoryHeaders.delete(id);
  return tx('readwrite', (store) => store.delete(id));
}

/**
 * Remove every step no living page can read: sealed under a key that went with its page (a reload, a
 * closed tab) or not sealed at all (an older tablet). Returns the removed entries (no body) so the page
 * can say which steps must be taken again. Call it once when the page loads, before anything is queued.
 */
export async function discardUnreadable() {
  const mine = keyPromise ? (await keyPromise).id : null;
  const alive = await livingKeys();
  const lost = [];
  for (const entry of await pending()) {
    if (entry.sealed && (entry.keyId === mine || alive.has(entry.keyId))) continue;
    await drop(entry.id);
    lost.push({ id: entry.id, sub: entry.sub, receipt: entry.receipt, key: entry.key });
  }
  return lost;
}

let flushing = null;
let epoch = 0; // bumped by clearAll: a flush under way stops

/**
 * Send the signed-in officer's pending steps, oldest first, with that officer's token, until the
 * network fails. Steps of another officer are skipped (kept). For each call answered:
 * onAnswer(entry, { ok, status, data }). A refused call (4xx but 401/408/429) is dropped, because
 * sending it again cannot help; 401 stops (the session ended), 5xx/408/429 and network errors stop
 * and keep the rest for the next try. A step this page cannot open is dropped: onDiscard(entry).
 */
export function flush({ sub, token, lang, onAnswer, onAuth, onDiscard }) {
  if (flushing) return flushing;
  const started = epoch;
  flushing = (async () => {
    const alive = await livingKeys();
    for (const entry of await pending()) {
      if (epoch !== started) return 'cleared';
      if (entry.sub !== sub()) continue; // another officer's: never sent with this token
      const body = await open(entry);
      if (body === null) {
        const mine = keyPromise && (await keyPromise).id === entry.keyId;
        if (!mine && alive.has(entry.keyId)) continue; // another tab's, still open there
        await drop(entry.id);
        onDiscard?.(entry);
        continue;
      }
      const headers = {
        Accept: 'application/json, application/problem+json',
        'Accept-Language': lang(),
        ...(memoryHeaders.get(entry.id) || {}),
      };
      if (entry.contentType) headers['Content-Type'] = entry.contentType;
      headers.Authorization = `Bearer ${token()}`;
      let resp;
      try {
        resp = await fetch(entry.path, { method: entry.method, headers, body, cache: 'no-store' });
      } catch {
        return 'offline';
      }
      const data = (resp.headers.get('content-type') || '').includes('json') ? await resp.json().catch(() => null) : null;
      if (epoch !== started) return 'cleared';
      if (resp.status === 401) {
        onAuth?.();
        return 'unauthorized';
      }
      if (resp.status >= 500 || resp.status === 408 || resp.status === 429) return 'later';
      await drop(entry.id); // its approval, if any, goes with it: sent once, never again
      onAnswer(entry, { ok: resp.ok, status: resp.status, data });
    }
    return 'done';
  })().finally(() => { flushing = null; });
  return flushing;
}

/** Sign-out: the outbox (every officer's steps), the database itself, the key and the kept headers. */
export async function clearAll() {
  epoch += 1;
  memoryHeaders.clear();
  const key = keyPromise;
  keyPromise = null;
  if (key) key.then((k) => k.release()).catch(() => {});
  try {
    await tx('readwrite', (store) => store.clear());
  } catch { /* deleted below all the same */ }
  const database = await dbPromise?.catch(() => null);
  database?.close();
  dbPromise = null;
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = resolve;
    req.onerror = resolve;
    req.onblocked = resolve; // another tab keeps it open: emptied above, deleted when it lets go
  });
}
