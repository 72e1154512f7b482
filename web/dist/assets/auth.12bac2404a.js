// The token screen: sign up (the token is shown once, with a copy button) or paste a token.

import { ApiError, call, newKey, session } from './api.0e42747cb6.js';
import { clearErrors, field, formError, h, setFieldError, showError } from './dom.02ddd9605a.js';

const CLOSED = 'Sign-up is closed on this server. Ask an admin to create an account for you (an admin can run “todo-api user create”), then paste the token they give you under “Use your API token”.';

/** ctx: {signedIn(user)}; message: why we are here (token refused, signed out). */
export function authView(ctx, message) {
  const heading = h('h1', { tabindex: '-1', text: 'Sign in to the ToDo board' });
  const why = message ? h('p', { class: 'notice', role: 'alert', text: message }) : null;

  const email = field('Email', 'input', { type: 'email', name: 'email', autocomplete: 'email', spellcheck: 'false' });
  const password = field('Password', 'input', { type: 'password', name: 'password', autocomplete: 'new-password', hint: 'At least 8 characters.' });
  const signupPanel = h('section', { class: 'panel', 'aria-labelledby': 'signup-heading' });
  const signupForm = h('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); signUp(); } },
    email.wrap, password.wrap,
    h('div', { class: 'row' }, h('button', { class: 'primary', text: 'Sign up' })));
  signupPanel.append(h('h2', { id: 'signup-heading', text: 'New here? Create an account' }), signupForm);
  let attempt = null;

  const token = field('API token', 'input', {
    type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false',
    hint: 'It starts with tdo_. This tab keeps it (sessionStorage) until you close the tab or sign out.',
  });
  const tokenForm = h('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); useToken(); } },
    token.wrap,
    h('div', { class: 'row' }, h('button', { class: 'primary', text: 'Continue' })));
  const tokenPanel = h('section', { class: 'panel', 'aria-labelledby': 'token-heading' },
    h('h2', { id: 'token-heading', text: 'Use your API token' }), tokenForm);

  return h('div', {}, heading, why, h('div', { class: 'grid2' }, signupPanel, tokenPanel));

  async function signUp() {
    clearErrors(signupForm);
    const body = { email: email.control.value.trim(), password: password.control.value };
    const signature = JSON.stringify(body);
    if (!attempt || attempt.signature !== signature) attempt = { key: newKey(), signature };
    const button = signupForm.querySelector('button');
    button.disabled = true;
    try {
      const answer = await call('POST', '/users', { body, auth: false, idempotencyKey: attempt.key });
      attempt = null;
      session.set(answer.data.token);
      showToken(answer.data);
    } catch (error) {
      button.disabled = false;
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) attempt = null;
      if (error instanceof ApiError && error.status === 403 && error.detail === 'Sign-up is disabled') {
        const line = formError(signupForm, CLOSED);
        line.tabIndex = -1;
        line.focus();
        return;
      }
      showError(signupForm, error, { fieldFor: (e) => (e instanceof ApiError && e.status === 400 ? 'email' : null) });
    }
  }

  function showToken(user) {
    const { token: value, ...rest } = user;
    const shown = field('Your API token', 'input', { type: 'text', readonly: true, value, class: 'token-box', spellcheck: 'false' });
    const status = h('p', { class: 'hint', role: 'status' });
    const title = h('h2', { id: 'signup-heading', tabindex: '-1', text: 'Account created' });
    const copy = h('button', {
      type: 'button',
      text: 'Copy token',
      onclick: async () => {
        status.textContent = (await copyText(shown.control)) ? 'Copied to the clipboard.' : 'Copying is not possible here: select the token and copy it yourself.';
      },
    });
    signupPanel.replaceChildren(title,
      h('p', { text: `You are signed up as ${user.email} (#${user.id}).` }),
      h('p', { text: 'This is your API token. It is shown only this once: keep it somewhere safe, such as a password manager. You need it to sign in from another tab or browser.' }),
      shown.wrap,
      h('div', { class: 'row' }, copy,
        h('button', { class: 'primary', type: 'button', text: 'Continue to my items', onclick: () => ctx.signedIn(rest) })),
      status);
    tokenPanel.hidden = true;
    title.focus();
  }

  async function useToken() {
    clearErrors(tokenForm);
    const value = token.control.value.trim();
    if (!value) {
      setFieldError(token.control, 'Paste your API token first.');
      token.control.focus();
      return;
    }
    const button = tokenForm.querySelector('button');
    button.disabled = true;
    try {
      const answer = await call('GET', '/me', { token: value, probe: true });
      session.set(value);
      ctx.signedIn(answer.data);
    } catch (error) {
      button.disabled = false;
      if (error instanceof ApiError && error.status === 401) {
        setFieldError(token.control, 'The server did not accept this token: it is wrong, was rotated, or its user was deleted. Check that you pasted all of it.');
        token.control.focus();
        return;
      }
      showError(tokenForm, error);
    }
  }
}

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}
