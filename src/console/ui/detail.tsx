import { useEffect, useState } from "preact/hooks";
import { api, inDomain } from "./api.ts";
import { Connections } from "./connections.tsx";
import { parseMetadata, splitTags } from "./csv.ts";
import { displayName, type Entity, type Kind } from "./kinds.tsx";
import { Roles } from "./roles.tsx";
import { Confirm, ErrorText, Field, formatTime, randomSecret, SecretOnce, TextArea, useAction, useId } from "./widgets.tsx";

/** One client or channel: view, edit name/tags/metadata, rotate secret, enable/disable, delete; its connections and roles. */
export function EntityDetail({ kind, id }: { kind: Kind; id: string }) {
  const [entity, setEntity] = useState<Entity | null>(null);
  const [name, setName] = useState("");
  const [tags, setTags] = useState("");
  const [metadata, setMetadata] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [saved, setSaved] = useState(false);
  const load = useAction();
  const save = useAction();
  const rotate = useAction();
  const status = useAction();
  const errIds = { save: useId("err"), rotate: useId("err"), status: useId("err") };
  const headingId = useId("h");

  const show = (e: Entity) => {
    setEntity(e);
    setName(e.name ?? "");
    setTags((e.tags ?? []).join(", "));
    setMetadata(e.metadata && Object.keys(e.metadata).length > 0 ? JSON.stringify(e.metadata, null, 2) : "");
  };
  useEffect(() => {
    setSecret(null);
    void load.run(async () => show(await api("GET", inDomain(kind.plural, id))));
  }, [kind, id]);

  if (!entity)
    return (
      <section>
        <p>
          <a href={`#/${kind.plural}`}>← {kind.title}</a>
        </p>
        <ErrorText id="load-error" error={load.error} />
        {load.error ? null : <p>Loading…</p>}
      </section>
    );

  const enabled = entity.status === "enabled";
  return (
    <section aria-labelledby={headingId}>
      <p>
        <a href={`#/${kind.plural}`}>← {kind.title}</a>
      </p>
      <div class="title">
        <h1 id={headingId}>
          {kind.singular} {displayName(entity)}
        </h1>
        <span class={`badge ${entity.status}`}>{entity.status}</span>
      </div>
      <dl class="facts" aria-label={`Details of ${displayName(entity)}`}>
        <dt>Id</dt>
        <dd>
          <code>{entity.id}</code>
        </dd>
        {kind.kind === "client" ? (
          <>
            <dt>Identity</dt>
            <dd>{entity.credentials?.identity || "—"}</dd>
          </>
        ) : (
          <>
            <dt>Route</dt>
            <dd>{entity.route || "—"}</dd>
          </>
        )}
        <dt>Tags</dt>
        <dd>{(entity.tags ?? []).join(", ") || "—"}</dd>
        <dt>Created</dt>
        <dd>{formatTime(entity.created_at)}</dd>
        <dt>Updated</dt>
        <dd>{formatTime(entity.updated_at)}</dd>
      </dl>

      <div class="actions">
        {kind.kind === "client" ? (
          <button
            type="button"
            disabled={rotate.busy}
            aria-describedby={rotate.error ? errIds.rotate : undefined}
            onClick={() =>
              void rotate.run(async () => {
                const s = randomSecret();
                show(await api("PATCH", inDomain(kind.plural, id, "secret"), { secret: s }));
                setSecret(s);
              })
            }
          >
            Rotate secret
          </button>
        ) : null}
        <button
          type="button"
          disabled={status.busy}
          aria-describedby={status.error ? errIds.status : undefined}
          onClick={() => void status.run(async () => show(await api("POST", inDomain(kind.plural, id, enabled ? "disable" : "enable"))))}
        >
          {enabled ? "Disable" : "Enable"}
        </button>
        <button type="button" class="danger" onClick={() => setConfirm(true)}>
          Delete
        </button>
      </div>
      <ErrorText id={errIds.rotate} error={rotate.error} />
      <ErrorText id={errIds.status} error={status.error} />
      {secret ? <SecretOnce label="New secret" secret={secret} /> : null}
      {confirm ? (
        <Confirm
          title={`Delete ${kind.kind} ${displayName(entity)}?`}
          action={`Delete ${kind.kind}`}
          onCancel={() => setConfirm(false)}
          onDone={async () => {
            await api("DELETE", inDomain(kind.plural, id));
            location.hash = `#/${kind.plural}`;
          }}
        />
      ) : null}

      <form
        class="panel"
        aria-label={`Edit ${displayName(entity)}`}
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          void save.run(async () => {
            const meta = parseMetadata(metadata, "metadata") ?? {};
            await api("PATCH", inDomain(kind.plural, id), { name, metadata: meta });
            show(await api("PATCH", inDomain(kind.plural, id, "tags"), { tags: splitTags(tags) }));
            setSaved(true);
          });
        }}
      >
        <h2>Edit</h2>
        <Field label="Name" value={name} onInput={setName} />
        <Field label="Tags" hint="Comma-separated." value={tags} onInput={setTags} />
        <TextArea label="Metadata" rows={4} hint="A JSON object." value={metadata} onInput={setMetadata} />
        <div class="actions">
          <button type="submit" class="primary" disabled={save.busy} aria-describedby={save.error ? errIds.save : undefined}>
            Save changes
          </button>
          {saved && !save.error ? <span role="status">Saved.</span> : null}
        </div>
        <ErrorText id={errIds.save} error={save.error} />
      </form>
      <Connections kind={kind} entity={entity} />
      <Roles kind={kind} entity={entity} />
    </section>
  );
}
