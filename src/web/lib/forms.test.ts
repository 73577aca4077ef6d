// @vitest-environment jsdom
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from './api';
import { emailProblem, fieldBinder, formErrors, nameAndDescriptionProblems, useFormState } from './forms';

const conflict = new ApiError({ title: 'Conflict', status: 409, detail: 'a role named Viewer already exists', code: 'conflict' });
const badName = new ApiError({
  title: 'Bad request',
  status: 400,
  detail: 'the input is not valid',
  code: 'bad_input',
  errors: [{ field: 'name', message: 'must be at most 100 characters' }],
});

describe('the console’s forms', () => {
  it('binds a text field to one key of a form: its value, its change and its error', () => {
    const setForm = vi.fn();
    const form = { name: 'Ops', description: 'old', permissions: ['roles:read'] };
    const field = fieldBinder(form, setForm, formErrors({}, badName, ['name', 'description']));
    expect(field('name')).toMatchObject({ value: 'Ops', error: 'must be at most 100 characters' });
    expect(field('description').error).toBeUndefined();
    field('description').onChange({ currentTarget: { value: 'new' } } as never);
    expect(setForm).toHaveBeenCalledWith({ name: 'Ops', description: 'new', permissions: ['roles:read'] });
  });

  it('checks name and description with the API’s rules before sending', () => {
    expect(nameAndDescriptionProblems({ name: '  ', description: '' })).toEqual({ name: 'Name is required' });
    expect(nameAndDescriptionProblems({ name: 'x'.repeat(101), description: 'y'.repeat(1001) })).toEqual({
      name: 'Name must be at most 100 characters',
      description: 'Description must be at most 1000 characters',
    });
    expect(nameAndDescriptionProblems({ name: ' Billing ', description: '' })).toEqual({});
  });

  it('checks an email with the API’s own rule: something@somewhere, at most 254 characters', () => {
    expect(['', '  ', 'ada', 'ada@', 'a da@example.com'].map(emailProblem)).toEqual(Array(5).fill('Enter an email address'));
    expect(emailProblem(`${'a'.repeat(250)}@example.com`)).toBe('Email must be at most 254 characters');
    expect([' ada@example.com ', 'admin@localhost'].map(emailProblem)).toEqual([undefined, undefined]);
  });

  it('puts the form’s own check first, then the API’s message, under the field it names', () => {
    expect(formErrors({ name: 'Name is required' }, badName, ['name', 'description']).of('name')).toBe('Name is required');
    const fromApi = formErrors({}, badName, ['name', 'description']);
    expect(fromApi.of('name')).toBe('must be at most 100 characters');
    expect(fromApi.of('description')).toBeUndefined();
    expect(fromApi.unplaced).toBe(false);
  });

  it('leaves a failure no field explains to one alert', () => {
    expect(formErrors({}, conflict, ['name']).unplaced).toBe(true);
    expect(formErrors({}, new Error('offline'), ['name']).unplaced).toBe(true);
    expect(formErrors({}, null, ['name']).unplaced).toBe(false);
  });

  it('lets a dialog’s Cancel empty the form and forget the last failure, and shows only a failure no field explains', () => {
    const request = { error: conflict as unknown, isPending: false, reset: vi.fn() };
    const onClose = vi.fn();
    const { result, rerender } = renderHook(() => useFormState({ name: '', description: '' }, request, ['name', 'description']));
    act(() => result.current.set({ name: 'Viewer' }));
    expect(result.current.form).toEqual({ name: 'Viewer', description: '' });
    expect(result.current.dialog(onClose).error).toBe(conflict);

    request.error = badName;
    rerender();
    expect(result.current.dialog(onClose).error).toBeNull();
    expect(result.current.errors.of('name')).toBe('must be at most 100 characters');

    act(() => result.current.dialog(onClose).onCancel());
    expect(result.current.form).toEqual({ name: '', description: '' });
    expect(request.reset).toHaveBeenCalledTimes(1);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('sends nothing while its own checks find a problem', () => {
    const { result } = renderHook(() => useFormState({ name: '' }, { error: null, isPending: false, reset: vi.fn() }, ['name']));
    let accepted = true;
    act(() => {
      accepted = result.current.accept({ name: 'Name is required' });
    });
    expect(accepted).toBe(false);
    expect(result.current.errors.of('name')).toBe('Name is required');
    act(() => {
      accepted = result.current.accept({});
    });
    expect(accepted).toBe(true);
  });
});
