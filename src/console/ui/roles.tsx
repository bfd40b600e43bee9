import { useEffect, useState } from "preact/hooks";
import { api, inDomain, query } from "./api.ts";
import { displayName, type Entity, type Kind } from "./kinds.tsx";
import { Confirm, ErrorText, Field, Select, useAction, useId } from "./widgets.tsx";

interface Role {
  id: string;
  name: string;
  actions: string[];
  members: string[];
}

/** The roles of one client or channel: list, create with actions, add/remove actions and members. */
export function Roles({ kind, entity }: { kind: Kind; entity: Entity }) {
  const base = (...p: string[]) => inDomain(kind.plural, entity.id, "roles", ...p);
  const [roles, setRoles] = useState<Role[]>([]);
  const [available, setAvailable] = useState<string[]>([]);
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [reload, setReload] = useState(0);
  const list = useAction();
  const create = useAction();
  const headingId = useId("h");
  const errId = useId("err");
  const refresh = () => setReload((n) => n + 1);

  useEffect(() => {
    void list.run(async () => {
      const [acts, page] = await Promise.all([api("GET", inDomain(kind.plural, "roles", "available-actions")), api("GET", base() + query({ limit: 100 }))]);
      setAvailable(acts.available_actions ?? []);
      const full = await Promise.all(
        (page.roles ?? []).map(async (r: { id: string; name: string }) => {
          const [a, m] = await Promise.all([api("GET", base(r.id, "actions")), api("GET", base(r.id, "members") + query({ limit: 100 }))]);
          return { id: r.id, name: r.name, actions: a.actions ?? [], members: m.members ?? [] };
        }),
      );
      setRoles(full);
    });
  }, [entity.id, reload]);

  return (
    <section aria-labelledby={headingId} class="panel">
      <h2 id={headingId}>Roles</h2>
      <ErrorText id={`${errId}-list`} error={list.error} />
      <table aria-label={`Roles of ${displayName(entity)}`}>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Actions</th>
            <th scope="col">Members</th>
          </tr>
        </thead>
        <tbody>
          {roles.map((r) => (
            <RoleRow key={r.id} role={r} base={base} available={available} onChanged={refresh} />
          ))}
        </tbody>
      </table>
      <form
        aria-label="New role"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(async () => {
            await api("POST", base(), { role_name: name.trim(), optional_actions: [...chosen] });
            setName("");
            setChosen(new Set());
            refresh();
          });
        }}
      >
        <h3>New role</h3>
        <Field label="Role name" value={name} onInput={setName} />
        <fieldset>
          <legend>Actions</legend>
          {available.map((a) => (
            <label key={a} class="check">
              <input
                type="checkbox"
                checked={chosen.has(a)}
                onChange={() => {
                  const next = new Set(chosen);
                  if (next.has(a)) next.delete(a);
                  else next.add(a);
                  setChosen(next);
                }}
              />{" "}
              {a}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={create.busy} aria-describedby={create.error ? errId : undefined}>
          Create role
        </button>
        <ErrorText id={errId} error={create.error} />
      </form>
    </section>
  );
}

function RoleRow({ role, base, available, onChanged }: { role: Role; base: (...p: string[]) => string; available: string[]; onChanged: () => void }) {
  const missing = available.filter((a) => !role.actions.includes(a));
  const [action, setAction] = useState(missing[0] ?? "");
  const [member, setMember] = useState("");
  const [confirm, setConfirm] = useState(false);
  const change = useAction();
  const errId = useId("err");
  const act = (fn: () => Promise<unknown>) =>
    void change.run(async () => {
      await fn();
      onChanged();
    });
  return (
    <tr>
      <th scope="row">
        {role.name}
        <div>
          <button type="button" class="link danger" aria-label={`Delete role ${role.name}`} onClick={() => setConfirm(true)}>
            Delete
          </button>
        </div>
        {confirm ? (
          <Confirm
            title={`Delete role ${role.name}?`}
            action="Delete role"
            onCancel={() => setConfirm(false)}
            onDone={async () => {
              await api("DELETE", base(role.id));
              setConfirm(false);
              onChanged();
            }}
          />
        ) : null}
      </th>
      <td>
        <ul class="chips" aria-label={`Actions of ${role.name}`}>
          {role.actions.map((a) => (
            <li key={a}>
              {a}{" "}
              <button
                type="button"
                class="chip-x"
                aria-label={`Remove action ${a} from ${role.name}`}
                onClick={() => act(() => api("POST", base(role.id, "actions", "delete"), { actions: [a] }))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        {missing.length > 0 ? (
          <form
            class="inline"
            aria-label={`Add an action to ${role.name}`}
            onSubmit={(e) => {
              e.preventDefault();
              act(() => api("POST", base(role.id, "actions"), { actions: [action || missing[0]] }));
            }}
          >
            <Select label={`Action for ${role.name}`} value={action} onChange={setAction} options={missing.map((a) => [a, a])} />
            <button type="submit">Add action</button>
          </form>
        ) : null}
      </td>
      <td>
        <ul class="chips" aria-label={`Members of ${role.name}`}>
          {role.members.map((m) => (
            <li key={m}>
              <code>{m}</code>{" "}
              <button
                type="button"
                class="chip-x"
                aria-label={`Remove member ${m} from ${role.name}`}
                onClick={() => act(() => api("POST", base(role.id, "members", "delete"), { members: [m] }))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
        <form
          class="inline"
          aria-label={`Add a member to ${role.name}`}
          onSubmit={(e) => {
            e.preventDefault();
            act(async () => {
              await api("POST", base(role.id, "members"), { members: [member.trim()] });
              setMember("");
            });
          }}
        >
          <Field label={`Member user id for ${role.name}`} value={member} onInput={setMember} />
          <button type="submit" aria-describedby={change.error ? errId : undefined}>
            Add member
          </button>
        </form>
        <ErrorText id={errId} error={change.error} />
      </td>
    </tr>
  );
}
