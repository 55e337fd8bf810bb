// A live stream of the notifier (server-sent events) that keeps itself open.
// EventSource cannot send an Authorization header, so the page first asks for a short-lived stream
// ticket with its bearer token (POST /v1/streams/tickets) and opens the URL it gets; when the
// browser's own reconnection is refused (the ticket expired) or fails, a new ticket is asked for
// and the stream resumes after the last event received (last_event_id), with a growing pause.
import { api } from './api.js';

/**
 * stream: "officers" or "displays"; kinds: the event names to listen to;
 * onEvent(kind, data); onState("connecting" | "live" | "reconnecting").
 * Returns close().
 */
export function follow({ stream, office, token, kinds, onEvent, onState = () => {} }) {
  let source = null;
  let lastId = null;
  let closed = false;
  let failures = 0;
  let timer = null;

  const retry = () => {
    if (closed) return;
    onState('reconnecting');
    const wait = Math.min(30000, 1000 * 2 ** Math.min(failures, 5));
    failures += 1;
    clearTimeout(timer);
    timer = setTimeout(open, wait);
  };

  async function open() {
    if (closed) return;
    onState(failures ? 'reconnecting' : 'connecting');
    let ticket;
    try {
      ticket = await api('/v1/streams/tickets', { method: 'POST', body: { stream, office }, token });
    } catch (err) {
      if (err.status === 401 || err.status === 403) onState('refused', err);
      retry();
      return;
    }
    let url = ticket.url;
    if (lastId !== null) url += (url.includes('?') ? '&' : '?') + 'last_event_id=' + encodeURIComponent(lastId);
    source?.close();
    source = new EventSource(url);
    source.onopen = () => {
      failures = 0;
      onState('live');
    };
    source.onerror = () => {
      // CONNECTING: the browser retries by itself (with Last-Event-ID). CLOSED: it gave up.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        retry();
      } else {
        onState('reconnecting');
      }
    };
    for (const kind of [...kinds, 'reset']) {
      source.addEventListener(kind, (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        let data = {};
        try { data = JSON.parse(event.data); } catch { /* keep {} */ }
        onEvent(kind, data);
      });
    }
  }

  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
