import { useEffect, useState } from "preact/hooks";
import { api, inDomain, query } from "./api.ts";
import { displayName, type Entity, type Kind } from "./kinds.tsx";
import { ErrorText, Select, useAction, useId } from "./widgets.tsx";

export const typesOf = (v: string) => (v === "both" ? ["publish", "subscribe"] : [v]);

export function ConnectionTypeSelect({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <Select
      label="Connection type"
      value={value}
      onChange={onChange}
      options={[
        ["publish", "Publish"],
        ["subscribe", "Subscribe"],
        ["both", "Publish and subscribe"],
      ]}
    />
  );
}

/**
 * The other side of an entity's connections: a client's channels or a channel's clients, each
 * with its connection types and a Disconnect button, and a form to connect one more.
 */
export function Connections({ kind, entity }: { kind: Kind; entity: Entity }) {
  const isClient = kind.kind === "client";
  const other = isClient ? "channels" : "clients";
  const [rows, setRows] = useState<Entity[]>([]);
  const [candidates, setCandidates] = useState<Entity[]>([]);
  const [pick, setPick] = useState("");
  const [types, setTypes] = useState("publish");
  const [reload, setReload] = useState(0);
  const list = useAction();
  const connect = useAction();
  const disconnect = useAction();
  const headingId = useId("h");
  const errId = useId("err");
  const title = isClient ? `Channels of ${displayName(entity)}` : `Clients of ${displayName(entity)}`;

  useEffect(() => {
    void list.run(async () => {
      const q = query({ limit: 100, [kind.kind]: entity.id, order: "name", dir: "asc" });
      const res = await api("GET", inDomain(other) + q);
      setRows(res[other] ?? []);
      const all = await api("GET", inDomain(other) + query({ limit: 100, order: "name", dir: "asc" }));
      const list: Entity[] = all[other] ?? [];
      setCandidates(list);
      if (!list.some((c) => c.id === pick)) setPick(list[0]?.id ?? "");
    });
  }, [entity.id, reload]);

  const pair = (otherId: string) => (isClient ? { channel_ids: [otherId], client_ids: [entity.id] } : { channel_ids: [entity.id], client_ids: [otherId] });

  return (
    <section aria-labelledby={headingId} class="panel">
      <h2 id={headingId}>Connections</h2>
      <ErrorText id={`${errId}-list`} error={list.error} />
      <table aria-label={title}>
        <thead>
          <tr>
            <th scope="col">{isClient ? "Channel" : "Client"}</th>
            <th scope="col">{isClient ? "Route" : "Identity"}</th>
            <th scope="col">Connection types</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>
                <a href={`#/${other}/${encodeURIComponent(r.id)}`}>{displayName(r)}</a>
              </td>
              <td>{isClient ? (r.route ?? "") : (r.credentials?.identity ?? "")}</td>
              <td>{(r.connection_types ?? []).join(", ")}</td>
              <td>
                <button
                  type="button"
                  aria-label={`Disconnect ${displayName(r)}`}
                  onClick={() =>
                    void disconnect.run(async () => {
                      const t = (r.connection_types ?? []).map((x) => x.toLowerCase());
                      await api("POST", inDomain("channels", "disconnect"), { ...pair(r.id), types: t.length ? t : ["publish", "subscribe"] });
                      setReload((n) => n + 1);
                    })
                  }
                >
                  Disconnect
                </button>
              </td>
            </tr>
          ))}
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4}>Not connected to any {isClient ? "channel" : "client"}.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <ErrorText id={`${errId}-dis`} error={disconnect.error} />
      <form
        class="inline"
        aria-label={isClient ? "Connect to a channel" : "Connect a client"}
        onSubmit={(e) => {
          e.preventDefault();
          void connect.run(async () => {
            await api("POST", inDomain("channels", "connect"), { ...pair(pick), types: typesOf(types) });
            setReload((n) => n + 1);
          });
        }}
      >
        <Select
          label={isClient ? "Channel" : "Client"}
          value={pick}
          onChange={setPick}
          options={candidates.map((c) => [c.id, c.route ? `${displayName(c)} (${c.route})` : displayName(c)])}
        />
        <ConnectionTypeSelect value={types} onChange={setTypes} />
        <button type="submit" disabled={connect.busy || !pick} aria-describedby={connect.error ? errId : undefined}>
          Connect
        </button>
        <ErrorText id={errId} error={connect.error} />
      </form>
    </section>
  );
}
