import { useEffect, useRef, useState } from "preact/hooks";
import { api, inDomain, query } from "./api.ts";
import { ConnectionTypeSelect, typesOf } from "./connections.tsx";
import { csvRecords, toCsv } from "./csv.ts";
import { displayName, type Entity, type Kind } from "./kinds.tsx";
import { DoneRow, download, ErrorText, Field, Modal, SecretOnce, Select, SubmitRow, TextArea, useAction, useId } from "./widgets.tsx";

interface Page {
  total: number;
  /** Where the shown rows start (the pager says what is on screen, not what is being loaded). */
  offset: number;
  items: Entity[];
}

type Order = "name" | "created_at" | "updated_at";

/** The list of clients or channels: search, sort, page, select; create one or many. */
export function EntityList({ kind }: { kind: Kind }) {
  const [name, setName] = useState("");
  const [tags, setTags] = useState("");
  const [status, setStatus] = useState("enabled");
  const [filter, setFilter] = useState({ name: "", tags: "", status: "enabled" });
  const [order, setOrder] = useState<Order>("updated_at");
  const [dir, setDir] = useState<"asc" | "desc">("desc");
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(10);
  const [page, setPage] = useState<Page | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<"create" | "bulk" | "connect" | null>(null);
  const [reload, setReload] = useState(0);
  const list = useAction();
  const headingId = useId("h");
  const errId = useId("err");

  // Answers can arrive out of order (search, then sort at once): only the latest request's is shown.
  const latest = useRef(0);
  useEffect(() => {
    const ticket = ++latest.current;
    void list.run(async () => {
      const q = query({ limit, offset, order, dir, name: filter.name, tags: filter.tags, status: filter.status });
      const body = await api("GET", inDomain(kind.plural) + q);
      const items: Entity[] = body[kind.plural] ?? [];
      const shown = kind.enrich ? await kind.enrich(items) : items;
      if (ticket === latest.current) setPage({ total: body.total, offset, items: shown });
    });
  }, [kind, filter, order, dir, offset, limit, reload]);

  const refresh = () => setReload((n) => n + 1);
  const sortBy = (o: Order) => {
    if (order === o) setDir(dir === "asc" ? "desc" : "asc");
    else {
      setOrder(o);
      setDir(o === "name" ? "asc" : "desc");
    }
    setOffset(0);
  };
  const ariaSort = (o?: Order) => (o && order === o ? (dir === "asc" ? "ascending" : "descending") : undefined);
  const items = page?.items ?? [];
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const allOnPage = items.length > 0 && items.every((e) => selected.has(e.id));
  const sortHeader = (label: string, o?: Order) =>
    o ? (
      <th aria-sort={ariaSort(o)} scope="col">
        <button type="button" class="sort" onClick={() => sortBy(o)}>
          {label}
          <span aria-hidden="true">{order === o ? (dir === "asc" ? " ▲" : " ▼") : ""}</span>
        </button>
      </th>
    ) : (
      <th scope="col">{label}</th>
    );

  return (
    <section aria-labelledby={headingId}>
      <div class="title">
        <h1 id={headingId}>{kind.title}</h1>
        <div class="actions">
          <button type="button" class="primary" onClick={() => setDialog("create")}>
            New {kind.kind}
          </button>
          <button type="button" onClick={() => setDialog("bulk")}>
            Bulk create
          </button>
          {kind.kind === "client" ? (
            <button type="button" disabled={selected.size === 0} onClick={() => setDialog("connect")}>
              Connect selected ({selected.size})
            </button>
          ) : null}
        </div>
      </div>
      <search>
        <form
          aria-label={`Search ${kind.plural}`}
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            setOffset(0);
            setFilter({ name: name.trim(), tags: tags.trim(), status });
          }}
        >
          <Field label="Name" value={name} onInput={setName} placeholder="part of the name" />
          <Field label="Tags" value={tags} onInput={setTags} placeholder="a,b any · a+b all" />
          <Select
            label="Status"
            value={status}
            onChange={setStatus}
            options={[
              ["enabled", "Enabled"],
              ["disabled", "Disabled"],
              ["all", "All"],
            ]}
          />
          <button type="submit" aria-describedby={list.error ? errId : undefined}>
            Search
          </button>
        </form>
      </search>
      <ErrorText id={errId} error={list.error} />
      <table aria-label={kind.title} aria-busy={list.busy}>
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label={`Select all ${kind.plural} on this page`}
                checked={allOnPage}
                onChange={() => setSelected(allOnPage ? new Set() : new Set([...selected, ...items.map((e) => e.id)]))}
              />
            </th>
            {sortHeader("Name", "name")}
            {kind.columns.map((c) => sortHeader(c.label, c.sort))}
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td>
                <input type="checkbox" aria-label={`Select ${displayName(e)}`} checked={selected.has(e.id)} onChange={() => toggle(e.id)} />
              </td>
              <td>
                <a href={`#/${kind.plural}/${encodeURIComponent(e.id)}`}>{displayName(e)}</a>
              </td>
              {kind.columns.map((c) => (
                <td key={c.label}>{c.cell(e)}</td>
              ))}
            </tr>
          ))}
          {page && items.length === 0 ? (
            <tr>
              <td colSpan={kind.columns.length + 2}>No {kind.plural} match.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <nav aria-label={`Pages of ${kind.plural}`} class="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - limit))}>
          Previous page
        </button>
        <span role="status">{page ? (page.total === 0 ? "0 of 0" : `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}`) : "…"}</span>
        <button type="button" disabled={!page || offset + limit >= page.total} onClick={() => setOffset(offset + limit)}>
          Next page
        </button>
        <Select
          label="Page size"
          value={String(limit)}
          onChange={(v) => {
            setLimit(Number(v));
            setOffset(0);
          }}
          options={["10", "25", "50", "100"].map((n) => [n, n])}
        />
      </nav>
      {dialog === "create" ? <CreateDialog kind={kind} onClose={() => setDialog(null)} onCreated={refresh} /> : null}
      {dialog === "bulk" ? <BulkDialog kind={kind} onClose={() => setDialog(null)} onCreated={refresh} /> : null}
      {dialog === "connect" ? (
        <ConnectSelectedDialog
          clientIds={[...selected]}
          onClose={() => setDialog(null)}
          onDone={() => {
            setSelected(new Set());
            setDialog(null);
          }}
        />
      ) : null}
    </section>
  );
}

