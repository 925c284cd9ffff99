import { useId } from "react";
import { FieldError } from "./FieldError";

interface Props {
  label: string;
  value: string;
  onChange(value: string): void;
  error?: string;
  hint?: string;
  multiline?: boolean;
  required?: boolean;
  placeholder?: string;
  list?: string;
  /** `password` for secrets typed in (never shown again); `url` for addresses. */
  type?: "text" | "password" | "url";
}

export function TextField({ label, value, onChange, error, hint, multiline, required, placeholder, list, type = "text" }: Props) {
  const id = useId();
  const hintId = useId();
  const errorId = useId();
  const describedBy = [hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  const shared = {
    id,
    value,
    required,
    placeholder,
    "aria-describedby": describedBy,
    "aria-invalid": error ? true : undefined,
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea {...shared} rows={4} onChange={(event) => onChange(event.target.value)} />
      ) : (
        <input {...shared} type={type} list={list} autoComplete={type === "password" ? "off" : undefined} onChange={(event) => onChange(event.target.value)} />
      )}
      {hint && (
        <p id={hintId} className="hint">
          {hint}
        </p>
      )}
      <FieldError id={errorId} message={error} />
    </div>
  );
}
