"use client";
/** The buddy list's dialogs: add / edit / move / delete a contact, new / rename / delete a group. */
import { useId, useState, type FormEvent } from "react";
import { Dialog } from "../ui/dialog";
import { btn, field, label } from "../ui/styles";
import type { Contact, Group } from "./model-ops";

const ADDRESS_RE = /^(sips?:)?[^\s@<>"]+@[A-Za-z0-9.-]+$/;

export function checkAddress(value: string): string | null {
  const v = value.trim();
  if (!v) return "Enter a SIP address such as bob@example.com.";
  if (!ADDRESS_RE.test(v)) return "That is not a SIP address. Use the form bob@example.com.";
  return null;
}

function FieldError({ id, text }: { id: string; text: string | null }) {
  if (!text) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-800">
      {text}
    </p>
  );
}

function Actions({ submit, onCancel, danger }: { submit: string; onCancel: () => void; danger?: boolean }) {
  return (
    <div className="mt-5 flex justify-end gap-2">
      <button type="button" className={btn.secondary} onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className={danger ? btn.danger : btn.primary}>
        {submit}
      </button>
    </div>
  );
}

export interface ContactFormValues {
  uri: string;
  name: string;
  group: string | null;
  subscribe: boolean;
  allow: boolean;
}

function GroupSelect({ id, groups, value, onChange, labelText }: { id: string; groups: Group[]; value: string; onChange: (v: string) => void; labelText: string }) {
  return (
    <div>
      <label htmlFor={id} className={label}>
        {labelText}
      </label>
      <select id={id} name="group" className={field} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">No group</option>
        {groups.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
      </select>
    </div>
  );
}

function ContactForm({
  initial,
  groups,
  showGroup,
  submit,
  onSubmit,
  onCancel,
}: {
  initial: ContactFormValues;
  groups: Group[];
  showGroup: boolean;
  submit: string;
  onSubmit: (v: ContactFormValues) => void;
  onCancel: () => void;
}) {
  const ids = { uri: useId(), uriErr: useId(), name: useId(), group: useId(), sub: useId(), allow: useId() };
  const [v, setV] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  function submitForm(e: FormEvent) {
    e.preventDefault();
    const err = checkAddress(v.uri);
    setError(err);
    if (err) {
      (document.getElementById(ids.uri) as HTMLInputElement | null)?.focus();
      return;
    }
    onSubmit({ ...v, uri: v.uri.trim(), name: v.name.trim() });
  }
  return (
    <form onSubmit={submitForm} noValidate className="space-y-3">
      <div>
        <label htmlFor={ids.uri} className={label}>
          SIP address
        </label>
        <input
          id={ids.uri}
          name="uri"
          type="text"
          inputMode="email"
          autoComplete="off"
          placeholder="bob@example.com"
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? ids.uriErr : undefined}
          className={field}
          value={v.uri}
          onChange={(e) => setV({ ...v, uri: e.target.value })}
        />
        <FieldError id={ids.uriErr} text={error} />
      </div>
      <div>
        <label htmlFor={ids.name} className={label}>
          Name
        </label>
        <input id={ids.name} name="name" type="text" autoComplete="off" className={field} value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} />
      </div>
      {showGroup ? <GroupSelect id={ids.group} groups={groups} value={v.group ?? ""} onChange={(g) => setV({ ...v, group: g || null })} labelText="Group" /> : null}
      <fieldset className="space-y-2">
        <legend className={label}>Presence</legend>
        <div className="flex items-start gap-2">
          <input id={ids.sub} type="checkbox" className="mt-1 h-4 w-4 accent-blue-700" checked={v.subscribe} onChange={(e) => setV({ ...v, subscribe: e.target.checked })} />
          <label htmlFor={ids.sub} className="text-sm text-slate-800">
            Show me their status
          </label>
        </div>
        <div className="flex items-start gap-2">
          <input id={ids.allow} type="checkbox" className="mt-1 h-4 w-4 accent-blue-700" checked={v.allow} onChange={(e) => setV({ ...v, allow: e.target.checked })} />
          <label htmlFor={ids.allow} className="text-sm text-slate-800">
            Let them see my status
          </label>
        </div>
      </fieldset>
      <Actions submit={submit} onCancel={onCancel} />
    </form>
  );
}

export function AddContactDialog({
  open,
  groups,
  defaultGroup,
  onClose,
  onAdd,
}: {
  open: boolean;
  groups: Group[];
  defaultGroup: string | null;
  onClose: () => void;
  onAdd: (v: ContactFormValues) => void;
}) {
  return (
    <Dialog open={open} onClose={onClose} title="Add contact" description="Add someone by their SIP address." testId="add-contact-dialog">
      <ContactForm
        initial={{ uri: "", name: "", group: defaultGroup, subscribe: true, allow: true }}
        groups={groups}
        showGroup
        submit="Add contact"
        onCancel={onClose}
        onSubmit={(v) => {
          onClose();
          onAdd(v);
        }}
      />
    </Dialog>
  );
}

