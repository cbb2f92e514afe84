// Sign in with e-mail and password. Lockout and other refusals are shown in the
// API's own words; a session that ended shows why, and the next screen is the
// one that was open.
import { ApiError, send } from '../../../js/api.js';
import { h, notice } from '../../../js/dom.js';
import { busy, field, put, showError } from '../ui.js';

function render(root, ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', novalidate: true, onsubmit },
    field('E-mail', email),
    field('Password', password),
    status,
    h('div', { class: 'actions' }, submit));
  put(root, 
    h('h1', {}, 'Sign in'),
    h('p', { class: 'lead' }, 'Staff console of the pain diary study. Sign in with your study staff account.'),
    ctx.flash ? notice('info', ctx.flash) : null,
    form,
  );
  ctx.flash = null;

  async function onsubmit(event) {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      put(status, notice('error', 'Enter your e-mail and password.'));
      (email.value.trim() ? password : email).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const user = await send('POST', '/staff/login', { email: email.value.trim(), password: password.value });
        password.value = '';
        await ctx.signedIn(user);
      } catch (error) {
        password.value = '';
        put(status, showError(form, error, 'Sign-in failed.'));
        if (error instanceof ApiError && error.code === 'too_many_attempts') ctx.announce(error.message);
        password.focus();
      }
    });
  }
}

export default { title: 'Sign in', render };
