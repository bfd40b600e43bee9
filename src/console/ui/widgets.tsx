import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";
import { CsvError } from "./csv.ts";

/** Runs an async action, keeping its error (the API's message) to show next to its control. */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err instanceof ApiError || err instanceof CsvError ? err.message : String(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run, setError };
}

let ids = 0;
export const useId = (prefix: string) => useRef(`${prefix}-${++ids}`).current;

/** The error of the control it follows; announced, and referenced by the control's aria-describedby. */
export function ErrorText({ id, error }: { id: string; error: string | null }) {
  return error ? (
    <p class="error" role="alert" id={id}>
      {error}
    </p>
  ) : null;
}

interface InputProps {
  label: string;
  value: string;
  onInput: (v: string) => void;
  hint?: string;
  type?: "text" | "password";
  placeholder?: string;
  autocomplete?: string;
  autofocus?: boolean;
  required?: boolean;
  "aria-invalid"?: "true";
}

/** A labelled text input. */
export function Field({ label, value, onInput, hint, type = "text", ...rest }: InputProps) {
  const id = useId("f");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        type={type as "text"}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        aria-describedby={hint ? `${id}-hint` : undefined}
        {...rest}
      />
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

export function TextArea({
  label,
  value,
  onInput,
  rows = 3,
  hint,
}: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  rows?: number;
  hint?: string;
}) {
  const id = useId("t");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} rows={rows} value={value} onInput={(e) => onInput(e.currentTarget.value)} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

export function Select({ label, value, onChange, options }: { label: string; value: string; onChange: (v: string) => void; options: [string, string][] }) {
  const id = useId("s");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A dialog form's submit and Cancel buttons, and the submit's error under them. */
export function SubmitRow({ label, busy, error, onCancel }: { label: string; busy: boolean; error: string | null; onCancel: () => void }) {
  const errId = useId("err");
  return (
    <>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} aria-describedby={error ? errId : undefined}>
          {label}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorText id={errId} error={error} />
    </>
  );
}

/** The one button that closes a dialog once its work is done. */
export function DoneRow({ onDone, children }: { onDone: () => void; children?: ComponentChildren }) {
  const ref = useRef<HTMLButtonElement>(null);
  // The dialog's content changed under the keyboard's focus: move it to the way out.
  useEffect(() => ref.current?.focus(), []);
  return (
    <div class="actions">
      {children}
      <button type="button" class="primary" onClick={onDone} ref={ref}>
        Done
      </button>
    </div>
  );
}

/** A modal dialog (native <dialog>: focus stays inside, Escape closes). */
export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId("dlg");
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = () => onClose();
    d.addEventListener("close", close);
    return () => d.removeEventListener("close", close);
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </dialog>
  );
}

/** "Delete X?" with the action's error shown inside the dialog. */
export function Confirm({ title, action, onDone, onCancel }: { title: string; action: string; onDone: () => Promise<void>; onCancel: () => void }) {
  const { error, busy, run } = useAction();
  const errId = useId("err");
  return (
    <Modal title={title} onClose={onCancel}>
      <p>This cannot be undone.</p>
      <div class="actions">
        <button type="button" class="danger" disabled={busy} aria-describedby={error ? errId : undefined} onClick={() => run(onDone)}>
          {action}
        </button>
        <button type="button" onClick={onCancel} autofocus>
          Cancel
        </button>
      </div>
      <ErrorText id={errId} error={error} />
    </Modal>
  );
}

/** A secret shown once, with a copy button. */
export function SecretOnce({ label, secret }: { label: string; secret: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="status">
      <strong>{label}</strong> <code>{secret}</code>{" "}
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard?.writeText(secret).then(() => setCopied(true));
        }}
      >
        {copied ? "Copied" : "Copy secret"}
      </button>
      <p class="hint">It is shown only now: the service keeps only a keyed hash of it.</p>
    </div>
  );
}

/** A client secret: 32 random bytes, hex. */
export function randomSecret(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

export function download(filename: string, text: string, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const formatTime = (s: string | undefined) => (!s || s.startsWith("0001-") ? "—" : s.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC"));
