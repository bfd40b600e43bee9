/**
 * The console's front end (Preact): bundled by src/console/bundle.ts into one script that the
 * service serves at /console/app.js. Hash routes: #/clients, #/clients/<id>, #/channels, …,
 * #/events, #/domain.
 */
import "./console.css";
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, recentDomains, session } from "./api.ts";
import { EntityDetail } from "./detail.tsx";
import { Events } from "./events.tsx";
import { CHANNELS, CLIENTS } from "./kinds.tsx";
import { EntityList } from "./list.tsx";
import { ErrorText, Field, useAction, useId } from "./widgets.tsx";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState("");
  const { error, busy, run } = useAction();
  const errId = useId("err");
  return (
    <main class="narrow">
      <h1>Sign in</h1>
      <form
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const t = token.trim();
            // Any domain checks the token (there is no domain registry); a read changes nothing.
            await api("GET", `/${encodeURIComponent(recentDomains()[0] ?? "default")}/clients?limit=1&only_total=true`, undefined, t);
            session.token = t;
            onSignedIn();
          });
        }}
      >
        <Field
          label="Standalone token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={setToken}
          hint="The contents of data/standalone.token (kept in this tab only)."
          aria-invalid={error ? "true" : undefined}
          autofocus
          required
        />
        <button type="submit" class="primary" disabled={busy} aria-describedby={error ? errId : undefined}>
          Sign in
        </button>
        <ErrorText id={errId} error={error} />
      </form>
    </main>
  );
}

function DomainChooser({ onChosen }: { onChosen: () => void }) {
  const [domain, setDomain] = useState(session.domain ?? "");
  const recent = recentDomains();
  const headingId = useId("h");
  const choose = (d: string) => {
    session.domain = d;
    if (!location.hash.startsWith("#/clients") && !location.hash.startsWith("#/channels") && location.hash !== "#/events") location.hash = "#/clients";
    onChosen();
  };
  return (
    <main class="narrow" aria-labelledby={headingId}>
      <h1 id={headingId}>Choose a domain</h1>
      <p class="hint">Every client and channel belongs to a domain; any id works, and scopes what you create through it.</p>
      {recent.length > 0 ? (
        <>
          <h2>Recent domains</h2>
          <ul class="recent" aria-label="Recent domains">
            {recent.map((d) => (
              <li key={d}>
                <button type="button" onClick={() => choose(d)}>
                  {d}
                </button>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <form
        aria-label="Open a domain"
        onSubmit={(e) => {
          e.preventDefault();
          if (domain.trim()) choose(domain.trim());
        }}
      >
        <Field label="Domain id" value={domain} onInput={setDomain} required autofocus={recent.length === 0} />
        <button type="submit" class="primary">
          Open domain
        </button>
      </form>
    </main>
  );
}

function Shell({ hash, onSignOut, onChangeDomain }: { hash: string; onSignOut: () => void; onChangeDomain: () => void }) {
  const [, section = "clients", id] = hash.replace(/^#/, "").split("/");
  const mainRef = useRef<HTMLElement>(null);
  // Moving between views puts the keyboard focus on the new view's top.
  useEffect(() => mainRef.current?.focus(), [section, id]);
  const kind = section === "channels" ? CHANNELS : CLIENTS;
  const link = (to: string, text: string) => (
    <a href={`#/${to}`} aria-current={section === to ? "page" : undefined}>
      {text}
    </a>
  );
  return (
    <>
      <header>
        <span class="brand">magistrala-clients</span>
        <nav aria-label="Main">
          {link("clients", "Clients")}
          {link("channels", "Channels")}
          {link("events", "Events")}
          <a href="/openapi">API</a>
        </nav>
        <span class="domain">
          Domain <strong>{session.domain}</strong>
        </span>
        <button type="button" onClick={onChangeDomain}>
          Change domain
        </button>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main ref={mainRef} tabIndex={-1}>
        {section === "events" ? (
          <Events key={session.domain} />
        ) : id ? (
          <EntityDetail key={`${section}/${id}`} kind={kind} id={decodeURIComponent(id)} />
        ) : (
          <EntityList key={`${section}/${session.domain}`} kind={kind} />
        )}
      </main>
    </>
  );
}

function App() {
  const hash = useHash();
  const [, bump] = useState(0);
  const refresh = () => bump((n) => n + 1);
  if (!session.token) return <SignIn onSignedIn={refresh} />;
  if (!session.domain || hash === "#/domain") return <DomainChooser onChosen={refresh} />;
  return (
    <Shell
      hash={hash}
      onChangeDomain={() => {
        location.hash = "#/domain";
      }}
      onSignOut={() => {
        session.token = null;
        session.domain = null;
        refresh();
      }}
    />
  );
}

render(<App />, document.getElementById("app")!);
