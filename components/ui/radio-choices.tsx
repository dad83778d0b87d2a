"use client";
/** A group of radio buttons, each with a label and a hint tied to it (aria-describedby). */
export interface RadioChoice<T extends string> {
  value: T;
  label: string;
  hint: string;
}

export function RadioChoices<T extends string>(props: { name: string; choices: readonly RadioChoice<T>[]; value: string | undefined; disabled?: boolean; onChoose: (value: T) => void }) {
  return (
    <div className="mt-2 space-y-2">
      {props.choices.map((o) => {
        const id = `${props.name}-${o.value}`;
        return (
          <div key={o.value} className="flex items-start gap-2">
            <input
              id={id}
              type="radio"
              name={props.name}
              value={o.value}
              className="mt-1 h-4 w-4 accent-blue-700"
              checked={props.value === o.value}
              disabled={props.disabled}
              onChange={() => props.onChoose(o.value)}
              aria-describedby={`${id}-hint`}
            />
            <div className="text-sm">
              <label htmlFor={id} className="font-medium text-slate-900">
                {o.label}
              </label>
              <p id={`${id}-hint`} className="text-slate-600">
                {o.hint}
              </p>
            </div>
          </div>
        );
      })}
    </div>
  );
}
