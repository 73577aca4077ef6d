/**
 * What the console's forms share: the API's own rules checked before a request is sent
 * (src/shared/limits.ts, the same functions the server runs), and where a failure is shown.
 */
import { useState, type ChangeEvent } from 'react';
import { descriptionProblem, EMAIL_MAX_LENGTH, emailProblem as emailRuleProblem, nameProblem } from '../../shared/limits';
import { ApiError } from './api';

/** Name (required) and description (optional), as API clients and roles have them. */
export function nameAndDescriptionProblems(form: { name: string; description: string }): { name?: string; description?: string } {
  const name = nameProblem(form.name);
  const description = descriptionProblem(form.description);
  return { ...(name === null ? {} : { name: `Name ${name}` }), ...(description === null ? {} : { description: `Description ${description}` }) };
}

/**
 * Where a form shows what went wrong: under each field, the form's own check or else the API's
 * message for that field (RFC 9457 `errors[]`); anything the fields do not explain (a 409, a 403,
 * the network) once, in an alert above the buttons (`unplaced`).
 */
export function formErrors<F extends string>(checked: Partial<Record<F, string>>, failure: unknown, fields: readonly F[]) {
  const answered = failure instanceof ApiError ? failure : null;
  const of = (field: F): string | undefined => checked[field] ?? answered?.fieldError(field);
  const unplaced = failure !== null && failure !== undefined && fields.every((field) => of(field) === undefined);
  return { of, unplaced };
}

/**
 * The props that bind a text field to one key of a form held in state: its value, its change and
 * its error, so each field is written as `{...field('name')}`.
 */
export function fieldBinder<F extends string, T extends Record<F, string>>(
  form: T,
  setForm: (form: T) => void,
  errors: { of: (field: F) => string | undefined },
) {
  return (field: F) => ({
    value: form[field],
    onChange: (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setForm({ ...form, [field]: event.currentTarget.value }),
    error: errors.of(field),
  });
}

/** The API's own email rule, in the console's words; undefined when the email is fine. */
export function emailProblem(email: string): string | undefined {
  const problem = emailRuleProblem(email);
  if (problem === null) return undefined;
  return email.trim().length > EMAIL_MAX_LENGTH ? `Email ${problem}` : 'Enter an email address';
}

/**
 * A dialog's form: its fields, what its own checks found, and where the request's failure shows
 * (`errors`). `reset` empties all three, for Cancel and after a success.
 */
export function useFormState<T extends object, F extends string>(
  empty: T,
  request: { readonly error: unknown; readonly isPending: boolean; readonly reset: () => void },
  fields: readonly F[],
) {
  const [form, setForm] = useState(empty);
  const [problems, setProblems] = useState<Partial<Record<F, string>>>({});
  const errors = formErrors(problems, request.error, fields);
  const reset = () => {
    setForm(empty);
    setProblems({});
    request.reset();
  };
  return {
    form,
    /** Changes some fields. */
    set: (patch: Partial<T>) => setForm((current) => ({ ...current, ...patch })),
    problems,
    setProblems,
    errors,
    /** Shows what the form's own checks found; true when they found nothing, so the request may go. */
    accept: (found: Partial<Record<F, string>>) => {
      setProblems(found);
      return Object.keys(found).length === 0;
    },
    reset,
    /** What a FormDialog takes from its form: Cancel empties it; the request's state; the failure no field explains. */
    dialog: (onClose: () => void) => ({
      onCancel: () => {
        reset();
        onClose();
      },
      pending: request.isPending,
      error: errors.unplaced ? request.error : null,
    }),
  };
}
