import { useEffect, useState } from "preact/hooks";
import { inDomain, session } from "./api.ts";
import { useId } from "./widgets.tsx";

interface FeedEvent {
  seq: number;
  operation: string;
  entity_id: string;
  occurred_at: string;
  payload: Record<string, unknown>;
}

const KEEP = 200;

/** A live tail of the events the service emitted in this domain (GET /{domain}/events, server-sent events). */
export function Events() {
  const [events, setEvents] = useState<FeedEvent[]>([]);
  const [state, setState] = useState("Connecting…");
  const headingId = useId("h");

  useEffect(() => {
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = async () => {
      try {
        const res = await fetch(`${inDomain("events")}?replay=50`, {
          headers: { authorization: `Bearer ${session.token ?? ""}`, accept: "text/event-stream" },
          signal: abort.signal,
        });
        if (!res.ok || !res.body) {
          const body = await res.json().catch(() => ({}));
          throw new Error(body.message ?? `HTTP ${res.status}`);
        }
        setState("Live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = frame
              .split("\n")
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).trimStart())
              .join("\n");
            if (!data) continue;
            const ev = JSON.parse(data) as FeedEvent;
            setEvents((list) => [ev, ...list.filter((e) => e.seq !== ev.seq)].slice(0, KEEP));
          }
        }
        throw new Error("the stream ended");
      } catch (err) {
        if (abort.signal.aborted) return;
        setState(`Disconnected (${err instanceof Error ? err.message : String(err)}); retrying…`);
        retry = setTimeout(connect, 2000);
      }
    };
    void connect();
    return () => {
      abort.abort();
      clearTimeout(retry);
    };
  }, []);

  return (
    <section aria-labelledby={headingId}>
      <div class="title">
        <h1 id={headingId}>Events</h1>
        <div class="actions">
          <span role="status" class="live">
            {state}
          </span>
          <button type="button" onClick={() => setEvents([])}>
            Clear
          </button>
        </div>
      </div>
      <p class="hint">The latest changes in this domain, newest first, as the service emits them to the event broker.</p>
      <table aria-label="Latest events">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Operation</th>
            <th scope="col">Entity</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.seq}>
              <td>{e.occurred_at.replace("T", " ").replace(/\.\d+Z$|Z$/, "")}</td>
              <td>{e.operation}</td>
              <td>
                <code>{e.entity_id}</code>
              </td>
              <td class="details">
                <code>{summary(e.payload)}</code>
              </td>
            </tr>
          ))}
          {events.length === 0 ? (
            <tr>
              <td colSpan={4}>No events yet: changes made now show up here.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}

const SESSION_KEYS = new Set(["operation", "domain", "user_id", "token_type", "super_admin", "request_id", "occurred_at"]);
function summary(payload: Record<string, unknown>): string {
  const rest = Object.fromEntries(Object.entries(payload).filter(([k]) => !SESSION_KEYS.has(k)));
  const s = JSON.stringify(rest);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}
