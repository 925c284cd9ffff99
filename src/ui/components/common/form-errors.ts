import { ApiError, describeError } from "../../tether-api/client";

export interface FormErrors {
  /** Messages for the fields the API named (`name`, `model`, `tools`, …). */
  fields: Record<string, string>;
  /** Everything that names no field on this form. */
  form?: string;
}

export const NO_ERRORS: FormErrors = { fields: {} };

/** Places an API error next to the field it names, or at the top of the form. */
export function formErrorsFrom(error: unknown, knownFields: readonly string[]): FormErrors {
  if (error instanceof ApiError) {
    const field = error.fieldName;
    if (field && knownFields.includes(field)) return { fields: { [field]: error.message } };
  }
  return { fields: {}, form: describeError(error) };
}