function CreateDialog({ kind, onClose, onCreated }: { kind: Kind; onClose: () => void; onCreated: () => void }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<Entity | null>(null);
  const { error, busy, run } = useAction();
  const set = (k: string) => (v: string) => setValues({ ...values, [k]: v });
  return (
    <Modal title={`New ${kind.kind}`} onClose={onClose}>
      {created ? (
        <div>
          <p role="status">
            Created {kind.kind} <a href={`#/${kind.plural}/${encodeURIComponent(created.id)}`}>{displayName(created)}</a>.
          </p>
          {created.credentials?.secret ? <SecretOnce label="Secret" secret={created.credentials.secret} /> : null}
          <DoneRow onDone={onClose} />
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const body = kind.createBody(values, "form");
              setCreated(await api("POST", inDomain(kind.plural), body));
              onCreated();
            });
          }}
        >
          <Field label="Name" value={values.name ?? ""} onInput={set("name")} autofocus />
          {kind.fields.map((f) => (
            <Field key={f.key} label={f.label} hint={f.hint} value={values[f.key] ?? ""} onInput={set(f.key)} />
          ))}
          <Field label="Tags" hint="Comma-separated." value={values.tags ?? ""} onInput={set("tags")} />
          <TextArea label="Metadata" hint='A JSON object, e.g. {"room": "a1"}.' value={values.metadata ?? ""} onInput={set("metadata")} />
          <SubmitRow label={`Create ${kind.kind}`} busy={busy} error={error} onCancel={onClose} />
        </form>
      )}
    </Modal>
  );
}

