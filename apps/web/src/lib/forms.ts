import { useState } from 'react';
import { ApiError } from './problem';

export type FieldErrors = Record<string, string>;

/**
 * Field errors of a form: the ones found before sending (the API's own rules, checked here so
 * the user hears about them at once) and the ones the API answers in `errors[]`, by field path.
 */
export function useFieldErrors() {
  const [errors, setErrors] = useState<FieldErrors>({});
  return {
    errors,
    /** Sets the errors found locally; true when there are none. */
    check(found: FieldErrors): boolean {
      setErrors(found);
      return Object.keys(found).length === 0;
    },
    /** Places an API error's field errors (and codes that concern one field, e.g. email_taken); true when at least one belongs to a field shown. */
    fromApi(error: unknown, known: string[], codeFields: Record<string, string> = {}): boolean {
      if (!(error instanceof ApiError)) return false;
      const found: FieldErrors = {};
      const byCode = codeFields[error.code];
      if (byCode) found[byCode] = error.message;
      for (const { path, message } of error.fieldErrors) {
        const field = known.find(
          (name) => path === name || path.startsWith(`${name}.`) || path.endsWith(`.${name}`),
        );
        if (field && !found[field]) found[field] = message;
      }
      setErrors(found);
      return Object.keys(found).length > 0;
    },
    clear(field: string) {
      if (errors[field]) setErrors(({ [field]: _removed, ...rest }) => rest);
    },
  };
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

/** The API's password rule: 12 to 128 characters, nothing else asked. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters (${length} so far).`;
  if (length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  return undefined;
}

export function emailProblem(email: string): string | undefined {
  if (!email.trim()) return 'Enter an e-mail address.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()))
    return 'Enter an e-mail address like name@example.com.';
  return undefined;
}

export function requiredProblem(value: string, what: string): string | undefined {
  return value.trim() ? undefined : `Enter ${what}.`;
}
