import { MAX_LINE_QUANTITY } from '@tessera/contracts/limits';
import { useEffect, useRef, useState } from 'react';
import { ApiError } from './problem';

export type FieldErrors = Record<string, string>;

/**
 * Field errors of a form: the ones found before sending (the API's own rules, checked here so
 * the user hears about them at once) and the ones the API answers in `errors[]`, by field path.
 * Each time errors are shown, the first field showing one takes focus, so keyboard and
 * screen-reader users land on it and hear its error (fields tie it with aria-describedby).
 */
export function useFieldErrors() {
  const [errors, setErrors] = useState<FieldErrors>({});
  const focusPending = useRef(false);
  useEffect(() => {
    if (!focusPending.current) return;
    focusPending.current = false;
    firstFieldShowing(
      document.querySelectorAll<HTMLElement>('[aria-invalid="true"]'),
      (id) => document.getElementById(id)?.textContent,
      Object.values(errors),
    )?.focus();
  }, [errors]);
  const show = (found: FieldErrors): boolean => {
    const any = Object.keys(found).length > 0;
    focusPending.current = any;
    setErrors(found);
    return any;
  };
  return {
    errors,
    /** Shows these errors (found locally, or read from an answer by the form itself); true when there are none. */
    check(found: FieldErrors): boolean {
      return !show(found);
    },
    /** Places an API error's field errors (and codes that concern one field, e.g. email_taken); true when at least one belongs to a field shown. */
    fromApi(error: unknown, known: string[], codeFields: Record<string, string> = {}): boolean {
      return show(apiFieldErrors(error, known, codeFields));
    },
    clear(field: string) {
      if (errors[field]) setErrors(({ [field]: _removed, ...rest }) => rest);
    },
  };
}

/**
 * An API error's messages by the form's field names (`known`): its `errors[]` by path (the first
 * one per field), and its code's message on the field `codeFields` names for that code.
 */
export function apiFieldErrors(
  error: unknown,
  known: string[],
  codeFields: Record<string, string> = {},
): FieldErrors {
  if (!(error instanceof ApiError)) return {};
  const found: FieldErrors = {};
  const byCode = codeFields[error.code];
  if (byCode) found[byCode] = error.message;
  for (const { path, message } of error.fieldErrors) {
    const field = known.find(
      (name) => path === name || path.startsWith(`${name}.`) || path.endsWith(`.${name}`),
    );
    if (field && !found[field]) found[field] = message;
  }
  return found;
}

/**
 * Of the invalid fields in page order, the first that shows one of these messages (in an element
 * its aria-describedby names): the form's own first error, in the order the user sees the
 * fields, whatever order the errors were found in; another form's errors are passed over.
 */
export function firstFieldShowing<F extends { getAttribute(name: string): string | null }>(
  invalidFields: Iterable<F>,
  textOf: (id: string) => string | null | undefined,
  messages: string[],
): F | undefined {
  const shown = new Set(messages.map((message) => message.trim()));
  for (const field of invalidFields) {
    const ids = field.getAttribute('aria-describedby')?.split(/\s+/) ?? [];
    if (ids.some((id) => shown.has(textOf(id)?.trim() ?? ''))) return field;
  }
  return undefined;
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

/** What is wrong with a typed quantity: it must be a whole number from 1 to MAX_LINE_QUANTITY. */
export function quantityProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return 'Enter a quantity (− removes the line).';
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1) return 'Enter a whole number of 1 or more.';
  if (Number(trimmed) > MAX_LINE_QUANTITY) return `Enter at most ${MAX_LINE_QUANTITY.toLocaleString()}.`;
  return undefined;
}

/** A typed quantity, when it is one (see quantityProblem); null otherwise. */
export function parseQuantity(text: string): number | null {
  return quantityProblem(text) === undefined ? Number(text.trim()) : null;
}

/** A form's edits carried over to a newer version of what it edits (see rebaseEdits). */
export interface Rebased<T> {
  values: T;
  /** True when the form held edits of its own. */
  dirty: boolean;
  /** Fields changed there and not here: they now show the newer version. */
  updated: (keyof T)[];
  /** Fields changed there and here, differently: the edits are kept. */
  conflicts: (keyof T)[];
}

/**
 * Carries a form's edits over to a newer version of the record they began from (changed
 * elsewhere meanwhile): a field edited here keeps its edit; a field not edited here takes the
 * newer value. Nothing typed is lost, and what saving would overwrite is known (`conflicts`).
 */
export function rebaseEdits<T extends { [K in keyof T]: string }>(base: T, edited: T, newer: T): Rebased<T> {
  const names = Object.keys(newer) as (keyof T)[];
  const values = { ...edited };
  const updated: (keyof T)[] = [];
  const conflicts: (keyof T)[] = [];
  for (const name of names) {
    if (newer[name] === base[name]) continue;
    if (edited[name] === base[name]) {
      values[name] = newer[name];
      updated.push(name);
    } else if (edited[name] !== newer[name]) {
      conflicts.push(name);
    }
  }
  return { values, dirty: names.some((name) => edited[name] !== base[name]), updated, conflicts };
}