function BulkDialog({ kind, onClose, onCreated }: { kind: Kind; onClose: () => void; onCreated: () => void }) {
  const [csv, setCsv] = useState("");
  const [created, setCreated] = useState<Entity[] | null>(null);
  const { error, busy, run } = useAction();
  const fileId = useId("file");
  const header = kind.csvColumns.join(",");
  const secrets = kind.kind === "client";
  return (
    <Modal title={`Bulk create ${kind.plural}`} onClose={onClose}>
      {created ? (
        <div>
          <p role="status">
            Created {created.length} {kind.plural}.{secrets ? " Their secrets are shown only now." : ""}
          </p>
          <table aria-label={`Created ${kind.plural}`}>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">{secrets ? "Identity" : "Route"}</th>
                <th scope="col">Id</th>
                {secrets ? <th scope="col">Secret</th> : null}
              </tr>
            </thead>
            <tbody>
              {created.map((e) => (
                <tr key={e.id}>
                  <td>{e.name ?? ""}</td>
                  <td>{secrets ? (e.credentials?.identity ?? "") : (e.route ?? "")}</td>
                  <td>
                    <code>{e.id}</code>
                  </td>
                  {secrets ? (
                    <td>
                      <code>{e.credentials?.secret ?? ""}</code>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          <DoneRow onDone={onClose}>
            {secrets ? (
              <button
                type="button"
                onClick={() =>
                  download(
                    "client-secrets.csv",
                    toCsv([
                      ["id", "name", "identity", "secret"],
                      ...created.map((e) => [e.id, e.name ?? "", e.credentials?.identity ?? "", e.credentials?.secret ?? ""]),
                    ]),
                  )
                }
              >
                Download secrets (CSV)
              </button>
            ) : null}
          </DoneRow>
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const bodies = csvRecords(csv, kind.csvColumns).map((r, i) => kind.createBody(r, `line ${i + 1}`));
              const res = await api("POST", inDomain(kind.plural, "bulk"), bodies);
              setCreated(res[kind.plural] ?? []);
              onCreated();
            });
          }}
        >
          <TextArea
            label="CSV"
            rows={8}
            value={csv}
            onInput={setCsv}
            hint={`One ${kind.kind} a line: ${header} (header line optional; tags separated by ;, metadata a JSON object).`}
          />
          <div class="field">
            <label for={fileId}>CSV file</label>
            <input
              id={fileId}
              type="file"
              accept=".csv,text/csv,text/plain"
              onChange={(e) => {
                const f = e.currentTarget.files?.[0];
                if (f) void f.text().then(setCsv);
              }}
            />
          </div>
          <SubmitRow label="Create all" busy={busy} error={error} onCancel={onClose} />
        </form>
      )}
    </Modal>
  );
}

/** Connect the clients selected in the list to one channel. */
function ConnectSelectedDialog({ clientIds, onClose, onDone }: { clientIds: string[]; onClose: () => void; onDone: () => void }) {
  const [channels, setChannels] = useState<Entity[]>([]);
  const [channel, setChannel] = useState("");
  const [types, setTypes] = useState("publish");
  const [done, setDone] = useState(false);
  const load = useAction();
  const { error, busy, run } = useAction();
  const errId = useId("err");
  useEffect(() => {
    void load.run(async () => {
      const res = await api("GET", inDomain("channels") + query({ limit: 100, order: "name", dir: "asc" }));
      const list: Entity[] = res.channels ?? [];
      setChannels(list);
      if (list[0]) setChannel(list[0].id);
    });
  }, []);
  return (
    <Modal title={`Connect ${clientIds.length} clients to a channel`} onClose={onClose}>
      {done ? (
        <div>
          <p role="status">Connected.</p>
          <DoneRow onDone={onDone} />
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await api("POST", inDomain("channels", "connect"), { channel_ids: [channel], client_ids: clientIds, types: typesOf(types) });
              setDone(true);
            });
          }}
        >
          <ErrorText id={`${errId}-load`} error={load.error} />
          <Select
            label="Channel"
            value={channel}
            onChange={setChannel}
            options={channels.map((c) => [c.id, c.route ? `${displayName(c)} (${c.route})` : displayName(c)])}
          />
          <ConnectionTypeSelect value={types} onChange={setTypes} />
          <SubmitRow label="Connect" busy={busy || !channel} error={error} onCancel={onClose} />
        </form>
      )}
    </Modal>
  );
}