export function EditContactDialog({ contact, onClose, onSave }: { contact: Contact | null; onClose: () => void; onSave: (v: ContactFormValues) => void }) {
  return (
    <Dialog open={contact !== null} onClose={onClose} title={contact ? `Edit ${contact.name || contact.uris[0]?.uri.replace(/^sips?:/, "")}` : "Edit contact"} testId="edit-contact-dialog">
      {contact ? (
        <ContactForm
          key={contact.id}
          initial={{
            uri: (contact.uris[0]?.uri ?? "").replace(/^sip:/, ""),
            name: contact.name,
            group: null,
            subscribe: contact.presence.subscribe,
            allow: contact.presence.policy === "allow",
          }}
          groups={[]}
          showGroup={false}
          submit="Save"
          onCancel={onClose}
          onSubmit={(v) => {
            onClose();
            onSave(v);
          }}
        />
      ) : null}
    </Dialog>
  );
}

/** Which groups a contact is in: any number of them (a resource-lists entry may sit in several lists). */
export function GroupsDialog({
  contact,
  groups,
  onClose,
  onSave,
}: {
  contact: Contact | null;
  groups: Group[];
  onClose: () => void;
  onSave: (groupIds: string[]) => void;
}) {
  const name = contact ? contact.name || (contact.uris[0]?.uri ?? "").replace(/^sips?:/, "") : "";
  return (
    <Dialog open={contact !== null} onClose={onClose} title={`Groups of ${name}`} description="Tick every group the contact belongs in." testId="groups-dialog">
      {contact ? <GroupsForm key={contact.id} groups={groups} initial={contact.groups} onClose={onClose} onSave={onSave} /> : null}
    </Dialog>
  );
}

function GroupsForm({ groups, initial, onClose, onSave }: { groups: Group[]; initial: string[]; onClose: () => void; onSave: (groupIds: string[]) => void }) {
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(initial));
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onClose();
        onSave(groups.filter((g) => chosen.has(g.id)).map((g) => g.id));
      }}
    >
      {groups.length ? (
        <fieldset>
          <legend className="sr-only">Groups</legend>
          <ul className="space-y-1">
            {groups.map((g) => (
              <li key={g.id}>
                <label className="flex items-center gap-2 text-sm text-slate-800">
                  <input
                    type="checkbox"
                    className="h-4 w-4"
                    checked={chosen.has(g.id)}
                    onChange={(e) =>
                      setChosen((s) => {
                        const next = new Set(s);
                        if (e.target.checked) next.add(g.id);
                        else next.delete(g.id);
                        return next;
                      })
                    }
                  />
                  {g.name}
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
      ) : (
        <p className="text-sm text-slate-700">There are no groups yet. Create one with &ldquo;New group&rdquo;.</p>
      )}
      <Actions submit="Save groups" onCancel={onClose} />
    </form>
  );
}

export function ConfirmDialog({
  open,
  title,
  description,
  confirm,
  onClose,
  onConfirm,
}: {
  open: boolean;
  title: string;
  description: string;
  confirm: string;
  onClose: () => void;
  onConfirm: () => void;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={title} description={description} testId="confirm-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onClose();
          onConfirm();
        }}
      >
        <Actions submit={confirm} onCancel={onClose} danger />
      </form>
    </Dialog>
  );
}

export function GroupNameDialog({
  open,
  title,
  initial,
  submit,
  onClose,
  onSave,
}: {
  open: boolean;
  title: string;
  initial: string;
  submit: string;
  onClose: () => void;
  onSave: (name: string) => void;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={title} testId="group-dialog">
      {open ? <GroupNameForm key={initial} initial={initial} submit={submit} onClose={onClose} onSave={onSave} /> : null}
    </Dialog>
  );
}

function GroupNameForm({ initial, submit, onClose, onSave }: { initial: string; submit: string; onClose: () => void; onSave: (name: string) => void }) {
  const id = useId();
  const errId = useId();
  const [name, setName] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!name.trim()) {
          setError("Enter a name for the group.");
          return;
        }
        onClose();
        onSave(name.trim());
      }}
    >
      <label htmlFor={id} className={label}>
        Group name
      </label>
      <input
        id={id}
        type="text"
        autoComplete="off"
        className={field}
        value={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errId : undefined}
        onChange={(e) => setName(e.target.value)}
      />
      <FieldError id={errId} text={error} />
      <Actions submit={submit} onCancel={onClose} />
    </form>
  );
}
